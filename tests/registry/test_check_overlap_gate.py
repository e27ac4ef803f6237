"""``manage.py check_overlap --fail-above``: a CI gate with its own exit code, naming the offenders."""

import hashlib
import io
import subprocess
import sys

import pytest
from Bio.SeqIO.FastaIO import SimpleFastaParser
from django.core.management import call_command
from django.core.management.base import CommandError

from registry import services
from registry.management.commands.check_overlap import EXIT_OVERLAP
from tests.conftest import REPO

pytestmark = pytest.mark.django_db


def identical_ids(test_path, train_path) -> set[str]:
    """Test records whose sequence occurs verbatim in the training file (an independent count)."""
    with open(train_path) as handle:
        train = {hashlib.sha256(s.upper().encode()).hexdigest() for _, s in SimpleFastaParser(handle)}
    with open(test_path) as handle:
        return {
            t.split()[0]
            for t, s in SimpleFastaParser(handle)
            if hashlib.sha256(s.upper().encode()).hexdigest() in train
        }


@pytest.fixture
def train_registered(data_dir, bind_train):
    services.dataset_version_register(
        path=bind_train,
        dataset_name="bind-train",
        kind="protein",
        role="training",
        skip_identical_duplicates=True,
    )
    return "bind-train@1"


def test_above_the_limit_exits_3_and_names_every_offender(train_registered, bind_test, bind_train):
    shared = identical_ids(bind_test, bind_train)
    assert len(shared) == 13  # FLIP's published split: 13 proteins in both parts
    err = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command(
            "check_overlap", str(bind_test), "--against", train_registered, "--identity", "0.95",
            "--fail-above", "0.01", stdout=io.StringIO(), stderr=err,
        )  # fmt: skip
    assert caught.value.returncode == EXIT_OVERLAP == 3
    assert "13 of 250 records (5.20%) have a match at >=95% identity, more than 1.00%" in str(caught.value)
    listed = {line.split()[0] for line in err.getvalue().splitlines()[1:]}
    assert listed >= shared


def test_at_or_below_the_limit_passes(train_registered, bind_test):
    err, out = io.StringIO(), io.StringIO()
    call_command(
        "check_overlap", str(bind_test), "--against", train_registered, "--fail-above", "0.052",
        "--json", stdout=out, stderr=err,
    )  # fmt: skip
    assert "passed: 13 of 250 records (5.20%)" in err.getvalue()
    assert out.getvalue().lstrip().startswith("{")  # --json output is untouched by the gate


def test_the_exit_code_in_a_real_process(tmp_path, bind_test, bind_train):
    env = {"LEAKLEDGER_DATA_DIR": str(tmp_path / "var"), "PATH": "/usr/bin:/bin"}
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=REPO, env=env, check=True)
    subprocess.run(
        [*manage, "register_dataset", bind_train, "--name", "t", "--kind", "protein", "--role", "training",
         "--skip-identical-duplicates"],
        cwd=REPO, env=env, check=True, capture_output=True,
    )  # fmt: skip
    gate = [*manage, "check_overlap", bind_test, "--against", "t@1", "--fail-above", "0.01"]
    failed = subprocess.run(gate, cwd=REPO, env=env, capture_output=True, text=True)
    assert failed.returncode == 3, failed.stderr
    assert "overlap gate failed" in failed.stderr and "P01887 -> t@1 P01887" in failed.stderr


@pytest.mark.parametrize("value", ["1.5", "-0.1", "x"])
def test_the_limit_must_be_a_fraction(value, bind_test):
    with pytest.raises(CommandError, match="fail_above|fail-above"):
        call_command("check_overlap", str(bind_test), "--fail-above", value)
