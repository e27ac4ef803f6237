"""dedup.splitting: components equal those of the brute-force graph; packing keeps its promises."""

import itertools
import random
import shutil

import pytest

import dedup
from dedup.splitting import (
    SplitImpossible,
    UnionFind,
    assign_components,
    parse_fractions,
    similarity_components,
)
from tests.conftest import FIXTURES


def brute_force_components(records, identity, coverage):
    """Every pair aligned (shorter sequence as query, as the docstring specifies), then union-find."""
    verifier = dedup.Verifier(kind="protein", identity=identity, coverage=coverage)
    uf = UnionFind(len(records))
    for i, j in itertools.combinations(range(len(records)), 2):
        (qi, q), (ri, r) = sorted([(i, records[i][1]), (j, records[j][1])], key=lambda x: len(x[1]))
        if q == r or verifier.verify(str(qi), q, str(ri), r) is not None:
            uf.union(i, j)
    groups = {}
    for i in range(len(records)):
        groups.setdefault(uf.find(i), []).append(i)
    return sorted(groups.values())


@pytest.mark.parametrize("identity", [0.9, 0.7])
def test_minhash_components_match_every_pair_aligned_on_the_globins(identity):
    records = dedup.read_sequences(FIXTURES / "hmmer_tutorial" / "globins45.fa", kind="protein")
    graph = similarity_components(records, identity=identity, coverage=0.8, tiers=("exact", "minhash"))
    truth = brute_force_components(records, identity, 0.8)
    got = sorted(graph.components())
    # LSH may miss a pair (its recall is measured, not 1), never invent one: every component found is
    # inside a true component, and at these identities on this family none was missed.
    assert all(any(set(c) <= set(t) for t in truth) for c in got)
    assert got == truth
    assert graph.tiers["minhash"]["ran"] and graph.tiers["mmseqs"] == {
        "ran": False,
        "reason": "not requested",
    }


def test_identical_sequences_are_one_component_whatever_the_tiers():
    seq = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQ"
    graph = similarity_components(
        [("a", seq), ("b", "GSHMLEDPVDAFQPATLLPAALGSEIAEALREAGYTRLHLGEGA"), ("c", seq)],
        tiers=("exact",),
        identity=0.9,
    )
    assert graph.labels == [0, 1, 0] and graph.tiers["exact"]["joins"] == 1


@pytest.mark.skipif(shutil.which("mmseqs") is None, reason="needs mmseqs (Debian mmseqs2)")
def test_mmseqs_edges_join_the_globin_family_at_30_percent():
    records = dedup.read_sequences(FIXTURES / "hmmer_tutorial" / "globins45.fa", kind="protein")
    graph = similarity_components(
        records,
        identity=0.3,
        coverage=0.5,
        tiers=("exact", "mmseqs"),
        mmseqs_settings=dedup.MmseqsSettings(threads=2),
    )
    assert graph.sizes() == [45]  # one family, 30-90% identical: one component
    assert graph.tiers["mmseqs"]["version"] and graph.tiers["mmseqs"]["edges"] >= 44


def test_parse_fractions_refuses_what_cannot_be_a_split():
    assert parse_fractions("train=0.8, validation=0.1, test=0.1") == {
        "train": 0.8,
        "validation": 0.1,
        "test": 0.1,
    }
    for bad, message in [
        ("train=0.8", "at least two parts"),
        ("train=0.8,test=x", "not a number"),
        ("train=1.0,test=0.0", "between 0 and 1"),
        ("train=0.5,train=0.5", "given twice"),
        ("train0.8,test=0.2", "NAME=FRACTION"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_fractions(bad)


def test_packing_meets_fractions_deterministically_and_respects_forbidden_parts():
    rng = random.Random(3)
    sizes = [rng.choice([1, 1, 1, 2, 3, 5, 8]) for _ in range(400)]
    fractions = {"train": 0.8, "validation": 0.1, "test": 0.1}
    forbidden = {c: {"test"} for c in range(0, 400, 7)}
    plan = assign_components(sizes, fractions, seed=11, forbidden=forbidden)
    again = assign_components(sizes, fractions, seed=11, forbidden=forbidden)
    other_seed = assign_components(sizes, fractions, seed=12, forbidden=forbidden)
    assert plan.parts == again.parts != other_seed.parts
    total = sum(sizes)
    for name, target in fractions.items():
        got = sum(s for s, p in zip(sizes, plan.parts, strict=True) if p == name)
        assert abs(got / total - target) <= 0.02 and plan.counts[name] == got
    assert all(plan.parts[c] != "test" for c in forbidden)


def test_stratified_packing_keeps_label_shares():
    rng = random.Random(5)
    labels = [{rng.choice("ABC"): 1} for _ in range(600)]
    for c in range(0, 600, 10):  # some two-record components with two labels
        labels[c] = {"A": 1, "C": 1}
    sizes = [sum(lab.values()) for lab in labels]
    plan = assign_components(sizes, {"train": 0.7, "test": 0.3}, labels=labels)
    overall = {lab: sum(c.get(lab, 0) for c in labels) / sum(sizes) for lab in "ABC"}
    for part in ("train", "test"):
        for lab in "ABC":
            assert abs(plan.label_fractions[part][lab] - overall[lab]) <= 0.02


def test_too_large_component_fails_with_its_size_or_goes_to_other():
    with pytest.raises(SplitImpossible) as info:
        assign_components([60, 20, 10, 10], {"train": 0.5, "test": 0.5})
    assert info.value.details["largest_components"] == [60]
    plan = assign_components([60, 20, 10, 10], {"train": 0.5, "test": 0.5}, oversize="other")
    assert plan.parts[0] == "other" and plan.counts == {"train": 20, "test": 20, "other": 60}
    with pytest.raises(SplitImpossible, match="cannot meet the fractions"):
        assign_components([30, 30, 40], {"train": 0.5, "test": 0.5}, tolerance=0.05)
