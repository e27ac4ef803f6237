"""verify_split: attestations of published splits, checked against the mapping and against MMseqs2 run alone."""

import json
import shutil
import subprocess

import pytest
from django.core.management import call_command

from registry.errors import RegistryError
from registry.models import SplitAttestation, SplitViolation
from registry.services import dataset_version_register, split_register, split_verify
from registry.services.attestations import split_digest, split_get
from registry.split_selectors import attestation_text, split_attestation

pytestmark = pytest.mark.django_db
needs_mmseqs = pytest.mark.skipif(shutil.which("mmseqs") is None, reason="needs mmseqs (Debian mmseqs2)")


@pytest.fixture
def one_vs_many(data_dir, bind_all, bind_mapping):
    dataset_version_register(path=bind_all, dataset_name="flip-bind", kind="protein")
    return split_register(
        version_ref="flip-bind@1",
        name="one_vs_many",
        mapping_path=bind_mapping,
        allow_shared_ids=True,
        claimed_max_identity=0.3,
    )


def mmseqs_hits(query: dict[str, str], target: dict[str, str], tmp_path, identity: float, coverage: float):
    """Query ids with an MMseqs2 hit at identity (``fident``) and query coverage: the ground truth's command
    (GROUND_TRUTH.md), run alone, with MMseqs2's own coverage filter."""
    for name, recs in (("q", query), ("t", target)):
        (tmp_path / f"{name}.fasta").write_text("".join(f">{i}\n{s}\n" for i, s in recs.items()))
    out = tmp_path / "hits.m8"
    subprocess.run(
        ["mmseqs", "easy-search", tmp_path / "q.fasta", tmp_path / "t.fasta", out, tmp_path / "tmp"]
        + [
            "--alignment-mode",
            "3",
            "-s",
            "7.5",
            "-e",
            "10",
            "--max-seqs",
            "1000",
            "--threads",
            "2",
            "-v",
            "1",
        ]
        + ["-c", str(coverage), "--cov-mode", "2"]
        + ["--format-output", "query,target,fident,qstart,qend,qlen"],
        check=True,
        capture_output=True,
    )
    hits = set()
    for line in out.read_text().splitlines():
        q, _t, fident, qstart, qend, qlen = line.split("\t")
        if float(fident) >= identity and (int(qend) - int(qstart) + 1) / int(qlen) >= coverage:
            hits.add(q)
    return hits


def part_sequences(split, part_name):
    part = split.parts.get(name=part_name)
    return dict(part.records.values_list("identifier", "sequence__residues"))


def test_flip_bind_one_vs_many_is_attested_with_exactly_its_13_shared_ids(one_vs_many, bind_mapping):
    mapping = json.loads(bind_mapping.read_text())
    shared = sorted(set(mapping["train"]) & set(mapping["test"]))
    assert len(shared) == 13
    attestation = split_verify(split=one_vs_many, tiers=["exact", "minhash"], identity=0.9, coverage=0.8)
    assert [s["identifier"] for s in attestation.shared_ids] == shared
    assert all(s["parts"] == ["test", "train"] for s in attestation.shared_ids)
    (pair,) = attestation.pairs
    assert (pair["earlier"], pair["later"]) == ("train", "test")
    exact_row = next(r for r in pair["thresholds"] if r["label"] == "exact")
    assert exact_row["queries"] == 13
    exact = SplitViolation.objects.filter(attestation=attestation, tier="exact")
    assert sorted(exact.values_list("record__identifier", flat=True)) == shared
    # The claim (30%) cannot be tested by a verification at 90%: it says so rather than guess.
    assert attestation.claim_holds is None and "not tested" in attestation.claim_note
    assert attestation.split_digest == split_digest(one_vs_many)
    assert "13 id(s) in several parts" in attestation_text(attestation)


@needs_mmseqs
def test_one_vs_many_at_30_percent_matches_mmseqs_run_alone(one_vs_many, tmp_path):
    attestation = split_verify(split=one_vs_many)  # the claim's 30%, coverage 50%, all tiers
    assert attestation.tiers == ["exact", "minhash", "mmseqs"]
    assert attestation.method["tiers"]["mmseqs"]["ran"] and attestation.versions["mmseqs"]
    assert attestation.claim_holds is False and "does not hold" in attestation.claim_note
    test, train = part_sequences(one_vs_many, "test"), part_sequences(one_vs_many, "train")
    outside = mmseqs_hits(test, train, tmp_path, 0.3, 0.5)
    reported = set(
        SplitViolation.objects.filter(attestation=attestation).values_list("record__identifier", flat=True)
    )
    # Every record MMseqs2 finds is reported; anything more was found by another tier, which says so.
    assert outside <= reported, sorted(outside - reported)
    extra = SplitViolation.objects.filter(attestation=attestation).exclude(record__identifier__in=outside)
    assert set(extra.values_list("tier", flat=True)) <= {"exact", "minhash"}, list(
        extra.values_list("record__identifier", "tier", "identity", "coverage")
    )
    assert attestation.violation_count == len(reported) == attestation.pairs[0]["violating_records"]
    assert attestation.max_identity == 1.0


