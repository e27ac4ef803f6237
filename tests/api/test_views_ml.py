"""Models, model versions, evaluations, lineage, jobs, and the overlap endpoints."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from registry.models import Evaluation, EvaluationScore, ModelVersion

from .conftest import FIXTURES
from .test_views_datasets import assert_error_shape

pytestmark = pytest.mark.django_db


def register_model(client, ref="binder@1", trained_on=("flip-bind@1/one_vs_many:train",), **extra):
    return client.post(
        "/api/v1/model-versions/", {"ref": ref, "trained_on": list(trained_on), **extra}, format="json"
    )


def test_register_model_version_and_read_it_back(owner_client, anon_client, one_vs_many):
    response = register_model(owner_client, parameters={"lr": 0.001}, code_url="https://example.org/code")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["ref"] == "binder@1" and body["trained_on"] == ["flip-bind@1/one_vs_many:train"]
    assert response["Location"] == body["url"]
    assert body.pop("created") is True and body.pop("warnings") == []  # the answer of the registration only
    assert anon_client.get("/api/v1/model-versions/binder@1/").json() == body
    assert anon_client.get("/api/v1/models/binder/").json()["version_count"] == 1
    listed = anon_client.get("/api/v1/model-versions/?trained_on=flip-bind@1/one_vs_many:train").json()
    assert [m["ref"] for m in listed["results"]] == ["binder@1"]


def test_model_versions_are_immutable_and_owned(owner_client, other_client, anon_client, one_vs_many):
    assert register_model(owner_client).status_code == 201
    assert register_model(owner_client).status_code == 200  # identical: the existing version
    assert_error_shape(register_model(owner_client, trained_on=("flip-bind@1",)), 409, "conflict")
    assert_error_shape(register_model(anon_client, ref="binder@2"), 401)
    assert_error_shape(register_model(other_client, ref="binder@2"), 403, "permission_denied")
    body = assert_error_shape(owner_client.patch("/api/v1/model-versions/binder@1/", {}, format="json"), 405)
    assert "immutable" in body["detail"]


def test_model_version_input_errors(owner_client, one_vs_many):
    assert_error_shape(register_model(owner_client, ref="no-version"), 400, "invalid")
    assert_error_shape(register_model(owner_client, trained_on=()), 400)
    assert_error_shape(
        register_model(owner_client, trained_on=("flip-bind@1/one_vs_many:nope",)), 404, "not_found"
    )
    body = assert_error_shape(
        owner_client.post("/api/v1/model-versions/", "{", content_type="application/json"), 400
    )
    assert body["code"] == "parse_error"


def test_fine_tuned_lineage_includes_the_base_training_sets(owner_client, anon_client, one_vs_many, globins):
    assert register_model(owner_client, ref="base@1", trained_on=("globins@1",)).status_code == 201
    response = register_model(owner_client, ref="tuned@1", trained_on=(), base="base@1")
    assert response.status_code == 201, response.content
    lineage = anon_client.get("/api/v1/model-versions/tuned@1/lineage/").json()
    assert lineage["bases"] == ["base@1"]
    assert [rs["ref"] for rs in lineage["training_ancestry"]] == ["globins@1"]
    assert register_model(owner_client, ref="tuned@2", trained_on=(), base="tuned@1").status_code == 201
    assert anon_client.get("/api/v1/model-versions/base@1/lineage/").json()["fine_tuned"] == [
        "tuned@1",
        "tuned@2",
    ]
    lineage = anon_client.get("/api/v1/model-versions/tuned@2/lineage/").json()
    assert lineage["bases"] == ["tuned@1", "base@1"]
    assert [rs["ref"] for rs in lineage["training_ancestry"]] == ["globins@1"]


def test_record_an_evaluation_with_scores_and_cite_it(owner_client, anon_client, other_client, one_vs_many):
    assert register_model(owner_client).status_code == 201
    payload = {
        "model_version": "binder@1",
        "on": "flip-bind@1/one_vs_many:test",
        "metrics": {"auc": 0.91},
        "code_ref": "git:abc123",
    }
    assert_error_shape(other_client.post("/api/v1/evaluations/", payload, format="json"), 403)
    response = owner_client.post("/api/v1/evaluations/", payload, format="json")
    assert response.status_code == 201, response.content
    evaluation = response.json()
    assert evaluation["record_set"] == "flip-bind@1/one_vs_many:test"
    assert evaluation["metrics"] == {"auc": 0.91}
    assert evaluation["contamination"] is None  # computed in the background (not run inside this test)
    assert anon_client.get(evaluation["url"]).json()["uuid"] == evaluation["uuid"]
    lineage = anon_client.get(evaluation["lineage_url"]).json()
    assert [rs["ref"] for rs in lineage["training_ancestry"]] == ["flip-bind@1/one_vs_many:train"]
    assert lineage["evaluated_on"]["ref"] == "flip-bind@1/one_vs_many:test"
    pending = anon_client.get(f"{evaluation['url']}contamination/")
    assert_error_shape(pending, 404, "not_ready")
    for method in ("put", "patch", "delete"):
        body = assert_error_shape(getattr(owner_client, method)(evaluation["url"]), 405)
        assert "immutable" in body["detail"]
    assert Evaluation.objects.count() == 1

    # per-record scores, only for records of the evaluated part
    part = anon_client.get("/api/v1/parts/?role=test").json()["results"][0]
    ids = [r["identifier"] for r in anon_client.get(part["records_url"] + "?page_size=2").json()["results"]]
    scored = owner_client.post(
        "/api/v1/evaluations/",
        {**payload, "scores": {ids[0]: {"auc": 1.0}, ids[1]: {"auc": 0.0}}},
        format="json",
    )
    assert scored.status_code == 201, scored.content
    assert scored.json()["scores_metric_names"] == ["auc"]
    assert EvaluationScore.objects.filter(evaluation__uuid=scored.json()["uuid"]).count() == 2
    outside = owner_client.post(
        "/api/v1/evaluations/", {**payload, "scores": {"not-a-record": {"auc": 1.0}}}, format="json"
    )
    assert_error_shape(outside, 400, "input_rejected")
    nan = owner_client.post("/api/v1/evaluations/", {**payload, "metrics": {"auc": "nan"}}, format="json")
    assert "metrics" in assert_error_shape(nan, 400)["fields"]


def test_jobs_are_listed_for_their_owner_only(
    owner_client, other_client, anon_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        response = owner_client.post(
            "/api/v1/datasets/globins/versions/",
            {
                "file": SimpleUploadedFile(
                    "g.fa", (FIXTURES / "hmmer_tutorial" / "globins45.fa").read_bytes()
                ),
                "kind": "protein",
            },
            format="multipart",
        )
    job = response.json()
    assert [j["uuid"] for j in owner_client.get("/api/v1/jobs/").json()["results"]] == [job["uuid"]]
    assert other_client.get("/api/v1/jobs/").json()["results"] == []
    assert anon_client.get("/api/v1/jobs/").json()["results"] == []
    assert anon_client.get(job["url"]).json()["state"] == "pending"  # the UUID is the capability
    assert "payload" not in job  # server paths stay on the server
    assert_error_shape(anon_client.get("/api/v1/jobs/00000000-0000-0000-0000-000000000000/"), 404)


@pytest.mark.django_db(transaction=True)
def test_standing_overlap_reports_and_contamination(owner_client, anon_client, owner):
    """End to end with the overlap service running eagerly: FLIP's 13 shared ids leak from train to test."""
    from registry.services import dataset_version_register, split_register

    version = dataset_version_register(
        path=FIXTURES / "flip_bind_split" / "one_vs_many.fasta",
        dataset_name="flip-bind",
        kind="protein",
        user=owner,
    ).version
    split_register(
        version_ref=version.ref,
        name="one_vs_many",
        mapping_path=FIXTURES / "flip_bind_split" / "one_vs_many.json",
        allow_shared_ids=True,
        user=owner,
    )
    reports = anon_client.get("/api/v1/overlap-reports/?query_set=flip-bind@1/one_vs_many:test").json()[
        "results"
    ]
    assert [(r["query_set"], r["reference_set"]) for r in reports] == [
        ("flip-bind@1/one_vs_many:test", "flip-bind@1/one_vs_many:train")
    ]
    report = anon_client.get(reports[0]["url"]).json()
    hits = anon_client.get(report["hits_url"] + "?page_size=1000").json()["results"]
    exact = {h["query"] for h in hits if h["tier"] == "exact"}
    assert len(exact) >= 13
    overlap = anon_client.get(f"/api/v1/versions/{version.ref}/overlap/").json()
    assert overlap["record_set"] == version.ref

    assert register_model(owner_client).status_code == 201
    evaluation = owner_client.post(
        "/api/v1/evaluations/",
        {"model_version": "binder@1", "on": "flip-bind@1/one_vs_many:test", "metrics": {"auc": 0.9}},
        format="json",
    ).json()
    detail = anon_client.get(evaluation["url"]).json()
    assert detail["contamination"] is not None
    full = anon_client.get(evaluation["url"] + "contamination/").json()
    assert len({c["query"] for c in full["contaminated"]}) >= 13
    assert ModelVersion.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_ad_hoc_query_with_a_file_and_with_a_reference(owner_client, anon_client, one_vs_many, settings):
    path = FIXTURES / "flip_bind_split" / "test.fasta"
    assert_error_shape(
        anon_client.post("/api/v1/overlap/query/", {"record_set": "flip-bind@1"}, format="json"), 401
    )
    response = owner_client.post(
        "/api/v1/overlap/query/",
        {
            "file": SimpleUploadedFile("test.fasta", path.read_bytes()),
            "against": ["flip-bind@1/one_vs_many:train"],
            "kind": "protein",
        },
        format="multipart",
    )
    assert response.status_code == 200, response.content
    job = response.json()
    assert job["kind"] == "query" and job["state"] == "succeeded"
    assert job["result"]["query_records"] == 250
    assert job["result"]["references"][0]["ref"] == "flip-bind@1/one_vs_many:train"
    uploads = settings.DATA_DIR / "uploads"  # the query ran in its request and removed its folder
    assert not uploads.exists() or not any(uploads.iterdir()), list(uploads.rglob("*"))
    by_ref = owner_client.post(
        "/api/v1/overlap/query/",
        {"record_set": "flip-bind@1/one_vs_many:test", "against": ["flip-bind@1/one_vs_many:train"]},
        format="json",
    )
    assert by_ref.status_code == 200, by_ref.content
    assert by_ref.json()["result"]["summary"] == job["result"]["summary"]
    both = owner_client.post("/api/v1/overlap/query/", {}, format="json")
    assert_error_shape(both, 400)
    unknown = owner_client.post("/api/v1/overlap/query/", {"record_set": "nope@1"}, format="json")
    assert_error_shape(unknown, 404, "not_found")


