"""Miniflare's delay-test consumer: reports the bodies of each batch it gets."""

from __future__ import annotations

from typing import Any

from runtime import Batch
from runtime.queue import MessageBatch

BATCHES: list[list[Any]] = []


class Reporter(Batch):
    async def process(self, batch: MessageBatch) -> None:
        BATCHES.append([m.body for m in batch.messages])
