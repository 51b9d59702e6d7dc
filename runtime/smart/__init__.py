"""The platform's smart components on a laptop: SmartBuckets that search, SmartMemory.

One retrieval engine (:mod:`runtime.smart.retrieval`) serves both: text extraction, chunking
with overlap, a lexical index (SQLite FTS5, BM25) and a vector index (embeddings from the
offline model in :mod:`runtime.smart.embeddings`), fused by reciprocal rank.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.buckets import Bucket
from runtime.smart.buckets import SmartBucket, Spawn
from runtime.smart.embeddings import shared
from runtime.smart.indexer import Indexer
from runtime.smart.memory import SmartMemory
from runtime.smart.memory_writer import MemoryWriter
from runtime.smart.retrieval import RetrievalIndex

if TYPE_CHECKING:
    from runtime.ai import AI

__all__ = ["SmartBucket", "SmartComponents", "SmartMemory"]

INDEX_FILE = "smart.sqlite"


class SmartComponents:
    """An app's smart resources and what they share: one retrieval index file in the app's
    local state (also when the backend is Redis: the index is this machine's), the embedder,
    ``env.AI``."""

    def __init__(self, folder: Path, ai: AI, spawn: Spawn, now: Callable[[], float]) -> None:
        self.folder = folder
        self.ai = ai
        self._spawn = spawn
        self._now = now
        self._index: RetrievalIndex | None = None
        self._indexer: Indexer | None = None
        self._memory_writer: MemoryWriter | None = None
        self.buckets: dict[str, SmartBucket] = {}
        self.memories: dict[str, SmartMemory] = {}

    @property
    def index(self) -> RetrievalIndex:
        if self._index is None:
            self._index = RetrievalIndex(self.folder / INDEX_FILE)
        return self._index

    @property
    def indexer(self) -> Indexer:
        """The SmartBuckets' indexing queue and workers (off the event loop)."""
        if self._indexer is None:
            self._indexer = Indexer(self.folder / INDEX_FILE, shared(), self._spawn)
        return self._indexer

    @property
    def memory_writer(self) -> MemoryWriter:
        """The SmartMemories' writer (off the event loop, commits shared)."""
        if self._memory_writer is None:
            self._memory_writer = MemoryWriter(self.index)
        return self._memory_writer

    def bucket(self, name: str, inner: Bucket) -> SmartBucket:
        bucket = self.buckets[name] = SmartBucket(name, inner, self.index, shared(), self.ai, self.indexer, self._now)
        return bucket

    def memory(self, name: str) -> SmartMemory:
        memory = self.memories[name] = SmartMemory(name, self.index, shared(), self.ai, self._now, self.memory_writer)
        return memory

    def start(self) -> None:
        """Index what a previous process left pending; load the embedding model off the loop."""
        if not self.buckets and not self.memories:
            return
        import anyio

        self._spawn(anyio.to_thread.run_sync(shared().load))
        for bucket in self.buckets.values():
            bucket.resume()

    async def settle(self, grace: float) -> bool:
        """At stop: let indexing finish within ``grace`` seconds, then abandon the rest (it stays
        pending and is indexed at the next start). True when nothing was abandoned."""
        return await self._indexer.settle(grace) if self._indexer is not None else True

    def close(self) -> None:
        if self._memory_writer is not None:
            self._memory_writer.close()
            self._memory_writer = None
        if self._indexer is not None:
            self._indexer.close()
            self._indexer = None
        if self._index is not None:
            self._index.close()
            self._index = None

    def describe(self) -> dict[str, Any]:
        return {"index": str(self.folder / INDEX_FILE), "embeddings": shared().name}
