"""The PostgreSQL backend's health check (registry/db/postgresql/base.py): no query while a persistent
connection is quiet, a new connection once the server has ended the old one.

Real servers only: each test opens its own connection (not the test's, which sits in a transaction),
has PostgreSQL terminate it from another session, and checks what the next request would do.
"""

import time

import pytest
from django.db import connection, connections

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def wrapper():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: runs in the PostgreSQL phase of .ci/run")
    own = connections.create_connection("default")
    own.settings_dict["CONN_HEALTH_CHECKS"] = True
    own.health_check_enabled = True
    own.ensure_connection()
    yield own
    own.close()


def _backend_pid(db) -> int:
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _last_statement(pid: int) -> str:
    """What the server last ran on backend ``pid``, as another session sees it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0]


def _new_request(db) -> None:
    """What Django does between two requests on a persistent connection."""
    db.close_if_unusable_or_obsolete()
    assert db.health_check_done is False


def test_a_quiet_connection_passes_the_check_without_a_query(wrapper):
    pid = _backend_pid(wrapper)
    _new_request(wrapper)
    kept = wrapper.connection
    wrapper.close_if_health_check_failed()
    assert wrapper.health_check_done is True
    assert wrapper.connection is kept  # not reopened
    assert _last_statement(pid) == "SELECT pg_backend_pid()"  # and no SELECT 1 sent


def test_a_connection_the_server_ended_is_replaced_before_the_next_query(wrapper):
    old = _backend_pid(wrapper)
    _new_request(wrapper)
    with connection.cursor() as cursor:  # another session ends it, as a restart or an admin would
        cursor.execute("SELECT pg_terminate_backend(%s)", [old])
    deadline = time.monotonic() + 10
    while wrapper._quiet() and time.monotonic() < deadline:  # the FATAL message and the close arrive
        time.sleep(0.01)
    assert wrapper._quiet() is False
    wrapper.close_if_health_check_failed()
    assert wrapper.connection is None  # Django's own check ran and closed it
    assert _backend_pid(wrapper) != old  # the request's first query opens a new connection


def test_an_open_transaction_gets_djangos_own_check(wrapper):
    wrapper.set_autocommit(False)
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT 1")
        assert wrapper._quiet() is False  # in a transaction: not taken as quiet
    finally:
        wrapper.rollback()
        wrapper.set_autocommit(True)
