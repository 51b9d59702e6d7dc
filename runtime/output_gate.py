"""The output gate of actor calls: what a call lets out waits for the puts it made.

A put made during an actor call returns at once; the call's result is released only once the
put is committed (:class:`runtime.actor_storage.Storage`). Effects others can see, made during
the call, wait the same way (:func:`before_effect`): a queue send, a KV, SQL or bucket write, a
call to another actor or service. So a queue consumer never sees a message sent after a put that could
still be lost, as on the platform, where an object's outgoing messages wait for its writes.
"""

from __future__ import annotations

from collections.abc import Coroutine
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

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
