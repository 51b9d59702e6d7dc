"""``env.tracer`` and ``env.annotation``, the platform's observability built-ins, recorded locally.

``env.tracer`` has OpenTelemetry's tracer shape (what the framework's ``Tracer`` type is)::

    with env.tracer.start_span("fetch-bills", {"congress": 119}) as span:
        span.set_attribute("count", 20)
        span.add_event("page", {"n": 1})
    result = await env.tracer.start_active_span("generate", lambda span: make_script(span))

An ended span is one entry in the app's run log (``kind="span"``, its attributes and events in
the detail, an exception it recorded as the error): logged by ``serve`` and shown in the
dashboard's runs. ``env.annotation`` keeps durable key/value notes about the app (``put``,
``get``, ``list``, ``delete``), each ``put`` also entered in the run log.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from runtime.backends.base import StateStore
from runtime.observers import RunRecord, describe_error

Record = Callable[[RunRecord], None]


def _text(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


class Span:
    """One timed unit of work (OpenTelemetry's ``Span`` methods, snake_case)."""

    def __init__(self, name: str, attributes: dict[str, Any] | None, record: Record, wall: float) -> None:
        self.name = name
        self.attributes: dict[str, Any] = dict(attributes or {})
        self.events: list[dict[str, Any]] = []
        self.status: tuple[str, str | None] = ("unset", None)
        self.error: str | None = None
        self._record = record
        self._wall = wall
        self._started = time.perf_counter()
        self._ended = False

    def set_attribute(self, key: str, value: Any) -> Span:
        self.attributes[key] = value
        return self

    def set_attributes(self, attributes: dict[str, Any]) -> Span:
        self.attributes.update(attributes)
        return self

    def add_event(self, name: str, attributes: dict[str, Any] | None = None) -> Span:
        self.events.append({"name": name, "attributes": dict(attributes or {})})
        return self

    def set_status(self, code: str, message: str | None = None) -> Span:
        """``code``: "ok", "error" or "unset" (OpenTelemetry's SpanStatusCode)."""
        self.status = (str(code).lower(), message)
        return self

    def record_exception(self, exc: BaseException) -> Span:
        self.error = describe_error(exc)
        return self

    def is_recording(self) -> bool:
        return not self._ended

    def end(self) -> None:
        if self._ended:
            return
        self._ended = True
        duration = (time.perf_counter() - self._started) * 1000
        failed = self.error is not None or self.status[0] == "error"
        parts = [_text(self.attributes)] if self.attributes else []
        parts += [f"event {e['name']} {_text(e['attributes'])}" for e in self.events]
        if self.status[1]:
            parts.append(f"status {self.status[0]}: {self.status[1]}")
        self._record(
            RunRecord(
                self.name, "span", self._wall, duration, "error" if failed else "ok", "; ".join(parts), self.error
            )
        )

    def __enter__(self) -> Span:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is not None:
            self.record_exception(exc)
            self.set_status("error", str(exc))
        self.end()

    async def __aenter__(self) -> Span:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(kind, exc, tb)


class Tracer:
    """``env.tracer``."""

    def __init__(self, record: Record, wall: Callable[[], float]) -> None:
        self._record = record
        self._wall = wall

    def start_span(self, name: str, attributes: dict[str, Any] | None = None) -> Span:
        """Start a span named ``name``; use it as a context manager or call ``end()``."""
        return Span(name, attributes, self._record, self._wall())

    async def start_active_span(
        self, name: str, fn: Callable[[Span], Any], attributes: dict[str, Any] | None = None
    ) -> Any:
        """Run ``fn(span)`` (a function or coroutine function) inside a span that ends with it;
        an exception it raises is recorded on the span and raised again."""
        with self.start_span(name, attributes) as span:
            result = fn(span)
            if inspect.isawaitable(result):
                result = await result
            return result


class Annotation:
    """``env.annotation``: durable key/value notes about the app."""

    NAMESPACE = "_annotations"

    def __init__(self, store: StateStore, app: str, record: Record, wall: Callable[[], float]) -> None:
        self._store = store
        self._app = app
        self._record = record
        self._wall = wall

    async def put(self, key: str, value: Any) -> None:
        """Attach ``value`` to ``key`` in the application's annotations."""
        await self._store.put(self.NAMESPACE, self._app, {str(key): json.dumps(value, default=str)})
        self._record(RunRecord(str(key), "annotation", self._wall(), 0.0, "ok", _text(value)))

    async def get(self, key: str) -> Any:
        """The annotation at ``key``, or None."""
        found = await self._store.get(self.NAMESPACE, self._app, [str(key)])
        return json.loads(found[str(key)]) if str(key) in found else None

    async def list(self, prefix: str = "") -> dict[str, Any]:
        """Annotations under ``prefix``."""
        rows = await self._store.list(self.NAMESPACE, self._app, prefix=prefix)
        return {key: json.loads(value) for key, value in rows}

    async def delete(self, key: str) -> bool:
        """Delete the annotation at ``key``."""
        return bool(await self._store.delete(self.NAMESPACE, self._app, [str(key)]))
