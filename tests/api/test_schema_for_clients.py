"""What generated clients rely on: one body type per operation, typed and nullable components,
one operation per citation format, downloads whatever the Accept, Bearer or Token keys."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from registry.services.ml import evaluation_record, model_version_register

from .conftest import FIXTURES


@pytest.fixture
def schema(anon_client):
    response = anon_client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_every_request_body_has_one_media_type(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody")
            if body is not None:
                assert len(body["content"]) == 1, (method, path, list(body["content"]))


def test_overlap_query_file_and_record_set_are_separate_components(schema):
    by_file = schema["paths"]["/api/v1/overlap/query/"]["post"]["requestBody"]["content"]
    by_set = schema["paths"]["/api/v1/overlap/query/record-set/"]["post"]["requestBody"]["content"]
    assert by_file["multipart/form-data"]["schema"]["$ref"].endswith("/OverlapQueryFile")
    assert by_set["application/json"]["schema"]["$ref"].endswith("/OverlapQueryRecordSet")
    components = schema["components"]["schemas"]
    assert "file" in components["OverlapQueryFile"]["required"]
    assert "record_set" in components["OverlapQueryRecordSet"]["required"]
    assert "record_set" not in components["OverlapQueryFile"]["properties"]


def test_contamination_is_nullable_and_reports_are_typed(schema):
    components = schema["components"]["schemas"]
    contamination = components["Evaluation"]["properties"]["contamination"]
    assert contamination.get("nullable") is True
    assert contamination["allOf"][0]["$ref"].endswith("/EvaluationContamination")
    operation = schema["paths"]["/api/v1/evaluations/{uuid}/contamination/"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ContaminationReport"
    )
    assert components["ThresholdRow"]["properties"]["recall"]["nullable"] is True
    for field, component in (("progress", "JobProgress"), ("result", "JobResult")):
        documented = components["Job"]["properties"][field]
        ref = documented.get("$ref") or documented["allOf"][0]["$ref"]  # allOf when readOnly sits beside it
        assert ref.endswith(f"/{component}")
    assert schema["servers"][0]["url"]
    assert schema["components"]["securitySchemes"]["tokenAuth"]["type"] == "apiKey"


def test_pending_contamination_is_null_in_the_answer(owner_client, one_vs_many, owner, settings):
    """Recorded without its report yet (the service left it to a worker that has not run): null."""
    model_version_register(ref="binder@1", trained_on=["flip-bind@1/one_vs_many:train"], user=owner)
    evaluation = evaluation_record(
        model_ref="binder@1", on_ref="flip-bind@1/one_vs_many:test", metrics={"auc": 0.9}, user=owner
    )
    evaluation.contamination_reports.all().delete()
    body = owner_client.get(f"/api/v1/evaluations/{evaluation.uuid}/").json()
    assert body["contamination"] is None


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [
        ("bibtex", "application/x-bibtex"),
        ("cff", "application/x-yaml"),
        ("csl", "application/vnd.citationstyles.csl+json"),
        ("datacite", "application/vnd.datacite.datacite+json"),
    ],
)
def test_one_operation_per_citation_format(anon_client, one_vs_many, fmt, media_type):
    per_format = anon_client.get(f"/api/v1/versions/{one_vs_many.ref}/cite/{fmt}/")
    assert per_format.status_code == 200
    assert per_format["Content-Type"].startswith(media_type)
    by_param = anon_client.get(f"/api/v1/versions/{one_vs_many.ref}/cite/?format={fmt}")
    assert per_format.content == by_param.content


def test_text_citations_also_as_text_plain_and_format_beats_accept(anon_client, one_vs_many):
    plain = anon_client.get(f"/api/v1/versions/{one_vs_many.ref}/cite/bibtex/", HTTP_ACCEPT="text/plain")
    assert plain.status_code == 200 and plain["Content-Type"].startswith("text/plain")
    assert plain.content.decode().startswith("@misc{")
    # A generated client sends the first documented media type as Accept beside ?format=.
    mixed = anon_client.get(
        f"/api/v1/versions/{one_vs_many.ref}/cite/?format=bibtex",
        HTTP_ACCEPT="application/vnd.citationstyles.csl+json",
    )
    assert mixed.status_code == 200 and mixed["Content-Type"].startswith("application/x-bibtex")


@pytest.mark.parametrize("accept", ["application/json", "text/html", "*/*", None])
def test_records_fasta_whatever_the_accept(anon_client, one_vs_many, accept):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = anon_client.get(f"/api/v1/versions/{one_vs_many.ref}/records.fasta", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/x-fasta")
    assert b"".join(response.streaming_content).count(b">") == one_vs_many.record_count


@pytest.mark.parametrize("scheme", ["Token", "Bearer", "bearer"])
def test_token_or_bearer(owner, one_vs_many, scheme):
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=owner)
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {token.key}")
    model = client.post(
        "/api/v1/model-versions/", {"ref": "m@1", "trained_on": [f"{one_vs_many.ref}"]}, format="json"
    )
    assert model.status_code == 201, model.content
    assert model.json()["created_by"] == owner.username


def test_bad_bearer_is_401_in_the_error_shape(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-key")
    response = client.post("/api/v1/model-versions/", {"ref": "m@1"}, format="json")
    assert response.status_code == 401
    assert set(response.json()) == {"detail", "code", "fields"}


def test_split_and_scores_files_at_their_own_paths(owner_client, one_vs_many, owner):
    mapping = FIXTURES / "flip_bind_split" / "one_vs_many.json"
    with open(mapping, "rb") as handle:
        split = owner_client.post(
            f"/api/v1/versions/{one_vs_many.ref}/splits/upload/",
            {"name": "again", "mapping_file": handle, "allow_shared_ids": "true"},
            format="multipart",
        )
    assert split.status_code == 201, split.content
    assert {p["name"]: p["record_count"] for p in split.json()["parts"]} == {"test": 250, "train": 1077}
    model_version_register(ref="binder@1", trained_on=["flip-bind@1/again:train"], user=owner)
    with open(FIXTURES / "flip_bind_split" / "demo_scores.tsv", "rb") as handle:
        evaluation = owner_client.post(
            "/api/v1/evaluations/upload/",
            {
                "model_version": "binder@1",
                "on": "flip-bind@1/again:test",
                "metrics": '{"accuracy": 0.9}',
                "scores_file": handle,
            },
            format="multipart",
        )
    assert evaluation.status_code == 201, evaluation.content
    assert evaluation.json()["scores_metric_names"] == ["accuracy"]


@pytest.mark.django_db(transaction=True)  # the job runs on commit, inside the request (no broker)
def test_record_set_query_path_takes_json_only(owner_client, one_vs_many, flip_test):
    answer = owner_client.post(
        "/api/v1/overlap/query/record-set/",
        {"record_set": flip_test.ref, "against": ["flip-bind@1/one_vs_many:train"]},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["result"]["query_records"] == 250
    multipart = owner_client.post(
        "/api/v1/overlap/query/record-set/", {"record_set": flip_test.ref}, format="multipart"
    )
    assert multipart.status_code == 415
    assert set(multipart.json()) == {"detail", "code", "fields"}


_TYPES = {
    "string": str,
    "object": dict,
    "array": list,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
}


def _schema_problems(value, schema: dict, components: dict, path: str = "") -> list[str]:
    """Where the answer breaks its schema: a required key missing, or a value of another type."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    for part in schema.get("allOf", []):
        return _schema_problems(value, part, components, path)
    if value is None:
        return []
    if "oneOf" in schema:
        branches = [_schema_problems(value, branch, components, path) for branch in schema["oneOf"]]
        return [] if any(not b for b in branches) else branches[0]
    expected = _TYPES.get(schema.get("type", ""))
    if expected is not None and not isinstance(value, expected):
        return [f"{path or '.'} is {type(value).__name__}, documented {schema['type']}"]
    problems: list[str] = []
    if isinstance(value, dict):
        problems += [f"{path}{key} missing" for key in schema.get("required", []) if key not in value]
        for key, inner in schema.get("properties", {}).items():
            if key in value:
                problems += _schema_problems(value[key], inner, components, f"{path}{key}.")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in set(value) - set(schema.get("properties", {})):
                problems += _schema_problems(value[key], extra, components, f"{path}{key}.")
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += _schema_problems(item, schema["items"], components, f"{path}{i}.")
    return problems


