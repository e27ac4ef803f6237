"""The hot read endpoints cost a fixed number of SQL queries, whatever the number of rows they show.

A registry of size n holds n training versions (each derived from one source), n models trained on
them, n evaluations on one benchmark and n splits of that benchmark, with the standing overlap
reports and contamination reports that the jobs computed. Each endpoint of the load benchmarks'
mix (benchmarks/bench_api_load.py, bench_pages.py) is asked at n = 1 and n = 3: the query count must
be the same, and equal to the pinned number, so that an N+1 (a query per record set, split, report
or evaluation) or an extra query per request fails here.
"""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry import selectors
from registry.models import Evaluation, OverlapReport, SplitAttestation
from registry.services import (
    dataset_version_register,
    evaluation_record,
    model_version_register,
    split_register,
)

FIXTURES = __import__("tests.conftest", fromlist=["FIXTURES"]).FIXTURES

pytestmark = pytest.mark.django_db

GLOBINS = [">" + r for r in (FIXTURES / "hmmer_tutorial" / "globins45.fa").read_text().split(">")[1:]]


def _fasta(path, records) -> object:
    path.write_text("".join(records))
    return path


def _ids(records) -> list[str]:
    return [r[1:].split()[0] for r in records]


@pytest.fixture(params=[1, 3], ids=["n1", "n3"])
def registry_of_size(request, owner, tmp_path, django_capture_on_commit_callbacks):
    n = request.param
    with django_capture_on_commit_callbacks(execute=True):  # the sketch and overlap jobs run here
        dataset_version_register(
            path=_fasta(tmp_path / "source.fa", GLOBINS[:30]),
            dataset_name="source",
            kind="protein",
            user=owner,
        )
        bench_records = GLOBINS[30:42]
        dataset_version_register(
            path=_fasta(tmp_path / "bench.fa", bench_records),
            dataset_name="bench",
            kind="protein",
            role="benchmark",
            user=owner,
        )
        for i in range(n):
            records = GLOBINS[i * 6 : i * 6 + 8]  # overlapping windows: the benchmark pairs share nothing
            dataset_version_register(
                path=_fasta(tmp_path / f"train{i}.fa", records),
                dataset_name=f"train-{i}",
                kind="protein",
                role="training",
                derived_from="source@1",
                transform=f"records {i * 6} to {i * 6 + 8}",
                user=owner,
            )
            ids = _ids(bench_records)
            cut = 3 + i
            mapping = tmp_path / f"split{i}.json"
            mapping.write_text(json.dumps({"train": ids[:cut], "test": ids[cut:]}))
            split_register(version_ref="bench@1", name=f"cut-{i}", mapping_path=mapping, user=owner)
            model_version_register(ref=f"model-{i}@1", trained_on=[f"train-{i}@1"], user=owner)
            evaluation_record(
                model_ref=f"model-{i}@1", on_ref="bench@1", metrics={"auc": 0.5 + i / 10}, user=owner
            )
    split = selectors.version_get("bench@1").splits.order_by("name").first()
    for _ in range(2):  # two attestations of one split: the latest is shown
        SplitAttestation.objects.create(
            split=split,
            split_digest="0" * 64,
            identity=0.3,
            coverage=0.5,
            tiers=["exact"],
            method={},
            versions={},
            calibration={},
            pairs=[],
            violation_count=0,
        )
    assert Evaluation.objects.count() == n
    assert OverlapReport.objects.filter(query_set__version__dataset__name="bench").count() >= n
    assert all(e.contamination_reports.exists() for e in Evaluation.objects.all())
    return n


def _queries(client, path: str, **headers) -> int:
    client.get(path, **headers)  # warm: content types, the token's user, sessions
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, **headers)
    assert response.status_code == 200, (path, response.content[:300])
    return len(captured.captured_queries)


# What each endpoint costs (anonymous, the read cache off as in tests/api/conftest.py). A change
# that adds a query per row fails at n3; one that adds a query per request fails at both sizes.
API = {
    "/api/v1/datasets/": 1,
    "/api/v1/datasets/bench/": 1,
    "/api/v1/versions/": 3,  # the versions, their splits with parts, the edges into them
    "/api/v1/versions/?dataset=bench": 3,  # the versions, their splits with parts, the edges into them
    "/api/v1/versions/bench@1/": 3,  # the versions, their splits with parts, the edges into them
    "/api/v1/versions/bench@1/records/?page_size=5": 2,  # the version id (a kept statement), the page
    "/api/v1/versions/bench@1/records/?page_size=5&search=HB": 2,
    "/api/v1/versions/bench@1/lineage/": 9,
    "/api/v1/versions/train-0@1/lineage/": 6,
    "/api/v1/versions/source@1/lineage/": 6,  # derivations: a level with the n children, one without
    "/api/v1/splits/": 3,
    "/api/v1/splits/?version=bench@1": 3,
    "/api/v1/derivations/": 1,
    "/api/v1/models/": 1,
    "/api/v1/model-versions/": 2,
    "/api/v1/model-versions/model-0@1/": 2,
    "/api/v1/evaluations/": 3,
    "/api/v1/overlap-reports/": 1,
}


@pytest.mark.parametrize("path", list(API))
def test_api_reads_cost_a_fixed_number_of_queries(anon_client, registry_of_size, path):
    assert _queries(anon_client, path) == API[path]


