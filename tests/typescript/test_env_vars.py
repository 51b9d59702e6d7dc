"""A TypeScript service sees its env vars: the app's (from raindrop.local.yaml, ``.env`` and
defaults) and those of env blocks nested in the service (as in the corpus's
soul-guardian-backend manifest), which no other service sees."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.typescript.conftest import copy_app

pytestmark = pytest.mark.slow

OWN = {
    "APP_VAR": "from-local-yaml",
    "APP_SECRET": "s3cret",
    "WITH_DEFAULT": "fallback",
    "WORKOS_CLIENT_ID": "client-123",
    "WORKOS_CLIENT_SECRET": "workos-secret",
}


@pytest.fixture(scope="module")
def env_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    manifest = copy_app("env_app", tmp_path_factory)
    (manifest.parent / "dotenv").rename(manifest.parent / ".env")  # secrets, as an app keeps them
    return manifest


@pytest.fixture
def raindrop_manifest(env_manifest: Path) -> Path:
    return env_manifest


async def test_a_service_sees_the_app_vars_and_its_own(raindrop_http: httpx.AsyncClient) -> None:
    assert (await raindrop_http.get("/")).json() == OWN
    assert (await raindrop_http.get("/argument")).json() == {"WORKOS_CLIENT_ID": "client-123"}  # fetch(request, env)
    assert (await raindrop_http.get("/own-rpc")).json() == OWN  # RPC into it: its own env too


async def test_another_service_does_not_see_them(raindrop_http: httpx.AsyncClient) -> None:
    assert (await raindrop_http.get("/other")).json() == {
        "APP_VAR": "from-local-yaml",
        "APP_SECRET": "s3cret",
        "WITH_DEFAULT": "fallback",
        "WORKOS_CLIENT_ID": None,
        "WORKOS_CLIENT_SECRET": None,
    }


async def test_a_secret_nobody_set_is_undefined(raindrop_http: httpx.AsyncClient) -> None:
    """Not a binding object: `env.X || 'NOT_SET'` falls back, as call-me-back's debug route expects."""
    assert (await raindrop_http.get("/unset")).json() == {"type": "undefined", "shown": "NOT_SET", "in": False}
