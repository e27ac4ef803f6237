"""A short-lived cache of anonymous API reads.

Published objects are immutable, so most anonymous GETs answer the same bytes for everyone; what
can change is what is *added* (new versions in a list, a report that finished, a new descendant in
a lineage). Caching those answers for a few seconds (``LEAKLEDGER_API_CACHE_SECONDS``, default 5;
0 turns it off) lets a small server carry many readers: it moved the read benchmark's p99 from
251 ms to the table in ``benchmarks/README.md``.

Never cached: requests with credentials (a token or a session: answers may depend on who asks),
jobs (private to their creator), anything but a 200, streamed downloads, and responses that set a
cookie. Cached answers skip DRF's anonymous throttle, costing the server next to nothing.
"""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse

PREFIX = "/api/v1/"
NEVER = ("/api/v1/jobs/",)
KEPT_HEADERS = (
    "Content-Type",
    "Vary",
    "Allow",
    "Link",
    "Location",
    "Content-Disposition",
    "X-Content-SHA256",
)


class AnonymousReadCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def _key(self, request) -> str | None:
        seconds = settings.LEAKLEDGER["API_CACHE_SECONDS"]
        if (
            not seconds
            or request.method not in ("GET", "HEAD")
            or not request.path.startswith(PREFIX)
            or request.path.startswith(NEVER)
            or "HTTP_AUTHORIZATION" in request.META
            or settings.SESSION_COOKIE_NAME in request.COOKIES
        ):
            return None
        raw = f"{request.method}|{request.get_full_path()}|{request.META.get('HTTP_ACCEPT', '')}"
        return "leakledger:api:" + hashlib.sha256(raw.encode()).hexdigest()

    def __call__(self, request):
        key = self._key(request)
        if key is None:
            return self.get_response(request)
        cached = cache.get(key)
        if cached is not None:
            content, headers = cached
            response = HttpResponse(content, status=200)
            for name, value in headers:
                response[name] = value
            response["X-Cache"] = "hit"
            return response
        response = self.get_response(request)
        if response.status_code == 200 and not response.streaming and not response.cookies:
            headers = [(name, response[name]) for name in KEPT_HEADERS if response.has_header(name)]
            cache.set(key, (response.content, headers), settings.LEAKLEDGER["API_CACHE_SECONDS"])
            response["X-Cache"] = "miss"
        return response
