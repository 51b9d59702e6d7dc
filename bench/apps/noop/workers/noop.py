from __future__ import annotations

import time

from runtime import Each
from runtime.queue import Message

STARTS: list[float] = []  # the latency benchmark reads handler start times from here


class Noop(Each):
    async def process(self, message: Message) -> None:
        STARTS.append(time.perf_counter())
