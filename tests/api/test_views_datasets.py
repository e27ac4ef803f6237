"""Datasets, versions, records, uploads, splits and downloads, for the three personas."""

import hashlib
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from registry.models import Dataset, DatasetVersion, Job, Split

from .conftest import FIXTURES

pytestmark = pytest.mark.django_db

TEST_FASTA = FIXTURES / "flip_bind_split" / "test.fasta"
GLOBINS = FIXTURES / "hmmer_tutorial" / "globins45.fa"


def upload(client, url, path, **fields):
    data = {"file": SimpleUploadedFile(path.name, path.read_bytes()), **fields}
    return client.post(url, data, format="multipart")


def assert_error_shape(response, status, code=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"detail", "code", "fields"}, body
    assert isinstance(body["detail"], str) and body["detail"]
    if code is not None:
        assert body["code"] == code, body
    return body


# --- reads --------------------------------------------------------------------------------------


def test_anyone_reads_datasets_and_versions_by_name_and_uuid(anon_client, flip_test):
    listing = anon_client.get("/api/v1/datasets/").json()
    assert [d["name"] for d in listing["results"]] == ["flip-bind-test"]
    assert listing["results"][0]["version_count"] == 1
    assert listing["results"][0]["owner"] == "olivia"

    by_ref = anon_client.get("/api/v1/versions/flip-bind-test@1/").json()
    by_uuid = anon_client.get(f"/api/v1/versions/{flip_test.uuid}/").json()
    assert by_ref == by_uuid
    assert by_ref["digest"] == flip_test.digest and len(by_ref["digest"]) == 64
    assert by_ref["record_count"] == 250
    assert "id" not in by_ref and "pk" not in by_ref


def test_payloads_carry_no_integer_keys(anon_client, one_vs_many):
    body = anon_client.get(f"/api/v1/versions/{one_vs_many.ref}/").json()

    def walk(value, path=""):
        if isinstance(value, dict):
            for key, inner in value.items():
                assert key not in {"id", "pk"}, path + key
                walk(inner, f"{path}{key}.")
        elif isinstance(value, list):
            for inner in value:
                walk(inner, path)

    walk(body)
    assert body["splits"][0]["name"] == "one_vs_many"
    assert {p["name"]: p["record_count"] for p in body["splits"][0]["parts"]} == {"test": 250, "train": 1077}


def test_unknown_and_malformed_references_are_404_in_the_error_shape(anon_client, flip_test):
    assert_error_shape(anon_client.get("/api/v1/versions/flip-bind-test@9/"), 404, "not_found")
    assert_error_shape(anon_client.get("/api/v1/versions/no at sign/"), 404, "not_found")
    assert_error_shape(anon_client.get("/api/v1/datasets/nope/"), 404, "not_found")
    assert_error_shape(anon_client.get("/api/v1/splits/not-a-uuid/"), 404, "not_found")


def test_records_are_paginated_by_cursor_in_file_order(anon_client, flip_test):
    url = f"/api/v1/versions/{flip_test.ref}/records/?page_size=100"
    identifiers, pages = [], 0
    while url:
        body = anon_client.get(url).json()
        identifiers += [r["identifier"] for r in body["results"]]
        positions = [r["position"] for r in body["results"]]
        assert positions == sorted(positions)
        url, pages = body["next"], pages + 1
    assert pages == 3
    file_ids = [line[1:].split()[0] for line in TEST_FASTA.read_text().splitlines() if line.startswith(">")]
    assert identifiers == file_ids
    record = anon_client.get(f"/api/v1/versions/{flip_test.ref}/records/?identifier=P01887").json()[
        "results"
    ][0]
    assert record["sha256"] == hashlib.sha256(record["sequence"].encode()).hexdigest()
    assert record["length"] == len(record["sequence"]) == 119


def test_invalid_cursor_is_a_400_error(anon_client, flip_test):
    response = anon_client.get(f"/api/v1/versions/{flip_test.ref}/records/?cursor=garbage")
    assert_error_shape(response, 400, "invalid_cursor")


