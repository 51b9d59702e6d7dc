"""``self.state.storage``: one actor's durable key-value storage and its one alarm, with the
platform's limits (128 keys at once, 2 KiB keys, 2 MiB values). Values are structured clones
(:mod:`runtime.structured`). On a shared backend every write carries the fence of the lease the
instance runs under (see :mod:`runtime.ownership`)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from runtime import structured
from runtime.actor_ids import ActorId
from runtime.arguments import checked_arguments, utf8
from runtime.backends.base import Fence, StateStore
from runtime.backends.commits import join
from runtime.errors import BindingError, LimitError, StorageError, StorageValueError
from runtime.naming import platform_names
from runtime.output_gate import BATCH_CALLS, BATCH_HOLD, CALL, Batch
from runtime.structured import IMMUTABLE

if TYPE_CHECKING:
    from runtime.handlers import Actor

MAX_VALUE_BYTES = 2 * 1024 * 1024
#: The read cache of one instance's storage keeps values up to this size (encoded)...
CACHE_VALUE_BYTES = 64 * 1024
#: ... and at most this many keys: past it, it starts again empty.
CACHE_KEYS = 1024
MAX_PAIRS = 128  # keys in one get, put or delete of many, as the platform
MAX_KEY_BYTES = 2048


def _check_key(key: object) -> None:
    if type(key) is str and len(key) <= MAX_KEY_BYTES and key.isascii():
        return  # the usual key: text of at most MAX_KEY_BYTES bytes, no message to format
    if not isinstance(key, str):
        raise BindingError(f"actor storage keys are str, not {type(key).__name__}")
    size = len(utf8(key, f"actor storage key {key[:40]!r}"))
    if size > MAX_KEY_BYTES:
        raise LimitError(f"actor storage keys cannot be larger than {MAX_KEY_BYTES} bytes (this one is {size})")


def _load(key: str, text: str) -> Any:
    """The stored value of ``key``, or a clear error when what is stored is not a structured
    clone (state written by something other than this runtime, or damaged)."""
    try:
        return structured.loads(text)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise StorageValueError(
            f"actor storage value for key {key[:80]!r} cannot be read: it is not a structured clone "
            f"this runtime wrote ({type(exc).__name__}: {str(exc)[:120]}); delete the key or the actor's state"
        ) from None


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
        fence: Fence | None = None,
        *,
        owner: type[Actor] | None = None,
        cache: bool = False,
    ) -> None:
        self._store = store
        self._ns = namespace
        self._id = str(actor)
        self._name = actor.name
        self._wake = wake_alarms
        self._fence = fence  # the lease this instance runs under: every write carries it
        self._owner = owner  # the actor class: set_alarm needs it to have alarm()
        #: Wraps work that outlives a call (``wait_until``) so the actor's lease is kept until it
        #: ends; set by the actor host on a shared backend.
        self.hold: Callable[[Awaitable[Any]], Awaitable[Any]] | None = None
        #: Runs a write made while no call runs on the actor under its lease (set with ``hold``).
        self.outside_call: Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]] | None = None
        #: With ``cache``: key -> its stored text (None: absent), as last read or written here.
        #: Only for an instance that is the one writer of its storage (the actor host's, made
        #: under the actor's lease on a shared backend): nothing else changes what it holds.
        #: Values are cached encoded, so every read still returns a fresh clone.
        self._cache: dict[str, str | None] | None = {} if cache else None
        #: With ``cache``, puts are held in a batch (the output gate): the open batch, the last
        #: batch not yet committed (open or committing: what a call's result waits for), and the
        #: error that broke this instance (a batch was not stored: every later use raises it).
        self._batch: Batch | None = None
        self._last: Batch | None = None
        self._broken: Exception | None = None
        self._sent: Batch | None = None  # the last batch sent to the store, until committed
        #: Whether a call runs on this actor now (set by the actor host): an open batch is then
        #: committed when that call ends, not before.
        self.busy: Callable[[], Literal["idle", "running", "next"]] = lambda: "idle"
        self._writes = 0  # bumped by every write: a read that spans one does not fill the cache

    def _remember(self, items: Mapping[str, str | None]) -> None:
        cache = self._cache
        if cache is None:
            return
        if len(cache) + len(items) > CACHE_KEYS:
            cache.clear()
        for key, text in items.items():
            if text is None or len(text) <= CACHE_VALUE_BYTES:
                cache[key] = text
            else:
                cache.pop(key, None)

    def _continues(self, fence: Fence) -> bool:
        """Whether a lease this process took anew follows this instance's own with nobody's
        between (the epoch grows by one per take): then the instance writes under it."""
        if self._fence is None or self._fence.owner != fence.owner or fence.epoch != self._fence.epoch + 1:
            return False
        self._fence = fence
        return True

    async def _write(self, write: Callable[[Fence | None], Awaitable[Any]], held: bool = False) -> Any:
        """``write(fence)`` under the actor's lease, which a call holds (``held``: calls waiting
        for the write hold it), or else is taken. A write that fails may or may not have been
        stored: the cache forgets everything."""
        self._writes += 1
        try:
            if held or self.outside_call is None:
                return await write(self._fence)
            return await self.outside_call(lambda: write(self._fence))
        except BaseException:
            if self._cache is not None:
                self._cache.clear()
            raise
        finally:
            self._writes += 1

    async def _write_after(self, write: Callable[[Fence | None], Awaitable[Any]]) -> Any:
        """:meth:`_write`, once the puts made before it are committed (a write that is not a
        put is not batched: it returns once committed, its outcome known)."""
        if self._last is not None or self._broken is not None:
            await self._settled()
        return await self._write(write)

    def _held_while(self, work: Awaitable[Any]) -> Awaitable[Any]:
        """``work``, keeping this actor's lease (and so its writes) until it ends. It runs
        outside the call that started it: its puts return once committed."""

        async def detached() -> Any:
            CALL.set(None)  # this task's own copy of the call's context
            return await work

        return detached() if self.hold is None else self.hold(detached())

    # -- the output gate ------------------------------------------------------------------------
    # A put made during a call joins the instance's open batch and returns at once (later reads
    # see it, from the cache); the call's result is released only once every batch open when it
    # ended is committed. Consecutive calls' puts share a batch while calls queue, so one commit
    # stores many calls' writes; acknowledged still means durable. A batch that fails breaks the
    # instance: every call waiting on it, or using the instance later, raises its error, and the
    # actor host makes a fresh instance for the next call.

    def _open(self) -> Batch:
        batch = self._batch = self._last = Batch(asyncio.get_running_loop())
        self._arm(batch)
        return batch

    def _arm(self, batch: Batch) -> None:
        """Look soon whether to commit ``batch`` (a put outside any call's end commits too)."""
        if not batch.armed:
            batch.armed = True
            batch.future.get_loop().call_soon(self._look, batch)

    def _look(self, batch: Batch) -> None:
        batch.armed = False
        if batch is not self._batch:
            return
        busy = self.busy()
        if busy == "idle":
            self._flush()
        elif busy == "next":  # a call was let in and has yet to run: look again after it starts
            self._arm(batch)
        elif batch.calls:
            self._time(batch)

    def _time(self, batch: Batch) -> None:
        """Calls wait on ``batch`` while the next call runs (it commits it when it ends), but not
        much past BATCH_HOLD (that call may be long, or wait for their results); one timer a hold."""
        if not batch.timed:
            batch.timed = batch.calls
            batch.future.get_loop().call_later(BATCH_HOLD, self._overdue, batch)

    def _overdue(self, batch: Batch) -> None:
        if batch is not self._batch:
            return
        if batch.calls == batch.timed or self.busy() == "idle":  # the call timed runs still, or
            self._flush()  # none will end to commit it (the one let in next never started)
        else:  # it ended and the next call took its place (many busy ids make a turn slow):
            batch.timed = 0  # that one, if it runs long, is timed from now
            self._time(batch)

    def _flush(self) -> Batch | None:
        """Send the open batch to the store (after the batch sent before it); returns the last
        batch not yet committed, if any."""
        batch = self._batch
        if batch is not None:
            self._batch = None
            previous, self._sent = self._sent, batch
            # The batch holds its commit's task (a task nothing refers to may be collected).
            batch.items.append(batch.future.get_loop().create_task(self._commit(batch, previous)))
        return self._last

    async def _commit(self, batch: Batch, previous: Batch | None) -> None:
        pending = batch.pending
        try:
            if previous is not None and not previous.done:
                await join(previous, -1)  # in order; a failed one fails this one too
            if self._broken is not None:
                raise self._broken
            # Calls waiting on the batch keep the actor's lease (they have not left it): the
            # write carries its fence as theirs would. With none, it is a write outside a call.
            await self._write(lambda fence: self._store.put(self._ns, self._id, pending, fence), held=batch.calls > 0)
        except Exception as exc:  # noqa: BLE001 - every call waiting on the batch hears of it
            self._break(exc)
            batch.settle(exc)
            return
        except BaseException as exc:  # cancelled (the loop is closing): whether it was stored is unknown
            error = StorageError(f"actor storage write of {self._ns} {self._id[:12]} was interrupted")
            self._break(error)
            batch.settle(error)
            raise exc from None
        if self._sent is batch:
            self._sent = None
        if self._last is batch:
            self._last = None
        batch.settle()

    def _break(self, error: Exception) -> None:
        """A batch was not stored: what this instance holds is not what is stored; it is done."""
        self._broken = error
        if self._cache is not None:
            self._cache.clear()
        batch, self._batch = self._batch, None
        if batch is not None:
            batch.settle(error)

    def _ended(self, idle: bool) -> Batch | None:
        """A call ends (``idle``: none waits to run next): what its result must wait for. The
        open batch is sent now if no call follows to add to it, or it is full."""
        batch = self._batch
        if batch is not None:
            batch.calls += 1
            if idle or batch.calls >= BATCH_CALLS:
                self._flush()
            else:  # the call let in next commits it when it ends (or, failing to start, kicks it)
                self._time(batch)  # or, if it runs long, about BATCH_HOLD from now
        last = self._last
        return None if last is None or (last.done and last.error is None) else last

    def _kick(self) -> None:
        """A call on the actor failed to start or end as calls do: look soon whether the open
        batch waits for a call that will not come."""
        if self._batch is not None:
            self._arm(self._batch)

    def _before_effect(self) -> Coroutine[Any, Any, None] | None:
        """See :func:`runtime.output_gate.before_effect`."""
        if self._last is None and self._batch is None and self._broken is None:
            return None
        return self._settled()

    async def _settled(self) -> None:
        """Every put made so far committed (before a read the cache cannot answer, or a write
        that is not a put); raises the error of one that failed."""
        if self._broken is not None:
            raise self._broken
        last = self._flush()
        if last is not None:
            await join(last, -1)

    async def _drained(self) -> None:
        """As :meth:`_settled`, quietly: the calls waiting on the batches hear how they went."""
        with contextlib.suppress(Exception):  # reported to the calls whose writes they were
            await self._settled()

    async def get(self, key: str | Sequence[str]) -> Any:
        """The value of ``key`` (None when absent), or for a list of up to 128 keys a dict of
        those present, in key order."""
        if isinstance(key, str) or not isinstance(key, list | tuple):
            _check_key(key)  # a str, or refused naming what it is
            assert isinstance(key, str)
            cache = self._cache
            if cache is not None:
                if key in cache:
                    text = cache[key]
                    return None if text is None else _load(key, text)
                if self._last is not None or self._broken is not None:
                    await self._settled()
            writes = self._writes
            found = await self._store.get(self._ns, self._id, [key])
            if writes == self._writes:  # no write began or ended meanwhile: this is current
                self._remember({key: found.get(key)})
            return _load(key, found[key]) if key in found else None
        keys = _check_keys([k for k in key if k is not None])
        if self._last is not None or self._broken is not None:
            await self._settled()
        writes = self._writes
        found = await self._store.get(self._ns, self._id, keys)
        if writes == self._writes:
            self._remember({k: found.get(k) for k in keys})
        return {k: _load(k, found[k]) for k in sorted(found)}

    async def put(self, key: str | dict[str, Any], value: Any = None) -> None:
        """Store ``value`` under ``key``, or every item of a dict, atomically.

        :raises StorageValueError: for a value that is not storable (its type and key are named).
        """
        if type(key) is str and self._broken is None and CALL.get() is self:
            # The usual put: one key, during a call, into the batch (as below, in fewer steps).
            _check_key(key)
            if type(value) in IMMUTABLE:
                text = structured.dumps(value)
            else:
                text = structured.dumps(value, f"actor storage value for key {key!r}")
            if len(text) > MAX_VALUE_BYTES:
                raise LimitError(
                    f"actor storage value for key {key!r} is {len(text)} bytes encoded; the limit is 2 MiB"
                )
            batch = self._batch
            if batch is None:
                batch = self._open()
            batch.pending[key] = text
            self._writes += 1
            cache = self._cache
            if cache is not None:  # always: CALL names only storages with a cache (the host's)
                if len(cache) >= CACHE_KEYS:
                    cache.clear()
                if len(text) <= CACHE_VALUE_BYTES:
                    cache[key] = text
                else:
                    cache.pop(key, None)
            return
        items = key if isinstance(key, dict) else {key: value}
        if len(items) > MAX_PAIRS:
            raise LimitError(f"actor storage put takes at most {MAX_PAIRS} pairs at once, not {len(items)}")
        encoded = {}
        for k, v in items.items():
            _check_key(k)
            if type(v) in IMMUTABLE:
                text = structured.dumps(v)  # a scalar: nothing to name in an error
            else:
                text = structured.dumps(v, f"actor storage value for key {k!r}")
            if len(text) > MAX_VALUE_BYTES:
                raise LimitError(f"actor storage value for key {k!r} is {len(text)} bytes encoded; the limit is 2 MiB")
            encoded[k] = text
        if self._cache is None:
            await self._write(lambda fence: self._store.put(self._ns, self._id, encoded, fence))
            return
        if self._broken is not None:
            raise self._broken
        batch = self._batch
        if batch is None:
            batch = self._open()
        batch.pending.update(encoded)
        self._writes += 1
        self._remember(encoded)
        if CALL.get() is not self:  # not in a call (work a call left running): durable on return
            await self._settled()

    async def delete(self, key: str | Sequence[str]) -> bool | int:
        """Delete ``key`` (True when it existed) or a list of keys (how many existed)."""
        keys = [key] if isinstance(key, str) else _check_keys([k for k in key if k is not None])
        if isinstance(key, str):
            _check_key(key)
        if self._last is not None or self._broken is not None:
            await self._settled()
        writes = self._writes
        deleted: int = await self._write(lambda fence: self._store.delete(self._ns, self._id, keys, fence))
        if self._writes == writes + 2:  # no other write began or ended meanwhile: the keys are absent
            self._remember(dict.fromkeys(keys))
        elif self._cache is not None:  # a put of one of them may have landed after the delete
            for k in keys:
                self._cache.pop(k, None)
        return deleted == 1 if isinstance(key, str) else deleted

    async def delete_all(self) -> None:
        """Delete every key and the alarm."""
        await self._write_after(lambda fence: self._store.delete_all(self._ns, self._id, fence))
        if self._cache is not None:
            self._cache.clear()

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
        if self._last is not None or self._broken is not None:
            await self._settled()
        rows = await self._store.list(
            self._ns, self._id, prefix=prefix or "", start=start, end=end, reverse=reverse, limit=limit
        )
        return {k: _load(k, v) for k, v in rows}

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
        if at <= 0:  # as the platform: a time already past fires at once, but not one at or before 1970
            raise BindingError(f"set_alarm cannot be called with an alarm time <= 0 (got {when!r})")
        if self._owner is not None and not callable(getattr(self._owner, "alarm", None)):
            raise BindingError(
                f'actor "{self._ns}": set_alarm needs an alarm() handler, and {self._owner.__name__} has none; '
                "add `async def alarm(self) -> None` to the class"
            )
        await self._write_after(lambda fence: self._store.set_alarm(self._ns, self._id, self._name, at, fence))
        self._wake()

    async def delete_alarm(self) -> None:
        """Cancel the actor's alarm, if one is set."""
        await self._write_after(lambda fence: self._store.delete_alarm(self._ns, self._id, fence))
