"""Remembers each message it got (on this app's handler), after a pause given by the body."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from runtime import Each
from runtime.queue import Message


class Recorder(Each):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.seen: list[tuple[float, int]] = []  # (monotonic time, body's n)

    async def process(self, message: Message) -> None:
        await asyncio.sleep(message.body.get("pause", 0))
        self.seen.append((time.monotonic(), message.body["n"]))