@pytest.mark.django_db(transaction=True)  # the report's jobs run on commit (eager), as without a broker
def test_a_real_contamination_report_has_every_key_its_component_requires(anon_client, one_vs_many, owner):
    """A generated client's from_dict fails on a required key the server no longer sends (settings_key)."""
    model_version_register(ref="binder@1", trained_on=["flip-bind@1/one_vs_many:train"], user=owner)
    evaluation = evaluation_record(
        model_ref="binder@1", on_ref="flip-bind@1/one_vs_many:test", metrics={"auc": 0.9}, user=owner
    )
    schema = anon_client.get("/api/v1/schema/?format=json").json()
    components = schema["components"]["schemas"]
    report = anon_client.get(f"/api/v1/evaluations/{evaluation.uuid}/contamination/")
    assert report.status_code == 200, report.content
    assert _schema_problems(report.json(), {"$ref": "#/ContaminationReport"}, components) == []
    summary = anon_client.get(f"/api/v1/evaluations/{evaluation.uuid}/").json()["contamination"]
    assert _schema_problems(summary, {"$ref": "#/EvaluationContamination"}, components) == []
    # the standing overlap report the contamination report is made of: its tiers' settings are objects
    [overlap] = report.json()["overlap_reports"]
    standing = anon_client.get(f"/api/v1/overlap-reports/{overlap}/").json()
    assert standing["method"]["tiers_run"]["exact"]["settings"], standing["method"]["tiers_run"]
    operation = schema["paths"]["/api/v1/overlap-reports/{uuid}/"]["get"]
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert _schema_problems(standing, answer, components) == []


def test_a_splits_attestations_are_documented_as_the_list_they_are(schema, owner_client, one_vs_many):
    split = one_vs_many.splits.get()
    listing = owner_client.get(f"/api/v1/splits/{split.uuid}/attestations/")
    assert listing.status_code == 200 and isinstance(listing.json(), list)
    operation = schema["paths"]["/api/v1/splits/{uuid}/attestations/"]["get"]
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert _schema_problems(listing.json(), answer, schema["components"]["schemas"]) == []
