"""Miniflare's "retries messages" consumer: what it does with a batch is set by the test."""

from __future__ import annotations

from typing import Any

from runtime import Batch
from runtime.queue import MessageBatch

BATCHES: list[list[Any]] = []
#: The test sets these: retry every message on its first delivery, raise on a first delivery,
#: retry the messages with these bodies on their first delivery (``retry_once``) or always.
PLAN: dict[str, Any] = {"retry_all": False, "error_all": False, "retry_once": [], "retry": []}


class Retrier(Batch):
    async def process(self, batch: MessageBatch) -> None:
        BATCHES.append([m.body for m in batch.messages])
        first = all(m.attempts == 1 for m in batch.messages)
        if PLAN["retry_all"] and first:
            batch.retry_all()
            return
        if PLAN["error_all"] and first:
            raise RuntimeError("Whoops!")
        for message in batch.messages:
            if message.body in PLAN["retry"] or (message.body in PLAN["retry_once"] and message.attempts == 1):
                message.retry()
