"""What a new user trips over (issue 12): each test failed before its fix."""

import io
import json
import re
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import FIXTURES, REPO

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
            run(
                "record_evaluation",
                "net@1",
                "--on",
                "flip-bind@1/ovm:test",
                "--metric",
                "mcc=0.43",
                "--scores",
                SCORES,
                "--json",
            )
        )["uuid"]
    out = run("lineage", uuid)
    # 13 leaked records score 0.9, the other 237 score 0.4 (fixtures/flip_bind_split/make_example_scores.py)
    assert "mcc=0.426 (250 records)" in out, out
    assert "clean subset: mcc=0.4 (237 records)" in out, out


def manage(*args, env: dict) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "HOME": str(REPO)}
    return subprocess.run(
        [sys.executable, "manage.py", *map(str, args)],
        cwd=REPO,
        env={**base, **env},
        capture_output=True,
        text=True,
    )


# 17, 18. noise on stderr; a missing production key is one line, not a traceback
def test_commands_do_not_print_kombu_hostname_noise_and_a_missing_key_is_one_line(tmp_path, bind_test):
    env = {"LEAKLEDGER_DATA_DIR": str(tmp_path / "var")}
    assert manage("migrate", "-v", "0", env=env).returncode == 0
    proc = manage("register_dataset", bind_test, "--name", "t", "--kind", "protein", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "registered t@1" in proc.stdout
    assert "No hostname was supplied" not in proc.stderr, proc.stderr
    broken = manage("check", env={**env, "LEAKLEDGER_PRODUCTION": "1"})
    assert broken.returncode != 0
    assert "Traceback" not in broken.stderr
    assert broken.stderr.strip().count("\n") == 0, broken.stderr
    assert "LEAKLEDGER_SECRET_KEY must be set" in broken.stderr


# 9. nucleotide and label files registered as protein
ODD = FIXTURES / "odd"


@pytest.mark.parametrize(
    "rel, likely",
    [
        ("biopython/Fasta/lupine.nu", "DNA"),
        ("in_the_wild_excerpts/dm3_upstream2000_head2_lowercase_dna.fa", "DNA"),
        ("in_the_wild_excerpts/flip_ss_sampled_head20_dssp_labels_as_sequence.fasta", "labels"),
    ],
)
def test_nucleotides_and_labels_are_not_registered_as_protein_unless_forced(data_dir, snapshot, rel, likely):
    before = snapshot()
    with pytest.raises(CommandError, match=likely) as info:
        run("register_dataset", ODD / rel, "--name", "odd", "--kind", "protein")
    assert "--force-kind" in str(info.value) and str(ODD / rel) in str(info.value)
    assert snapshot() == before
    forced = json.loads(
        run("register_dataset", ODD / rel, "--name", "odd", "--kind", "protein", "--force-kind", "--json")
    )
    assert forced["created"] is True


def test_a_real_protein_file_and_real_dna_pass_the_kind_check(data_dir, bind_test):
    run("register_dataset", bind_test, "--name", "p", "--kind", "protein")
    run("register_dataset", ODD / "biopython/Fasta/lupine.nu", "--name", "n", "--kind", "dna")


def test_the_api_upload_refuses_dna_as_protein_with_a_field_to_force_it(
    data_dir, django_user_model, django_capture_on_commit_callbacks
):
    from rest_framework.test import APIClient

    from registry.models import Job

    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_user("alice"))
    path = ODD / "biopython/Fasta/lupine.nu"
    with open(path, "rb") as fh, django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            "/api/v1/versions/", {"file": fh, "dataset": "lupine", "kind": "protein"}, format="multipart"
        )
    job = Job.objects.get(uuid=answer.json()["uuid"])
    assert job.state == "failed" and "--force-kind" in job.error["detail"], job.error
    with open(path, "rb") as fh, django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            "/api/v1/versions/",
            {"file": fh, "dataset": "lupine", "kind": "protein", "force_kind": "true"},
            format="multipart",
        )
    assert Job.objects.get(uuid=answer.json()["uuid"]).state == "succeeded"


