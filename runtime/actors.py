"""Actors: durable objects addressed by id, one call at a time per id, with storage and an alarm.

``env.PODCAST_GENERATOR.id_from_name("user-1")`` gives a deterministic :class:`ActorId`;
``get(id)`` a stub whose awaited methods run on the one instance of that id in this process,
serialized by a per-id lock. Arguments and results are structured clones (see
:mod:`runtime.structured`), as on the platform.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import math
import os
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Generic, cast

from typing_extensions import TypeVar

from runtime import structured
from runtime.arguments import checked_arguments, utf8
from runtime.backends.base import Alarm, StateStore
from runtime.clock import Clock
from runtime.errors import BackendError, BindingError, LimitError, StorageError
from runtime.handlers import Actor
from runtime.naming import platform_names
from runtime.observers import RunRecord, describe_error
from runtime.ownership import RENEW, Ownership

log = logging.getLogger("raindrop.actor")

MAX_VALUE_BYTES = 2 * 1024 * 1024
ALARM_RETRIES = 6  # retried from 2 s, doubling, up to 6 times (as the platform)
ALARM_LEASE = 900.0  # seconds another process waits before taking over an alarm being fired


def names_namespace(namespace: str) -> str:
    """Where the names of an actor class's ids are kept (no manifest name contains ``~``)."""
    return f"~names:{namespace}"


class ActorId:
    """An actor's identity: 64 hex digits, and the name it came from when known."""

    __slots__ = ("_hex", "name", "namespace")

    def __init__(self, hex_id: str, name: str | None = None, namespace: str | None = None) -> None:
        self._hex = hex_id
        self.name = name
        #: The actor class the id was made for (None for an id made by hand): ``get`` on another
        #: namespace refuses it, as the platform does.
        self.namespace = namespace

    def __str__(self) -> str:
        return self._hex

    def __repr__(self) -> str:
        return f"ActorId({self._hex[:12]}…, name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActorId) and other._hex == self._hex

    def __hash__(self) -> int:
        return hash(self._hex)

    def equals(self, other: ActorId) -> bool:
        return self == other

    def to_string(self) -> str:
        return self._hex


MAX_PAIRS = 128  # keys in one get, put or delete of many, as the platform
MAX_KEY_BYTES = 2048


def _check_key(key: object) -> None:
    if not isinstance(key, str):
        raise BindingError(f"actor storage keys are str, not {type(key).__name__}")
    size = len(utf8(key, f"actor storage key {key[:40]!r}"))
    if size > MAX_KEY_BYTES:
        raise LimitError(f"actor storage keys cannot be larger than {MAX_KEY_BYTES} bytes (this one is {size})")


def _check_keys(keys: list[Any]) -> list[str]:
    if len(keys) > MAX_PAIRS:
        raise LimitError(f"actor storage takes at most {MAX_PAIRS} keys at once, not {len(keys)}")
    for key in keys:
        _check_key(key)
    return keys


