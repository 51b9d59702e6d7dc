"""Test worker: its behaviour is chosen by the message body."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from runtime import Each
from runtime.queue import Message


class JobWorker(Each):
    async def process(self, message: Message) -> None:
        body: dict[str, Any] = message.body
        action = body.get("action", "record")
        if action == "fail":
            raise RuntimeError(f"job {body['id']} failed on attempt {message.attempts}")
        if action == "fail-until" and message.attempts < body["succeed_on"]:
            raise RuntimeError(f"not yet (attempt {message.attempts})")
        if action == "retry-later" and message.attempts == 1:
            message.retry(delay_seconds=body["delay"])
            return
        if action == "ack-then-raise":
            message.ack()
            raise RuntimeError("raised after ack")
        if action == "slow":
            await asyncio.sleep(body["seconds"])
        if action == "wait-until":
            # Waits for the test to say go, so the handler is "running" for as long as the test likes.
            while await self.env.RESULTS.get("go") is None:
                await asyncio.sleep(0.001)
        record = {"attempts": message.attempts, "greeting": self.env.GREETING, "id": message.id}
        await self.env.RESULTS.put(f"done:{body['id']}", json.dumps(record))
