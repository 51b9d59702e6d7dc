"""Reads the dead-letter queue."""

from __future__ import annotations

from typing import Any

from runtime import Each
from runtime.queue import Message

SEEN: list[dict[str, Any]] = []


class DeadReader(Each):
    async def process(self, message: Message) -> None:
        SEEN.append({"body": message.body, "attempts": message.attempts})
