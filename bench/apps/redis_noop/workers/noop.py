"""A no-op job that reports in: it counts itself and stamps its start time in Redis, as the peers' jobs do."""

from __future__ import annotations

import os
import time

import redis.asyncio as aioredis

from runtime import Each
from runtime.queue import Message

REDIS = aioredis.from_url(os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14"))


class Noop(Each):
    async def process(self, message: Message) -> None:
        if message.body.get("stamp"):
            await REDIS.set("bench:started", repr(time.time()))
        await REDIS.incr("bench:done")
