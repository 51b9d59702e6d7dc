"""Calls back into an actor call: an actor calling itself, or A calling B calling A back.

Calls on one actor id run one at a time, so a call that waits for a call back into itself would
wait forever. On the platform an object awaiting another's answer lets calls in; here the calls
of that chain come in (they run at once, inside the call that waits for them) and other callers
still wait their turn. :data:`INSIDE` is the chain of calls the current task runs inside.

Each call of a chain runs inside the one that waits for it, on one stack, so the chain is
bounded: a call :data:`MAX_DEPTH` calls deep is refused with a :class:`BindingError` naming the
actor and the depth, well before the interpreter's own recursion limit would end it in a bare
``RecursionError``.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

from runtime.errors import BindingError

if TYPE_CHECKING:
    from runtime.handlers import Actor


#: The deepest chain of actor calls one inside another (each call back in counts as one). A
#: level costs a few interpreter frames; 100 leaves room below the default recursion limit
#: (1,000) for the handlers' own frames.
MAX_DEPTH = 100


class Inside:
    """An actor call the current task runs inside (linked to the calls it runs within)."""

    __slots__ = ("depth", "instance", "key", "open", "outer")

    def __init__(self, key: tuple[str, str], instance: Actor, outer: Inside | None) -> None:
        self.key = key
        self.instance = instance
        self.outer = outer
        self.depth: int = 1 if outer is None else outer.depth + 1
        self.open = True  # until the call ends: work it left running is no longer inside it

    def find(self, key: tuple[str, str]) -> Inside | None:
        inside: Inside | None = self
        while inside is not None:
            if inside.key == key and inside.open:
                return inside
            inside = inside.outer
        return None


#: The actor calls the current task runs inside (a call to one of them runs inside it).
INSIDE: ContextVar[Inside | None] = ContextVar("raindrop_actor_inside", default=None)


def check_depth(outer: Inside | None, key: tuple[str, str], class_name: str) -> None:
    """Refuse a call on the actor ``key`` made inside ``outer`` when the chain would pass
    :data:`MAX_DEPTH`.

    :raises BindingError: naming the actor's class and id and the depth the call would run at.
    """
    if outer is not None and outer.depth >= MAX_DEPTH:
        raise BindingError(
            f"actor {class_name} ({key[0]!r}, id {key[1]!r}): a call {outer.depth + 1} calls deep "
            f"(actor calls inside actor calls, each call back in counted) passes the limit of "
            f"{MAX_DEPTH}; recursion through actor calls must end sooner"
        )
