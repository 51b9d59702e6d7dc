"""Collects every batch it gets, for the peer tests to look at."""

from __future__ import annotations

from typing import Any

from runtime import Batch
from runtime.queue import MessageBatch

BATCHES: list[list[dict[str, Any]]] = []


class Collector(Batch):
    async def process(self, batch: MessageBatch) -> None:
        BATCHES.append([{"id": m.id, "body": m.body, "attempts": m.attempts} for m in batch.messages])
