"""The done-when of the overlap service on the main pair: DeepFRI nrPDB-GO test vs NetSurfP-2.0 train.

Registering the two (as a training set and a benchmark) is all it takes: the standing report
appears by itself, and its counts agree with MMseqs2's ground truth (GROUND_TRUTH.md) within the
measured recall.
"""

import gzip

import pytest

from registry import services
from registry.models import OverlapHit, OverlapReport
from registry.overlap import selectors
from registry.selectors import record_set_get
from tests.conftest import shared_data_path

pytestmark = [pytest.mark.django_db, pytest.mark.shared_data, pytest.mark.slow]


def _truth(threshold: float) -> set[str]:
    """Test chains with an MMseqs2 hit at >= threshold identity (fident) and >= 80% query coverage."""
    path = shared_data_path() / "ground-truth" / "deepfri-go-test_vs_flip-ss-train.hits.m8.gz"
    found = set()
    with gzip.open(path, "rt") as handle:
        for line in handle:
            f = line.rstrip("\n").split("\t")
            if float(f[2]) >= threshold and float(f[11]) >= 0.8:
                found.add(f[0])
    return found


def test_standing_report_on_the_main_pair_agrees_with_ground_truth(
    data_dir, django_capture_on_commit_callbacks
):
    splits = shared_data_path() / "splits"
    with django_capture_on_commit_callbacks(execute=True):
        services.dataset_version_register(
            path=splits / "flip-secondary-structure" / "train.fasta",
            dataset_name="netsurfp-train",
            kind="protein",
            role="training",
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.dataset_version_register(
            path=splits / "deepfri-nrpdb" / "nrPDB-GO_2019.06.18_test_sequences.fasta",
            dataset_name="nrpdb-go-test",
            kind="protein",
            role="benchmark",
        )
    report = OverlapReport.objects.get()  # nobody asked for it
    assert report.query_set.version.dataset.name == "nrpdb-go-test"
    rows = {r["label"]: r for r in report.summary["thresholds"]}
    assert report.query_records == 3416
    assert rows["exact"]["records"] == 312  # GROUND_TRUTH.md: exact 312 of 3,416
    for threshold, label, min_recall in ((0.95, ">=95%", 0.99), (0.9, ">=90%", 0.97), (0.8, ">=80%", 0.95)):
        truth = _truth(threshold)
        ours = set(
            OverlapHit.objects.filter(report=report, identity__gte=threshold - 1e-9).values_list(
                "query_record__identifier", flat=True
            )
        )
        assert rows[label]["records"] == len(ours)
        recall = len(ours & truth) / len(truth)
        print(
            label,
            "ours",
            len(ours),
            "truth",
            len(truth),
            "recall",
            round(recall, 4),
            "ours only",
            len(ours - truth),
        )
        assert recall >= min_recall, (label, recall, sorted(truth - ours)[:10])
        # Every reported pair was aligned at or above the threshold by our verifier; MMseqs2's
        # alignment of the same pair may differ in the last decimal, never by much.
        assert len(ours - truth) <= 0.02 * len(truth), sorted(ours - truth)[:10]
    data = selectors.reports_for_record_set(record_set_get("nrpdb-go-test@1"))
    assert [r["reference_set"] for r in data["as_test_set"]] == ["netsurfp-train@1"]
