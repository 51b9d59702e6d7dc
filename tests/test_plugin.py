"""The pytest plugin with no configuration: raindrop_app is the repository's own app."""

from __future__ import annotations

from pathlib import Path

import httpx

from runtime import App, FakeClock


async def test_defaults_to_the_rootdir_manifest(raindrop_app: App, raindrop_clock: FakeClock) -> None:
    assert raindrop_app.manifest.path == (Path(__file__).parent.parent / "raindrop.manifest").resolve()
    assert raindrop_app.manifest.application.name == "hakivo"
    assert raindrop_app.clock is raindrop_clock
    assert raindrop_app.state_dir.name == "raindrop-state"  # a fresh temporary folder, not .raindrop/


async def test_http_fixture_reaches_the_public_service(raindrop_http: httpx.AsyncClient) -> None:
    assert (await raindrop_http.get("/api/generate-podcast")).json()["service"] == "Podcast Generation API"
