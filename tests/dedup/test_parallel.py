"""Threads change how fast, never what: the same hits, signatures and verdicts with 1 and 2 threads."""

import itertools
import json

import numpy as np
import pytest

from dedup import MmseqsSettings, SketchParams, find_overlap, mmseqs_capped, sketch_batch
from dedup.__main__ import main
from dedup.containment import SeedIndex
from dedup.parallel import parallel_map, resolve_threads
from dedup.parsing import iter_records
from dedup.verify import Verifier
from tests.conftest import FIXTURES, shared_data_path
from tests.dedup.test_verify import read_fasta

BIND = FIXTURES / "flip_bind_split"


def test_find_overlap_gives_the_same_hits_with_one_and_two_threads():
    # 60 queries, 3-mer sketches in 64 bands of 2 rows, 30% identity, half coverage: hundreds of
    # pairs are aligned
    query = dict(itertools.islice(read_fasta(BIND / "test.fasta").items(), 60))
    runs = [
        find_overlap(
            query,
            BIND / "train.fasta",
            identity=0.3,
            coverage=0.5,
            params=SketchParams("protein", 3),
            bands=64,
            rows=2,
            threads=n,
        )
        for n in (1, 2)
    ]
    assert runs[0].tiers["minhash"].stats["aligned"] > 50
    assert runs[0].hits == runs[1].hits
    assert [r.to_dict() for r in runs[0].summary] == [r.to_dict() for r in runs[1].summary]
    assert runs[0].tiers["minhash"].stats == runs[1].tiers["minhash"].stats
    assert runs[0].tiers["minhash"].settings == runs[1].tiers["minhash"].settings


@pytest.mark.shared_data
def test_main_pair_sample_gives_the_same_hits_with_one_and_two_threads():
    base = shared_data_path()
    test = read_fasta(base / "splits/deepfri-nrpdb/nrPDB-GO_2019.06.18_test_sequences.fasta")
    train = read_fasta(base / "splits/flip-secondary-structure/train.fasta")
    query = dict(itertools.islice(test.items(), 600))
    runs = [find_overlap(query, train, identity=0.5, coverage=0.5, threads=n) for n in (1, 2)]
    assert len(runs[0].hits) > 100
    assert runs[0].hits == runs[1].hits


def test_verify_many_is_the_same_as_verify_one_by_one_on_any_thread_count():
    seqs = [r.sequence for r in iter_records(FIXTURES / "hmmer_tutorial/globins45.fa", kind="protein")]
    pairs = [(f"q{i}", q, f"r{j}", r, None) for (i, q), (j, r) in itertools.combinations(enumerate(seqs), 2)]
    one = Verifier(kind="protein", identity=0.5, coverage=0.8)
    expected = [one.verify(qid, q, rid, r) for qid, q, rid, r, _ in pairs]
    assert sum(h is not None for h in expected) > 100
    for threads in (1, 2, 3):
        v = Verifier(kind="protein", identity=0.5, coverage=0.8, threads=threads)
        assert v.verify_many(pairs) == expected
        assert v.stats.counters() == one.stats.counters()


def test_sketches_do_not_depend_on_the_thread_count():
    seqs = [r.sequence for r in iter_records(BIND / "train.fasta", kind="protein", allow_duplicate_ids=True)]
    p = SketchParams("protein", 5)
    one = sketch_batch(seqs, p, threads=1)
    assert np.array_equal(one, sketch_batch(seqs, p, threads=2))
    assert np.array_equal(one, sketch_batch(seqs, p, threads=None))
    assert np.array_equal(one, sketch_batch(seqs, p, backend="numpy"))


def test_thread_settings_are_checked_and_cap_mmseqs():
    assert resolve_threads(3) == 3
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(ValueError, match="threads must be a positive integer"):
            resolve_threads(bad)
    assert parallel_map(str, [3, 1, 2], threads=2) == ["3", "1", "2"]
    assert mmseqs_capped(MmseqsSettings(threads=16), 2).threads == 2
    assert mmseqs_capped(MmseqsSettings(threads=1), 2).threads == 1
    assert mmseqs_capped(MmseqsSettings(threads=16), None).threads == 16
    with pytest.raises(ValueError, match="threads"):
        find_overlap([("a", "MKV")], [("b", "MKV")], threads=0)


def test_cli_threads_option(capsys):
    args = ["overlap", str(BIND / "test.fasta"), str(BIND / "train.fasta"), "--json", "--quiet"]
    assert main([*args, "--threads", "2", "--aligner", "biopython"]) == 0
    two = json.loads(capsys.readouterr().out)
    assert main([*args, "--threads", "1"]) == 0
    one = json.loads(capsys.readouterr().out)
    assert one["pairs"] == two["pairs"] and len(one["pairs"]) == 13
    with pytest.raises(SystemExit):
        main([*args, "--threads", "0"])
    assert "must be at least 1" in capsys.readouterr().err


def test_a_repeated_identifier_with_another_sequence_is_not_mistaken_for_the_first():
    # one batch, the same query identifier twice with two sequences of the same length
    a = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEV"
    b = "GSHMLEDPVDAFQPATLLPAALGSEIAEALRE"
    v = Verifier(kind="protein", identity=0.9, coverage=0.8, threads=2)
    hits = v.verify_many([("q", a, "r1", a, None), ("q", b, "r2", b, None), ("q", b, "r1", a, None)])
    assert [h and h.reference for h in hits] == ["r1", "r2", None]


def test_seed_lookups_are_the_same_on_one_to_three_threads_mapped_or_in_memory(tmp_path):
    """The containment tier's seed lookup split over threads, on either kind of table: the same candidates."""
    import dedup.containment as containment
    from dedup import pipeline
    from dedup.method import Method

    train = list(read_fasta(BIND / "train.fasta").values())
    SeedIndex.build(train, SketchParams("protein", 5), out_dir=tmp_path).save(tmp_path)
    in_memory, _keys = pipeline._read_only(SeedIndex.build(train, SketchParams("protein", 5)), [])
    mapped = SeedIndex.load(tmp_path)
    queries = [s[40:200] for s in train[:300]]  # uneven runs on 2 and 3 threads
    method = Method(kind="protein", identity=0.9, coverage=0.8)
    expected = mapped.candidates(queries, identity=0.9, coverage=0.8)
    assert sum(p for _r, _c, p, _s in expected) > 0
    for seeds in (mapped, in_memory):
        for n in (1, 2, 3):
            got = pipeline._seed_candidates(seeds, queries, method, n)
            assert len(got) == len(queries)
            for (r1, c1, p1, s1), (r2, c2, p2, s2) in zip(expected, got, strict=True):
                assert r1.tolist() == r2.tolist() and c1.tolist() == c2.tolist() and (p1, s1) == (p2, s2)
    if (
        containment._count_kernel() is not None
    ):  # a mapped and an in-memory table: one compiled specialisation
        import numba

        assert numba.typeof(in_memory.postings) == numba.typeof(mapped.postings)
