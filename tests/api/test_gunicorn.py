"""gunicorn's own answers (before Django) are JSON in the error shape with ``config/gunicorn.conf.py``."""

import json
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path):
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "config/gunicorn.conf.py",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
        ],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "LEAKLEDGER_DATA_DIR": str(tmp_path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield port
    proc.terminate()
    proc.wait(timeout=20)


def _raw(port: int, request: bytes) -> tuple[str, dict]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode("latin1"), json.loads(body)


def test_a_request_line_over_the_limit_is_a_json_414(gunicorn):
    head, body = _raw(
        gunicorn, b"GET /api/v1/datasets/?search=" + b"x" * 5000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )
    assert head.startswith("HTTP/1.1 414") and "Content-Type: application/json" in head
    assert set(body) == {"detail", "code", "fields"} and body["code"] == "uri_too_long"


def test_too_many_headers_is_a_json_error(gunicorn):
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
    head, body = _raw(gunicorn, b"GET /api/v1/ HTTP/1.1\r\nHost: localhost\r\n" + headers + b"\r\n")
    assert head.startswith("HTTP/1.1 431") and body["code"] == "headers_too_large"


def test_a_worker_freezes_what_it_loaded_before_its_first_request():
    import gc
    import runpy

    hooks = runpy.run_path(str(REPO / "config" / "gunicorn.conf.py"))
    assert gc.get_freeze_count() == 0
    try:
        hooks["post_worker_init"](None)
        assert "api.views" in sys.modules  # the URLconf's views came with it
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
