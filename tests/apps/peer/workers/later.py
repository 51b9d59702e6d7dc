"""Miniflare's retry-test consumer: reports each batch, then retries all of it."""

from __future__ import annotations

from typing import Any

from runtime import Batch
from runtime.queue import MessageBatch

BATCHES: list[list[Any]] = []


class Later(Batch):
    async def process(self, batch: MessageBatch) -> None:
        BATCHES.append([m.body for m in batch.messages])
        batch.retry_all()