@platform_names
@checked_arguments
class Storage:
    """``self.state.storage``: durable key-value storage of one actor, plus its one alarm."""

    def __init__(
        self,
        store: StateStore,
        namespace: str,
        actor: ActorId,
        wake_alarms: Callable[[], None],
        owner: type[Actor] | None = None,
    ) -> None:
        self._store = store
        self._ns = namespace
        self._id = str(actor)
        self._name = actor.name
        self._wake = wake_alarms
        self._owner = owner  # the actor class: set_alarm needs it to have alarm()

    async def get(self, key: str | Sequence[str]) -> Any:
        """The value of ``key`` (None when absent), or for a list of up to 128 keys a dict of
        those present, in key order."""
        if isinstance(key, str) or not isinstance(key, list | tuple):
            _check_key(key)  # a str, or refused naming what it is
            assert isinstance(key, str)
            found = await self._store.get(self._ns, self._id, [key])
            return structured.loads(found[key]) if key in found else None
        keys = _check_keys([k for k in key if k is not None])
        found = await self._store.get(self._ns, self._id, keys)
        return {k: structured.loads(found[k]) for k in sorted(found)}

    async def put(self, key: str | dict[str, Any], value: Any = None) -> None:
        """Store ``value`` under ``key``, or every item of a dict, atomically.

        :raises StorageValueError: for a value that is not storable (its type and key are named).
        """
        items = key if isinstance(key, dict) else {key: value}
        if len(items) > MAX_PAIRS:
            raise LimitError(f"actor storage put takes at most {MAX_PAIRS} pairs at once, not {len(items)}")
        encoded = {}
        for k, v in items.items():
            _check_key(k)
            text = structured.dumps(v, f"actor storage value for key {k!r}")
            if len(text) > MAX_VALUE_BYTES:
                raise LimitError(f"actor storage value for key {k!r} is {len(text)} bytes encoded; the limit is 2 MiB")
            encoded[k] = text
        await self._store.put(self._ns, self._id, encoded)

    async def delete(self, key: str | Sequence[str]) -> bool | int:
        """Delete ``key`` (True when it existed) or a list of keys (how many existed)."""
        if isinstance(key, str):
            _check_key(key)
            return await self._store.delete(self._ns, self._id, [key]) == 1
        return await self._store.delete(self._ns, self._id, _check_keys([k for k in key if k is not None]))

    async def delete_all(self) -> None:
        """Delete every key and the alarm."""
        await self._store.delete_all(self._ns, self._id)

    async def list(
        self,
        *,
        prefix: str | None = None,
        start: str | None = None,
        start_after: str | None = None,
        end: str | None = None,
        reverse: bool = False,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """Keys in order (``start`` inclusive or ``start_after`` exclusive, ``end`` exclusive)
        with their values, as a dict."""
        if start is not None and start_after is not None:
            raise BindingError("list() cannot be called with both start and start_after values")
        if start_after is not None:
            start = start_after + "\x00"  # the first key after start_after
        rows = await self._store.list(
            self._ns, self._id, prefix=prefix or "", start=start, end=end, reverse=reverse, limit=limit
        )
        return {k: structured.loads(v) for k, v in rows}

    async def get_alarm(self) -> int | None:
        """The alarm's time in epoch milliseconds, or None."""
        at = await self._store.get_alarm(self._ns, self._id)
        return round(at * 1000) if at is not None else None

    async def set_alarm(self, when: int | float | datetime) -> None:
        """Set (replace) the alarm: epoch milliseconds or a datetime. ``alarm()`` is called then."""
        if isinstance(when, datetime):
            at = when.timestamp()
        elif isinstance(when, int | float) and not isinstance(when, bool) and math.isfinite(when) and when < 2**53:
            at = when / 1000
        else:
            raise BindingError(f"set_alarm takes epoch milliseconds or a datetime, not {when!r}")
        if self._owner is not None and not callable(getattr(self._owner, "alarm", None)):
            raise BindingError(
                f'actor "{self._ns}": set_alarm needs an alarm() handler, and {self._owner.__name__} has none; '
                "add `async def alarm(self) -> None` to the class"
            )
        await self._store.set_alarm(self._ns, self._id, self._name, at)
        self._wake()

    async def delete_alarm(self) -> None:
        """Cancel the actor's alarm, if one is set."""
        await self._store.delete_alarm(self._ns, self._id)


class ActorState:
    """``self.state``: the actor's ``id`` and ``storage``."""

    def __init__(self, actor: ActorId, storage: Storage, spawn: Callable[[Awaitable[Any]], Any]) -> None:
        self.id = actor
        self.storage = storage
        self._spawn = spawn

    def wait_until(self, work: Awaitable[Any]) -> None:
        """Keep ``work`` running after the current call returns."""
        self._spawn(work)

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
        self.names: dict[tuple[str, str], str] = {}  # (namespace, id) -> the name it came from, for the dashboard
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._alarm_signal = asyncio.Event()
        self._running_alarms: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self.on_run = on_run
        self.on_failure: Callable[[BaseException], None] = lambda exc: None  # App.drain reports the first

    def namespace(self, name: str) -> ActorNamespace:
        return ActorNamespace(name, self)

    def _lock(self, key: tuple[str, str]) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def _forget(self, key: tuple[str, str]) -> None:
        """This process took the actor's lease anew: the next call makes a fresh instance."""
        self._instances.pop(key, None)

    def instance(self, namespace: str, actor: ActorId) -> Actor:
        key = (namespace, str(actor))
        instance = self._instances.get(key)
        if instance is None:
            cls = self.classes.get(namespace)
            if cls is None:
                raise BindingError(f'actor "{namespace}" has no handler class loaded')
            storage = Storage(self.store, namespace, actor, self._alarm_signal.set, cls)
            instance = cls(ActorState(actor, storage, self._spawn), self._env())
            self._instances[key] = instance
            if actor.name is not None:
                self.names[key] = actor.name
                self._spawn(self._remember_name(namespace, actor))
        return instance

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

    async def run(self, namespace: str, actor: ActorId, work: Callable[[Actor], Awaitable[Any]]) -> Any:
        """Run ``work(instance)`` with the actor's calls serialized: one at a time in this
        process and, on a shared backend, only while this process holds the actor's lease."""
        key = (namespace, str(actor))
        if namespace not in self.classes:
            raise BindingError(f'actor "{namespace}" has no handler class loaded')
        ownership = self.ownership
        if ownership is None:
            async with self._lock(key):
                return await work(self.instance(namespace, actor))
        ownership.want(key)
        try:
            async with self._lock(key):
                await ownership.enter(key)
                return await work(self.instance(namespace, actor))
        finally:
            await ownership.leave(key)

    async def call(
        self, namespace: str, actor: ActorId, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if method != "fetch":
            args = tuple(structured.clone(list(args), f"argument of {namespace}.{method}()"))
            kwargs = structured.clone(kwargs, f"keyword argument of {namespace}.{method}()")

        async def invoke(instance: Actor) -> Any:
            function = getattr(instance, method, None) if not method.startswith("_") else None
            if function is None or not callable(function):
                raise BindingError(f'actor "{namespace}" ({type(instance).__name__}) has no public method {method!r}')
            result = function(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result

        result = await self.run(namespace, actor, invoke)
        if method == "fetch":
            return result
        return structured.clone(result, f"result of {namespace}.{method}()")

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

    # -- alarms ---------------------------------------------------------------------------------

    def wake(self) -> None:
        self._alarm_signal.set()

    def stop(self) -> None:
        self._stopping = True
        self._alarm_signal.set()

    async def pending(self, now: float) -> bool:
        """Whether an alarm is running or due (for ``App.drain``)."""
        if any(not t.done() for t in self._running_alarms):
            return True
        due = await self.store.next_alarm()
        return due is not None and due <= now

    async def run_alarms(self) -> None:
        while not self._stopping:
            self._alarm_signal.clear()
            now = self.clock.time()
            for alarm in await self.store.claim_alarms(now, now + ALARM_LEASE):
                task = asyncio.create_task(self._fire(alarm))
                self._running_alarms.add(task)
                task.add_done_callback(self._running_alarms.discard)
            due = await self.store.next_alarm()
            waiter = asyncio.create_task(self._alarm_signal.wait())
            tasks: set[asyncio.Task[Any]] = {waiter}
            if due is not None and due > self.clock.time():
                tasks.add(asyncio.create_task(self.clock.sleep_until(due)))
            elif due is not None and not self._running_alarms:
                tasks.add(asyncio.create_task(asyncio.sleep(0.05)))  # due but leased elsewhere: look again soon
            try:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
        for task in list(self._running_alarms):
            task.cancel()

    async def _fire(self, alarm: Alarm) -> None:
        actor = ActorId(alarm.actor, alarm.name)
        started = self.clock.time()
        cls = self.classes.get(alarm.namespace)
        if cls is None:
            log.error("alarm of %s %s dropped: no handler class is loaded for it", alarm.namespace, actor)
            await self.store.finish_alarm(alarm, None)
            return
        if getattr(cls, "alarm", None) is None:
            log.warning('actor "%s" set an alarm but %s has no alarm() method; dropped', alarm.namespace, cls.__name__)
            await self.store.finish_alarm(alarm, None)
            return

        async def fire(instance: Actor) -> None:
            await instance.alarm()  # type: ignore[attr-defined]

        try:
            await self.run(alarm.namespace, actor, fire)
        except Exception as exc:  # noqa: BLE001 - an alarm's failure is retried, as on the platform
            self.on_failure(exc)
            error = describe_error(exc)
            if alarm.retries < ALARM_RETRIES:
                delay = 2.0 * 2**alarm.retries
                log.error(
                    "alarm of %s %s failed (retry %d in %g s):\n%s",
                    alarm.namespace,
                    actor,
                    alarm.retries + 1,
                    delay,
                    error,
                )
                await self.store.finish_alarm(alarm, self.clock.time() + delay)
            else:
                log.error(
                    "alarm of %s %s failed %d times; giving up:\n%s", alarm.namespace, actor, alarm.retries + 1, error
                )
                await self.store.finish_alarm(alarm, None)
            self._record(alarm, started, "error", error)
            return
        await self.store.finish_alarm(alarm, None)
        self._record(alarm, started, "ok", None)

    def _record(self, alarm: Alarm, started: float, outcome: str, error: str | None) -> None:
        if self.on_run is not None:
            self.on_run(
                RunRecord(
                    alarm.namespace,
                    "alarm",
                    started,
                    (self.clock.time() - started) * 1000,
                    outcome,
                    alarm.actor[:12],
                    error,
                )
            )


class ActorStub:
    """Calls to an actor: ``await stub.method(...)`` or ``await stub.fetch(request)``."""

    def __init__(self, namespace: str, actor: ActorId, host: ActorHost) -> None:
        self._namespace = namespace
        self.id = actor
        self.name = actor.name
        self._host = host

    def __getattr__(self, method: str) -> Callable[..., Awaitable[Any]]:
        if method.startswith("_"):
            raise AttributeError(method)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self._host.call(self._namespace, self.id, method, args, kwargs)

        call.__name__ = method
        return call


#: What ``get`` returns: a stub typed as the actor's ``<Class>Stub`` protocol (``generate``
#: writes one per actor, from its class), else :class:`ActorStub`.
S = TypeVar("S", default=ActorStub)


@platform_names
class ActorNamespace(Generic[S]):
    """``env.<ACTOR>``: ids and stubs for one actor class."""

    def __init__(self, name: str, host: ActorHost) -> None:
        self.name = name
        self._host = host

    def __repr__(self) -> str:
        return f"<ActorNamespace {self.name!r}>"

    def id_from_name(self, name: str) -> ActorId:
        """The same id for the same name, always (as on the platform)."""
        if not isinstance(name, str):
            raise BindingError(f"id_from_name takes a str, not {type(name).__name__}")
        digest = hashlib.sha256(utf8(f"{self.name}\x00{name}", f"id_from_name: {name[:40]!r}")).hexdigest()
        return ActorId(digest, name, self.name)

    def id_from_string(self, hex_id: str) -> ActorId:
        """The id whose 64 hex digits ``hex_id`` spells (``str(actor_id)`` gives them back)."""
        if len(hex_id) != 64 or any(c not in "0123456789abcdef" for c in hex_id):
            raise BindingError(f"{hex_id!r} is not an actor id (64 lowercase hex digits)")
        return ActorId(hex_id, None, self.name)

    def new_unique_id(self) -> ActorId:
        """A fresh random id, never equal to one from a name."""
        return ActorId(os.urandom(32).hex(), None, self.name)

    def get(self, actor: ActorId, **options: Any) -> S:
        """A stub for ``actor``; ``location_hint`` and other options are accepted and ignored."""
        if not isinstance(actor, ActorId):
            raise BindingError(f"get() takes an ActorId (from id_from_name), not {type(actor).__name__}")
        if actor.namespace is not None and actor.namespace != self.name:
            raise BindingError(
                f'actor "{self.name}": this id was made by actor "{actor.namespace}"\'s namespace; an id is for '
                f"the class that made it (use env.{self.name.upper().replace('-', '_')}.id_from_name(...))"
            )
        return cast(S, ActorStub(self.name, actor, self._host))
