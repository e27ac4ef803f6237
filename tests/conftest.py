"""Shared test helpers: where the real data lives, and markers for data that only CI has."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"


def shared_data_path() -> Path:
    """The larger real data set (``../shared/data``), or ``$LEAKLEDGER_SHARED_DATA``."""
    return Path(os.environ.get("LEAKLEDGER_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()


def pytest_collection_modifyitems(config, items):
    if (shared_data_path() / "GROUND_TRUTH.md").exists():
        return
    reason = (
        f"needs the real data in {shared_data_path()} (../shared/data beside the repository, "
        "or set LEAKLEDGER_SHARED_DATA); CI always has it"
    )
    for item in items:
        if "shared_data" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def shared_data() -> Path:
    return shared_data_path()


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session", autouse=True)
def collected_static(tmp_path_factory):
    """Static files collected once per run, as `manage.py collectstatic` does for a deployment.

    Pages name hashed files from the manifest (CompressedManifestStaticFilesStorage), so with DEBUG off
    a template with `{% static %}` needs it. WhiteNoise looks files up per request here
    (``WHITENOISE_AUTOREFRESH``) instead of scanning the folder for every test client (~80 ms each);
    the browser tests serve the folder exactly as production does (tests/web/conftest.py).
    """
    from django.core.management import call_command
    from django.test.utils import override_settings

    root = tmp_path_factory.mktemp("static")
    with override_settings(STATIC_ROOT=root, WHITENOISE_AUTOREFRESH=True):
        call_command("collectstatic", interactive=False, verbosity=0)
        yield root
