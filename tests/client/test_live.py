"""The client against a live server (see conftest): every verb, typed results, errors in the API's shape.

Truth comes from the fixture files themselves (which records are identical between FLIP's train and
test parts, the digest recipe of the README), never from the server's own output.
"""

import csv
import hashlib
import json
from pathlib import Path

import pytest
from Bio.SeqIO.FastaIO import SimpleFastaParser
from leakledger_client import (
    ApiError,
    AuthenticationError,
    Conflict,
    ConnectionFailed,
    ContaminationReport,
    DatasetVersion,
    Evaluation,
    InputRejected,
    JobFailed,
    NotFound,
    OverlapResult,
)

from tests.conftest import FIXTURES

BIND = FIXTURES / "flip_bind_split"


def sha(seq: str) -> str:
    return hashlib.sha256(seq.upper().encode()).hexdigest()


def fasta(path: Path) -> list[tuple[str, str]]:
    with open(path) as handle:
        return [(title.split()[0], seq) for title, seq in SimpleFastaParser(handle)]


def digest_of(path: Path) -> str:
    """The README's digest recipe."""
    hs = []
    with open(path) as handle:
        for title, seq in SimpleFastaParser(handle):
            ident, _, desc = title.partition(" ")
            hs.append(hashlib.sha256(f"{ident}\t{desc.strip()}\t{seq.upper()}".encode()).hexdigest())
    return hashlib.sha256("".join(h + "\n" for h in sorted(hs)).encode()).hexdigest()


@pytest.fixture
def published_split():
    """FLIP's one_vs_many parts, and the test records identical to a train record (computed here)."""
    mapping = json.loads((BIND / "one_vs_many.json").read_text())
    records = dict(fasta(BIND / "one_vs_many.fasta"))
    train = {sha(records[i]) for i in mapping["train"]}
    identical = {i for i in mapping["test"] if sha(records[i]) in train}
    return mapping, identical


@pytest.fixture
def registered(ll):
    """flip-bind@1 with its published split, a base model on the train part and a fine-tuned one."""
    version = ll.register_dataset(
        BIND / "one_vs_many.fasta", name="flip-bind", kind="protein", license="AFL-3.0", source="FLIP"
    )
    split = ll.register_split(
        version, name="one_vs_many", mapping=BIND / "one_vs_many.json", allow_shared_ids=True
    )
    base = ll.register_model("bindembed@1", trained_on=[split.part("train").ref], parameters={"epochs": 40})
    tuned = ll.register_model("bindembed-ft@1", base=base, code_url="https://github.com/Rostlab/bindPredict")
    return version, split, base, tuned


def test_a_training_script_workflow(ll, registered, published_split):
    mapping, identical = published_split
    version, split, base, tuned = registered
    assert isinstance(version, DatasetVersion) and version.ref == "flip-bind@1" and version.created is True
    assert version.digest == digest_of(BIND / "one_vs_many.fasta") and version.record_count == 1314
    assert {p.name: p.record_count for p in split.parts} == {
        "test": len(mapping["test"]),
        "train": len(mapping["train"]),
    }
    assert split.part("test").role == "test" and split.part("test").ref == "flip-bind@1/one_vs_many:test"
    assert (tuned.base, tuned.trained_on, base.trained_on) == (
        "bindembed@1",
        [],
        ["flip-bind@1/one_vs_many:train"],
    )

    # Per-record scores, varied, so that the clean-subset means differ from the full one.
    scores = {ident: {"mcc": (n % 7) / 7} for n, ident in enumerate(mapping["test"])}
    evaluation = ll.record_evaluation(tuned, on=split.part("test").ref, metrics={"mcc": 0.42}, scores=scores)
    assert isinstance(evaluation, Evaluation) and evaluation.scores_metric_names == ["mcc"]

    report = ll.contamination(evaluation)
    assert isinstance(report, ContaminationReport)
    assert report.training_ancestry == ["flip-bind@1/one_vs_many:train"]  # inherited from the base
    assert report.query_records == 250 and report.reported_metrics == {"mcc": 0.42}
    exact = report.threshold(1.0)
    assert exact.records == len(identical) == 13 and exact.clean_records == 250 - 13
    at90 = report.threshold(0.9)
    contaminated90 = {p.query for p in report.contaminated if p.identity >= 0.9}
    assert contaminated90 >= identical and at90.records == len(contaminated90)
    clean = [v["mcc"] for i, v in scores.items() if i not in contaminated90]
    assert report.clean_metrics(0.9)["mcc"] == pytest.approx(sum(clean) / len(clean), abs=1e-6)
    assert report.full_metrics["mcc"]["mean"] == pytest.approx(
        sum(v["mcc"] for v in scores.values()) / 250, abs=1e-6
    )
    assert "flip-bind@1/one_vs_many:test" in str(report) and "clean mcc" in str(report)
    assert ll.evaluation(evaluation.uuid).contamination.threshold(1.0).records == 13


def test_re_registering_identical_content_returns_the_existing_version(ll):
    first = ll.register_dataset(BIND / "test.fasta", name="bench", kind="protein", role="benchmark")
    again = ll.register_dataset(BIND / "test.fasta", name="bench")
    assert (first.created, again.created) == (True, False)
    assert again.ref == first.ref == "bench@1" and again.digest == digest_of(BIND / "test.fasta")


