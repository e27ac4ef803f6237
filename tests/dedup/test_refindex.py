"""The reusable reference index: same answers as the files, memory-mapped, refused when it does not fit."""

import os
import shutil

import numpy as np
import pytest

from dedup import find_overlap
from dedup.params import SketchParams
from dedup.refindex import IndexMismatchError, ReferenceIndex, build_index
from tests.conftest import FIXTURES

BIND = FIXTURES / "flip_bind_split"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("idx")
    ref = d / "train.fasta"
    shutil.copy(BIND / "train.fasta", ref)
    return ref, build_index(ref, d / "train.llidx")


def _pairs(result):
    return [
        (h.query, h.reference, h.tier, round(h.identity, 6), round(h.reference_coverage, 6))
        for h in result.hits
    ]


def test_index_answers_exactly_as_the_reference_file(built):
    ref, index = built
    query = BIND / "test.fasta"
    from_file = find_overlap(query, ref, identity=0.9, coverage=0.8)
    from_index = find_overlap(query, ReferenceIndex.open(index.directory), identity=0.9, coverage=0.8)
    assert _pairs(from_index) == _pairs(from_file)
    assert from_index.reference_count == from_file.reference_count == 1110
    assert [r.to_dict() for r in from_index.summary] == [r.to_dict() for r in from_file.summary]
    by_path = find_overlap(query, str(index.directory), identity=0.9, coverage=0.8)  # the directory works too
    assert _pairs(by_path) == _pairs(from_file)


def test_fragments_are_found_through_the_index(built):
    _ref, index = built
    long_ones = sorted(index.records, key=lambda r: -len(r[1]))[:3]
    frags = [(f"frag-{rid}", seq[100:150]) for rid, seq in long_ones]
    result = find_overlap(frags, index)
    assert {h.query for h in result.hits} == {q for q, _s in frags}
    assert all(h.query_coverage == 1.0 and h.reference_coverage < 0.2 for h in result.hits)


def test_arrays_are_memory_mapped(built):
    _ref, index = built
    assert isinstance(index.signatures, np.memmap) and isinstance(index.seeds.postings, np.memmap)
    assert index.n_sequences <= index.n_records == 1110
    rid, seq = index.records[0]
    assert index.lookup_sha(__import__("dedup").sequence_sha256(seq)) == 0 and rid


def test_other_parameters_are_refused_with_how_to_rebuild(built):
    ref, index = built
    with pytest.raises(
        IndexMismatchError, match=r"protein:k5.*not protein:k6.*python -m dedup index .* --k 6"
    ):
        find_overlap([("q", "MKV")], index, params=SketchParams("protein", 6))
    with pytest.raises(IndexMismatchError, match="LSH threshold 0.1.*not 0.3"):
        find_overlap([("q", "MKV")], index, threshold=0.3)
    with pytest.raises(IndexMismatchError, match="indexes protein sequences, not dna"):
        find_overlap([("q", "ACGT")], index, kind="dna")


def test_a_changed_reference_is_refused(tmp_path):
    ref = tmp_path / "ref.fasta"
    shutil.copy(BIND / "test.fasta", ref)
    build_index(ref, tmp_path / "ref.llidx")
    os.utime(ref, ns=(1, 1))  # touched but unchanged: still accepted (the sha256 is the same)
    ReferenceIndex.open(tmp_path / "ref.llidx")
    with open(ref, "a") as fh:
        fh.write(">extra\nMKTAYIAKQRQISFVKSHFSRQ\n")
    with pytest.raises(IndexMismatchError, match=r"now has sha256 .*rebuild it: python -m dedup index"):
        ReferenceIndex.open(tmp_path / "ref.llidx")
    with pytest.raises(IndexMismatchError, match="not a reference index"):
        ReferenceIndex.open(tmp_path)


def test_a_failed_build_leaves_nothing(tmp_path):
    bad = tmp_path / "bad.fasta"
    bad.write_text(">a\nMK1V\n")
    with pytest.raises(Exception, match="bad.fasta"):
        build_index(bad, tmp_path / "bad.llidx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.fasta"]


def test_the_index_is_the_same_on_one_thread_and_on_two(tmp_path, built):
    ref = built[0]
    one = build_index(ref, tmp_path / "one.llidx", threads=1)
    two = build_index(ref, tmp_path / "two.llidx", threads=2)
    arrays = sorted(p.name for p in (tmp_path / "one.llidx").glob("*.npy"))
    assert "sigs.npy" in arrays and any(name.startswith("seeds") for name in arrays)
    for name in arrays:
        a = np.load(tmp_path / "one.llidx" / name)
        b = np.load(tmp_path / "two.llidx" / name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert (one.n_records, len(one)) == (two.n_records, len(two))
