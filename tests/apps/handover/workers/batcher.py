"""Remembers the batches it got (on this app's handler)."""

from __future__ import annotations

from typing import Any

from runtime import Batch
from runtime.queue import MessageBatch


class Batcher(Batch):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.batches: list[list[int]] = []

    async def process(self, batch: MessageBatch) -> None:
        self.batches.append([m.body["n"] for m in batch.messages])
