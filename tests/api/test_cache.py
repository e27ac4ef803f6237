"""The short-lived cache of anonymous reads: what it serves, to whom, and what it never keeps."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_on(settings):
    settings.LEAKLEDGER = {**settings.LEAKLEDGER, "API_CACHE_SECONDS": 60}


def test_anonymous_reads_are_served_again_from_the_cache(cache_on, anon_client, flip_test, globins):
    first = anon_client.get("/api/v1/versions/", HTTP_ACCEPT="application/json")
    again = anon_client.get("/api/v1/versions/", HTTP_ACCEPT="application/json")
    assert first.status_code == again.status_code == 200
    assert (first["X-Cache"], again["X-Cache"]) == ("miss", "hit")
    assert again.content == first.content and again["Content-Type"] == first["Content-Type"]
    # another query string or another representation is another entry
    assert anon_client.get("/api/v1/versions/?kind=protein")["X-Cache"] == "miss"
    assert anon_client.get("/api/v1/versions/", HTTP_ACCEPT="text/html")["X-Cache"] == "miss"


def test_within_its_lifetime_a_cached_list_can_lag_a_new_version(
    cache_on, anon_client, owner_client, flip_test, globins, settings
):
    before = anon_client.get("/api/v1/datasets/").json()
    from registry.services import dataset_version_register
    from tests.conftest import FIXTURES

    dataset_version_register(
        path=FIXTURES / "deepfri_examples" / "pdb_chains.fasta", dataset_name="new-one", kind="protein"
    )
    assert anon_client.get("/api/v1/datasets/").json() == before  # the documented staleness
    assert "new-one" in owner_client.get("/api/v1/datasets/").content.decode()  # credentials: never cached
    settings.LEAKLEDGER = {**settings.LEAKLEDGER, "API_CACHE_SECONDS": 0}
    assert "new-one" in anon_client.get("/api/v1/datasets/").content.decode()


def test_never_cached(cache_on, anon_client, owner_client, flip_test):
    for _ in range(2):
        response = owner_client.get("/api/v1/versions/")
        assert response.status_code == 200 and "X-Cache" not in response
        missing = anon_client.get("/api/v1/versions/nope@1/")
        assert missing.status_code == 404 and "X-Cache" not in missing
        jobs = anon_client.get("/api/v1/jobs/")
        assert "X-Cache" not in jobs
