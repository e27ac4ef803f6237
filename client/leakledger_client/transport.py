"""HTTP for the client: one session, the token, errors to exceptions, streamed multipart uploads."""

from __future__ import annotations

import json
import mimetypes
import os
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

import requests

from . import __version__
from .config import Settings
from .errors import ApiError, ConnectionFailed, ServerError, Throttled, error_class

CHUNK = 1 << 20


class MultipartStream:
    """A ``multipart/form-data`` body read from disk as it is sent: a file of any size, bounded memory.

    It has a length (so the request carries ``Content-Length`` and the server can refuse a file that
    is too large before reading it) and ``read(n)``, which is how ``requests`` streams a body.
    """

    def __init__(
        self,
        fields: Iterable[tuple[str, str]],
        files: Iterable[tuple[str, Path]],
        on_progress: Callable[[int, int], None] | None = None,
    ):
        self.boundary = uuid.uuid4().hex
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        self._pieces: list[bytes | Path] = []
        for name, value in fields:
            self._pieces.append(
                f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            )
        for name, path in files:
            filename = path.name.replace('"', "_")
            media = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            self._pieces.append(
                f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {media}\r\n\r\n".encode()
            )
            self._pieces.append(path)
            self._pieces.append(b"\r\n")
        self._pieces.append(f"--{self.boundary}--\r\n".encode())
        self._length = sum(p.stat().st_size if isinstance(p, Path) else len(p) for p in self._pieces)
        self._index = 0
        self._handle: IO[bytes] | None = None
        self._buffer = b""
        self._sent = 0
        self._on_progress = on_progress

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        size = CHUNK if size is None or size < 0 else size
        out = bytearray()
        while len(out) < size and self._index < len(self._pieces):
            piece = self._pieces[self._index]
            if isinstance(piece, Path):
                if self._handle is None:
                    self._handle = open(piece, "rb")  # noqa: SIM115 - closed when exhausted below
                data = self._handle.read(size - len(out))
                if not data:
                    self._handle.close()
                    self._handle = None
                    self._index += 1
                    continue
                out += data
            else:
                take = piece[: size - len(out)]
                out += take
                rest = piece[len(take) :]
                if rest:
                    self._pieces[self._index] = rest
                else:
                    self._index += 1
        self._sent += len(out)
        if self._on_progress is not None:
            self._on_progress(self._sent, self._length)
        return bytes(out)


class Transport:
    """Requests against ``settings.url`` with the token; every refusal raises an ``ApiError``."""

    def __init__(
        self, settings: Settings, *, timeout: float = 300.0, session: requests.Session | None = None
    ):
        self.settings = settings
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = f"leakledger-client/{__version__}"
        self.session.headers["Accept"] = "application/json"
        if settings.token:
            self.session.headers["Authorization"] = f"Token {settings.token}"

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return self.settings.url + path_or_url.lstrip("/")

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        body: MultipartStream | None = None,
        accept: str | None = None,
        stream: bool = False,
        ok: tuple[int, ...] = (),
    ) -> requests.Response:
        """One request; retried on 429/503 (``Retry-After``) when it has no upload body."""
        url = self.url(path_or_url)
        headers: dict[str, str] = {}
        if accept:
            headers["Accept"] = accept
        data: Any = None
        if body is not None:
            headers["Content-Type"] = body.content_type
            data = body
        elif json_body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(json_body)
        for attempt in range(5):
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    data=data,
                    headers=headers,
                    timeout=self.timeout,
                    stream=stream,
                )
            except requests.ConnectionError as exc:
                raise ConnectionFailed(
                    f"cannot reach the LeakLedger server at {self.settings.url} (from {self.settings.url_from}): "
                    f"{_reason(exc)}. Start it, or set LEAKLEDGER_URL (or url in the config file)."
                ) from None
            except requests.Timeout:
                raise ConnectionFailed(
                    f"{method} {url}: no answer within {self.timeout:.0f}s (timeout=...)."
                ) from None
            retryable = response.status_code in (429, 503) and body is None and attempt < 4
            if not retryable:
                break
            time.sleep(min(float(response.headers.get("Retry-After") or 1 + attempt), 30.0))
        if response.status_code >= 400 and response.status_code not in ok:
            raise self.error(response, method, url)
        return response

    def json(self, method: str, path_or_url: str, **kwargs: Any) -> Any:
        response = self.request(method, path_or_url, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ServerError(
                response.status_code,
                f"the answer is not JSON: {response.text[:200]!r}",
                "not_json",
                method=method,
                url=response.url,
            ) from None

    def error(self, response: requests.Response, method: str, url: str) -> ApiError:
        """The exception for a refused request, carrying the API's ``{"detail", "code", "fields"}``."""
        status = response.status_code
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict) and "detail" in data:
            code = str(data.get("code") or "error")
            raw_fields = data.get("fields")
            fields: dict[str, Any] = raw_fields if isinstance(raw_fields, dict) else {}
            cls = error_class(status, code)
            if cls is Throttled and "Retry-After" in response.headers:
                fields = {**fields, "retry_after_seconds": response.headers["Retry-After"]}
            return cls(status, str(data["detail"]), code, fields, method=method, url=url)
        text = (response.text or "").strip().replace("\n", " ")[:300]
        return error_class(status, "")(
            status,
            f"HTTP {status} {response.reason}: {text or 'no body'}",
            "http_error",
            method=method,
            url=url,
        )


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "No route to host"):
        if marker in text:
            return marker.lower()
    return text[:200]


def file_path(value: str | os.PathLike[str]) -> Path:
    path = Path(value).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    return path
