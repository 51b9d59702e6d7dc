"""The storage interfaces every backend implements: queues, KV and (for actors) state.

Stores never read the wall clock: every method that depends on time takes ``now`` (epoch
seconds) or an absolute moment such as ``visible_at`` or ``expires_at``. (The one exception is
not a wall clock: SQLite judges another process's actor lease by its heartbeat, watched on the
store's own monotonic clock; see ``StateStore.own_actor``.) One contract suite per store
(``tests/contract/``) runs every method against every implementation, with an error contract:
a store that fails raises :class:`~runtime.errors.StorageError`.

Queue model. A message is *ready* when ``visible_at <= now``. Claiming makes it invisible
until ``now + lease`` (its lease) and counts an attempt; ack deletes it; retry makes it visible
again at a chosen moment. A consumer that dies simply stops renewing its leases, so its
messages become ready again when their lease ends: nothing else is needed for at-least-once
delivery. Dead letters are ordinary messages on the dead-letter queue that remember their
origin and last error.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

#: How long (seconds) the record of a cron fire is kept after the fire: long enough that every
#: process sharing the backend has moved past that time; each schedule's latest record stays.
FIRE_RECORDS_KEPT = 3600.0


class NewMessage(NamedTuple):
    """A message to enqueue. ``body`` is already encoded according to ``content_type``. A named
    tuple, made for every send: a fifth of the cost of a frozen dataclass."""

    id: str
    body: bytes
    content_type: str
    created_at: float
    visible_at: float


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message as a consumer claims it (``attempts`` already counts this delivery)."""

    id: str
    queue: str
    body: bytes
    content_type: str
    created_at: float
    attempts: int
    last_error: str | None = None
    origin: str | None = None
    #: For a dead letter: how many deliveries failed on ``origin`` before it died there
    #: (``attempts`` counts the dead-letter queue's own deliveries, from 1).
    failed_attempts: int | None = None


@dataclass(frozen=True, slots=True)
class QueueStats:
    ready: int  # visible now, waiting for a consumer
    in_flight: int  # claimed, lease not yet over
    delayed: int  # not yet visible and never claimed or released for a retry
    dead_lettered: int  # messages on this queue's dead-letter queue

    @property
    def depth(self) -> int:
        return self.ready + self.in_flight + self.delayed


@dataclass(frozen=True, slots=True)
class Retry:
    id: str
    visible_at: float
    error: str | None = None


