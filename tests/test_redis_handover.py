"""On Redis, a send hands its messages to an idle consumer loop of some process, claimed for it
in the send itself: no claim round trip, and only as many processes wake as there are messages."""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from runtime import App
from runtime.backends.base import Handover, Waiter
from tests.backends import REDIS, REDIS_UP, SKIP_REDIS

pytestmark = [pytest.mark.skipif(not REDIS_UP, reason=SKIP_REDIS), pytest.mark.anyio, pytest.mark.redis]
MANIFEST = Path(__file__).parent / "apps" / "handover" / "raindrop.manifest"


@pytest.fixture(params=["pipelined", "redis-py"])
async def url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """A fresh key prefix; the queue's hot path on the pipelined connection, or on redis-py alone
    (as for a TLS or socket-file URL)."""
    if request.param == "redis-py":
        import runtime.backends.redis

        monkeypatch.setattr(runtime.backends.redis, "_fast_connection", lambda client: None)
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield f"{REDIS}?prefix={prefix}"
    client = aioredis.from_url(REDIS)
    async for key in client.scan_iter(match=f"{prefix}:*"):
        await client.delete(key)
    await client.aclose()


@pytest.fixture
async def pair(url: str, tmp_path: Path) -> AsyncIterator[tuple[App, App]]:
    """A consuming app and a producing one (``consume=False``), as two processes would be."""
    consumer = await started(url, tmp_path, "c")
    producer = await started(url, tmp_path, "p", consume=False)
    yield consumer, producer
    await producer.stop()
    await consumer.stop()


async def started(url: str, tmp_path: Path, name: str, *, consume: bool = True) -> App:
    app = App.from_manifest(MANIFEST, backend=url, state_dir=tmp_path / name)
    await app.start(consume=consume)
    return app


