"""Errors raised by the runtime.

Every error the runtime raises on purpose derives from :class:`RaindropError`, so callers can
catch one class; a user mistake is always one of these and never a bare traceback::

    RaindropError
    ├── ManifestError          the manifest or raindrop.local.yaml is wrong (carries diagnostics)
    ├── HandlerLoadError       a handler module is missing, fails to import, or has no handler class
    ├── MigrationError         a file of an SQL database's migrations failed to apply
    ├── EmbeddingModelError    the offline embedding model (smart components) is missing or unreadable
    ├── BindingError           a binding was used wrongly (bad argument, value of the wrong type)
    │   ├── LimitError         a platform limit was exceeded (KV key size, TTL, message size...)
    │   ├── StorageValueError  an actor storage value cannot be stored (or a stored one read)
    │   ├── AIError            env.AI was given a model or inputs it cannot run, or its provider failed
    │   └── SqlError           an SQL statement failed (SQLite's reason and the statement)
    │       └── SqlCommitError   (also a StorageError) the transaction of a write was not committed
    ├── BackendError           the backend cannot be used (unreachable, unwritable)
    │   ├── BackendURLError    a backend URL the runtime does not understand (a usage error)
    │   └── StorageError       a write was not committed (disk full, I/O error): nothing of it was kept
    │       └── SqlCommitError
    ├── LeaseLostError         an actor call's process no longer holds that actor's lease: its write was refused
    ├── NodeError              Node is missing or too old for the app's TypeScript handlers
    └── AppStateError          the App was used in the wrong state (not started, already closed)

Each is importable from ``runtime`` and from here; the modules that raise them re-export theirs
(``runtime.sql.SqlError``, ``runtime.ai.AIError``...) so older imports keep working.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

    from runtime.manifest.diagnostics import Diagnostic


class RaindropError(Exception):
    """The root of every error the runtime raises on purpose."""


class ManifestError(RaindropError):
    """The manifest (or its local settings) has errors; ``diagnostics`` lists every one."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        errors = [d for d in self.diagnostics if d.severity == "error"]
        first = errors[0].headline() if errors else "manifest error"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first + more)

    def render(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)


class HandlerLoadError(RaindropError):
    """A handler module could not be found, imported, or holds no usable handler class."""


class BindingError(RaindropError):
    """A binding on ``env`` was called with arguments it cannot accept."""


class LimitError(BindingError):
    """A platform limit was exceeded; the message names the limit and how to lift it locally."""


class StorageValueError(BindingError):
    """A value given to actor storage is not storable (not a structured clone), or a stored
    value cannot be read back as one."""


class AIError(BindingError):
    """``env.AI.run`` was given a model or inputs it cannot run, or its provider failed."""


class SqlError(BindingError):
    """A statement failed; the message carries SQLite's reason and the statement."""


class MigrationError(RaindropError):
    """A migration file failed to apply; the message names the file."""


class EmbeddingModelError(RaindropError):
    """The offline embedding model is not installed, or its files cannot be read."""


class BackendError(RaindropError):
    """A backend URL is not understood, or the backend it names cannot be used."""


class BackendURLError(BackendError):
    """A backend URL names no backend the runtime knows (exit code 2 at the command line)."""


class StorageError(BackendError):
    """A write could not be committed (the disk is full, an I/O error, the file is locked too
    long). The call that wrote raises it; nothing of that write was kept, and reads go on working."""


class SqlCommitError(SqlError, StorageError):
    """The transaction holding a write could not be committed (a full disk, an I/O error):
    the runtime's storage error, raised in every writer of that group."""


class LeaseLostError(RaindropError):
    """An actor call's process no longer holds the lease of that actor id (it was paused or cut
    off past the lease, and another process took the actor over). The call's write (storage or
    alarm) was refused and nothing of it was kept; the call fails with this error, so its caller
    never hears of a write that was not stored. Calls made afterwards run on the new owner's
    instance, with the state it stored."""

    @classmethod
    def refused(cls, namespace: str, actor: str) -> LeaseLostError:
        """The error for a write to ``actor`` (an id) of the actor class ``namespace``."""
        return cls(
            f'actor "{namespace}" {actor[:12]}: this process no longer holds its lease (another process '
            "took it over while this call ran); the write was refused and nothing of it was stored"
        )


class NodeError(RaindropError):
    """Node is missing, too old, or its process cannot run the app's TypeScript handlers."""


class AppStateError(RaindropError):
    """The App was used before it started or after it closed."""


STRAY = "raised CancelledError without being cancelled (it awaited a task or future that was cancelled)"


def stray_cancel(exc: asyncio.CancelledError, what: str) -> RuntimeError | None:
    """A ``CancelledError`` that ``what`` raised though its task was not cancelled (its code
    awaited a task or future something else cancelled): the code's failure, as a RuntimeError
    caused by it. None when the task is being cancelled (then it is a cancel to pass on)."""
    import asyncio  # not at import: `import runtime` loads no event loop machinery

    task = asyncio.current_task()
    if task is not None and task.cancelling():
        return None
    failure = RuntimeError(f"{what} {STRAY}")
    failure.__cause__ = exc
    return failure
