"""Miniflare's cross-process queue assertions, ported: packages/miniflare/test/plugins/queues/
cross-process.spec.ts (cloudflare/workers-sdk). Miniflare's producer and consumer are two
instances joined by a dev registry; here they are two apps on one shared backend (SQLite or
Redis), the producer started without consumers, as the CLI's ``send`` or a ``serve`` process
that another process's ``worker`` consumes for. Each test names the Miniflare test it comes from."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from runtime import App, FakeClock
from tests.peer.conftest import handler_module

pytestmark = pytest.mark.anyio


@pytest.fixture
async def producer(app: App, clock: FakeClock) -> AsyncIterator[App]:
    """A second app on the consumer's backend that only produces (runs no observer)."""
    if not app.backend.persistent:
        pytest.skip("the memory backend is one process's own")
    other = App.from_manifest(app.manifest.path, clock=clock, state_dir=app.state_dir, backend=app.backend.url)
    await other.start(consume=False)
    try:
        yield other
    finally:
        await other.stop()


async def test_delivers_a_message_to_a_consumer_in_another_process(app: App, producer: App) -> None:
    # "delivers a message to a consumer in another process"
    batches = handler_module(app, "reporter").BATCHES
    batches.clear()
    await producer.env.DELAYED.send({"hello": "world", "n": 42})
    await app.drain()
    assert batches == [[{"hello": "world", "n": 42}]]


async def test_delivers_a_batch_via_send_batch(app: App, producer: App) -> None:
    # "delivers a batch via sendBatch"
    batches = handler_module(app, "reporter").BATCHES
    batches.clear()
    await producer.env.DELAYED.send_batch([{"body": "a"}, {"body": "b"}, {"body": "c"}])
    await app.drain()
    assert sorted(body for batch in batches for body in batch) == ["a", "b", "c"]


async def test_a_message_sent_with_no_consumer_running_waits_for_one(app: App, producer: App, clock: FakeClock) -> None:
    # "drops gracefully when no consumer is running, then resumes". Miniflare drops a message
    # sent while no consumer is registered; the platform keeps a queue's messages until they
    # are consumed (up to four days), and so does the runtime: the message is delivered once a
    # consumer starts, as well as the ones sent after it.
    await app.stop()
    batches = handler_module(app, "reporter").BATCHES
    batches.clear()
    await producer.env.DELAYED.send({"phase": "before-consumer"})
    assert batches == []
    consumer = App.from_manifest(app.manifest.path, clock=clock, state_dir=app.state_dir, backend=app.backend.url)
    async with consumer:
        await producer.env.DELAYED.send({"phase": "after-consumer"})
        await consumer.drain()
        batches = handler_module(consumer, "reporter").BATCHES
        assert [body for batch in batches for body in batch] == [
            {"phase": "before-consumer"},
            {"phase": "after-consumer"},
        ]
    await app.start()  # for the fixture to stop


async def test_routes_dead_lettered_messages_from_another_process(app: App, producer: App) -> None:
    # "routes dead-lettered messages to a consumer in another process": the producer's message
    # fails in the consumer (max_retries 2) and reaches the dead-letter queue's observer
    failed = handler_module(app, "failer").SEEN
    dead = handler_module(app, "dead-reader").SEEN
    failed.clear()
    dead.clear()
    await producer.env.FAILING.send({"fails": True})
    await app.drain(raise_errors=False)
    assert [m["attempts"] for m in failed] == [1, 2, 3]
    assert dead == [{"body": {"fails": True}, "attempts": 1}]
