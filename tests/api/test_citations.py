"""Citations and Croissant, checked by the real tools: bibtexparser, cffconvert, JSON schemas, mlcroissant."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import bibtexparser
import jsonschema
import jsonschema_rs
import pytest

from api.citations import _semver, _yaml
from registry.services import evaluation_record, model_version_register

from .test_views_datasets import assert_error_shape

pytestmark = pytest.mark.django_db

SCHEMAS = Path(__file__).parent / "schemas"
FORMATS = ["bibtex", "cff", "csl", "datacite"]


@pytest.fixture
def evaluation(one_vs_many, owner):
    model_version_register(ref="binder@1", trained_on=["flip-bind@1/one_vs_many:train"], user=owner)
    return evaluation_record(
        model_ref="binder@1",
        on_ref="flip-bind@1/one_vs_many:test",
        metrics={"auc": 0.91, "f1": 0.5},
        code_ref="git:abc123",
        user=owner,
    )


def cite(client, url, fmt):
    response = client.get(f"{url}cite/?format={fmt}")
    assert response.status_code == 200, response.content
    return response


def citation_urls(version, evaluation):
    return [f"/api/v1/versions/{version.ref}/", f"/api/v1/evaluations/{evaluation.uuid}/"]


def test_bibtex_parses_and_names_version_and_digest(anon_client, one_vs_many, evaluation):
    for url in citation_urls(one_vs_many, evaluation):
        response = cite(anon_client, url, "bibtex")
        assert response["Content-Type"].startswith("application/x-bibtex")
        library = bibtexparser.parse_string(response.content.decode())
        assert not library.failed_blocks
        (entry,) = library.entries
        assert entry.entry_type == "misc"
        assert one_vs_many.digest in entry["note"]
        assert entry["url"].endswith(url)
    version_entry = bibtexparser.parse_string(
        cite(anon_client, citation_urls(one_vs_many, evaluation)[0], "bibtex").content.decode()
    ).entries[0]
    # the digest in the version field too: APA and Nature styles print version and drop note
    assert version_entry["version"] == f"1, sha256:{one_vs_many.digest}"
    assert version_entry["author"] == "Owner, Olivia"


def test_citation_cff_passes_cffconvert_validate(anon_client, one_vs_many, evaluation, tmp_path):
    for url in citation_urls(one_vs_many, evaluation):
        path = tmp_path / "CITATION.cff"
        path.write_bytes(cite(anon_client, url, "cff").content)
        result = subprocess.run(
            [str(Path(sys.executable).parent / "cffconvert"), "--validate", "-i", str(path)],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert one_vs_many.digest in path.read_text()


def test_cff_licence_is_spdx_when_known(anon_client, one_vs_many):
    text = cite(anon_client, f"/api/v1/versions/{one_vs_many.ref}/", "cff").content.decode()
    assert 'license: "AFL-3.0"' in text  # FLIP's licence, an SPDX id that CITATION.cff accepts
    from registry.models import Dataset

    Dataset.objects.filter(pk=one_vs_many.dataset_id).update(license="cc-by-4.0")
    text = cite(anon_client, f"/api/v1/versions/{one_vs_many.ref}/", "cff").content.decode()
    assert 'license: "CC-BY-4.0"' in text


def csl_validator() -> jsonschema.Draft3Validator:
    """The draft-3 CSL schema names two subschemas by relative ``id``; resolve them offline."""
    schema = json.loads((SCHEMAS / "csl-data.json").read_text())
    base = schema["id"].rsplit("/", 1)[0]
    store = {
        f"{base}/name-variable": schema["items"]["properties"]["author"]["items"],
        f"{base}/date-variable": schema["items"]["properties"]["accessed"],
    }
    resolver = jsonschema.RefResolver.from_schema(schema, store=store)
    return jsonschema.Draft3Validator(schema, resolver=resolver)


def test_csl_json_passes_the_csl_data_schema(anon_client, one_vs_many, evaluation):
    validator = csl_validator()
    for url in citation_urls(one_vs_many, evaluation):
        response = cite(anon_client, url, "csl")
        assert response["Content-Type"].startswith("application/vnd.citationstyles.csl+json")
        items = response.json()
        validator.validate(items)
        assert items[0]["type"] == "dataset"
    broken = [{"type": "not-a-type", "id": "x", "issued": {"date-parts": "2020"}}]
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)  # the schema does reject bad data


def test_datacite_json_passes_the_datacite_45_schema(anon_client, one_vs_many, evaluation):
    validator = jsonschema_rs.validator_for(json.loads((SCHEMAS / "datacite-v4.5.json").read_text()))
    for url in citation_urls(one_vs_many, evaluation):
        record = cite(anon_client, url, "datacite").json()
        errors = [str(e) for e in validator.iter_errors(record)]
        assert errors == []
        assert record["types"]["resourceTypeGeneral"] == "Dataset"
        assert any(a["alternateIdentifier"] == one_vs_many.digest for a in record["alternateIdentifiers"])
    assert list(validator.iter_errors({"titles": []}))  # the schema does reject bad data


def test_unknown_citation_format_is_a_400_listing_formats(anon_client, one_vs_many):
    body = assert_error_shape(anon_client.get(f"/api/v1/versions/{one_vs_many.ref}/cite/?format=ris"), 400)
    assert "bibtex" in body["detail"]
    missing = anon_client.get("/api/v1/versions/nope@1/cite/?format=bibtex")
    assert missing["Content-Type"] == "application/json"
    assert_error_shape(missing, 404)


def test_croissant_validates_with_mlcroissant_and_sha256_matches_the_download(anon_client, one_vs_many):
    import mlcroissant

    response = anon_client.get(f"/api/v1/versions/{one_vs_many.ref}/croissant/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/ld+json")
    metadata = response.json()
    dataset = mlcroissant.Dataset(jsonld=metadata)  # raises on any validation error
    assert dataset.metadata.name == "flip-bind@1"
    distribution = {d["encodingFormat"]: d for d in metadata["distribution"]}
    for media, path in (("text/csv", "records.csv"), ("text/x-fasta", "records.fasta")):
        download = anon_client.get(f"/api/v1/versions/{one_vs_many.ref}/{path}")
        content = b"".join(download.streaming_content)
        assert hashlib.sha256(content).hexdigest() == distribution[media]["sha256"]
    split_sets = [rs for rs in metadata["recordSet"] if rs.get("dataType") == "cr:Split"]
    assert [sorted(row["split-one_vs_many/name"] for row in rs["data"]) for rs in split_sets] == [
        ["test", "train"]
    ]


def test_croissant_records_load_through_mlcroissant_from_a_live_server(live_server, one_vs_many, tmp_path):
    """mlcroissant downloads the CSV from the running server, checks its sha256 and yields the records."""
    import mlcroissant
    import requests

    metadata = requests.get(
        f"{live_server.url}/api/v1/versions/{one_vs_many.ref}/croissant/", timeout=30
    ).json()
    path = tmp_path / "croissant.json"
    path.write_text(json.dumps(metadata))
    dataset = mlcroissant.Dataset(jsonld=str(path))
    records = list(dataset.records("records"))
    assert len(records) == 1314
    from .conftest import FIXTURES

    first_line = (FIXTURES / "flip_bind_split" / "one_vs_many.fasta").read_text().split("\n", 1)[0]
    assert records[0]["records/identifier"].decode() == first_line[1:].split()[0]
    parts = {tuple(sorted(p.decode() for p in r["records/split_one_vs_many"])) for r in records}
    assert parts == {("train",), ("test",), ("test", "train")}  # the 13 shared ids are in both parts

    # mlcroissant checks the sha256 of what it downloads: a wrong one fails.
    for item in metadata["distribution"]:
        item["sha256"] = "0" * 64
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(metadata))
    with pytest.raises(Exception, match="Download") as failure:
        list(mlcroissant.Dataset(jsonld=str(tampered)).records("records"))
    chain, error = [], failure.value
    while error is not None:
        chain.append(str(error))
        error = error.__cause__ or error.__context__
    assert any("hash" in message.lower() for message in chain), chain


def test_croissant_carries_derivations_as_provenance(anon_client, owner, globins, tmp_path):
    from registry.services import dataset_version_register

    subset = tmp_path / "short.fa"
    subset.write_text("".join(">" + r for r in globins_records()[:5]))
    dataset_version_register(
        path=subset,
        dataset_name="globins-short",
        kind="protein",
        derived_from="globins@1",
        transform="first 5 records",
        user=owner,
    )
    metadata = anon_client.get("/api/v1/versions/globins-short@1/croissant/").json()
    assert metadata["prov:wasDerivedFrom"][0]["prov:label"] == "globins@1"
    assert metadata["prov:wasGeneratedBy"][0]["description"] == "first 5 records"
    import mlcroissant

    mlcroissant.Dataset(jsonld=metadata)


def globins_records():
    from .conftest import FIXTURES

    return (FIXTURES / "hmmer_tutorial" / "globins45.fa").read_text().split(">")[1:]


def test_helpers():
    assert _semver("7") == "7.0.0"
    assert _yaml({"a": [{"b": "x", "c": 1}], "d": 'q"uote'}) == 'a:\n  - b: "x"\n    c: 1\nd: "q\\"uote"'
