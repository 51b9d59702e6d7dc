"""The real SDK clients (anthropic, elevenlabs, httpx, boto3) against local servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runtime import App
from tests.podcast.fake_apis import FakeApis


@pytest.fixture
def apis() -> Iterator[FakeApis]:
    with FakeApis() as fake:
        yield fake


@pytest.fixture
def configured(podcast_root: Path, apis: FakeApis, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "ANTHROPIC_API_KEY": "sk-test",
        "ANTHROPIC_BASE_URL": apis.url,
        "ELEVENLABS_API_KEY": "xi-test",
        "ELEVENLABS_BASE_URL": apis.url,
        "ELEVENLABS_SARAH_VOICE_ID": "voice-sarah",
        "ELEVENLABS_JAMES_VOICE_ID": "voice-james",
        "CONGRESS_API_KEY": "congress-test",
        "CONGRESS_API_BASE_URL": apis.url + "/v3",
        "VULTR_ACCESS_KEY": "testing",
        "VULTR_SECRET_KEY": "testing",
        "VULTR_STORAGE_ENDPOINT": s3_endpoint,
        "VULTR_CDN_URL": "https://cdn.example.com/podcasts",
    }.items():
        monkeypatch.setenv(name, value)
    local = podcast_root / "raindrop.local.yaml"
    local.write_text(
        local.read_text()
        + "buckets:\n  podcast-audio:\n    endpoint_url: ${VULTR_STORAGE_ENDPOINT}\n    bucket: civic-pulse-podcasts\n"
        + "    access_key_id: ${VULTR_ACCESS_KEY}\n    secret_access_key: ${VULTR_SECRET_KEY}\n    create: true\n"
    )


@pytest.mark.slow  # an S3 server (moto) and three fake HTTP APIs, through the real client libraries
async def test_generation_through_the_real_clients(
    configured: None, raindrop_app: App, raindrop_http: httpx.AsyncClient, apis: FakeApis, s3_endpoint: str
) -> None:
    import boto3

    info = (await raindrop_http.get("/api/generate-podcast")).json()["integrations"]
    assert info == {"congress": "configured", "claude": "configured", "elevenlabs": "configured", "vultr": "configured"}
    ticket = (await raindrop_http.post("/api/generate-podcast", json={"type": "daily", "forceRegenerate": True})).json()
    await raindrop_app.drain(timeout=60)
    status = (await raindrop_http.get(ticket["pollUrl"])).json()
    assert status["status"] == "complete", status
    assert status["billsCovered"] == ["hr1000", "hr1001", "hr1002"]
    assert status["audioUrl"].startswith("https://cdn.example.com/podcasts/user_123/daily/") and status[
        "audioUrl"
    ].endswith(".mp3")

    kinds = [kind for kind, _, _ in apis.requests]
    assert kinds.count("congress") == 2  # a 429, then the retry
    congress = [q for k, _, q in apis.requests if k == "congress"][-1]
    assert (
        congress["api_key"] == "congress-test"
        and congress["format"] == "json"
        and congress["sort"] == "updateDate desc"
    )
    claude = [(h, b) for k, h, b in apis.requests if k == "claude"]
    assert len(claude) == 2  # a malformed script, then the repair request
    headers, body = claude[1]
    assert headers["x-api-key"] == "sk-test" and headers["anthropic-version"] == "2023-06-01"
    assert body["model"] == "claude-haiku-4-5-20251001" and body["temperature"] == 0.7 and body["max_tokens"] == 8192
    assert (
        "Return only the JSON array" in body["messages"][-1]["content"] and "HR 1000" in body["messages"][0]["content"]
    )
    calls = [(h, b) for k, h, b in apis.requests if k == "elevenlabs"]
    assert len(calls) >= 2  # the script is longer than one 4,500-character chunk
    for headers, body in calls:
        assert headers["xi-api-key"] == "xi-test" and body["model_id"] == "eleven_v3"
        assert body["query"]["output_format"] == "mp3_44100_192"
        assert sum(len(i["text"]) for i in body["inputs"]) <= 4500
        assert {i["voice_id"] for i in body["inputs"]} <= {"voice-sarah", "voice-james"}

    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    key = status["audioUrl"].removeprefix("https://cdn.example.com/podcasts/")
    stored = client.get_object(Bucket="civic-pulse-podcasts", Key=key)
    assert stored["ContentType"] == "audio/mpeg" and stored["Body"].read().startswith(b"ID3")
    assert stored["Metadata"]["userid"] == "user_123" and stored["Metadata"]["billscovered"] == "hr1000,hr1001,hr1002"
