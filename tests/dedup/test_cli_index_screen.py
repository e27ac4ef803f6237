"""python -m dedup index / overlap QUERY INDEX / screen: outputs and refusals."""

import json
import shutil

from dedup.__main__ import main
from tests.conftest import FIXTURES

BIND = FIXTURES / "flip_bind_split"


def test_index_then_overlap_reuses_it(tmp_path, capsys):
    ref = tmp_path / "train.fasta"
    shutil.copy(BIND / "train.fasta", ref)
    idx = tmp_path / "train.llidx"
    assert main(["index", str(ref), "-o", str(idx), "--threads", "2", "--quiet"]) == 0
    assert "1,110 records" in capsys.readouterr().out
    assert main(["overlap", str(BIND / "test.fasta"), str(idx), "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["summary"]["counts"]["exact"] == 13 and out["summary"]["references"] == 1110
    assert all("reference_coverage" in p for p in out["pairs"])
    # another k than the index was built with: refused, exit 2, with the command that rebuilds it
    assert main(["overlap", str(BIND / "test.fasta"), str(idx), "--k", "6", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "python -m dedup index" in err and "--k 6" in err


def test_screen_table_json_and_saved_sketches(tmp_path, capsys):
    test, train = str(BIND / "test.fasta"), str(BIND / "train.fasta")
    other = str(FIXTURES / "hmmer_tutorial" / "globins45.fa")
    sketches = tmp_path / "sk"
    assert main(["screen", test, other, train, "--save-sketches", str(sketches), "--quiet"]) == 0
    table = capsys.readouterr().out
    assert table.index("train.fasta") < table.index("globins45.fa")  # highest containment first
    assert (sketches / "train.fasta.llsketch").is_file()
    assert main(["screen", test, str(sketches / "train.fasta.llsketch"), "--json", "--quiet"]) == 0
    from_saved = json.loads(capsys.readouterr().out)
    assert main(["screen", test, train, "--json", "--quiet"]) == 0
    from_file = json.loads(capsys.readouterr().out)
    assert from_saved["screen"] == from_file["screen"]
    assert main(["screen", test, str(sketches / "train.fasta.llsketch"), "--k", "8", "--quiet"]) == 2
    assert "protein k=10 sketch, not protein k=8" in capsys.readouterr().err


def test_screen_then_records(capsys):
    test, train = str(BIND / "test.fasta"), str(BIND / "train.fasta")
    assert main(["screen", test, train, "--records", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.index("containment") < out.index("per-record overlap with")
    assert "    exact        13" in out
