"""The browsable API (session login) renders every resource, and session uploads pass CSRF and stream."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from registry.models import DatasetVersion

from .conftest import FIXTURES

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/",
        "/api/v1/datasets/",
        "/api/v1/datasets/flip-bind/",
        "/api/v1/datasets/flip-bind/versions/",
        "/api/v1/versions/",
        "/api/v1/versions/flip-bind@1/",
        "/api/v1/versions/flip-bind@1/records/",
        "/api/v1/versions/flip-bind@1/splits/",
        "/api/v1/versions/flip-bind@1/lineage/",
        "/api/v1/model-versions/",
        "/api/v1/evaluations/",
        "/api/v1/jobs/",
        "/api/v1/overlap-reports/",
        "/api/v1/parts/",
        "/api/v1/splits/",
    ],
)
def test_browsable_pages_render_for_a_logged_in_user(one_vs_many, owner, path):
    client = APIClient()
    client.force_login(owner)
    response = client.get(path, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db(transaction=True)
def test_session_upload_needs_the_csrf_token_and_streams_to_disk(owner, settings):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(owner)
    data = {
        "file": SimpleUploadedFile("g.fa", (FIXTURES / "hmmer_tutorial" / "globins45.fa").read_bytes()),
        "kind": "protein",
    }
    refused = client.post("/api/v1/datasets/globins/versions/", data, format="multipart")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    client.get("/api/v1/datasets/", HTTP_ACCEPT="text/html")  # the browsable page sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    data["file"].seek(0)
    wrong = client.post(
        "/api/v1/datasets/globins/versions/", data, format="multipart", HTTP_X_CSRFTOKEN="x" * 32
    )
    assert wrong.status_code == 403  # refused after the body was read: the stored file must be gone
    uploads = settings.DATA_DIR / "uploads"
    assert not uploads.exists() or not any(uploads.rglob("*")), list(uploads.rglob("*"))
    data["file"].seek(0)
    accepted = client.post(
        "/api/v1/datasets/globins/versions/", data, format="multipart", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 201, accepted.content
    assert DatasetVersion.objects.get(dataset__name="globins").source_filename == "g.fa"
    assert not any((settings.DATA_DIR / "uploads").rglob("g.fa"))  # the job removed its copy
