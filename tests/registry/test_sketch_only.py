"""Sketch-only training sets (issue 11, item 3): registered from a .llsk file, checked without residues.

The done-when test: FLIP bind's real training set, registered once as a sketch (no residues) and
once in full, is checked against the same registered benchmark (FLIP bind's test set plus
substitution mutants of 40 training proteins, so that there are hits at every identity from 86%
to 100%); the sketch-only report's exact count equals the full report's, and its estimated
counts are compared with the full report's verified counts within the relation's measured
intervals.
"""

import gzip
import json
import random

import pytest

from dedup.jaccard_identity import relation_for
from dedup.llsk import read_sketch, write_sketch
from dedup.params import SketchParams
from dedup.parsing import iter_records
from registry import services
from registry.errors import InputRejected, RegistryError, SketchOnly
from registry.models import OverlapHit, OverlapReport, Record, Sequence, SequenceSketch
from registry.overlap import engine
from registry.overlap import services as overlap_services
from registry.selectors import record_set_get
from registry.services.digest import version_digest
from registry.services.sketch_ingest import sketch_version_register

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_jobs(django_capture_on_commit_callbacks):
    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def _mutants_benchmark(bind_train, bind_test, path):
    """FLIP bind's test set plus substitution mutants (0-14%) of 40 training proteins."""
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


def _sketch(bind_train, tmp_path):
    out = tmp_path / "private.llsk"
    write_sketch(bind_train, out, kind="protein", skip_identical_duplicates=True)
    return out


def _rows(report):
    return {r["label"]: r for r in report.summary["thresholds"]}


def test_sketch_only_check_against_a_benchmark_matches_the_full_check(
    bind_train, bind_test, data_dir, run_jobs, tmp_path
):
    llsk = _sketch(bind_train, tmp_path)
    raw = gzip.decompress(llsk.read_bytes()).decode()
    residues = {r.sequence for r in iter_records(bind_train, kind="protein", allow_duplicate_ids=True)}
    assert not any(seq in raw for seq in residues if len(seq) >= 20)  # never the residues

    private = run_jobs(
        sketch_version_register, path=llsk, dataset_name="bind-private", role="training", version="1"
    ).version
    assert private.sketch_only and private.record_count == 1077
    assert Sequence.objects.filter(residues__isnull=True).count() > 0
    # Signatures went straight into the MinHash index, as if the registry had sketched them.
    sketched = SequenceSketch.objects.filter(sequence__records__version=private).count()
    assert sketched == Record.objects.filter(version=private).values("sequence").distinct().count()

    bench_file = _mutants_benchmark(bind_train, bind_test, tmp_path / "bench.fasta")
    bench = run_jobs(
        services.dataset_version_register,
        path=bench_file,
        dataset_name="bind-bench",
        kind="protein",
        version="1",
        role="benchmark",
    ).version
    sketch_report = OverlapReport.objects.get(reference_set__version=private)
    # The same check on the full sequences of the same training set.
    full = run_jobs(
        services.dataset_version_register,
        path=bind_train,
        dataset_name="bind-full",
        kind="protein",
        version="1",
        role="training",
        skip_identical_duplicates=True,
    ).version
    full_report = OverlapReport.objects.get(reference_set__version=full, query_set__version=bench)
    # Registering the full set filled in the residues the sketch-only version lacked...
    assert not Sequence.objects.filter(residues__isnull=True).exists()
    # ...but the sketch-only report stays what a sketch-only check is: nothing aligned.
    s_rows, f_rows = _rows(sketch_report), _rows(full_report)

    # Exact tier: sha256 against sha256, the same answer as on the residues.
    # 13 test proteins are training proteins (GROUND_TRUTH.md); mutants with no substitution are too.
    assert s_rows["exact"]["records"] == f_rows["exact"]["records"] >= 13
    exact_s = set(
        OverlapHit.objects.filter(report=sketch_report, tier="exact").values_list(
            "query_record__identifier", flat=True
        )
    )
    exact_f = set(
        OverlapHit.objects.filter(report=full_report, tier="exact").values_list(
            "query_record__identifier", flat=True
        )
    )
    assert exact_s == exact_f

    # MinHash tier: unverified hits, estimated from Jaccard, never aligned.
    estimated = OverlapHit.objects.filter(report=sketch_report, tier="estimated")
    assert estimated.exists()
    assert not OverlapHit.objects.filter(report=sketch_report, tier="minhash").exists()
    assert all(h.query_coverage is None and h.jaccard is not None for h in estimated)
    tiers = sketch_report.method["tiers_run"]
    assert tiers["minhash"]["settings"]["verification"].startswith("none")
    assert sketch_report.summary["calibration"]["measured"] is False
    est = sketch_report.summary["estimated_from_jaccard"]
    assert est["sketch_only_references"] == [private.ref]
    assert est["relation"]["error"]["interval_coverage"] is not None
    assert est["relation"]["measured_by"] == "python benchmarks/calibrate_jaccard.py"

    # Estimated vs verified, per threshold: the full check's verified count lies inside the range the
    # sketch-only report gives (every estimated hit at the low, then at the high end of its measured
    # 5%-95% interval); the point estimate (medians) is printed beside it.
    for label in (">=95%", ">=90%", ">=80%"):
        s, f = s_rows[label], f_rows[label]
        low, high = s["unverified_interval"]
        print(label, "sketch-only", s["records"], s["unverified_interval"], "full", f["records"])
        assert low <= f["records"] <= high, (label, s, f["records"])
        assert s["recall"] is None and "not measured" in s["recall_basis"]
        assert s["by_tier"]["estimated"] == s["unverified"]

    # The same benchmark file as an ad-hoc question (check_overlap, the API's query): the same claims,
    # and every estimated pair says what it is.
    adhoc = overlap_services.overlap_query(
        source=str(bench_file), kind="protein", against=[private.ref], identity=0.8
    )
    assert [r["records"] for r in adhoc["summary"]["thresholds"]] == [s_rows[k]["records"] for k in s_rows]
    estimated_pairs = [p for p in adhoc["pairs"] if p["tier"] == "estimated"]
    assert estimated_pairs and all(
        p["coverage"] is None and len(p["identity_interval"]) == 3 for p in estimated_pairs
    )
    assert all(lo <= p["identity"] <= hi for p in estimated_pairs for lo, _m, hi in [p["identity_interval"]])

    # Per record: how often the aligned identity (full check) falls in the record's estimated interval,
    # against the 90% coverage measured on held-out real pairs (calibrate_jaccard.py).
    aligned = dict(
        OverlapHit.objects.filter(report=full_report).values_list("query_record__identifier", "identity")
    )
    relation = relation_for(SketchParams.default("protein"))
    inside = total = 0
    for ident, jac, qlen, rlen in estimated.values_list(
        "query_record__identifier",
        "jaccard",
        "query_record__sequence__length",
        "reference_record__sequence__length",
    ):
        lo, _mid, hi = relation.interval(jac, qlen, rlen)
        truth = aligned.get(ident, 0.0)
        total += 1
        inside += lo - 1e-9 <= truth <= hi + 1e-9
    measured = est["relation"]["error"]["interval_coverage"]
    # With n estimated records, a binomial at the measured coverage falls more than 3 standard
    # deviations below it with probability < 0.2%: the relation holds on this training set too.
    sd = (measured * (1 - measured) / total) ** 0.5
    print("inside", inside, "of", total, "measured coverage", measured)
    assert inside / total >= measured - 3 * sd - 1 / total, (inside, total, measured)