def test_detail_reads_cost_a_fixed_number_of_queries(anon_client, owner_client, registry_of_size):
    evaluation = Evaluation.objects.order_by("id").first()
    report = OverlapReport.objects.order_by("id").first()
    split = selectors.version_get("bench@1").splits.order_by("name").first()
    assert _queries(anon_client, f"/api/v1/evaluations/{evaluation.uuid}/") == 3
    assert _queries(anon_client, f"/api/v1/overlap-reports/{report.uuid}/") == 1
    assert _queries(anon_client, f"/api/v1/splits/{split.uuid}/") == 3
    # An authenticated client costs one more query (its token), never more per row.
    assert _queries(owner_client, "/api/v1/evaluations/") == 3 + 1
    assert (
        _queries(owner_client, "/api/v1/versions/bench@1/lineage/")
        == API["/api/v1/versions/bench@1/lineage/"] + 1
    )


def test_the_latest_attestation_is_the_one_shown(anon_client, registry_of_size):
    split = selectors.version_get("bench@1").splits.order_by("name").first()
    latest = SplitAttestation.objects.filter(split=split).order_by("-created_at", "-id").first()
    body = anon_client.get(f"/api/v1/splits/{split.uuid}/").json()
    assert body["attestation"]["uuid"] == str(latest.uuid)
    listed = {s["uuid"]: s["attestation"] for s in anon_client.get("/api/v1/splits/").json()["results"]}
    assert listed[str(split.uuid)]["uuid"] == str(latest.uuid)
    assert sum(a is None for a in listed.values()) == len(listed) - 1  # the others were never verified
    lineage = selectors.lineage("bench@1")["split_attestations"]
    assert [a["attestation"] for a in lineage if a["attestation"]] == [str(latest.uuid)]


def test_latest_attestation_is_the_newest_then_the_highest_id(anon_client, registry_of_size):
    """Creation times, not insertion order, decide; on a tie of times the higher id wins."""
    from datetime import timedelta

    from registry.split_selectors import latest_attestations

    split = selectors.version_get("bench@1").splits.order_by("name").first()
    first, second = SplitAttestation.objects.filter(split=split).order_by("id")
    base = first.created_at
    SplitAttestation.objects.filter(pk=first.pk).update(created_at=base + timedelta(hours=1))
    SplitAttestation.objects.filter(pk=second.pk).update(created_at=base)
    body = anon_client.get(f"/api/v1/splits/{split.uuid}/").json()
    assert body["attestation"]["uuid"] == str(first.uuid)  # the newer, although inserted first
    SplitAttestation.objects.filter(pk=second.pk).update(created_at=base + timedelta(hours=1))
    assert [a.pk for a in latest_attestations().filter(split=split)] == [second.pk]  # a tie: the higher id
    body = anon_client.get(f"/api/v1/splits/{split.uuid}/").json()
    assert body["attestation"]["uuid"] == str(second.uuid)
    others = latest_attestations().exclude(split=split)
    assert not others.exists()  # the other splits were never verified


def test_cli_lineage_costs_a_fixed_number_of_queries(registry_of_size):
    n = registry_of_size
    with CaptureQueriesContext(connection) as captured:
        lineage = selectors.lineage("bench@1")
    # the version, its record sets, the derivations both ways, models, evaluations, jobs, reports,
    # splits, their latest attestations
    assert len(captured.captured_queries) == 9
    assert len(lineage["evaluations_on_it"]) == n
    assert len(lineage["split_attestations"]) == n
    assert len(lineage["splits"]) == 2 * n


def test_version_derivations_walk_both_ways_as_the_two_walks_do(owner, tmp_path):
    """source -> a -> b, source -> c: the combined walk gives the separate walks' edges, in their order."""
    dataset_version_register(
        path=_fasta(tmp_path / "s.fa", GLOBINS[:9]), dataset_name="s", kind="protein", user=owner
    )
    for name, source, records in (
        ("a", "s@1", GLOBINS[:6]),
        ("b", "a@1", GLOBINS[:3]),
        ("c", "s@1", GLOBINS[3:9]),
    ):
        dataset_version_register(
            path=_fasta(tmp_path / f"{name}.fa", records),
            dataset_name=name,
            kind="protein",
            derived_from=source,
            transform=f"{name} from {source}",
            user=owner,
        )
    for ref in ("s@1", "a@1", "b@1", "c@1"):
        version = selectors.version_get(ref)
        up, down = selectors.version_derivations(version)
        assert [e.pk for e in up] == [e.pk for e in selectors.version_ancestors(version)]
        assert [e.pk for e in down] == [e.pk for e in selectors.version_descendants(version)]
    up, down = selectors.version_derivations(selectors.version_get("a@1"))
    assert [(e.source.ref, e.target.ref) for e in up] == [("s@1", "a@1")]
    assert [(e.source.ref, e.target.ref) for e in down] == [("a@1", "b@1")]
    assert [
        (e.source.ref, e.target.ref) for e in selectors.version_derivations(selectors.version_get("s@1"))[1]
    ] == [
        ("s@1", "a@1"),
        ("s@1", "c@1"),
        ("a@1", "b@1"),
    ]


PAGES = {"/overlap/": 4, "/leaderboards/bench@1/": 4, "/leaderboards/bench@1/cut-0:test/": 4}


@pytest.mark.parametrize("path", list(PAGES))
def test_pages_cost_a_fixed_number_of_queries(client, settings, registry_of_size, path):
    """The pages of benchmarks/bench_pages.py, rendered on every request (the page cache off)."""
    settings.LEAKLEDGER = {**settings.LEAKLEDGER, "PAGE_CACHE_SECONDS": 0}
    assert _queries(client, path) == PAGES[path]
