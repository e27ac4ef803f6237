"""Every page and badge through Django's test client, on real registered data (FLIP bind, 13 leaked
proteins). Expected numbers come from the FASTA files themselves, not from the registry's output."""

import csv
import html
import io
import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from dedup.parsing import iter_records
from registry.models import Job
from registry.services import evaluation_record
from registry.services.jobs import job_run
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db
BIND = FIXTURES / "flip_bind_split"


def leaked_ids() -> set[str]:
    """Test proteins whose sequence is also in FLIP's train file: the published leak (13)."""
    train = {r.sequence for r in iter_records(BIND / "train.fasta", kind="protein", allow_duplicate_ids=True)}
    return {r.identifier for r in iter_records(BIND / "test.fasta", kind="protein") if r.sequence in train}


def page(client: Client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def text(body: str) -> str:
    """The visible text of a page, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


@pytest.fixture
def client():
    return Client()


def test_home_counts_headline_recent_and_search(registered, client):
    body = text(page(client, "/"))
    assert "1 benchmark, 2 training sets, 1 pair overlap at >=90%" in body
    assert "flip-bind@1" in body and "deepfri-examples@1" in body
    assert "accuracy=0.5" in body  # recent evaluations
    found = text(page(client, "/?q=bind"))
    assert "flip-bind" in found and "bindembed-ft@1" in found and "flip-bind@1/one_vs_many:test" in found
    assert "deepfri-examples" not in found.split("Results for")[1].split("datasets")[0]
    by_kind = text(page(client, "/?q=protein"))
    assert "deepfri-examples" in by_kind.split("Results for")[1]
    nothing = text(page(client, "/?q=rna"))
    assert nothing.split("Results for")[1].count("none") == 3


def test_dataset_card_shows_versions_splits_downloads_and_the_apis_citations(registered, client):
    response = client.get("/datasets/flip-bind/")
    assert response.status_code == 302 and response["Location"] == "/versions/flip-bind@1/"
    body = page(client, "/versions/flip-bind@1/")
    visible = text(body)
    for expected in ("AFL-3.0", "https://github.com/J-SNACKKB/FLIP", "1314", "one_vs_many", "train", "test"):
        assert expected in visible
    assert "/api/v1/versions/flip-bind@1/" in body  # the API URL is on the page
    api = APIClient()
    digest = api.get("/api/v1/versions/flip-bind@1/").json()["digest"]
    assert digest in visible
    for fmt in ("bibtex", "cff", "csl", "datacite"):
        cited = api.get(f"/api/v1/versions/flip-bind@1/cite/?format={fmt}")
        assert cited.status_code == 200
        shown = html.unescape(re.search(rf'id="cite-{fmt}-text"[^>]*>(.*?)</pre>', body, re.S).group(1))
        if fmt in ("csl", "datacite"):
            import json

            assert json.loads(shown) == cited.json()
        else:
            assert shown.strip() == cited.content.decode().strip()
    for link in re.findall(r'href="(/api/v1/versions/flip-bind@1/[^"]+)"', body):
        assert client.get(link).status_code == 200, link
    # The test part's standing overlap: 13 of 250 against the train part.
    assert "13 of 250 records (5.2%)" in visible


def test_overlap_matrix_shows_the_flip_leak_and_the_threshold_selector(registered, client):
    body = page(client, "/overlap/")
    matrix = re.search(r'<table class="matrix".*?</table>', body, re.S).group(0)
    rows = re.findall(r"<tr><th class=\"rowhead\">(.*?)</tr>", matrix, re.S)
    assert len(rows) == 1 and "flip-bind@1/one_vs_many:test" in rows[0]
    counts = [int(n) for n in re.findall(r'data-records="(\d+)"', rows[0])]
    assert sorted(counts) == [0, len(leaked_ids())] == [0, 13]
    assert "5.2%" in rows[0]
    assert "PENDING" not in matrix
    low = text(page(client, "/overlap/?threshold=0.8"))
    assert "Below 90% identity" in low
    assert "Below 90% identity" not in text(body)
    missing = text(page(client, "/overlap/?threshold=0.5"))
    assert "No report has a 0.5 row" in missing


def test_a_pending_pair_is_labelled_pending_never_clean(pending_benchmark, client):
    body = page(client, "/overlap/")
    row = next(
        r for r in re.findall(r"<tr><th class=\"rowhead\">(.*?)</tr>", body, re.S) if "flip-bind-test@1" in r
    )
    assert row.count("PENDING") == 2  # against the train part and against deepfri-examples
    assert "%" not in text(row).replace("leaderboard", "")
    assert "pending" in text(page(client, "/"))
    badge = page(client, "/badges/versions/flip-bind-test@1.svg")
    assert "check pending" in badge


def test_badge_and_cached_pages_follow_new_reports(
    pending_benchmark, client, django_capture_on_commit_callbacks
):
    """Pages and badges are kept in the cache (LEAKLEDGER_PAGE_CACHE_SECONDS), keyed by the registry's
    state: once the queued checks finish, the same URLs show the new numbers."""
    assert "check pending" in page(client, "/badges/versions/flip-bind-test@1.svg")
    assert page(client, "/overlap/").count("PENDING") == 2
    assert page(client, "/overlap/").count("PENDING") == 2  # the kept copy
    with django_capture_on_commit_callbacks(execute=True):
        for job in Job.objects.filter(state=Job.State.PENDING):
            job_run(str(job.uuid))
    badge = page(client, "/badges/versions/flip-bind-test@1.svg")
    assert "13 of 250" in badge and ">5.2%<" in badge
    matrix = page(client, "/overlap/")
    assert "PENDING" not in matrix
    assert sorted(int(n) for n in re.findall(r'data-records="(\d+)"', matrix)) == [0, 0, 13, 13]


def test_pair_report_page_and_tsv_of_all_pairs(registered, client):
    body = page(client, "/overlap/")
    url = next(u for u in re.findall(r'href="(/overlap/[0-9a-f-]{36}/)"', body))
    report = page(client, url)
    assert "Worst offenders" in report and "Download all" in report
    response = client.get(url + "pairs.tsv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/tab-separated-values")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()), delimiter="\t"))
    exact = {r["query"] for r in rows if r["tier"] == "exact"}
    if exact:  # the leaking cell's report
        assert exact == leaked_ids()
        assert all(float(r["identity"]) == 1.0 for r in rows if r["tier"] == "exact")
        assert all(q in report for q in leaked_ids())


def lineage_svg(body: str) -> str:
    return re.search(r'<svg[^>]*class="lineage".*?</svg>', body, re.S).group(0)


def test_model_page_draws_the_lineage_graph(registered, client):
    body = page(client, "/models/bindembed-ft@1/")
    svg = lineage_svg(body)
    for label in ("bindembed@1", "bindembed-ft@1", "flip-bind@1/one_vs_many:train", "deepfri-examples@1"):
        assert f">{label}<" in svg, label
    assert ">quiet-ft@1<" not in svg  # a sibling (same base), not in this model's lineage
    assert 'href="/models/bindembed@1/"' in svg and 'href="/versions/deepfri-examples@1/"' in svg
    assert "5.2% contaminated" in svg
    assert "/api/v1/model-versions/bindembed-ft@1/" in body
    base = lineage_svg(page(client, "/models/bindembed@1/"))
    assert ">bindembed-ft@1<" in base and ">quiet-ft@1<" in base  # both fine-tuned descendants
    assert base.count('class="node node-evaluation"') == 2


def test_evaluation_page_recomputes_clean_subset_metrics(registered, client):
    evaluation = registered["scored"]
    body = page(client, f"/evaluations/{evaluation.uuid}/")
    scores = dict(line.split("\t") for line in (BIND / "demo_scores.tsv").read_text().splitlines()[1:])
    clean = [float(v) for k, v in scores.items() if k not in leaked_ids()]
    expected = f"{sum(clean) / len(clean):.4g}"
    section = re.search(r'<section id="clean-subset">.*?</section>', body, re.S).group(0)
    table = re.search(r"<table.*?</table>", section, re.S).group(0)
    assert text(table).count(expected) == 4  # exact, >=95%, >=90%, >=80%: only exact copies leak here
    assert f"{237} records" in text(table)
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="plot"' in section
    assert "flip-bind@1/one_vs_many:train" in text(
        re.search(r'<section id="by-training-set">.*?</section>', body, re.S).group(0)
    )
    api = APIClient().get(f"/api/v1/evaluations/{evaluation.uuid}/cite/?format=bibtex").content.decode()
    assert (
        html.unescape(re.search(r'id="cite-bibtex-text"[^>]*>(.*?)</pre>', body, re.S).group(1)).strip()
        == api.strip()
    )


def test_evaluation_without_a_report_says_pending(registered, client):
    evaluation = evaluation_record(
        model_ref="bindembed@1", on_ref="flip-bind@1/one_vs_many:test", metrics={"mcc": 0.3}
    )
    assert "PENDING" in page(client, f"/evaluations/{evaluation.uuid}/")
    assert "check pending" in page(client, f"/badges/evaluations/{evaluation.uuid}.svg")
    board = text(page(client, "/leaderboards/flip-bind@1/one_vs_many:test/"))
    assert "declared, check pending" in board


def test_leaderboard_lists_evaluations_with_disclosure(registered, client):
    body = page(client, "/leaderboards/flip-bind@1/one_vs_many:test/")
    rows = re.findall(r"<tr>\s*<td data-sort=\"([^\"]+)\">.*?</tr>", body, re.S)
    assert sorted(rows) == ["bindembed-ft@1", "quiet-ft@1"]
    visible = text(body)
    assert "training data declared and checked" in visible and "undisclosed" in visible
    assert "/api/v1/evaluations/?on=flip-bind@1/one_vs_many:test" in body
    assert text(page(client, "/leaderboards/")).count("flip-bind@1/one_vs_many:test") == 1


def test_evaluation_badge_says_what_the_api_says(registered, client):
    evaluation = registered["scored"]
    api = APIClient().get(f"/api/v1/evaluations/{evaluation.uuid}/contamination/").json()
    row = next(r for r in api["summary"]["thresholds"] if r["label"] == ">=90%")
    badge = page(client, f"/badges/evaluations/{evaluation.uuid}.svg")
    assert f">{100 * row['fraction']:.1f}% at &gt;=90%<" in badge
    assert f'href="http://testserver/evaluations/{evaluation.uuid}/"' in badge
    response = client.get(f"/badges/evaluations/{evaluation.uuid}.svg")
    assert response["Content-Type"].startswith("image/svg+xml") and "max-age" in response["Cache-Control"]


def test_not_found_pages_and_api_json(registered, client):
    assert "No dataset version 'nope@1'" in text(page(client, "/versions/nope@1/", 404))
    assert "not a reference" in text(page(client, "/versions/no-at-sign/", 404))
    page(client, "/evaluations/not-a-uuid/", 404)
    page(client, "/badges/versions/nope@1.svg", 404)
    response = client.get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404
    assert set(response.json()) == {"detail", "code", "fields"}


def test_pages_name_hashed_static_files_that_are_served(registered, client):
    body = page(client, "/")
    css = re.search(r'href="(/static/web/leakledger\.[0-9a-f]{12}\.css)"', body).group(1)
    response = client.get(css)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"/* LeakLedger pages")