# 13. lineage: no set against itself, worst first, top 10
def test_lineage_of_a_benchmark_summarises_its_overlaps_worst_first_and_never_itself(
    data_dir, django_capture_on_commit_callbacks
):
    casp = FIXTURES / "casp16_phase0"
    trains = [
        "H0272",
        "H0217",
        "H0222",
        "H0223",
        "H0225",
        "H0233",
        "H0244",
        "H0208",
        "H0215",
        "H0220",
        "H0227",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        run(
            "register_dataset",
            casp / "all_casp16_phase0.fasta",
            "--name",
            "casp16",
            "--kind",
            "protein",
            "--role",
            "benchmark",
        )
        for name in trains:
            run(
                "register_dataset",
                casp / f"{name}.fasta",
                "--name",
                name.lower(),
                "--kind",
                "protein",
                "--role",
                "training",
            )
        run("register_model", "leaky@1", "--trained-on", "casp16@1")
        run("record_evaluation", "leaky@1", "--on", "casp16@1", "--metric", "acc=0.9")
    result = json.loads(run("lineage", "casp16@1", "--json"))
    pairs = [(r["query_set"], r["reference_set"]) for r in result["overlap_reports"]]
    assert ("casp16@1", "casp16@1") not in pairs
    assert len(pairs) == len(trains)
    out = run("lineage", "casp16@1")
    lines = [line for line in out.splitlines() if line.startswith("  overlap")]
    assert len(lines) == 10, out
    assert "vs casp16@1" not in out
    assert "casp16@1 vs h0272@1: exact 9 (12.5%)" in lines[0]  # 9 of 72 chains, the largest file first
    assert "casp16@1 vs h0217@1: exact 6 (8.3%)" in lines[1]
    assert "  ... and 1 more overlap report (lineage --json lists all)" in out


# 7. pending is not clean
def test_until_its_jobs_ran_every_report_says_pending_and_jobs_shows_them(
    data_dir, bind_train, bind_test, django_capture_on_commit_callbacks
):
    from registry.services.jobs import job_run

    with django_capture_on_commit_callbacks(execute=False):  # as with a worker that is busy
        out = run(
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
        assert re.search(r"job +sketch job [0-9a-f-]{36} \(index train@1\): pending since", out), out
        assert "manage.py jobs" in out
        run("register_dataset", bind_test, "--name", "test", "--kind", "protein", "--role", "benchmark")
        run("register_model", "net@1", "--trained-on", "train@1")
        evaluation = json.loads(
            run("record_evaluation", "net@1", "--on", "test@1", "--metric", "acc=0.5", "--json")
        )
    assert [j["state"] for j in evaluation["jobs"]] == ["pending", "pending"]
    lineage = run("lineage", "test@1")
    assert re.search(r"pending +sketch job .* \(index test@1\): pending since", lineage), lineage
    contamination = run("lineage", evaluation["uuid"])
    assert "contamination: pending" in contamination and "overlap job" in contamination, contamination
    assert "not computed yet" not in contamination
    listing = json.loads(run("jobs", "--json"))["jobs"]
    assert {j["state"] for j in listing} == {"pending"} and len(listing) == 5
    one = run("jobs", listing[-1]["uuid"])
    assert "pending" in one and "about" in one

    for job in listing[::-1]:  # what a worker does: oldest first; the sketch jobs queue the standing checks
        with django_capture_on_commit_callbacks(execute=True):
            job_run(job["uuid"])
    lineage = run("lineage", "test@1")
    assert "overlap       test@1 vs train@1: exact 13 (5.2%)" in lineage and "pending" not in lineage
    contamination = run("lineage", evaluation["uuid"])
    assert "pending" not in contamination and "exact" in contamination
    assert json.loads(run("jobs", "--state", "pending", "--json"))["jobs"] == []