class QueueStore(ABC):
    """Durable queues of messages.

    Every method raises :class:`~runtime.errors.StorageError` when the store fails (a full
    disk, a lost connection); a failed call of a method not in ``READS`` also counts one of the
    backend's ``failed_writes``.
    """

    #: The methods that only read: their failure loses nothing.
    READS: ClassVar[frozenset[str]] = frozenset({"stats", "next_visible", "peek", "queues"})

    @abstractmethod
    async def send(self, queue: str, messages: Sequence[NewMessage]) -> None:
        """Enqueue ``messages`` atomically: all of them or none."""

    @abstractmethod
    async def claim(self, queue: str, limit: int, now: float, lease_until: float) -> list[StoredMessage]:
        """Up to ``limit`` ready messages, oldest first, each leased until ``lease_until``."""

    @abstractmethod
    async def settle(self, queue: str, acks: Sequence[str], retries: Sequence[Retry]) -> None:
        """Delete the acked messages and make the retried ones visible again, in one step."""

    async def settle_and_claim(
        self,
        queue: str,
        acks: Sequence[str],
        retries: Sequence[Retry],
        limit: int,
        now: float,
        lease_until: float,
        waiter: Waiter | None = None,
    ) -> tuple[list[StoredMessage], float | None]:
        """``settle`` then ``claim``, as one step where the backend can (a consumer's loop does
        both between two batches: one commit or one round trip instead of two). Returns the
        claimed messages and, when there are none, ``next_visible`` as seen by the same step
        (when the loop should look again); None otherwise.

        ``waiter`` names the calling consumer loop, uniquely within this process. A backend
        shared by processes uses it to wake that loop, and no more loops than there are new
        messages, when a send comes while it is idle: it is idle from a claim that found nothing
        until its next claim."""
        if acks or retries:
            await self.settle(queue, acks, retries)
        claimed = await self.claim(queue, limit, now, lease_until)
        return claimed, None if claimed else await self.next_visible(queue)

    async def leave_idle(self, queue: str, waiter: Waiter) -> None:  # noqa: B027 - optional hook
        """``waiter``'s last ``settle_and_claim`` found nothing, but it stopped waiting anyway (a
        Batch loop filling its batch, at the deadline): no send should hand it messages now."""

    @abstractmethod
    async def dead_letter(self, queue: str, dead_queue: str, ids: Sequence[str], errors: Sequence[str | None]) -> None:
        """Move messages to ``dead_queue`` (ready at once), remembering origin, last error and
        their attempts (as ``failed_attempts``); ``attempts`` starts again from 0."""

    @abstractmethod
    async def extend(self, queue: str, ids: Sequence[str], lease_until: float) -> None:
        """Renew the lease of messages still being worked on."""

    @abstractmethod
    async def release(self, queue: str, ids: Sequence[str], now: float) -> None:
        """Return claimed messages that were never handed to a handler; their attempt is undone."""

    @abstractmethod
    async def stats(self, queue: str, now: float, dead_queue: str | None = None) -> QueueStats:
        """Counts for ``queue`` at ``now``."""

    @abstractmethod
    async def next_visible(self, queue: str) -> float | None:
        """The earliest ``visible_at`` of any message on ``queue``, or None when it is empty."""

    @abstractmethod
    async def peek(self, queue: str, limit: int = 100) -> list[StoredMessage]:
        """Messages on ``queue`` without claiming them (for inspection), oldest first."""

    @abstractmethod
    async def redrive(self, dead_queue: str, now: float, to_queue: str | None = None) -> int:
        """Move every message of ``dead_queue`` back to its origin (or ``to_queue``), attempts reset
        (``failed_attempts``, ``origin`` and ``last_error`` cleared)."""

    @abstractmethod
    async def purge(self, queue: str) -> int:
        """Delete every message on ``queue``; returns how many."""

    @abstractmethod
    async def queues(self) -> list[str]:
        """Names of every queue holding at least one message."""


@dataclass(frozen=True, slots=True)
class KvEntry:
    value: bytes
    metadata: str | None  # JSON text
    expires_at: float | None


@dataclass(frozen=True, slots=True)
class KvKey:
    name: str
    expires_at: float | None
    metadata: str | None


class KvStore(ABC):
    """Key-value namespaces with absolute expiry times. Failures: as for :class:`QueueStore`."""

    #: The methods that only read: their failure loses nothing.
    READS: ClassVar[frozenset[str]] = frozenset({"get", "list", "count"})

    @abstractmethod
    async def get(self, namespace: str, key: str, now: float) -> KvEntry | None:
        """The live entry for ``key``; an entry whose ``expires_at <= now`` is never returned."""

    @abstractmethod
    async def put(self, namespace: str, key: str, value: bytes, expires_at: float | None, metadata: str | None) -> None:
        """Create or replace ``key``."""

    @abstractmethod
    async def delete(self, namespace: str, key: str) -> None:
        """Remove ``key``; no error when it is absent."""

    @abstractmethod
    async def list(self, namespace: str, prefix: str, after: str | None, limit: int, now: float) -> list[KvKey]:
        """Up to ``limit`` live keys starting with ``prefix`` and sorting after ``after``, in order."""

    @abstractmethod
    async def sweep(self, now: float) -> int:
        """Delete every expired entry of every namespace; returns how many."""

    @abstractmethod
    async def count(self, namespace: str, now: float) -> int:
        """How many live keys ``namespace`` holds."""


@dataclass(frozen=True, slots=True)
class Fence:
    """The lease an actor call runs under. A state store write that carries one happens only
    while ``owner`` still holds the actor's lease taken at ``epoch``: checked atomically with the
    write, else nothing is written and :class:`~runtime.errors.LeaseLostError` is raised."""

    owner: str
    epoch: int


@dataclass(frozen=True, slots=True)
class Alarm:
    namespace: str
    actor: str  # the actor id (hex)
    name: str | None  # the name it was derived from, when known
    at: float  # epoch seconds
    retries: int = 0


