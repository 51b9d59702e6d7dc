"""Services: each ``service`` block's handler answers HTTP through ``fetch``, and other modules
call it through ``env.SERVICE.fetch(request)`` or its public methods (``env.SERVICE.method()``).

A service's ASGI app turns a request into a Starlette ``Request``, awaits the handler's
``fetch`` and sends back its ``Response``. Mistakes become JSON errors with the right status,
never a dead server: a body over the limit is 413, a handler slower than the timeout 504, and
an exception in the handler a 500 (with the traceback logged). The 500 names the exception's
type and message only to a client on this machine (loopback), or to every client with
``debug: true`` in ``raindrop.local.yaml``: an exception's text often holds a query, a path or
a secret, and other clients get ``{"error": "internal error"}`` alone.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from runtime import structured
from runtime.applog import printable
from runtime.errors import BindingError, stray_cancel
from runtime.handlers import Service
from runtime.logs import RequestLog
from runtime.observers import RunRecord, describe_error
from runtime.output_gate import before_effect

log = logging.getLogger("raindrop.http")

MAX_BODY_BYTES = 100 * 1024 * 1024  # the platform's request body limit
REQUEST_TIMEOUT = 300.0


class _BodyTooLarge(Exception):
    pass


class ServiceRequest(Request):
    """The request a service's ``fetch`` gets: Starlette's, with a ``json()`` that fails on any
    malformed body with a ``ValueError`` (``json.JSONDecodeError``), also on one nested too deeply
    for Python to parse (``[[[[...`` 100,000 levels deep), which ``json.loads`` answers with a
    ``RecursionError``: a handler's ``except ValueError`` then answers 400, not 500."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads_json(await self.body())
        return self._json


def loads_json(data: bytes | str) -> Any:
    """``json.loads``, with nesting too deep to parse raised as ``json.JSONDecodeError``."""
    try:
        return json.loads(data)
    except RecursionError:
        raise json.JSONDecodeError("the JSON nests too deeply to parse", "", 0) from None


def error_response(status: int, error: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": error, **extra}, status_code=status)


class _Deadlines:
    """Request timeouts without a timer per request (arming and disarming one costs more than a
    small handler): one periodic check, a quarter of the timeout apart, cancels the handlers past
    their deadline, so a request times out between 1 and 1.25 timeouts after it started."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.period = min(1.0, max(0.01, timeout / 4))
        self._running: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._armed = False

    def enter(self) -> asyncio.Task[Any] | None:
        task = asyncio.current_task()
        if task is not None:
            loop = task.get_loop()
            self._running[task] = loop.time() + self.timeout
            if not self._armed:
                self._armed = True
                loop.call_later(self.period, self._check, loop)
        return task

    def leave(self, task: asyncio.Task[Any] | None) -> bool:
        """Forget ``task``; True when it was cancelled for running past its deadline."""
        if task is None:
            return False
        self._running.pop(task, None)
        if task in self._expired:
            self._expired.discard(task)
            return True
        return False

    def _check(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for task, deadline in list(self._running.items()):
            if deadline <= now and task not in self._expired:
                self._expired.add(task)
                task.cancel()
        self._armed = bool(self._running)
        if self._armed:
            loop.call_later(self.period, self._check, loop)


class ServiceApp:
    """The ASGI app of one service."""

    def __init__(
        self,
        name: str,
        handler: Service,
        *,
        max_body: int = MAX_BODY_BYTES,
        timeout: float = REQUEST_TIMEOUT,
        on_request: Callable[[RunRecord], None] | None = None,
        debug: bool = False,
        raise_exceptions: bool = False,
    ) -> None:
        # debug: every client gets the exception's type and message in a 500 (else loopback only)
        # raise_exceptions: a handler's exception propagates to the caller (tests) instead of a 500
        self.name = name
        self.debug = debug
        self.raise_exceptions = raise_exceptions
        self.handler = handler
        self.max_body = max_body
        self.timeout = timeout
        self.on_request = on_request
        self._deadlines = _Deadlines(timeout)
        # serve writes the per-request line directly (runtime.logs.request_writer); else logging
        self.request_log: RequestLog | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            await error_response(404, f"service {self.name!r} does not accept {scope['type']} connections")(
                scope, receive, send
            )
            return
        started = time.perf_counter()
        wall = time.time()
        length = _content_length(scope)
        if length is not None and length > self.max_body:
            response: Response = error_response(413, f"request body is {length} bytes; the limit is {self.max_body}")
        else:
            response = await self._respond(ServiceRequest(scope, self._limited(receive)))
        await response(scope, receive, send)
        duration = (time.perf_counter() - started) * 1000
        status = response.status_code
        path = scope.get("path", "")
        method = scope.get("method", "")
        if self.request_log is not None:
            self.request_log(self.name, method, path, status, duration)
        else:
            log.info("%s %s %s -> %d in %.1f ms", self.name, printable(method), printable(path), status, duration)
        if self.on_request is not None:
            outcome = "error" if status >= 500 else "ok"
            self.on_request(RunRecord(self.name, "request", wall, duration, outcome, f"{method} {path} {status}"))

    async def _respond(self, request: Request) -> Response:
        task = self._deadlines.enter()
        try:
            try:
                result = await self.handler.fetch(request)  # type: ignore[attr-defined]
            finally:
                timed_out = self._deadlines.leave(task)
        except asyncio.CancelledError as exc:
            if not timed_out or task is None:
                stray = stray_cancel(exc, f"service {self.name!r}")  # not cancelled: its code's failure
                if stray is None:
                    raise
                return self._failed(request, stray)
            task.uncancel()
            log.error(
                "service %s: %s %s took longer than %g s",
                self.name,
                request.method,
                printable(request.url.path),
                self.timeout,
            )
            return error_response(504, f"service {self.name!r} did not answer within {self.timeout:g} s")
        except _BodyTooLarge:
            return error_response(413, f"request body is larger than the limit of {self.max_body} bytes")
        except ClientDisconnect:  # the client went away mid-request: nothing to answer, nothing wrong here
            log.debug(
                "service %s: %s %s: the client disconnected", self.name, request.method, printable(request.url.path)
            )
            return error_response(499, "the client closed the connection")
        except Exception as exc:  # noqa: BLE001 - a handler's exception is a 500, never a dead server
            return self._failed(request, exc)
        if not isinstance(result, Response):
            log.error("service %s: fetch returned %s, not a Response", self.name, type(result).__name__)
            return error_response(
                500, f"service {self.name!r} returned {type(result).__name__} from fetch, not a Response"
            )
        return result

    def _failed(self, request: Request, exc: Exception) -> Response:
        """A handler's exception: a 500 (raised under test)."""
        log.error(
            "service %s: %s %s raised:\n%s", self.name, request.method, printable(request.url.path), describe_error(exc)
        )
        if self.raise_exceptions:
            raise exc
        if self.debug or _from_loopback(request.scope):
            return error_response(500, "internal error", detail=f"{type(exc).__name__}: {exc}")
        return error_response(500, "internal error")

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _BodyTooLarge
            return message

        return limited


def _from_loopback(scope: Scope) -> bool:
    """Whether the request's peer is this machine (a loopback address; the peer as the socket
    sees it: ``serve`` trusts no proxy headers)."""
    client = scope.get("client")
    if not client:
        return False
    try:
        address = ipaddress.ip_address(str(client[0]).split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class ServiceStub:
    """``env.<SERVICE>``: ``await fetch(request)`` and ``await method(...)`` on another service."""

    def __init__(self, name: str, handler: Callable[[], Service]) -> None:
        self._name = name
        self._handler = handler

    def __repr__(self) -> str:
        return f"<ServiceStub {self._name!r}>"

    async def fetch(self, request: Request | str, **init: Any) -> Response:
        """Call the service's ``fetch``. A URL string becomes a GET request (``method=``,
        ``headers=`` and ``body=`` may be given, as with the platform's ``new Request``)."""
        if isinstance(request, str):
            request = build_request(request, **init)
        effect = before_effect()  # during an actor call: its puts are stored first (the output gate)
        if effect is not None:
            await effect
        result = await self._handler().fetch(request)  # type: ignore[attr-defined]
        if not isinstance(result, Response):
            raise BindingError(f"service {self._name!r} returned {type(result).__name__} from fetch, not a Response")
        return result

    def __getattr__(self, method: str) -> Callable[..., Awaitable[Any]]:
        if method.startswith("_"):
            raise AttributeError(method)

        async def call(*args: Any, **kwargs: Any) -> Any:
            effect = before_effect()  # during an actor call: its puts are stored first (the output gate)
            if effect is not None:
                await effect
            handler = self._handler()
            function = getattr(handler, method, None)
            if function is None or not callable(function) or method in ("fetch",):
                raise BindingError(f"service {self._name!r} ({type(handler).__name__}) has no public method {method!r}")
            args = tuple(structured.clone(list(args), f"argument of {self._name}.{method}()"))
            kwargs = structured.clone(kwargs, f"keyword argument of {self._name}.{method}()")
            result = function(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return structured.clone(result, f"result of {self._name}.{method}()")

        return call


def build_request(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | str | AsyncIterator[bytes] | None = None,
) -> Request:
    """A Starlette ``Request`` for ``url``, for calling a service's ``fetch`` in process. ``body``
    may be chunks, read as the handler reads the request (without a length, the request says
    ``transfer-encoding: chunked``, as one from a client sending it in chunks)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    chunks = body if body is not None and not isinstance(body, bytes | str) else None
    payload = body.encode() if isinstance(body, str) else (body if isinstance(body, bytes) else b"")
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    raw_headers.append((b"host", (parts.netloc or "internal").encode()))
    if payload:
        raw_headers.append((b"content-length", str(len(payload)).encode()))
    elif chunks is not None and not any(k in (b"content-length", b"transfer-encoding") for k, _ in raw_headers):
        raw_headers.append((b"transfer-encoding", b"chunked"))
    scope = {
        "type": "http",
        "method": method.upper(),
        "scheme": parts.scheme or "http",
        "path": parts.path or "/",
        "raw_path": (parts.path or "/").encode(),
        "query_string": parts.query.encode(),
        "headers": raw_headers,
        "server": (parts.hostname or "internal", parts.port or 80),
        "client": ("127.0.0.1", 0),
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        if chunks is not None:  # a failed read of the chunks raises here, in the handler's read
            chunk = await anext(aiter(chunks), None)
            if chunk is not None:
                return {"type": "http.request", "body": chunk, "more_body": True}
        sent = True
        return {"type": "http.request", "body": payload, "more_body": False}

    return ServiceRequest(scope, receive)
