"""Run Raindrop apps locally: the manifest, bindings and handlers of the platform, in Python.

``import runtime`` is cheap: the errors are defined on import, every other public name (``App``,
the handler bases, the clocks, ``Message``) is imported from its module when first used, so a
handler module's ``from runtime import Each`` loads neither the app nor numpy. The binding
classes ``self.env`` holds are in :mod:`runtime.types`; ``runtime.__version__`` is the installed
package's version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runtime.errors import (
    AIError,
    AppStateError,
    BackendError,
    BackendURLError,
    BindingError,
    EmbeddingModelError,
    HandlerLoadError,
    LeaseLostError,
    LimitError,
    ManifestError,
    MigrationError,
    NodeError,
    RaindropError,
    SqlCommitError,
    SqlError,
    StorageError,
    StorageValueError,
)
from runtime.lazy import lazy_attributes

if TYPE_CHECKING:
    from runtime.app import App
    from runtime.clock import Clock, FakeClock, SystemClock
    from runtime.handlers import Actor, Batch, Each, Service, Task
    from runtime.queue import Message, MessageBatch

    __version__: str

__all__ = [
    "AIError",
    "Actor",
    "App",
    "AppStateError",
    "BackendError",
    "BackendURLError",
    "Batch",
    "BindingError",
    "Clock",
    "Each",
    "EmbeddingModelError",
    "FakeClock",
    "HandlerLoadError",
    "LeaseLostError",
    "LimitError",
    "ManifestError",
    "Message",
    "MessageBatch",
    "MigrationError",
    "NodeError",
    "RaindropError",
    "Service",
    "SqlCommitError",
    "SqlError",
    "StorageError",
    "StorageValueError",
    "SystemClock",
    "Task",
]

#: Where each name imported on first use is defined.
_LAZY: dict[str, str] = {
    "App": "runtime.app",
    "Clock": "runtime.clock",
    "FakeClock": "runtime.clock",
    "SystemClock": "runtime.clock",
    "Actor": "runtime.handlers",
    "Batch": "runtime.handlers",
    "Each": "runtime.handlers",
    "Service": "runtime.handlers",
    "Task": "runtime.handlers",
    "Message": "runtime.queue",
    "MessageBatch": "runtime.queue",
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("raindrop-runtime")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


if not TYPE_CHECKING:  # mypy reads the imports above; a __getattr__ would make every name Any
    __getattr__ = lazy_attributes(__name__, _LAZY, globals(), {"__version__": _version})


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | {"__version__"})
