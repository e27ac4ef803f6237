import pytest
from django.apps import apps

from tests.conftest import FIXTURES


def table_snapshot() -> dict[str, int]:
    """Row counts of every registry table: equal snapshots before and after mean nothing was written."""
    return {m._meta.db_table: m.objects.count() for m in apps.get_app_config("registry").get_models()}


@pytest.fixture
def snapshot():
    return table_snapshot


@pytest.fixture
def data_dir(tmp_path, settings):
    settings.DATA_DIR = tmp_path / "var"
    return settings.DATA_DIR


@pytest.fixture
def bind_test():
    return FIXTURES / "flip_bind_split" / "test.fasta"


@pytest.fixture
def bind_train():
    return FIXTURES / "flip_bind_split" / "train.fasta"


@pytest.fixture
def bind_all():
    return FIXTURES / "flip_bind_split" / "one_vs_many.fasta"


@pytest.fixture
def bind_mapping():
    return FIXTURES / "flip_bind_split" / "one_vs_many.json"


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory):
    """One SQLite database migrated once per test session, for the tests that run manage.py as a user does."""
    import subprocess
    import sys

    from tests.conftest import REPO

    template = tmp_path_factory.mktemp("migrated")
    env = {"PATH": "/usr/bin:/bin", "LEAKLEDGER_DATA_DIR": str(template)}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO, env=env, check=True)
    return template / "leakledger.sqlite3"


@pytest.fixture
def migrated_data_dir(tmp_path, _migrated_sqlite):
    """A fresh data directory whose SQLite database is already migrated (a copy: migrating costs seconds)."""
    import shutil

    directory = tmp_path / "migrated-var"
    directory.mkdir()
    shutil.copy(_migrated_sqlite, directory / "leakledger.sqlite3")
    return directory
