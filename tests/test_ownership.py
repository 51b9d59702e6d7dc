"""Fencing: an actor's writes happen only while their process holds the actor's lease, whatever
pauses, clocks and deaths do to the processes sharing a backend (real processes, real signals)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runtime import App
from tests.test_actor_ownership import APP, Child, backend_for, value

pytestmark = pytest.mark.anyio
slow = pytest.mark.slow  # real processes, paused and killed


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_a_call_whose_lease_is_taken_over_fails_with_lease_lost_and_stores_nothing(
    tmp_path: Path, kind: str
) -> None:
    from runtime import LeaseLostError
    from runtime.backends.base import Fence

    backend = backend_for(kind, tmp_path)
    async with App.from_manifest(APP / "raindrop.manifest", backend=backend, state_dir=tmp_path / "a") as app:
        ns, store = app.env.COUNTER, app.backend.state
        actor = ns.id_from_name("id-0")
        counter = ns.get(actor)
        assert await counter.increment() == 1
        call = asyncio.create_task(counter.slow_increment(str(tmp_path / "marker"), 0.3))
        while not (tmp_path / "marker").exists():
            await asyncio.sleep(0.005)
        # Another process takes the actor over while the call waits between its read and its write.
        (owner,) = (await store.actor_owners("counter", time.time())).values()
        await store.disown_actor("counter", str(actor), owner)
        epoch = await store.own_actor("counter", str(actor), "thief", time.time(), 30)
        await store.put("counter", str(actor), {"n": "10"}, Fence("thief", epoch))
        with pytest.raises(LeaseLostError, match='actor "counter"'):
            await call
        assert await store.get("counter", str(actor), ["n"]) == {"n": "10"}  # the late write is not there
        await store.disown_actor("counter", str(actor), "thief")
        assert await counter.increment() == 11  # a fresh instance, under a new lease, reads what is stored
        assert app.backend.failed_writes == 0


def lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


@slow
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_an_owner_paused_past_its_lease_mid_call_is_refused_its_late_write(tmp_path: Path, kind: str) -> None:
    backend = backend_for(kind, tmp_path)
    acks, marker, stop = tmp_path / "paused-acks.txt", tmp_path / "marker.txt", tmp_path / "stop"
    victim = subprocess.Popen(
        [sys.executable, str(APP / "paused.py"), backend, str(tmp_path / "state-paused"), str(tmp_path / "go-paused"),
         str(stop), str(acks), str(marker)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert victim.stdout is not None and victim.stdout.readline().strip() == "ready"
    other = Child(backend, tmp_path, 1, 20)
    try:
        (tmp_path / "go-paused").touch()
        # The victim's third call has read n and not yet written it back: pause it there.
        wait_for(lambda: lines(acks) >= 2 and lines(marker) == lines(acks) + 1, 30, "the victim's third call")
        victim.send_signal(signal.SIGSTOP)
        paused = time.monotonic()
        time.sleep(0.05)
        assert lines(marker) == lines(acks) + 1, "the pause did not land in the middle of a call"
        (tmp_path / "go").touch()
        other.wait_done()  # its 20 calls ran once the paused owner's lease ran out
        took_over = time.monotonic() - paused
        stop.touch()
        victim.send_signal(signal.SIGCONT)  # the paused call wakes up and tries to write n + 1
        assert victim.stdout.readline().strip() == "done", victim.stderr.read() if victim.stderr else ""
        acked = lines(acks) + other.acked()
        stored = await value(backend, tmp_path)
        assert stored == acked, f"{acked} increments acknowledged, {stored} stored"
        assert lines(acks.with_name(acks.name + ".lost")) == 1  # the call cut in two failed, unwritten
        assert other.acked() == 20 and 1.5 < took_over < 20, (other.acked(), took_over)  # it waited out the lease
    finally:
        if victim.poll() is None:
            victim.send_signal(signal.SIGCONT)
            victim.communicate(input="", timeout=30)
        other.finish()


@slow
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_a_process_whose_clock_runs_5_s_ahead_loses_no_acknowledged_update(tmp_path: Path, kind: str) -> None:
    backend = backend_for(kind, tmp_path)
    children = [Child(backend, tmp_path, i, 200, clock_skew=5.0 if i == 0 else 0) for i in range(3)]
    try:
        (tmp_path / "go").touch()
        for child in children:
            child.wait_done()
        acked = sum(child.acked() for child in children)
        lost = sum(child.lost() for child in children)
        stored = await value(backend, tmp_path)
        assert stored == acked and acked + lost == 600, (acked, lost, stored)
        assert lost == 0  # nobody was paused: no lease ran out, so no call was refused
    finally:
        for child in children:
            child.finish()


@slow
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_alarms_armed_by_a_process_killed_before_they_are_due_fire_once_in_a_running_worker(
    tmp_path: Path, kind: str
) -> None:
    backend = backend_for(kind, tmp_path)
    workers = [Child(backend, tmp_path, i, 0) for i in (1, 2)]  # running before the alarms exist
    arming = subprocess.Popen(
        [sys.executable, "-c", f"""
