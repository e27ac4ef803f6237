"""The ``leakledger`` command as a shell or CI step runs it: a real process against a live server."""

import json
import subprocess
import sys

import pytest

from tests.conftest import FIXTURES, REPO

BIND = FIXTURES / "flip_bind_split"


@pytest.fixture
def leakledger(ledger, tmp_path):
    def run(*args, token: bool = True):
        env = ledger.env()
        if not token:
            env.pop("LEAKLEDGER_TOKEN")
        return subprocess.run(
            [sys.executable, "-m", "leakledger_client", *map(str, args)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
        )

    return run


def test_every_verb_from_the_shell(leakledger, tmp_path):
    out = leakledger(
        "--json", "register", BIND / "one_vs_many.fasta", "--name", "flip-bind", "--kind", "protein"
    )
    assert out.returncode == 0, out.stderr
    version = json.loads(out.stdout)
    assert version["ref"] == "flip-bind@1" and version["created"] is True and version["record_count"] == 1314
    again = leakledger("register", BIND / "one_vs_many.fasta", "--name", "flip-bind")
    assert again.returncode == 0 and again.stdout.startswith(
        "already registered (identical content) flip-bind@1"
    )

    split = leakledger(
        "split", "flip-bind@1", "--name", "ovm", "--mapping", BIND / "one_vs_many.json", "--allow-shared-ids"
    )
    assert split.returncode == 0, split.stderr
    assert "flip-bind@1/ovm:test  test" in split.stdout and "flip-bind@1/ovm:train  train" in split.stdout
    model = leakledger(
        "model", "m@1", "--trained-on", "flip-bind@1/ovm:train", "--param", "epochs=3", "--param", "lr=x"
    )
    assert model.returncode == 0 and "trained on flip-bind@1/ovm:train" in model.stdout
    params = json.loads(
        leakledger("--json", "model", "m@1", "--trained-on", "flip-bind@1/ovm:train", "--exist-ok").stdout
    )
    assert params["parameters"] == {"epochs": 3, "lr": "x"}

    scores = tmp_path / "scores.tsv"
    test_ids = json.loads((BIND / "one_vs_many.json").read_text())["test"]
    scores.write_text("id\tmcc\n" + "".join(f"{i}\t{n % 2}\n" for n, i in enumerate(test_ids)))
    evaluation = leakledger(
        "evaluate", "m@1", "--on", "flip-bind@1/ovm:test", "--metric", "mcc=0.5", "--scores", scores, "--wait"
    )
    assert evaluation.returncode == 0, evaluation.stderr
    assert "exact        13     5.20%" in evaluation.stdout and "clean mcc" in evaluation.stdout
    uuid = evaluation.stdout.split()[1]
    report = json.loads(leakledger("--json", "contamination", uuid).stdout)
    assert report["summary"]["thresholds"][0]["clean_records"] == 250 - 13

    cff = leakledger("cite", "flip-bind@1", "--format", "cff")
    assert cff.returncode == 0 and "cff-version" in cff.stdout and version["digest"] in cff.stdout
    assert leakledger("cite", uuid).stdout.startswith("@")
    got = leakledger("download", "flip-bind@1/ovm:test", "-o", "t.fasta")
    assert got.returncode == 0 and (tmp_path / "t.fasta").read_text().count(">") == 250


def test_the_gate_passes_and_fails_with_distinct_exit_codes(leakledger):
    assert (
        leakledger(
            "register",
            BIND / "train.fasta",
            "--name",
            "tr",
            "--kind",
            "protein",
            "--role",
            "training",
            "--skip-identical-duplicates",
        ).returncode
        == 0
    )
    assert leakledger("model", "m@1", "--trained-on", "tr@1").returncode == 0
    failed = leakledger("check", BIND / "test.fasta", "--against-model", "m@1", "--fail-above", "0.01")
    assert failed.returncode == 3
    assert "FAILED: 13 of 250 benchmark records (5.20%) have a match at >=90% identity" in failed.stderr
    assert "P01887 -> tr@1 P01887  identity 1.000" in failed.stderr
    passed = leakledger(
        "check", BIND / "test.fasta", "--against", "tr@1", "--fail-above", "0.06", "--identity", "0.95"
    )
    assert passed.returncode == 0 and "passed: 13 of 250" in passed.stderr and ">=95%" in passed.stdout
    as_json = leakledger("--json", "check", "tr@1", "--against", "tr@1", "--fail-above", "0.5")
    assert as_json.returncode == 3 and json.loads(as_json.stdout)["summary"]["query_records"] == 1077


def test_errors_exit_2_for_bad_input_and_1_otherwise(leakledger, tmp_path):
    bad = tmp_path / "bad.fasta"
    bad.write_text(">ok\nMKV\n>bad\nMK1V\n")
    refused = leakledger("register", bad, "--name", "broken", "--kind", "protein")
    assert refused.returncode == 2 and "line 4" in refused.stderr and "record bad" in refused.stderr
    assert "Traceback" not in refused.stderr
    anonymous = leakledger("model", "m@1", "--trained-on", "x@1", token=False)
    assert anonymous.returncode == 1 and "Authentication credentials were not provided" in anonymous.stderr
    missing = leakledger("download", "nothing@1")
    assert missing.returncode == 1 and "nothing@1" in missing.stderr
    usage = leakledger("check", BIND / "test.fasta", "--fail-above", "5")
    assert usage.returncode == 2 and "not a fraction" in usage.stderr
    unreachable = leakledger("--url", "http://127.0.0.1:9", "cite", "x@1")
    assert (
        unreachable.returncode == 1
        and "cannot reach the LeakLedger server at http://127.0.0.1:9/api/v1/" in unreachable.stderr
    )


def test_the_client_never_imports_django():
    code = (
        "import sys; sys.modules['django'] = None\n"  # any import of Django now fails
        "import leakledger_client, leakledger_client.cli, dedup\n"
        "from leakledger_client import Client\n"
        "print(Client(progress=False).version('nothing@1') if False else 'ok')\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{REPO / 'client'}:{REPO}"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr


def test_login_writes_the_config_file_that_later_commands_read(ledger, tmp_path):
    config = tmp_path / "leakledger.toml"
    env = {k: v for k, v in ledger.env().items() if k not in ("LEAKLEDGER_URL", "LEAKLEDGER_TOKEN")}
    env["LEAKLEDGER_CONFIG"] = str(config)
    cli = [sys.executable, "-m", "leakledger_client"]
    login = subprocess.run(
        [*cli, "login", "--url", ledger.url, "--token", ledger.token], env=env, capture_output=True, text=True
    )
    assert login.returncode == 0, login.stderr
    assert config.stat().st_mode & 0o777 == 0o600 and ledger.token in config.read_text()
    who = subprocess.run([*cli, "whoami"], env=env, capture_output=True, text=True)
    assert (
        who.returncode == 0 and f"a token from {config}" in who.stdout and "the server answers" in who.stdout
    )
    wrong = subprocess.run(
        [*cli, "login", "--url", "http://127.0.0.1:9", "--token", "t", "--config", str(tmp_path / "x.toml")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert wrong.returncode == 1 and not (tmp_path / "x.toml").exists()  # nothing saved for a dead server
