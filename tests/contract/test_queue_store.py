"""The queue store contract (``QueueStore``) on every backend."""

from __future__ import annotations

import pytest

from runtime.backends.base import Backend, NewMessage, QueueStats, Retry, Waiter
from tests.contract.conftest import ODD_KEYS

LOOP = Waiter("loop-é", 0)  # a consumer loop, named as consumers name theirs

pytestmark = pytest.mark.anyio


def msg(i: int | str, at: float = 100.0, visible: float | None = None, body: bytes | None = None) -> NewMessage:
    name = f"m{i:04d}" if isinstance(i, int) else i
    return NewMessage(name, body if body is not None else f"body {name}".encode(), "json", at, visible or at)


def counts(stats: QueueStats) -> tuple[int, int, int, int]:
    return stats.ready, stats.in_flight, stats.delayed, stats.dead_lettered


async def test_send_stores_every_field(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [NewMessage("id-é😀", b"\x00\xff bytes", "bytes", 99.25, 100)])
    (claimed,) = await q.claim("jobs", 10, 100, 130)
    assert (claimed.id, claimed.queue, claimed.body, claimed.content_type, claimed.created_at) == (
        "id-é😀",
        "jobs",
        b"\x00\xff bytes",
        "bytes",
        99.25,
    )
    assert (claimed.attempts, claimed.last_error, claimed.origin) == (1, None, None)


async def test_send_of_nothing_is_allowed(backend: Backend) -> None:
    await backend.queues.send("jobs", [])
    assert await backend.queues.queues() == []


async def test_claim_is_oldest_first_limited_and_never_shared(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(i, at=100 + i) for i in range(12)])
    first = await q.claim("jobs", 5, 200, 230)
    second = await q.claim("jobs", 5, 200, 230)
    third = await q.claim("jobs", 5, 200, 230)
    assert [m.id for m in first + second + third] == [f"m{i:04d}" for i in range(12)]
    assert [len(first), len(second), len(third)] == [5, 5, 2]
    assert await q.claim("jobs", 5, 200, 230) == []
    assert counts(await q.stats("jobs", 200)) == (0, 12, 0, 0)


async def test_claim_leaves_delayed_messages_until_their_time(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(1, visible=160), msg(2)])
    assert [m.id for m in await q.claim("jobs", 10, 100, 130)] == ["m0002"]
    assert counts(await q.stats("jobs", 100)) == (0, 1, 1, 0)
    await q.settle("jobs", ["m0002"], [])
    assert await q.claim("jobs", 10, 159, 190) == []
    assert [m.id for m in await q.claim("jobs", 10, 160, 190)] == ["m0001"]


async def test_a_lease_that_ends_makes_the_message_ready_again(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(1)])
    await q.claim("jobs", 10, 100, 130)
    assert await q.claim("jobs", 10, 129.9, 160) == []
    assert [(m.id, m.attempts) for m in await q.claim("jobs", 10, 130, 160)] == [("m0001", 2)]


async def test_settle_acks_and_retries(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(1), msg(2), msg(3)])
    await q.claim("jobs", 10, 100, 130)
    await q.settle("jobs", ["m0001"], [Retry("m0002", 110, "ValueError: é"), Retry("m0003", 100)])
    assert counts(await q.stats("jobs", 105)) == (1, 0, 1, 0)
    got = await q.claim("jobs", 10, 110, 140)
    assert [(m.id, m.attempts, m.last_error) for m in got] == [("m0003", 2, None), ("m0002", 2, "ValueError: é")]
    await q.settle("jobs", ["m0002", "m0003", "unknown"], [Retry("gone", 100)])  # unknown ids are ignored
    assert counts(await q.stats("jobs", 200)) == (0, 0, 0, 0)


