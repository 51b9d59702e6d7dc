"""The cron fire ledger on SQLite (table ``cron_fires``): batched claims and reads, and pruning.

The scheduler claims every fire of one wake-up in one statement (one commit, whatever the
number of schedules), and reads every schedule's latest fire in one query at start. A claim also
deletes the claimed schedules' records older than :data:`~runtime.backends.base.FIRE_RECORDS_KEPT`
(each schedule's latest stays, for ``last_fire``), so the table holds about an hour of fires
instead of growing forever; the delete seeks by primary key, so its cost follows the batch.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from runtime.backends.base import FIRE_RECORDS_KEPT

#: Claims per statement: SQLite's JSON and statement limits stay far away, a wake-up of 10,000
#: schedules is still one transaction.
CHUNK = 5000

_CLAIM = (
    "INSERT OR IGNORE INTO cron_fires (name, scheduled_at, fired_at) "
    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ?2 FROM json_each(?1) WHERE true "
    "RETURNING name, scheduled_at"
)
# Per claimed schedule, the records that are both scheduled and fired before the horizon, except
# its latest: a seek on (name, scheduled_at < horizon) that finds only what it deletes (a record
# kept for its recent fired_at is a catch-up's, gone within the hour).
_PRUNE = (
    "DELETE FROM cron_fires WHERE name IN (SELECT value FROM json_each(?1)) "
    "AND scheduled_at < ?2 AND fired_at < ?2 "
    "AND scheduled_at < (SELECT max(f.scheduled_at) FROM cron_fires AS f WHERE f.name = cron_fires.name)"
)
_LAST = "SELECT value, (SELECT max(f.scheduled_at) FROM cron_fires AS f WHERE f.name = value) FROM json_each(?1)"


def claim_fires(conn: sqlite3.Connection, claims: Sequence[tuple[str, float]], now: float) -> list[bool]:
    """Record each ``(name, scheduled_at)`` not yet recorded, in one transaction; True for those
    this call recorded (in ``claims``' order)."""
    if not claims:
        return []
    won: set[tuple[str, float]] = set()
    horizon = now - FIRE_RECORDS_KEPT
    names = json.dumps(sorted({name for name, _ in claims}))
    conn.execute("BEGIN IMMEDIATE")
    try:
        for start in range(0, len(claims), CHUNK):
            batch = json.dumps([[name, float(at)] for name, at in claims[start : start + CHUNK]])
            won.update((name, float(at)) for name, at in conn.execute(_CLAIM, (batch, now)).fetchall())
        conn.execute(_PRUNE, (names, horizon))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    granted = []
    for name, at in claims:  # a pair named twice in one call is won once, by its first
        key = (name, float(at))
        granted.append(key in won)
        won.discard(key)
    return granted


def last_fires(conn: sqlite3.Connection, names: Sequence[str]) -> dict[str, float]:
    """The latest recorded ``scheduled_at`` of each of ``names`` that has one."""
    found: dict[str, float] = {}
    for start in range(0, len(names), CHUNK):
        batch = json.dumps(list(names[start : start + CHUNK]))
        for name, at in conn.execute(_LAST, (batch,)):
            if at is not None:
                found[name] = float(at)
    return found