class StateStore(ABC):
    """Durable actor storage and alarms, the cron fire ledger and actor leases. Failures: as for
    :class:`QueueStore`.

    Fencing: the writes an actor call makes (``put``, ``delete``, ``delete_all``, ``set_alarm``,
    ``delete_alarm``) take the call's :class:`Fence`; a write whose fence is no longer the
    actor's current lease raises :class:`~runtime.errors.LeaseLostError` and writes nothing.
    Without a fence (the memory backend, the runtime's own bookkeeping) a write is unconditional.
    """

    #: The methods that only read: their failure loses nothing.
    READS: ClassVar[frozenset[str]] = frozenset(
        {"get", "list", "get_alarm", "next_alarm", "last_fire", "last_fires", "actors", "actor_owners"}
    )

    @abstractmethod
    async def get(self, namespace: str, actor: str, keys: Sequence[str]) -> dict[str, str]:
        """Encoded values of the ``keys`` that exist."""

    @abstractmethod
    async def put(self, namespace: str, actor: str, items: dict[str, str], fence: Fence | None = None) -> None:
        """Store encoded values, atomically."""

    @abstractmethod
    async def delete(self, namespace: str, actor: str, keys: Sequence[str], fence: Fence | None = None) -> int:
        """Delete keys; returns how many existed."""

    @abstractmethod
    async def delete_all(self, namespace: str, actor: str, fence: Fence | None = None) -> None:
        """Delete every key of the actor (and its alarm)."""

    @abstractmethod
    async def list(
        self,
        namespace: str,
        actor: str,
        *,
        prefix: str = "",
        start: str | None = None,
        end: str | None = None,
        reverse: bool = False,
        limit: int | None = None,
    ) -> list[tuple[str, str]]:
        """(key, encoded value) pairs in key order: ``start`` inclusive, ``end`` exclusive."""

    @abstractmethod
    async def get_alarm(self, namespace: str, actor: str) -> float | None:
        """The actor's alarm time (epoch seconds), or None."""

    @abstractmethod
    async def set_alarm(
        self, namespace: str, actor: str, name: str | None, at: float, fence: Fence | None = None
    ) -> None:
        """Set (replace) the actor's one alarm."""

    @abstractmethod
    async def delete_alarm(self, namespace: str, actor: str, fence: Fence | None = None) -> None:
        """Remove the actor's alarm, if any."""

    @abstractmethod
    async def claim_alarms(self, now: float, lease_until: float, limit: int = 100) -> builtins.list[Alarm]:
        """Alarms due at ``now`` and not leased by another process; each is leased until ``lease_until``."""

    @abstractmethod
    async def finish_alarm(self, alarm: Alarm, retry_at: float | None) -> None:
        """After a run: delete the alarm, or with ``retry_at`` schedule a retry (one more retry
        counted). An alarm the actor re-set during its run (a different time) is left alone."""

    @abstractmethod
    async def next_alarm(self) -> float | None:
        """The earliest alarm time of any actor, or None."""

    @abstractmethod
    async def claim_fire(self, schedule: str, scheduled_at: float, now: float) -> bool:
        """Record that ``schedule``'s fire for ``scheduled_at`` happens; False when it was
        already recorded (by this process, another one, or before a restart)."""

    @abstractmethod
    async def last_fire(self, schedule: str) -> float | None:
        """The latest ``scheduled_at`` recorded for ``schedule``, or None."""

    async def claim_fires(self, claims: Sequence[tuple[str, float]], now: float) -> builtins.list[bool]:
        """:meth:`claim_fire` for many ``(schedule, scheduled_at)`` pairs at once, in order: the
        scheduler claims every fire of one wake-up in one call (backends make it one statement or
        one script). A fire's record is kept at least :data:`FIRE_RECORDS_KEPT` seconds after
        ``now``, and each schedule's latest one for good; older ones may be pruned."""
        return [await self.claim_fire(schedule, at, now) for schedule, at in claims]

    async def last_fires(self, schedules: Sequence[str]) -> dict[str, float]:
        """:meth:`last_fire` of each of ``schedules`` that has fired, in one call."""
        found = {}
        for schedule in schedules:
            at = await self.last_fire(schedule)
            if at is not None:
                found[schedule] = at
        return found

    @abstractmethod
    async def actors(self, namespace: str, limit: int = 100) -> builtins.list[str]:
        """Ids of actors of ``namespace`` that hold storage (for inspection)."""

    @abstractmethod
    async def own_actor(self, namespace: str, actor: str, owner: str, now: float, lease: float) -> int:
        """Make ``owner`` the process that runs ``actor`` for the next ``lease`` seconds, or extend
        its lease; returns the lease's epoch, or 0 when another owner's lease is live.

        The epoch grows by one each time the lease is taken anew (never when it is extended), so
        a :class:`Fence` of an earlier holding is stale for good. Whether another owner's lease
        is live is never decided by comparing processes' wall clocks: Redis ends it by the key's
        TTL (the server's one clock); SQLite takes it over only once this process has seen the
        holder's heartbeat (each extension bumps it) unchanged for ``lease`` seconds of its own
        monotonic clock. ``now`` (wall-clock epoch seconds) is recorded for inspection only
        (``actor_owners``); the memory backend, one process, judges by it."""

    @abstractmethod
    async def disown_actor(self, namespace: str, actor: str, owner: str) -> None:
        """End ``owner``'s lease on ``actor`` (no-op when another process holds it)."""

    @abstractmethod
    async def actor_owners(self, namespace: str, now: float) -> dict[str, str]:
        """Actor id -> owner of every live lease in ``namespace`` (for inspection)."""


