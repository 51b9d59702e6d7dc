"""The state store contract (``StateStore``: actor storage, alarms, cron fires, actor leases) on
every backend."""

from __future__ import annotations

import asyncio
import time

import pytest

from runtime.backends.base import Alarm, Backend, Fence
from runtime.errors import LeaseLostError
from tests.contract.conftest import ODD_KEYS

pytestmark = pytest.mark.anyio


async def keys(backend: Backend, **options: object) -> list[str]:
    return [k for k, _ in await backend.state.list("ns", "actor", **options)]  # type: ignore[arg-type]


async def test_get_put_and_delete_keys(backend: Backend) -> None:
    s = backend.state
    await s.put("ns", "actor", {"a": '"1"', "é😀": '{"x": "一"}'})
    await s.put("ns", "other", {"a": '"other"'})
    assert await s.get("ns", "actor", ["a", "é😀", "missing"]) == {"a": '"1"', "é😀": '{"x": "一"}'}
    assert await s.get("ns", "actor", ["é😀"]) == {"é😀": '{"x": "一"}'}
    assert await s.get("ns", "actor", []) == {}
    await s.put("ns", "actor", {"a": '"2"'})
    assert await s.get("ns", "actor", ["a"]) == {"a": '"2"'}
    assert await s.delete("ns", "actor", ["a", "missing"]) == 1
    assert await s.delete("ns", "actor", []) == 0
    assert await s.get("ns", "actor", ["a", "é😀"]) == {"é😀": '{"x": "一"}'}
    assert await s.get("ns", "other", ["a"]) == {"a": '"other"'}
    assert await s.get("other-ns", "actor", ["é😀"]) == {}


async def test_delete_all_removes_keys_and_the_alarm_of_one_actor(backend: Backend) -> None:
    s = backend.state
    await s.put("ns", "actor", {k: "1" for k in ODD_KEYS})
    await s.put("ns", "other", {"a": "1"})
    await s.set_alarm("ns", "actor", "name", 500)
    await s.set_alarm("ns", "other", None, 600)
    await s.delete_all("ns", "actor")
    assert await keys(backend) == []
    assert await s.get_alarm("ns", "actor") is None
    assert await s.get_alarm("ns", "other") == 600
    assert await s.get("ns", "other", ["a"]) == {"a": "1"}
    await s.delete_all("ns", "never-stored")


async def test_list_is_in_code_point_order_with_prefix_start_end_reverse_and_limit(backend: Backend) -> None:
    await backend.state.put("ns", "actor", {k: f'"{k}"' for k in ODD_KEYS})
    ordered = sorted(ODD_KEYS)
    assert await backend.state.list("ns", "actor") == [(k, f'"{k}"') for k in ordered]
    assert await keys(backend, prefix="a") == [k for k in ordered if k.startswith("a")]
    assert await keys(backend, prefix="a\U0010ffff") == ["a\U0010ffff", "a\U0010ffffz"]
    assert await keys(backend, prefix="é") == ["é", "é1"]
    assert await keys(backend, prefix="c") == []
    assert await keys(backend, start="a一", end="b") == ["a一", "a😀", "a\U0010ffff", "a\U0010ffffz"]
    assert await keys(backend, start="é", end="😀") == ["é", "é1", "一"]
    assert await keys(backend, prefix="a", start="aé", end="a😀") == ["aé", "a一"]
    assert await keys(backend, reverse=True, limit=3) == ordered[::-1][:3]
    assert await keys(backend, prefix="a", reverse=True, limit=2) == ["a\U0010ffffz", "a\U0010ffff"]
    assert await keys(backend, limit=0) == []
    assert await backend.state.list("ns", "nobody") == []


async def test_one_alarm_per_actor(backend: Backend) -> None:
    s = backend.state
    assert await s.get_alarm("ns", "actor") is None
    await s.set_alarm("ns", "actor", "name-é", 500.25)
    assert await s.get_alarm("ns", "actor") == 500.25
    await s.set_alarm("ns", "actor", "name-é", 400)  # replaces
    assert await s.get_alarm("ns", "actor") == 400
    assert await s.next_alarm() == 400
    await s.delete_alarm("ns", "actor")
    await s.delete_alarm("ns", "never")
    assert await s.get_alarm("ns", "actor") is None
    assert await s.next_alarm() is None


