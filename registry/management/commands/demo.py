"""The demo: registers real fixture data, a split with a real leak, models, an evaluation, and shows
what LeakLedger finds. Runs on the configured database (SQLite in ``var/demo`` with ``make demo``)."""

import io
import json
import shlex
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

FIXTURES = Path(settings.BASE_DIR) / "fixtures"


def as_typed(command: str) -> str:
    """``command`` as a user types it to reach this demo's database: this interpreter (the venv's, not
    the system python) and this data directory, relative to the current directory when inside it."""
    import os
    import sys

    def here(path) -> str:
        relative = os.path.relpath(os.path.abspath(path))
        return relative if not relative.startswith("..") else os.path.abspath(path)

    data_dir = shlex.quote(here(settings.DATA_DIR))
    return f"LEAKLEDGER_DATA_DIR={data_dir} {shlex.quote(here(sys.executable))} manage.py {command}"


class Command(BaseCommand):
    help = "Run the LeakLedger demo on the real data in fixtures/ and print each step."

    def add_arguments(self, parser):
        parser.add_argument(
            "--fresh",
            action="store_true",
            help="empty the (SQLite) demo database first, so that every step registers anew",
        )

    def step(self, title: str, *args, expect_error: bool = False) -> str:
        shown = " ".join(shlex.quote(str(a)) for a in args)
        self.stdout.write(self.style.MIGRATE_HEADING(f"\n# {title}\n$ python manage.py {shown}"))
        out = io.StringIO()
        try:
            call_command(*args, stdout=out)
        except CommandError as exc:
            if not expect_error:
                raise
            self.stdout.write(self.style.WARNING(f"refused (as it should be): {exc}"))
            return ""
        text = out.getvalue().rstrip()
        self.stdout.write(text)
        return text

    def handle(self, *args, **options):
        if options["fresh"]:
            if connection.vendor != "sqlite":
                raise CommandError(
                    "--fresh empties the database: it is only allowed on the SQLite demo database."
                )
            call_command("migrate", verbosity=0)
            call_command("flush", interactive=False, verbosity=0)
        else:
            call_command("migrate", verbosity=0)
        bind = FIXTURES / "flip_bind_split"
        self.stdout.write(
            f"LeakLedger demo on {connection.vendor} ({connection.settings_dict['NAME']}), "
            f"Celery {'eager' if settings.CELERY_TASK_ALWAYS_EAGER else 'with a broker'}"
        )
        self.step(
            "Register FLIP's bind data set (1,314 real proteins, AFL-3.0)",
            "register_dataset",
            bind / "one_vs_many.fasta",
            "--name",
            "flip-bind",
            "--kind",
            "protein",
            "--license",
            "AFL-3.0",
            "--source",
            "https://github.com/J-SNACKKB/FLIP (splits/bind)",
            "--description",
            "FLIP bind task: binding residues, bindEmbed21 development set",
        )
        self.step(
            "Registering the same content again is idempotent",
            "register_dataset",
            bind / "one_vs_many.fasta",
            "--name",
            "flip-bind",
            "--kind",
            "protein",
        )
        self.step(
            "FLIP's published one_vs_many split puts 13 proteins in both train and test",
            "register_split",
            "flip-bind@1",
            "--name",
            "one_vs_many",
            "--mapping",
            bind / "one_vs_many.json",
            expect_error=True,
        )
        self.step(
            "Register it as published, shared ids and all",
            "register_split",
            "flip-bind@1",
            "--name",
            "one_vs_many",
            "--mapping",
            bind / "one_vs_many.json",
            "--allow-shared-ids",
        )
        self.step(
            "FLIP's own train file, registered as a training set (it repeats 33 records verbatim)",
            "register_dataset",
            bind / "train.fasta",
            "--name",
            "flip-bind-train",
            "--kind",
            "protein",
            "--role",
            "training",
            "--skip-identical-duplicates",
        )
        self.step(
            "... and its test file as a benchmark: the standing check runs without anyone asking",
            "register_dataset",
            bind / "test.fasta",
            "--name",
            "flip-bind-test",
            "--kind",
            "protein",
            "--role",
            "benchmark",
        )
        self.step("The benchmark's standing overlap reports", "lineage", "flip-bind-test@1")
        self.step(
            "Register DeepFRI's example PDB chains (BSD-3)",
            "register_dataset",
            FIXTURES / "deepfri_examples" / "pdb_chains.fasta",
            "--name",
            "deepfri-examples",
            "--kind",
            "protein",
            "--license",
            "BSD-3-Clause",
        )
        self.step(
            "A base model trained on the train part",
            "register_model",
            "bindembed@1",
            "--trained-on",
            "flip-bind@1/one_vs_many:train",
            "--code-url",
            "https://github.com/Rostlab/bindPredict",
            "--param",
            "epochs=40",
        )
        self.step(
            "A model fine-tuned from it on other data",
            "register_model",
            "bindembed-ft@1",
            "--base",
            "bindembed@1",
            "--trained-on",
            "deepfri-examples@1",
        )
        out = self.step(
            "Its evaluation on the test part",
            "record_evaluation",
            "bindembed-ft@1",
            "--on",
            "flip-bind@1/one_vs_many:test",
            "--metric",
            "mcc=0.42",
            "--json",
        )
        evaluation = json.loads(out)["uuid"]
        self.step(
            "Lineage and contamination report of the evaluation (inherited through the base)",
            "lineage",
            evaluation,
        )
        scores = bind / "demo_scores.tsv"
        values = [float(line.split("\t")[1]) for line in scores.read_text().splitlines()[1:]]
        self.step(
            "A memorising model trained on the same train part (for the clean-subset metrics below)",
            "register_model",
            "memoriser@1",
            "--trained-on",
            "flip-bind@1/one_vs_many:train",
        )
        out = self.step(
            "Its evaluation with per-record scores (SYNTHETIC, fixtures/flip_bind_split/make_example_scores.py: "
            "1.0 on the 13 leaked proteins): each metric is recomputed on the clean subset",
            "record_evaluation",
            "memoriser@1",
            "--on",
            "flip-bind@1/one_vs_many:test",
            "--metric",
            f"accuracy={sum(values) / len(values):.4f}",
            "--scores",
            scores,
            "--json",
        )
        memoriser = json.loads(out)["uuid"]
        self.step(
            "Ask about a file that is not registered",
            "check_overlap",
            bind / "test.fasta",
            "--against",
            "flip-bind@1/one_vs_many:train",
        )
        self.browse_hint(evaluation=memoriser)
        self.stdout.write(
            self.style.SUCCESS(
                f"\nDone. Explore with `{as_typed('lineage flip-bind@1')}`, the admin, or the API at /api/v1/docs/ "
                f"(`{as_typed('runserver')}`)."
            )
        )

    def browse_hint(self, *, evaluation: str) -> None:
        """Collect the static files (served by WhiteNoise, DEBUG on or off) and print how to see the pages."""
        call_command("collectstatic", interactive=False, verbosity=0)
        data_dir = Path(settings.DATA_DIR).resolve()
        if data_dir.is_relative_to(Path.cwd()):
            data_dir = data_dir.relative_to(Path.cwd())
        site = "http://127.0.0.1:8000"
        self.stdout.write(self.style.MIGRATE_HEADING("\n# The pages it populated, in a browser"))
        self.stdout.write(
            f"$ LEAKLEDGER_DATA_DIR={shlex.quote(str(data_dir))} .venv/bin/python manage.py runserver 127.0.0.1:8000"
        )
        for what, path in [
            ("registry", "/"),
            ("overlap matrix (FLIP's 13-protein leak)", "/overlap/"),
            ("dataset card", "/versions/flip-bind@1/"),
            ("model lineage graph", "/models/bindembed-ft@1/"),
            ("evaluation with clean-subset metrics", f"/evaluations/{evaluation}/"),
            ("leaderboard", "/leaderboards/flip-bind@1/one_vs_many:test/"),
        ]:
            self.stdout.write(f"  {what:42s} {site}{path}")
