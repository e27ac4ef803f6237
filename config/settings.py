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
SECRET_KEY = os.environ.get("LEAKLEDGER_SECRET_KEY", "")
if not SECRET_KEY:
    if os.environ.get("LEAKLEDGER_PRODUCTION"):
        raise ImproperlyConfigured("LEAKLEDGER_SECRET_KEY must be set when LEAKLEDGER_PRODUCTION is set.")
    SECRET_KEY = "insecure-development-key-set-LEAKLEDGER_SECRET_KEY-in-production"
ALLOWED_HOSTS = env_list("LEAKLEDGER_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

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
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://"
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

# --- LeakLedger limits and detection settings ---------------------------------------------------
LEAKLEDGER = {
    # Largest file accepted for registration (bytes on disk, compressed or not).
    "MAX_FILE_BYTES": env_int("LEAKLEDGER_MAX_FILE_BYTES", 4 * 1024**3, minimum=1),
    # Guards against gzip bombs: largest decompressed size.
    "MAX_UNCOMPRESSED_BYTES": env_int("LEAKLEDGER_MAX_UNCOMPRESSED_BYTES", 16 * 1024**3, minimum=1),
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
}