async def test_claim_alarms_takes_due_alarms_oldest_first_and_leases_them(backend: Backend) -> None:
    s = backend.state
    await s.set_alarm("ns", "b", "B", 120)
    await s.set_alarm("ns", "a", "A", 110)
    await s.set_alarm("ns", "c", None, 200)
    await s.set_alarm("ns😀", "a", None, 115)
    due = await s.claim_alarms(150, 180, limit=2)
    assert due == [Alarm("ns", "a", "A", 110, 0), Alarm("ns😀", "a", None, 115, 0)]
    assert await s.claim_alarms(150, 180) == [Alarm("ns", "b", "B", 120, 0)]
    assert await s.claim_alarms(179, 210) == []  # leased until 180
    assert [a.actor for a in await s.claim_alarms(180, 210, limit=1)] == ["a"]  # the lease ended


async def test_finish_alarm_deletes_retries_or_leaves_a_re_set_alarm(backend: Backend) -> None:
    s = backend.state
    await s.set_alarm("ns", "done", None, 100)
    await s.set_alarm("ns", "retry", None, 100)
    await s.set_alarm("ns", "re-set", None, 100)
    claimed = {a.actor: a for a in await s.claim_alarms(100, 130)}
    await s.set_alarm("ns", "re-set", None, 500)  # set again by the actor during its run
    await s.finish_alarm(claimed["done"], None)
    await s.finish_alarm(claimed["retry"], 110)
    await s.finish_alarm(claimed["re-set"], None)
    assert await s.get_alarm("ns", "done") is None
    assert await s.get_alarm("ns", "retry") == 110
    assert await s.get_alarm("ns", "re-set") == 500
    (again,) = await s.claim_alarms(110, 140)
    assert (again.actor, again.at, again.retries) == ("retry", 110, 1)


async def test_next_alarm_is_the_earliest_moment_an_alarm_can_be_claimed(backend: Backend) -> None:
    s = backend.state
    assert await s.next_alarm() is None
    await s.set_alarm("ns", "later", None, 300)
    await s.set_alarm("ns", "sooner", None, 200)
    assert await s.next_alarm() == 200
    await s.claim_alarms(250, 400)  # "sooner" is being fired until 400: "later" is next
    assert await s.next_alarm() == 300


async def test_next_alarm_looks_past_many_leased_alarms(backend: Backend) -> None:
    s = backend.state
    for i in range(30):
        await s.set_alarm("ns", f"busy-{i:02d}", None, 100 + i)
    assert len(await s.claim_alarms(200, 1000)) == 30  # all leased until 1000
    await s.set_alarm("ns", "free", None, 500)
    assert await s.next_alarm() == 500


async def test_claim_fire_records_each_fire_once(backend: Backend) -> None:
    s = backend.state
    assert await s.last_fire("nightly-é") is None
    assert await s.claim_fire("nightly-é", 3600, 3601) is True
    assert await s.claim_fire("nightly-é", 3600, 3602) is False
    assert await s.claim_fire("nightly-é", 7200, 7201) is True
    assert await s.claim_fire("nightly-é", 1800, 7202) is True  # a missed earlier fire is its own
    assert await s.last_fire("nightly-é") == 7200
    assert await s.last_fire("other") is None


async def test_claim_fires_claims_many_at_once_and_last_fires_reads_them(backend: Backend) -> None:
    s = backend.state
    assert await s.claim_fires([], 3601) == []
    assert await s.claim_fire("b", 3600, 3601) is True
    claims = [("a-é", 3600.0), ("b", 3600.0), ("c", 3600.0), ("a-é", 7200.0), ("c", 3600.0)]
    assert await s.claim_fires(claims, 7201) == [True, False, True, True, False]
    assert await s.claim_fires(claims[:2], 7202) == [False, False]
    assert await s.last_fires(["a-é", "b", "c", "none"]) == {"a-é": 7200.0, "b": 3600.0, "c": 3600.0}
    assert await s.last_fires([]) == {}
    assert await s.last_fire("a-é") == 7200.0


async def test_actors_lists_the_actors_holding_storage(backend: Backend) -> None:
    s = backend.state
    for actor in ["b", "a😀", "a", "é"]:
        await s.put("ns", actor, {"k": "1"})
    await s.put("other", "z", {"k": "1"})
    await s.set_alarm("ns", "alarm-only", None, 100)
    assert await s.actors("ns") == ["a", "a😀", "b", "é"]
    assert await s.actors("ns", limit=2) == ["a", "a😀"]
    await s.delete_all("ns", "b")
    await s.delete("ns", "é", ["k"])
    assert await s.actors("ns") == ["a", "a😀"]
    assert await s.actors("nobody") == []


