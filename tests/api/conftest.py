"""API test fixtures: three personas (owner, another user, anonymous) and real registered data."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from registry.services import dataset_version_register, split_register

FIXTURES = __import__("tests.conftest", fromlist=["FIXTURES"]).FIXTURES


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    """Uploads under a temporary DATA_DIR, fresh throttle counters, and eager jobs for every test.

    Jobs run in the test process even when the environment names a broker (CI's worker run), so
    that each test decides whether a job runs inside the request or waits (on_commit capture).
    """
    from config.celery import app

    settings.DATA_DIR = tmp_path / "data"
    # Tests read what they just wrote; the anonymous read cache has its own tests (test_cache.py).
    settings.LEAKLEDGER = {**settings.LEAKLEDGER, "API_CACHE_SECONDS": 0}
    saved = {key: app.conf.get(key) for key in ("task_always_eager", "task_eager_propagates")}
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    cache.clear()
    yield
    cache.clear()
    app.conf.update(saved)


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def owner(db):
    return get_user_model().objects.create_user("olivia", first_name="Olivia", last_name="Owner")


@pytest.fixture
def other(db):
    return get_user_model().objects.create_user("oscar")


@pytest.fixture
def owner_client(owner):
    return _client(owner)


@pytest.fixture
def other_client(other):
    return _client(other)


@pytest.fixture
def anon_client(db):
    return APIClient()


@pytest.fixture
def flip_test(owner):
    """FLIP bind 'one_vs_many' test set (250 proteins), owned by ``owner``, with a split from its headers."""
    registration = dataset_version_register(
        path=FIXTURES / "flip_bind_split" / "test.fasta",
        dataset_name="flip-bind-test",
        kind="protein",
        license="AFL-3.0",
        source="https://github.com/J-SNACKKB/FLIP",
        description="FLIP bind one_vs_many test set.",
        role="benchmark",
        user=owner,
    )
    return registration.version


@pytest.fixture
def globins(owner):
    return dataset_version_register(
        path=FIXTURES / "hmmer_tutorial" / "globins45.fa", dataset_name="globins", kind="protein", user=owner
    ).version


@pytest.fixture
def one_vs_many(owner):
    """FLIP bind train+test once each (1,314 records) with the published split (13 ids in both parts)."""
    version = dataset_version_register(
        path=FIXTURES / "flip_bind_split" / "one_vs_many.fasta",
        dataset_name="flip-bind",
        kind="protein",
        license="AFL-3.0",
        user=owner,
    ).version
    split_register(
        version_ref=version.ref,
        name="one_vs_many",
        mapping_path=FIXTURES / "flip_bind_split" / "one_vs_many.json",
        allow_shared_ids=True,
        user=owner,
    )
    return version
