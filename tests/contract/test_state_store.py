"""The state store contract (``StateStore``: actor storage, alarms, cron fires, actor leases) on
every backend."""

from __future__ import annotations

import pytest

from runtime.backends.base import Alarm, Backend
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
    assert await s.own_actor("ns", "actor-é", "p1", 100, 130) is True
    assert await s.own_actor("ns", "actor-é", "p2", 110, 140) is False
    assert await s.own_actor("ns", "actor-é", "p1", 120, 150) is True  # extended
    assert await s.own_actor("ns", "other", "p2", 110, 140) is True
    assert await s.actor_owners("ns", 120) == {"actor-é": "p1", "other": "p2"}
    await s.disown_actor("ns", "actor-é", "p2")  # not p2's: nothing happens
    assert await s.own_actor("ns", "actor-é", "p2", 121, 150) is False
    await s.disown_actor("ns", "actor-é", "p1")
    assert await s.own_actor("ns", "actor-é", "p2", 122, 150) is True
    assert await s.actor_owners("ns", 122) == {"actor-é": "p2", "other": "p2"}
    assert await s.actor_owners("nobody", 122) == {}


async def test_a_lease_past_its_end_can_be_taken(backend: Backend) -> None:
    if backend.url.startswith("redis"):
        pytest.skip("Redis ends a lease by its own clock (the key's TTL), not by the `now` passed in")
    s = backend.state
    assert await s.own_actor("ns", "actor", "p1", 100, 130) is True
    assert await s.actor_owners("ns", 130) == {}
    assert await s.own_actor("ns", "actor", "p2", 130, 160) is True
    assert await s.actor_owners("ns", 131) == {"actor": "p2"}
