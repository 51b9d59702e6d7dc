"""The SQLite backend's own concerns: state files written by earlier versions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

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
