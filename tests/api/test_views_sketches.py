"""Sketch-only versions over the API: upload a .llsk file, read the version, downloads refused (409)."""

import gzip
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dedup.llsk import write_sketch
from dedup.params import SketchParams
from registry.models import Dataset, DatasetVersion, Record

from .conftest import FIXTURES

# Uploads run their job inside the request (eager mode) once the request commits: transactional tests.
pytestmark = pytest.mark.django_db(transaction=True)

TRAIN = FIXTURES / "flip_bind_split" / "train.fasta"


@pytest.fixture
def llsk(tmp_path):
    out = tmp_path / "private.llsk"
    write_sketch(TRAIN, out, kind="protein", skip_identical_duplicates=True)
    return out


def upload(client, url, path, **fields):
    data = {"file": SimpleUploadedFile(path.name, path.read_bytes()), **fields}
    return client.post(url, data, format="multipart")


def assert_error_shape(response, status, code=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"detail", "code", "fields"}, body
    if code is not None:
        assert body["code"] == code, body
    return body


def test_upload_a_sketch_registers_a_sketch_only_version(owner_client, llsk):
    response = upload(owner_client, "/api/v1/datasets/private-train/sketches/", llsk, role="training")
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["state"] == "succeeded" and job["result"]["sketch_only"] is True
    assert job["result"]["records"] == 1077
    version = owner_client.get("/api/v1/versions/private-train@1/").json()
    assert version["sketch_only"] is True and version["format"] == "llsk" and version["kind"] == "protein"
    assert version["digest"] == json.loads(gzip.decompress(llsk.read_bytes()).split(b"\n")[0])["digest"]
    assert version["role"] == "training"

    # The same file again: the existing version (200), nothing new.
    again = upload(owner_client, "/api/v1/datasets/private-train/sketches/", llsk)
    assert again.status_code == 200, again.content
    assert DatasetVersion.objects.filter(dataset__name="private-train").count() == 1


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/versions/private-train@1/records.fasta",
        "/api/v1/versions/private-train@1/records.csv",
        "/api/v1/versions/private-train@1/records/",
        "/api/v1/versions/private-train@1/croissant/",
    ],
)
def test_records_of_a_sketch_only_version_are_refused_with_a_message(owner_client, anon_client, llsk, path):
    assert upload(owner_client, "/api/v1/datasets/private-train/sketches/", llsk).status_code == 201
    for client in (owner_client, anon_client):
        body = assert_error_shape(client.get(path, HTTP_ACCEPT="*/*"), 409, "sketch_only")
        assert "sketch-only" in body["detail"] and "cannot be downloaded" in body["detail"]


def test_a_sketch_with_other_parameters_is_refused_naming_what_to_rerun(owner_client, tmp_path):
    other = tmp_path / "k6.llsk"
    write_sketch(
        TRAIN, other, kind="protein", params=SketchParams("protein", 6), skip_identical_duplicates=True
    )
    body = assert_error_shape(
        upload(owner_client, "/api/v1/datasets/private-train/sketches/", other), 400, "input_rejected"
    )
    assert "protein:k6" in body["detail"] and "leakledger sketch" in body["detail"]
    assert body["fields"]["line"] == 1
    assert not Dataset.objects.filter(name="private-train").exists() and not Record.objects.exists()


def test_a_fasta_file_is_not_a_sketch(owner_client):
    body = assert_error_shape(
        upload(owner_client, "/api/v1/datasets/private-train/sketches/", TRAIN), 400, "input_rejected"
    )
    assert "not a gzip-compressed sketch file" in body["detail"]


def test_sketch_uploads_need_a_token_and_the_dataset_owner(anon_client, other_client, owner_client, llsk):
    assert_error_shape(upload(anon_client, "/api/v1/datasets/x/sketches/", llsk), 401)
    assert upload(owner_client, "/api/v1/datasets/private-train/sketches/", llsk).status_code == 201
    assert_error_shape(upload(other_client, "/api/v1/datasets/private-train/sketches/", llsk), 403)


def test_the_schema_documents_the_sketch_upload(anon_client):
    schema = anon_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    op = schema["paths"]["/api/v1/datasets/{name}/sketches/"]["post"]
    body = op["requestBody"]["content"]
    assert list(body) == ["multipart/form-data"]
    ref = body["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "file" in schema["components"]["schemas"][ref]["properties"]
    version = schema["components"]["schemas"]["Version"]["properties"]
    assert version["sketch_only"]["type"] == "boolean"