def test_contamination_report_against_a_sketch_only_training_set(
    bind_train, bind_test, data_dir, run_jobs, tmp_path
):
    llsk = _sketch(bind_train, tmp_path)
    private = run_jobs(
        sketch_version_register, path=llsk, dataset_name="bind-private", role="training"
    ).version
    test = run_jobs(
        services.dataset_version_register,
        path=bind_test,
        dataset_name="bind-test",
        kind="protein",
        role="benchmark",
    ).version
    model = services.model_version_register(ref="m@1", trained_on=[private.ref])
    evaluation = run_jobs(
        services.evaluation_record, model_ref=model.ref, on_ref=test.ref, metrics={"acc": 0.5}
    )
    report = evaluation.contamination_reports.get()
    rows = {r["label"]: r for r in report.summary["thresholds"]}
    assert rows["exact"]["records"] == 13
    assert "estimated_from_jaccard" in report.summary
    assert report.summary["calibration"]["measured"] is False


def test_sketch_only_records_are_not_downloadable_and_not_a_query(bind_train, data_dir, run_jobs, tmp_path):
    from registry import citations

    llsk = _sketch(bind_train, tmp_path)
    private = run_jobs(sketch_version_register, path=llsk, dataset_name="bind-private").version
    with pytest.raises(SketchOnly, match="sketch-only version"):
        citations.records_sha256(private, "fasta")
    with pytest.raises(SketchOnly):
        citations.croissant(private)
    with pytest.raises(RegistryError, match="sketch-only"):
        engine.query_from_record_set(record_set_get(private.ref))


def test_digest_recipe_covers_sketch_only_versions(bind_train, data_dir, run_jobs, tmp_path):
    from dedup.llsk import sketch_record_hash

    llsk = _sketch(bind_train, tmp_path)
    private = run_jobs(sketch_version_register, path=llsk, dataset_name="bind-private").version
    rows = Record.objects.filter(version=private).values_list(
        "identifier", "sequence__sha256", "sequence__length"
    )
    assert private.digest == version_digest([sketch_record_hash(i, s, n) for i, s, n in rows])
    assert private.digest == read_sketch(llsk).digest
    # The same file again: the same version, nothing new.
    again = run_jobs(sketch_version_register, path=llsk, dataset_name="bind-private")
    assert again.created is False and again.version == private


