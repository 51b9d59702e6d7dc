"""tmoody1973/civicpulse, ported unchanged: its plain-`fetch` web service over SQL (its own
migrations), and its queue observers, through the pytest plugin on the fake clock."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from runtime.app import App
from tests.typescript.apps.conftest import ported

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def civicpulse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ported("CivicPulse", tmp_path_factory)


@pytest.fixture
def raindrop_manifest(civicpulse: Path) -> Path:
    return civicpulse


async def test_health_and_cors(raindrop_http: httpx.AsyncClient) -> None:
    health = await raindrop_http.get("/api/health")
    assert health.status_code == 200
    assert health.json() == {
        "status": "ok",
        "timestamp": "2025-01-01T00:00:00.000Z",
        "service": "civic-pulse",
        "version": "0.1.0",
    }
    assert health.headers["access-control-allow-origin"] == "*"
    preflight = await raindrop_http.options("/api/users")
    assert preflight.status_code == 200 and "PUT" in preflight.headers["access-control-allow-methods"]


async def test_users_through_sql(raindrop_http: httpx.AsyncClient, raindrop_app: App) -> None:
    created = await raindrop_http.post(
        "/api/users",
        json={"id": "u1", "email": "ada@example.org", "name": "Ada", "zipCode": "53202", "interests": ["health"]},
    )
    assert created.status_code == 200, created.text
    assert created.json() == {"success": True, "message": "User created successfully"}
    user = (await raindrop_http.get("/api/users", params={"email": "ada@example.org"})).json()
    assert (user["id"], user["name"], user["zip_code"]) == ("u1", "Ada", "53202")
    assert user["interests"] == '["health"]' and user["audio_frequencies"] == '["daily","weekly"]'
    updated = await raindrop_http.put("/api/users/preferences", json={"userId": "u1", "interests": ["climate"]})
    assert updated.json()["success"] is True
    row = await raindrop_app.env.CIVIC_DB.prepare("SELECT interests FROM users WHERE id = ?").bind("u1").first()
    assert row == {"interests": '["climate"]'}
    missing = await raindrop_http.get("/api/users")
    assert missing.status_code == 400 and missing.json() == {"error": "Email parameter required"}


async def test_queue_observers_take_messages(raindrop_app: App) -> None:
    await raindrop_app.env.PODCAST_GENERATION_QUEUE.send({"userId": "u1", "billId": "hr-1"})
    await raindrop_app.env.USER_NOTIFICATIONS.send({"userId": "u1", "kind": "ready"})
    await raindrop_app.drain()
    runs = [r for r in raindrop_app.runs if r.kind == "observer"]
    assert sorted((r.module, r.outcome) for r in runs) == [
        ("notification-handler", "ok"),
        ("podcast-queue-handler", "ok"),
    ], runs
