"""python -m dedup: the overlap command's human, JSON and TSV outputs, its errors, and sketch."""

import csv
import json
import subprocess
import sys

import pytest

from dedup.__main__ import main
from tests.conftest import FIXTURES, REPO, shared_data_path

BIND = FIXTURES / "flip_bind_split"


def test_json_shape(capsys):
    assert main(["overlap", str(BIND / "test.fasta"), str(BIND / "train.fasta"), "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["summary"]["counts"] == {
        "exact": 13,
        ">=95%": 13,
        ">=90%": 13,
        ">=80%": None,
        ">=70%": None,
        ">=50%": None,
        ">=30%": None,
    }
    assert out["summary"]["queries"] == 250
    assert len(out["pairs"]) == 13
    for pair in out["pairs"]:
        assert {"query", "reference", "identity", "coverage", "tier"} <= set(pair)
        assert 0.0 <= pair["identity"] <= 1.0 and 0.0 <= pair["coverage"] <= 1.0
    assert out["method"]["identity"] == 0.9 and out["method"]["coverage"] == 0.8
    assert out["method"]["tiers_run"]["mmseqs"]["ran"] is False


def test_pairs_out_tsv_and_human_table(tmp_path, capsys):
    pairs = tmp_path / "pairs.tsv"
    args = ["overlap", str(BIND / "test.fasta"), str(BIND / "train.fasta"), "--identity", "0.95"]
    assert main([*args, "--pairs-out", str(pairs)]) == 0
    captured = capsys.readouterr()
    assert "exact        13" in captured.out and ">=95%        13" in captured.out
    assert "read 250 query records" in captured.err  # progress on stderr, not in the table
    with open(pairs, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert len(rows) == 13
    assert {"query", "reference", "identity", "coverage", "tier"} <= set(rows[0])
    assert all(
        float(r["identity"]) == 1.0 and float(r["coverage"]) == 1.0 and r["tier"] == "exact" for r in rows
    )


def test_missing_mmseqs_tier_is_reported(tmp_path, capsys):
    args = ["overlap", str(BIND / "test.fasta"), str(BIND / "train.fasta"), "--quiet"]
    assert main([*args, "--tiers", "exact,mmseqs", "--mmseqs", str(tmp_path / "nope")]) == 0
    assert "tier mmseqs: not run (mmseqs executable not found" in capsys.readouterr().out


def test_bad_input_exits_2_with_the_parse_error(capsys, tmp_path):
    bad = tmp_path / "aligned.fasta"
    bad.write_text(">a\nMKV--LLA\n")
    assert main(["overlap", str(bad), str(BIND / "train.fasta"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "aligned.fasta" in err and "line 2" in err
    assert main(["overlap", str(tmp_path / "missing.fasta"), str(BIND / "train.fasta"), "--quiet"]) == 2
    assert "missing.fasta" in capsys.readouterr().err


@pytest.mark.shared_data
def test_real_benchmark_with_digit_labels_in_the_sequence_slot_exits_2(capsys):
    bad = shared_data_path() / "odd/in_the_wild_excerpts/flip_bind_head20_digit_labels_as_sequence.fasta"
    assert main(["overlap", str(bad), str(BIND / "train.fasta"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "digit_labels_as_sequence.fasta, line " in err


def test_percent_instead_of_fraction_is_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["overlap", str(BIND / "test.fasta"), str(BIND / "train.fasta"), "--identity", "90"])
    assert exc.value.code == 2
    assert "0.9 for 90%" in capsys.readouterr().err


def test_sketch_command(tmp_path):
    out = tmp_path / "sigs.tsv"
    assert main(["sketch", str(BIND / "test.fasta"), "--out", str(out)]) == 0
    rows = out.read_text().splitlines()
    assert rows[0].split("\t") == ["identifier", "sha256", "params", "signature_hex"]
    assert len(rows) == 251
    from dedup import Signature

    sig = Signature.from_bytes(bytes.fromhex(rows[1].split("\t")[3]))
    assert sig.params.key() == rows[1].split("\t")[2] == "protein:k5:p128:s1:affine32:ll-shingle-v1"


def test_module_runs_as_a_program():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dedup",
            "overlap",
            str(BIND / "test.fasta"),
            str(BIND / "train.fasta"),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["counts"]["exact"] == 13


@pytest.mark.parametrize("command", [[], ["overlap"], ["index"], ["screen"], ["sketch"]])
def test_every_help_page_prints(command, capsys):
    """--help of the program and of each command (a bare % in a help text once broke the first)."""
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    assert "usage: " in capsys.readouterr().out


def test_own_process_asks_for_one_openblas_thread(tmp_path):
    """python -m dedup sets OPENBLAS_NUM_THREADS=1 before numpy loads; a user's value, or a program
    of the user's that imports dedup, keeps its own (a sitecustomize reports the value at exit)."""
    import os

    (tmp_path / "sitecustomize.py").write_text(
        "import atexit, os\n"
        "atexit.register(lambda: print('OPENBLAS', os.environ.get('OPENBLAS_NUM_THREADS')))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(REPO)])

    def seen(argv, **extra):
        out = subprocess.run(argv, env={**env, **extra}, cwd=REPO, capture_output=True, text=True, check=True)
        return out.stdout.strip().splitlines()[-1]

    assert seen([sys.executable, "-m", "dedup", "--help"]) == "OPENBLAS 1"
    assert seen([sys.executable, "-m", "dedup", "--help"], OPENBLAS_NUM_THREADS="2") == "OPENBLAS 2"
    assert seen([sys.executable, "-c", "import dedup"]) == "OPENBLAS None"
