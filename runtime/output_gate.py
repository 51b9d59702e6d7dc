"""The output gate of actor calls: what a call lets out waits for the puts it made.

A put made during an actor call returns at once; the call's result is released only once the
put is committed (:class:`runtime.actor_storage.Storage`). Effects others can see, made during
the call, wait the same way (:func:`before_effect`): a queue send, a KV, SQL or bucket write, a
call to another actor or service. So a queue consumer never sees a message sent after a put
that could still be lost, as on the platform, where an object's outgoing messages wait for its
writes. The puts themselves wait in a :class:`Batch` per instance, shared by queued calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from runtime.backends.commits import Group

if TYPE_CHECKING:
    from runtime.actor_storage import Storage

#: The storage whose actor call the current task runs (set by the actor host around a call): a
#: put made there is held in the instance's write batch and returns at once.
CALL: ContextVar[Storage | None] = ContextVar("raindrop_actor_call", default=None)


def before_effect() -> Coroutine[Any, Any, None] | None:
    """What an effect others can see, made now, must wait for first: the puts of the actor call
    the current task runs, committed (raising the error of one that failed); None when there is
    nothing to wait for (no call, or nothing pending: the usual case costs one lookup)."""
    storage = CALL.get()
    if storage is None:
        return None
    return storage._before_effect()


#: The calls on one actor whose puts share one commit at most (while more calls queue behind
#: them); the writes then go to the store and the next calls' writes form the next batch.
BATCH_CALLS = 64
#: Seconds at most that a call's result waits on the call after it: a batch calls wait on is
#: committed then even though the next call runs on (so a long next call, or one that waits for
#: the result of the call before it, never holds that result).
BATCH_HOLD = 0.005


class Batch(Group):
    """Puts of one actor instance not yet committed, coalesced (a later put of a key replaces
    an earlier one), and the calls whose results wait for them (they join the group's future)."""

    __slots__ = ("armed", "calls", "pending", "timed")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.pending: dict[str, str] = {}
        self.calls = 0  # calls that ended while this batch was open, their results held for it
        self.armed = False  # a look whether to commit it is scheduled
        #: Its calls (a positive count) when its commit was scheduled BATCH_HOLD from a look, if
        #: it was: it is committed then only if no call ended meanwhile (the same one runs on).
        self.timed = 0
