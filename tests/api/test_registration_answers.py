"""What the API's registrations answer (issue 12's leftovers): the CLI's warnings with codes, dataset
authors, and idempotent model registration (identical again: 200; different: 409 naming what differs)."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from registry.models import Dataset, Job, ModelVersion
from registry.services import jobs
from registry.services.warnings import evaluation_warnings, model_warnings, split_warnings

from .conftest import FIXTURES
from .test_views_datasets import assert_error_shape, upload

pytestmark = pytest.mark.django_db

TEST_FASTA = FIXTURES / "flip_bind_split" / "test.fasta"


def cli_json(*args) -> dict:
    out = io.StringIO()
    call_command(*[str(a) for a in args], "--json", stdout=out)
    return json.loads(out.getvalue())


def codes(body: dict) -> list[str]:
    return [w["code"] for w in body["warnings"]]


def by_code(body: dict, code: str) -> str:
    [message] = [w["message"] for w in body["warnings"] if w["code"] == code]
    return message


def register_model(client, ref="binder@1", trained_on=("flip-bind@1/one_vs_many:train",), **extra):
    return client.post(
        "/api/v1/model-versions/", {"ref": ref, "trained_on": list(trained_on), **extra}, format="json"
    )


# --- 1. warnings --------------------------------------------------------------------------------


def test_a_model_trained_on_a_benchmark_is_warned_about_in_the_clis_words(owner_client, flip_test):
    response = register_model(owner_client, ref="leaky@1", trained_on=("flip-bind-test@1",))
    assert response.status_code == 201, response.content
    body = response.json()
    assert codes(body) == ["trained_on_benchmark"], body["warnings"]
    message = by_code(body, "trained_on_benchmark")
    assert "leaky@1 is trained on flip-bind-test@1, a registered benchmark" in message
    assert [message] == model_warnings(ModelVersion.objects.get(model__name="leaky"))
    # the command line prints the same sentence for the same registration
    cli = cli_json("register_model", "leaky@2", "--trained-on", "flip-bind-test@1")
    assert cli["warnings"] == [message.replace("leaky@1", "leaky@2")]


def test_a_clean_model_has_no_warnings(owner_client, one_vs_many):
    body = register_model(owner_client).json()
    assert body["warnings"] == [] and body["created"] is True


def test_a_split_covering_a_tiny_fraction_is_warned_about(owner_client, one_vs_many):
    mapping = {"train": ["O60895", "P01887"], "test": ["Q9KQN0"]}
    response = owner_client.post(
        f"/api/v1/versions/{one_vs_many.ref}/splits/", {"name": "tiny", "mapping": mapping}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert codes(body) == ["split_coverage"]
    assert "the split covers 3 of 1,314 records" in body["warnings"][0]["message"]
    from registry.models import Split

    assert [body["warnings"][0]["message"]] == split_warnings(Split.objects.get(name="tiny"))
    assert response["Location"] == body["url"]
    # the published split covers everything: nothing to say
    assert owner_client.get(f"/api/v1/versions/{one_vs_many.ref}/splits/").status_code == 200


def test_an_evaluation_answers_its_warnings_and_the_contamination_pending(
    owner_client, one_vs_many, monkeypatch
):
    assert register_model(owner_client).status_code == 201
    monkeypatch.setattr(jobs, "job_enqueue", lambda job: None)  # a worker that has not got to it yet
    response = owner_client.post(
        "/api/v1/evaluations/",
        {
            "model_version": "binder@1",
            "on": "flip-bind@1/one_vs_many:test",
            "metrics": {"acc": 0.93},
            "scores": {"P01887": {"acc": 0.5}, "Q9KQN0": {"acc": 0.5}},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert codes(body) == ["scores_coverage", "metric_far_from_mean", "contamination_pending"], body
    assert by_code(body, "scores_coverage").startswith("scores cover 2 of 250 records (0.8%) for acc")
    assert "reported acc=0.93 is far from the mean of its per-record scores (0.5)" in by_code(
        body, "metric_far_from_mean"
    )
    assert by_code(body, "contamination_pending").startswith("pending")
    assert "no report yet, so no claim either way" in by_code(body, "contamination_pending")
    from registry.models import Evaluation

    evaluation = Evaluation.objects.get(uuid=body["uuid"])
    assert [w["message"] for w in body["warnings"][:2]] == evaluation_warnings(evaluation)


@pytest.mark.django_db(transaction=True)  # jobs run on commit (eager), as in the CLI without a broker
def test_an_evaluation_answers_the_contamination_headline_the_cli_prints(owner_client, one_vs_many):
    assert register_model(owner_client).status_code == 201
    payload = {"model_version": "binder@1", "on": "flip-bind@1/one_vs_many:test", "metrics": {"mcc": 0.43}}
    body = owner_client.post("/api/v1/evaluations/", payload, format="json").json()
    assert codes(body) == ["contamination"], body
    headline = by_code(body, "contamination")
    # the 13 records the published split puts in both parts
    assert headline.startswith("exact 13 of 250 test records (5.2%)"), headline
    human = io.StringIO()
    call_command(
        "record_evaluation",
        "binder@1",
        "--on",
        "flip-bind@1/one_vs_many:test",
        "--metric",
        "mcc=0.43",
        stdout=human,
    )
    assert f"  contamination: {headline}\n" in human.getvalue(), human.getvalue()


@pytest.mark.django_db(transaction=True)  # the ingest job runs inside the request (eager mode)
def test_a_version_upload_answers_the_registrations_notes_as_warnings(owner_client):
    first = upload(owner_client, "/api/v1/versions/", TEST_FASTA, dataset="bind-test", kind="protein")
    assert first.status_code == 201, first.content
    assert first.json()["warnings"] == []
    copy = upload(owner_client, "/api/v1/versions/", TEST_FASTA, dataset="bind-copy", kind="protein")
    assert copy.status_code == 201, copy.content
    body = copy.json()
    assert codes(body) == ["identical_to_other_dataset"]
    message = by_code(body, "identical_to_other_dataset")
    assert message.startswith("identical to bind-test@1: same digest") and body["result"]["messages"] == [
        message
    ]
    again = upload(owner_client, "/api/v1/datasets/bind-copy/versions/", TEST_FASTA)
    assert again.status_code == 200, again.content
    assert again.json()["warnings"] == [
        {
            "code": "already_registered",
            "message": "identical content is already registered as bind-copy@1; nothing was written",
        }
    ]
    # a job read later says the same
    assert owner_client.get(again.json()["url"]).json()["warnings"] == again.json()["warnings"]


def test_warnings_are_a_typed_component_of_every_create_answer(anon_client):
    schema = anon_client.get("/api/v1/schema/?format=json").json()
    components = schema["components"]["schemas"]
    assert set(components["RegistrationWarning"]["required"]) == {"code", "message"}
    warnings_ref = {"type": "array", "items": {"$ref": "#/components/schemas/RegistrationWarning"}}
    for name in ("ModelVersionCreated", "SplitCreated", "EvaluationCreated", "Job"):
        properties = components[name]["properties"]
        assert {k: v for k, v in properties["warnings"].items() if k in warnings_ref} == warnings_ref, name
    paths = schema["paths"]

    def answer(path, status="201"):
        return paths[path]["post"]["responses"][status]["content"]["application/json"]["schema"]["$ref"]

    assert answer("/api/v1/model-versions/").endswith("/ModelVersionCreated")
    assert answer("/api/v1/model-versions/", "200").endswith("/ModelVersionCreated")
    assert answer("/api/v1/evaluations/").endswith("/EvaluationCreated")
    assert answer("/api/v1/evaluations/upload/").endswith("/EvaluationCreated")
    assert answer("/api/v1/versions/{ref}/splits/").endswith("/SplitCreated")
    assert answer("/api/v1/versions/{ref}/splits/upload/").endswith("/SplitCreated")
    assert answer("/api/v1/versions/").endswith("/Job")


# --- 2. dataset authors -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_authors_are_written_with_the_first_version_and_read_and_cited(owner_client, anon_client):
    response = owner_client.post(
        "/api/v1/versions/",
        {
            "file": SimpleUploadedFile("test.fasta", TEST_FASTA.read_bytes()),
            "dataset": "flip-bind-test",
            "kind": "protein",
            "authors": ["Dallago, Christian", "Mou, Jody", "FLIP consortium"],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    expected = [
        {"family": "Dallago", "given": "Christian"},
        {"family": "Mou", "given": "Jody"},
        {"name": "FLIP consortium"},
    ]
    assert anon_client.get("/api/v1/datasets/flip-bind-test/").json()["authors"] == expected
    assert anon_client.get("/api/v1/datasets/").json()["results"][0]["authors"] == expected
    csl = anon_client.get("/api/v1/versions/flip-bind-test@1/cite/csl/").json()
    assert [a.get("family") or a.get("literal") for a in csl[0]["author"]] == [
        "Dallago",
        "Mou",
        "FLIP consortium",
    ]


def test_a_dataset_without_authors_reads_an_empty_list(anon_client, flip_test):
    assert anon_client.get("/api/v1/datasets/flip-bind-test/").json()["authors"] == []


def test_a_malformed_author_is_a_400_naming_it_and_nothing_is_started(owner_client):
    before = Job.objects.count()
    response = upload(
        owner_client,
        "/api/v1/versions/",
        TEST_FASTA,
        dataset="flip-bind-test",
        kind="protein",
        authors=["Dallago, Christian", "Mou,"],
    )
    body = assert_error_shape(response, 400, "invalid")
    assert body["fields"]["authors"] == [
        "'Mou,' is not 'Family, Given' (a person) or a name (an organisation)."
    ]
    assert Job.objects.count() == before and not Dataset.objects.exists()


def test_authors_are_in_the_schema(anon_client):
    components = anon_client.get("/api/v1/schema/?format=json").json()["components"]["schemas"]
    assert components["Dataset"]["properties"]["authors"]["items"] == {"$ref": "#/components/schemas/Author"}
    assert set(components["Author"]["properties"]) == {"family", "given", "name"}
    for form in ("VersionUpload", "VersionUploadWithDataset"):
        assert components[form]["properties"]["authors"]["items"]["type"] == "string", form


# --- 3. idempotent model registration -----------------------------------------------------------


def test_an_identical_model_registration_answers_200_with_the_existing_version(owner_client, one_vs_many):
    first = register_model(owner_client, parameters={"lr": 0.001}, code_url="https://example.org/code")
    assert first.status_code == 201, first.content
    again = register_model(owner_client, parameters={"lr": 0.001}, code_url="https://example.org/code")
    assert again.status_code == 200, again.content
    body = again.json()
    assert body["created"] is False and body["uuid"] == first.json()["uuid"]
    assert again["Location"] == first["Location"]
    assert ModelVersion.objects.count() == 1


def test_a_different_body_for_a_registered_model_version_is_a_409_naming_what_differs(
    owner_client, one_vs_many
):
    assert register_model(owner_client, code_url="https://example.org/code").status_code == 201
    response = register_model(
        owner_client, trained_on=("flip-bind@1",), code_url="https://example.org/other", parameters={"lr": 1}
    )
    body = assert_error_shape(response, 409, "conflict")
    assert set(body["fields"]) == {"trained_on", "code_url", "parameters"}, body
    assert body["fields"]["trained_on"] == ["trained on flip-bind@1/one_vs_many:train (now flip-bind@1)"]
    assert "code URL 'https://example.org/code'" in body["fields"]["code_url"][0]
    assert "already registered with other arguments" in body["detail"]
    assert ModelVersion.objects.count() == 1
