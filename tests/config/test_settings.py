"""Production start-up refuses weak settings; the documented production configuration passes
``manage.py check --deploy --fail-level WARNING``. Each case starts a fresh process, as a server would."""

import secrets
import subprocess
import sys

import pytest

from tests.conftest import REPO

STRONG_KEY = secrets.token_urlsafe(50)


def production_env(tmp_path, **overrides) -> dict:
    """The README's production configuration (the database and broker do not matter to these checks)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "LEAKLEDGER_DATA_DIR": str(tmp_path),
        "LEAKLEDGER_PRODUCTION": "1",
        "LEAKLEDGER_SECRET_KEY": STRONG_KEY,
        "LEAKLEDGER_ALLOWED_HOSTS": "ledger.example.org",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_documented_production_configuration_passes_check_deploy(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"LEAKLEDGER_SECRET_KEY": "insecure-development-key-set-LEAKLEDGER_SECRET_KEY-in-production"},
            "published",
        ),
        ({"LEAKLEDGER_SECRET_KEY": "django-insecure-" + STRONG_KEY}, "published"),
        ({"LEAKLEDGER_SECRET_KEY": "x"}, "too weak"),
        ({"LEAKLEDGER_SECRET_KEY": "ab" * 40}, "too weak"),
        ({"LEAKLEDGER_DEBUG": "1"}, "LEAKLEDGER_DEBUG is on"),
        ({"LEAKLEDGER_ALLOWED_HOSTS": None}, "LEAKLEDGER_ALLOWED_HOSTS is not set"),
        ({"LEAKLEDGER_ALLOWED_HOSTS": " "}, "LEAKLEDGER_ALLOWED_HOSTS is not set"),
        ({"LEAKLEDGER_SECRET_KEY": None}, "LEAKLEDGER_SECRET_KEY must be set"),
    ],
)
def test_production_refuses_weak_settings(tmp_path, overrides, message):
    result = manage(production_env(tmp_path, **overrides), "check")
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


def test_production_0_is_not_production(tmp_path):
    env = production_env(
        tmp_path, LEAKLEDGER_PRODUCTION="0", LEAKLEDGER_SECRET_KEY=None, LEAKLEDGER_ALLOWED_HOSTS=None
    )
    assert manage(env, "check").returncode == 0
    shown = manage(
        env,
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.SECURE_SSL_REDIRECT)",
    )
    assert shown.stdout.strip() == "False", shown.stderr


def test_transport_security_is_on_in_production_and_each_setting_can_be_changed(tmp_path):
    code = (
        "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_PROXY_SSL_HEADER)"
    )
    default = manage(production_env(tmp_path), "shell", "--no-imports", "-c", code)
    assert default.stdout.split() == [
        "True",
        "31536000",
        "True",
        "True",
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
    ]
    changed = manage(
        production_env(
            tmp_path,
            LEAKLEDGER_SSL_REDIRECT="0",
            LEAKLEDGER_HSTS_SECONDS="3600",
            LEAKLEDGER_SECURE_COOKIES="false",
            LEAKLEDGER_PROXY_SSL_HEADER="no",
        ),
        "shell",
        "--no-imports",
        "-c",
        code,
    )
    assert changed.stdout.split() == ["False", "3600", "False", "False", "None"], changed.stderr


def _database_options(tmp_path, url: str, **overrides) -> dict:
    import json

    env = production_env(tmp_path, LEAKLEDGER_PRODUCTION="0", DATABASE_URL=url, **overrides)
    shown = manage(
        env,
        "shell",
        "--no-imports",
        "-c",
        "import json; from django.conf import settings; print(json.dumps(settings.DATABASES['default']['OPTIONS']))",
    )
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout.strip().splitlines()[-1])


def test_postgresql_binds_parameters_on_the_server_and_prepares_repeated_statements(tmp_path):
    url = "postgresql://leakledger@db.invalid:5432/leakledger"  # settings only: nothing connects
    assert _database_options(tmp_path, url) == {"server_side_binding": True, "prepare_threshold": 5}
    assert _database_options(tmp_path, url, LEAKLEDGER_PG_PREPARE_THRESHOLD="2")["prepare_threshold"] == 2
    assert _database_options(tmp_path, url, LEAKLEDGER_PG_PREPARE="0") == {}  # behind PgBouncer
    assert "server_side_binding" not in _database_options(tmp_path, f"sqlite:///{tmp_path}/x.sqlite3")


@pytest.mark.django_db
def test_a_statement_run_often_is_prepared_on_postgresql():
    from django.db import connection

    from registry.models import Dataset

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: runs in the PostgreSQL phase of .ci/run")
    for _ in range(6):  # the threshold is 5 runs on one connection
        list(Dataset.objects.filter(name="not-there"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    assert any('FROM "registry_dataset"' in s and "$1" in s for s in statements), statements


def test_django_backends_run_behind_the_cache_of_compiled_selects(tmp_path):
    def shown(**overrides) -> list:
        env = production_env(tmp_path, LEAKLEDGER_PRODUCTION="0", **overrides)
        code = (
            "import json; from django.conf import settings; "
            "print(json.dumps([settings.DATABASES['default']['ENGINE'], settings.LEAKLEDGER_SQL_CACHE]))"
        )
        result = manage(env, "shell", "--no-imports", "-c", code)
        assert result.returncode == 0, result.stderr
        return __import__("json").loads(result.stdout.strip().splitlines()[-1])

    pg = "postgresql://leakledger@db.invalid:5432/leakledger"  # settings only: nothing connects
    assert shown(DATABASE_URL=pg) == ["registry.db.postgresql", "on"]
    assert shown(DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3") == ["registry.db.sqlite3", "on"]
    assert shown(DATABASE_URL=pg, LEAKLEDGER_SQL_CACHE="OFF") == ["registry.db.postgresql", "off"]
    refused = manage(
        production_env(tmp_path, LEAKLEDGER_PRODUCTION="0", LEAKLEDGER_SQL_CACHE="sometimes"), "check"
    )
    assert refused.returncode != 0
    assert "LEAKLEDGER_SQL_CACHE='sometimes': use on, off or verify." in refused.stderr
