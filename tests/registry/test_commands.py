"""The CLI contract: --json keys, human summaries, non-zero exits with the message, nothing written."""

import io
import json
import re
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import REPO

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*[str(a) for a in args], stdout=out)
    return out.getvalue()


def test_register_dataset_json_contract(data_dir, bind_test):
    result = json.loads(
        run("register_dataset", bind_test, "--name", "bind-test", "--kind", "protein", "--json")
    )
    assert {"ref", "digest", "records", "created"} <= result.keys()
    assert (result["ref"], result["records"], result["created"]) == ("bind-test@1", 250, True)
    again = json.loads(
        run("register_dataset", bind_test, "--name", "bind-test", "--kind", "protein", "--json")
    )
    assert again["created"] is False and again["digest"] == result["digest"]
    human = run("register_dataset", bind_test, "--name", "bind-test", "--kind", "protein")
    assert "already registered bind-test@1" in human and result["digest"] in human


def test_register_dataset_version_flag_and_derivation(data_dir, bind_test, bind_all):
    run("register_dataset", bind_all, "--name", "bind", "--kind", "protein", "--version", "2021.1")
    out = run(
        "register_dataset",
        bind_test,
        "--name",
        "bind-test",
        "--kind",
        "protein",
        "--version",
        "v1",
        "--derived-from",
        "bind@2021.1",
        "--transform",
        "test part only",
    )
    assert "registered bind-test@v1" in out
    lineage = json.loads(run("lineage", "bind-test@v1", "--json"))
    assert lineage["ancestors"] == [
        {"source": "bind@2021.1", "target": "bind-test@v1", "transform": "test part only"}
    ]


def test_full_flow_through_the_cli(data_dir, bind_all, bind_mapping):
    run("register_dataset", bind_all, "--name", "flip-bind", "--kind", "protein")
    with pytest.raises(CommandError, match="13 id"):
        run("register_split", "flip-bind@1", "--name", "ovm", "--mapping", bind_mapping)
    split = json.loads(
        run(
            "register_split",
            "flip-bind@1",
            "--name",
            "ovm",
            "--mapping",
            bind_mapping,
            "--allow-shared-ids",
            "--json",
        )
    )
    assert {p["ref"]: p["records"] for p in split["parts"]} == {
        "flip-bind@1/ovm:test": 250,
        "flip-bind@1/ovm:train": 1077,
    }
    model = json.loads(
        run(
            "register_model",
            "net@1",
            "--trained-on",
            "flip-bind@1/ovm:train",
            "--param",
            "lr=0.01",
            "--param",
            "arch=cnn",
            "--json",
        )
    )
    assert model["parameters"] == {"lr": 0.01, "arch": "cnn"}
    tuned = json.loads(run("register_model", "net-ft@1", "--base", "net@1", "--json"))
    assert tuned["training_ancestry"] == ["flip-bind@1/ovm:train"]
    evaluation = json.loads(
        run("record_evaluation", "net-ft@1", "--on", "flip-bind@1/ovm:test", "--metric", "mcc=0.4", "--json")
    )
    assert evaluation["metrics"] == {"mcc": 0.4} and evaluation["on"] == "flip-bind@1/ovm:test"


