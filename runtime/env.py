"""The ``env`` object handed to handlers: one attribute per binding."""

from __future__ import annotations

import logging
from typing import Any

from runtime.applog import AppLogger
from runtime.manifest.schema import closest


class Env:
    """Bindings by name (``env.KV_CACHE``, ``env.JOBS``, ``env.API_KEY``) plus ``env.logger``.

    Reading an unknown name raises ``AttributeError`` that lists the closest declared binding.
    """

    def __init__(
        self,
        bindings: dict[str, Any],
        logger: logging.Logger | AppLogger | None = None,
        clock: Any = None,
        tracer: Any = None,
        annotation: Any = None,
    ) -> None:
        object.__setattr__(self, "_bindings", dict(bindings))
        if not isinstance(logger, AppLogger):
            logger = AppLogger(logger or logging.getLogger("raindrop.app"))
        object.__setattr__(self, "logger", logger)
        # env.clock: the runtime's clock (now(), datetime()); under test it is the fake clock.
        object.__setattr__(self, "clock", clock)
        object.__setattr__(self, "tracer", tracer)  # env.tracer and env.annotation: see runtime.tracing
        object.__setattr__(self, "annotation", annotation)

    def __getattr__(self, name: str) -> Any:
        bindings: dict[str, Any] = object.__getattribute__(self, "_bindings")
        try:
            return bindings[name]
        except KeyError:
            guess = closest(name, list(bindings))
            hint = f"; did you mean env.{guess}?" if guess else ""
            raise AttributeError(
                f"env has no binding {name!r}: the manifest declares none by that name{hint}"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("env is read-only: declare bindings in raindrop.manifest")

    def __contains__(self, name: str) -> bool:
        return name in object.__getattribute__(self, "_bindings")

    def __dir__(self) -> list[str]:
        return sorted([*object.__getattribute__(self, "_bindings"), "annotation", "clock", "logger", "tracer"])

    def bindings(self) -> dict[str, Any]:
        return dict(object.__getattribute__(self, "_bindings"))
