"""Private training sets from the client, against a live server: sketch locally, register, check, refusals.

Truth comes from the fixture files (which test records are identical to training records), never from
the server's answers.
"""

import gzip
import json
import subprocess
import sys

import pytest
from Bio.SeqIO.FastaIO import SimpleFastaParser
from leakledger_client import ApiError, Client

from tests.conftest import FIXTURES

BIND = FIXTURES / "flip_bind_split"


def _identical_test_records() -> set[str]:
    with open(BIND / "train.fasta") as handle:
        train = {seq.upper() for _t, seq in SimpleFastaParser(handle)}
    with open(BIND / "test.fasta") as handle:
        return {t.split()[0] for t, seq in SimpleFastaParser(handle) if seq.upper() in train}


def test_sketch_register_check_and_refused_download(ll, tmp_path):
    out = tmp_path / "private.llsk"
    header = Client.sketch(BIND / "train.fasta", out, kind="protein", skip_identical_duplicates=True)
    lines = gzip.decompress(out.read_bytes()).decode().splitlines()
    assert json.loads(lines[0]) == header and header["records"] == len(lines) - 1 == 1077
    first = json.loads(lines[1])
    assert set(first) == {"id", "sha256", "length", "signature"}  # no residues, no description

    version = ll.register_sketch(out, name="private-train")
    assert version.sketch_only is True and version.created is True and version.role == "training"
    assert version.digest == header["digest"] and version.record_count == 1077

    result = ll.check(BIND / "test.fasta", against=[version.ref], identity=0.9)
    identical = _identical_test_records()
    assert result.threshold(1.0).records == len(identical) == 13
    assert {p.query for p in result.offenders(1.0)} == identical
    assert result.estimated_from_jaccard["sketch_only_references"] == [version.ref]
    assert result.estimated_from_jaccard["relation"]["error"]["interval_coverage"] > 0.5
    assert result.method["tiers_run"]["minhash"]["settings"]["verification"].startswith("none")
    for pair in result.pairs:
        if pair.tier == "estimated":
            assert pair.coverage is None and len(pair.identity_interval) == 3

    with pytest.raises(ApiError) as err:
        ll.download(version.ref, tmp_path / "x.fasta")
    assert err.value.status == 409 and "sketch-only" in str(err.value)
    assert not (tmp_path / "x.fasta").exists()


def test_the_shell_sketches_registers_and_is_refused_a_download(ledger, tmp_path):
    def leakledger(*args):
        return subprocess.run(
            [sys.executable, "-m", "leakledger_client", *map(str, args)],
            cwd=tmp_path,
            env=ledger.env(),
            capture_output=True,
            text=True,
        )

    made = leakledger(
        "sketch",
        BIND / "train.fasta",
        "-o",
        "private.llsk",
        "--kind",
        "protein",
        "--skip-identical-duplicates",
    )
    assert made.returncode == 0, made.stderr
    assert "sketched 1,077 records" in made.stdout and "no residues" in made.stdout
    raw = gzip.decompress((tmp_path / "private.llsk").read_bytes()).decode()
    with open(BIND / "train.fasta") as handle:
        assert not any(seq.upper() in raw for _t, seq in SimpleFastaParser(handle))

    reg = leakledger("--json", "register", "private.llsk", "--name", "private-train")
    assert reg.returncode == 0, reg.stderr
    body = json.loads(reg.stdout)
    assert body["sketch_only"] is True and body["ref"] == "private-train@1"

    check = leakledger("check", BIND / "test.fasta", "--against", "private-train@1", "--identity", "0.9")
    assert check.returncode == 0, check.stderr
    assert "sketch-only" in check.stdout + check.stderr

    refused = leakledger("download", "private-train@1", "-o", "x.fasta")
    assert refused.returncode != 0 and "sketch-only" in refused.stderr
    assert not (tmp_path / "x.fasta").exists()

    # A duplicate identifier with another sequence is refused locally, naming the record.
    bad = tmp_path / "bad.fasta"
    bad.write_text(">a\nMKVLAAGIVALLL\n>a\nMKVLAAGIVALLW\n")
    failed = leakledger("sketch", bad, "-o", "bad.llsk", "--skip-identical-duplicates")
    assert failed.returncode == 2 and "record 'a'" in failed.stderr and not (tmp_path / "bad.llsk").exists()
    assert not list(tmp_path.glob("*.part"))
