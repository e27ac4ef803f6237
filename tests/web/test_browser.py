"""The pages in a real browser (Debian's chromium through Selenium), served as in production: DEBUG off,
static files collected and served by WhiteNoise, on real registered data.

What a person checks: the matrix shows FLIP's leak as 13 records, a queued check is labelled
pending, the leaderboard sorts, the badge says what the API says; and on every page no console
error and no asset that fails to load. Screenshots go to ``var/screenshots/`` (or
``$LEAKLEDGER_SCREENSHOT_DIR``), which ``.ci/run`` prints.
"""

import json
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
INSTALL = "apt-get install -y chromium chromium-driver && pip install -r requirements-dev.txt"
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait
except ImportError:  # pragma: no cover - requirements-dev.txt pins selenium
    webdriver = None

pytestmark = [
    pytest.mark.skipif(
        webdriver is None or not CHROMIUM or not CHROMEDRIVER,
        reason=f"needs Debian's chromium, its driver and selenium: {INSTALL}",
    ),
]
SHOTS = Path(os.environ.get("LEAKLEDGER_SCREENSHOT_DIR", REPO / "var" / "screenshots"))


@pytest.fixture
def server(transactional_db, collected_static):
    """A live server on the test database, WhiteNoise serving the collected files, DEBUG off.

    pytest-django's ``live_server`` serves /static/ through Django's finders, not through WhiteNoise,
    so it would not show a missing manifest entry or a file that ``collectstatic`` did not collect;
    this server hands every request to the project's own WSGI stack instead.
    """
    from django.db import connections
    from django.test.testcases import LiveServerThread
    from django.test.utils import override_settings

    with override_settings(DEBUG=False, WHITENOISE_AUTOREFRESH=False):
        overrides = {c.alias: c for c in connections.all() if c.vendor == "sqlite" and c.is_in_memory_db()}
        for conn in overrides.values():
            conn.inc_thread_sharing()
        thread = LiveServerThread(
            "127.0.0.1", static_handler=lambda media: media.application, connections_override=overrides
        )
        thread.daemon = True
        thread.start()
        thread.is_ready.wait()
        try:
            if thread.error:
                raise thread.error
            yield f"http://127.0.0.1:{thread.port}"
        finally:
            # The browser's keep-alive connections outlive the shutdown, and their request threads close
            # the shared in-memory connection afterwards: it stays shareable (test databases only).
            thread.terminate()


@pytest.fixture
def site(server):
    """The demo's data registered (jobs run as each registration commits), plus a benchmark whose
    checks are queued with no worker to take them: the broker holds its task."""
    from config.celery import app
    from registry.services import dataset_version_register

    from .conftest import BIND, register_all

    objects = register_all()
    app.conf.update(task_always_eager=False)
    try:
        dataset_version_register(
            path=BIND / "test.fasta", dataset_name="flip-bind-test", kind="protein", role="benchmark"
        )
    finally:
        app.conf.update(task_always_eager=True)
    return {"url": server, **objects}


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="ll-chromium-")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def visit(browser, site, path: str, shot: str, ready: str = "body"):
    """Open a page as a person would, save a full-page screenshot, and check it loaded cleanly."""
    browser.get_log("browser")  # drop what earlier pages logged
    browser.set_window_size(1400, 700)
    browser.get(site["url"] + path)
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.CSS_SELECTOR, ready))
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, max(700, min(height + 140, 4000)))  # the window frame is not page
    browser.save_screenshot(str(SHOTS / f"{shot}.png"))
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => [e.name, e.responseStatus])"
    )
    assets = browser.execute_script(
        "return [...document.querySelectorAll('link[href], script[src], img[src]')]"
        ".map(e => e.href || e.src).filter(u => !u.startsWith('data:'))"
    )
    for url in assets:
        with urllib.request.urlopen(url) as response:  # raises on a 404
            assert response.status == 200, url
    assert all(status in (0, 200) for _, status in resources), resources
    return browser


def css(browser, selector: str, prop: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, selector).value_of_css_property(prop)


def _home_is_styled_and_shows_the_headline(browser, site):
    visit(browser, site, "/", "home")
    assert css(browser, "header.top", "background-color") == "rgba(31, 42, 68, 1)"  # the stylesheet loaded
    assert (
        "2 benchmarks, 2 training sets, 1 pair overlap at >=90%"
        in browser.find_element(By.ID, "headline").text
    )


def _matrix_shows_the_flip_leak_and_the_pending_benchmark(browser, site):
    visit(browser, site, "/overlap/", "overlap-matrix")
    rows = {
        r.find_element(By.CSS_SELECTOR, "th.rowhead a").text: r
        for r in browser.find_elements(By.CSS_SELECTOR, "#matrix tbody tr")
    }
    leak = rows["flip-bind@1/one_vs_many:test"].find_elements(By.CSS_SELECTOR, "td.cell")
    assert sorted(c.find_element(By.CSS_SELECTOR, ".cnt").text for c in leak) == ["0", "13"]
    cell = next(c for c in leak if c.find_element(By.CSS_SELECTOR, ".cnt").text == "13")
    assert cell.find_element(By.CSS_SELECTOR, ".frac").text == "5.2%"
    assert cell.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"  # coloured by the scale
    pending = rows["flip-bind-test@1"].find_elements(By.CSS_SELECTOR, "td.cell")
    assert [c.text for c in pending] == ["PENDING", "PENDING"]
    cell.find_element(By.TAG_NAME, "a").click()
    assert "Worst offenders" in browser.page_source
    assert len(browser.find_elements(By.CSS_SELECTOR, "#offenders tbody tr")) == 13
    visit(browser, site, browser.current_url.removeprefix(site["url"]), "overlap-report")


