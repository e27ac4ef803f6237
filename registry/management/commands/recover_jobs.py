from datetime import timedelta

from ...services.jobs import jobs_recover, stale_threshold
from ..base import RegistryCommand


class Command(RegistryCommand):
    help = (
        "Enqueue again every job that no live worker is doing (pending too long or refused by a broker that "
        "was down, or running with a stale heartbeat because its worker died), and remove the working files "
        "of dead jobs. Safe to run at any time; schedule it every minute."
    )

    def add_command_arguments(self, parser):
        parser.add_argument(
            "--stale-after",
            type=int,
            default=None,
            metavar="SECONDS",
            help="how long without a heartbeat before a job counts as lost (default: LEAKLEDGER_JOB_STALE_SECONDS, "
            "120)",
        )

    def act(self, options) -> dict:
        seconds = options["stale_after"]
        lost = jobs_recover(
            stale_after=timedelta(seconds=seconds) if seconds is not None else stale_threshold()
        )
        return {"requeued": [{"uuid": str(j.uuid), "kind": j.kind, "state": j.state} for j in lost]}

    def summarise(self, result: dict) -> str:
        if not result["requeued"]:
            return "no lost jobs"
        lines = [f"requeued {len(result['requeued'])} job(s):"]
        lines += [f"  {j['uuid']}  {j['kind']:<8} (was {j['state']})" for j in result["requeued"]]
        return "\n".join(lines)
