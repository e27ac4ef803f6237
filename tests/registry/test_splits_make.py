"""make_split: whole components in parts, fractions met, deterministic, checked by MMseqs2 run alone."""

import json
import shutil
from collections import Counter, defaultdict

import pytest
from django.core.management import call_command

from registry.errors import RegistryError
from registry.models import Record, Split
from registry.services import dataset_version_register, split_make
from tests.conftest import FIXTURES
from tests.registry.test_splits_attest import mmseqs_hits, part_sequences

pytestmark = pytest.mark.django_db
needs_mmseqs = pytest.mark.skipif(shutil.which("mmseqs") is None, reason="needs mmseqs (Debian mmseqs2)")
FAST = {"tiers": ["exact", "minhash"], "identity": 0.9, "coverage": 0.8}


@pytest.fixture
def bind(data_dir, bind_all):
    return dataset_version_register(path=bind_all, dataset_name="flip-bind", kind="protein").version


def membership(split: Split) -> dict[str, str]:
    return {
        ident: part.name
        for part in split.parts.all()
        for ident in part.records.values_list("identifier", flat=True)
    }


def test_identical_sequences_never_straddle_parts_and_fractions_are_met(bind):
    split, attestation = split_make(
        version_ref="flip-bind@1", name="s90", fractions="train=0.8,validation=0.1,test=0.1", **FAST
    )
    where = membership(split)
    assert len(where) == 1314  # every record in exactly one part
    parts_of_sequence = defaultdict(set)
    for ident, residues in bind.records.values_list("identifier", "sequence__residues"):
        parts_of_sequence[residues].add(where[ident])
    assert all(len(p) == 1 for p in parts_of_sequence.values())
    counts = Counter(where.values())
    for name, target in (("train", 0.8), ("validation", 0.1), ("test", 0.1)):
        assert abs(counts[name] / 1314 - target) <= 0.02
    assert attestation.violation_count == 0 and attestation.claim_holds is True
    assert split.claimed_max_identity == 0.9 and split.provenance["seed"] == 0
    assert split.provenance["graph"]["tiers"]["minhash"]["ran"]


def test_same_seed_same_split_other_seed_other_split(bind):
    a, _ = split_make(version_ref="flip-bind@1", name="a", fractions="train=0.8,test=0.2", seed=7, **FAST)
    b, _ = split_make(version_ref="flip-bind@1", name="b", fractions="train=0.8,test=0.2", seed=7, **FAST)
    c, _ = split_make(version_ref="flip-bind@1", name="c", fractions="train=0.8,test=0.2", seed=8, **FAST)
    assert membership(a) == membership(b) != membership(c)


def test_bad_requests_write_nothing(bind, snapshot):
    before = snapshot()
    for kwargs, message in [
        ({"fractions": "train=0.8,test=0.3"}, "fractions must sum to 1"),
        ({"fractions": "train=0.8,test=0.2", "identity": 0}, "identity must be a fraction"),
        ({"fractions": "train=0.9,other=0.1", "exclude_overlap_with": ["all-training"]}, "no test part"),
    ]:
        with pytest.raises(RegistryError, match=message):
            split_make(version_ref="flip-bind@1", name="bad", **{**FAST, **kwargs})
    assert snapshot() == before


@needs_mmseqs
def test_a_component_larger_than_any_part_is_named_and_other_holds_it(
    data_dir, bind_test, tmp_path, snapshot
):
    # HMMER's 45 globins (one family, 30-90% identity) beside 30 FLIP bind proteins: at 30% the globins
    # are one component, 60% of the records, more than a 50% part can hold.
    globins = (FIXTURES / "hmmer_tutorial" / "globins45.fa").read_text()
    bind_records = bind_test.read_text().split(">")[1:31]
    mixed = tmp_path / "mixed.fasta"
    mixed.write_text(globins + "".join(">" + r for r in bind_records))
    dataset_version_register(path=mixed, dataset_name="mixed", kind="protein")
    before = snapshot()
    with pytest.raises(RegistryError) as info:
        split_make(version_ref="mixed@1", name="g", fractions="train=0.5,test=0.5", identity=0.3)
    assert info.value.code == "split_impossible"
    assert "the largest component holds 45 of 75 records" in info.value.detail
    assert "--oversize other" in info.value.detail and info.value.fields["largest_components"][0] == 45
    assert snapshot() == before
    split, attestation = split_make(
        version_ref="mixed@1",
        name="g",
        fractions="train=0.5,test=0.5",
        identity=0.3,
        oversize="other",
        tolerance=0.05,
    )
    other = split.parts.get(name="other")
    assert other.role == "other" and other.record_count == 45
    assert set(other.records.values_list("identifier", flat=True)) == {
        line[1:].split()[0] for line in globins.splitlines() if line.startswith(">")
    }
    assert attestation.claim_holds is not None
    assert (
        "a component of 45 records (60.0%) is larger than part(s) train, test; it went to other"
        in (split.provenance["notes"])
    )


