"""Real registered data for the page tests: FLIP bind's published split with its 13-protein leak,
models with a base, evaluations (one with per-record scores), and a benchmark whose checks are
still queued (pending)."""

import pytest
from django.core.cache import cache

from registry.services import (
    dataset_version_register,
    evaluation_record,
    model_version_register,
    split_register,
)
from tests.conftest import FIXTURES

BIND = FIXTURES / "flip_bind_split"


@pytest.fixture(autouse=True)
def _eager_jobs(settings, tmp_path):
    """Jobs run in the test process (also when the environment names a broker, as CI's worker run does)."""
    from config.celery import app

    settings.DATA_DIR = tmp_path / "data"
    saved = {key: app.conf.get(key) for key in ("task_always_eager", "task_eager_propagates")}
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    cache.clear()
    yield
    cache.clear()
    app.conf.update(saved)


def register_all() -> dict:
    """Register the demo's data through the services; jobs run as each registration commits."""
    dataset_version_register(
        path=BIND / "one_vs_many.fasta",
        dataset_name="flip-bind",
        kind="protein",
        license="AFL-3.0",
        source="https://github.com/J-SNACKKB/FLIP",
        description="FLIP bind task: binding residues",
    )
    split_register(
        version_ref="flip-bind@1",
        name="one_vs_many",
        mapping_path=BIND / "one_vs_many.json",
        allow_shared_ids=True,
    )
    dataset_version_register(
        path=FIXTURES / "deepfri_examples" / "pdb_chains.fasta",
        dataset_name="deepfri-examples",
        kind="protein",
        role="training",
    )
    model_version_register(ref="bindembed@1", trained_on=["flip-bind@1/one_vs_many:train"])
    model_version_register(ref="bindembed-ft@1", trained_on=["deepfri-examples@1"], base="bindembed@1")
    model_version_register(ref="quiet-ft@1", trained_on=[], base="bindembed@1")  # undisclosed
    scores = BIND / "demo_scores.tsv"
    values = [float(line.split("\t")[1]) for line in scores.read_text().splitlines()[1:]]
    scored = evaluation_record(
        model_ref="bindembed-ft@1",
        on_ref="flip-bind@1/one_vs_many:test",
        metrics={"accuracy": round(sum(values) / len(values), 4)},
        scores_path=scores,
    )
    plain = evaluation_record(
        model_ref="quiet-ft@1", on_ref="flip-bind@1/one_vs_many:test", metrics={"accuracy": 0.5}
    )
    return {"scored": scored, "plain": plain}


@pytest.fixture
def registered(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        objects = register_all()
    return objects


@pytest.fixture
def pending_benchmark(registered):
    """FLIP's test file registered as a benchmark whose indexing job is queued and not yet run."""
    return dataset_version_register(
        path=BIND / "test.fasta", dataset_name="flip-bind-test", kind="protein", role="benchmark"
    ).version
