"""What the SQLite stores share: the error wrapper, id lists for ``json_each``, key ranges."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from runtime.backends.failures import storage_errors


def prefix_end(prefix: str) -> str | None:
    """The least text above every text starting with ``prefix`` (None: there is none, or the
    prefix is empty): its last character moved up one code point, past the surrogates, which
    text never holds. ``prefix + "\\U0010ffff"`` would not do: it cuts off keys that continue
    with that character."""
    stripped = prefix.rstrip("\U0010ffff")
    if not stripped:
        return None
    following = ord(stripped[-1]) + 1
    return stripped[:-1] + chr(0xE000 if following == 0xD800 else following)


def _ids(ids: Sequence[str]) -> str:
    return json.dumps(list(ids))


def _where(store: Any) -> str:
    return f"state database {str(store._backend.path)!r}"


#: SQLite's failures (a full disk, an I/O error, a lock held too long) as StorageError.
sqlite_errors = storage_errors((sqlite3.Error,), _where)