async def test_settle_and_claim_is_settle_then_claim(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(1), msg(2), msg(3), msg(4, visible=200)])
    await q.claim("jobs", 2, 100, 130)
    got, due = await q.settle_and_claim("jobs", ["m0001"], [Retry("m0002", 100, "again")], 10, 100, 130)
    assert [(m.id, m.attempts, m.last_error) for m in got] == [("m0002", 2, "again"), ("m0003", 1, None)]
    assert due is None
    assert await q.settle_and_claim("jobs", ["m0002", "m0003"], [], 10, 100, 130, waiter=LOOP) == ([], 200)
    await q.purge("jobs")
    assert await q.settle_and_claim("jobs", [], [], 10, 100, 130, waiter=LOOP) == ([], None)


async def test_a_loop_that_left_idle_is_handed_nothing(backend: Backend) -> None:
    q = backend.queues
    assert await q.settle_and_claim("jobs", [], [], 10, 100, 130, waiter=LOOP) == ([], None)
    await q.leave_idle("jobs", LOOP)
    await q.leave_idle("jobs", Waiter("never-idle", 3))
    await q.send("jobs", [msg(1)])
    assert counts(await q.stats("jobs", 100)) == (1, 0, 0, 0)  # not claimed for the loop that left


async def test_extend_renews_only_claimed_messages(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(1), msg(2, visible=150)])
    await q.claim("jobs", 10, 100, 130)
    await q.extend("jobs", ["m0001", "m0002", "unknown"], 300)
    assert await q.next_visible("jobs") == 150  # m0002 was not claimed: still due at 150
    assert [m.id for m in await q.claim("jobs", 10, 200, 400)] == ["m0002"]  # m0001 is leased until 300
    assert counts(await q.stats("jobs", 200)) == (0, 2, 0, 0)
    assert [(m.id, m.attempts) for m in await q.claim("jobs", 10, 300, 330)] == [("m0001", 2)]


async def test_release_returns_a_claim_and_undoes_its_attempt(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(1), msg(2, visible=150)])
    await q.claim("jobs", 1, 100, 130)
    await q.release("jobs", ["m0001", "m0002", "unknown"], 101)  # m0002 was never claimed: untouched
    assert counts(await q.stats("jobs", 101)) == (1, 0, 1, 0)
    assert [(m.id, m.attempts) for m in await q.claim("jobs", 10, 101, 500)] == [("m0001", 1)]
    assert [(m.id, m.attempts) for m in await q.claim("jobs", 10, 150, 180)] == [("m0002", 1)]


async def test_dead_letter_moves_messages_with_origin_error_and_failed_attempts(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(1), msg(2)])
    for moment in (100, 130, 160, 190):  # four deliveries, every one failed
        got = await q.claim("jobs", 10, moment, moment + 30)
        await q.settle("jobs", [], [Retry(m.id, moment + 30, f"failed at {moment}") for m in got])
    await q.claim("jobs", 10, 220, 250)
    await q.dead_letter("jobs", "jobs-dlq", ["m0001", "unknown"], ["RuntimeError: nope", None])
    assert counts(await q.stats("jobs", 220, "jobs-dlq")) == (0, 1, 0, 1)
    (dead,) = await q.peek("jobs-dlq")
    assert (dead.id, dead.queue, dead.origin, dead.last_error, dead.body) == (
        "m0001",
        "jobs-dlq",
        "jobs",
        "RuntimeError: nope",
        b"body m0001",
    )
    assert (dead.attempts, dead.failed_attempts) == (0, 5)  # the dead-letter queue has not delivered it yet
    (again,) = await q.claim("jobs-dlq", 10, 220, 250)
    assert (again.attempts, again.failed_attempts, again.origin) == (1, 5, "jobs")


