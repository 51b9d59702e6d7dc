"""Actors: durable objects addressed by id, one call at a time per id, with storage and an alarm.

``env.PODCAST_GENERATOR.id_from_name("user-1")`` gives a deterministic :class:`ActorId`;
``get(id)`` a stub whose awaited methods run on the one instance of that id in this process,
serialized by a per-id lock. Arguments and results are structured clones (see
:mod:`runtime.structured`), as on the platform. On a backend other processes share, an instance
runs only under the actor's lease (:mod:`runtime.ownership`) and its storage and alarm writes
carry that lease's fence: once the lease is lost they raise :class:`LeaseLostError`, unwritten.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from types import CoroutineType
from typing import Any, Literal

from runtime import structured
from runtime.actor_alarms import Alarms
from runtime.actor_ids import ActorId
from runtime.actor_namespace import ActorNamespace, ActorStub
from runtime.actor_reentry import INSIDE, Inside, check_depth
from runtime.actor_storage import MAX_KEY_BYTES, MAX_PAIRS, MAX_VALUE_BYTES, Storage
from runtime.backends.base import StateStore
from runtime.backends.commits import join
from runtime.clock import Clock
from runtime.errors import BackendError, BindingError, LeaseLostError, StorageError, stray_cancel
from runtime.handlers import Actor
from runtime.observers import RunRecord
from runtime.output_gate import CALL, Batch, before_effect
from runtime.ownership import RENEW, Ownership
from runtime.structured import IMMUTABLE

__all__ = [
    "MAX_KEY_BYTES",
    "MAX_PAIRS",
    "MAX_VALUE_BYTES",
    "ActorHost",
    "ActorId",
    "ActorNamespace",
    "ActorState",
    "ActorStub",
    "Storage",
    "names_namespace",
]

log = logging.getLogger("raindrop.actor")

#: Seconds without a call after which an actor's instance is let go (its in-memory fields with it),
#: as the platform evicts idle actors: memory follows the actors in use, not every id ever called.
IDLE_EVICT = 120.0


def names_namespace(namespace: str) -> str:
    """Where the names of an actor class's ids are kept (no manifest name contains ``~``)."""
    return f"~names:{namespace}"


def _scalars(values: Iterable[Any]) -> bool:
    """Whether every one of ``values`` is its own structured clone."""
    for value in values:  # noqa: SIM110 - a plain loop: all() would add a generator per call
        if type(value) not in IMMUTABLE:
            return False
    return True


def _method(instance: Actor, namespace: str, method: str) -> Callable[..., Any]:
    """The public method ``method`` of ``instance``, or the error saying it has none."""
    function = getattr(instance, method, None) if not method.startswith("_") else None
    if function is None or not callable(function):
        raise BindingError(f'actor "{namespace}" ({type(instance).__name__}) has no public method {method!r}')
    return function  # type: ignore[no-any-return]


