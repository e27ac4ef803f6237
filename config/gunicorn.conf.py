"""gunicorn settings for LeakLedger: ``gunicorn -c config/gunicorn.conf.py`` (see README, Production).

gunicorn answers some requests itself, before Django sees them: a request line longer than
``limit_request_line`` (414), too many or too large headers (431), a malformed request (400). Its
answers are HTML; here they are JSON in the API's error shape, ``{"detail", "code", "fields"}``, like
every other answer of this service. Command-line options still override what is set here.
"""

import json
import os

from gunicorn import util

wsgi_app = "config.wsgi"
bind = os.environ.get("LEAKLEDGER_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("LEAKLEDGER_WEB_WORKERS", "2"))
# Long enough for an upload of the largest file, which is streamed to disk (the work is a job).
timeout = int(os.environ.get("LEAKLEDGER_WEB_TIMEOUT", "120"))
# gunicorn's defaults, stated: the longest request line (method, URL, version) and header fields.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# Behind a TLS proxy on the same host: trust its X-Forwarded-* headers (LEAKLEDGER_PROXY_SSL_HEADER).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

_CODES = {400: "bad_request", 403: "permission_denied", 414: "uri_too_long", 431: "headers_too_large"}


def json_error(sock, status_int, reason, mesg):
    """gunicorn's ``util.write_error``, in the error shape."""
    detail = f"{reason}: {mesg}" if mesg else reason
    if status_int == 414:
        detail = (
            f"The request line is longer than {limit_request_line} bytes: send long inputs in a request body."
        )
    body = json.dumps({"detail": detail, "code": _CODES.get(status_int, "error"), "fields": {}}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin1")
    util.write_nonblock(sock, head + body)


util.write_error = json_error


def post_worker_init(worker):
    """Load what a first request would, then take all of it out of the garbage collector's sight.

    A Django worker holds some hundred thousand long-lived objects (modules, classes, URL patterns,
    serializer fields) that every full collection walks while the requests queued behind that
    worker wait: over 6,000 requests of the load mix a full collection took up to 87.5 ms, and up to
    18.1 ms after ``gc.freeze()``, which moves them to the permanent generation that no collection
    walks (``benchmarks/profile_requests.py api --mix --gc [--gc-freeze]``; benchmarks/README.md,
    API load: the p99 under load fell with it).
    """
    import gc
    from importlib import import_module

    from django.conf import settings

    import_module(settings.ROOT_URLCONF)  # the URLconf and, through it, every view and serializer
    gc.collect()
    gc.freeze()
