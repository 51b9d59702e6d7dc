"""Ported public apps: each is copied to a temporary folder once per session, with its npm
dependencies installed by ``npm ci`` from its committed lock file (kept in the runtime's cache
folder, keyed by the lock file, so a warm run installs nothing). The sources here are never written."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from runtime.app import App
from runtime.typescript.bundle import cache_dir, install_lock

HERE = Path(__file__).parent


def _missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is not installed: the ported TypeScript apps must run in CI")
    pytest.skip(f"{what} is not installed (the ported TypeScript apps need Node >= 20 and npm)")


def _modules(name: str) -> Path:
    """``node_modules`` of app ``name``, installed once per lock file."""
    source = HERE / name
    lock = hashlib.sha256((source / "package-lock.json").read_bytes()).hexdigest()[:16]
    folder = cache_dir() / "test-apps" / f"{name}-{lock}"
    folder.mkdir(parents=True, exist_ok=True)
    installed = folder / "node_modules"
    if (folder / "done").exists():
        return installed
    with install_lock(folder.with_name(folder.name + ".lock")):  # parallel workers install once
        if not (folder / "done").exists():
            shutil.rmtree(installed, ignore_errors=True)
            for file in ("package.json", "package-lock.json"):
                shutil.copy(source / file, folder / file)
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--silent", "--ignore-scripts"],
                cwd=folder,
                check=True,
                timeout=600,
            )
            (folder / "done").write_text("ok")
    return installed


def ported(name: str, factory: pytest.TempPathFactory) -> Path:
    """A temporary copy of app ``name`` with its dependencies; its manifest's path."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            _missing(tool)
    modules = _modules(name)
    target = factory.mktemp(name) / name
    shutil.copytree(HERE / name, target, ignore=shutil.ignore_patterns("README.md"))
    (target / "node_modules").symlink_to(modules, target_is_directory=True)
    return target / "raindrop.manifest"


@contextlib.asynccontextmanager
async def mcp_client(app: App, name: str) -> AsyncIterator[ClientSession]:
    """An official SDK client session on the app's MCP service ``name``, in process, with the
    service's own bearer token."""
    host = app.mcp[name]
    headers = {"Authorization": f"Bearer {host.token}"} if host.token else {}
    async with (
        host.lifespan(),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=host.asgi()), headers=headers) as client,
        streamable_http_client("http://127.0.0.1:8787/mcp", http_client=client) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session