def _threshold_selector_shows_the_caveat(browser, site):
    visit(browser, site, "/overlap/", "overlap-matrix")
    browser.find_element(By.CSS_SELECTOR, "#threshold option[value='0.8']").click()  # submits on change
    assert "threshold=0.8" in browser.current_url
    assert "Below 90% identity" in browser.find_element(By.ID, "calibration").text


def _dataset_card_and_copy_button(browser, site):
    visit(browser, site, "/versions/flip-bind@1/", "dataset-card")
    card = browser.find_element(By.ID, "dataset-card").text
    assert "AFL-3.0" in card and "1314" in card
    browser.find_element(By.CSS_SELECTOR, "[data-tab='cite-cff']").click()
    assert browser.find_element(By.ID, "cite-cff-text").is_displayed()
    assert "cff-version" in browser.find_element(By.ID, "cite-cff-text").text
    button = browser.find_element(By.CSS_SELECTOR, "#cite-cff button.copy")
    button.click()
    WebDriverWait(browser, 10).until(lambda b: button.text != "Copy CITATION.cff")
    assert button.text == "Copied"


def _model_lineage_graph_and_evaluation(browser, site):
    visit(browser, site, "/models/bindembed-ft@1/", "model-lineage")
    labels = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "svg.lineage .node-label")]
    assert {"bindembed@1", "bindembed-ft@1", "deepfri-examples@1", "flip-bind@1/one_vs_many:train"} <= set(
        labels
    )
    browser.find_element(By.CSS_SELECTOR, "svg.lineage a.node-evaluation").click()
    assert "/evaluations/" in browser.current_url
    visit(browser, site, f"/evaluations/{site['scored'].uuid}/", "evaluation")
    assert browser.find_element(By.CSS_SELECTOR, "#clean-subset svg.plot").is_displayed()
    badge = browser.find_element(By.CSS_SELECTOR, "#metrics .badge-line img")
    assert browser.execute_script("return arguments[0].naturalWidth", badge) > 0


def _leaderboard_sorts(browser, site):
    visit(browser, site, "/leaderboards/flip-bind@1/one_vs_many:test/", "leaderboard")

    def models():
        return [
            r.find_element(By.CSS_SELECTOR, "td").text
            for r in browser.find_elements(By.CSS_SELECTOR, "#leaderboard tbody tr")
        ]

    def column(name: str) -> list[str]:
        heads = [
            h.text.rstrip(" ↕↑↓") for h in browser.find_elements(By.CSS_SELECTOR, "#leaderboard thead th")
        ]
        i = heads.index(name)
        return [
            r.find_elements(By.CSS_SELECTOR, "td")[i].text
            for r in browser.find_elements(By.CSS_SELECTOR, "#leaderboard tbody tr")
        ]

    header = next(
        h
        for h in browser.find_elements(By.CSS_SELECTOR, "#leaderboard thead th")
        if h.text.startswith("accuracy")
    )
    header.click()
    ascending = [float(v) for v in column("accuracy")]
    assert ascending == sorted(ascending) and header.get_attribute("aria-sort") == "ascending"
    first = models()
    header.click()
    assert models() == list(reversed(first)) and header.get_attribute("aria-sort") == "descending"
    labels = column("training data")
    assert set(labels) == {"training data declared and checked", "undisclosed"}


def _badge_says_what_the_api_says(browser, site):
    uuid = site["scored"].uuid
    with urllib.request.urlopen(f"{site['url']}/api/v1/evaluations/{uuid}/contamination/") as response:
        api = json.load(response)
    row = next(r for r in api["summary"]["thresholds"] if r["label"] == ">=90%")
    browser.get(f"{site['url']}/badges/evaluations/{uuid}.svg")
    texts = [t.get_attribute("textContent") for t in browser.find_elements(By.TAG_NAME, "text")]
    assert f"{100 * row['fraction']:.1f}% at >=90%" in texts
    browser.save_screenshot(str(SHOTS / "badge-evaluation.png"))


def test_a_tour_of_the_pages_as_a_person_would_take_it(browser, site):
    _home_is_styled_and_shows_the_headline(browser, site)
    _matrix_shows_the_flip_leak_and_the_pending_benchmark(browser, site)
    _threshold_selector_shows_the_caveat(browser, site)
    _dataset_card_and_copy_button(browser, site)
    _model_lineage_graph_and_evaluation(browser, site)
    _leaderboard_sorts(browser, site)
    _badge_says_what_the_api_says(browser, site)


@pytest.mark.parametrize(
    ("path", "shot", "selector"),
    [
        ("/admin/login/", "admin-login", "#login-form"),
        ("/api/v1/", "api-browsable", ".navbar"),
        ("/api/v1/docs/", "api-swagger", ".swagger-ui .info .title"),
    ],
)
def test_admin_browsable_api_and_swagger_are_styled_with_debug_off(browser, server, path, shot, selector):
    visit(browser, {"url": server}, path, shot, ready=selector)
    sheets = browser.execute_script("return document.styleSheets.length")
    assert sheets >= 1
