"""One contract suite for every backend's stores."""

from __future__ import annotations

import pytest

from runtime.backends.base import Backend, NewMessage, Retry

pytestmark = pytest.mark.anyio


def msg(i: int, at: float = 100.0, visible: float | None = None) -> NewMessage:
    return NewMessage(f"m{i:04d}", f"body{i}".encode(), "text", at, at if visible is None else visible)


async def test_send_claim_ack(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(1), msg(2), msg(3)])
    claimed = await q.claim("jobs", 2, now=100, lease_until=130)
    assert [m.id for m in claimed] == ["m0001", "m0002"]
    assert all(m.attempts == 1 and m.queue == "jobs" for m in claimed)
    stats = await q.stats("jobs", 100)
    assert (stats.ready, stats.in_flight, stats.delayed) == (1, 2, 0)
    await q.settle("jobs", ["m0001", "m0002"], [])
    stats = await q.stats("jobs", 100)
    assert (stats.ready, stats.in_flight, stats.depth) == (1, 0, 1)
    assert await q.claim("other", 10, 100, 130) == []


async def test_delayed_messages_become_ready_at_their_time(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(1, visible=160)])
    assert await q.claim("jobs", 10, 100, 130) == []
    assert (await q.stats("jobs", 100)).delayed == 1
    assert await q.next_visible("jobs") == 160
    assert [m.id for m in await q.claim("jobs", 10, 160, 190)] == ["m0001"]


async def test_lease_expiry_makes_a_message_ready_again(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(1)])
    assert len(await q.claim("jobs", 10, 100, 130)) == 1
    assert await q.claim("jobs", 10, 129, 159) == []
    again = await q.claim("jobs", 10, 130, 160)
    assert [(m.id, m.attempts) for m in again] == [("m0001", 2)]


async def test_extend_keeps_the_lease(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(1)])
    await q.claim("jobs", 10, 100, 130)
    await q.extend("jobs", ["m0001"], 200)
    assert await q.claim("jobs", 10, 150, 180) == []
    assert (await q.stats("jobs", 150)).in_flight == 1


async def test_retry_sets_visibility_and_error(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(1), msg(2)])
    await q.claim("jobs", 10, 100, 130)
    await q.settle("jobs", ["m0002"], [Retry("m0001", 110, "boom")])
    stats = await q.stats("jobs", 105)
    assert (stats.ready, stats.in_flight, stats.delayed) == (0, 0, 1)
    (again,) = await q.claim("jobs", 10, 110, 140)
    assert (again.id, again.attempts, again.last_error) == ("m0001", 2, "boom")


async def test_release_undoes_the_attempt(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(1)])
    await q.claim("jobs", 10, 100, 130)
    await q.release("jobs", ["m0001"], 101)
    (again,) = await q.claim("jobs", 10, 101, 131)
    assert again.attempts == 1


async def test_dead_letter_and_redrive(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(1), msg(2)])
    await q.claim("jobs", 10, 100, 130)
    await q.dead_letter("jobs", "jobs-dlq", ["m0001"], ["RuntimeError: nope"])
    stats = await q.stats("jobs", 100, "jobs-dlq")
    assert stats.dead_lettered == 1 and stats.in_flight == 1
    (dead,) = await q.peek("jobs-dlq")
    assert (dead.origin, dead.last_error, dead.queue) == ("jobs", "RuntimeError: nope", "jobs-dlq")
    assert await q.redrive("jobs-dlq", 200) == 1
    assert (await q.stats("jobs", 200, "jobs-dlq")).dead_lettered == 0
    ids = {m.id for m in await q.claim("jobs", 10, 200, 230)}
    assert "m0001" in ids
    assert sorted(await q.queues()) == ["jobs"]


async def test_purge(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(i) for i in range(5)])
    assert await q.purge("jobs") == 5
    assert (await q.stats("jobs", 100)).depth == 0


async def test_claims_are_oldest_first_and_never_shared(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(i, at=100 + i) for i in range(50)])
    first = await q.claim("jobs", 30, 200, 230)
    second = await q.claim("jobs", 30, 200, 230)
    assert [m.id for m in first] == [f"m{i:04d}" for i in range(30)]
    assert len(second) == 20 and not {m.id for m in first} & {m.id for m in second}