def test_filters_and_search(anon_client, flip_test, globins):
    assert [v["ref"] for v in anon_client.get("/api/v1/versions/?dataset=globins").json()["results"]] == [
        "globins@1"
    ]
    assert [
        v["ref"] for v in anon_client.get(f"/api/v1/versions/?digest={flip_test.digest}").json()["results"]
    ] == ["flip-bind-test@1"]
    assert (
        anon_client.get("/api/v1/versions/?role=benchmark").json()["results"][0]["ref"] == "flip-bind-test@1"
    )
    assert [d["name"] for d in anon_client.get("/api/v1/datasets/?search=glob").json()["results"]] == [
        "globins"
    ]
    assert_error_shape(anon_client.get("/api/v1/datasets/?kind=mineral"), 400, "invalid_choice")


def test_downloads_stream_the_records_with_their_sha256(anon_client, flip_test):
    response = anon_client.get(f"/api/v1/versions/{flip_test.ref}/records.fasta")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/x-fasta")
    content = b"".join(response.streaming_content)
    assert hashlib.sha256(content).hexdigest() == response["X-Content-SHA256"]
    headers = [line for line in content.decode().splitlines() if line.startswith(">")]
    assert len(headers) == 250 and headers[0] == ">P01887 SET=test VALIDATION=False"

    csv_response = anon_client.get(f"/api/v1/versions/{flip_test.ref}/records.csv")
    csv_content = b"".join(csv_response.streaming_content)
    assert hashlib.sha256(csv_content).hexdigest() == csv_response["X-Content-SHA256"]
    assert csv_content.decode().splitlines()[0] == "identifier,description,sequence"


# --- uploads ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_upload_registers_a_new_version_then_same_content_answers_200(owner_client, owner, settings):
    first = upload(
        owner_client, "/api/v1/datasets/globins/versions/", GLOBINS, kind="protein", license="BSD-3-Clause"
    )
    assert first.status_code == 201, first.content
    job = first.json()
    assert job["state"] == "succeeded" and job["kind"] == "ingest"
    assert job["result"]["created"] is True and job["result"]["records"] == 45
    assert first["Location"].endswith("/api/v1/versions/globins@1/")
    version = DatasetVersion.objects.get(dataset__name="globins")
    assert version.source_filename == "globins45.fa" and version.created_by == owner

    again = upload(owner_client, "/api/v1/versions/", GLOBINS, dataset="globins")
    assert again.status_code == 200, again.content
    assert again.json()["result"]["created"] is False
    assert again.json()["version_url"].endswith("/api/v1/versions/globins@1/")
    assert DatasetVersion.objects.filter(dataset__name="globins").count() == 1
    assert owner_client.get(again.json()["url"]).json()["state"] == "succeeded"
    uploads = settings.DATA_DIR / "uploads"  # both jobs ran in their requests and removed their folders
    assert not uploads.exists() or not any(uploads.iterdir()), list(uploads.rglob("*"))


@pytest.mark.django_db(transaction=True)
def test_upload_with_duplicates_reports_file_line_record(owner_client, tmp_path):
    bad = tmp_path / "bad.fasta"
    bad.write_text(">a\nMKV\n>b\nMK1V\n")
    response = upload(owner_client, "/api/v1/datasets/bad/versions/", bad, kind="protein")
    body = assert_error_shape(response, 400, "input_rejected")
    assert body["fields"]["file"] == "bad.fasta"  # the client's name, not the server's path
    assert body["fields"]["line"] == 4 and body["fields"]["record"] == "b"
    job = owner_client.get(body["fields"]["job"]).json()
    assert job["state"] == "failed" and job["error"]["record"] == "b"
    assert not Dataset.objects.filter(name="bad").exists()


