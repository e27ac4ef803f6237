"""API: verify a split, generate one, read its attestations; errors in the one JSON shape."""

import os
import shutil

import pytest

from registry.services import dataset_version_register, split_register

from .conftest import FIXTURES

# Jobs are enqueued on commit: real commits, so that they run inside the request (eager mode).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bind(owner):
    version = dataset_version_register(
        path=FIXTURES / "flip_bind_split" / "one_vs_many.fasta",
        dataset_name="flip-bind",
        kind="protein",
        user=owner,
    ).version
    split = split_register(
        version_ref=version.ref,
        name="one_vs_many",
        mapping_path=FIXTURES / "flip_bind_split" / "one_vs_many.json",
        allow_shared_ids=True,
        user=owner,
    )
    return version, split


def test_verify_runs_as_a_job_and_the_split_shows_its_attestation(bind, other_client, anon_client):
    _version, split = bind
    url = f"/api/v1/splits/{split.uuid}/verify/"
    assert anon_client.post(url, {}, format="json").status_code in (401, 403)
    answer = other_client.post(url, {"identity": 0.95, "tiers": ["exact"]}, format="json")
    assert answer.status_code == 200, answer.json()
    job = answer.json()
    assert job["kind"] == "split_verify" and job["state"] == "succeeded"
    attestation = job["result"]["attestation"]
    assert attestation["violation_count"] == 13 and len(attestation["shared_ids"]) == 13
    detail = anon_client.get(f"/api/v1/splits/{split.uuid}/").json()
    assert detail["attestation"]["uuid"] == attestation["uuid"]
    assert detail["attestation"]["text"].startswith("verified ")
    full = anon_client.get(f"/api/v1/attestations/{attestation['uuid']}/").json()
    assert len(full["violations"]) == 13 and {v["tier"] for v in full["violations"]} == {"exact"}
    listed = anon_client.get(f"/api/v1/splits/{split.uuid}/attestations/").json()
    assert [a["uuid"] for a in listed] == [attestation["uuid"]]
    cite = anon_client.get(f"/api/v1/versions/{split.version.ref}/cite/?format=cff")
    assert cite.status_code == 200 and "Split one_vs_many: verified" in cite.content.decode()
    croissant = anon_client.get(f"/api/v1/versions/{split.version.ref}/croissant/").json()
    (split_set,) = [rs for rs in croissant["recordSet"] if rs["@id"] == "split-one_vs_many"]
    assert "13 violating pairs" in split_set["description"]


def test_verify_bad_options_are_400_in_the_error_shape(bind, other_client):
    _version, split = bind
    answer = other_client.post(f"/api/v1/splits/{split.uuid}/verify/", {"identity": 2}, format="json")
    assert answer.status_code == 400
    assert set(answer.json()) == {"detail", "code", "fields"} and "identity" in answer.json()["fields"]
    missing = other_client.post("/api/v1/splits/not-a-uuid/verify/", {}, format="json")
    assert missing.status_code == 404 and set(missing.json()) == {"detail", "code", "fields"}


def test_make_split_over_the_api(bind, owner_client, other_client):
    version, _split = bind
    url = f"/api/v1/versions/{version.ref}/make-split/"
    body = {
        "name": "s90",
        "fractions": {"train": 0.8, "test": 0.2},
        "identity": 0.9,
        "coverage": 0.8,
        "tiers": ["exact", "minhash"],
    }
    assert other_client.post(url, body, format="json").status_code == 403
    answer = owner_client.post(url, body, format="json")
    assert answer.status_code == 200, answer.json()
    result = answer.json()["result"]
    assert result["split"] == "flip-bind@1/s90" and sum(result["parts"].values()) == 1314
    assert result["attestation"]["claim"]["holds"] is True
    split = owner_client.get(f"/api/v1/splits/{result['split_uuid']}/").json()
    assert split["claimed_max_identity"] == 0.9 and split["provenance"]["tiers"] == ["exact", "minhash"]
    again = owner_client.post(url, body, format="json")
    assert again.status_code == 409 and set(again.json()) == {"detail", "code", "fields"}
    bad = owner_client.post(
        url, {**body, "name": "s2", "fractions": {"train": 0.8, "test": 0.3}}, format="json"
    )
    assert bad.status_code == 400 and "sum to 1" in bad.json()["detail"]


def test_register_split_with_a_claim(owner_client, bind):
    version, _split = bind
    answer = owner_client.post(
        f"/api/v1/versions/{version.ref}/splits/",
        {
            "name": "claimed",
            "mapping": {"train": ["Q5LL55", "H9L4N9"], "test": ["O34738"]},
            "claims_max_identity": 0.3,
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    assert answer.json()["claimed_max_identity"] == 0.3 and answer.json()["attestation"] is None


needs_mmseqs = pytest.mark.skipif(
    shutil.which("mmseqs") is None, reason="needs MMseqs2 (apt-get install mmseqs2)"
)


@needs_mmseqs
def test_verify_with_mmseqs_at_a_tiny_coverage_answers_a_job_not_a_500(bind, other_client):
    # What schemathesis sent: MMseqs2 refused "-c 1.1375789681399989e-140" and the request was a 500.
    _version, split = bind
    body = {"identity": 0.9, "coverage": 1.1375789681399989e-140, "tiers": ["mmseqs"]}
    answer = other_client.post(f"/api/v1/splits/{split.uuid}/verify/", body, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["state"] == "succeeded", answer.json()


def test_verify_whose_mmseqs_fails_is_a_failed_job_with_the_programs_message(
    bind, other_client, tmp_path, monkeypatch
):
    fake = tmp_path / "bin" / "mmseqs"
    fake.parent.mkdir()
    fake.write_text(
        '#!/bin/sh\nif [ "$1" = version ]; then echo 14-7e284; exit 0; fi\necho "Error: no space left" >&2\nexit 1\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    _version, split = bind
    answer = other_client.post(
        f"/api/v1/splits/{split.uuid}/verify/", {"identity": 0.9, "tiers": ["mmseqs"]}, format="json"
    )
    # In eager mode a failed job is answered as its error, in the one shape, with the job's link.
    assert answer.status_code == 400, answer.json()
    error = answer.json()
    assert set(error) == {"detail", "code", "fields"} and error["code"] == "overlap_error"
    assert "no space left" in error["detail"] and error["fields"]["error"] == "MmseqsError"
    job = other_client.get(error["fields"]["job"]).json()
    assert job["state"] == "failed" and "no space left" in job["error"]["detail"]
