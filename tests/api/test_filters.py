"""Filters take public keys (names, references); empty choice and date values are a 400."""

import pytest

from registry.services import dataset_version_register, model_version_register

from .conftest import FIXTURES
from .test_views_datasets import assert_error_shape

pytestmark = pytest.mark.django_db


@pytest.fixture
def derived(owner, globins, tmp_path):
    subset = tmp_path / "five.fa"
    subset.write_text(
        "".join(">" + r for r in (FIXTURES / "hmmer_tutorial" / "globins45.fa").read_text().split(">")[1:6])
    )
    return dataset_version_register(
        path=subset,
        dataset_name="globins-five",
        kind="protein",
        derived_from="globins@1",
        transform="first five",
        user=owner,
    ).version


def refs(response):
    assert response.status_code == 200, response.content
    return [item.get("ref") or item.get("name") for item in response.json()["results"]]


def test_versions_derived_from(anon_client, derived):
    assert refs(anon_client.get("/api/v1/versions/?derived_from=globins@1")) == ["globins-five@1"]
    assert refs(
        anon_client.get(f"/api/v1/versions/?derived_from={derived.derived_from.get().source.uuid}")
    ) == ["globins-five@1"]
    assert refs(anon_client.get("/api/v1/versions/?derived_from=not a ref")) == []


def test_derivations_by_either_end_and_dataset(anon_client, derived):
    edges = anon_client.get("/api/v1/derivations/?dataset=globins-five").json()["results"]
    assert [(e["source"], e["target"]) for e in edges] == [("globins@1", "globins-five@1")]
    assert anon_client.get("/api/v1/derivations/?target=globins@1").json()["results"] == []


def test_model_versions_by_training_set_and_base(anon_client, owner, one_vs_many):
    model_version_register(ref="m@1", trained_on=["flip-bind@1/one_vs_many:train"], user=owner)
    model_version_register(ref="m@2", trained_on=[], base="m@1", user=owner)
    assert refs(anon_client.get("/api/v1/model-versions/?trained_on=flip-bind@1/one_vs_many:train")) == [
        "m@1"
    ]
    assert (
        refs(anon_client.get("/api/v1/model-versions/?trained_on=flip-bind@1")) == []
    )  # the whole version: no
    assert refs(anon_client.get("/api/v1/model-versions/?base=m@1")) == ["m@2"]
    assert refs(anon_client.get("/api/v1/model-versions/?model=m")) == ["m@2", "m@1"]  # newest first


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/datasets/?kind=",
        "/api/v1/versions/?created_after=",
        "/api/v1/parts/?role=",
        "/api/v1/jobs/?state=",
    ],
)
def test_empty_choice_or_date_values_are_rejected(anon_client, query):
    body = assert_error_shape(anon_client.get(query), 400)
    assert "May not be empty" in str(body["fields"])


def test_malformed_dates_are_rejected(anon_client):
    assert_error_shape(anon_client.get("/api/v1/versions/?created_after=yesterday"), 400)