def test_exclude_overlap_with_training_keeps_those_records_out_of_test(data_dir, bind_train, bind_test):
    dataset_version_register(
        path=bind_train,
        dataset_name="bind-train",
        kind="protein",
        role="training",
        skip_identical_duplicates=True,
    )
    dataset_version_register(path=bind_test, dataset_name="bind-test", kind="protein")
    split, _ = split_make(
        version_ref="bind-test@1",
        name="clean",
        fractions="train=0.5,test=0.5",
        tolerance=0.1,
        exclude_overlap_with=["all-training"],
        **FAST,
    )
    train_seqs = set(
        Record.objects.filter(version__dataset__name="bind-train").values_list("sequence_id", flat=True)
    )
    test_part = split.parts.get(name="test")
    assert not test_part.records.filter(sequence_id__in=train_seqs).exists()
    assert split.provenance["excluded_from_test"] >= 13  # FLIP's 13 shared proteins, at least
    assert split.provenance["exclude_overlap_with"] == ["bind-train@1"]


def test_cli_make_split_json(bind, capsys):
    call_command(
        "make_split",
        "flip-bind@1",
        "--name",
        "cli",
        "--fractions",
        "train=0.8,test=0.2",
        "--tiers",
        "exact,minhash",
        "--identity",
        "0.9",
        "--coverage",
        "0.8",
        "--json",
    )
    out = json.loads(capsys.readouterr().out)
    assert {p["name"] for p in out["parts"]} == {"train", "test"}
    assert out["attestation"]["claim"]["holds"] is True


def _check_outside(split, attestation, tmp_path):
    """MMseqs2 alone, at the split's threshold and coverage: zero cross-part hits, or the attestation's."""
    parts = sorted(split.parts.all(), key=lambda p: {"train": 0, "validation": 1, "test": 2}.get(p.role, 3))
    for i, earlier in enumerate(parts):
        for later in parts[i + 1 :]:
            found = mmseqs_hits(
                part_sequences(split, later.name),
                part_sequences(split, earlier.name),
                tmp_path,
                split.claimed_max_identity,
                split.claimed_coverage,
            )
            pair = next(
                p for p in attestation.pairs if (p["earlier"], p["later"]) == (earlier.name, later.name)
            )
            assert len(found) in (0, pair["violating_records"]), (earlier.name, later.name, found)


@needs_mmseqs
@pytest.mark.shared_data
def test_flip_secondary_structure_split_at_30_percent_checked_by_mmseqs(data_dir, shared_data, tmp_path):
    path = shared_data / "splits" / "flip-secondary-structure" / "test.fasta"
    dataset_version_register(
        path=path, dataset_name="ss-test", kind="protein", skip_identical_duplicates=True
    )
    split, attestation = split_make(
        version_ref="ss-test@1",
        name="cc30",
        fractions="train=0.8,validation=0.1,test=0.1",
        identity=0.3,
        tolerance=0.03,
        oversize="other",
    )
    _check_outside(split, attestation, tmp_path)


@needs_mmseqs
@pytest.mark.shared_data
def test_deeploc_stratified_by_location_checked_by_mmseqs(data_dir, shared_data, tmp_path):
    path = shared_data / "splits" / "deeploc1" / "setHARD.fasta"
    dataset_version_register(path=path, dataset_name="deeploc-hard", kind="protein")
    rows = [line[1:].split() for line in path.read_text().splitlines() if line.startswith(">")]
    labels = {r[0]: r[1].rsplit("-", 1)[0] for r in rows}  # "Cell.membrane-M" -> location
    split, attestation = split_make(
        version_ref="deeploc-hard@1",
        name="strat50",
        fractions="train=0.8,test=0.2",
        identity=0.5,
        labels=labels,
        stratify_by="location",
        tolerance=0.03,
    )
    overall = Counter(labels.values())
    plan = split.provenance["plan"]
    for part, fractions in plan["label_fractions"].items():
        for label, n in overall.items():
            assert abs(fractions[label] - n / len(labels)) <= 0.05, (part, label)
    _check_outside(split, attestation, tmp_path)


@needs_mmseqs
def test_pairs_a_weak_graph_misses_are_found_joined_and_planned_again(data_dir, bind_test, tmp_path):
    # At -s 1 MMseqs2 splits HMMER's globins (one family at 30-90%) into several components; packed
    # apart, the verification at -s 7.5 finds the pairs between them, and they are joined.
    globins = (FIXTURES / "hmmer_tutorial" / "globins45.fa").read_text()
    mixed = tmp_path / "mixed.fasta"
    mixed.write_text(globins + "".join(">" + r for r in bind_test.read_text().split(">")[1:61]))
    dataset_version_register(path=mixed, dataset_name="mixed", kind="protein")
    split, attestation = split_make(
        version_ref="mixed@1",
        name="m30",
        fractions="train=0.5,test=0.5",
        identity=0.3,
        coverage=0.5,
        tolerance=0.1,
        tiers=["exact", "mmseqs"],
        graph_sensitivity=1.0,
        max_rounds=6,
    )
    rounds = split.provenance["rounds"]
    assert split.provenance["graph_sensitivity"] == 1.0 and split.provenance["verify_sensitivity"] == 7.5
    assert len(rounds) > 1 and rounds[0]["violations"] > 0
    assert rounds[-1]["violations"] == attestation.violation_count == 0
    assert all(a["components"] > b["components"] for a, b in zip(rounds, rounds[1:], strict=False))
    _check_outside(split, attestation, tmp_path)
