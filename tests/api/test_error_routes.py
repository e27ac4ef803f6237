"""Every answer under /api/ is JSON in the error shape, including those Django makes outside DRF."""

import pytest

from .test_views_datasets import assert_error_shape

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nope/",
        "/api/nope/",
        "/api/v2/datasets/",
        "/api/v1/datasets/x/y/z/",
        "/api/v1/jobs/00000000-0000-0000-0000-000000000000/cancel/",
        "/api/v1/jobs/00000000-0000-0000-0000-000000000000/retry/",
        "/api/v1/versions/a@1/nope/",
    ],
)
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unrouted_api_urls_answer_json_404(anon_client, path, method):
    response = getattr(anon_client, method)(path)
    assert response["Content-Type"].startswith("application/json")
    assert assert_error_shape(response, 404, "not_found")["detail"].startswith("No API endpoint")


def test_an_api_url_without_its_slash_is_still_redirected(anon_client):
    response = anon_client.get("/api/v1/datasets?search=x")
    assert response.status_code == 301 and response["Location"] == "/api/v1/datasets/?search=x"
    assert_error_shape(anon_client.post("/api/v1/datasets"), 404, "not_found")


def test_a_bad_host_header_is_a_json_400_under_the_api(anon_client, settings):
    settings.ALLOWED_HOSTS = ["ledger.example.org"]
    response = anon_client.get("/api/v1/datasets/", HTTP_HOST="evil.example.com")
    assert_error_shape(response, 400, "bad_host")
    outside = anon_client.get("/admin/", HTTP_HOST="evil.example.com")
    assert outside.status_code == 400 and not outside["Content-Type"].startswith("application/json")


def test_a_bug_answers_json_500_under_the_api(anon_client, monkeypatch):
    from api.views import root

    def boom(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(root.ApiRootView, "get", boom)
    anon_client.raise_request_exception = False
    response = anon_client.get("/api/v1/")
    assert_error_shape(response, 500, "internal_error")
    assert "a bug" not in response.content.decode()


def test_pages_outside_the_api_keep_django_html(anon_client):
    response = anon_client.get("/nowhere/")
    assert response.status_code == 404 and not response["Content-Type"].startswith("application/json")


def test_an_undeclared_method_is_a_405_before_its_query_is_judged(anon_client, flip_test):
    response = anon_client.generic("TRACE", f"/api/v1/versions/{flip_test.ref}/cite/?format=0")
    assert_error_shape(response, 405, "method_not_allowed")