import asyncio
from runtime import App
async def main():
    async with App.from_manifest({str(APP / "raindrop.manifest")!r}, backend={backend!r}, state_dir={str(tmp_path / "armer")!r}) as app:
        ns = app.env.COUNTER
        await asyncio.gather(*(ns.get(ns.id_from_name(f"id-{{i}}")).arm(3.0) for i in range(50)))
        await asyncio.sleep(0.2)
        print("armed", flush=True)
        await asyncio.sleep(3600)
asyncio.run(main())
"""],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert arming.stdout is not None and arming.stdout.readline().strip() == "armed", arming.communicate()[1]
        due = time.monotonic() + 2.8
        arming.send_signal(signal.SIGKILL)  # it dies before any of them is due
        arming.wait()
        (tmp_path / "go").touch()
        pids = {worker.process.pid for worker in workers}
        app = App.from_manifest(APP / "raindrop.manifest", backend=backend, state_dir=tmp_path / "reader")
        await app.start(consume=False, handlers=True)  # a reader: no alarm loop of its own
        try:
            ns = app.env.COUNTER

            async def stored(i: int, key: str) -> object:
                from runtime import structured

                found = await app.backend.state.get("counter", str(ns.id_from_name(f"id-{i}")), [key])
                return structured.loads(found[key]) if key in found else None

            fired: list[object] = []
            while time.monotonic() < due + 2.5:
                fired = [await stored(i, "fired") for i in range(50)]
                if all(fired):
                    break
                time.sleep(0.1)
            assert sum(1 for f in fired if f) == 50, f"{sum(1 for f in fired if f)} of 50 alarms fired in time"
            time.sleep(1.0)  # long enough for a second firing to show, were there one
            fired = [await stored(i, "fired") for i in range(50)]
            assert all(isinstance(f, list) and len(f) == 1 and f[0] in pids for f in fired), fired
            late = [await stored(i, "late_ms") for i in range(50)]
            assert all(isinstance(ms, int | float) and ms < 2000 for ms in late), late  # within 2 s of due
        finally:
            await app.stop()
    finally:
        if arming.poll() is None:
            arming.kill()
        for worker in workers:
            worker.finish()


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_a_call_that_comes_as_an_idle_lease_is_let_go_keeps_it(tmp_path: Path, kind: str) -> None:
    """The idle let-go is a task: a call that enters the still-held lease between the linger's
    end and that task's start keeps the lease, and its write is stored (it was once refused:
    the task gave the lease back under the call's feet)."""
    from runtime.backends.base import Fence
    from runtime.ownership import Ownership

    backend = backend_for(kind, tmp_path)
    async with App.from_manifest(APP / "raindrop.manifest", backend=backend, state_dir=tmp_path / "a") as app:
        store = app.backend.state
        ownership = Ownership(store, lambda key: None, owner="here")
        key = ("counter", "k" * 64)
        ownership.want(key)
        await ownership.enter(key)
        ownership.left(key)  # idle: the linger timer is armed
        ownership._timers.pop(key).cancel()
        ownership._linger_over(key)  # the linger ends: its let-go task is scheduled, not started
        ownership.want(key)  # a call comes in this same turn
        assert ownership.entered(key)
        fence = ownership.fence(key)
        assert isinstance(fence, Fence)
        await store.put(*key, {"n": "1"}, fence)  # stored, not refused
        for _ in range(5):
            await asyncio.sleep(0)
        assert ownership.fence(key) == fence
        assert await store.actor_owners("counter", time.time()) == {key[1]: "here"}
        ownership.left(key)
        ownership._timers.pop(key).cancel()
        # A release under way holds a new take back until the backend has the lease back.
        releasing = asyncio.ensure_future(ownership._let_go(key, idle=True))
        await asyncio.sleep(0)
        ownership.want(key)
        assert not ownership.entered(key)
        await ownership.enter(key)
        assert releasing.done()
        assert await store.actor_owners("counter", time.time()) == {key[1]: "here"}
        await ownership.release_all()