async def until(condition: Callable[[], Any], timeout: float = 5.0) -> None:
    """Wait for ``condition()`` (a value, or an awaitable of one) to be true."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.005)


def idle_members(url: str, queue: str) -> Callable[[], Any]:
    prefix = url.split("prefix=")[1]

    async def count() -> int:
        client = aioredis.from_url(REDIS)
        try:
            return int(await client.zcard(f"{prefix}:q:{queue}:idle"))
        finally:
            await client.aclose()

    return count


def seen(app: App) -> list[tuple[float, int]]:
    handler: Any = app.queues.consumers["each"].handler
    return handler.seen  # type: ignore[no-any-return]


async def test_a_send_claims_for_the_idle_loop(url: str, pair: tuple[App, App]) -> None:
    consumer, producer = pair
    count = idle_members(url, "work")
    await until(lambda: count())  # the consumer's loop has claimed nothing and is waiting
    await producer.env.WORK.send({"n": 1, "pause": 0.3})
    stats = await producer.backend.queues.stats("work", producer.clock.time())
    assert (stats.ready, stats.in_flight) == (0, 1)  # claimed by the send itself, for the consumer
    await until(lambda: seen(consumer))
    assert [n for _, n in seen(consumer)] == [1]


async def test_one_message_wakes_one_of_two_idle_processes(url: str, tmp_path: Path) -> None:
    consumers = [await started(url, tmp_path, f"c{i}") for i in range(2)]
    producer = await started(url, tmp_path, "p", consume=False)
    calls = [0, 0]
    for i, app in enumerate(consumers):
        original = app.backend.queues.settle_and_claim

        async def counted(*args: Any, i: int = i, original: Any = original, **kwargs: Any) -> Any:
            calls[i] += 1
            return await original(*args, **kwargs)

        app.backend.queues.settle_and_claim = counted  # type: ignore[method-assign]
    try:
        count = idle_members(url, "work")
        await until(lambda: _at_least(count, 2))
        await asyncio.sleep(0.05)  # both loops are now waiting (their claims came back empty)
        before = list(calls)
        await producer.env.WORK.send({"n": 1})
        await until(lambda: seen(consumers[0]) or seen(consumers[1]))
        await until(lambda: _at_least(count, 2))  # the woken one settled and is idle again
        woke = [after - start for after, start in zip(calls, before, strict=True)]
        assert sorted(woke) == [0, 1], woke  # one settle by the one handed the message; the other slept
    finally:
        await producer.stop()
        for app in consumers:
            await app.stop()


async def _at_least(count: Callable[[], Any], n: int) -> bool:
    return int(await count()) >= n


async def test_a_loop_whose_process_is_gone_is_passed_over(url: str, pair: tuple[App, App]) -> None:
    consumer, producer = pair
    client = aioredis.from_url(REDIS)
    try:
        count = idle_members(url, "work")
        await until(lambda: count())
        key = f"{url.split('prefix=')[1]}:q:work:idle"
        await client.zadd(key, {"0123456789abcdef 30.0 each:0": 0})  # first in line, nobody listening
        started_at = time.monotonic()
        await producer.env.WORK.send({"n": 7})
        await until(lambda: seen(consumer), timeout=1.0)  # at once, not at the 2 s recheck
        assert seen(consumer)[0][0] - started_at < 1.0
        assert await client.zscore(key, "0123456789abcdef 30.0 each:0") is None
    finally:
        await client.aclose()


async def test_a_batch_fills_from_sends_of_another_process(url: str, pair: tuple[App, App]) -> None:
    consumer, producer = pair
    count = idle_members(url, "batched")
    await until(lambda: count())
    started_at = time.monotonic()
    for n in range(3):
        await producer.env.BATCHED.send({"n": n})
        await asyncio.sleep(0.1)
    handler: Any = consumer.queues.consumers["batcher"].handler
    await until(lambda: handler.batches, timeout=4.0)
    assert handler.batches == [[0, 1, 2]]  # one full batch, long before max_batch_timeout (5 s)
    assert time.monotonic() - started_at < 1.5


async def test_a_delayed_send_rearms_an_idle_loop(url: str, pair: tuple[App, App]) -> None:
    consumer, producer = pair
    count = idle_members(url, "work")
    await until(lambda: count())
    sent = time.monotonic()
    await producer.env.WORK.send({"n": 3}, delay_seconds=0.5)
    await until(lambda: seen(consumer), timeout=3.0)
    assert 0.45 <= seen(consumer)[0][0] - sent < 1.5  # when due, not at a recheck


async def test_messages_handed_to_a_loop_that_is_gone_are_handed_back(url: str, tmp_path: Path) -> None:
    app = await started(url, tmp_path, "c")
    try:
        queues = app.backend.queues
        await queues.send("other", [_new("m1", app.clock.time())])
        claimed = await queues.claim("other", 10, app.clock.time(), app.clock.time() + 30)
        app.queues.hand_over(Handover("other", Waiter("nobody", 0), claimed))  # no such observer here
        await until(lambda: _ready(app, "other"))
        (message,) = await queues.peek("other")
        assert message.attempts == 0  # handed back as if never claimed
    finally:
        await app.stop()


def _new(message_id: str, now: float) -> Any:
    from runtime.backends.base import NewMessage

    return NewMessage(message_id, b"{}", "json", now, now)


async def _ready(app: App, queue: str) -> bool:
    return (await app.backend.queues.stats(queue, app.clock.time())).ready == 1


async def test_a_lost_subscription_comes_back(
    url: str, pair: tuple[App, App], caplog: pytest.LogCaptureFixture
) -> None:
    consumer, producer = pair
    client = aioredis.from_url(REDIS)
    try:
        await until(idle_members(url, "work"))
        wakeups: Any = consumer.backend.queues._wakeups  # type: ignore[attr-defined]
        channel = wakeups.channels[1]
        pubsub = await wakeups.subscription()
        host, port = pubsub.connection._writer.get_extra_info("sockname")[:2]
        await client.execute_command("CLIENT", "KILL", "ADDR", f"{host}:{port}")

        async def subscribed() -> bool:
            return dict(await client.pubsub_numsub(channel)).get(channel.encode(), 0) == 1

        await asyncio.sleep(0.2)
        assert "lost the Redis subscription" in caplog.text
        await until(subscribed, timeout=5.0)  # subscribed again
        await until(idle_members(url, "work"))
        await producer.env.WORK.send({"n": 5})
        await until(lambda: seen(consumer), timeout=1.5)  # handed over again, not found by a recheck
    finally:
        await client.aclose()
