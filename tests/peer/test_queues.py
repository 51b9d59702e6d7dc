"""Miniflare's queue assertions, ported: packages/miniflare/test/plugins/queues/index.spec.ts
(cloudflare/workers-sdk), delay.spec.ts and retry.spec.ts. Each test names the Miniflare test it
comes from; README.md says where every case of those spec files went."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runtime import App, BindingError, FakeClock, LimitError, ManifestError
from tests.backends import backend_url
from tests.peer.conftest import handler_module

pytestmark = pytest.mark.anyio


async def test_flushes_partial_and_full_batches(
    app: App, clock: FakeClock
) -> None:  # "flushes partial and full batches"
    batches = handler_module(app, "collector").BATCHES
    batches.clear()
    await app.env.QUEUE.send_batch([{"body": i} for i in range(7)])  # max_batch_size 5
    await app.drain()
    assert [[m["body"] for m in batch] for batch in batches][:1] == [[0, 1, 2, 3, 4]]  # a full batch at once
    clock.advance(seconds=1)  # max_batch_timeout: the partial batch is flushed
    await app.drain()
    assert [[m["body"] for m in batch] for batch in batches] == [[0, 1, 2, 3, 4], [5, 6]]
    assert all(m["attempts"] == 1 for batch in batches for m in batch)


async def test_moves_to_dead_letter_queue(app: App) -> None:  # "moves to dead letter queue"
    failed = handler_module(app, "failer").SEEN
    dead = handler_module(app, "dead-reader").SEEN
    failed.clear()
    dead.clear()
    await app.env.FAILING.send({"n": 1})
    await app.drain(raise_errors=False)  # max_retries 2: three attempts, then the dead-letter queue
    assert [m["attempts"] for m in failed] == [1, 2, 3]
    # Delivered on the dead-letter queue with no other wake-up, and counting again from 1.
    assert dead == [{"body": {"n": 1}, "attempts": 1}]
    stats = (await app.queue_stats())["failing"]
    assert (stats.depth, stats.dead_lettered) == (0, 0)  # the dead-letter queue's observer acked it


def test_a_queue_cannot_be_its_own_dead_letter_queue(tmp_path: Path) -> None:
    # Miniflare refuses `deadLetterQueue` equal to the queue ("Dead letter queue for queue ... cannot be itself")
    import shutil

    from tests.peer.conftest import APP

    shutil.copytree(APP, tmp_path / "peer")
    (tmp_path / "peer" / "raindrop.local.yaml").write_text("observers:\n  failer: {dead_letter_queue: failing}\n")
    with pytest.raises(ManifestError, match="cannot be its own dead-letter queue"):
        App.from_manifest(tmp_path / "peer" / "raindrop.manifest")


async def test_supports_message_content_types(app: App) -> None:  # "supports message contentTypes"
    batches = handler_module(app, "collector").BATCHES
    batches.clear()
    await app.env.QUEUE.send("text", content_type="text")
    await app.env.QUEUE.send(b"\x00\x01bytes", content_type="bytes")
    await app.env.QUEUE.send({"json": True}, content_type="json")
    await app.env.QUEUE.send([1, {"v8": "structured"}], content_type="v8")
    await app.env.QUEUE.send({"default": "json"})
    await app.drain(timeout=5)
    bodies = [m["body"] for batch in batches for m in batch]
    assert bodies == ["text", b"\x00\x01bytes", {"json": True}, [1, {"v8": "structured"}], {"default": "json"}]
    with pytest.raises(BindingError, match="content_type must be one of"):
        await app.env.QUEUE.send("x", content_type="xml")  # type: ignore[arg-type]


async def test_operations_permit_strange_queue_names(
    tmp_path: Path, kind: str
) -> None:  # "operations permit strange queue names"
    (tmp_path / "raindrop.manifest").write_text('application "q" {\n  queue "my-queue_name.with_dots-2" {}\n}\n')
    async with App.from_manifest(tmp_path / "raindrop.manifest", backend=backend_url(kind, tmp_path)) as app:
        (queue,) = app.manifest.application.queues
        await getattr(app.env, queue.binding).send({"ok": True})
        stats = await app.queue_stats()
        assert list(stats) == ["my-queue_name.with_dots-2"] and stats["my-queue_name.with_dots-2"].depth == 1


async def test_validates_message_size(app: App) -> None:  # "validates message size"
    with pytest.raises(LimitError, match="message length of 128001 bytes exceeds limit of 128000"):
        await app.env.QUEUE.send(bytes(128 * 1000 + 1), content_type="bytes")
    await app.env.QUEUE.send(bytes(128 * 1000), content_type="bytes")  # the limit itself is accepted


async def test_send_batch_limits(app: App) -> None:  # sendBatch: at most 100 messages, 256 KB in all
    with pytest.raises(LimitError, match="at most 100 messages, not 101"):
        await app.env.QUEUE.send_batch([{"body": i} for i in range(101)])
    with pytest.raises(LimitError, match="the limit is 256000"):
        await app.env.QUEUE.send_batch([{"body": bytes(100_000), "content_type": "bytes"} for _ in range(3)])


async def test_retries_with_delay(app: App, clock: FakeClock) -> None:  # "retries messages" (explicit delay)
    failed = handler_module(app, "failer").SEEN
    failed.clear()
    await app.env.FAILING.send({"n": 2}, delay_seconds=30)
    await app.drain(raise_errors=False)
    assert failed == []  # not due yet
    clock.advance(seconds=30)
    await app.drain(raise_errors=False)
    assert [m["attempts"] for m in failed] == [1, 2, 3]


async def test_v8_bodies_keep_what_the_structured_clone_keeps(app: App) -> None:
    # "supports message contentTypes" (its v8 body: Date, Uint8Array, Set, Map, BigInt, nested)
    from datetime import UTC, date, datetime

    batches = handler_module(app, "collector").BATCHES
    batches.clear()
    body = {
        "when": datetime(2026, 1, 1, 9, 30, tzinfo=UTC),
        "day": date(2026, 1, 2),
        "bytes": b"\x00\xff",
        "set": {"a", "b"},
        "map": {1: "one", ("k", 2): [1, 2]},
        "big": 2**100,
        "nested": [{"deeper": [{"set": {3}}]}],
    }
    await app.env.QUEUE.send(body, content_type="v8")
    await app.env.QUEUE.send_batch([{"body": {"s": {1}}, "content_type": "v8"}])
    await app.drain(timeout=5)
    assert [m["body"] for batch in batches for m in batch] == [body, {"s": {1}}]
    with pytest.raises(BindingError, match=r"the v8 message body\['f'\] is a function"):
        await app.env.QUEUE.send({"f": print}, content_type="v8")


async def test_sends_all_structured_cloneable_types(app: App) -> None:
    # "sends all structured cloneable types": each value through send_batch, compared on delivery.
    # Python spellings: ArrayBuffer and typed arrays are bytes, Map a dict with non-str keys, Set
    # a set, RegExp a re.Pattern, Date a datetime, BigInt an int; an Error keeps its type and
    # message (not its cause: Python's __cause__ is not data).
    import re
    from datetime import UTC, datetime

    cyclic: dict[str, Any] = {"a": 1}
    cyclic["b"] = cyclic
    raw = bytes([0, 1, 2, 3, 4, 5, 6, 7])
    values: dict[str, Any] = {
        "Object": {"w": 1, "x": 42, "y": True, "z": "string"},
        "Cyclic": cyclic,
        "Array": [0, 1, [2, 3]],
        "Date": datetime.fromtimestamp(1, UTC),
        "Map": {"a": 1, "b": 2, 3: "c"},
        "Set": {"a", "b", "c"},
        "RegExp": re.compile("ab?c", re.IGNORECASE),
        "ArrayBuffer": raw,
        "Uint8Array": raw[1:5],
        "BigInt": 2**64 + 1,
        "Error": Exception("message"),
        "RangeError": ValueError("message"),
        "TypeError": TypeError("message"),
    }
    batches = handler_module(app, "collector").BATCHES
    batches.clear()
    for name, value in values.items():
        await app.env.QUEUE.send_batch([{"body": {"name": name, "value": value}, "content_type": "v8"}])
    await app.drain(timeout=5)
    got = {m["body"]["name"]: m["body"]["value"] for batch in batches for m in batch}
    assert set(got) == set(values)
    for name, value in values.items():
        if isinstance(value, BaseException):
            assert (type(got[name]), str(got[name])) == (type(value), str(value)), name
        elif name == "Cyclic":
            assert got[name]["a"] == 1 and got[name]["b"] is got[name], name
        elif name == "RegExp":
            assert (got[name].pattern, got[name].flags) == (value.pattern, value.flags), name
        else:
            assert got[name] == value, name


async def test_retries_messages(app: App) -> None:  # "retries messages"
    # Miniflare's consumer changes its mind between deliveries (a 1 s batch timeout apart); here a
    # retried message comes back within the same drain, so the consumer decides by attempt.
    module = handler_module(app, "retrier")
    batches, plan = module.BATCHES, module.PLAN
    batches.clear()

    async def send(*bodies: str) -> None:
        await app.env.RETRIED.send_batch([{"body": b} for b in bodies])
        await app.drain(raise_errors=False)

    # Check with explicit single retry
    plan.update(retry_all=False, error_all=False, retry_once=["msg2"], retry=[])
    await send("msg1", "msg2", "msg3")
    assert batches == [["msg1", "msg2", "msg3"], ["msg2"]]
    batches.clear()
    plan["retry_once"] = []

    # Check with explicit retry all, then implicit retry from an exception: all come again
    for failing in ("retry_all", "error_all"):
        plan[failing] = True
        await send("msg1", "msg2", "msg3")
        plan[failing] = False
        assert batches == [["msg1", "msg2", "msg3"], ["msg1", "msg2", "msg3"]], failing
        batches.clear()

    # Check drops (here: dead-letters) messages after max retries (max_retries 2: three attempts)
    plan.update(retry_all=True, retry=["msg3"])
    await send("msg1", "msg2", "msg3")
    assert batches == [["msg1", "msg2", "msg3"], ["msg1", "msg2", "msg3"], ["msg3"]]
    (letter,) = await app.dead_letters("retried")
    assert letter.body == b'"msg3"' and letter.attempts == 3  # never silently dropped


# Miniflare's queues/delay.spec.ts: a consumer with max_batch_timeout 0 on the fake clock.


async def reported(app: App, clock: FakeClock, seconds: float) -> list[list[Any]]:
    clock.advance(seconds=seconds)
    await app.drain()
    return list(handler_module(app, "reporter").BATCHES)


async def test_send_respects_per_message_delay(app: App, clock: FakeClock) -> None:
    # ".send() respects per-message delay": ten messages, delayed 1 to 10 s, arrive one a second
    handler_module(app, "reporter").BATCHES.clear()
    for i in range(1, 11):
        await app.env.DELAYED.send(i, delay_seconds=i)
    assert await reported(app, clock, 0) == []
    for i in range(1, 11):
        assert await reported(app, clock, 1) == [[n] for n in range(1, i + 1)]


async def test_send_batch_respects_per_batch_delay(app: App, clock: FakeClock) -> None:
    # ".sendBatch() respects per-batch delay"
    handler_module(app, "reporter").BATCHES.clear()
    await app.env.DELAYED.send_batch([{"body": 1}, {"body": 2}], delay_seconds=3)
    assert await reported(app, clock, 0) == []
    assert await reported(app, clock, 1) == []
    assert await reported(app, clock, 1) == []
    assert await reported(app, clock, 1) == [[1, 2]]


async def test_send_batch_respects_per_message_delay(app: App, clock: FakeClock) -> None:
    # ".sendBatch() respects per-message delay": a message's own delay wins over the batch's
    handler_module(app, "reporter").BATCHES.clear()
    await app.env.DELAYED.send_batch(
        [{"body": 1, "delay_seconds": 1}, {"body": 2, "delay_seconds": 2}, {"body": 3}], delay_seconds=3
    )
    assert await reported(app, clock, 0) == []
    assert await reported(app, clock, 1) == [[1]]
    assert await reported(app, clock, 1) == [[1], [2]]
    assert await reported(app, clock, 1) == [[1], [2], [3]]


# Miniflare's queues/retry.spec.ts: the consumer retries every batch; retry_delay 5, max_retries 2.


async def test_respects_retry_delays_and_max_retries(app: App, clock: FakeClock) -> None:
    # "respects retry delays" / "respects max retries"
    batches = handler_module(app, "later").BATCHES
    batches.clear()
    await app.env.RETRY_LATER.send("some-message")

    async def after(seconds: float) -> int:
        clock.advance(seconds=seconds)
        await app.drain()
        return len(batches)

    assert await after(1) == 1  # delivered once
    assert await after(1) == 1  # not again one second later
    assert await after(4) == 2  # again once the 5 s retry delay is over
    assert await after(5) == 3  # and again 5 s later: the third and last attempt (max_retries 2)
    assert await after(5) == 3  # not delivered again
    assert await after(60) == 3
    (letter,) = await app.dead_letters("retry-later")
    assert letter.attempts == 3


def test_max_batch_timeout_validation(tmp_path: Path) -> None:
    # "maxBatchTimeout validation" (skipped in Miniflare's own suite): 60 s is the most
    import shutil

    from tests.peer.conftest import APP

    shutil.copytree(APP, tmp_path / "peer")
    local = tmp_path / "peer" / "raindrop.local.yaml"
    local.write_text("observers:\n  collector: {max_batch_timeout: 60}\n")
    App.from_manifest(tmp_path / "peer" / "raindrop.manifest")
    local.write_text("observers:\n  collector: {max_batch_timeout: 61}\n")
    with pytest.raises(ManifestError, match="max_batch_timeout"):
        App.from_manifest(tmp_path / "peer" / "raindrop.manifest")