async def test_kv_get_put_expiry(backend: Backend) -> None:
    kv = backend.kv
    await kv.put("ns", "a", b"1", None, None)
    await kv.put("ns", "b", b"2", 150, '{"m":1}')
    await kv.put("other", "a", b"x", None, None)
    assert (await kv.get("ns", "a", 100)).value == b"1"  # type: ignore[union-attr]
    entry = await kv.get("ns", "b", 149.9)
    assert entry is not None and entry.metadata == '{"m":1}' and entry.expires_at == 150
    assert await kv.get("ns", "b", 150) is None
    await kv.put("ns", "a", b"new", None, None)
    assert (await kv.get("ns", "a", 100)).value == b"new"  # type: ignore[union-attr]
    await kv.delete("ns", "a")
    await kv.delete("ns", "missing")
    assert await kv.get("ns", "a", 100) is None
    assert await kv.count("ns", 100) == 1
    assert await kv.sweep(200) == 1
    assert await kv.count("ns", 100) == 0


async def test_kv_list_prefix_order_and_paging(backend: Backend) -> None:
    kv = backend.kv
    for key in ["user:2", "user:10", "user:1", "job:1", "userx", "user:3"]:
        await kv.put("ns", key, b"v", 150 if key == "user:3" else None, None)
    names = [k.name for k in await kv.list("ns", "user:", None, 10, 100)]
    assert names == ["user:1", "user:10", "user:2", "user:3"]
    assert [k.name for k in await kv.list("ns", "user:", None, 10, 151)] == ["user:1", "user:10", "user:2"]
    page = await kv.list("ns", "user:", "user:10", 10, 100)
    assert [k.name for k in page] == ["user:2", "user:3"]
    assert [k.name for k in await kv.list("ns", "", None, 2, 100)] == ["job:1", "user:1"]


async def test_another_process_can_settle_extend_and_release(backend: Backend, tmp_path: object) -> None:
    """A second connection to the same state (a CLI, another worker) finds messages by id."""
    from runtime.backends import open_backend

    if not backend.shared:
        pytest.skip("a memory backend is one process's own")
    other = open_backend(backend.url)
    await other.open()
    try:
        q, q2 = backend.queues, other.queues
        await q.send("jobs", [msg(1), msg(2), msg(3)])
        assert len(await q.claim("jobs", 3, 100, 130)) == 3
        await q2.extend("jobs", ["m0001"], 200)
        await q2.settle("jobs", ["m0002"], [Retry("m0003", 150, "later")])
        assert [m.id for m in await q.claim("jobs", 10, 150, 180)] == ["m0003"]  # m0001's lease was renewed
        await q2.release("jobs", ["m0001"], 160)
        assert [(m.id, m.attempts) for m in await q.claim("jobs", 10, 160, 190)] == [("m0001", 1)]
    finally:
        await other.close()


async def test_settle_and_claim_is_settle_then_claim(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(1), msg(2), msg(3), msg(4, visible=200)])
    assert [m.id for m in await q.claim("jobs", 2, 100, 130)] == ["m0001", "m0002"]
    got, due = await q.settle_and_claim("jobs", ["m0001"], [Retry("m0002", 100, "again")], 10, 100, 130)
    assert [(m.id, m.attempts) for m in got] == [("m0002", 2), ("m0003", 1)]  # the retry is due at once
    assert due is None  # only told when nothing was claimed
    assert [m.last_error for m in got] == ["again", None]
    stats = await q.stats("jobs", 100)
    assert (stats.ready, stats.in_flight, stats.delayed) == (0, 2, 1)  # m0001 is gone
    assert await q.settle_and_claim("jobs", ["m0002", "m0003"], [], 10, 100, 130) == ([], 200)  # m0004 is due at 200
    assert (await q.stats("jobs", 100)).depth == 1
    await q.purge("jobs")
    assert await q.settle_and_claim("jobs", [], [], 10, 100, 130) == ([], None)
