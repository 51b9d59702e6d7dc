"""The podcast app on the runtime, through the pytest plugin and the fake clock."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from runtime import App, FakeClock


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def cached_keys(app: App) -> list[str]:
    return sorted(k["name"] for k in (await app.env.KV_CACHE.list(prefix="podcast:"))["keys"])


async def test_three_am_cache_hit_then_midnight_miss(
    raindrop_app: App, raindrop_http: httpx.AsyncClient, raindrop_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    await raindrop_app.drain()
    assert await cached_keys(raindrop_app) == []
    raindrop_clock.set(at("2025-01-01T03:00:30"))
    await raindrop_app.drain()
    # Active users: opted in (user_123, maria-lopez), 3+ listens (user_456). user_script gets a
    # script only; the weekly user waits for Monday; the idle user is not active.
    assert await cached_keys(raindrop_app) == [
        "podcast:maria-lopez:daily:2025-01-01",
        "podcast:user_123:daily:2025-01-01",
        "podcast:user_456:daily:2025-01-01",
    ]
    assert [k["name"] for k in (await raindrop_app.env.KV_CACHE.list(prefix="script:"))["keys"]] == [
        "script:user_script:daily:2025-01-01"
    ]
    last = json.loads(await raindrop_app.env.KV_CACHE.get("pregen:last"))
    assert (last["total"], last["successful"], last["failed"]) == (4, 4, 0)

    with caplog.at_level(logging.INFO):
        hit = await raindrop_http.post("/api/generate-podcast", json={"type": "daily"})
    body = hit.json()
    assert hit.status_code == 200 and body["cached"] is True and body["source"] == "cache"
    assert body["message"] == "Your podcast is ready! (Pre-generated)"
    assert body["audioUrl"].startswith("/cdn/user_123/daily/") and body["duration"] > 0
    assert body["billsCovered"][0]["id"] == "s5" and body["transcript"].startswith("SARAH: ")
    assert '"event": "podcast_delivery"' in caplog.text and '"source": "cache"' in caplog.text

    raindrop_clock.set(at("2025-01-02T00:00:30"))  # midnight: yesterday's podcast has expired
    miss = await raindrop_http.post("/api/generate-podcast", json={"type": "daily"})
    ticket = miss.json()
    assert ticket["status"] == "queued" and ticket["pollInterval"] == 3000 and ticket["estimatedDuration"] == 60
    assert ticket["jobId"].startswith("user_123-daily-") and ticket["pollUrl"] == f"/api/audio-status/{ticket['jobId']}"
    await raindrop_app.drain()
    status = (await raindrop_http.get(ticket["pollUrl"])).json()
    assert (
        status["status"] == "complete" and status["progress"] == 100 and status["message"] == "Your podcast is ready!"
    )
    again = (await raindrop_http.post("/api/generate-podcast", json={"type": "daily"})).json()
    assert again["cached"] is True  # the worker cached it for the rest of the day

    metrics = (await raindrop_http.get("/api/metrics")).json()
    assert metrics["cacheHitRate"] == {"value": 0.6667, "hits": 2, "misses": 1, "target": 0.8}
    assert metrics["pregenerationSuccessRate"]["value"] == 1.0 and metrics["timeToFirstAudio"]["samples"] == 1
    assert metrics["costPerUser"]["value"] == 0.0  # offline providers cost nothing


async def test_forced_regenerate_goes_through_every_step(
    raindrop_app: App, raindrop_http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hakivo.podcast

    seen: list[tuple[str, int, str]] = []
    original = hakivo.podcast.save_job

    async def recording(env: Any, record: dict[str, Any]) -> None:
        seen.append((record["status"], record["progress"], record["message"]))
        await original(env, record)

    monkeypatch.setattr(hakivo.podcast, "save_job", recording)
    for module in list(__import__("sys").modules.values()):
        if getattr(module, "save_job", None) is original:
            monkeypatch.setattr(module, "save_job", recording)
    ticket = (await raindrop_http.post("/api/generate-podcast", json={"type": "daily", "forceRegenerate": True})).json()
    await raindrop_app.drain()
    assert [(s, p) for s, p, _ in seen] == [
        ("queued", 0), ("processing", 0), ("processing", 20), ("processing", 40),
        ("processing", 60), ("processing", 80), ("processing", 90), ("complete", 100),
    ]  # fmt: skip
    assert seen[2][2] == "Fetching congressional bills..." and seen[4][2].startswith("Creating audio with ElevenLabs")
    status = (await raindrop_http.get(ticket["pollUrl"])).json()
    audio = await raindrop_http.get(status["audioUrl"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav" and audio.content[:4] == b"RIFF"
    part = await raindrop_http.get(status["audioUrl"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    assert part.headers["content-range"] == f"bytes 0-99/{len(audio.content)}"
    history = (await raindrop_http.get("/api/podcasts")).json()["podcasts"]
    assert history[0]["audioUrl"] == status["audioUrl"] and history[0]["source"] == "queue"
    actor = raindrop_app.env.PODCAST_GENERATOR.get(raindrop_app.env.PODCAST_GENERATOR.id_from_name("user_123"))
    assert (await actor.status())["status"] == "complete" and len(await actor.history()) == 1
    await raindrop_app.drain()
    notes = (await raindrop_http.get("/api/notifications")).json()["notifications"]
    assert notes[0]["type"] == "podcast_ready"


async def test_provider_failure_retries_then_dead_letters(
    raindrop_app: App, raindrop_http: httpx.AsyncClient, raindrop_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hakivo.providers import OfflineScriptWriter, ProviderError

    async def broken(self: Any, bills: Any, kind: str) -> Any:
        raise ProviderError("Claude is unavailable (529 overloaded)")

    monkeypatch.setattr(OfflineScriptWriter, "write", broken)
    ticket = (await raindrop_http.post("/api/generate-podcast", json={"type": "daily", "forceRegenerate": True})).json()
    for delay in (0, 60, 120, 240):  # backoff 1, 2, 4 minutes between the four attempts
        raindrop_clock.advance(delay)
        await raindrop_app.drain(raise_errors=False)
        status = (await raindrop_http.get(ticket["pollUrl"])).json()
        if delay < 240:
            assert status["status"] == "queued" and status["message"] == "Retrying..."
    assert status["status"] == "failed" and status["message"] == "Podcast generation failed"
    assert status["error"] == "Claude is unavailable (529 overloaded)"
    stats = (await raindrop_app.queue_stats())["podcast-generation-queue"]
    assert (stats.depth, stats.dead_lettered) == (0, 1)
    (dead,) = await raindrop_app.backend.queues.peek("podcast-generation-queue-dlq")
    assert json.loads(dead.body)["jobId"] == ticket["jobId"] and "529 overloaded" in (dead.last_error or "")


async def test_cron_endpoint_needs_the_secret(raindrop_http: httpx.AsyncClient) -> None:
    assert (await raindrop_http.post("/api/cron/pregenerate-podcasts")).status_code == 401
    wrong = await raindrop_http.post("/api/cron/pregenerate-podcasts", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json() == {"error": "Unauthorized"}
    ok = await raindrop_http.post("/api/cron/pregenerate-podcasts", headers={"Authorization": "Bearer dev-secret"})
    body = ok.json()
    assert ok.status_code == 200 and body["success"] is True and body["duration"].endswith(" minutes")
    assert body["results"] == {"total": 4, "successful": 4, "failed": 0, "skipped": 0, "errors": []}
    again = (
        await raindrop_http.post("/api/cron/pregenerate-podcasts", headers={"Authorization": "Bearer dev-secret"})
    ).json()
    assert again["results"]["skipped"] == 3 and again["results"]["total"] == 1  # cached users are skipped


async def test_auth_ownership_and_required_mode(raindrop_app: App, raindrop_http: httpx.AsyncClient) -> None:
    maria = {"Authorization": "Bearer token-maria"}
    ticket = (await raindrop_http.post("/api/generate-podcast", json={"forceRegenerate": True}, headers=maria)).json()
    assert re.fullmatch(r"maria-lopez-daily-\d+-[0-9a-f]{16}", ticket["jobId"])  # 64 random bits: not guessable
    assert (await raindrop_http.get(ticket["pollUrl"], headers=maria)).status_code == 200  # "-" in the id is fine
    foreign = await raindrop_http.get(ticket["pollUrl"])  # the demo user
    missing = await raindrop_http.get("/api/audio-status/nope-daily-1")
    assert foreign.status_code == missing.status_code == 404 and foreign.json() == missing.json()
    assert (await raindrop_http.get("/api/me", headers={"Authorization": "Bearer forged"})).status_code == 401
    bad = await raindrop_http.post("/api/generate-podcast", json={"type": "monthly"})
    assert bad.status_code == 400 and bad.json() == {"error": 'Invalid type. Must be "daily" or "weekly"'}
    for shape in ("[]", "null", "3", '"daily"', '{"topics": 5}'):
        wrong = await raindrop_http.post("/api/generate-podcast", content=shape, headers=JSON)
        assert wrong.status_code == 400 and "error" in wrong.json(), shape
    for key in ("%2e", "%2e%2e", "%00", "x" * 2000):
        assert (await raindrop_http.get(f"/cdn/{key}")).status_code == 404, key


JSON = {"Content-Type": "application/json"}


@pytest.fixture
def required_auth(podcast_root: Any) -> None:
    local = podcast_root / "raindrop.local.yaml"
    local.write_text(local.read_text().replace("AUTH: optional", "AUTH: required"))


async def test_auth_required_refuses_anonymous(required_auth: None, raindrop_http: httpx.AsyncClient) -> None:
    response = await raindrop_http.post("/api/generate-podcast", json={"type": "daily"})
    assert response.status_code == 401 and response.json() == {"error": "Not authenticated"}
    cookie = await raindrop_http.get("/api/me", headers={"Cookie": "hakivo_token=demo-token-123"})
    assert cookie.json()["id"] == "user_123"
    assert (await raindrop_http.get("/api/metrics")).status_code == 401
    signed_in = await raindrop_http.get("/api/metrics", headers={"Authorization": "Bearer demo-token-123"})
    assert signed_in.status_code == 200


async def test_partial_pregeneration_makes_audio_on_request(
    raindrop_app: App, raindrop_http: httpx.AsyncClient, raindrop_clock: FakeClock
) -> None:
    raindrop_clock.set(at("2025-01-01T03:00:30"))
    await raindrop_app.drain()
    headers = {"Authorization": "Bearer token-script"}
    ticket = (await raindrop_http.post("/api/generate-podcast", json={"type": "daily"}, headers=headers)).json()
    assert ticket["status"] == "queued"  # only the script was pre-generated
    await raindrop_app.drain()
    status = (await raindrop_http.get(ticket["pollUrl"], headers=headers)).json()
    script = await raindrop_app.env.KV_CACHE.get("script:user_script:daily:2025-01-01", type="json")
    assert status["status"] == "complete" and status["transcript"] == script["transcript"]


async def test_news_audio_job(raindrop_app: App, raindrop_http: httpx.AsyncClient) -> None:
    ticket = (await raindrop_http.post("/api/generate-news-audio", json={"topics": ["Healthcare"]})).json()
    await raindrop_app.drain()
    status = (await raindrop_http.get(ticket["pollUrl"])).json()
    assert status["status"] == "complete" and "Medicaid" in status["transcript"]


async def test_page_is_served(raindrop_http: httpx.AsyncClient) -> None:
    page = await raindrop_http.get("/")
    assert page.status_code == 200 and "Generate Daily Podcast" in page.text
    info = (await raindrop_http.get("/api/generate-podcast")).json()
    assert info["integrations"] == {
        "congress": "missing",
        "claude": "missing",
        "elevenlabs": "missing",
        "vultr": "missing",
    }


async def test_a_revoked_token_stops_working_within_two_seconds(
    raindrop_app: App, raindrop_http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hakivo.auth

    moment = [1000.0]
    monkeypatch.setattr(hakivo.auth.time, "monotonic", lambda: moment[0])
    headers = {"Authorization": "Bearer demo-token-123"}
    assert (await raindrop_http.get("/api/me", headers=headers)).json()["id"] == "user_123"
    await raindrop_app.env.HAKIVO_DB.prepare("UPDATE users SET token = 'rotated' WHERE id = 'user_123'").run()
    assert (await raindrop_http.get("/api/me", headers=headers)).status_code == 200  # the row read a moment ago
    moment[0] += hakivo.auth.TOKEN_CACHE_SECONDS
    assert (await raindrop_http.get("/api/me", headers=headers)).status_code == 401
    assert (await raindrop_http.get("/api/me", headers={"Authorization": "Bearer rotated"})).json()["id"] == "user_123"


async def test_odd_requests_never_answer_5xx(raindrop_http: httpx.AsyncClient) -> None:
    maria = {"Authorization": "Bearer token-maria"}
    parts = ["", "abc", "-1", "%00", "..", "%2e", "a" * 3000, "%ff%fe"]
    deep = 100_000
    bodies = [
        *(b"", b"null", b"[]", b"1", b'"x"', b"{", b"\xff\xfe", b'{"type": 5}', b'{"type": "x", "force": "yes"}'),
        b"[" * deep + b"]" * deep,
        b'{"topics": ' + b"[" * deep + b"]" * deep + b"}",
        b'{"a":' * deep + b"1" + b"}" * deep,
        *(b'{"billCount": %s}' % value for value in (b'"abc"', b"1e400", b"-1", b"0", b"10000000000", b"[]", b"true")),
        b'{"topics": [1, {"a": 2}]}',
    ]
    failures = []
    for path in ("/api/audio-status/{x}", "/cdn/{x}", "/api/podcasts?limit={x}", "/{x}", "/api/{x}"):
        for part in parts:
            for headers in ({}, maria, {"Authorization": "Bearer " + part}):
                answer = await raindrop_http.get(path.replace("{x}", part), headers=headers)
                if answer.status_code >= 500:
                    failures.append(f"GET {path} {part[:20]!r}: {answer.status_code} {answer.text[:80]}")
    for path in ("/api/generate-podcast", "/api/generate-news-audio", "/api/cron/pregenerate-podcasts"):
        for body in bodies:
            for content_type in ("application/json", "text/plain"):
                answer = await raindrop_http.post(path, content=body, headers={**maria, "content-type": content_type})
                if answer.status_code >= 500:
                    failures.append(
                        f"POST {path} {body[:20]!r} {content_type}: {answer.status_code} {answer.text[:80]}"
                    )
    deep_body = await raindrop_http.post("/api/generate-podcast", content=b"[" * deep + b"]" * deep, headers=maria)
    assert deep_body.status_code == 400 and "JSON" in deep_body.json()["error"]
    for podcast_id in ("1" * 26, "9" * 19, "9223372036854775808", "9223372036854775807", "0" * 40, "-1", "1" * 5000):
        answer = await raindrop_http.post(f"/api/podcasts/{podcast_id}/listen", headers=maria)
        if answer.status_code != 404:
            failures.append(f"POST listen {podcast_id}: {answer.status_code} {answer.text[:80]}")
    assert not failures, "\n".join(failures)
