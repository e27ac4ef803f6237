"""``manage.py seed_api [--user NAME]``: register real fixture data for API demos, fuzzing and load tests.

Registers, if not already there: globins (HMMER tutorial), the FLIP bind test set with a split
taken from its headers, FLIP bind one_vs_many (train + test) with its published split, a model
trained on its train part, a fine-tuned model, and an evaluation with per-record scores. Prints
the references as JSON. Idempotent: a second run changes nothing.
"""

import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from registry.models import Evaluation, Job, ModelVersion, OverlapReport, Split
from registry.services import (
    dataset_version_register,
    evaluation_record,
    model_version_register,
    split_register,
)

FIXTURES = Path(settings.BASE_DIR) / "fixtures"


class Command(BaseCommand):
    help = "Register real fixture data (datasets, splits, models, an evaluation) for demos and load tests."

    def add_arguments(self, parser):
        parser.add_argument(
            "--user", default="demo", help="Owner of what is registered (created if missing)."
        )

    def handle(self, *args, user, **options):
        owner, _ = get_user_model().objects.get_or_create(username=user)
        register = dict(user=owner)
        globins = dataset_version_register(
            path=FIXTURES / "hmmer_tutorial" / "globins45.fa",
            dataset_name="globins",
            kind="protein",
            license="BSD-3-Clause",
            description="45 globins from the HMMER tutorial.",
            role="training",
            **register,
        ).version
        flip_test = dataset_version_register(
            path=FIXTURES / "flip_bind_split" / "test.fasta",
            dataset_name="flip-bind-test",
            kind="protein",
            license="AFL-3.0",
            source="https://github.com/J-SNACKKB/FLIP",
            role="benchmark",
            **register,
        ).version
        if not Split.objects.filter(version=flip_test, name="by-set").exists():
            split_register(version_ref=flip_test.ref, name="by-set", from_header="SET", user=owner)
        flip = dataset_version_register(
            path=FIXTURES / "flip_bind_split" / "one_vs_many.fasta",
            dataset_name="flip-bind",
            kind="protein",
            license="AFL-3.0",
            source="https://github.com/J-SNACKKB/FLIP",
            **register,
        ).version
        if not Split.objects.filter(version=flip, name="one_vs_many").exists():
            split_register(
                version_ref=flip.ref,
                name="one_vs_many",
                mapping_path=FIXTURES / "flip_bind_split" / "one_vs_many.json",
                allow_shared_ids=True,
                user=owner,
            )
        casp = dataset_version_register(
            path=FIXTURES / "casp16_phase0" / "all_casp16_phase0.fasta",
            dataset_name="casp16-phase0",
            kind="protein",
            role="benchmark",
            **register,
        ).version
        if not ModelVersion.objects.filter(model__name="binder", version="1").exists():
            model_version_register(
                ref="binder@1",
                trained_on=[f"{flip.ref}/one_vs_many:train"],
                code_url="https://example.org/binder",
                parameters={"epochs": 10},
                user=owner,
            )
        if not ModelVersion.objects.filter(model__name="binder", version="2").exists():
            model_version_register(ref="binder@2", trained_on=[globins.ref], base="binder@1", user=owner)
        if not Evaluation.objects.filter(model_version__model__name="binder").exists():
            evaluation_record(
                model_ref="binder@2",
                on_ref=f"{flip.ref}/one_vs_many:test",
                metrics={"auc": 0.91},
                user=owner,
                code_ref="git:0000000",
            )
        evaluation = (
            Evaluation.objects.filter(model_version__model__name="binder").order_by("created_at").first()
        )
        split = Split.objects.get(version=flip, name="one_vs_many")
        report = OverlapReport.objects.order_by("created_at").first()
        job = Job.objects.filter(created_by=owner).order_by("created_at").first()
        self.stdout.write(
            json.dumps(
                {
                    "versions": [globins.ref, flip_test.ref, flip.ref, casp.ref],
                    "model_versions": ["binder@1", "binder@2"],
                    "evaluation": str(evaluation.uuid),
                    "split": str(split.uuid),
                    "part": str(split.parts.order_by("name").first().uuid),
                    "overlap_report": str(report.uuid) if report else None,
                    "job": str(job.uuid) if job else None,
                }
            )
        )
