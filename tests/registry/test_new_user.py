"""What a new user trips over (issue 12): each test failed before its fix."""

import io
import json
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
