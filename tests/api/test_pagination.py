"""Cursor pagination: stable order, every row exactly once, strict page sizes."""

import pytest

from registry.services import dataset_version_register

from .conftest import FIXTURES
from .test_views_datasets import assert_error_shape

pytestmark = pytest.mark.django_db


def walk(client, url):
    seen = []
    while url:
        body = client.get(url).json()
        seen += body["results"]
        url = body["next"]
    return seen


def test_every_version_exactly_once_newest_first(anon_client, owner):
    for path in sorted((FIXTURES / "proteinortho_diamond_test").glob("*.faa")):
        dataset_version_register(path=path, dataset_name=f"ortho-{path.stem}", kind="protein", user=owner)
    versions = walk(anon_client, "/api/v1/versions/?page_size=2")
    assert len(versions) == len({v["uuid"] for v in versions}) == 5
    created = [v["created_at"] for v in versions]
    assert created == sorted(created, reverse=True)
    back = anon_client.get(anon_client.get("/api/v1/versions/?page_size=2").json()["next"]).json()["previous"]
    assert [v["uuid"] for v in anon_client.get(back).json()["results"]] == [v["uuid"] for v in versions[:2]]


def test_datasets_by_name(anon_client, owner):
    for path in sorted((FIXTURES / "proteinortho_diamond_test").glob("*.faa")):
        dataset_version_register(path=path, dataset_name=f"ortho-{path.stem}", kind="protein", user=owner)
    names = [d["name"] for d in walk(anon_client, "/api/v1/datasets/?page_size=3")]
    assert names == sorted(names) and len(names) == 5


@pytest.mark.parametrize("size", ["0", "-1", "ten", "1.5"])
def test_page_size_must_be_a_positive_integer(anon_client, size):
    body = assert_error_shape(anon_client.get(f"/api/v1/datasets/?page_size={size}"), 400)
    assert "page_size" in body["fields"]


def test_page_size_is_capped(anon_client, flip_test):
    body = anon_client.get(f"/api/v1/versions/{flip_test.ref}/records/?page_size=100000").json()
    assert len(body["results"]) == 250 and body["next"] is None  # 250 < the 1,000 cap


@pytest.mark.django_db(transaction=True)  # the standing check runs when the registration commits
def test_a_report_with_more_tied_hits_than_the_offset_cap_pages_each_hit_once(anon_client, owner):
    """1,314 verbatim copies, all at identity 1.0: more ties than DRF's cursor offset cap (1,000).

    On identity alone the cursor reached pages inside the ties by an offset, capped at 1,000, and
    from there the same page came back forever; ranked hits have no ties.
    """
    from registry.models import OverlapHit, OverlapReport
    from registry.models.overlap import hit_order

    train = FIXTURES / "flip_bind_split" / "one_vs_many.fasta"
    dataset_version_register(
        path=train, dataset_name="bench-copy", kind="protein", role="benchmark", user=owner
    )
    dataset_version_register(path=train, dataset_name="train", kind="protein", role="training", user=owner)
    report = OverlapReport.objects.get(query_set__version__dataset__name="bench-copy", query_set__part=None)
    stored = list(report.hits.order_by("rank"))
    assert len(stored) == 1314 and {h.identity for h in stored} == {1.0}
    assert [h.rank for h in stored] == list(range(1314))
    assert stored == sorted(stored, key=lambda h: hit_order(h.identity, h.query_coverage, h.query_record_id))
    pages = walk(anon_client, f"/api/v1/overlap-reports/{report.uuid}/hits/?page_size=100")
    queries = [h["query"] for h in pages]
    assert len(queries) == len(set(queries)) == 1314
    names = dict(OverlapHit.objects.filter(report=report).values_list("rank", "query_record__identifier"))
    assert queries == [names[rank] for rank in range(1314)]  # best first, in rank order
