"""LeakLedger settings, driven by environment variables with safe defaults.

A fresh checkout runs with no configuration: SQLite in ``var/leakledger.sqlite3`` and Celery in
eager mode. Production sets ``DATABASE_URL`` (PostgreSQL through psycopg 3) and
``CELERY_BROKER_URL`` (Redis or RabbitMQ). Bad values fail loudly at start-up.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use 1/0, true/false, yes/no or on/off.")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    return number


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("LEAKLEDGER_DEBUG", False)
PRODUCTION = env_bool("LEAKLEDGER_PRODUCTION", False)  # "0", "false", "" are not production
SECRET_KEY = os.environ.get("LEAKLEDGER_SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("LEAKLEDGER_SECRET_KEY must be set when LEAKLEDGER_PRODUCTION is set.")
    SECRET_KEY = "insecure-development-key-set-LEAKLEDGER_SECRET_KEY-in-production"
ALLOWED_HOSTS = env_list("LEAKLEDGER_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

# --- Production hardening: refuse weak settings, secure transport by default ----------------------
# With LEAKLEDGER_PRODUCTION=1, `manage.py check --deploy --fail-level WARNING` passes (a test runs it).
DEVELOPMENT_SECRET_KEY = "insecure-development-key-set-LEAKLEDGER_SECRET_KEY-in-production"
if PRODUCTION:
    _weak = []
    if SECRET_KEY == DEVELOPMENT_SECRET_KEY or SECRET_KEY.startswith("django-insecure-"):
        _weak.append("LEAKLEDGER_SECRET_KEY is a published development key")
    elif len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        _weak.append("LEAKLEDGER_SECRET_KEY is too weak (at least 50 characters, not repetitive)")
    if DEBUG:
        _weak.append("LEAKLEDGER_DEBUG is on (it shows tracebacks and settings to anyone)")
    if not os.environ.get("LEAKLEDGER_ALLOWED_HOSTS", "").strip():
        _weak.append("LEAKLEDGER_ALLOWED_HOSTS is not set (name the host names this site answers to)")
    if _weak:
        raise ImproperlyConfigured(
            "LEAKLEDGER_PRODUCTION=1 refuses this configuration: "
            + "; ".join(_weak)
            + ". Make a key with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (nginx, a load balancer).
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("LEAKLEDGER_PROXY_SSL_HEADER", PRODUCTION) else None
)
SECURE_SSL_REDIRECT = env_bool("LEAKLEDGER_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = env_int("LEAKLEDGER_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("LEAKLEDGER_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("LEAKLEDGER_HSTS_PRELOAD", PRODUCTION)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("LEAKLEDGER_SECURE_COOKIES", PRODUCTION)
CSRF_TRUSTED_ORIGINS = env_list("LEAKLEDGER_CSRF_TRUSTED_ORIGINS", "")

# Where uploads and working files live (uploaded files are streamed here, never held in memory).
DATA_DIR = Path(os.environ.get("LEAKLEDGER_DATA_DIR", BASE_DIR / "var"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # WhiteNoise serves static files under runserver too, exactly as in production (DEBUG on or off).
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "registry",
    "api",
    "web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "api.cache.AnonymousReadCacheMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_default_sqlite = f"sqlite:///{DATA_DIR / 'leakledger.sqlite3'}"
try:
    DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL") or _default_sqlite)}
except Exception as exc:  # dj-database-url raises several types for a malformed URL
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Concurrent readers while a writer works; wait instead of failing on a busy database.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
    # Django's own test database for SQLite, in memory; named, because the engine is renamed below
    # and tools that look for the sqlite3 engine by its name (pytest-django) would name one on disk.
    DATABASES["default"].setdefault("TEST", {}).setdefault("NAME", ":memory:")
_postgresql = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if _postgresql and env_bool("LEAKLEDGER_PG_PREPARE", True):
    # Parameters bound by the server, and a statement run this many times on a connection prepared
    # (psycopg's prepare_threshold): PostgreSQL then parses and plans it once per connection, not
    # once per request: it halved PostgreSQL's CPU under the API load (benchmarks/README.md, API load).
    # Off for a pooler in transaction mode (PgBouncer), which cannot keep prepared statements. A
    # statement prepared before a migration that changes the columns it returns fails until its
    # connection closes: restart the web and worker processes after such a migration.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": env_int("LEAKLEDGER_PG_PREPARE_THRESHOLD", 5)}
    )
# Django's backends with a per-process cache of compiled SELECTs (registry/db/compiled.py): a third
# of the API's Python time per request was Django compiling the same few dozen query shapes again.
# "on", "off", or "verify" (compile in full as well and fail on any difference; the tests run so).
LEAKLEDGER_SQL_CACHE = os.environ.get("LEAKLEDGER_SQL_CACHE", "").strip().lower() or "on"
if LEAKLEDGER_SQL_CACHE not in {"on", "off", "verify"}:
    raise ImproperlyConfigured(f"LEAKLEDGER_SQL_CACHE={LEAKLEDGER_SQL_CACHE!r}: use on, off or verify.")
_ENGINES = {
    "django.db.backends.postgresql": "registry.db.postgresql",
    "django.db.backends.sqlite3": "registry.db.sqlite3",
}
DATABASES["default"]["ENGINE"] = _ENGINES.get(DATABASES["default"]["ENGINE"], DATABASES["default"]["ENGINE"])
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Reuse connections across requests (doubled API throughput on PostgreSQL: benchmarks/README.md).
DATABASES["default"]["CONN_MAX_AGE"] = env_int("LEAKLEDGER_CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# `manage.py collectstatic` writes here; WhiteNoise serves it in every mode (no CDN, no web server
# needed): hashed names cached for a year, gzip and Brotli copies made once at collect time.
STATIC_ROOT = Path(os.environ.get("LEAKLEDGER_STATIC_ROOT", DATA_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Celery -------------------------------------------------------------------------------------
# No broker: run tasks in the calling process so that the embedded default needs nothing started.
CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL")
# With a host, so that kombu does not warn "No hostname was supplied" on every command.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a killed worker's task is redelivered, not lost
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers a task that a dead worker never acknowledged after this many seconds; jobs
# whose worker died are also re-queued by `manage.py recover_jobs` once their heartbeat is stale.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("LEAKLEDGER_VISIBILITY_TIMEOUT", 3600, minimum=60)
}

# Worker processes per Celery worker (Celery's own default: one per CPU). Set it here rather than
# with `celery worker --concurrency`, so that LEAKLEDGER_THREADS below can share the CPUs out.
_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
CELERY_WORKER_CONCURRENCY = env_int("LEAKLEDGER_WORKER_CONCURRENCY", _CPUS, minimum=1)

# --- LeakLedger limits and detection settings ---------------------------------------------------
LEAKLEDGER = {
    # Threads one job sketches and aligns on, and the cap of MMseqs2's --threads: by default the
    # CPUs divided by the worker's concurrency, so a worker running two jobs never oversubscribes.
    "THREADS": env_int("LEAKLEDGER_THREADS", max(1, _CPUS // CELERY_WORKER_CONCURRENCY), minimum=1),
    # Largest file accepted for registration (bytes on disk, compressed or not).
    "MAX_FILE_BYTES": env_int("LEAKLEDGER_MAX_FILE_BYTES", 4 * 1024**3, minimum=1),
    # Guards against gzip bombs: largest decompressed size (as large as the largest file accepted).
    "MAX_UNCOMPRESSED_BYTES": env_int("LEAKLEDGER_MAX_UNCOMPRESSED_BYTES", 4 * 1024**3, minimum=1),
    # Longest sequence accepted (residues; characters for text).
    "MAX_SEQUENCE_LENGTH": env_int("LEAKLEDGER_MAX_SEQUENCE_LENGTH", 1_000_000, minimum=1),
    # Rows per bulk insert.
    "BATCH_SIZE": env_int("LEAKLEDGER_BATCH_SIZE", 5000, minimum=1),
    # Run the MMseqs2 tier in standing checks when the program is installed.
    "MMSEQS_ENABLED": env_bool("LEAKLEDGER_MMSEQS_ENABLED", False),
    "MMSEQS_PATH": os.environ.get("LEAKLEDGER_MMSEQS_PATH", "mmseqs"),
    # Seconds an anonymous API read is served from the cache (api/cache.py); 0 turns it off.
    "API_CACHE_SECONDS": env_int("LEAKLEDGER_API_CACHE_SECONDS", 5),
    # Seconds a rendered page or badge is kept (web/views.py); its key changes with the data, so a
    # kept page is never stale. 0 renders every request anew.
    "PAGE_CACHE_SECONDS": env_int("LEAKLEDGER_PAGE_CACHE_SECONDS", 300),
}

# --- Jobs: leases, recovery, retries, publishing (registry/services/jobs.py) -------------------
LEAKLEDGER.update(
    {
        # A running job's lease: a thread of the worker renews its heartbeat every this many seconds,
        # whatever stage the job is in (an hours-long MinHash join included).
        "JOB_HEARTBEAT_SECONDS": env_int("LEAKLEDGER_JOB_HEARTBEAT_SECONDS", 10, minimum=1),
        # A running job whose heartbeat is older than this is taken to be dead (its worker was killed):
        # recover_jobs re-queues it and another worker may claim it. Keep it several heartbeats long.
        "JOB_STALE_SECONDS": env_int("LEAKLEDGER_JOB_STALE_SECONDS", 120, minimum=2),
        # Attempts (claims) a job gets before a transient fault or a dying worker fails it for good.
        "JOB_MAX_ATTEMPTS": env_int("LEAKLEDGER_JOB_MAX_ATTEMPTS", 6, minimum=1),
        # Seconds a request waits for the broker to take a task; past that the job stays pending with
        # its file and recover_jobs enqueues it once the broker is back.
        "BROKER_PUBLISH_TIMEOUT": env_int("LEAKLEDGER_BROKER_PUBLISH_TIMEOUT", 3, minimum=1),
        # Without a broker an upload is registered inside its request: at most this many bytes are read
        # (decompressed), so that one request cannot hold a web worker for long. The CLI has no such bound.
        "INLINE_MAX_BYTES": env_int("LEAKLEDGER_INLINE_MAX_BYTES", 8 * 1024**2, minimum=1),
    }
)
if LEAKLEDGER["JOB_STALE_SECONDS"] <= 2 * LEAKLEDGER["JOB_HEARTBEAT_SECONDS"]:
    raise ImproperlyConfigured(
        "LEAKLEDGER_JOB_STALE_SECONDS must be more than twice LEAKLEDGER_JOB_HEARTBEAT_SECONDS, or live jobs "
        "would look dead between two heartbeats."
    )
_publish_timeout = LEAKLEDGER["BROKER_PUBLISH_TIMEOUT"]
# Bounded publishing: a broker that is down or hung (SIGSTOPped, partitioned) costs a request seconds,
# not a gunicorn worker timeout.
CELERY_BROKER_CONNECTION_TIMEOUT = _publish_timeout
CELERY_BROKER_TRANSPORT_OPTIONS.update(
    {"socket_connect_timeout": _publish_timeout, "socket_timeout": _publish_timeout}
)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}

# One cache for all processes in production (e.g. redis://127.0.0.1:6379/1); per process otherwise.
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["LEAKLEDGER_CACHE_URL"],
        }
        if os.environ.get("LEAKLEDGER_CACHE_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- REST framework -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenOrBearerAuthentication",  # "Token <key>" or "Bearer <key>"
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "api.pagination.StableCursorPagination",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("LEAKLEDGER_THROTTLE_ANON", "600/minute"),
        "user": os.environ.get("LEAKLEDGER_THROTTLE_USER", "6000/minute"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "LeakLedger API",
    "DESCRIPTION": "Dataset registry and provenance database that finds train/test overlap.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Relative to the schema's own address: the server that served it (generated clients take a base URL).
    "SERVERS": [
        {"url": os.environ.get("LEAKLEDGER_PUBLIC_URL", "/"), "description": "This LeakLedger server."}
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LEAKLEDGER_LOG_LEVEL", "WARNING")},
    # One line per job in a Celery worker, whatever the worker's level (registry/worker_log.py).
    "loggers": {"leakledger.jobs": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

# Where the registry is served, for the URLs in citations made without a request (`manage.py cite`).
LEAKLEDGER_PUBLIC_URL = os.environ.get("LEAKLEDGER_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
if not LEAKLEDGER_PUBLIC_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"LEAKLEDGER_PUBLIC_URL={LEAKLEDGER_PUBLIC_URL!r} is not an http(s) URL.")
