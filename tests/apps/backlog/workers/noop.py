"""A handler that never waits: a backlog of these must still let the loop breathe."""

from __future__ import annotations

from typing import Any

from runtime import Each

SEEN = [0]


class Noop(Each[Any]):
    async def process(self, message: Any) -> None:
        SEEN[0] += 1
