"""What a new user trips over (issue 12): each test failed before its fix."""

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import FIXTURES, REPO

pytestmark = pytest.mark.django_db

SCORES = FIXTURES / "flip_bind_split" / "example_scores.tsv"


def run(*args) -> str:
    out = io.StringIO()
    call_command(*[str(a) for a in args], stdout=out)
    return out.getvalue()


@pytest.fixture
def register(data_dir):
    """``register(path, name, *flags, kind="protein")``: ``register_dataset`` as a user runs it; its ``--json``."""

    def register_dataset(path, name: str, *flags, kind: str = "protein") -> dict:
        return json.loads(run("register_dataset", path, "--name", name, "--kind", kind, *flags, "--json"))

    return register_dataset


@pytest.fixture
def flip_bind(register, bind_all) -> dict:
    """FLIP bind's one_vs_many file (train and test, 1,314 records) registered as flip-bind@1."""
    return register(bind_all, "flip-bind")


@pytest.fixture
def bind_registered(flip_bind, bind_mapping, django_capture_on_commit_callbacks):
    """flip-bind@1 with its published one_vs_many split and a model trained on its train part. Their
    background jobs stay queued, as flip-bind@1's do (a test that needs a report computes it: reports
    index what they use)."""
    with django_capture_on_commit_callbacks(execute=False):
        run("register_split", "flip-bind@1", "--name", "ovm", "--mapping", bind_mapping, "--allow-shared-ids")
        run("register_model", "net@1", "--trained-on", "flip-bind@1/ovm:train")


# 1. lineage <evaluation-uuid> with --scores
def test_lineage_of_an_evaluation_with_scores_prints_the_clean_metrics(
    bind_registered, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        uuid = json.loads(
            run(
                "record_evaluation",
                "net@1",
                "--on",
                "flip-bind@1/ovm:test",
                "--metric",
                "mcc=0.43",
                "--scores",
                SCORES,
                "--json",
            )
        )["uuid"]
    out = run("lineage", uuid)
    # 13 leaked records score 0.9, the other 237 score 0.4 (fixtures/flip_bind_split/make_example_scores.py)
    assert "mcc=0.426 (250 records)" in out, out
    assert "clean subset: mcc=0.4 (237 records)" in out, out


def manage(*args, env: dict) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "HOME": str(REPO)}
    return subprocess.run(
        [sys.executable, "manage.py", *map(str, args)],
        cwd=REPO,
        env={**base, **env},
        capture_output=True,
        text=True,
    )


# 17, 18. noise on stderr; a missing production key is one line, not a traceback
def test_commands_do_not_print_kombu_hostname_noise_and_a_missing_key_is_one_line(
    migrated_data_dir, bind_test
):
    env = {"LEAKLEDGER_DATA_DIR": str(migrated_data_dir)}
    proc = manage("register_dataset", bind_test, "--name", "t", "--kind", "protein", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "registered t@1" in proc.stdout
    assert "No hostname was supplied" not in proc.stderr, proc.stderr
    broken = manage("check", env={**env, "LEAKLEDGER_PRODUCTION": "1"})
    assert broken.returncode != 0
    assert "Traceback" not in broken.stderr
    assert broken.stderr.strip().count("\n") == 0, broken.stderr
    assert "LEAKLEDGER_SECRET_KEY must be set" in broken.stderr


# 9. nucleotide and label files registered as protein
ODD = FIXTURES / "odd"


@pytest.mark.parametrize(
    "rel, likely",
    [
        ("biopython/Fasta/lupine.nu", "DNA"),
        ("in_the_wild_excerpts/dm3_upstream2000_head2_lowercase_dna.fa", "DNA"),
        ("in_the_wild_excerpts/flip_ss_sampled_head20_dssp_labels_as_sequence.fasta", "labels"),
    ],
)
def test_nucleotides_and_labels_are_not_registered_as_protein_unless_forced(register, snapshot, rel, likely):
    before = snapshot()
    with pytest.raises(CommandError, match=likely) as info:
        register(ODD / rel, "odd")
    assert "--force-kind" in str(info.value) and str(ODD / rel) in str(info.value)
    assert snapshot() == before
    forced = register(ODD / rel, "odd", "--force-kind")
    assert forced["created"] is True


def test_a_real_protein_file_and_real_dna_pass_the_kind_check(register, bind_test):
    assert register(bind_test, "p")["created"] is True
    assert register(ODD / "biopython/Fasta/lupine.nu", "n", kind="dna")["created"] is True


def test_the_api_upload_refuses_dna_as_protein_with_a_field_to_force_it(
    data_dir, django_user_model, django_capture_on_commit_callbacks
):
    from rest_framework.test import APIClient

    from registry.models import Job

    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_user("alice"))
    path = ODD / "biopython/Fasta/lupine.nu"
    with open(path, "rb") as fh, django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            "/api/v1/versions/", {"file": fh, "dataset": "lupine", "kind": "protein"}, format="multipart"
        )
    job = Job.objects.get(uuid=answer.json()["uuid"])
    assert job.state == "failed" and "--force-kind" in job.error["detail"], job.error
    with open(path, "rb") as fh, django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            "/api/v1/versions/",
            {"file": fh, "dataset": "lupine", "kind": "protein", "force_kind": "true"},
            format="multipart",
        )
    assert Job.objects.get(uuid=answer.json()["uuid"]).state == "succeeded"


