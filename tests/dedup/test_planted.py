"""benchmarks/planted.py: the planted mutants' identity is what an alignment measures (truth by construction)."""

import random
import sys

import pytest

from dedup.verify import align_pair
from tests.conftest import FIXTURES, REPO
from tests.dedup.test_verify import read_fasta

sys.path.insert(0, str(REPO / "benchmarks"))
planted = pytest.importorskip("planted")


@pytest.mark.parametrize("target", [0.97, 0.9, 0.8, 0.7, 0.55])
def test_mutants_of_real_proteins_have_the_identity_they_claim(target):
    rng = random.Random(11)
    proteins = list(read_fasta(FIXTURES / "flip_bind_split" / "train.fasta").values())[:40]
    alphabet = "ACDEFGHIKLMNPQRSTVWY"
    for seq in proteins:
        mutant, identity = planted.mutate(seq, target, rng, alphabet, [1.0] * 20, indel_share=0.1)
        assert target - 0.05 <= identity <= target + 1e-9  # stops at the first event reaching it
        measured = align_pair(mutant, seq)
        # The best local alignment is as good as the construction or better over the part it keeps;
        # at low identity it may drop mutated ends (coverage falls), as MMseqs2's would.
        assert measured.identity >= identity - 0.05
        assert measured.query_coverage >= (0.9 if target >= 0.9 else 0.5)


def test_flanked_queries_cover_what_they_say():
    pool = list(read_fasta(FIXTURES / "flip_bind_split" / "train.fasta").items())
    path = FIXTURES / "flip_bind_split" / "train.fasta"
    queries, references = planted.generate("protein", seed=1, per_band=5, decoys=20, source=path)
    assert len(queries) == 35 and len(references) == 55 and len(pool) >= 55
    sources = dict(references)
    for q in queries:
        if q.design == "flanked" and q.identity >= 0.9:
            a = align_pair(q.sequence, sources[q.source])
            assert a.query_coverage == pytest.approx(q.planted_fraction, abs=0.05)
            assert q.true_at(0.5) and q.true_at(0.8) == (q.planted_fraction >= 0.8)
