"""Shared behaviour of the CLI commands: ``--json``, clear errors, exit codes, progress on stderr."""

import json
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from ..errors import RegistryError
from ..services.warnings import contamination_headline, when  # noqa: F401 (the one source of these texts)


class RegistryCommand(BaseCommand):
    """A command whose ``act`` returns a dict; printed as JSON with ``--json``, else by ``summarise``."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        # ``--version`` names a dataset version here, not Django's version.
        kwargs.setdefault("conflict_handler", "resolve")
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
        self.add_command_arguments(parser)

    def add_command_arguments(self, parser):
        raise NotImplementedError

    def act(self, options) -> dict:
        raise NotImplementedError

    def summarise(self, result: dict) -> str:
        raise NotImplementedError

    def handle(self, *args, **options):
        self.json_output = options["json"]
        try:
            result = self.act(options)
        except RegistryError as exc:
            if self.json_output:
                self.stdout.write(json.dumps({"error": exc.to_dict()}, indent=2))
            raise CommandError(exc.detail, returncode=2 if exc.status == 400 else 1) from exc
        if self.json_output:
            self.stdout.write(json.dumps(result, indent=2, default=str))
        else:
            self.stdout.write(self.summarise(result))


def parse_pairs(items: list[str], flag: str) -> list[tuple[str, str]]:
    """``["a=1", "b=x"]`` from a repeated ``--flag KEY=VALUE`` -> ``[("a", "1"), ("b", "x")]``."""
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise RegistryError(f"{flag} {item!r} is not KEY=VALUE.")
        pairs.append((key, value))
    return pairs


class Progress:
    """Progress lines on stderr: each stage as it starts once the work has run for ``interval`` seconds
    (short work stays silent), its count every ``interval`` seconds, and how long it took."""

    INTERVAL = 2.0

    def __init__(self, label: str, stream=None, interval: float | None = None):
        self.label = label
        self.stream = stream or sys.stderr
        self.interval = self.INTERVAL if interval is None else interval
        self.begun = self.started = time.monotonic()
        self._last = self.started
        self._stage = None
        self._reported = False

    def _write(self, text: str) -> None:
        self.stream.write(f"{self.label}: {text}\n")
        self.stream.flush()

    def __call__(self, stage: str, done: int, total: int | None = None, **_extra) -> None:
        now = time.monotonic()
        if stage != self._stage:  # rates are per stage
            if self._stage is not None and self._reported:
                self._write(f"{self._stage} done in {now - self.started:.1f}s")
            self._stage, self.started, self._last = stage, now, now
            self._reported = now - self.begun >= self.interval
            if self._reported:  # long work: say what starts now (a tier, an MMseqs2 stage)
                of = f" ({total:,} records)" if total else ""
                self._write(f"{stage} started{of}")
            return
        if now - self._last < self.interval:
            return
        self._last, self._reported = now, True
        rate = done / max(now - self.started, 1e-9)
        of = f"/{total:,}" if total else ""
        self._write(f"{stage} {done:,}{of} records ({rate:,.0f}/s)")


def queued_since(started, *, record_sets=(), evaluations=()) -> list[dict]:
    """Jobs created since ``started`` about these record sets or evaluations (what a command queued)."""
    from .. import selectors

    return selectors.jobs_to_dicts(
        selectors.jobs_about(record_sets=list(record_sets), evaluations=list(evaluations), since=started)
    )


def pending_for(source: str) -> list[dict]:
    """Live jobs about a registered record set ``source`` (none for a file): its reports may be missing."""
    from pathlib import Path

    from .. import selectors

    if Path(source).is_file():
        return []
    try:
        record_set = selectors.record_set_get(source)
    except RegistryError:
        return []
    return selectors.jobs_to_dicts(selectors.jobs_about(record_sets=[record_set], live_only=True))


def job_progress(job: dict) -> str:
    progress = job.get("progress") or {}
    stage, done, total = progress.get("stage"), progress.get("done"), progress.get("total")
    if not stage:
        return ""
    if done is None:
        return str(stage)
    return f"{stage} {done:,}" + (f"/{total:,}" if total else "")


def job_line(job: dict) -> str:
    """One job as one line: state, kind, what, since when, progress or error."""
    state = job["state"]
    if state == "pending":
        status = f"pending since {when(job['created_at'])}"
    elif state == "running":
        status = f"running since {when(job['started_at'])}, {job_progress(job)}"
    elif state == "failed":
        detail = (job.get("error") or {}).get("detail") or (job.get("error") or {}).get("message") or ""
        status = f"FAILED at {when(job['finished_at'])}: {detail}"
    else:
        status = f"done at {when(job['finished_at'])}"
    return f"{job['kind']} job {job['uuid']} ({job['about']}): {status}"


def queued_lines(jobs: list[dict]) -> list[str]:
    """What a registration queued, for its summary: one line per job, and where to follow them."""
    if not jobs:
        return []
    lines = [f"  job      {job_line(j)}" for j in jobs]
    if any(j["state"] in ("pending", "running") for j in jobs):
        lines.append("  (reports say pending until these finish: follow them with `manage.py jobs`)")
    return lines
