"""Queue schema experiment: SQLite's own CPU time a message, the state file's messages table
against a variant whose claim leaves the row where it is, in the same run.

    python bench/queue_schema.py [--messages 10000] [--passes 5]

``moved`` is the runtime's schema: messages keyed ``(queue, visible_at, id)``; a claim sets
``visible_at`` to the lease's end, which moves the row within that key. ``leased`` keeps the
key and adds a ``lease_until`` column covered by a partial index (``WHERE lease_until IS NOT
NULL``): a send still writes one B-tree, a claim overwrites the row in place and adds an index
entry, an ack deletes both, and a claim first looks for expired leases in that index. Each pass
sends ``--messages`` in one transaction, then claims (10, then 100 at a time) and acks each batch
in the same transaction as the next claim, as a consumer does. Process CPU time is measured, so
the figures hold on a busy machine better than wall time does.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path

TABLE = """CREATE TABLE messages (queue TEXT NOT NULL, visible_at REAL NOT NULL, id TEXT NOT NULL,
body BLOB NOT NULL, content_type TEXT NOT NULL, created_at REAL NOT NULL,
attempts INTEGER NOT NULL DEFAULT 0, claimed INTEGER NOT NULL DEFAULT 0, last_error TEXT,
origin TEXT, failed_attempts INTEGER, lease_until REAL, PRIMARY KEY (queue, visible_at, id)) WITHOUT ROWID"""
COLUMNS = "id, queue, body, content_type, created_at, attempts, last_error, origin, failed_attempts, visible_at"
MOVED_CLAIM = (
    "UPDATE messages SET attempts = attempts + 1, claimed = 1, visible_at = ?1 WHERE (queue, visible_at, id) IN "
    "(SELECT queue, visible_at, id FROM messages WHERE queue = ?2 AND visible_at <= ?3 ORDER BY visible_at, id "
    f"LIMIT ?4) RETURNING {COLUMNS}"
)
LEASED_EXPIRED = (
    "UPDATE messages SET attempts = attempts + 1, lease_until = ?1 WHERE (queue, visible_at, id) IN "
    "(SELECT queue, visible_at, id FROM messages WHERE queue = ?2 AND lease_until <= ?3 ORDER BY lease_until "
    f"LIMIT ?4) RETURNING {COLUMNS}"
)
LEASED_READY = (
    "UPDATE messages SET attempts = attempts + 1, lease_until = ?1 WHERE (queue, visible_at, id) IN "
    "(SELECT queue, visible_at, id FROM messages WHERE queue = ?2 AND visible_at <= ?3 AND lease_until IS NULL "
    f"ORDER BY visible_at, id LIMIT ?4) RETURNING {COLUMNS}"
)
# A batch's messages share their lease: moved, it is their key's visible_at; leased, the partial
# index finds them by it (their own visible_at differ). One statement a batch either way.
MOVED_ACK = "DELETE FROM messages WHERE queue = ? AND visible_at = ? AND id IN (SELECT value FROM json_each(?))"
LEASED_ACK = "DELETE FROM messages WHERE queue = ? AND lease_until = ? AND id IN (SELECT value FROM json_each(?))"


def one_pass(folder: Path, leased: bool, n: int, limit: int) -> tuple[float, float]:
    """CPU microseconds a message: sending, then claiming and acking."""
    conn = sqlite3.connect(folder / f"{leased}-{limit}.db", isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "temp_store=MEMORY"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute(TABLE)
    if leased:
        conn.execute("CREATE INDEX messages_leased ON messages (queue, lease_until) WHERE lease_until IS NOT NULL")
    start = time.process_time()
    conn.execute("BEGIN")
    for i in range(n):
        now = time.time()
        conn.execute(
            "INSERT INTO messages (queue, visible_at, id, body, content_type, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            ("q", now, f"{i:016x}", b'{"i":%d}' % i, "json", now),
        )
    conn.execute("COMMIT")
    sent = time.process_time()
    claimed: list[tuple[object, ...]] = []
    lease = 0.0
    while True:
        now = time.time()
        conn.execute("BEGIN IMMEDIATE")
        if claimed:
            conn.execute(LEASED_ACK if leased else MOVED_ACK, ("q", lease, json.dumps([row[0] for row in claimed])))
        lease = now + 30
        if leased:
            claimed = conn.execute(LEASED_EXPIRED, (lease, "q", now, limit)).fetchall()
            claimed += conn.execute(LEASED_READY, (lease, "q", now, limit - len(claimed))).fetchall()
        else:
            claimed = conn.execute(MOVED_CLAIM, (lease, "q", now, limit)).fetchall()
        conn.execute("COMMIT")
        if not claimed:
            break
    (left,) = conn.execute("SELECT count(*) FROM messages").fetchone()
    assert left == 0, left
    conn.close()
    return (sent - start) / n * 1e6, (time.process_time() - sent) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args()
    print(f"SQLite CPU time a message, {args.messages} messages, {args.passes} alternating passes")
    with tempfile.TemporaryDirectory() as tmp:
        for limit in (10, 100):
            results: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
            for p in range(args.passes):
                for leased in (False, True):
                    folder = Path(tmp) / f"p{p}"
                    folder.mkdir(exist_ok=True)
                    results[leased].append(one_pass(folder, leased, args.messages, limit))
            for leased, runs in results.items():
                sends = sorted(s for s, _ in runs)
                claims = sorted(c for _, c in runs)
                name = "leased" if leased else "moved"
                print(
                    f"  claim {limit:3}  {name:6}  send {sends[0]:.1f} to {sends[-1]:.1f} us   "
                    f"claim + ack {claims[0]:.1f} to {claims[-1]:.1f} us (median {claims[len(claims) // 2]:.1f})"
                )


if __name__ == "__main__":
    main()
