"""Shapes public apps write: the app-wide hooks of ``src/_app``, a smart bucket used as a bucket."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from tests.typescript.conftest import copy_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hooks_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_app("hooks_app", tmp_path_factory)


@pytest.fixture
def raindrop_manifest(hooks_manifest: Path) -> Path:
    return hooks_manifest


async def test_a_cors_file_without_a_cors_export_starts_with_a_warning(
    raindrop_http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """mindful-steps' cors.ts exports `corsAllowAll` alone: the app runs, with no app-wide CORS hook."""
    with caplog.at_level(logging.WARNING):
        answer = await raindrop_http.get("/")
        assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "*"
        preflight = await raindrop_http.options("/", headers={"origin": "https://a.example"})
        assert preflight.headers["x-handled-by"] == "api"  # the handler's own answer, not a hook's
    records = caplog.get_records("setup") + caplog.records  # logged as the app started
    warnings = [r.getMessage() for r in records if "src/_app/cors" in r.getMessage()]
    assert warnings and "it exports corsAllowAll" in warnings[0], warnings


async def test_a_smart_bucket_is_a_bucket_too(raindrop_http: httpx.AsyncClient) -> None:
    """put with `{ httpMetadata }`, get's `text()`, head, list's objects: as a bucket's, plus its own methods."""
    assert (await raindrop_http.get("/smart")).json() == {
        "text": "ms,temp\n25,65\n",
        "contentType": "text/csv",
        "listed": [["logs/a.csv", 14, True]],
        "search": "function",
    }


async def test_arguments_a_binding_cannot_take_name_the_call(raindrop_http: httpx.AsyncClient) -> None:
    """Not Python's bare "takes 3 positional arguments but 4 were given": the binding, the
    arguments' types and what the method takes."""
    error = (await raindrop_http.get("/wrong-arguments")).json()
    assert error["name"] == "BindingError", error
    assert error["message"] == (
        "env.LOGS.search(str, str, str, dict): too many positional arguments; "
        "it takes (input, request_id=None, partition=None)"
    ), error
