"""`serve` as a real subprocess on a free port: HTTP, queues, SIGTERM mid-work, restart."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow  # every test runs `serve` as a process

APP = Path(__file__).parent / "apps" / "web"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """A ``serve`` child process, ready. ``port=0`` picks a free port, and another one if some
    other process takes it between the pick and serve's bind (ephemeral ports are shared)."""

    def __init__(self, manifest: Path, port: int, *extra: str) -> None:
        for attempt in range(5):
            self.port = port or free_port()
            self.base = f"http://127.0.0.1:{self.port}"
            self.process = subprocess.Popen(
                [sys.executable, "-m", "runtime", "serve", str(manifest), "--port", str(self.port), *extra],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            try:
                self._wait_ready()
                return
            except AssertionError as exc:
                if port or "already in use" not in str(exc) or attempt == 4:
                    raise

    def _wait_ready(self) -> None:
        assert self.process.stdout is not None
        self.banner: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                self.process.wait(timeout=10)
                raise AssertionError(f"serve exited: {self.process.stderr.read() if self.process.stderr else ''}")
            self.banner.append(line.rstrip())
            if line.startswith("ready in"):
                return
        raise AssertionError("serve did not get ready in 30 s")

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        self.process.send_signal(sig)
        _, err = self.process.communicate(timeout=30)
        return self.process.returncode, err


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    shutil.copytree(APP, tmp_path / "web")
    yield tmp_path / "web" / "raindrop.manifest"


def test_serve_answers_and_stops_cleanly(project: Path) -> None:
    served = Served(project, 0, "--log-format", "json")
    try:
        text = "\n".join(served.banner)
        assert "service    api" in text and f"http://127.0.0.1:{served.port}" in text
        assert "dashboard  http://127.0.0.1:" in text and "secrets not set: API_TOKEN" in text
        assert httpx.get(served.base + "/hello").text == "hello, world"
        assert httpx.get(served.base + "/users", headers={"Host": "api.localhost"}).json() == ["Ada", "Grace"]
        assert httpx.get(served.base + "/boom").status_code == 500
        assert httpx.get(served.base + "/hello").status_code == 200  # still alive after the 500
        queues = httpx.get(served.base + "/_runtime/api/queues").json()
        assert queues["tasks"]["depth"] == 0
    finally:
        code, err = served.stop()
    assert code == 0
    lines = [line for line in err.splitlines() if line.startswith("{")]
    assert any('"msg": "api GET /hello -> 200' in line for line in lines)
    assert any("RuntimeError: handler exploded" in line for line in lines)


def test_sigterm_mid_work_loses_nothing(project: Path) -> None:
    port = free_port()
    served = Served(project, port, "--grace", "0.2")
    try:
        for i in range(12):
            response = httpx.post(served.base + "/enqueue", json={"id": i, "sleep": 0.3})
            assert response.status_code == 202
        deadline = time.monotonic() + 10
        while not httpx.get(served.base + "/done").json() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        code, _ = served.stop()
    assert code == 0
    done_before = len(
        subprocess.run(
            [sys.executable, "-m", "runtime", "kv", "cache", "list", "--prefix", "done:", "--manifest", str(project)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    )
    assert 1 <= done_before < 12  # stopped in the middle of the work

    again = Served(project, port)
    try:
        deadline = time.monotonic() + 30
        done: list[str] = []
        while time.monotonic() < deadline:
            done = httpx.get(again.base + "/done").json()
            if len(done) == 12:
                break
            time.sleep(0.1)
        assert done == [f"done:{i:03d}" for i in range(12)]
        assert httpx.get(again.base + "/_runtime/api/queues").json()["tasks"]["depth"] == 0
    finally:
        assert again.stop()[0] == 0


def test_reload_restarts_on_a_code_change(project: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "runtime", "serve", str(project), "--port", str(port), "--reload"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"

    def answer() -> str | None:
        try:
            return httpx.get(base + "/hello", timeout=1).text
        except httpx.HTTPError:
            return None

    try:
        deadline = time.monotonic() + 30
        while answer() != "hello, world" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert answer() == "hello, world"
        handler = project.parent / "handlers" / "api.py"
        handler.write_text(
            handler.read_text().replace('f"{self.env.GREETING}, world"', 'f"{self.env.GREETING}, reloaded"')
        )
        deadline = time.monotonic() + 30
        while answer() != "hello, reloaded" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert answer() == "hello, reloaded"
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "handlers/api.py changed; restarting" in err


def test_a_port_in_use_is_a_clear_error(project: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "runtime", "serve", str(project), "--port", str(port)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"error: port {port} (api) is already in use on 127.0.0.1" in result.stderr
