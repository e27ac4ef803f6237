"""The overlap service on real data (FLIP bind: 13 test proteins are also training proteins)."""

import json
import random

import numpy as np
import pytest
from django.core.management import call_command

from dedup import find_overlap
from dedup.__main__ import main as dedup_main
from dedup.parsing import iter_records
from registry import services
from registry.models import (
    BandKey,
    ContaminationReport,
    Job,
    OverlapHit,
    OverlapReport,
    Record,
    RecordSetIndex,
    SequenceSketch,
)
from registry.overlap import engine, index, selectors
from registry.overlap import services as overlap_services
from registry.selectors import record_set_get
from registry.services.jobs import job_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_jobs(django_capture_on_commit_callbacks):
    """``run_jobs(fn, ...)``: call fn, then run the jobs it enqueued on commit (eager Celery), nested ones too."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def _register(run_jobs, path, name, role="", **kw):
    return run_jobs(
        services.dataset_version_register,
        path=path,
        dataset_name=name,
        kind="protein",
        version="1",
        role=role,
        **kw,
    ).version


def _exact_overlap(test_path, train_path) -> set[str]:
    train = {r.sequence for r in iter_records(train_path, kind="protein", allow_duplicate_ids=True)}
    return {r.identifier for r in iter_records(test_path, kind="protein") if r.sequence in train}


def test_index_is_built_once_per_sequence_and_idempotent(bind_train, data_dir, run_jobs):
    version = _register(run_jobs, bind_train, "flip-bind-train", skip_identical_duplicates=True)
    record_set = record_set_get(version.ref)
    distinct = Record.objects.filter(version=version).values("sequence_id").distinct().count()
    settings = index.sketch_settings_get("protein")
    assert SequenceSketch.objects.filter(settings=settings).count() == distinct
    assert BandKey.objects.filter(settings=settings).count() == distinct * settings.bands
    assert RecordSetIndex.objects.filter(record_set=record_set).exists()
    job = Job.objects.get(kind=Job.Kind.SKETCH)
    assert job.state == Job.State.SUCCEEDED and job.result["sketched"] == distinct

    # Re-running writes nothing new, even when the record set's mark is gone (a killed job).
    RecordSetIndex.objects.all().delete()
    again = index.index_record_set(record_set)
    assert again["sketched"] == 0 and again["already"] == distinct
    assert BandKey.objects.filter(settings=settings).count() == distinct * settings.bands

    # A server crash empties the (unlogged, on PostgreSQL) band-key table: rebuilt from the signatures.
    keys_before = set(BandKey.objects.filter(settings=settings).values_list("band_key", "sequence_id"))
    BandKey.objects.filter(settings=settings).delete()
    assert index.band_keys_ensure(settings) == distinct
    assert (
        set(BandKey.objects.filter(settings=settings).values_list("band_key", "sequence_id")) == keys_before
    )
    assert index.band_keys_ensure(settings) == 0

    # Stored signatures are the ones dedup computes.
    seq = Record.objects.filter(version=version).select_related("sequence").first().sequence
    stored = SequenceSketch.objects.get(settings=settings, sequence=seq).signature
    expected, keys = index.sketch_and_key([seq.residues], settings)
    assert np.array_equal(np.frombuffer(bytes(stored), dtype="<u4"), expected[0])
    assert set(BandKey.objects.filter(sequence=seq).values_list("band_key", flat=True)) == set(
        keys[0].tolist()
    )


def test_standing_report_appears_for_a_benchmark(bind_train, bind_test, data_dir, run_jobs):
    expected = _exact_overlap(bind_test, bind_train)
    assert len(expected) == 13  # GROUND_TRUTH.md: exact 13 of 250
    train = _register(
        run_jobs, bind_train, "flip-bind-train", role="training", skip_identical_duplicates=True
    )
    test = _register(run_jobs, bind_test, "flip-bind-test", role="benchmark")
    report = OverlapReport.objects.get()
    assert report.query_set.version == test and report.reference_set.version == train
    rows = {r["label"]: r for r in report.summary["thresholds"]}
    assert rows["exact"]["records"] == 13
    # MMseqs2 finds 13 at >= 95% and >= 90% with 80% query coverage (GROUND_TRUTH.md).
    assert rows[">=90%"]["records"] == 13 and rows[">=95%"]["records"] == 13
    hits = OverlapHit.objects.filter(report=report, tier="exact")
    assert set(hits.values_list("query_record__identifier", flat=True)) == expected
    assert report.query_digest == test.digest and report.reference_digest == train.digest
    # The claimed recall is the calibration of the report's own method key, never another's.
    assert report.method["key"] == engine.standing_method("protein").key()
    assert report.method["calibration"]["measured"] is True
    assert report.method["calibration"]["method"] == engine.standing_method("protein").to_dict()
    assert report.summary["calibration"]["key"] == report.method["key"]
    bands = report.method["calibration"]["recall"]["bands"]
    assert {b["band"]: b["recall"] for b in report.summary["bands"]} == {
        name: bands[name]["recall"] for name in ("100%", "[95,100)", "[90,95)", "[80,90)")
    }
    assert set(report.method["tool_versions"]) >= {"dedup", "biopython", "datasketch", "numpy", "mmseqs"}

    # A second trigger (the test set used by an evaluation, say) computes nothing again.
    before = OverlapReport.objects.count()
    run_jobs(overlap_services.standing_checks_enqueue, record_set_get(test.ref))
    assert OverlapReport.objects.count() == before

    listed = selectors.reports_for_record_set(record_set_get(test.ref), hits=True)
    assert listed["roles"] == ["test"]
    assert len(listed["as_test_set"]) == 1 and len(listed["as_test_set"][0]["hits"]) == 13


def test_fine_tuned_model_evaluation_sees_its_base_training_data(
    bind_train, bind_test, data_dir, run_jobs, tmp_path, capsys
):
    _register(run_jobs, bind_train, "flip-bind-train", skip_identical_duplicates=True)
    _register(run_jobs, bind_test, "flip-bind-test")
    run_jobs(services.model_version_register, ref="binder@1", trained_on=["flip-bind-train@1"])
    run_jobs(services.model_version_register, ref="binder-ft@1", trained_on=[], base="binder@1")
    contaminated = _exact_overlap(bind_test, bind_train)
    scores = tmp_path / "scores.tsv"
    ids = [r.identifier for r in iter_records(bind_test, kind="protein")]
    # Leaked records score 1, the others 0: the clean mean must drop to 0.
    scores.write_text("id\tacc\n" + "".join(f"{i}\t{1.0 if i in contaminated else 0.0}\n" for i in ids))
    evaluation = run_jobs(
        services.evaluation_record,
        model_ref="binder-ft@1",
        on_ref="flip-bind-test@1",
        metrics={"acc": 0.052},
        scores_path=scores,
    )
    report = ContaminationReport.objects.get(evaluation=evaluation)
    data = selectors.contamination_report_for_evaluation(evaluation)
    assert data["training_ancestry"] == ["flip-bind-train@1"]
    rows = {r["label"]: r for r in data["summary"]["thresholds"]}
    assert rows["exact"]["records"] == 13 and rows["exact"]["fraction"] == pytest.approx(13 / 250)
    assert {c["query"] for c in data["contaminated"] if c["tier"] == "exact"} == contaminated
    assert data["summary"]["full_metrics"]["acc"] == {"mean": pytest.approx(13 / 250), "records": 250}
    assert rows["exact"]["clean_metrics"]["acc"] == {"mean": 0.0, "records": 237}
    assert report.overlap_reports.count() == 1

    # The same question, ad hoc, for the unregistered file: against the fine-tuned model's ancestry.
    call_command("check_overlap", str(bind_test), "--against-model", "binder-ft@1", "--json")
    out = json.loads(capsys.readouterr().out)
    assert [r["ref"] for r in out["references"]] == ["flip-bind-train@1"]
    assert {r["label"]: r["records"] for r in out["summary"]["thresholds"]}["exact"] == 13


def test_check_overlap_command_on_an_unregistered_file(
    bind_train, bind_test, data_dir, run_jobs, tmp_path, capsys
):
    _register(run_jobs, bind_train, "flip-bind-train", role="training", skip_identical_duplicates=True)
    pairs_out = tmp_path / "pairs.tsv"
    call_command("check_overlap", str(bind_test), "--json", "--pairs-out", str(pairs_out))
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"summary", "pairs", "method", "query_digest"}
    rows = {r["label"]: r for r in out["summary"]["thresholds"]}
    assert rows["exact"]["records"] == 13 and rows[">=90%"]["records"] == 13
    assert out["summary"]["query_records"] == 250
    assert {p["query"] for p in out["pairs"] if p["tier"] == "exact"} == _exact_overlap(bind_test, bind_train)
    assert all(0 <= p["identity"] <= 1 and 0 <= p["coverage"] <= 1 for p in out["pairs"])
    assert out["pairs"][0]["reference_set"] == "flip-bind-train@1"
    lines = pairs_out.read_text().splitlines()
    assert lines[0].split("\t") == [
        "query",
        "reference_set",
        "reference",
        "identity",
        "coverage",
        "reference_coverage",
        "jaccard",
        "tier",
    ]
    assert len(lines) == len(out["pairs"]) + 1
    assert out["method"]["tiers"] == ["exact", "minhash"]
    # Nothing about the query was written: it is not registered.
    assert not OverlapReport.objects.exists()

    call_command("check_overlap", str(bind_test))
    human = capsys.readouterr().out
    assert "exact" in human and "13" in human


def test_query_job_returns_the_command_dict(bind_train, bind_test, data_dir, run_jobs):
    _register(run_jobs, bind_train, "flip-bind-train", skip_identical_duplicates=True)
    job = run_jobs(
        job_create,
        kind=Job.Kind.QUERY,
        payload={
            "source": str(bind_test),
            "kind": "protein",
            "against": ["flip-bind-train@1"],
            "identity": 0.95,
        },
    )
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    rows = {r["label"]: r for r in job.result["summary"]["thresholds"]}
    assert rows[">=95%"]["records"] == 13


def test_method_key_changes_with_settings():
    a = engine.registry_method("protein", identity=0.9)
    b = engine.registry_method("protein", identity=0.9, coverage=0.5)
    assert a.key() != b.key() and a.key() == engine.registry_method("protein", identity=0.9).key()
    with pytest.raises(ValueError, match="tiers"):
        engine.registry_method("protein", identity=0.9, tiers=("blast",))


@pytest.mark.slow
@pytest.mark.skipif(
    not __import__("dedup.mmseqs").mmseqs.available(), reason="mmseqs (Debian mmseqs2) not installed"
)
def test_mmseqs_tier_sees_remote_homologs(bind_train, bind_test, data_dir, run_jobs, capsys):
    _register(run_jobs, bind_train, "flip-bind-train", skip_identical_duplicates=True)
    call_command(
        "check_overlap",
        str(bind_test),
        "--against",
        "flip-bind-train@1",
        "--identity",
        "0.3",
        "--tiers",
        "exact,minhash,mmseqs",
        "--json",
    )
    out = json.loads(capsys.readouterr().out)
    rows = {r["label"]: r for r in out["summary"]["thresholds"]}
    assert out["method"]["tiers_run"]["mmseqs"]["ran"] is True
    assert out["method"]["tool_versions"]["mmseqs"]
    # GROUND_TRUTH.md (MMseqs2, 80% query coverage): 13 at >= 90%, 14 at >= 70%, 15 at >= 50%, 18 at >= 30%.
    assert rows[">=90%"]["records"] == 13
    assert rows[">=70%"]["records"] == 14
    assert rows[">=50%"]["records"] == 15
    assert abs(rows[">=30%"]["records"] - 18) <= 1
    assert rows[">=30%"]["by_tier"]["mmseqs"] >= 4


def test_index_status_command(bind_train, data_dir, run_jobs, capsys):
    _register(run_jobs, bind_train, "flip-bind-train", skip_identical_duplicates=True)
    call_command("index_status", "--json")
    out = json.loads(capsys.readouterr().out)
    (status,) = out["settings"]
    assert status["not_indexed"] == 0 and status["sequences_indexed"] == status["sequences_of_kind"]
    assert status["band_keys"] == status["sequences_indexed"] * status["bands"]


def test_split_parts_take_their_roles(bind_all, bind_mapping, data_dir, run_jobs):
    run_jobs(
        services.dataset_version_register,
        path=bind_all,
        dataset_name="flip-bind",
        kind="protein",
        version="1",
    )
    run_jobs(
        services.split_register,
        version_ref="flip-bind@1",
        name="one_vs_many",
        mapping_path=bind_mapping,
        allow_shared_ids=True,
    )
    # Test part against train part only: a whole version is never checked against its own parts.
    report = OverlapReport.objects.get()
    assert report.query_set.ref == "flip-bind@1/one_vs_many:test"
    assert report.reference_set.ref == "flip-bind@1/one_vs_many:train"
    rows = {r["label"]: r for r in report.summary["thresholds"]}
    assert rows["exact"]["records"] == 13  # FLIP's 13 proteins listed in both parts
    assert report.query_digest != report.reference_digest


@pytest.mark.slow
@pytest.mark.skipif(
    not __import__("dedup.mmseqs").mmseqs.available(), reason="mmseqs (Debian mmseqs2) not installed"
)
def test_standing_report_runs_the_mmseqs_tier_when_enabled(
    bind_train, bind_test, data_dir, run_jobs, settings
):
    settings.LEAKLEDGER = {**settings.LEAKLEDGER, "MMSEQS_ENABLED": True}
    _register(run_jobs, bind_train, "flip-bind-train", role="training", skip_identical_duplicates=True)
    _register(run_jobs, bind_test, "flip-bind-test", role="benchmark")
    report = OverlapReport.objects.get()
    assert report.tiers == ["exact", "minhash", "mmseqs"]
    rows = {r["label"]: r for r in report.summary["thresholds"]}
    # GROUND_TRUTH.md, column A: 13 at >= 90%, 14 at >= 70%, 15 at >= 50%, 18 at >= 30%.
    assert [rows[label]["records"] for label in (">=90%", ">=70%", ">=50%")] == [13, 14, 15]
    assert abs(rows[">=30%"]["records"] - 18) <= 1
    assert report.method["tool_versions"]["mmseqs"]


def test_minhash_tier_alone_still_sees_identical_sequences(bind_train, bind_test, data_dir, run_jobs):
    _register(run_jobs, bind_train, "flip-bind-train", skip_identical_duplicates=True)
    _register(run_jobs, bind_test, "flip-bind-test")
    out = overlap_services.overlap_query(
        source="flip-bind-test@1", against=["flip-bind-train@1"], identity=0.95, tiers=("minhash",)
    )
    rows = {r["label"]: r for r in out["summary"]["thresholds"]}
    assert rows["exact"]["records"] == 13 and rows["exact"]["by_tier"] == {"minhash": 13}


def _mutants_query(bind_train, bind_test, path):
    """FLIP bind's test set plus substitution mutants (0-14%) of 40 training proteins: hits of every tier."""
    rng = random.Random(3)
    train = [r.sequence for r in iter_records(bind_train, kind="protein", allow_duplicate_ids=True)]
    parts = [bind_test.read_text()]
    for i, seq in enumerate(train[:40]):
        residues = list(seq)
        for pos in rng.sample(range(len(residues)), k=len(residues) * (i % 15) // 100):
            residues[pos] = "W" if residues[pos] != "W" else "A"
        parts.append(f">mutant{i}\n{''.join(residues)}\n")
    path.write_text("".join(parts))
    return path


def test_standing_report_check_overlap_and_library_agree_for_one_method_key(
    bind_train, bind_test, data_dir, run_jobs, tmp_path, capsys
):
    query = _mutants_query(bind_train, bind_test, tmp_path / "query.fasta")
    _register(run_jobs, bind_train, "flip-bind-train", role="training", skip_identical_duplicates=True)
    _register(run_jobs, query, "bind-mutants", role="benchmark")
    method = engine.standing_method("protein")
    report = OverlapReport.objects.get()
    assert report.method_key == method.key()
    standing = {
        h.query_record.identifier: (round(h.identity, 4), h.tier)
        for h in OverlapHit.objects.filter(report=report).select_related("query_record")
    }
    # check_overlap at the standing method's identity floor runs the same method.
    call_command("check_overlap", str(query), "--identity", "0.8", "--json")
    adhoc_out = json.loads(capsys.readouterr().out)
    assert adhoc_out["method"]["key"] == method.key()
    adhoc = {p["query"]: (round(p["identity"], 4), p["tier"]) for p in adhoc_out["pairs"]}
    # The library, given the same method, and its command line with --index-method.
    library = find_overlap(query, bind_train, method=method)
    assert library.method.key() == method.key()
    lib_hits = {h.query: (round(h.identity, 4), h.tier) for h in library.hits}
    assert (
        dedup_main(
            [
                "overlap",
                str(query),
                str(bind_train),
                "--index-method",
                "--identity",
                "0.8",
                "--json",
                "--quiet",
            ]
        )
        == 0
    )
    cli_out = json.loads(capsys.readouterr().out)
    assert cli_out["method"]["key"] == method.key()
    cli_hits = {p["query"]: (round(p["identity"], 4), p["tier"]) for p in cli_out["pairs"]}

    assert standing == adhoc == lib_hits == cli_hits
    assert {t for _i, t in standing.values()} == {"exact", "minhash"} and len(standing) >= 13 + 30

    def claims(rows):
        return [
            (r["label"], r["records"], r["estimated"], r["recall"], r["recall_interval"])
            for r in rows
            if r["records"] is not None
        ]

    lib_rows = library.claims.to_dict()["thresholds"]
    assert claims(report.summary["thresholds"]) == claims(adhoc_out["summary"]["thresholds"])
    assert (
        claims(report.summary["thresholds"]) == claims(lib_rows) == claims(cli_out["summary"]["thresholds"])
    )
    assert report.summary["calibration"]["measured"] is True
    assert all(r["recall"] is not None for r in report.summary["thresholds"])
