"""Typed calls: ``generate`` writes a ``<Class>Stub`` protocol per actor from its source, so
``mypy --strict`` checks calls through ``env.COUNTER.get(id)``; a SmartBucket has no untyped
``__getattr__`` (``chunkSearch`` is an error) and an MCP binding is typed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.generate import render
from runtime.manifest import load

MANIFEST = """application "typed" {
  actor "rate-counter" {}
  service "api" {
    visibility = "public"
  }
  smartbucket "docs" {}
  mcp_service "tools" {}
}
"""
ACTOR = """from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from raindrop_gen import Env
from runtime import Actor


@dataclass
class Window:
    hits: int


class RateCounter(Actor[Env]):
    async def increment(self, key: str, by: int = 1, *, at: datetime | None = None) -> int:
        return by

    def peek(self, key):  # type: ignore[no-untyped-def]  # no annotations, not async: awaited through a stub
        return 0

    async def window(self) -> Window:
        return Window(0)

    async def _private(self) -> None: ...

    async def alarm(self) -> None: ...
"""
CALLER = """from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from raindrop_gen import Env
from runtime import Service


class Api(Service[Env]):
    async def fetch(self, request: Request) -> Response:
        counter = self.env.RATE_COUNTER.get(self.env.RATE_COUNTER.id_from_name("k"))
        total: int = await counter.increment("k", 2)
        {extra}
        return Response(str(total))
"""
TOOLS = """from typing import Any

implementation = {"name": "tools", "version": "1"}


def register(server: Any, env: Any, state: Any) -> None:
    pass
"""


def app(tmp_path: Path, extra: str) -> Path:
    (tmp_path / "workers").mkdir(parents=True)
    (tmp_path / "handlers").mkdir()
    (tmp_path / "raindrop.manifest").write_text(MANIFEST)
    (tmp_path / "workers" / "rate_counter.py").write_text(ACTOR)
    (tmp_path / "handlers" / "api.py").write_text(CALLER.replace("{extra}", extra))
    (tmp_path / "handlers" / "tools.py").write_text(TOOLS)
    (tmp_path / "raindrop_gen.py").write_text(render(load(tmp_path / "raindrop.manifest")))
    return tmp_path


def test_the_stub_protocol_follows_the_actor_class(tmp_path: Path) -> None:
    text = (app(tmp_path, "") / "raindrop_gen.py").read_text()
    assert "class RateCounterStub(Protocol):" in text
    assert "async def increment(self, key: str, by: int = ..., *, at: datetime | None = ...) -> int: ..." in text
    assert "async def peek(self, key: Any) -> Any: ..." in text
    assert "async def window(self) -> Any: ..." in text  # Window is the module's own: Any
    assert "_private" not in text and "def alarm" not in text
    assert "RATE_COUNTER: runtime.types.ActorNamespace[RateCounterStub]" in text
    assert "TOOLS: runtime.types.McpBinding" in text
    assert "from datetime import datetime" in text


def mypy(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MYPYPATH": str(root)}
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "handlers", "workers", "raindrop_gen.py"],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
    )


@pytest.mark.slow  # mypy on a small app, three times
@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ("", None),
        ("await counter.increment(3)", 'Argument 1 to "increment" of "RateCounterStub" has incompatible type "int"'),
        ("await counter.decrement('k')", '"RateCounterStub" has no attribute "decrement"'),
        (
            "await self.env.DOCS.chunkSearch(input='x')",
            '"SmartBucket" has no attribute "chunkSearch"',
        ),
        ("await self.env.TOOLS.server.call_tool(3, {})", 'Argument 1 to "call_tool" of "FastMCP"'),
    ],
    ids=["ok", "argument", "method", "smartbucket", "mcp"],
)
def test_mypy_checks_calls_through_the_stubs(tmp_path: Path, extra: str, error: str | None) -> None:
    checked = mypy(app(tmp_path, extra))
    if error is None:
        assert checked.returncode == 0, checked.stdout
    else:
        assert checked.returncode == 1 and error in checked.stdout, checked.stdout