def test_check_a_file_a_reference_and_a_model_ancestry(ll, registered, published_split):
    _, identical = published_split
    by_model = ll.check(BIND / "test.fasta", against_model="bindembed-ft@1")
    assert isinstance(by_model, OverlapResult) and by_model.query_records == 250
    assert by_model.threshold(1.0).records == 13 and {p.query for p in by_model.offenders(1.0)} == identical
    assert [r["ref"] for r in by_model.references] == ["flip-bind@1/one_vs_many:train"]
    by_ref = ll.check(
        "flip-bind@1/one_vs_many:test", against=["flip-bind@1/one_vs_many:train"], identity=0.95
    )
    assert by_ref.threshold().label == ">=95%" and by_ref.threshold(1.0).records == 13
    assert by_ref.method["tiers_run"]["exact"]["ran"] is True
    # Against local files the check runs here, with dedup, and agrees.
    local = ll.check(BIND / "test.fasta", against=BIND / "train.fasta")
    assert local.where == "local" and {p.query for p in local.offenders(1.0)} == identical


def test_records_downloads_and_dataframes(ll, registered, tmp_path):
    version, split, _, _ = registered
    path = ll.download(version.ref, tmp_path / "all.fasta")  # the client checks X-Content-SHA256
    assert [i for i, _ in fasta(path)] == [i for i, _ in fasta(BIND / "one_vs_many.fasta")]
    part = ll.download(split.part("test").ref, tmp_path / "test.fasta")
    assert {sha(s) for _, s in fasta(part)} == {sha(s) for _, s in fasta(BIND / "test.fasta")}
    with open(ll.download(version.ref, tmp_path / "all.csv", format="csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1314 and "split:one_vs_many" in rows[0]
    frame = ll.dataframe(split.part("test").ref)
    assert len(frame) == 250 and list(frame.columns)[:3] == ["position", "identifier", "description"]
    assert frame["length"].sum() == sum(len(s) for _, s in fasta(BIND / "test.fasta"))


def test_citations_in_every_format(ll, registered):
    version, split, _, tuned = registered
    bib = ll.cite(version.ref)
    assert bib.startswith("@misc{") and version.digest in bib
    assert version.digest in ll.cite(version, "cff")
    assert json.loads(ll.cite(version.ref, "csl"))
    assert json.loads(ll.cite(version.uuid, "datacite"))  # a version's UUID works too
    evaluation = ll.record_evaluation(tuned, on=split.part("test").ref, metrics={"mcc": 0.4})
    assert evaluation.uuid in ll.cite(evaluation.uuid) or "bindembed-ft" in ll.cite(evaluation.uuid)


def test_a_refused_file_names_line_and_record_and_writes_nothing(ll, tmp_path):
    bad = tmp_path / "bad.fasta"
    bad.write_text(">ok\nMKV\n>bad\nMK1V\n")
    with pytest.raises((InputRejected, JobFailed)) as caught:
        ll.register_dataset(bad, name="broken", kind="protein")
    exc = caught.value
    assert exc.code == "input_rejected" and exc.fields["line"] == 4 and exc.fields["record"] == "bad"
    assert "bad.fasta" in exc.detail and "/jobs/" in exc.fields["job"]
    assert exc.to_dict() == {"detail": exc.detail, "code": exc.code, "fields": exc.fields}
    with pytest.raises(NotFound):
        ll.version("broken@1")


def test_models_are_immutable_unless_identical_and_exist_ok(ll, registered):
    with pytest.raises(Conflict, match="already registered"):
        ll.register_model("bindembed@1", trained_on=["flip-bind@1/one_vs_many:train"])
    same = ll.register_model("bindembed@1", trained_on=["flip-bind@1/one_vs_many:train"], exist_ok=True)
    assert same.ref == "bindembed@1"
    with pytest.raises(Conflict, match="trained on"):
        ll.register_model("bindembed@1", trained_on=["flip-bind@1"], exist_ok=True)


def test_errors_carry_the_api_error_shape(client_for, ledger, tmp_path):
    anonymous = client_for(token=None)
    with pytest.raises(AuthenticationError) as caught:
        anonymous.register_model("m@1", trained_on=["x@1"])
    assert caught.value.status == 401 and caught.value.code == "not_authenticated"
    assert client_for(token="not-a-token").settings.token == "not-a-token"
    with pytest.raises(AuthenticationError, match="Invalid token"):
        client_for(token="not-a-token").register_model("m@1", trained_on=["x@1"])
    with pytest.raises(NotFound) as missing:
        client_for().version("nothing@1")
    assert (
        isinstance(missing.value, ApiError)
        and missing.value.status == 404
        and "nothing@1" in missing.value.detail
    )
    with pytest.raises(FileNotFoundError):
        client_for().check(tmp_path / "absent.fasta")


def test_an_unreachable_server_is_named():
    from leakledger_client import Client

    with pytest.raises(
        ConnectionFailed, match=r"127\.0\.0\.1:9/api/v1/ \(from the url argument\).*LEAKLEDGER_URL"
    ):
        Client("http://127.0.0.1:9", progress=False).version("x@1")
