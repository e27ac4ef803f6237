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
