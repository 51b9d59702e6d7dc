"""One actor, one instance: which process runs an actor id when several share a backend.

On the platform one live instance of an actor id runs anywhere, so its calls never overlap.
Processes that share a backend (``serve`` and ``worker``s on one SQLite file or one Redis)
keep that promise with a lease per actor id in the backend:

- a process runs a call (or an alarm) on an actor only while it holds the actor's lease; it
  takes the lease when it has a call for the actor and nobody else holds it, and waits
  (polling, from 1 ms up to 10 ms) while another process does;
- it keeps the lease while calls keep coming, renewing it every second, and lets it go 5 ms
  after its queue of calls for the actor empties, or after holding it 100 ms while busy, so
  that other processes' callers get their turn (it then waits 4 ms before taking it again);
  a lease is given back only if no call of this process wants it by then, and a call that
  comes while it is being given back waits for that, then takes it anew;
- a process that stops lets go of every lease; one that is killed (or paused) holds them
  until they run out (3 s), after which others take over.

Fencing. Each take of a lease anew gives it a higher epoch; the instance made under it writes
with that epoch (a :class:`~runtime.backends.base.Fence`), and the backend refuses, atomically
with the write, a write whose epoch is no longer the actor's lease. So an owner paused past its
lease (SIGSTOP, a stalled event loop) that wakes up in the middle of a call cannot overwrite
what the new owner stored: that call fails with :class:`~runtime.errors.LeaseLostError`, and
its caller never gets an acknowledgement for a write that was not stored. Whether a lease ran
out is never decided by comparing wall clocks (see ``StateStore.own_actor``).

Storage and alarms then live in one place at a time. The instance itself does too: a process
that takes a lease it did not hold makes a fresh instance (as the platform does when it evicts
and restarts an actor), so in-memory fields never carry stale state across processes; only
storage carries state from one owner to the next. Calls that were running in a killed process
are lost with it, never applied twice: their callers were in that process too, or get the
error of a broken connection.

A backend that is not shared (``memory://``) needs none of this.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from runtime.backends.base import Fence, StateStore

LEASE = 3.0  # seconds a lease lasts without renewal (a killed owner's actors wait this long)
RENEW = 1.0  # seconds between renewals of held leases
HOLD = 0.1  # seconds a busy owner keeps an actor before letting the others in
COOLDOWN = 0.004  # seconds it then waits before taking it again
LINGER = 0.005  # seconds an idle owner keeps an actor, in case its next call comes at once
POLL_FIRST, POLL_MAX = 0.001, 0.01

Key = tuple[str, str]  # (namespace, actor id)
log = logging.getLogger("raindrop.actor")


def process_id() -> str:
    """This process's name as an owner: host, pid and a random tag (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class _Held:
    since: float  # monotonic: when this process took the lease
    renewed: float  # monotonic: when it last took or extended it
    epoch: int  # the backend's epoch of this holding: writes carry it