def test_evaluation_scores_as_a_file(owner_client, anon_client, one_vs_many):
    assert register_model(owner_client).status_code == 201
    part = anon_client.get("/api/v1/parts/?role=test").json()["results"][0]
    ids = [r["identifier"] for r in anon_client.get(part["records_url"] + "?page_size=3").json()["results"]]
    scores = "id\tauc\tf1\n" + "".join(f"{i}\t0.{n}\t0.5\n" for n, i in enumerate(ids, start=1))
    response = owner_client.post(
        "/api/v1/evaluations/",
        {
            "model_version": "binder@1",
            "on": "flip-bind@1/one_vs_many:test",
            "metrics": '{"auc": 0.9}',
            "scores_file": SimpleUploadedFile("scores.tsv", scores.encode()),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["scores_metric_names"] == ["auc", "f1"]
    assert EvaluationScore.objects.filter(evaluation__uuid=response.json()["uuid"]).count() == 6
    bad = owner_client.post(
        "/api/v1/evaluations/",
        {
            "model_version": "binder@1",
            "on": "flip-bind@1/one_vs_many:test",
            "metrics": '{"auc": 0.9}',
            "scores_file": SimpleUploadedFile("scores.tsv", b"id\tauc\nnope\t1\n"),
        },
        format="multipart",
    )
    body = assert_error_shape(bad, 400, "input_rejected")
    assert body["detail"].startswith("scores.tsv, line 2") and "nope" in body["detail"]  # no server path
    assert (
        "metrics"
        in assert_error_shape(
            owner_client.post(
                "/api/v1/evaluations/",
                {"model_version": "binder@1", "on": "flip-bind@1/one_vs_many:test", "metrics": "[1]"},
                format="multipart",
            ),
            400,
        )["fields"]
    )