def test_errors_exit_non_zero_with_the_message_in_a_real_process(tmp_path, migrated_data_dir):
    """The installed entry point, as a user runs it: message on stderr, exit code 2 for refused input."""
    bad = tmp_path / "bad.fa"
    bad.write_bytes(b">P1\nMKV\n>P2\nMK1V\n")
    env = {"LEAKLEDGER_DATA_DIR": str(migrated_data_dir), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "manage.py", "register_dataset", bad, "--name", "bad", "--kind", "protein"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "bad.fa, line 4, record 'P2'" in proc.stderr and "'1'" in proc.stderr
    assert "Traceback" not in proc.stderr
    listing = subprocess.run(
        [sys.executable, "manage.py", "lineage", "bad@1"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert listing.returncode == 1 and "neither a dataset version nor a model version" in listing.stderr


def test_bad_references_are_explained(data_dir):
    with pytest.raises(CommandError, match="is not a reference: expected name@version"):
        run("lineage", "no-at-sign-but-not-a-uuid@")
    with pytest.raises(CommandError, match="not an evaluation UUID"):
        run("lineage", "plainword")
    with pytest.raises(CommandError, match="metric 'acc': 'x' is not a number"):
        run("record_evaluation", "m@1", "--on", "d@1", "--metric", "acc=x")


def test_lineage_of_an_evaluation_shows_the_inherited_contamination(
    data_dir, bind_all, bind_mapping, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run("register_dataset", bind_all, "--name", "flip-bind", "--kind", "protein")
        run("register_split", "flip-bind@1", "--name", "ovm", "--mapping", bind_mapping, "--allow-shared-ids")
        run("register_model", "base@1", "--trained-on", "flip-bind@1/ovm:train")
        run("register_model", "tuned@1", "--base", "base@1")
        evaluation = json.loads(
            run(
                "record_evaluation",
                "tuned@1",
                "--on",
                "flip-bind@1/ovm:test",
                "--metric",
                "mcc=0.4",
                "--json",
            )
        )["uuid"]
    out = run("lineage", evaluation)
    assert "training ancestry: flip-bind@1/ovm:train" in out
    assert re.search(r"exact\s+13 \(\s*5\.2%\)", out), out
    assert "O60895" in out and "most similar test records (of 13)" in out


def test_recover_jobs_requeues_a_job_whose_worker_died(data_dir, bind_test):
    """A job left running with a stale heartbeat (its worker killed) is run again to completion."""
    from datetime import timedelta

    from django.utils import timezone

    from registry.models import Job
    from registry.services.jobs import job_create

    job = job_create(
        kind="ingest",
        payload={"path": str(bind_test), "dataset_name": "bind-test", "kind": "protein"},
        enqueue=False,
    )
    stale = timezone.now() - timedelta(minutes=10)
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, heartbeat_at=stale, attempts=1)
    assert json.loads(run("recover_jobs", "--stale-after", "0", "--json"))["requeued"] == [
        {"uuid": str(job.uuid), "kind": "ingest", "state": "running"}
    ]
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED and job.attempts == 2
    assert job.result["records"] == 250 and job.progress["stage"] == "done"
    assert run("recover_jobs").strip() == "no lost jobs"


def test_lineage_of_a_benchmark_lists_its_standing_reports(
    data_dir, bind_train, bind_test, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run(
            "register_dataset",
            bind_train,
            "--name",
            "train",
            "--kind",
            "protein",
            "--role",
            "training",
            "--skip-identical-duplicates",
        )
        run("register_dataset", bind_test, "--name", "test", "--kind", "protein", "--role", "benchmark")
    result = json.loads(run("lineage", "test@1", "--json"))
    [report] = result["overlap_reports"]
    assert (report["query_set"], report["reference_set"]) == ("test@1", "train@1")
    assert report["thresholds"][0] == {"label": "exact", "records": 13, "fraction": 0.052}
    assert "overlap       test@1 vs train@1: exact 13 (5.2%)" in run("lineage", "test@1")


def test_key_value_flags_are_checked(data_dir, bind_all):
    run("register_dataset", bind_all, "--name", "flip-bind", "--kind", "protein")
    with pytest.raises(CommandError, match="--param 'lr' is not KEY=VALUE"):
        run("register_model", "net@1", "--trained-on", "flip-bind@1", "--param", "lr")
    with pytest.raises(CommandError, match="--role 'test' is not KEY=VALUE"):
        run("register_split", "flip-bind@1", "--name", "s", "--from-header", "SET", "--role", "test")


def test_a_transient_database_error_hands_the_job_back_instead_of_failing_it(
    data_dir, bind_test, monkeypatch
):
    from django.db import OperationalError

    from registry.models import Job
    from registry.services import jobs

    calls = []

    def flaky(job):
        calls.append(job.attempts)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return {"ok": True}

    monkeypatch.setitem(jobs.HANDLERS, "query", flaky)
    job = jobs.job_create(kind="query", payload={}, enqueue=False)
    with pytest.raises(OperationalError):
        jobs.job_run(str(job.uuid))
    job.refresh_from_db()
    assert job.state == Job.State.PENDING and job.error is None
    assert jobs.job_run(str(job.uuid)).state == Job.State.SUCCEEDED
    assert calls == [1, 2]
