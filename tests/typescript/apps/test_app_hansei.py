"""adariumesh/Hansei, ported unchanged: its MCP tool extracts entities with the AI and stores
them in SmartMemory; its Hono service draws the memory graph and answers chat from those
memories, through the pytest plugin on the fake clock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime.ai import AI
from runtime.app import App
from tests.typescript.apps.conftest import mcp_client, ported

pytestmark = pytest.mark.slow

EXTRACTED = {
    "entities": [
        {"type": "goal", "content": "run a marathon", "weight": 0.9},
        {"type": "habit", "content": "morning runs", "weight": 0.7},
    ],
    "relationships": [{"source": "morning runs", "target": "run a marathon", "type": "PART_OF"}],
    "metadata": {"emotional_intensity": 7, "priority": "high"},
}


@pytest.fixture(scope="session")
def hansei(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ported("Hansei", tmp_path_factory)


@pytest.fixture
def raindrop_manifest(hansei: Path) -> Path:
    return hansei


async def test_health_checks_memory_and_ai(raindrop_http: httpx.AsyncClient, raindrop_ai: AI) -> None:
    raindrop_ai.script({"health check": "ok"})
    health = await raindrop_http.get("/health")
    assert health.status_code == 200, health.text
    answer = health.json()
    assert answer["status"] == "ok" and answer["timestamp"] == "2025-01-01T00:00:00.000Z"
    assert answer["services"] == {"memory": "ok", "database": "ok", "ai": "ok"}


async def store(app: App) -> dict[str, Any]:
    async with mcp_client(app, "hansei-intel-mcp") as session:
        stored = await session.call_tool(
            "hansei_extract_and_store", {"user_id": "ada", "content": "I want to run a marathon"}
        )
        status = await session.read_resource("hansei-status://bindings")  # type: ignore[arg-type]
    assert not stored.isError, stored.content[0].text  # type: ignore[union-attr]
    assert status.contents[0].text == "ok:bindings"  # type: ignore[union-attr]
    result: dict[str, Any] = json.loads(stored.content[0].text)  # type: ignore[union-attr]
    return result


async def test_mcp_tool_stores_what_the_ai_extracted(raindrop_app: App, raindrop_ai: AI) -> None:
    raindrop_ai.script({"I want to run a marathon": json.dumps(EXTRACTED)})
    result = await store(raindrop_app)
    assert result["success"] is True and result["extracted"] == EXTRACTED
    assert isinstance(result["objectId"], str) and result["objectId"]
    memory = await raindrop_app.env.AGENT_MEMORY.get_semantic_memory(result["objectId"])
    assert memory["document"]["content"] == "I want to run a marathon"


async def test_graph_and_chat_from_stored_memories(
    raindrop_app: App, raindrop_http: httpx.AsyncClient, raindrop_ai: AI
) -> None:
    raindrop_ai.script({"I want to run a marathon": json.dumps(EXTRACTED), "how is my": "Keep up the morning runs."})
    await store(raindrop_app)
    graph = (await raindrop_http.get("/api/graph", params={"query": "marathon"})).json()
    assert graph["success"] is True, graph
    assert {n["id"] for n in graph["graph"]["nodes"]} == {"run a marathon", "morning runs"}
    assert graph["graph"]["edges"][0]["source"] == "morning runs"
    assert graph["rawResults"][0]["chunkSignature"]  # SmartMemory results carry the platform's key
    again = (await raindrop_http.get("/api/graph", params={"query": "marathon"})).json()
    assert again["cached"] is True  # the second answer comes from SESSION_CACHE
    chat = await raindrop_http.post("/api/chat", json={"message": "how is my marathon goal?", "user_id": "ada"})
    answer = chat.json()
    assert chat.status_code == 200, answer
    assert answer["answer"] == "Keep up the morning runs."
    assert answer["memoryCount"] >= 1 and answer["sources"][0]
    assert "Memory 1: I want to run a marathon" in raindrop_ai.calls[-1].messages[0]["content"]  # the system prompt
    recent = await raindrop_app.env.SESSION_CACHE.get("recent_conv_ada", "json")
    assert recent["last_response"] == "Keep up the morning runs."


async def test_chat_without_memories(raindrop_http: httpx.AsyncClient) -> None:
    chat = await raindrop_http.post("/api/chat", json={"message": "anything?"})
    assert chat.json() == {
        "answer": "I don't have any memories about that yet. Try adding some thoughts first!",
        "sources": [],
    }
    missing = await raindrop_http.post("/api/chat", json={})
    assert missing.status_code == 400 and missing.json() == {"error": "Missing message"}
