"""One error shape for every 4xx, whichever layer raised it."""

import pytest
from rest_framework import exceptions
from rest_framework.throttling import AnonRateThrottle

from api.exceptions import error_body, exception_handler
from dedup.errors import ParseError
from registry.errors import Conflict, Forbidden, InputRejected, NotFound, RegistryError

from .test_views_datasets import assert_error_shape

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InputRejected("bad file", fields={"line": 3}), 400, "input_rejected"),
        (NotFound("no such thing"), 404, "not_found"),
        (Conflict("exists"), 409, "conflict"),
        (Forbidden("not yours"), 403, "permission_denied"),
        (RegistryError("only the owner", code="permission_denied"), 403, "permission_denied"),
        (ParseError("empty sequence", path="a.fa", line=2, record="x"), 400, "input_rejected"),
        (exceptions.ValidationError({"name": ["This field is required."]}), 400, "invalid"),
        (exceptions.NotAuthenticated(), 401, "not_authenticated"),
        (exceptions.PermissionDenied(), 403, "permission_denied"),
        (exceptions.NotFound(), 404, "not_found"),
        (exceptions.MethodNotAllowed("PUT"), 405, "method_not_allowed"),
        (exceptions.UnsupportedMediaType("text/plain"), 415, "unsupported_media_type"),
        (exceptions.ParseError(), 400, "parse_error"),
        (exceptions.Throttled(wait=7), 429, "throttled"),
    ],
)
def test_every_error_maps_to_the_one_shape(error, status, code):
    response = exception_handler(error, {})
    assert response.status_code == status
    assert set(response.data) == {"detail", "code", "fields"}
    assert response.data["code"] == code
    assert isinstance(response.data["fields"], dict)


def test_parse_error_fields_locate_the_problem():
    response = exception_handler(ParseError("empty sequence", path="a.fa", line=2, record="x"), {})
    assert response.data["fields"]["line"] == 2 and response.data["fields"]["record"] == "x"
    assert response.data["detail"].startswith("a.fa, line 2, record 'x'")


def test_validation_detail_names_the_field():
    body = error_body(exceptions.ValidationError({"metrics": {"auc": ["Must be a finite number."]}}))
    assert body["detail"] == "metrics: auc: Must be a finite number."
    assert body["fields"] == {"metrics": {"auc": ["Must be a finite number."]}}


def test_bugs_are_not_swallowed():
    assert exception_handler(ZeroDivisionError(), {}) is None


def test_throttled_clients_get_429_with_retry_after(anon_client, monkeypatch):
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "2/minute", "user": "1000/minute"})
    for _ in range(2):
        assert anon_client.get("/api/v1/datasets/").status_code == 200
    response = anon_client.get("/api/v1/datasets/")
    body = assert_error_shape(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0 and body["fields"]["retry_after_seconds"] > 0


def test_a_bad_token_is_401(anon_client):
    anon_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error_shape(anon_client.get("/api/v1/datasets/"), 401, "authentication_failed")


def test_unknown_paths_are_404_json(anon_client):
    response = anon_client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