class Ownership:
    """Leases on actor ids for this process. ``enter`` before running a call, ``leave`` after."""

    def __init__(self, store: StateStore, on_taken: Callable[[Key], None], owner: str | None = None) -> None:
        self.store = store
        self.owner = owner or process_id()
        self._on_taken = on_taken  # a lease taken anew: the local instance must be fresh
        self._held: dict[Key, _Held] = {}
        self._pending: dict[Key, int] = {}  # calls of this process waiting for or running on a key
        self._cooling: dict[Key, float] = {}  # monotonic moment before which not to take it again
        self._tasks: set[asyncio.Task[None]] = set()  # lingering releases under way
        self._releasing: dict[Key, asyncio.Future[None]] = {}  # lets go under way: a take waits for it
        self._timers: dict[Key, asyncio.TimerHandle] = {}  # lingers not over yet
        self._closed = False

    def want(self, key: Key) -> None:
        """A call for ``key`` is coming (counted, so that the lease is kept while calls queue)."""
        self._pending[key] = self._pending.get(key, 0) + 1

    def entered(self, key: Key) -> bool:
        """Whether ``key``'s lease is held and fresh, with no reason to let others in: then
        :meth:`enter` would return at once, and the caller need not await it."""
        held = self._held.get(key)
        if held is None or key in self._releasing:
            return False
        now = time.monotonic()
        return (now - held.since < HOLD or self._pending.get(key, 0) <= 1) and now - held.renewed <= RENEW

    async def enter(self, key: Key) -> None:
        """Hold ``key``'s lease, waiting for other processes as long as they hold it."""
        releasing = self._releasing.get(key)
        if releasing is not None:  # let go of it first: a take meanwhile would be undone by it
            await asyncio.wait([releasing])
        held = self._held.get(key)
        now = time.monotonic()
        if held is not None:
            if now - held.since < HOLD or self._pending.get(key, 0) <= 1:
                if now - held.renewed <= RENEW or await self._take(key, held):
                    return
                # the lease ran out and another process took it (this one was paused): wait
            else:
                # Busy for long enough: let other processes' callers in before going on.
                await self._let_go(key)
                self._cooling[key] = now + COOLDOWN
        delay = POLL_FIRST
        while True:
            wait = self._cooling.get(key, 0.0) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if await self._take(key, None):
                self._cooling.pop(key, None)
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, POLL_MAX)

    def fence(self, key: Key) -> Fence | None:
        """What the writes of an instance made now under ``key``'s lease carry (None: not held)."""
        held = self._held.get(key)
        return Fence(self.owner, held.epoch) if held is not None else None

    def lost(self, key: Key) -> None:
        """A write under ``key``'s lease was refused: the lease is another process's now."""
        if self._held.pop(key, None) is not None:
            self._on_taken(key)  # whatever runs next here makes a fresh instance

    async def _take(self, key: Key, held: _Held | None) -> bool:
        """Take or extend ``key``'s lease. An extension that finds the lease taken anew (it had
        run out, another process may have held it meanwhile) counts as a new take."""
        epoch = await self.store.own_actor(key[0], key[1], self.owner, time.time(), LEASE)
        if not epoch:
            self._held.pop(key, None)
            return False
        now = time.monotonic()
        if held is None or held.epoch != epoch or self._held.get(key) is not held:
            self._held[key] = _Held(now, now, epoch)
            self._on_taken(key)
        else:
            held.renewed = now
        return True

    async def leave(self, key: Key) -> None:
        """A call on ``key`` is done; with no more coming for ``LINGER``, let the lease go (a
        caller that awaits each call in turn keeps it, rather than paying for it every time)."""
        self.left(key)

    def left(self, key: Key) -> None:
        """:meth:`leave`, as a plain call (it never waits)."""
        count = self._pending.get(key, 1) - 1
        if count > 0:
            self._pending[key] = count
            return
        self._pending.pop(key, None)
        if key in self._held and not self._closed:
            self._timers[key] = asyncio.get_running_loop().call_later(LINGER, self._linger_over, key)

    def _linger_over(self, key: Key) -> None:
        self._timers.pop(key, None)
        if key in self._held and not self._pending.get(key) and not self._closed:
            task = asyncio.ensure_future(self._let_go(key, idle=True))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _let_go(self, key: Key, idle: bool = False) -> None:
        """Give ``key``'s lease back. With ``idle``, only if no call wants it by now: a call may
        have come, and entered the held lease, between the linger's end and this task's start.
        Until the backend has it back, a call that comes waits (:meth:`enter`): were it to take
        the lease meanwhile, the give-back landing after would leave its writes without one."""
        if (idle and self._pending.get(key)) or key in self._releasing or self._held.pop(key, None) is None:
            return
        done = self._releasing[key] = asyncio.get_running_loop().create_future()
        try:
            await self.store.disown_actor(key[0], key[1], self.owner)
        except Exception as exc:  # noqa: BLE001 - the lease then runs out by itself
            log.warning("letting go of actor %s %s failed (its lease will run out): %s", key[0], key[1][:12], exc)
        finally:
            del self._releasing[key]
            done.set_result(None)

    async def renew(self) -> None:
        """Extend every held lease that is due for it (called every ``RENEW`` seconds)."""
        now = time.monotonic()
        for key, held in list(self._held.items()):
            if now - held.renewed >= RENEW / 2 and self._held.get(key) is held:
                await self._take(key, held)
                renewed = self._held.get(key)
                if renewed is not None and renewed.epoch != held.epoch and not self._pending.get(key):
                    await self._let_go(key)  # it had run out and nothing here wants it now

    async def release_all(self) -> None:
        """Hand every actor over (a process that stops); nothing of this runs afterwards."""
        self._closed = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._pending.clear()
        for key in list(self._held):
            await self._let_go(key)

    def held(self) -> list[Key]:
        return list(self._held)