def _call_method(instance: Actor, namespace: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``instance.method(*args, **kwargs)``: its result, or the awaitable that gives it."""
    return _method(instance, namespace, method)(*args, **kwargs)


def _busy(lock: asyncio.Lock) -> Callable[[], Literal["idle", "running", "next"]]:
    """Whether a call runs under ``lock``, or one was let in and has yet to start."""

    def busy() -> Literal["idle", "running", "next"]:
        if lock.locked():
            return "running"
        return "next" if lock._waiters else "idle"

    return busy


def _let_go(instance: Actor | None) -> None:
    """An instance the host drops: what it holds elsewhere (a TypeScript actor's instance in
    Node and its storage handle) is let go with it, through its ``_released`` hook."""
    released = getattr(instance, "_released", None)
    if callable(released):
        try:
            released()
        except Exception as exc:  # noqa: BLE001 - dropping an instance never fails a call
            log.warning("letting go of an actor instance failed: %s", exc)


class ActorState:
    """``self.state``: the actor's ``id`` and ``storage``."""

    def __init__(self, actor: ActorId, storage: Storage, spawn: Callable[[Awaitable[Any]], Any]) -> None:
        self.id = actor
        self.storage = storage
        self._spawn = spawn

    def wait_until(self, work: Awaitable[Any]) -> None:
        """Keep ``work`` running after the current call returns (the actor's lease with it, so
        its writes are not refused)."""
        self._spawn(self.storage._held_while(work))

    async def block_concurrency_while(self, fn: Callable[[], Awaitable[Any]]) -> Any:
        # Calls on one id already run one at a time; the function simply runs.
        """Run ``callback`` with no other call to this actor in between (as on the platform)."""
        return await fn()


class ActorHost:
    """Holds the live instances of every actor class in this process and runs calls on them."""

    def __init__(
        self,
        classes: dict[str, type[Actor]],
        store: StateStore,
        clock: Clock,
        env: Callable[[], Any],
        spawn: Callable[[Awaitable[Any]], Any],
        on_run: Callable[[RunRecord], None] | None = None,
        shared: bool = False,
    ) -> None:
        self.classes = classes
        # With a backend other processes share, an actor runs only where its lease is held.
        self.ownership = Ownership(store, self._forget) if shared else None
        self.store = store
        self.clock = clock
        self._env = env
        self._spawn = spawn
        self._instances: dict[tuple[str, str], Actor] = {}
        self._last_used: dict[tuple[str, str], float] = {}  # monotonic time of each instance's last call
        self.names: dict[tuple[str, str], str] = {}  # (namespace, id) -> the name it came from, for the dashboard
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._stopping = False
        self.on_run = on_run
        self.on_failure: Callable[[BaseException], None] = lambda exc: None  # App.drain reports the first
        self.alarms = Alarms(self)

    def namespace(self, name: str) -> ActorNamespace:
        return ActorNamespace(name, self)

    def _lock(self, key: tuple[str, str]) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def _forget(self, key: tuple[str, str]) -> None:
        """This process took the actor's lease anew: the next call makes a fresh instance,
        unless nobody held the actor since this instance's lease (the epoch grew by one: this
        process's own take), when the instance goes on under the new lease."""
        instance = self._instances.get(key)
        fence = self.ownership.fence(key) if self.ownership is not None else None
        if instance is not None and fence is not None and instance.state.storage._continues(fence):
            return
        _let_go(self._instances.pop(key, None))

    def evict_idle(self, idle: float = IDLE_EVICT) -> int:
        """Let go of every instance without a call for ``idle`` seconds and none running now;
        returns how many. The next call to one of them makes a fresh instance, as on the platform."""
        cutoff = time.monotonic() - idle
        stale = [key for key, used in self._last_used.items() if used <= cutoff]
        evicted = 0
        for key in stale:
            lock = self._locks.get(key)
            if lock is not None and lock.locked():
                continue
            _let_go(self._instances.pop(key, None))
            self._locks.pop(key, None)
            del self._last_used[key]
            evicted += 1
        return evicted

    async def evict_idle_loop(self) -> None:
        """Evict idle instances every quarter of :data:`IDLE_EVICT` (a loop the app runs)."""
        while not self._stopping:
            await asyncio.sleep(IDLE_EVICT / 4)
            evicted = self.evict_idle()
            if evicted:
                log.debug("let go of %d idle actor instances", evicted)

    def instance(self, namespace: str, actor: ActorId) -> Actor:
        key = (namespace, str(actor))
        instance = self._instances.get(key)
        if instance is None:
            cls = self.classes.get(namespace)
            if cls is None:
                raise BindingError(f'actor "{namespace}" has no handler class loaded')
            fence = self.ownership.fence(key) if self.ownership is not None else None
            # The one instance of the actor (under its lease when shared): it may cache reads.
            storage = Storage(self.store, namespace, actor, self.alarms.wake, fence, owner=cls, cache=True)
            storage.busy = _busy(self._lock(key))
            if self.ownership is not None:
                storage.hold = self._holding(key)
                storage.outside_call = self._writing(key)
            instance = cls(ActorState(actor, storage, self._spawn), self._env())
            self._instances[key] = instance
            if actor.name is not None:
                self.names[key] = actor.name
                self._spawn(self._remember_name(namespace, actor))
        return instance

    def _holding(self, key: tuple[str, str]) -> Callable[[Awaitable[Any]], Awaitable[Any]]:
        """Work that outlives a call on ``key`` keeps its lease until it ends, as a call would."""
        ownership = self.ownership
        assert ownership is not None

        async def hold(work: Awaitable[Any]) -> Any:
            ownership.want(key)
            try:
                return await work
            finally:
                await ownership.leave(key)

        return hold

    def _writing(self, key: tuple[str, str]) -> Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]:
        """A storage write made while no call runs on ``key`` (work a call left running): it
        holds the actor's lease, taking it back if it was let go, as a call would."""
        ownership = self.ownership
        assert ownership is not None

        async def outside(work: Callable[[], Awaitable[Any]]) -> Any:
            ownership.want(key)
            try:
                await ownership.enter(key)
                return await work()
            finally:
                await ownership.leave(key)

        def write(work: Callable[[], Awaitable[Any]]) -> Awaitable[Any]:
            lock = self._locks.get(key)
            if lock is not None and lock.locked():
                return work()  # a call runs: its lease covers the write
            return outside(work)

        return write

    async def _remember_name(self, namespace: str, actor: ActorId) -> None:
        """Keep the name an id came from beside the state, so every process's dashboard shows it."""
        try:
            await self.store.put(names_namespace(namespace), str(actor), {"name": actor.name or ""})
        except (StorageError, BackendError) as exc:  # a label for the dashboard: never worth failing a call
            log.debug("could not record the name of actor %s/%s: %s", namespace, actor, exc)

    async def name_of(self, namespace: str, actor: str) -> str | None:
        """The name ``actor`` came from, if any process saw it through ``id_from_name``."""
        known = self.names.get((namespace, actor))
        if known is not None:
            return known
        found = (await self.store.get(names_namespace(namespace), actor, ["name"])).get("name")
        if found:
            self.names[(namespace, actor)] = found  # names never change: ask the store once
        return found or None

    def run(self, namespace: str, actor: ActorId, work: Callable[..., Any], *args: Any) -> Coroutine[Any, Any, Any]:
        """``work(instance, *args)`` (awaited when it returns an awaitable), with the actor's calls
        serialized: one at a time in this process and, on a shared backend, only while this
        process holds the actor's lease.

        The result is returned once every put made before the call ended is committed (the
        output gate, see :class:`runtime.actor_storage.Storage`): the next call on the id runs
        meanwhile, and its puts may share that commit."""
        return self._serialized(namespace, actor, work, args, None)

    def call(
        self, namespace: str, actor: ActorId, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Coroutine[Any, Any, Any]:
        """``method(*args, **kwargs)`` on the actor, as :meth:`run` runs work; arguments and
        result are structured clones (not ``fetch``'s request and response)."""
        return self._serialized(namespace, actor, _call_method, (namespace, method, args, kwargs), method)

    async def _serialized(
        self, namespace: str, actor: ActorId, work: Callable[..., Any], args: tuple[Any, ...], method: str | None
    ) -> Any:
        """:meth:`run` and :meth:`call`, in one coroutine: it is the hot path of every call, so a
        held, fresh lease is entered and left without awaiting."""
        if method is not None and method != "fetch":
            # Scalars are their own clones (the usual call); anything else is cloned. The
            # keyword arguments are the call's own dict already: only its values may be shared.
            positional, keywords = args[2], args[3]
            if positional and not _scalars(positional):
                positional = tuple(structured.clone(list(positional), f"argument of {namespace}.{method}()"))
                args = (namespace, method, positional, keywords)
            if keywords and not _scalars(keywords.values()):
                keywords = structured.clone(keywords, f"keyword argument of {namespace}.{method}()")
                args = (namespace, method, positional, keywords)
        else:
            method = None  # fetch: a request and a response, not clones
        key = (namespace, str(actor))
        if namespace not in self.classes:
            raise BindingError(f'actor "{namespace}" has no handler class loaded')
        effect = before_effect()  # called from another actor's call: its puts are stored first
        if effect is not None:
            await effect
        outer = INSIDE.get()
        if outer is not None:
            check_depth(outer, key, self.classes[namespace].__name__)
            inside = outer.find(key)
            if inside is not None:  # a call back into a call this task runs inside: no lock to wait for
                return await self._reentered(inside, work, args, method)
        self._last_used[key] = time.monotonic()
        ownership = self.ownership
        if ownership is not None:
            ownership.want(key)
        try:
            lock = self._locks.get(key) or self._lock(key)
            await lock.acquire()  # not `async with`: one coroutine frame less per call
            try:
                if ownership is not None and not ownership.entered(key):
                    held = self._instances.get(key)
                    if held is not None:  # its last puts are stored under the lease they were made in
                        await held.state.storage._drained()
                    await ownership.enter(key)
                instance = self._instances.get(key)
                if instance is None or instance.state.storage._broken is not None:
                    # A write of the instance failed outside any call (work a call left
                    # running heard of it): this call made none, it runs on a fresh instance.
                    if instance is not None:
                        self._broken(key, instance)
                    instance = self.instance(namespace, actor)
                storage: Storage = instance.state.storage
                token = CALL.set(storage)
                inside = Inside(key, instance, outer)
                entered = INSIDE.set(inside)
                try:
                    result = work(instance, *args)
                    if type(result) is CoroutineType or inspect.isawaitable(result):
                        result = await result
                except BaseException as exc:
                    inside.open = False
                    INSIDE.reset(entered)
                    CALL.reset(token)
                    gate = storage._ended(True)  # sent now: the error is told under the lock
                    if gate is not None:  # its puts are stored (or fail) before its error is told
                        await self._gated(key, instance, gate)
                    if isinstance(exc, asyncio.CancelledError):  # its code awaited a cancelled task?
                        stray = stray_cancel(exc, f'actor "{namespace}" ({method or "run"})')
                        if stray is not None:
                            raise stray from exc
                    raise
                inside.open = False
                INSIDE.reset(entered)
                CALL.reset(token)
                gate = storage._ended(not lock._waiters)
            finally:
                lock.release()
            if gate is not None:
                try:
                    await join(gate, -1)
                except Exception:
                    self._broken(key, instance)
                    raise
        except BaseException as exc:
            if isinstance(exc, LeaseLostError) and ownership is not None:
                ownership.lost(key)  # the next call waits for the lease and runs a fresh instance
            held = self._instances.get(key)
            if held is not None:
                held.state.storage._kick()
            raise
        finally:
            if ownership is not None:
                ownership.left(key)
        if method is None or type(result) in IMMUTABLE:
            return result
        return structured.clone(result, f"result of {namespace}.{method}()")

    async def _reentered(
        self, inside: Inside, work: Callable[..., Any], args: tuple[Any, ...], method: str | None
    ) -> Any:
        """A call back into the call ``inside`` (which holds the actor's lock and lease, and
        waits for this one): it runs on that instance at once; its puts join that call's, and
        the result goes back into the actor, so it waits for no commit."""
        instance = inside.instance
        token = CALL.set(instance.state.storage)
        # Its own link of the chain (the same instance): a call back in is one level deeper.
        nested = Inside(inside.key, instance, INSIDE.get())
        entered = INSIDE.set(nested)
        try:
            result = work(instance, *args)
            if type(result) is CoroutineType or inspect.isawaitable(result):
                result = await result
        finally:
            nested.open = False
            INSIDE.reset(entered)
            CALL.reset(token)
        if method is None or type(result) in IMMUTABLE:
            return result
        return structured.clone(result, f"result of {inside.key[0]}.{method}()")

    async def _gated(self, key: tuple[str, str], instance: Actor, gate: Batch) -> None:
        """Wait for ``gate``'s commit (see :meth:`_broken` when it failed)."""
        try:
            await join(gate, -1)
        except Exception:
            self._broken(key, instance)
            raise

    def _broken(self, key: tuple[str, str], instance: Actor) -> None:
        """A commit of ``instance``'s puts failed: it is let go, and the next call on the actor
        makes a fresh one, which reads what is stored."""
        if self._instances.get(key) is instance:
            _let_go(self._instances.pop(key))

    async def renew_leases(self) -> None:
        """Keep this process's actor leases alive while it runs (a loop; shared backends)."""
        if self.ownership is None:
            return
        while not self._stopping:
            await asyncio.sleep(RENEW / 2)
            try:
                await self.ownership.renew()
            except Exception as exc:  # noqa: BLE001 - a backend hiccup: the next round tries again
                log.warning("renewing actor leases failed: %s", exc)

    async def release(self) -> None:
        """Hand this process's actors over to the others (at stop)."""
        if self.ownership is not None:
            await self.ownership.release_all()

    def stop(self) -> None:
        """Stop the loops: eviction, lease renewal and the alarms (``self.alarms``)."""
        self._stopping = True
        self.alarms.stop()
