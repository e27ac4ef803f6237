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
