"""What a new user trips over (issue 12): each test failed before its fix."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db

SCORES = FIXTURES / "flip_bind_split" / "example_scores.tsv"


def run(*args) -> str:
    out = io.StringIO()
    call_command(*[str(a) for a in args], stdout=out)
    return out.getvalue()


def run_both(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def bind_registered(data_dir, bind_all, bind_mapping, django_capture_on_commit_callbacks):
    """flip-bind@1 with its published one_vs_many split, a model trained on its train part (jobs run)."""
    with django_capture_on_commit_callbacks(execute=True):
        run("register_dataset", bind_all, "--name", "flip-bind", "--kind", "protein")
        run("register_split", "flip-bind@1", "--name", "ovm", "--mapping", bind_mapping, "--allow-shared-ids")
        run("register_model", "net@1", "--trained-on", "flip-bind@1/ovm:train")


# 1. lineage <evaluation-uuid> with --scores
def test_lineage_of_an_evaluation_with_scores_prints_the_clean_metrics(
    bind_registered, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        uuid = json.loads(
            run("record_evaluation", "net@1", "--on", "flip-bind@1/ovm:test", "--metric", "mcc=0.43",
                "--scores", SCORES, "--json")
        )["uuid"]
    out = run("lineage", uuid)
    # 13 leaked records score 0.9, the other 237 score 0.4 (fixtures/flip_bind_split/make_example_scores.py)
    assert "mcc=0.426 (250 records)" in out, out
    assert "clean subset: mcc=0.4 (237 records)" in out, out
