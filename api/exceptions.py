"""One error shape for every 4xx answer: ``{"detail": str, "code": str, "fields": {...}}``.

DRF's own exceptions (validation, authentication, permission, not found, throttling, parse,
method, media type), the registry's domain errors (``registry.errors.RegistryError``: each
carries its status and code) and the dedup library's ``ParseError`` all end up here, so a
client parses one shape whatever went wrong.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import DataError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from dedup.errors import ParseError as DedupParseError
from registry.errors import RegistryError


class PayloadTooLarge(exceptions.APIException):
    """The uploaded file is larger than ``LEAKLEDGER["MAX_FILE_BYTES"]``."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The uploaded file is too large."
    default_code = "payload_too_large"


class Gone(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "This resource is no longer available."
    default_code = "gone"


def _first_message(detail) -> str:
    """The first human message in a nested DRF error detail, prefixed by its field path."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = _first_message(value)
            if key in ("non_field_errors", "detail"):
                return inner
            return f"{key}: {inner}"
        return "Invalid input."
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else "Invalid input."
    return str(detail)


def _first_code(detail) -> str:
    if isinstance(detail, dict):
        return _first_code(next(iter(detail.values()))) if detail else "invalid"
    if isinstance(detail, list):
        return _first_code(detail[0]) if detail else "invalid"
    return getattr(detail, "code", None) or "invalid"


def _plain(detail):
    """ErrorDetail trees to plain JSON data (strings, lists, dicts)."""
    if isinstance(detail, dict):
        return {str(k): _plain(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_plain(v) for v in detail]
    return str(detail)


def error_body(exc: exceptions.APIException) -> dict:
    """The ``{"detail", "code", "fields"}`` body for a DRF exception.

    >>> error_body(exceptions.NotFound("No dataset 'x'."))
    {'detail': "No dataset 'x'.", 'code': 'not_found', 'fields': {}}
    >>> error_body(exceptions.ValidationError({"kind": ["This field is required."]}))["detail"]
    'kind: This field is required.'
    """
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        return {"detail": _first_message(fields), "code": _first_code(fields), "fields": _plain(fields)}
    if isinstance(detail, dict | list):
        return {"detail": _first_message(detail), "code": exc.default_code, "fields": _plain(detail)}
    return {"detail": str(detail), "code": getattr(detail, "code", None) or exc.default_code, "fields": {}}


def exception_handler(exc, context):
    """DRF ``EXCEPTION_HANDLER``: every handled error becomes ``{"detail", "code", "fields"}``."""
    if isinstance(exc, RegistryError):
        status_code = exc.status
        if exc.code == "permission_denied":  # some services raise the base class with this code
            status_code = status.HTTP_403_FORBIDDEN
        return Response(exc.to_dict(), status=status_code)
    if isinstance(exc, DedupParseError):
        return Response(
            {"detail": str(exc), "code": "input_rejected", "fields": exc.to_dict()},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {
                "detail": f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes, the most "
                "this API reads into memory. Send large inputs as files (multipart/form-data): a split's mapping as "
                "mapping_file, a sequence file as file.",
                "code": "payload_too_large",
                "fields": {},
            },
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return Response(
            {"detail": str(exc) or "Too many form fields.", "code": "too_many_fields", "fields": {}},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, RecursionError):  # a structure nested too deep for a recursive walk somewhere
        return Response(
            {"detail": "The input is nested too deeply to be read.", "code": "too_deep", "fields": {}},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DataError) and "NUL" in str(exc):  # PostgreSQL: text cannot hold \u0000
        return Response(
            {
                "detail": "A value holds a NUL character (\\u0000), which cannot be stored; remove it.",
                "code": "nul_character",
                "fields": {},
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: let Django answer 500 and log it
    if isinstance(exc, exceptions.APIException):
        body = error_body(exc)
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            body["fields"] = {"retry_after_seconds": int(exc.wait)}
        response.data = body
    return response


# --- Answers Django makes itself, outside DRF's views: JSON in the error shape under /api/ -------------

API_PREFIX = "/api/"


def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def _json_error(status_code: int, detail: str, code: str):
    from django.http import JsonResponse

    return JsonResponse({"detail": detail, "code": code, "fields": {}}, status=status_code)


def api_route_not_found(request, *args, **kwargs):
    """The last API route: a URL under /api/ that no view serves (an unknown path or job action).

    Being a route, it would stop CommonMiddleware's APPEND_SLASH redirect, so it makes it itself.
    """
    from django.http import HttpResponsePermanentRedirect
    from django.urls import Resolver404, resolve

    if not request.path_info.endswith("/"):
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_route_not_found:
            if request.method in ("GET", "HEAD"):
                query = request.META.get("QUERY_STRING", "")
                return HttpResponsePermanentRedirect(request.path + "/" + (f"?{query}" if query else ""))
            return _json_error(
                404, f"No API endpoint at {request.path!r}; did you mean {request.path + '/'!r}?", "not_found"
            )
    return _json_error(
        404,
        f"No API endpoint at {request.path!r}. The API's routes are listed at /api/v1/ and documented at "
        "/api/v1/schema/.",
        "not_found",
    )


def bad_request(request, exception=None):
    """``handler400``: a bad Host header (DisallowedHost) or another SuspiciousOperation."""
    if _is_api(request):
        from django.core.exceptions import DisallowedHost

        if isinstance(exception, DisallowedHost):
            return _json_error(400, "This host name is not served here (ALLOWED_HOSTS).", "bad_host")
        return _json_error(400, "Bad request.", "bad_request")
    from django.views.defaults import bad_request as default

    return default(request, exception)


def page_not_found(request, exception=None):
    """``handler404``: a 404 that Django answers itself (outside DRF)."""
    if _is_api(request):
        return api_route_not_found(request)
    from django.views.defaults import page_not_found as default

    return default(request, exception)


def server_error(request):
    """``handler500``: even a bug answers the API's error shape (the traceback goes to the log, not the client)."""
    if _is_api(request):
        return _json_error(500, "Internal server error; it has been logged.", "internal_error")
    from django.views.defaults import server_error as default

    return default(request)
