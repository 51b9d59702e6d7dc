"""Run Raindrop apps locally: the manifest, bindings and handlers of the platform, in Python."""

from __future__ import annotations

from runtime.clock import Clock, FakeClock, SystemClock
from runtime.errors import (
    AppStateError,
    BackendError,
    BindingError,
    HandlerLoadError,
    LimitError,
    ManifestError,
    RaindropError,
    StorageValueError,
)

__all__ = [
    "AppStateError",
    "BackendError",
    "BindingError",
    "Clock",
    "FakeClock",
    "HandlerLoadError",
    "LimitError",
    "ManifestError",
    "RaindropError",
    "StorageValueError",
    "SystemClock",
]
