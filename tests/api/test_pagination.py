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