# 13. lineage: no set against itself, worst first, top 10
def test_lineage_of_a_benchmark_summarises_its_overlaps_worst_first_and_never_itself(
    register, django_capture_on_commit_callbacks
):
    casp = FIXTURES / "casp16_phase0"
    trains = [
        "H0272",
        "H0217",
        "H0222",
        "H0223",
        "H0225",
        "H0233",
        "H0244",
        "H0208",
        "H0215",
        "H0220",
        "H0227",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        register(casp / "all_casp16_phase0.fasta", "casp16", "--role", "benchmark")
        for name in trains:
            register(casp / f"{name}.fasta", name.lower(), "--role", "training")
        run("register_model", "leaky@1", "--trained-on", "casp16@1")
        run("record_evaluation", "leaky@1", "--on", "casp16@1", "--metric", "acc=0.9")
    result = json.loads(run("lineage", "casp16@1", "--json"))
    pairs = [(r["query_set"], r["reference_set"]) for r in result["overlap_reports"]]
    assert ("casp16@1", "casp16@1") not in pairs
    assert len(pairs) == len(trains)
    out = run("lineage", "casp16@1")
    lines = [line for line in out.splitlines() if line.startswith("  overlap")]
    assert len(lines) == 10, out
    assert "vs casp16@1" not in out
    assert "casp16@1 vs h0272@1: exact 9 (12.5%)" in lines[0]  # 9 of 72 chains, the largest file first
    assert "casp16@1 vs h0217@1: exact 6 (8.3%)" in lines[1]
    assert "  ... and 1 more overlap report (lineage --json lists all)" in out


# 7. pending is not clean
def test_until_its_jobs_ran_every_report_says_pending_and_jobs_shows_them(
    register, bind_train, bind_test, django_capture_on_commit_callbacks
):
    from registry.services.jobs import job_run

    with django_capture_on_commit_callbacks(execute=False):  # as with a worker that is busy
        out = run(
            "register_dataset",
            bind_train,
            "--name",
            "train",
            "--kind",
            "protein",
            "--role",
            "training",
            "--skip-identical-duplicates",
        )
        assert re.search(r"job +sketch job [0-9a-f-]{36} \(index train@1\): pending since", out), out
        assert "manage.py jobs" in out
        register(bind_test, "test", "--role", "benchmark")
        run("register_model", "net@1", "--trained-on", "train@1")
        evaluation = json.loads(
            run("record_evaluation", "net@1", "--on", "test@1", "--metric", "acc=0.5", "--json")
        )
    assert [j["state"] for j in evaluation["jobs"]] == ["pending", "pending"]
    lineage = run("lineage", "test@1")
    assert re.search(r"pending +sketch job .* \(index test@1\): pending since", lineage), lineage
    contamination = run("lineage", evaluation["uuid"])
    assert "contamination: pending" in contamination and "overlap job" in contamination, contamination
    check = run("check_overlap", "test@1", "--against", "train@1")
    assert re.search(r"pending +sketch job .* \(index test@1\): pending since", check), check
    assert "not computed yet" not in contamination
    listing = json.loads(run("jobs", "--json"))["jobs"]
    assert {j["state"] for j in listing} == {"pending"} and len(listing) == 5
    one = run("jobs", listing[-1]["uuid"])
    assert "pending" in one and "about" in one

    for job in listing[::-1]:  # what a worker does: oldest first; the sketch jobs queue the standing checks
        with django_capture_on_commit_callbacks(execute=True):
            job_run(job["uuid"])
    lineage = run("lineage", "test@1")
    assert "overlap       test@1 vs train@1: exact 13 (5.2%)" in lineage and "pending" not in lineage
    contamination = run("lineage", evaluation["uuid"])
    assert "pending" not in contamination and "exact" in contamination
    assert json.loads(run("jobs", "--state", "pending", "--json"))["jobs"] == []


# 10. a model trained on a benchmark; the contamination headline after every evaluation
@pytest.mark.django_db(transaction=True)  # jobs run on commit, as in the CLI without a broker
def test_training_on_a_benchmark_warns_and_every_evaluation_prints_its_contamination(
    register, bind_test, monkeypatch
):
    from registry.services import jobs

    register(bind_test, "bench", "--role", "benchmark")
    model = json.loads(run("register_model", "leaky@1", "--trained-on", "bench@1", "--json"))
    assert any("bench@1" in w and "benchmark" in w for w in model["warnings"]), model
    human = run("register_model", "leaky@2", "--trained-on", "bench@1")
    assert "warning" in human and "benchmark" in human
    out = run("record_evaluation", "leaky@1", "--on", "bench@1", "--metric", "acc=0.9")
    assert "contamination: exact 250 of 250 test records (100.0%)" in out, out
    assert "trained on bench@1 itself" in out
    monkeypatch.setattr(jobs, "job_enqueue", lambda job: None)  # a worker that has not got to it yet
    pending = run("record_evaluation", "leaky@1", "--on", "bench@1", "--metric", "acc=0.9")
    assert "contamination: pending" in pending, pending


# 11. warnings that protect the science
def test_scores_covering_few_records_and_a_metric_far_from_its_mean_are_warned(bind_registered, tmp_path):
    few = tmp_path / "few.tsv"
    few.write_text("id\tacc\nP01887\t0.5\nQ9KQN0\t0.5\n")
    result = json.loads(
        run(
            "record_evaluation",
            "net@1",
            "--on",
            "flip-bind@1/ovm:test",
            "--metric",
            "acc=0.93",
            "--scores",
            few,
            "--json",
        )
    )
    warnings = " | ".join(result["warnings"])
    assert "cover 2 of 250 records" in warnings, warnings
    assert "acc=0.93" in warnings and "0.5" in warnings, warnings
    human = run(
        "record_evaluation", "net@1", "--on", "flip-bind@1/ovm:test", "--metric", "acc=0.93", "--scores", few
    )
    assert "warning  scores cover 2 of 250 records" in human, human
    fine = json.loads(
        run(
            "record_evaluation",
            "net@1",
            "--on",
            "flip-bind@1/ovm:test",
            "--metric",
            "mcc=0.43",
            "--scores",
            SCORES,
            "--json",
        )
    )
    assert not [w for w in fine["warnings"] if "scores" in w or "mean" in w], fine["warnings"]


def test_part_names_are_normalised_and_a_split_covering_a_tiny_fraction_is_noted(flip_bind, tmp_path):
    mapping = tmp_path / "m.tsv"
    mapping.write_text("O60895\tTrain\nP01887\ttrain\nQ9KQN0\ttest\n")
    result = json.loads(
        run("register_split", "flip-bind@1", "--name", "tiny", "--mapping", mapping, "--json")
    )
    assert {p["ref"]: p["records"] for p in result["parts"]} == {
        "flip-bind@1/tiny:train": 2,
        "flip-bind@1/tiny:test": 1,
    }
    assert any("3 of 1,314 records" in w for w in result["warnings"]), result["warnings"]


# 12. idempotence
def test_same_content_under_a_new_name_says_identical_to_and_records_it(register, bind_test):
    register(bind_test, "bind-test")
    copy = register(bind_test, "bind-copy")
    assert copy["created"] is True
    assert any("identical to bind-test@1" in m for m in copy["messages"]), copy["messages"]
    lineage = json.loads(run("lineage", "bind-copy@1", "--json"))
    assert [e["source"] for e in lineage["ancestors"]] == ["bind-test@1"]
    assert "identical" in lineage["ancestors"][0]["transform"]


def test_registering_again_with_a_role_applies_it_or_refuses_and_says_how(
    register, bind_test, django_capture_on_commit_callbacks
):
    register(bind_test, "bt")
    with django_capture_on_commit_callbacks(execute=True):
        again = register(bind_test, "bt", "--role", "benchmark")
    assert again["created"] is False
    assert any("role benchmark" in m for m in again["messages"]), again["messages"]
    assert "nothing was written" not in " ".join(again["messages"])
    assert json.loads(run("lineage", "bt@1", "--json"))["role"] == "benchmark"
    assert [j["kind"] for j in again["jobs"]] == ["sketch"]
    with pytest.raises(CommandError, match="registered as a benchmark.*--role training"):
        register(bind_test, "bt", "--role", "training")


def test_a_model_registered_again_with_identical_arguments_is_idempotent(bind_registered):
    again = json.loads(run("register_model", "net@1", "--trained-on", "flip-bind@1/ovm:train", "--json"))
    assert again["created"] is False and again["trained_on"] == ["flip-bind@1/ovm:train"]
    assert "already registered net@1" in run(
        "register_model", "net@1", "--trained-on", "flip-bind@1/ovm:train"
    )
    with pytest.raises(CommandError, match="already registered with other arguments: trained on"):
        run("register_model", "net@1", "--trained-on", "flip-bind@1")


# 3. listings, show, did-you-mean, and hints that point at commands that exist
def test_every_manage_py_command_a_message_names_exists():
    from django.core.management import get_commands

    sources = [p for d in ("registry", "api", "config") for p in (REPO / d).rglob("*.py")]
    named = {m for p in sources for m in re.findall(r"manage\.py ([a-z_]+)", p.read_text())}
    named |= set(re.findall(r"manage\.py ([a-z_]+)", (REPO / "README.md").read_text()))
    assert named and named <= set(get_commands()), named - set(get_commands())


def test_list_and_show_what_is_registered(bind_registered, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        uuid = json.loads(
            run(
                "record_evaluation", "net@1", "--on", "flip-bind@1/ovm:test", "--metric", "mcc=0.43", "--json"
            )
        )["uuid"]
    datasets = run("list", "datasets")
    assert "flip-bind" in datasets and "protein" in datasets and "1 version" in datasets
    versions = json.loads(run("list", "versions", "--json"))["versions"]
    assert [(v["ref"], v["records"]) for v in versions] == [("flip-bind@1", 1314)]
    assert "net@1" in run("list", "models") and "flip-bind@1/ovm:train" in run("list", "models")
    evaluations = run("list", "evaluations")
    assert uuid in evaluations and "exact 13" in evaluations, evaluations
    assert "sketch" in run("list", "jobs")
    card = run("show", "flip-bind@1")
    assert "digest" in card and "ovm:train" in card and "ovm:test" in card
    assert "1,077 records" in run("show", "flip-bind@1/ovm:train")
    assert "flip-bind@1" in run("show", "flip-bind")
    assert "trained on" in run("show", "net@1")
    assert "mcc=0.43" in run("show", uuid)


def test_unknown_names_get_did_you_mean_suggestions_and_a_listing_that_exists(bind_registered, tmp_path):
    with pytest.raises(CommandError, match=r"Did you mean 'flip-bind@1'\?.*manage.py list versions"):
        run("lineage", "flip-bnd@1")
    with pytest.raises(CommandError, match=r"flip-bind has versions: 1\b"):
        run("lineage", "flip-bind@7")
    with pytest.raises(CommandError, match=r"Did you mean 'net@1'\?"):
        run("record_evaluation", "nett@1", "--on", "flip-bind@1", "--metric", "acc=1")
    with pytest.raises(CommandError, match=r"Did you mean 'ovm:test'\?"):
        run("record_evaluation", "net@1", "--on", "flip-bind@1/ovm:tset", "--metric", "acc=1")
    with pytest.raises(CommandError, match=r"is not an evaluation UUID.*manage.py list evaluations"):
        run("lineage", "netsurfp2-train")
    scores = tmp_path / "s.tsv"
    scores.write_text("id\tacc\no60895\t1\n")  # the record is O60895
    with pytest.raises(CommandError, match=r"record 'o60895' is not in .*Did you mean 'O60895'\?"):
        run(
            "record_evaluation",
            "net@1",
            "--on",
            "flip-bind@1/ovm:test",
            "--metric",
            "acc=1",
            "--scores",
            scores,
        )
    mapping = tmp_path / "m.tsv"
    mapping.write_text("o60895\ttrain\n")
    with pytest.raises(CommandError, match=r"Did you mean 'O60895'"):
        run("register_split", "flip-bind@1", "--name", "s2", "--mapping", mapping)


def test_a_bad_evaluation_uuid_is_an_evaluation_uuid_over_the_api_too(data_dir):
    from rest_framework.test import APIClient

    detail = APIClient().get("/api/v1/evaluations/nope/").json()["detail"]
    assert detail == "'nope' is not an evaluation UUID.", detail
    assert APIClient().get("/api/v1/jobs/nope/").json()["detail"] == "'nope' is not a job UUID."


# 14. cite on the command line
def test_cite_on_the_cli_carries_licence_source_authors_and_the_digest_where_styles_print_it(
    register, bind_test, tmp_path
):
    import bibtexparser

    source = "https://github.com/J-SNACKKB/FLIP"
    reg = register(
        bind_test,
        "flip-bind-test",
        "--license",
        "AFL-3.0",
        "--source",
        source,
        "--author",
        "Dallago, Christian",
        "--author",
        "Mou, Jody",
    )
    digest = reg["digest"]
    library = bibtexparser.parse_string(run("cite", "flip-bind-test@1", "--format", "bibtex"))
    assert not library.failed_blocks
    [entry] = library.entries
    assert entry["author"] == "Dallago, Christian and Mou, Jody"
    assert digest in entry["version"]  # APA and Nature styles print version; they drop note
    assert source in entry["howpublished"]
    cff = run("cite", "flip-bind-test@1", "--format", "cff")
    assert 'license: "AFL-3.0"' in cff and source in cff and '"family-names": "Dallago"' not in cff
    assert 'family-names: "Dallago"' in cff
    path = tmp_path / "CITATION.cff"
    path.write_text(cff)
    check = subprocess.run(
        [str(Path(sys.executable).parent / "cffconvert"), "--validate", "-i", str(path)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    datacite = json.loads(run("cite", "flip-bind-test@1", "--format", "datacite"))
    assert datacite["rightsList"] == [
        {
            "rights": "AFL-3.0",
            "rightsIdentifier": "AFL-3.0",
            "rightsIdentifierScheme": "SPDX",
            "rightsUri": "https://spdx.org/licenses/AFL-3.0.html",
            "schemeUri": "https://spdx.org/licenses/",
        }
    ]
    assert [c["familyName"] for c in datacite["creators"]] == ["Dallago", "Mou"]
    [csl] = json.loads(run("cite", "flip-bind-test@1", "--format", "csl"))
    assert digest in csl["version"] and csl["source"] == source
    assert [a["family"] for a in csl["author"]] == ["Dallago", "Mou"]
    with pytest.raises(CommandError, match="--author 'Dallago,' is not"):
        register(bind_test, "other", "--author", "Dallago,")


# 15. Croissant split conventions
def test_croissant_splits_follow_the_conventions_and_filtering_on_train_keeps_the_shared_records(
    bind_registered, tmp_path
):
    import mlcroissant

    from registry import citations
    from registry.selectors import version_get

    version = version_get("flip-bind@1")
    metadata = citations.croissant(version)
    [split_set] = [rs for rs in metadata["recordSet"] if rs.get("dataType") == "cr:Split"]
    assert split_set["key"] == {"@id": "split-ovm/name"}
    urls = {row["split-ovm/name"]: row["split-ovm/url"] for row in split_set["data"]}
    assert urls == {"train": "cr:TrainingSplit", "test": "cr:TestSplit"}
    # read offline: the CSV beside the metadata, byte for byte the download
    (tmp_path / "records.csv").write_bytes(b"".join(citations.records_stream(version, "csv")))
    for item in metadata["distribution"]:
        item["contentUrl"] = "records.csv" if item["encodingFormat"] == "text/csv" else "records.fasta"
    (tmp_path / "records.fasta").write_bytes(b"".join(citations.records_stream(version, "fasta")))
    path = tmp_path / "croissant.json"
    path.write_text(json.dumps(metadata))
    records = list(mlcroissant.Dataset(jsonld=str(path)).records("records"))
    assert len(records) == 1314
    membership = {
        r["records/identifier"].decode(): [p.decode() for p in r["records/split_ovm"]] for r in records
    }
    train = {i for i, parts in membership.items() if "train" in parts}
    test = {i for i, parts in membership.items() if "test" in parts}
    assert (len(train), len(test), len(train & test)) == (1077, 250, 13)
    assert not any(";" in p for parts in membership.values() for p in parts)


# 16. export the clean subset
def test_export_clean_writes_the_uncontaminated_records_and_registers_them_with_their_lineage(
    bind_registered, bind_mapping, tmp_path, django_capture_on_commit_callbacks
):
    out = tmp_path / "clean.fasta"
    with django_capture_on_commit_callbacks(execute=True):
        result = json.loads(
            run(
                "export_clean",
                "flip-bind@1/ovm:test",
                "--against-model",
                "net@1",
                "--identity",
                "0.9",
                "-o",
                out,
                "--register",
                "flip-bind-test-clean",
                "--json",
            )
        )
    shared = set(json.loads(bind_mapping.read_text())["train"]) & set(
        json.loads(bind_mapping.read_text())["test"]
    )
    written = [line[1:].split()[0] for line in out.read_text().splitlines() if line.startswith(">")]
    assert not shared & set(written)
    assert len(written) == result["clean"] == 250 - result["removed"] and result["removed"] >= len(shared)
    # checked again, independently of the export: nothing of the clean file is in the model's training data
    again = json.loads(run("check_overlap", out, "--against-model", "net@1", "--identity", "0.9", "--json"))
    assert all(row["records"] == 0 for row in again["summary"]["thresholds"]), again["summary"]
    lineage = json.loads(run("lineage", result["registered"]["ref"], "--json"))
    [edge] = lineage["ancestors"]
    assert edge["source"] == "flip-bind@1"
    for word in ("flip-bind@1/ovm:test", "net@1", "90%", "coverage >= 80%", "exact", "minhash"):
        assert word in edge["transform"], edge["transform"]
    human = run(
        "export_clean", "flip-bind@1/ovm:test", "--against-model", "net@1", "-o", tmp_path / "c2.fasta"
    )
    assert f"wrote {len(written)} of 250 records" in human


# 2. the demo's last hint works as printed
def test_the_demos_last_hint_runs_as_printed(migrated_data_dir):
    env = {"PATH": "/usr/bin:/bin", "LEAKLEDGER_DATA_DIR": str(migrated_data_dir)}
    demo = subprocess.run(
        [sys.executable, "manage.py", "demo", "--fresh"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert demo.returncode == 0, demo.stderr
    last = demo.stdout.strip().splitlines()[-1]
    command = re.search(r"Explore with `([^`]+)`", last).group(1)
    assert "manage.py lineage flip-bind@1" in command
    shown = subprocess.run(
        ["bash", "-c", command], cwd=REPO, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("dataset version flip-bind@1")


# 8. every tier reports progress, MMseqs2's own stages included
@pytest.mark.skipif(not __import__("shutil").which("mmseqs"), reason="mmseqs (Debian mmseqs2) not installed")
def test_check_overlap_reports_every_tier_and_mmseqs_stages_on_stderr(bind_registered, monkeypatch, capsys):
    from registry.management import base

    monkeypatch.setattr(base.Progress, "INTERVAL", 0.0)  # report everything, however quick
    query = FIXTURES / "deepfri_examples" / "pdb_chains.fasta"  # 4 chains: the stages, not the work
    out = run("check_overlap", query, "--against", "flip-bind@1/ovm:test", "--tiers", "exact,minhash,mmseqs")
    assert "tiers run    exact, minhash, mmseqs" in out, out
    err = capsys.readouterr().err
    for stage in ("exact", "minhash", "mmseqs", "mmseqs createdb", "mmseqs prefilter", "mmseqs align"):
        assert f"pdb_chains.fasta: {stage} started" in err, err