async def test_redrive_returns_dead_letters_to_their_origin_or_elsewhere(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(1)])
    await q.send("other", [msg(2)])
    await q.claim("jobs", 10, 100, 130)
    await q.claim("other", 10, 100, 130)
    await q.dead_letter("jobs", "dlq", ["m0001"], ["boom"])
    await q.dead_letter("other", "dlq", ["m0002"], ["boom"])
    assert await q.redrive("dlq", 200) == 2
    assert counts(await q.stats("dlq", 200)) == (0, 0, 0, 0)
    for queue, message_id in (("jobs", "m0001"), ("other", "m0002")):
        (back,) = await q.claim(queue, 10, 200, 230)
        assert (back.id, back.attempts, back.failed_attempts, back.origin, back.last_error) == (
            message_id,
            1,
            None,
            None,
            None,
        )
        await q.dead_letter(queue, "dlq", [message_id], ["again"])
    assert await q.redrive("dlq", 300, to_queue="retry-é") == 2
    assert sorted(m.id for m in await q.claim("retry-é", 10, 300, 330)) == ["m0001", "m0002"]
    assert await q.redrive("dlq", 300) == 0


async def test_stats_counts_ready_in_flight_delayed_and_dead(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(1), msg(2), msg(3, visible=500), msg(4)])
    await q.claim("jobs", 2, 100, 130)
    await q.dead_letter("jobs", "jobs-dlq", ["m0002"], [None])
    assert counts(await q.stats("jobs", 100, "jobs-dlq")) == (1, 1, 1, 1)
    assert (await q.stats("jobs", 100, "jobs-dlq")).depth == 3
    assert counts(await q.stats("jobs", 130)) == (2, 0, 1, 0)  # the lease ended: ready again
    assert counts(await q.stats("nothing", 100, "nothing-dlq")) == (0, 0, 0, 0)


async def test_next_visible_is_the_earliest_moment_of_any_message(backend: Backend) -> None:
    q = backend.queues
    assert await q.next_visible("jobs") is None
    await q.send("jobs", [msg(1, visible=300), msg(2, visible=250.5)])
    assert await q.next_visible("jobs") == 250.5
    await q.claim("jobs", 10, 260, 400)
    assert await q.next_visible("jobs") == 300
    await q.purge("jobs")
    assert await q.next_visible("jobs") is None


async def test_peek_shows_messages_oldest_first_without_claiming(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(i, at=100 + i) for i in range(5)])
    peeked = await q.peek("jobs", 3)
    assert [(m.id, m.attempts, m.body) for m in peeked] == [
        (f"m{i:04d}", 0, f"body m{i:04d}".encode()) for i in range(3)
    ]
    assert len(await q.peek("jobs")) == 5
    assert counts(await q.stats("jobs", 200)) == (5, 0, 0, 0)
    assert await q.peek("nothing") == []


async def test_purge_deletes_every_message_of_one_queue(backend: Backend) -> None:
    q = backend.queues
    await q.send("jobs", [msg(i) for i in range(5)] + [msg(9, visible=900)])
    await q.send("other", [msg(1)])
    await q.claim("jobs", 2, 100, 130)
    assert await q.purge("jobs") == 6
    assert await q.purge("jobs") == 0
    assert (await q.stats("jobs", 100)).depth == 0
    assert (await q.stats("other", 100)).depth == 1


async def test_queues_names_every_queue_holding_messages(backend: Backend) -> None:
    q = backend.queues
    for i, name in enumerate(ODD_KEYS):
        await q.send(name, [msg(i)])
    assert await q.queues() == sorted(ODD_KEYS)
    await q.claim("a", 10, 100, 130)
    await q.dead_letter("a", "a-dlq", ["m0000"], [None])
    await q.purge("b")
    assert await q.queues() == sorted(set(ODD_KEYS) - {"a", "b"} | {"a-dlq"})


@pytest.mark.parametrize("waiter", [Waiter("jobs", 0), Waiter("a:b", 12), Waiter("ünï😀", 3)])
def test_a_waiter_is_read_back_as_written(waiter: Waiter) -> None:
    assert Waiter.parse(str(waiter)) == waiter


@pytest.mark.parametrize("text", ["", "jobs", "jobs:", ":0", "jobs:x", "jobs:-1"])
def test_text_no_waiter_writes_is_no_waiter(text: str) -> None:
    assert Waiter.parse(text) is None
