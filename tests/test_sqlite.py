"""The SQLite backend's own concerns: state files written by earlier versions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest

from runtime.backends import open_backend
from runtime.backends.sqlite import prefix_end

pytestmark = pytest.mark.anyio


async def test_a_messages_table_without_failed_attempts_gets_the_column(tmp_path: Path) -> None:
    """A file of the keyed layout from before dead letters kept their attempts: its dead letters
    read back (with no count), and new ones keep theirs."""
    old = sqlite3.connect(tmp_path / "state.db")
    old.executescript(
        """
        CREATE TABLE messages (queue TEXT NOT NULL, visible_at REAL NOT NULL, id TEXT NOT NULL,
            body BLOB NOT NULL, content_type TEXT NOT NULL, created_at REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, claimed INTEGER NOT NULL DEFAULT 0, last_error TEXT,
            origin TEXT, PRIMARY KEY (queue, visible_at, id)) WITHOUT ROWID;
        INSERT INTO messages VALUES ('jobs-dlq', 90, 'old', x'7b7d', 'json', 90, 0, 0, 'boom', 'jobs');
        INSERT INTO messages VALUES ('jobs', 100, 'new', x'7b7d', 'json', 100, 0, 0, NULL, NULL);
        """
    )
    old.close()
    backend = open_backend(f"sqlite:///{tmp_path / 'state.db'}")
    await backend.open()
    try:
        q = backend.queues
        await q.claim("jobs", 10, 100, 130)
        await q.dead_letter("jobs", "jobs-dlq", ["new"], ["again"])
        dead = await q.peek("jobs-dlq")
        assert [(m.id, m.attempts, m.failed_attempts) for m in dead] == [("old", 0, None), ("new", 0, 1)]
    finally:
        await backend.close()
    again = open_backend(f"sqlite:///{tmp_path / 'state.db'}")  # a second open finds the column there
    await again.open()
    await again.close()


@pytest.mark.parametrize(
    ("prefix", "end"),
    [
        ("", None),
        ("a", "b"),
        ("aé", "aê"),
        ("a\ud7ff", "a\ue000"),  # past the surrogates, which text never holds
        ("a\U0010ffff", "b"),
        ("\U0010ffff\U0010ffff", None),
    ],
)
def test_prefix_end_is_the_least_text_above_the_prefix(prefix: str, end: str | None) -> None:
    assert prefix_end(prefix) == end


async def test_a_version_2_file_gets_lease_epochs_and_its_old_leases_are_fenced(tmp_path: Path) -> None:
    """A state file from before fenced leases (schema version 2: actor_owners has no epoch or
    heartbeat) gains both columns and the current version; a lease it holds is taken over only once its
    holder stood still a lease long, with epoch 1, and writes under that lease are fenced."""
    from runtime.backends.base import Fence
    from runtime.backends.sqlite import APPLICATION_ID
    from runtime.errors import LeaseLostError

    old = sqlite3.connect(tmp_path / "state.db")
    old.executescript(
        f"""
        CREATE TABLE actor_owners (ns TEXT NOT NULL, actor TEXT NOT NULL, owner TEXT NOT NULL,
            lease_until REAL NOT NULL, PRIMARY KEY (ns, actor)) WITHOUT ROWID;
        INSERT INTO actor_owners VALUES ('ns', 'actor', 'old-process', 1e12);
        PRAGMA application_id = {APPLICATION_ID};
        PRAGMA user_version = 2;
        """
    )
    old.close()
    backend = open_backend(f"sqlite:///{tmp_path / 'state.db'}")
    await backend.open()
    try:
        s = backend.state
        assert await s.own_actor("ns", "actor", "new", 0, 0.2) == 0  # held (its far lease_until is not read)
        await anyio.sleep(0.3)
        assert await s.own_actor("ns", "actor", "new", 0, 0.2) == 1
        with pytest.raises(LeaseLostError):
            await s.put("ns", "actor", {"k": "1"}, Fence("old-process", 0))
        await s.put("ns", "actor", {"k": "2"}, Fence("new", 1))
        assert await s.get("ns", "actor", ["k"]) == {"k": "2"}
    finally:
        await backend.close()
    check = sqlite3.connect(tmp_path / "state.db")
    assert check.execute("PRAGMA user_version").fetchone() == (4,)  # and actor ids signed (tests/test_actor_ids.py)
    assert {"epoch", "beat"} <= {row[1] for row in check.execute("PRAGMA table_info(actor_owners)")}
    check.close()
