"""What a store's failure becomes: :class:`~runtime.errors.StorageError`, naming the store, and
one more of the backend's ``failed_writes`` when the call was a write.

Each store interface in :mod:`runtime.backends.base` names its read-only methods (``READS``);
every other public method may write. A backend's stores are decorated with the errors its
engine raises (sqlite3's, redis-py's and the socket's), so callers see one error type whatever
the backend, and ``serve`` knows whether anything acknowledged-to-be was lost."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from runtime.errors import StorageError

T = TypeVar("T")


class Counted(Protocol):
    """What a failure is counted on: the backend."""

    failed_writes: int


def storage_errors(
    errors: tuple[type[BaseException], ...], where: Callable[[Any], str]
) -> Callable[[type[T]], type[T]]:
    """A class decorator: every public coroutine method of the class raises StorageError for one
    of ``errors``, saying ``where(store)`` (which file or server) and which call failed. A method
    not in the class's ``READS`` counts one failed write on ``store._backend``; a StorageError
    from deeper down (a group commit, another method) was counted where it was raised."""

    def decorate(cls: type[T]) -> type[T]:
        reads: frozenset[str] = getattr(cls, "READS", frozenset())
        for name, method in list(vars(cls).items()):
            if name.startswith("_") or not inspect.iscoroutinefunction(method):
                continue
            setattr(cls, name, _wrap(method, name, name not in reads, errors, where))
        return cls

    return decorate


def _wrap(
    method: Callable[..., Awaitable[Any]],
    name: str,
    writes: bool,
    errors: tuple[type[BaseException], ...],
    where: Callable[[Any], str],
) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except errors as exc:
            if writes:
                backend: Counted = self._backend
                backend.failed_writes += 1
            raise StorageError(f"{where(self)}: {name} failed: {exc}") from None

    return wrapper
