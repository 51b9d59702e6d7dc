"""Calls back into an actor call: an actor calling itself, or A calling B calling A back.

Calls on one actor id run one at a time, so a call that waits for a call back into itself would
wait forever. On the platform an object awaiting another's answer lets calls in; here the calls
of that chain come in (they run at once, inside the call that waits for them) and other callers
still wait their turn. :data:`INSIDE` is the chain of calls the current task runs inside.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runtime.handlers import Actor


class Inside:
    """An actor call the current task runs inside (linked to the calls it runs within)."""

    __slots__ = ("instance", "key", "open", "outer")

    def __init__(self, key: tuple[str, str], instance: Actor, outer: Inside | None) -> None:
        self.key = key
        self.instance = instance
        self.outer = outer
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