def test_digest_binds_membership_and_a_new_attestation_per_run(one_vs_many, bind_mapping, tmp_path):
    mapping = json.loads(bind_mapping.read_text())
    mapping["test"] = mapping["test"][1:]
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(mapping))
    other = split_register(
        version_ref="flip-bind@1", name="other", mapping_path=changed, allow_shared_ids=True
    )
    assert split_digest(other) != split_digest(one_vs_many)
    first = split_verify(split=one_vs_many, tiers=["exact"], identity=0.95)
    second = split_verify(split=one_vs_many, tiers=["exact"], identity=0.95)
    assert first.uuid != second.uuid and first.split_digest == second.split_digest
    assert split_attestation(one_vs_many)["uuid"] == str(second.uuid)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"identity": 1.5}, "identity must be a fraction"),
        ({"coverage": -0.1}, "coverage must be a fraction"),
        ({"tiers": ["blast"]}, "tiers must be among"),
    ],
)
def test_bad_options_are_refused_and_write_nothing(one_vs_many, snapshot, options, message):
    before = snapshot()
    with pytest.raises(RegistryError, match=message):
        split_verify(split=one_vs_many, **options)
    assert snapshot() == before


def test_split_references_and_cli(one_vs_many, capsys):
    assert split_get("flip-bind@1/one_vs_many") == one_vs_many == split_get(str(one_vs_many.uuid))
    with pytest.raises(RegistryError, match="has no split 'nope'; its splits: one_vs_many"):
        split_get("flip-bind@1/nope")
    call_command(
        "verify_split", "flip-bind@1/one_vs_many", "--tiers", "exact", "--identity", "0.95", "--json"
    )
    out = json.loads(capsys.readouterr().out)
    assert out["violation_count"] == 13 and len(out["violations"]) == 13
    assert SplitAttestation.objects.filter(uuid=out["uuid"]).exists()
    call_command("lineage", "flip-bind@1")
    assert "attestation   flip-bind@1/one_vs_many: verified" in capsys.readouterr().out


def test_a_redelivered_verify_job_does_not_verify_twice(one_vs_many):
    from registry.models import Job
    from registry.services.attestations import split_verify_job
    from registry.services.jobs import job_create

    job = job_create(
        kind=Job.Kind.SPLIT_VERIFY,
        payload={"split": str(one_vs_many.uuid), "identity": 0.95, "coverage": 0.8, "tiers": ["exact"]},
        enqueue=False,
    )
    first = split_verify_job(job)
    second = split_verify_job(job)  # as after a killed worker: the attestation is found, not made again
    assert first["attestation"]["uuid"] == second["attestation"]["uuid"]
    assert SplitAttestation.objects.filter(split=one_vs_many).count() == 1


@pytest.fixture
def logged_mmseqs(tmp_path):
    """The real MMseqs2 behind a wrapper outside PATH that logs each command line."""
    log = tmp_path / "mmseqs-calls.log"
    shim = tmp_path / "opt" / "mmseqs"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec {shutil.which("mmseqs")} "$@"\n')
    shim.chmod(0o755)
    return shim, log


@needs_mmseqs
def test_verification_runs_the_deployments_mmseqs_within_its_threads(one_vs_many, logged_mmseqs, settings):
    shim, log = logged_mmseqs
    settings.LEAKLEDGER = {**settings.LEAKLEDGER, "MMSEQS_PATH": str(shim), "THREADS": 1}
    attestation = split_verify(split=one_vs_many, identity=0.9, coverage=0.8)
    assert attestation.tiers == ["exact", "minhash", "mmseqs"]
    searches = [line for line in log.read_text().splitlines() if line.startswith(("search", "easy-search"))]
    assert searches, log.read_text()
    assert all("--threads 1" in line for line in searches), searches


@needs_mmseqs
def test_a_deployment_without_mmseqs_verifies_without_it_even_if_path_has_one(one_vs_many, settings):
    settings.LEAKLEDGER = {**settings.LEAKLEDGER, "MMSEQS_PATH": "/nonexistent/mmseqs"}
    attestation = split_verify(split=one_vs_many, identity=0.9, coverage=0.8)
    assert attestation.tiers == ["exact", "minhash"]
