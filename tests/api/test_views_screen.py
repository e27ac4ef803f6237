"""The whole-set screen endpoint: containment of a file or record set in registered sets."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dedup.overlap import read_sequences

from .conftest import FIXTURES
from .test_views_datasets import assert_error_shape

pytestmark = pytest.mark.django_db

BIND = FIXTURES / "flip_bind_split"
TRAIN_PART = "flip-bind@1/one_vs_many:train"


def kmers(path, k=10):
    return {s[i : i + k] for _r, s in read_sequences(path, kind="protein") for i in range(len(s) - k + 1)}


def test_screen_of_a_file_is_the_exact_containment_at_scaled_1(
    owner_client, anon_client, one_vs_many, settings
):
    test_kmers, train_kmers = kmers(BIND / "test.fasta"), kmers(BIND / "train.fasta")
    exact = len(test_kmers & train_kmers) / len(test_kmers)  # computed here from the k-mer sets themselves
    form = {
        "file": SimpleUploadedFile("test.fasta", (BIND / "test.fasta").read_bytes()),
        "against": [TRAIN_PART],
        "scaled": 1,
    }
    response = owner_client.post("/api/v1/overlap/screen/", form, format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["query"] == "test.fasta" and body["query_records"] == 250
    (row,) = body["screen"]
    assert row["train"] == TRAIN_PART and len(row["digest"]) == 64
    assert row["containment"] == pytest.approx(exact, abs=1e-12)
    assert row["test_hashes"] == len(test_kmers)  # scaled=1 keeps every distinct k-mer
    low, high = row["interval_95"]
    assert low <= exact <= high
    assert body["method"]["k"] == 10 and body["method"]["scaled"] == 1
    assert body["timings"]["sketches_from_cache"] == 0
    uploads = settings.DATA_DIR / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir()), list(uploads.rglob("*"))

    # the same training set again: its sketch comes from the cache, the answer is the same
    again = owner_client.post(
        "/api/v1/overlap/screen/",
        {"record_set": "flip-bind@1/one_vs_many:test", "against": [TRAIN_PART], "scaled": 1},
        format="json",
    ).json()
    assert again["timings"]["sketches_from_cache"] == 1
    assert again["screen"][0]["containment"] == pytest.approx(exact, abs=1e-12)


def test_screen_against_every_training_set_at_the_default_scale(owner_client, one_vs_many):
    body = owner_client.post(
        "/api/v1/overlap/screen/", {"record_set": "flip-bind@1/one_vs_many:test"}, format="json"
    )
    assert body.status_code == 200, body.content
    rows = body.json()["screen"]
    assert [r["train"] for r in rows] == [TRAIN_PART]  # the only training set registered
    test_kmers, train_kmers = kmers(BIND / "test.fasta"), kmers(BIND / "train.fasta")
    exact = len(test_kmers & train_kmers) / len(test_kmers)
    low, high = rows[0]["interval_95"]
    assert low <= exact <= high and high - low < 0.1


def test_screen_errors_are_json(owner_client, anon_client, one_vs_many):
    assert_error_shape(
        anon_client.post("/api/v1/overlap/screen/", {"record_set": "flip-bind@1"}, format="json"), 401
    )
    assert_error_shape(owner_client.post("/api/v1/overlap/screen/", {}, format="json"), 400)
    bad = owner_client.post(
        "/api/v1/overlap/screen/", {"record_set": "flip-bind@1", "scaled": 0}, format="json"
    )
    assert_error_shape(bad, 400)
    assert "scaled" in bad.json()["fields"]
    assert_error_shape(
        owner_client.post("/api/v1/overlap/screen/", {"record_set": "nope@1"}, format="json"), 404
    )
    junk = owner_client.post(
        "/api/v1/overlap/screen/",
        {"file": SimpleUploadedFile("bad.fasta", b">a\nMK1V\n"), "against": [TRAIN_PART]},
        format="multipart",
    )
    assert_error_shape(junk, 400)
