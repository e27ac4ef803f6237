"""The client's exceptions: every refusal of the API carries its ``{"detail", "code", "fields"}``.

``LeakLedgerError`` is the base of all of them. An answer of the server becomes an ``ApiError``
subclass chosen by status (and, for 404 ``not_ready``, by code), so a script can catch what it
means to handle::

    try:
        client.register_dataset("test.fasta", name="bench", kind="protein")
    except InputRejected as exc:       # 400: the file or a field was refused; nothing was written
        print(exc.detail, exc.fields.get("line"), exc.fields.get("record"))
"""

from __future__ import annotations

from typing import Any


class LeakLedgerError(Exception):
    """Base class of every error raised by ``leakledger_client``."""


class ConfigError(LeakLedgerError):
    """The base URL or the token could not be determined, or the config file is unreadable."""


class ConnectionFailed(LeakLedgerError):
    """The server could not be reached (refused, timed out, DNS, TLS)."""


class ApiError(LeakLedgerError):
    """The server refused a request; ``detail``, ``code`` and ``fields`` are its error shape.

    Attributes:
        status: the HTTP status.
        detail: what went wrong and what to do, for people.
        code: a stable machine-readable code (``invalid``, ``input_rejected``, ``not_found``, ...).
        fields: per-field messages; for a rejected file ``file``, ``line``, ``record``, ``reason``,
            ``hint`` (and ``job``, the job that ran the validation).
        method, url: the request that was refused.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        code: str = "error",
        fields: dict[str, Any] | None = None,
        *,
        method: str = "",
        url: str = "",
    ):
        self.status = status
        self.detail = detail
        self.code = code
        self.fields = dict(fields or {})
        self.method = method
        self.url = url
        super().__init__(self._message())

    def _message(self) -> str:
        where = f" ({self.method} {self.url})" if self.url else ""
        return f"{self.detail} [HTTP {self.status}, {self.code}]{where}"

    def to_dict(self) -> dict[str, Any]:
        """The API's error shape, as the server sent it."""
        return {"detail": self.detail, "code": self.code, "fields": self.fields}


class InputRejected(ApiError):
    """400: a file, a field or a reference was refused. Nothing was written."""


class AuthenticationError(ApiError):
    """401: no token, or the token is not valid (set LEAKLEDGER_TOKEN or the config file)."""


class PermissionDenied(ApiError):
    """403: the token's user may not do this (e.g. add a version to someone else's dataset)."""


class NotFound(ApiError):
    """404: no such dataset, version, record set, model version, evaluation or job."""


class NotReady(NotFound):
    """404 ``not_ready``: the thing exists but is still being computed (e.g. a contamination report)."""


class Conflict(ApiError):
    """409: already registered (model versions are immutable), or otherwise in conflict."""


class PayloadTooLarge(ApiError):
    """413: the file or body is larger than the server accepts."""


class Throttled(ApiError):
    """429: too many requests; ``retry_after`` says how many seconds to wait."""

    @property
    def retry_after(self) -> float | None:
        value = self.fields.get("retry_after_seconds")
        return float(value) if value is not None else None


class ServerError(ApiError):
    """5xx, or an answer that is not the API's JSON (a proxy's error page)."""


class JobFailed(ApiError):
    """A background job (ingest, overlap query) failed; ``fields`` holds the job's error and URL."""


class JobTimeout(LeakLedgerError):
    """Waiting for a job or a report took longer than the timeout; the work goes on on the server."""

    def __init__(self, message: str, *, url: str = ""):
        self.url = url
        super().__init__(message)


_BY_STATUS: dict[int, type[ApiError]] = {
    400: InputRejected,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    429: Throttled,
}


def error_class(status: int, code: str) -> type[ApiError]:
    """The ``ApiError`` subclass for an answer's status and code.

    >>> error_class(404, "not_ready").__name__, error_class(400, "input_rejected").__name__
    ('NotReady', 'InputRejected')
    >>> error_class(502, "bad_gateway").__name__, error_class(418, "teapot").__name__
    ('ServerError', 'ApiError')
    """
    if status == 404 and code == "not_ready":
        return NotReady
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ApiError)


__all__ = [
    "ApiError",
    "AuthenticationError",
    "ConfigError",
    "Conflict",
    "ConnectionFailed",
    "InputRejected",
    "JobFailed",
    "JobTimeout",
    "LeakLedgerError",
    "NotFound",
    "NotReady",
    "PayloadTooLarge",
    "PermissionDenied",
    "ServerError",
    "Throttled",
    "error_class",
]