def test_upload_without_a_worker_is_accepted_with_a_job_to_poll(
    owner_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(owner_client, "/api/v1/datasets/flip-test/versions/", TEST_FASTA, kind="protein")
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["state"] == "pending" and response["Location"] == job["url"]
    assert len(callbacks) == 1
    callbacks[0]()  # what a worker would do
    polled = owner_client.get(job["url"]).json()
    assert polled["state"] == "succeeded" and polled["result"]["records"] == 250
    assert polled["version_url"].endswith("/api/v1/versions/flip-test@1/")
    assert DatasetVersion.objects.get(dataset__name="flip-test").record_count == 250


def test_uploads_need_a_token(anon_client):
    response = upload(anon_client, "/api/v1/datasets/x/versions/", GLOBINS, kind="protein")
    assert_error_shape(response, 401, "not_authenticated")


def test_only_the_owner_adds_versions(other_client, globins):
    response = upload(other_client, "/api/v1/datasets/globins/versions/", TEST_FASTA)
    assert_error_shape(response, 403, "permission_denied")
    response = upload(other_client, "/api/v1/versions/", TEST_FASTA, dataset="globins")
    assert_error_shape(response, 403, "permission_denied")
    assert not Job.objects.filter(kind="ingest").exists()


def test_group_members_may_add_versions(other, other_client, globins, django_capture_on_commit_callbacks):
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="globin-lab")
    other.groups.add(group)
    Dataset.objects.filter(pk=globins.dataset_id).update(group=group)
    with django_capture_on_commit_callbacks(execute=False):
        response = upload(other_client, "/api/v1/datasets/globins/versions/", TEST_FASTA)
    assert response.status_code == 202


def test_upload_form_errors(owner_client, globins):
    body = assert_error_shape(
        owner_client.post("/api/v1/datasets/new/versions/", {}, format="multipart"), 400
    )
    assert "file" in body["fields"]
    body = assert_error_shape(upload(owner_client, "/api/v1/datasets/new/versions/", GLOBINS), 400)
    assert "kind" in body["fields"]
    body = assert_error_shape(
        upload(owner_client, "/api/v1/datasets/globins/versions/", GLOBINS, kind="dna"), 409
    )
    body = assert_error_shape(
        upload(owner_client, "/api/v1/datasets/globins/versions/", GLOBINS, derived_from="globins@1"), 400
    )
    assert "transform" in body["fields"]
    assert_error_shape(
        owner_client.post("/api/v1/datasets/globins/versions/", {"kind": "protein"}, format="json"), 415
    )


def test_upload_over_the_limit_is_413_from_content_length(owner_client, settings):
    settings.LEAKLEDGER = {**settings.LEAKLEDGER, "MAX_FILE_BYTES": 1000}
    big = b">x\n" + b"M" * 3_000_000 + b"\n"  # Content-Length far over the limit plus multipart slack
    data = {"file": SimpleUploadedFile("big.fasta", big), "kind": "protein"}
    body = assert_error_shape(
        owner_client.post("/api/v1/datasets/big/versions/", data, format="multipart"), 413
    )
    assert "1,000 bytes" in body["detail"]
    assert (
        not list((settings.DATA_DIR / "uploads").glob("*/*"))
        if (settings.DATA_DIR / "uploads").exists()
        else True
    )


def test_upload_over_the_limit_is_413_while_streaming(owner_client, settings):
    settings.LEAKLEDGER = {**settings.LEAKLEDGER, "MAX_FILE_BYTES": 20_000}
    data = {"file": SimpleUploadedFile("test.fasta", TEST_FASTA.read_bytes()), "kind": "protein"}
    body = assert_error_shape(
        owner_client.post("/api/v1/datasets/big/versions/", data, format="multipart"), 413
    )
    assert "LEAKLEDGER_MAX_FILE_BYTES" in body["detail"]
    uploads = settings.DATA_DIR / "uploads"
    assert not uploads.exists() or not any(uploads.rglob("*.fasta")), "the partial upload must be removed"


# --- immutability -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_versions_and_records_are_immutable(owner_client, flip_test, method):
    body = assert_error_shape(getattr(owner_client, method)(f"/api/v1/versions/{flip_test.ref}/"), 405)
    assert "register a new version" in body["detail"]
    assert_error_shape(getattr(owner_client, method)(f"/api/v1/versions/{flip_test.ref}/records/"), 405)
    assert DatasetVersion.objects.filter(pk=flip_test.pk).exists()


# --- splits -------------------------------------------------------------------------------------