def test_a_sketch_made_with_other_parameters_is_refused_with_what_to_rerun(bind_train, data_dir, tmp_path):
    out = tmp_path / "k6.llsk"
    write_sketch(
        bind_train, out, kind="protein", params=SketchParams("protein", 6), skip_identical_duplicates=True
    )
    before = Record.objects.count()
    with pytest.raises(InputRejected) as err:
        sketch_version_register(path=out, dataset_name="bind-private")
    assert "protein:k6" in str(err.value) and "leakledger sketch" in str(err.value)
    assert err.value.fields["line"] == 1
    assert Record.objects.count() == before


def _rewrite(src, dst, edit):
    lines = gzip.decompress(src.read_bytes()).decode().splitlines()
    header = json.loads(lines[0])
    records = [json.loads(x) for x in lines[1:]]
    header, records = edit(header, records)
    body = "\n".join(json.dumps(x) for x in [header, *records]) + "\n"
    dst.write_bytes(gzip.compress(body.encode()))
    return dst


@pytest.mark.parametrize(
    ("edit", "message", "line"),
    [
        (lambda h, r: ({**h, "format": "other"}, r), "not a LeakLedger sketch file", 1),
        (lambda h, r: ({**h, "format_version": 9}, r), "version 9 is not supported", 1),
        (
            lambda h, r: (h, [r[0], {**r[1], "signature": r[1]["signature"][:-8]}, *r[2:]]),
            "must be base64 of 128",
            3,
        ),
        (
            lambda h, r: (h, [r[0], {**r[1], "id": r[0]["id"]}, *r[2:]]),
            "duplicate identifier (first on line 2)",
            3,
        ),
        (lambda h, r: (h, [r[0], {**r[1], "sha256": "XYZ"}, *r[2:]]), "sha256 must be 64", 3),
        (lambda h, r: (h, [r[0], {**r[1], "length": 0}, *r[2:]]), "length must be a positive", 3),
        (lambda h, r: (h, r[:-1]), "the header says 1077 records", None),
        (
            lambda h, r: (h, [r[0], {**r[1], "length": r[1]["length"] + 1}, *r[2:]]),
            "does not match the records",
            1,
        ),
    ],
)
def test_bad_sketch_files_are_refused_naming_the_line(bind_train, tmp_path, edit, message, line):
    good = _sketch(bind_train, tmp_path)
    bad = _rewrite(good, tmp_path / "bad.llsk", edit)
    with pytest.raises(Exception) as err:  # noqa: PT011 - checked below
        read_sketch(bad, expect=SketchParams.default)
    assert message in str(err.value)
    assert str(bad) in str(err.value)
    if line is not None:
        assert err.value.line == line
    if line == 3:
        assert err.value.record is not None


def test_not_a_gzip_file_is_refused(tmp_path):
    path = tmp_path / "x.llsk"
    path.write_text(">a\nMKV\n")
    with pytest.raises(Exception, match="not a gzip-compressed sketch file"):
        read_sketch(path)


def test_splits_of_a_sketch_only_version_can_be_registered_but_not_generated_or_verified(
    bind_train, data_dir, run_jobs, tmp_path
):
    from registry.services.attestations import split_get, split_verify
    from registry.services.split_generation import split_make_check

    llsk = _sketch(bind_train, tmp_path)
    private = run_jobs(sketch_version_register, path=llsk, dataset_name="bind-private").version
    ids = list(
        Record.objects.filter(version=private).order_by("position").values_list("identifier", flat=True)
    )
    mapping = tmp_path / "halves.json"
    mapping.write_text(json.dumps({"train": ids[:500], "test": ids[500:]}))
    split = services.split_register(version_ref=private.ref, name="halves", mapping_path=mapping)
    assert split.parts.count() == 2
    # A part's digest follows the sketch-only recipe.
    part_set = record_set_get(f"{private.ref}/halves:test")
    rows = Record.objects.filter(version=private, identifier__in=ids[500:]).values_list(
        "identifier", "sequence__sha256", "sequence__length"
    )
    from dedup.llsk import sketch_record_hash

    assert engine.record_set_digest(part_set) == version_digest([sketch_record_hash(*r) for r in rows])
    with pytest.raises(SketchOnly, match="generating a split needs the sequences"):
        split_make_check(version_ref=private.ref, name="cc30", fractions="train=0.8,test=0.2")
    with pytest.raises(SketchOnly, match="verifying a split needs the sequences"):
        split_verify(split=split_get(f"{private.ref}/halves"))
