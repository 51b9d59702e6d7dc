"""Odd arguments to every binding end in the runtime's own errors (or Python's TypeError for a
wrong call), never in an exception from deeper down, and never count as a failed write."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from runtime import App
from runtime.errors import RaindropError, StorageError
from tests.backends import BACKENDS, backend_url

pytestmark = pytest.mark.anyio
MANIFEST = Path(__file__).parent / "apps" / "dash" / "raindrop.manifest"
ODD: list[Any] = [
    None,
    1,
    -1,
    1.5,
    float("nan"),
    float("inf"),
    2**70,
    True,
    "",
    ".",
    "\ud800",
    "x" * 2000,
    b"\xff",
    [],
    {},
    object(),
]


@pytest.mark.parametrize("kind", BACKENDS)
async def test_odd_arguments_get_the_runtimes_errors(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = App.from_manifest(MANIFEST, backend=backend_url(kind, tmp_path), state_dir=tmp_path / "state")
    async with app:
        env = app.env

        def actor(call: Callable[[Any], Any]) -> Callable[[Any], Awaitable[Any]]:
            async def run(arg: Any) -> Any:
                return call(arg)

            return run

        calls: dict[str, Callable[[Any], Awaitable[Any]]] = {
            "kv.get": lambda a: env.CACHE.get(a),
            "kv.put key": lambda a: env.CACHE.put(a, "v"),
            "kv.put value": lambda a: env.CACHE.put("k", a),
            "kv.put expiration_ttl": lambda a: env.CACHE.put("k", "v", expiration_ttl=a),
            "kv.put expiration": lambda a: env.CACHE.put("k", "v", expiration=a),
            "kv.put metadata": lambda a: env.CACHE.put("k", "v", metadata=a),
            "kv.delete": lambda a: env.CACHE.delete(a),
            "kv.list prefix": lambda a: env.CACHE.list(prefix=a),
            "kv.list limit": lambda a: env.CACHE.list(limit=a),
            "kv.list cursor": lambda a: env.CACHE.list(cursor=a),
            "queue.send": lambda a: env.INBOX.send(a),
            "queue.send text": lambda a: env.INBOX.send(a, content_type="text"),
            "queue.send delay_seconds": lambda a: env.INBOX.send({}, delay_seconds=a),
            "queue.send content_type": lambda a: env.INBOX.send("x", content_type=a),
            "queue.send_batch": lambda a: env.INBOX.send_batch(a),
            "bucket.put key": lambda a: env.FILES.put(a, b"x"),
            "bucket.put value": lambda a: env.FILES.put("k", a),
            "bucket.get": lambda a: env.FILES.get(a),
            "bucket.head": lambda a: env.FILES.head(a),
            "bucket.delete": lambda a: env.FILES.delete(a),
            "bucket.list prefix": lambda a: env.FILES.list(prefix=a),
            "bucket.list limit": lambda a: env.FILES.list(limit=a),
            "sql.prepare": lambda a: env.NOTES.prepare(a).all(),
            "sql.bind": lambda a: env.NOTES.prepare("SELECT ?").bind(a).all(),
            "sql.exec": lambda a: env.NOTES.exec(a),
            "actor.id_from_name": actor(lambda a: env.SESSION.id_from_name(a)),
            "actor.id_from_string": actor(lambda a: env.SESSION.id_from_string(a)),
        }
        escaped = []
        for name, call in calls.items():
            for arg in ODD:
                try:
                    await asyncio.wait_for(call(arg), timeout=5)
                except (RaindropError, TypeError, AttributeError) as exc:
                    assert not isinstance(exc, StorageError), f"{name}({arg!r:.40}): {exc}"
                except Exception as exc:  # noqa: BLE001 - what the test looks for
                    escaped.append(f"{name}({arg!r:.40}): {type(exc).__name__}: {exc}")
        assert not escaped, "\n".join(escaped)
        assert getattr(app.backend, "failed_writes", 0) == 0
        await env.CACHE.put("after", "all of that")  # nothing was left pending
        assert await env.CACHE.get("after") == "all of that"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


SMART = """application "probe" {
  smartbucket "docs" {}
  smartmemory "mem" {}
  smartsql "analytics" {}
  actor "counter" {}
}
"""
COUNTER = """from typing import Any

from runtime import Actor


class Counter(Actor):
    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return await getattr(self.state.storage, method)(*args, **kwargs)
"""


async def test_odd_arguments_to_smart_components_and_actor_storage(tmp_path: Path) -> None:
    (tmp_path / "workers").mkdir()
    (tmp_path / "raindrop.manifest").write_text(SMART)
    (tmp_path / "workers" / "counter.py").write_text(COUNTER)
    async with App.from_manifest(tmp_path / "raindrop.manifest") as app:
        env = app.env
        await env.DOCS.put("a.txt", "a bill about rivers")
        stub = env.COUNTER.get(env.COUNTER.id_from_name("x"))
        session = (await env.MEM.start_working_memory_session())["working_memory"]
        calls: dict[str, Callable[[Any], Awaitable[Any]]] = {
            "smartbucket.search": lambda a: env.DOCS.search(a),
            "smartbucket.search request_id": lambda a: env.DOCS.search("rivers", request_id=a),
            "smartbucket.chunk_search partition": lambda a: env.DOCS.chunk_search("rivers", partition=a),
            "smartbucket.get_paginated_results": lambda a: env.DOCS.get_paginated_results(a),
            "smartbucket.get_paginated_results page": lambda a: env.DOCS.get_paginated_results("r", page=a),
            "smartbucket.put value": lambda a: env.DOCS.put("b.txt", a),
            "smartbucket.document_chat": lambda a: env.DOCS.document_chat(a, "what?"),
            "smartsql.execute_query sql": lambda a: env.ANALYTICS.execute_query(sql_query=a),
            "smartsql.get_metadata": lambda a: env.ANALYTICS.get_metadata(a),
            "smartmemory.get_semantic_memory": lambda a: env.MEM.get_semantic_memory(a),
            "smartmemory.delete_semantic_memory": lambda a: env.MEM.delete_semantic_memory(a),
            "smartmemory.get_working_memory_session": lambda a: env.MEM.get_working_memory_session(a),
            "smartmemory.rehydrate_session": lambda a: env.MEM.rehydrate_session(a),
            "smartmemory.get_procedural_memory": lambda a: env.MEM.get_procedural_memory(a),
            "working memory put_memory": lambda a: session.put_memory(a),
            "working memory get_memory key": lambda a: session.get_memory(key=a),
            "working memory search_memory": lambda a: session.search_memory(a),
            "actor storage get": lambda a: stub.call("get", a),
            "actor storage put key": lambda a: stub.call("put", a, 1),
            "actor storage put value": lambda a: stub.call("put", "k", a),
            "actor storage delete": lambda a: stub.call("delete", a),
            "actor storage list prefix": lambda a: stub.call("list", prefix=a),
            "actor storage list limit": lambda a: stub.call("list", limit=a),
            "actor storage set_alarm": lambda a: stub.call("set_alarm", a),
        }
        escaped = []
        for name, call in calls.items():
            for arg in ODD:
                try:
                    await asyncio.wait_for(call(arg), timeout=10)
                except (RaindropError, TypeError, AttributeError):
                    continue
                except Exception as exc:  # noqa: BLE001 - what the test looks for
                    escaped.append(f"{name}({arg!r:.40}): {type(exc).__name__}: {exc}")
        assert not escaped, "\n".join(escaped)
        await stub.call("put", "after", "all of that")  # the actor and its storage still work
        assert await stub.call("get", "after") == "all of that"