def test_owner_registers_a_split_from_headers_and_others_cannot(
    owner_client, other_client, anon_client, flip_test
):
    url = f"/api/v1/versions/{flip_test.ref}/splits/"
    assert_error_shape(anon_client.post(url, {"name": "by-set", "from_header": "SET"}, format="json"), 401)
    assert_error_shape(other_client.post(url, {"name": "by-set", "from_header": "SET"}, format="json"), 403)
    response = owner_client.post(url, {"name": "by-set", "from_header": "SET"}, format="json")
    assert response.status_code == 201, response.content
    split = response.json()
    assert [(p["name"], p["role"], p["record_count"]) for p in split["parts"]] == [("test", "test", 250)]
    assert split["parts"][0]["ref"] == "flip-bind-test@1/by-set:test"
    again = owner_client.post(url, {"name": "by-set", "from_header": "SET"}, format="json")
    assert_error_shape(again, 409, "conflict")
    assert anon_client.get(url).json()[0]["name"] == "by-set"
    part_records = anon_client.get(split["parts"][0]["records_url"] + "?page_size=1000").json()["results"]
    assert len(part_records) == 250


def test_a_part_lists_its_own_records_in_file_order_page_by_page(anon_client, owner, flip_test, tmp_path):
    """Interleaved parts of one version (and a second version with the same ids): each part's pages hold
    its records alone, in file order, whatever the page size, with filters and search."""
    from urllib.parse import urlsplit

    from registry.services import dataset_version_register, split_register

    dataset_version_register(path=TEST_FASTA, dataset_name="same-ids", kind="protein", user=owner)
    ids = [
        r["identifier"]
        for r in anon_client.get(f"/api/v1/versions/{flip_test.ref}/records/?page_size=1000").json()[
            "results"
        ]
    ]
    mapping = tmp_path / "thirds.json"
    mapping.write_text(json.dumps({"a": ids[0::3], "b": ids[1::3] + ids[2::3]}))
    split = split_register(version_ref=flip_test.ref, name="thirds", mapping_path=mapping, user=owner)
    part_a = split.parts.get(name="a")
    url, seen = f"/api/v1/parts/{part_a.uuid}/records/?page_size=7", []
    while url:
        body = anon_client.get(url).json()
        assert len(body["results"]) <= 7
        seen += [r["identifier"] for r in body["results"]]
        url = body["next"] and urlsplit(body["next"])._replace(scheme="", netloc="").geturl()
    assert seen == ids[0::3]
    base = f"/api/v1/parts/{part_a.uuid}/records/"
    assert [r["identifier"] for r in anon_client.get(base, {"identifier": ids[3]}).json()["results"]] == [
        ids[3]
    ]
    assert anon_client.get(base, {"identifier": ids[1]}).json()["results"] == []  # in part b
    term = ids[6][:4]
    in_version = anon_client.get(
        f"/api/v1/versions/{flip_test.ref}/records/", {"search": term, "page_size": 1000}
    )
    expected = [r["identifier"] for r in in_version.json()["results"] if r["identifier"] in set(ids[0::3])]
    found = anon_client.get(base, {"search": term, "page_size": 1000}).json()["results"]
    assert [r["identifier"] for r in found] == expected and ids[6] in expected


def test_split_from_a_mapping_rejects_shared_ids_unless_allowed(owner_client, owner):
    from registry.services import dataset_version_register

    version = dataset_version_register(
        path=FIXTURES / "flip_bind_split" / "one_vs_many.fasta", dataset_name="fb", kind="protein", user=owner
    ).version
    mapping = json.loads((FIXTURES / "flip_bind_split" / "one_vs_many.json").read_text())
    url = f"/api/v1/versions/{version.ref}/splits/"
    body = assert_error_shape(owner_client.post(url, {"name": "ovm", "mapping": mapping}, format="json"), 400)
    assert len(body["fields"]["shared_ids"]) == 13
    response = owner_client.post(
        url, {"name": "ovm", "mapping": mapping, "allow_shared_ids": True}, format="json"
    )
    assert response.status_code == 201, response.content
    assert Split.objects.get(version=version).shared_ids_allowed
    unknown = owner_client.post(url, {"name": "bad", "mapping": {"test": ["nope"]}}, format="json")
    assert "nope" in assert_error_shape(unknown, 400, "input_rejected")["fields"]["unknown_ids"]


