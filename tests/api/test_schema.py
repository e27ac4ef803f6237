"""The OpenAPI schema validates, documents every error, and the Swagger page works offline."""

import re

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert out.stat().st_size > 10_000


def test_every_operation_documents_its_errors_with_the_error_shape(anon_client):
    schema = anon_client.get("/api/v1/schema/?format=json").json()
    assert sorted(schema["components"]["schemas"]["Error"]["required"]) == ["code", "detail", "fields"]
    operations = 0
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            operations += 1
            responses = operation["responses"]
            for status in ("401", "429"):
                ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/Error"), (path, method, status)
            if method == "post":
                assert {"400", "403", "415"} <= set(responses), (path, method)
            assert not any("{id}" in path or "{pk}" in path for path in schema["paths"])
    assert operations >= 30


def test_uploads_are_documented_as_binary_multipart(anon_client):
    schema = anon_client.get("/api/v1/schema/?format=json").json()
    body = schema["paths"]["/api/v1/datasets/{name}/versions/"]["post"]["requestBody"]["content"]
    ref = body["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert schema["components"]["schemas"][ref]["properties"]["file"]["format"] == "binary"
    assert "413" in schema["paths"]["/api/v1/datasets/{name}/versions/"]["post"]["responses"]


def test_swagger_ui_is_served_with_local_assets(anon_client):
    pytest.importorskip(
        "drf_spectacular_sidecar", reason="drf-spectacular-sidecar is missing from requirements.txt"
    )
    page = anon_client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in html
    # Nothing is loaded from another host (a CDN): every src/href/url() is a path on this server.
    # (Not a bare "cdn" substring: the page's random CSP nonce can spell it.)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//""", html)
    assert not re.search(r"jsdelivr|unpkg|cdnjs", html)
    asset = anon_client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and asset["Content-Type"] == "text/javascript"
    assert len(b"".join(asset.streaming_content)) > 100_000
    assert anon_client.get("/api/v1/docs/assets/..%2Fsettings.py").status_code == 404


def test_the_root_lists_every_collection(anon_client):
    root = anon_client.get("/api/v1/").json()
    assert root["datasets"].endswith("/api/v1/datasets/") and root["docs"].endswith("/api/v1/docs/")
    for url in root.values():
        if url.endswith("/query/"):
            continue
        assert anon_client.get(url).status_code == 200, url
