from datetime import timedelta

from ...services.jobs import STALE_AFTER, jobs_recover
from ..base import RegistryCommand


class Command(RegistryCommand):
    help = (
        "Enqueue again every job that no live worker is doing (pending too long, or running with a stale "
        "heartbeat because its worker died). Safe to run at any time; schedule it every minute."
    )

    def add_command_arguments(self, parser):
        parser.add_argument(
            "--stale-after",
            type=int,
            default=int(STALE_AFTER.total_seconds()),
            metavar="SECONDS",
            help=f"how long without a heartbeat before a job counts as lost (default {int(STALE_AFTER.total_seconds())})",
        )

    def act(self, options) -> dict:
        lost = jobs_recover(stale_after=timedelta(seconds=options["stale_after"]))
        return {"requeued": [{"uuid": str(j.uuid), "kind": j.kind, "state": j.state} for j in lost]}

    def summarise(self, result: dict) -> str:
        if not result["requeued"]:
            return "no lost jobs"
        lines = [f"requeued {len(result['requeued'])} job(s):"]
        lines += [f"  {j['uuid']}  {j['kind']:<8} (was {j['state']})" for j in result["requeued"]]
        return "\n".join(lines)
