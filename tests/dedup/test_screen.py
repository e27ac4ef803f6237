"""Whole-set screen on real sets: exact at scaled=1, inside its interval when sampled."""

import numpy as np
import pytest

from dedup.errors import DedupError, ParameterMismatchError
from dedup.overlap import read_sequences
from dedup.screen import SetSketch, screen, wilson_interval
from tests.conftest import FIXTURES

BIND = FIXTURES / "flip_bind_split"
GLOBINS = FIXTURES / "hmmer_tutorial" / "globins45.fa"


def seqs(path):
    return [s for _r, s in read_sequences(path, kind="protein")]


def kmer_set(sequences, k):
    return {s[i : i + k] for s in sequences for i in range(len(s) - k + 1)}


@pytest.fixture(scope="module")
def bind():
    return seqs(BIND / "test.fasta"), seqs(BIND / "train.fasta")


@pytest.mark.parametrize("k", [6, 10])
def test_scaled_1_is_the_exact_containment(bind, k):
    test, train = bind
    a, b = kmer_set(test, k), kmer_set(train, k)
    row = SetSketch.from_sequences(test, kind="protein", k=k, scaled=1, name="test").containment_in(
        SetSketch.from_sequences(train, kind="protein", k=k, scaled=1, name="train")
    )
    assert row.sampled == len(a) and row.shared == len(a & b)
    assert row.containment == len(a & b) / len(a)


@pytest.mark.parametrize("scaled", [5, 20, 100])
def test_sampled_estimates_hold_the_exact_value_in_their_interval(bind, scaled):
    test, train = bind
    a, b = kmer_set(test, 10), kmer_set(train, 10)
    exact = len(a & b) / len(a)
    row = SetSketch.from_sequences(test, kind="protein", scaled=scaled).containment_in(
        SetSketch.from_sequences(train, kind="protein", scaled=scaled)
    )
    assert row.low <= exact <= row.high
    assert abs(row.sampled * scaled - len(a)) < 0.3 * len(a)  # about one k-mer in `scaled` is kept


def test_a_subset_is_fully_contained_and_unrelated_sets_are_not(bind):
    test, train = bind
    globins = seqs(GLOBINS)
    tr = SetSketch.from_sequences(train, kind="protein", scaled=1, name="train")
    part = SetSketch.from_sequences(train[:100], kind="protein", scaled=1, name="part")
    glob = SetSketch.from_sequences(globins, kind="protein", scaled=1, name="globins")
    rows = screen(part, [glob, tr])
    assert [r.train for r in rows] == ["train", "globins"]
    assert rows[0].containment == 1.0 and rows[0].low > 0.99
    assert rows[1].containment < 0.01


def test_coarser_scale_wins_and_mismatched_k_is_refused(bind):
    test, train = bind
    fine = SetSketch.from_sequences(test, kind="protein", scaled=10)
    coarse = SetSketch.from_sequences(train, kind="protein", scaled=50)
    row = fine.containment_in(coarse)
    direct = SetSketch.from_sequences(test, kind="protein", scaled=50).containment_in(coarse)
    assert (row.shared, row.sampled) == (direct.shared, direct.sampled)
    with pytest.raises(ParameterMismatchError, match="same kind and k"):
        fine.containment_in(SetSketch.from_sequences(train, kind="protein", k=8))


def test_saved_sketch_round_trips_and_junk_is_refused(tmp_path, bind):
    sk = SetSketch.from_sequences(bind[1], kind="protein", scaled=10, name="train.fasta")
    sk.save(tmp_path / "t.llsketch")
    back = SetSketch.load(tmp_path / "t.llsketch")
    assert (back.name, back.k, back.scaled, back.records) == ("train.fasta", 10, 10, len(bind[1]))
    assert np.array_equal(back.hashes, sk.hashes)
    (tmp_path / "junk.llsketch").write_bytes(b"not a sketch")
    with pytest.raises(DedupError, match="not a set sketch"):
        SetSketch.load(tmp_path / "junk.llsketch")


def test_dna_kmers_are_canonical():
    fwd = "ACGTTGCAACGTAGGCTTAGCCGATCGATCGGCTAGCTAGGATCCGATCG"
    comp = fwd[::-1].translate(str.maketrans("ACGT", "TGCA"))
    a = SetSketch.from_sequences([fwd], kind="dna", scaled=1)
    b = SetSketch.from_sequences([comp], kind="dna", scaled=1)
    assert a.containment_in(b).containment == 1.0


def test_wilson_interval_against_its_formula():
    # Wilson (1927): centre (p + z^2/2n) / (1 + z^2/n); for 0 of 20 the upper bound is z^2 / (n + z^2)
    z = 1.959963984540054
    low, high = wilson_interval(0, 20)
    assert low == 0.0 and high == pytest.approx(z * z / (20 + z * z))
    low, high = wilson_interval(20, 20)
    assert high == 1.0 and low == pytest.approx(20 / (20 + z * z))
