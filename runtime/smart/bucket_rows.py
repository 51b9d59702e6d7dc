"""The rows a SmartBucket keeps beside the retrieval index: each object's indexing state
(``smartbucket_documents``) and each search's pages (``smartbucket_searches``).

:class:`BucketRows` is the only code that knows these tables; ``SmartBucket`` asks it.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

__all__ = ["SCHEMA", "BucketRows", "page_of"]

SEARCH_TTL = 30 * 60  # seconds a search's pages stay readable by its request_id
MAX_SEARCHES = 200  # searches kept per bucket (the oldest go first)

SCHEMA = """
CREATE TABLE IF NOT EXISTS smartbucket_documents (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    partition TEXT NOT NULL,
    content_type TEXT,
    etag TEXT,
    size INTEGER,
    state TEXT NOT NULL,          -- pending, indexed, not_indexed, failed
    detail TEXT,
    chunks INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS smartbucket_searches (
    bucket TEXT NOT NULL,
    request_id TEXT NOT NULL,
    partition TEXT,
    input TEXT NOT NULL,
    results TEXT NOT NULL,        -- JSON list of SearchResult
    page_size INTEGER NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (bucket, request_id, partition)
) WITHOUT ROWID;
"""


class BucketRows:
    """The documents and searches of bucket ``bucket`` in the index's database ``conn``."""

    def __init__(self, conn: sqlite3.Connection, bucket: str) -> None:
        self.conn = conn
        self.bucket = bucket
        conn.executescript(SCHEMA)

    # -- documents ---------------------------------------------------------------------------------

    def pending(self, key: str, partition: str, content_type: str | None, etag: str, size: int, now: float) -> None:
        """Record ``key`` as stored and waiting to be indexed."""
        with self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO smartbucket_documents (bucket, key, partition, content_type, etag, size, "
                "state, detail, chunks, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', NULL, 0, ?)",
                (self.bucket, key, partition, content_type, etag, size, now),
            )

    def forget(self, key: str) -> None:
        """Drop ``key``'s row (the object was deleted)."""
        with self.conn:
            self.conn.execute("DELETE FROM smartbucket_documents WHERE bucket = ? AND key = ?", (self.bucket, key))

    def pending_keys(self) -> list[str]:
        """The keys still waiting to be indexed, oldest first."""
        rows = self.conn.execute(
            "SELECT key FROM smartbucket_documents WHERE bucket = ? AND state = 'pending' ORDER BY updated_at",
            (self.bucket,),
        )
        return [key for (key,) in rows.fetchall()]

    def placement(self, key: str) -> tuple[str, str] | None:
        """``(partition, content_type)`` of ``key``, or None when it has no row."""
        row = self.conn.execute(
            "SELECT partition, content_type FROM smartbucket_documents WHERE bucket = ? AND key = ?",
            (self.bucket, key),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def set_state(self, key: str, state: str, detail: str | None, chunks: int, now: float) -> bool:
        """Record an object's indexing state; False when the object is no longer known."""
        with self.conn:
            return (
                self.conn.execute(
                    "UPDATE smartbucket_documents SET state = ?, detail = ?, chunks = ?, updated_at = ? "
                    "WHERE bucket = ? AND key = ?",
                    (state, detail, chunks, now, self.bucket, key),
                ).rowcount
                > 0
            )

    def status(self, key: str | None) -> list[dict[str, Any]]:
        """The indexing state of ``key`` (or of every object when None), by key."""
        rows = self.conn.execute(
            "SELECT key, state, detail, chunks, content_type, size, partition FROM smartbucket_documents "
            "WHERE bucket = ?1 AND (?2 IS NULL OR key = ?2) ORDER BY key",
            (self.bucket, key),
        ).fetchall()
        names = ("key", "state", "detail", "chunks", "content_type", "size", "partition")
        return [dict(zip(names, row, strict=True)) for row in rows]

    def etags_and_types(self, keys: list[str]) -> dict[str, tuple[str | None, str | None]]:
        """``key -> (etag, content_type)`` for those of ``keys`` that have a row, read at once."""
        return {
            row[0]: (row[1], row[2])
            for row in self.conn.execute(
                "SELECT key, etag, content_type FROM smartbucket_documents WHERE bucket = ? "
                "AND key IN (SELECT value FROM json_each(?))",
                (self.bucket, json.dumps(keys)),
            )
        }

    # -- searches ----------------------------------------------------------------------------------

    def keep_search(
        self, request_id: str, partition: str | None, text: str, results: list[dict[str, Any]], size: int, now: float
    ) -> None:
        """Keep a search's results for its later pages; searches past ``SEARCH_TTL`` and past the
        ``MAX_SEARCHES`` newest of the bucket go."""
        with self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO smartbucket_searches (bucket, request_id, partition, input, results, page_size, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.bucket, request_id, partition or "", text, json.dumps(results), size, now),
            )
            self.conn.execute(
                "DELETE FROM smartbucket_searches WHERE bucket = ?1 AND (created_at < ?2 OR (request_id, partition) "
                "NOT IN (SELECT request_id, partition FROM smartbucket_searches WHERE bucket = ?1 "
                "ORDER BY created_at DESC LIMIT ?3))",
                (self.bucket, now - SEARCH_TTL, MAX_SEARCHES),
            )

    def search(self, request_id: str, partition: str | None, now: float) -> tuple[list[dict[str, Any]], int] | None:
        """``(results, page_size)`` of a search kept under ``request_id``, or None (unknown or expired)."""
        row = self.conn.execute(
            "SELECT results, page_size FROM smartbucket_searches WHERE bucket = ? AND request_id = ? AND partition = ? "
            "AND created_at >= ?",
            (self.bucket, request_id, partition or "", now - SEARCH_TTL),
        ).fetchone()
        return (json.loads(row[0]), int(row[1])) if row else None

    def set_page_size(self, request_id: str, partition: str | None, size: int) -> None:
        """The page size later pages of a search default to."""
        with self.conn:
            self.conn.execute(
                "UPDATE smartbucket_searches SET page_size = ? WHERE bucket = ? AND request_id = ? AND partition = ?",
                (size, self.bucket, request_id, partition or ""),
            )


def page_of(results: list[dict[str, Any]], number: int, size: int) -> dict[str, Any]:
    """Page ``number`` (from 1) of ``results``, ``size`` to a page, with the platform's pagination."""
    total = len(results)
    pages = (total + size - 1) // size
    start = (number - 1) * size
    return {
        "results": results[start : start + size],
        "pagination": {
            "total": total,
            "page": number,
            "page_size": size,
            "total_pages": pages,
            "has_more": number < pages,
        },
    }