async def test_own_actor_is_exclusive_until_the_lease_is_given_up(backend: Backend) -> None:
    s = backend.state
    now = time.time()
    first = await s.own_actor("ns", "actor-é", "p1", now, 30)
    assert first >= 1
    assert await s.own_actor("ns", "actor-é", "p2", now, 30) == 0
    assert await s.own_actor("ns", "actor-é", "p1", now, 30) == first  # extended: the same epoch
    assert await s.own_actor("ns", "other", "p2", now, 30) >= 1
    assert await s.actor_owners("ns", now) == {"actor-é": "p1", "other": "p2"}
    await s.disown_actor("ns", "actor-é", "p2")  # not p2's: nothing happens
    assert await s.own_actor("ns", "actor-é", "p2", now, 30) == 0
    await s.disown_actor("ns", "actor-é", "p1")
    assert await s.actor_owners("ns", now) == {"other": "p2"}
    assert await s.own_actor("ns", "actor-é", "p2", now, 30) == first + 1  # taken anew: the next epoch
    assert await s.actor_owners("ns", now) == {"actor-é": "p2", "other": "p2"}
    assert await s.actor_owners("nobody", now) == {}


async def test_a_lease_nobody_extends_is_taken_over_with_a_higher_epoch(backend: Backend) -> None:
    s = backend.state
    first = await s.own_actor("ns", "actor", "p1", time.time(), 0.2)
    assert await s.own_actor("ns", "actor", "p2", time.time(), 0.2) == 0
    await asyncio.sleep(0.35)  # p1 was paused: it extended nothing for longer than its lease
    assert await s.own_actor("ns", "actor", "p2", time.time(), 0.2) == first + 1
    assert await s.own_actor("ns", "actor", "p1", time.time(), 0.2) == 0  # p1 wakes up: it is p2's


async def test_a_lease_extended_in_time_is_never_taken_over(backend: Backend) -> None:
    s = backend.state
    epoch = await s.own_actor("ns", "actor", "p1", time.time(), 0.3)
    for _ in range(5):  # 0.5 s: more than a lease and a half, with an extension every 0.1 s
        assert await s.own_actor("ns", "actor", "p2", time.time(), 0.3) == 0
        await asyncio.sleep(0.1)
        assert await s.own_actor("ns", "actor", "p1", time.time(), 0.3) == epoch


async def test_a_contender_whose_wall_clock_runs_ahead_cannot_take_a_live_lease(backend: Backend) -> None:
    if backend.url.startswith("memory"):
        pytest.skip("one process, one clock: the memory backend judges leases by the `now` passed in")
    s = backend.state
    epoch = await s.own_actor("ns", "actor", "p1", time.time(), 3)
    assert await s.own_actor("ns", "actor", "p2", time.time() + 5, 3) == 0  # 5 s ahead: still p1's
    assert await s.own_actor("ns", "actor", "p2", time.time() + 3600, 3) == 0
    assert await s.own_actor("ns", "actor", "p1", time.time() - 3600, 3) == epoch  # nor one behind


FENCED_WRITES = {
    "put": lambda s, f: s.put("ns", "actor", {"k": '"late"'}, f),
    "delete": lambda s, f: s.delete("ns", "actor", ["k"], f),
    "delete_all": lambda s, f: s.delete_all("ns", "actor", f),
    "set_alarm": lambda s, f: s.set_alarm("ns", "actor", None, 999, f),
    "delete_alarm": lambda s, f: s.delete_alarm("ns", "actor", f),
}


@pytest.mark.parametrize("write", list(FENCED_WRITES))
async def test_a_write_under_a_lost_lease_is_refused_and_writes_nothing(backend: Backend, write: str) -> None:
    s = backend.state
    old = Fence("p1", await s.own_actor("ns", "actor", "p1", time.time(), 30))
    await s.put("ns", "actor", {"k": '"p1"'}, old)
    await s.set_alarm("ns", "actor", None, 100, old)
    await s.disown_actor("ns", "actor", "p1")
    new = Fence("p2", await s.own_actor("ns", "actor", "p2", time.time(), 30))
    await s.put("ns", "actor", {"k": '"p2"'}, new)
    await s.set_alarm("ns", "actor", None, 200, new)
    with pytest.raises(LeaseLostError, match='actor "ns"'):
        await FENCED_WRITES[write](s, old)
    assert await s.get("ns", "actor", ["k"]) == {"k": '"p2"'}
    assert await s.get_alarm("ns", "actor") == 200
    await FENCED_WRITES[write](s, new)  # the holder's own writes go through
    await s.disown_actor("ns", "actor", "p2")
    with pytest.raises(LeaseLostError):  # a released lease fences its holder out too
        await FENCED_WRITES[write](s, new)
    assert backend.failed_writes == 0  # a refusal is not a failure of the store


async def test_a_fence_of_a_free_or_unknown_lease_is_refused(backend: Backend) -> None:
    s = backend.state
    with pytest.raises(LeaseLostError):
        await s.put("ns", "never-owned", {"k": "1"}, Fence("p1", 1))
    assert await s.get("ns", "never-owned", ["k"]) == {}
