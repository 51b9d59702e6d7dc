"""Slow and vanishing clients against a real `serve`: 408 after the read timeouts, and a client
that disconnects is not an error."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.test_serve import APP, Served

pytestmark = pytest.mark.slow  # a `serve` process and clients that dribble


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    import shutil

    shutil.copytree(APP, tmp_path / "web")
    local = tmp_path / "web" / "raindrop.local.yaml"
    local.write_text(local.read_text() + "http:\n  header_timeout: 0.5\n  body_timeout: 0.8\n")
    server = Served(tmp_path / "web" / "raindrop.manifest", 0)
    yield server
    if server.process.poll() is None:
        server.stop()


def dribble(port: int, parts: list[bytes], pause: float) -> tuple[bytes, float]:
    """Send ``parts`` with ``pause`` between them; what the server answered and when it closed."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        for part in parts:
            try:
                sock.sendall(part)
            except OSError:
                break
            time.sleep(pause)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received, time.monotonic() - started


def test_headers_dribbled_get_408(served: Served) -> None:
    parts = [b"GET /hello HTTP/1.1\r\n", *[b"X-Slow: %d\r\n" % i for i in range(20)], b"\r\n"]
    answer, took = dribble(served.port, parts, 0.1)
    assert answer.startswith(b"HTTP/1.1 408 ") and b"headers did not arrive within 0.5 s" in answer
    assert took < 1.5


def test_body_dribbled_gets_408(served: Served) -> None:
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 40\r\n\r\n"
    answer, took = dribble(served.port, [head, *[b"x" for _ in range(40)]], 0.1)
    assert answer.startswith(b"HTTP/1.1 408 ") and b"body did not arrive within 0.8 s" in answer
    assert took < 2.5


def test_idle_keepalive_and_normal_requests_still_work(served: Served) -> None:
    with httpx.Client(base_url=served.base, limits=httpx.Limits(max_connections=1)) as client:
        for _ in range(3):  # one kept-alive connection, requests well apart, each within the timeouts
            assert client.get("/hello").status_code == 200
            assert client.post("/echo", content=b"x" * 100_000).status_code == 200
            time.sleep(0.6)


def test_client_that_disconnects_is_not_an_error(served: Served) -> None:
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nabc"
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
            sock.sendall(head)
            time.sleep(0.05)
    time.sleep(0.2)
    code, err = served.stop(signal.SIGTERM)
    assert code == 0, err
    assert "ERROR" not in err and "Traceback" not in err, err


def test_a_body_timeout_shorter_than_the_header_timeout_still_holds(tmp_path: Path) -> None:
    # A connection keeps one timer set for its earliest deadline: a body deadline before the
    # header deadline the timer was set for must bring the timer forward.
    import shutil

    shutil.copytree(APP, tmp_path / "web")
    local = tmp_path / "web" / "raindrop.local.yaml"
    local.write_text(local.read_text() + "http:\n  header_timeout: 3\n  body_timeout: 0.4\n")
    server = Served(tmp_path / "web" / "raindrop.manifest", 0)
    try:
        head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 40\r\n\r\n"
        answer, took = dribble(server.port, [head, *[b"x" for _ in range(40)]], 0.1)
        assert answer.startswith(b"HTTP/1.1 408 ") and b"body did not arrive within 0.4 s" in answer
        assert took < 2.0
    finally:
        if server.process.poll() is None:
            server.stop()
