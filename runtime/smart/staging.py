"""Staging areas in a retrieval index that several processes write.

A large document's chunks are written in batches under a staging collection no search reads,
then swapped in by one short transaction (see :mod:`runtime.smart.indexer` and
:mod:`runtime.smart.memory_writer`). A process killed between the two leaves staged chunks
behind, which the next writer sweeps. Two processes share one index (``serve`` and a
``worker`` on one state folder), so the sweep must tell a dead writer's staging from a live
one's: each writer holds an exclusive ``flock`` on a file named by its token, in a folder beside
the index, for as long as it lives. The kernel drops the lock when the process dies, however it
dies (SIGKILL included), so a sweeper that can take a token's lock knows nobody is writing
under it. Staging with no lock file at all was left by a process that died before it made
one, or by a runtime older than this module: swept too.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

TOKEN_LENGTH = 12


class StagingArea:
    """One writer's staging area: collections named ``<prefix><token>:<collection>``."""

    def __init__(self, index: Path, prefix: str) -> None:
        self.prefix = prefix
        self.token = uuid.uuid4().hex[:TOKEN_LENGTH]
        self._folder = index.with_name(index.name + ".staging")
        self._fd: int | None = None

    def collection(self, collection: str) -> str:
        """Where ``collection``'s chunks are staged by this writer."""
        return f"{self.prefix}{self.token}:{collection}"

    def claim(self) -> None:
        """Take this writer's lock before it stages anything (blocking file calls: a thread)."""
        if self._fd is not None:
            return
        self._folder.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(self._folder / self.token, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a fresh random token: nobody else holds it
        self._fd = fd

    def release(self) -> None:
        """At close: the staging area is let go (anything left in it is another sweep's)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.unlink(self._folder / self.token)
        os.close(fd)

    def abandoned(self, conn: sqlite3.Connection) -> list[str]:
        """Tokens of staged chunks whose writer is gone (this writer's own never)."""
        end = self.prefix[:-1] + chr(ord(self.prefix[-1]) + 1)
        tokens = {  # in Python: SQLite's substr() stops at the prefix's NUL
            row[0][len(self.prefix) : len(self.prefix) + TOKEN_LENGTH]
            for row in conn.execute(
                "SELECT DISTINCT collection FROM chunks WHERE collection >= ? AND collection < ?", (self.prefix, end)
            )
        }
        if self._folder.is_dir():  # and lock files of writers that died before staging anything
            tokens.update(path.name for path in self._folder.iterdir())
        tokens.discard(self.token)
        return [token for token in sorted(tokens) if self._gone(token)]

    async def sweep(
        self,
        connection: Callable[[], sqlite3.Connection],
        lock: threading.Lock,
        delete_where: Callable[[str, tuple[Any, ...]], Awaitable[None]],
    ) -> None:
        """Delete what writers that are gone staged, through a writer's ``connection`` (held
        under its ``lock``, in a worker thread) and its batched ``delete_where``."""

        def find() -> list[str]:
            with lock:
                return self.abandoned(connection())

        for token in await anyio.to_thread.run_sync(find):
            await delete_where("collection >= ? AND collection < ?", self.bounds(token))
            self.forget(token)

    def bounds(self, token: str) -> tuple[str, str]:
        """The range of collection names token ``token`` staged under (for a DELETE)."""
        return f"{self.prefix}{token}:", f"{self.prefix}{token};"

    def forget(self, token: str) -> None:
        """After ``token``'s chunks are swept: its lock file goes too."""
        with contextlib.suppress(OSError):
            os.unlink(self._folder / token)

    def _gone(self, token: str) -> bool:
        if not token.isalnum():
            return True  # no writer of this runtime names a staging area so
        try:
            fd = os.open(self._folder / token, os.O_RDWR)
        except FileNotFoundError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its writer is alive
        finally:
            os.close(fd)  # closing drops a lock this call took
        return True