@dataclass(frozen=True, slots=True)
class Waiter:
    """One consumer loop of this process: the observer it serves and its index among that
    observer's loops. Backends that hand work to idle loops store it as ``str(waiter)``."""

    observer: str
    loop: int

    def __str__(self) -> str:
        return f"{self.observer}:{self.loop}"

    @classmethod
    def parse(cls, text: str) -> Waiter | None:
        """The waiter ``str(waiter)`` wrote; None for text no waiter writes."""
        observer, _, loop = text.rpartition(":")
        if not observer or not loop.isdigit():
            return None
        return cls(observer, int(loop))


@dataclass(frozen=True, slots=True)
class Handover:
    """Messages a send in another process claimed for one of this process's idle consumer loops
    (``waiter``, as it named itself to ``settle_and_claim``); none: wake it to look again."""

    queue: str
    waiter: Waiter
    messages: list[StoredMessage]


class Backend(ABC):
    """A place for all runtime state, opened from a URL (``sqlite:///…``, ``memory://``, ``redis://…``).

    What a backend can do is declared by its class, never guessed from its URL or probed with
    ``hasattr``: ``persistent``, ``shared``, ``pushes_changes`` (with :meth:`events`) and
    ``recheck_idle``. The app, ``serve`` and ``worker`` read these alone, so a new backend is
    told apart by what it says it does.
    """

    url: str
    queues: QueueStore
    kv: KvStore
    state: StateStore

    #: True when what is written outlives the process. A backend that keeps nothing
    #: (``memory://``) also gets its app's bucket and database files in a temporary folder.
    persistent: bool = True
    #: True when other processes may write to this backend (a ``worker``, the CLI's ``send``), so
    #: the app watches it for their writes and actors take leases; ``worker`` refuses a backend
    #: that is not shared.
    shared: bool = False
    #: True when :meth:`events` announces other processes' writes as they happen; otherwise a
    #: shared backend is polled with :meth:`changed`.
    pushes_changes: bool = False
    #: For a backend whose wake-ups can be lost (a process killed just after being woken, a
    #: dropped subscription): seconds after which an idle consumer claims again unprompted.
    recheck_idle: float | None = None
    #: Writes that raised :class:`~runtime.errors.StorageError` since the backend opened (each
    #: caller was told); ``serve`` and ``worker`` exit non-zero when there were any.
    failed_writes: int = 0

    async def open(self) -> None:  # noqa: B027 - optional hook
        """Prepare the backend (create tables, connect)."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. The backend may not be used afterwards."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.pushes_changes and cls.events is Backend.events:
            raise TypeError(f"{cls.__name__} declares pushes_changes but does not implement events()")
        if cls.pushes_changes and not cls.shared:
            raise TypeError(f"{cls.__name__} declares pushes_changes but not shared: nothing else writes to it")

    async def changed(self) -> bool:
        """Whether another process may have written since the last call (cheap; used when idle by
        a shared backend that does not push changes)."""
        return False

    def events(self) -> AsyncIterator[str | Handover]:
        """For a backend that ``pushes_changes``: as they happen, names of queues other processes
        wrote to (``"*"``: any queue; ``"$alarms"``: actor alarms) and the messages sends handed
        to this process's idle consumer loops. Runs until cancelled."""
        raise NotImplementedError(f"{type(self).__name__} does not push changes (pushes_changes is False)")