def test_split_and_part_resources(anon_client, one_vs_many):
    splits = anon_client.get(f"/api/v1/splits/?version={one_vs_many.ref}").json()["results"]
    assert [s["name"] for s in splits] == ["one_vs_many"]
    detail = anon_client.get(splits[0]["url"]).json()
    test_part = next(p for p in detail["parts"] if p["name"] == "test")
    part = anon_client.get(test_part["url"]).json()
    assert part["version"] == one_vs_many.ref and part["split"] == "one_vs_many" and part["role"] == "test"
    parts = anon_client.get("/api/v1/parts/?role=train").json()["results"]
    assert [p["ref"] for p in parts] == [f"{one_vs_many.ref}/one_vs_many:train"]


# --- derivations and lineage --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_derived_upload_records_lineage_both_ways(owner_client, globins, tmp_path):
    subset = tmp_path / "globins-short.fa"
    records = GLOBINS.read_text().split(">")[1:11]
    subset.write_text("".join(">" + r for r in records))
    response = upload(
        owner_client,
        "/api/v1/datasets/globins-short/versions/",
        subset,
        kind="protein",
        derived_from="globins@1",
        transform="first 10 records",
    )
    assert response.status_code == 201, response.content
    edges = owner_client.get("/api/v1/derivations/?source=globins@1").json()["results"]
    assert [(e["source"], e["target"], e["transform"]) for e in edges] == [
        ("globins@1", "globins-short@1", "first 10 records")
    ]
    lineage = owner_client.get("/api/v1/versions/globins@1/lineage/").json()
    assert [e["target"] for e in lineage["descendants"]] == ["globins-short@1"]
    child = owner_client.get("/api/v1/versions/globins-short@1/lineage/").json()
    assert [e["source"] for e in child["ancestors"]] == ["globins@1"]
    missing = upload(
        owner_client,
        "/api/v1/datasets/x/versions/",
        subset,
        kind="protein",
        derived_from="no@1",
        transform="t",
    )
    assert_error_shape(missing, 404, "not_found")


def test_split_mapping_as_a_file_for_large_mappings(owner_client, owner, settings):
    from registry.services import dataset_version_register

    version = dataset_version_register(
        path=FIXTURES / "flip_bind_split" / "one_vs_many.fasta", dataset_name="fb", kind="protein", user=owner
    ).version
    mapping = FIXTURES / "flip_bind_split" / "one_vs_many.json"
    response = owner_client.post(
        f"/api/v1/versions/{version.ref}/splits/",
        {
            "name": "ovm",
            "mapping_file": SimpleUploadedFile("ovm.json", mapping.read_bytes()),
            "allow_shared_ids": "true",
            "roles": '{"train": "train", "test": "test"}',
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert {p["name"]: p["record_count"] for p in response.json()["parts"]} == {"test": 250, "train": 1077}
    uploads = settings.DATA_DIR / "uploads"
    assert not uploads.exists() or not any(uploads.rglob("*"))
    bad_roles = owner_client.post(
        f"/api/v1/versions/{version.ref}/splits/",
        {"name": "x", "mapping_file": SimpleUploadedFile("m.json", b"{}"), "roles": '{"a": "holdout"}'},
        format="multipart",
    )
    assert "roles" in assert_error_shape(bad_roles, 400)["fields"]
    broken = owner_client.post(
        f"/api/v1/versions/{version.ref}/splits/",
        {"name": "y", "mapping_file": SimpleUploadedFile("m.json", b'{"test": [1]')},
        format="multipart",
    )
    assert assert_error_shape(broken, 400, "input_rejected")["detail"].startswith("m.json, line 1")


def test_json_bodies_over_the_memory_limit_are_413_with_advice(owner_client, flip_test, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    mapping = {"test": [f"id{i:07d}" for i in range(2000)]}
    response = owner_client.post(
        f"/api/v1/versions/{flip_test.ref}/splits/", {"name": "big", "mapping": mapping}, format="json"
    )
    body = assert_error_shape(response, 413, "payload_too_large")
    assert "mapping_file" in body["detail"]
