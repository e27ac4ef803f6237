from ... import selectors
from ...models import Job
from ..base import RegistryCommand, job_line, job_progress, when


class Command(RegistryCommand):
    help = (
        "Background jobs (register, index, overlap and contamination reports): the latest ones, or one "
        "job in full (state, progress, error, result) by its UUID."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("uuid", nargs="?", help="a job UUID: show this job in full")
        parser.add_argument("--state", choices=Job.State.values, help="only jobs in this state")
        parser.add_argument("--kind", choices=Job.Kind.values, help="only jobs of this kind")
        parser.add_argument("--limit", type=int, default=20, help="how many of the latest jobs (default 20)")

    def act(self, options) -> dict:
        if options["uuid"]:
            job = selectors.job_get(options["uuid"])
            [out] = selectors.jobs_to_dicts([job])
            return {**out, "result": job.result, "payload": job.payload}
        jobs = selectors.jobs_list(state=options["state"], kind=options["kind"], limit=options["limit"])
        return {"jobs": selectors.jobs_to_dicts(jobs)}

    def summarise(self, result: dict) -> str:
        if "jobs" not in result:
            lines = [
                f"{result['kind']} job {result['uuid']}: {result['state']}",
                f"  about     {result['about']}",
                f"  created   {when(result['created_at'])}",
                f"  started   {when(result['started_at'])} (attempts: {result['attempts']})",
                f"  finished  {when(result['finished_at'])}",
            ]
            if result["progress"]:
                lines.append(f"  progress  {job_progress(result)}")
            if result["error"]:
                detail = result["error"].get("detail") or result["error"].get("message")
                lines.append(f"  error     {detail}")
            for key, value in (result["result"] or {}).items():
                if isinstance(value, str | int | float):
                    lines.append(f"  {key:<9} {value}")
            return "\n".join(lines)
        if not result["jobs"]:
            return "no jobs"
        return "\n".join(job_line(j) for j in result["jobs"])
