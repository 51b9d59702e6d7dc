"""Calls back into an actor call: an actor calling itself, A calling B calling A back, and what
must still wait its turn (other callers, work a call left running after it ended)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runtime import App, BindingError
from runtime.actor_reentry import MAX_DEPTH

pytestmark = pytest.mark.anyio

MANIFEST = """application "reentry" {
  actor "ping" {}
  actor "pong" {}
}
"""

PING = """
import asyncio

from runtime import Actor

EVENTS: list = []


class Ping(Actor):
    busy = False

    def _me(self):
        return self.env.PING.get(self.state.id)

    async def countdown(self, n: int) -> int:
        await self.state.storage.put(f"at-{n}", n)
        if n == 0:
            return 0
        return await self._me().countdown(n - 1) + 1

    async def rally(self, n: int) -> list:
        await self.state.storage.put("rally", n)
        pong = self.env.PONG.get(self.env.PONG.id_from_name("pong"))
        return await pong.back(str(self.state.id), n)

    async def seen(self, n: int) -> list:
        await self.state.storage.put("seen", n)
        return ["ping", await self.state.storage.get("rally")]

    async def hold(self, seconds: float) -> None:
        self.busy = True
        EVENTS.append("hold starts")
        await asyncio.sleep(seconds)
        EVENTS.append("hold ends")
        self.busy = False

    async def leave_work(self) -> None:
        async def later():
            await asyncio.sleep(0.05)
            await self._me().note()

        self.state.wait_until(later())

    async def note(self) -> None:
        EVENTS.append(f"note while busy={self.busy}")

    async def fails_inside(self) -> str:
        try:
            await self._me().boom()
        except ValueError as exc:
            return f"caught {exc}"
        return "no error"

    async def boom(self) -> None:
        raise ValueError("boom")

    async def volley(self, n: int) -> int:
        if n == 0:
            return 0
        pong = self.env.PONG.get(self.env.PONG.id_from_name("pong"))
        return await pong.volley(str(self.state.id), n - 1) + 1
"""

PONG = """
from runtime import Actor
from runtime.actors import ActorId


class Pong(Actor):
    async def back(self, ping: str, n: int) -> list:
        await self.state.storage.put("n", n)
        return await self.env.PING.get(self.env.PING.id_from_string(ping)).seen(n)

    async def volley(self, ping: str, n: int) -> int:
        return await self.env.PING.get(self.env.PING.id_from_string(ping)).volley(n) + 1
"""


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    (tmp_path / "workers").mkdir()
    (tmp_path / "raindrop.manifest").write_text(MANIFEST)
    (tmp_path / "workers" / "ping.py").write_text(PING)
    (tmp_path / "workers" / "pong.py").write_text(PONG)
    async with App.from_manifest(tmp_path / "raindrop.manifest", state_dir=tmp_path / "state") as running:
        yield running


def events(app: App) -> list[str]:
    import sys

    ping = app.actors.instance("ping", app.env.PING.id_from_name("a"))
    found: list[str] = sys.modules[type(ping).__module__].EVENTS
    return found


async def test_an_actor_calling_itself_runs_inside_its_own_call(app: App) -> None:
    """The platform lets an object's call back in while it awaits; a per-id lock alone would
    make this wait for itself forever."""
    assert app.actors.ownership is not None  # a state file processes share: calls take the lease
    stub = app.env.PING.get(app.env.PING.id_from_name("a"))
    assert await asyncio.wait_for(stub.countdown(5), 5) == 5
    stored = await app.backend.state.get("ping", str(stub.id), [f"at-{n}" for n in range(6)])
    assert stored == {f"at-{n}": str(n) for n in range(6)}  # every nested call's put, durable


async def test_a_calls_b_which_calls_a_back(app: App) -> None:
    stub = app.env.PING.get(app.env.PING.id_from_name("a"))
    assert await asyncio.wait_for(stub.rally(7), 5) == ["ping", 7]  # the call back saw A's put
    state = app.backend.state
    assert await state.get("ping", str(stub.id), ["rally", "seen"]) == {"rally": "7", "seen": "7"}
    pong = app.env.PONG.id_from_name("pong")
    assert await state.get("pong", str(pong), ["n"]) == {"n": "7"}


async def test_an_error_inside_a_call_back_reaches_the_call_that_made_it(app: App) -> None:
    stub = app.env.PING.get(app.env.PING.id_from_name("a"))
    assert await asyncio.wait_for(stub.fails_inside(), 5) == "caught boom"
    assert await stub.countdown(1) == 1  # the actor is not left locked


async def test_other_callers_still_wait_their_turn(app: App) -> None:
    stub = app.env.PING.get(app.env.PING.id_from_name("a"))
    holding = asyncio.create_task(stub.hold(0.2))
    await asyncio.sleep(0.05)
    await asyncio.wait_for(stub.note(), 5)  # from outside the call: after it
    await holding
    assert events(app) == ["hold starts", "hold ends", "note while busy=False"]


async def test_work_a_call_left_running_is_no_longer_inside_it(app: App) -> None:
    """A task the call left behind calls the actor after the call ended: it waits for the call
    running then, as any other caller does."""
    stub = app.env.PING.get(app.env.PING.id_from_name("a"))
    await stub.leave_work()
    await stub.hold(0.2)  # the left work's call comes 0.05 s in
    for _ in range(100):
        if len(events(app)) == 3:
            break
        await asyncio.sleep(0.01)
    assert events(app) == ["hold starts", "hold ends", "note while busy=False"]


async def test_a_chain_of_calls_back_in_is_bounded_with_an_error_naming_the_actor(app: App) -> None:
    """An actor recursing through calls to itself 1,000 deep is refused at the bound with an
    error naming it, not left to end in a bare RecursionError; the actor stays usable."""
    stub = app.env.PING.get(app.env.PING.id_from_name("a"))
    assert await asyncio.wait_for(stub.countdown(MAX_DEPTH - 1), 5) == MAX_DEPTH - 1  # at the bound
    with pytest.raises(BindingError) as raised:
        await asyncio.wait_for(stub.countdown(1000), 5)
    message = str(raised.value)
    assert "Ping" in message and str(stub.id) in message
    assert f"{MAX_DEPTH + 1} calls deep" in message and f"limit of {MAX_DEPTH}" in message
    assert not isinstance(raised.value.__context__, RecursionError)
    assert await stub.countdown(3) == 3  # not left locked


async def test_a_chain_between_two_actors_is_bounded_too(app: App) -> None:
    stub = app.env.PING.get(app.env.PING.id_from_name("a"))
    assert await asyncio.wait_for(stub.volley(10), 5) == 20  # A -> B -> A ... 21 calls deep
    with pytest.raises(BindingError, match=f"{MAX_DEPTH + 1} calls deep"):
        await asyncio.wait_for(stub.volley(1000), 5)
    assert await stub.rally(2) == ["ping", 2]
