"""Hostile inputs that once answered Django's HTML 500: each is a 400 (or a success) in the error shape.

The suite runs on SQLite and again on PostgreSQL (CI), so each case is checked on both databases: NUL
characters in particular fail differently on each (PostgreSQL cannot store them at all).
"""

import base64
import contextlib
import json
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError

from api.parsers import MAX_JSON_DEPTH, SafeJSONParser
from registry.models import DatasetVersion, Evaluation, ModelVersion, Split

from .conftest import FIXTURES
from .test_views_datasets import assert_error_shape
from .test_views_ml import register_model

pytestmark = pytest.mark.django_db

GLOBINS = FIXTURES / "hmmer_tutorial" / "globins45.fa"


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def tampered(position: str, offset: int = 0) -> str:
    """A cursor as DRF encodes one, carrying ``position``: what a client editing the token can send."""
    return base64.b64encode(urlencode({"o": offset, "p": position}).encode()).decode()


# --- file names -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the upload's job runs on commit, inside the request
def test_a_file_name_too_long_for_the_file_system_is_shortened_keeping_its_format(owner_client):
    name = "é" * 300 + ".fasta"  # 606 bytes of UTF-8: the file system allows 255
    response = owner_client.post(
        "/api/v1/datasets/globins/versions/",
        {"file": SimpleUploadedFile(name, GLOBINS.read_bytes()), "kind": "protein"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    stored = DatasetVersion.objects.get().source_filename
    assert stored.endswith("é.fasta") and len(stored.encode()) <= 200


# --- JSON nested too deep (RecursionError) ----------------------------------------------------------


def test_model_parameters_nested_100000_deep_are_a_400(owner_client, one_vs_many):
    body = '{"ref": "deep@1", "trained_on": ["flip-bind@1/one_vs_many:train"], "parameters": {"a": %s}}'
    response = owner_client.post(
        "/api/v1/model-versions/", body % nested(100_000), content_type="application/json"
    )
    assert "nested deeper" in assert_error_shape(response, 400, "parse_error")["detail"]
    assert not ModelVersion.objects.exists()


def test_split_verification_and_generation_bodies_nested_100000_deep_are_a_400(owner_client, one_vs_many):
    split = Split.objects.get(name="one_vs_many")
    for url in (f"/api/v1/splits/{split.uuid}/verify/", "/api/v1/versions/flip-bind@1/make-split/"):
        response = owner_client.post(
            url, '{"identity": ' + nested(100_000) + "}", content_type="application/json"
        )
        assert "nested deeper" in assert_error_shape(response, 400, "parse_error")["detail"], url
    assert Split.objects.count() == 1


def test_an_evaluation_nested_500000_deep_is_a_400(owner_client, one_vs_many):
    assert register_model(owner_client).status_code == 201
    body = '{"model_version": "binder@1", "on": "flip-bind@1/one_vs_many:test", "metrics": {"auc": %s}}'
    response = owner_client.post(
        "/api/v1/evaluations/", body % nested(500_000), content_type="application/json"
    )
    assert_error_shape(response, 400, "parse_error")
    assert not Evaluation.objects.exists()


def test_json_past_the_depth_limit_is_a_400_and_ordinary_nesting_passes(owner_client, one_vs_many):
    body = '{"ref": "deep@1", "trained_on": ["flip-bind@1/one_vs_many:train"], "parameters": {"a": %s}}'
    too_deep = owner_client.post(
        "/api/v1/model-versions/", body % nested(MAX_JSON_DEPTH), content_type="application/json"
    )
    assert_error_shape(too_deep, 400, "parse_error")
    ok = owner_client.post("/api/v1/model-versions/", body % nested(5), content_type="application/json")
    assert ok.status_code == 201, ok.content
    assert ModelVersion.objects.get().parameters == {"a": [[[[[1]]]]]}


def test_a_split_mapping_file_nested_200000_deep_is_a_400(owner_client, one_vs_many):
    mapping = b'{"test": ' + nested(200_000, '"P1"').encode() + b"}"
    response = owner_client.post(
        f"/api/v1/versions/{one_vs_many.ref}/splits/",
        {"name": "deep", "mapping_file": SimpleUploadedFile("deep.json", mapping)},
        format="multipart",
    )
    assert "nested too deeply" in assert_error_shape(response, 400, "input_rejected")["detail"]
    assert not Split.objects.filter(name="deep").exists()


# --- NUL characters ---------------------------------------------------------------------------------


def test_a_nul_in_the_url_path_is_a_400(anon_client, flip_test):
    assert_error_shape(anon_client.get("/api/v1/datasets/a%00b/"), 400, "nul_character")
    assert_error_shape(anon_client.get("/api/v1/versions/a%00b@1/records/"), 400, "nul_character")


def test_a_nul_in_a_query_parameter_is_a_400(anon_client, flip_test):
    assert_error_shape(anon_client.get("/api/v1/datasets/?name=a%00b"), 400, "nul_character")


def test_a_nul_in_a_json_string_is_a_400(owner_client, one_vs_many):
    response = register_model(owner_client, parameters={"a": "x\u0000y"})
    assert "NUL" in assert_error_shape(response, 400, "parse_error")["detail"]
    key = register_model(owner_client, parameters={"x\u0000": 1})
    assert_error_shape(key, 400, "parse_error")
    assert not ModelVersion.objects.exists()


# --- tampered cursors -------------------------------------------------------------------------------


@pytest.mark.parametrize("position", ["not-a-date", "2026-13-45", "x\u0000y"])
def test_a_tampered_cursor_on_versions_is_a_400(anon_client, flip_test, position):
    response = anon_client.get("/api/v1/versions/", {"cursor": tampered(position)})
    assert "cursor" in assert_error_shape(response, 400, "invalid_cursor")["fields"]


@pytest.mark.parametrize("position", ["seven", "1e999", "x\u0000y"])
def test_a_tampered_cursor_on_records_is_a_400(anon_client, flip_test, position):
    response = anon_client.get(f"/api/v1/versions/{flip_test.ref}/records/", {"cursor": tampered(position)})
    assert_error_shape(response, 400, "invalid_cursor")


@pytest.mark.parametrize("position", ["not-a-uuid", "x\u0000y"])
def test_a_tampered_cursor_on_parts_is_a_400(anon_client, flip_test, position):
    response = anon_client.get("/api/v1/parts/", {"cursor": tampered(position)})
    assert_error_shape(response, 400, "invalid_cursor")


def test_a_cursor_that_does_not_decode_is_a_400_too(anon_client, flip_test):
    assert_error_shape(anon_client.get("/api/v1/versions/?cursor=garbage"), 400, "invalid_cursor")


def test_an_untouched_cursor_still_pages(anon_client, flip_test):
    first = anon_client.get(f"/api/v1/versions/{flip_test.ref}/records/?page_size=100").json()
    second = anon_client.get(first["next"])
    assert second.status_code == 200 and len(second.json()["results"]) == 100


# --- the request parsers, fuzzed ------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


class _Stream:
    def __init__(self, data: bytes):
        self.data = data

    def read(self):
        return self.data


def _parse(raw: bytes):
    return SafeJSONParser().parse(_Stream(raw), "application/json", {"encoding": "utf-8"})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_the_json_parser_answers_data_or_a_parse_error_for_any_bytes(raw):
    with contextlib.suppress(ParseError):
        _parse(raw)


def _depth(value) -> int:
    """Containers deep: 0 for a scalar, 1 for [] or {}, 2 for [[1]]..."""
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


@settings(max_examples=200, deadline=None)
@given(json_values, st.integers(min_value=0, max_value=3000))
def test_the_json_parser_returns_what_was_sent_or_says_why_not(value, depth):
    wrapped = "[" * depth + json.dumps(value) + "]" * depth
    refused = _has_nul(value) or depth + _depth(value) > MAX_JSON_DEPTH
    try:
        parsed = _parse(wrapped.encode())
    except ParseError:
        assert refused
        return
    assert not refused
    for _ in range(depth):
        parsed = parsed[0]
    assert parsed == value


# --- decompression cost inside a request (no broker) ------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_without_a_worker_an_upload_reads_at_most_the_inline_limit(owner_client, settings, tmp_path):
    import gzip

    settings.LEAKLEDGER = {**settings.LEAKLEDGER, "INLINE_MAX_BYTES": 100_000}
    records = GLOBINS.read_bytes()  # 45 globins, about 12 kB
    copies = b"".join(records.replace(b">", b">copy%d_" % i) for i in range(20))  # valid: ids stay unique
    bomb = gzip.compress(copies)  # 240 kB decompressed from a small file
    response = owner_client.post(
        "/api/v1/datasets/globins/versions/",
        {"file": SimpleUploadedFile("many.fa.gz", bomb), "kind": "protein"},
        format="multipart",
    )
    body = assert_error_shape(response, 400, "input_rejected")
    assert "LEAKLEDGER_INLINE_MAX_BYTES" in body["detail"] and "register_dataset" in body["detail"]
    assert not DatasetVersion.objects.exists()
    small = owner_client.post(
        "/api/v1/datasets/globins/versions/",
        {"file": SimpleUploadedFile("globins.fa", records), "kind": "protein"},
        format="multipart",
    )
    assert small.status_code == 201, small.content
