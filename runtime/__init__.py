"""Run Raindrop apps locally: the manifest, bindings and handlers of the platform, in Python."""

from __future__ import annotations

from runtime.app import App
from runtime.clock import Clock, FakeClock, SystemClock
from runtime.errors import (
    AppStateError,
    BackendError,
    BackendURLError,
    BindingError,
    HandlerLoadError,
    LeaseLostError,
    LimitError,
    ManifestError,
    RaindropError,
    StorageError,
    StorageValueError,
)
from runtime.handlers import Actor, Batch, Each, Service, Task
from runtime.queue import Message, MessageBatch

__all__ = [
    "Actor",
    "App",
    "AppStateError",
    "BackendError",
    "BackendURLError",
    "Batch",
    "BindingError",
    "Clock",
    "Each",
    "FakeClock",
    "HandlerLoadError",
    "LeaseLostError",
    "LimitError",
    "ManifestError",
    "Message",
    "MessageBatch",
    "RaindropError",
    "Service",
    "StorageError",
    "StorageValueError",
    "SystemClock",
    "Task",
]
