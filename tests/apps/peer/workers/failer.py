"""Fails every message, so that it is retried and then dead-lettered."""

from __future__ import annotations

from typing import Any

from runtime import Each
from runtime.queue import Message

SEEN: list[dict[str, Any]] = []


class Failer(Each):
    async def process(self, message: Message) -> None:
        SEEN.append({"body": message.body, "attempts": message.attempts})
        raise RuntimeError(f"cannot process {message.body}")
