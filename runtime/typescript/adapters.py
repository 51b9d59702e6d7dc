"""Python handler classes that hand each call to the TypeScript handler in the Node child.

They are what the loader returns for a TypeScript resource, so the runtime drives them as it
drives Python handlers: the observers' consumer loops decide acks, retries and dead letters,
the scheduler fires tasks, the actor host owns actors and their alarms.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from runtime.handlers import Actor, Batch, Each, Service, Task
from runtime.manifest.model import Actor as ActorBlock
from runtime.manifest.model import CodeResource, Observer, ScheduleSource
from runtime.manifest.model import Service as ServiceBlock
from runtime.typescript.calls import READ_ACK
from runtime.typescript.host import TypeScriptError

if TYPE_CHECKING:
    from runtime.queue import Message, MessageBatch
    from runtime.scheduler import ScheduledEvent
    from runtime.typescript.runner import TypeScriptApp


#: A request body larger than this (or of unknown length) is streamed to Node as it arrives.
STREAM_OVER = 256 * 1024


async def request_parts(request: Request, *, stream: bool = False) -> tuple[list[Any], AsyncIterator[bytes] | None]:
    """Method, URL (its path as the client sent it: ``%2F`` stays encoded), headers as one NUL-separated text (one decode here
    and one split in Node, not a JSON pair per header), body; and, when ``stream`` allows it and
    the body is large or chunked, the body's chunks to send as they arrive (the body is then None)."""
    scope = request.scope
    raw = scope["headers"]
    flat = b"\0".join(part for pair in raw for part in pair).decode("latin-1")
    host = length = None
    for key, value in raw:
        if key == b"host":
            host = value.decode("latin-1")
        elif key == b"content-length":
            length = value
    chunks = body = None
    method = scope["method"]
    if method != "GET" and method != "HEAD":  # Node gives these no body: not read here either
        if stream and (
            any(k == b"transfer-encoding" for k, _ in raw)
            if length is None
            else (length.isdigit() and int(length) > STREAM_OVER)
        ):
            chunks = request.stream()
        else:
            body = await request.body() or None
    if host is None:
        return [method, str(request.url), flat, body], chunks
    if not _good_host(host):
        raise BadHost(f"the Host header {host!r} is not a host name or address (with an optional port)")
    query = scope.get("query_string", b"")
    sent: bytes | None = scope.get("raw_path")  # as sent: %2F stays %2F, as on the platform
    path = _encoded(sent) if sent else f"{scope.get('root_path', '')}{scope['path']}"
    url = f"{scope.get('scheme', 'http')}://{host}{path}"
    return [method, f"{url}?{query.decode('latin-1')}" if query else url, flat, body], chunks


class BadHost(ValueError):
    """A request's Host header no URL can be made of: a 400, not the handler's business."""


#: What WHATWG URL parsing takes as an http host: a name without forbidden code points, an IPv6
#: address in brackets; then an optional port.
_HOST = re.compile(r"(?P<name>[A-Za-z0-9!$&'()*+,;=._~-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{0,5}))?")


def _good_host(host: str) -> bool:
    match = _HOST.fullmatch(host)
    if match is None or (match["port"] and int(match["port"]) > 65535):
        return False
    name = match["name"]
    try:
        if name.startswith("["):
            ipaddress.IPv6Address(name[1:-1])
        elif name.rstrip(".").rpartition(".")[2].isdigit():  # ends in a number: an IPv4 address
            ipaddress.IPv4Address(name.rstrip("."))
    except ValueError:
        return False
    return True


def _encoded(raw: bytes) -> str:
    """A raw request path as URL text: bytes outside ASCII percent-encoded, the rest as sent."""
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        return quote(raw, safe="!#$%&'()*+,/:;=?@[]~")


def bad_host(error: BadHost) -> Response:
    return JSONResponse({"error": str(error)}, status_code=400)


class _Answer(Response):
    """A response Node already made: status, raw headers and body as they are (Response's own
    ``__init__`` renders and computes headers that would be thrown away here)."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status_code = status
        self.background = None
        self.body = body
        self.raw_headers = headers


class _Duplex(StreamingResponse):
    """An answer that streams while its request's body is still being read (a handler that
    echoes ``request.body``). Starlette's StreamingResponse reads ``receive`` meanwhile to notice
    a client leaving, which would take the body's chunks from the request reading them; here the
    body's own reader notices instead (the read fails, Node's stream errors, the answer ends)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.stream_response(send)


def python_response(value: dict[str, Any]) -> Response:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in value["h"] if k.lower() != "content-length"]
    body: bytes = value["b"] if isinstance(value["b"], bytes) else (value["b"] or "").encode()
    if not value.get("more"):
        headers.append((b"content-length", str(len(body)).encode()))
        return _Answer(value["s"], headers, body)
    queue: asyncio.Queue[bytes | Exception | None] = value["queue"]

    pump: asyncio.Future[None] | None = value.get("pump")
    abandon: Callable[[], None] = value["abandon"]
    ack: Callable[[int], None] = value["ack"]

    async def chunks() -> AsyncIterator[bytes]:
        ended = False
        read = acked = 0
        try:
            if body:
                yield body
            while True:
                chunk = await queue.get()
                if chunk is None:
                    ended = True
                    return
                if isinstance(chunk, Exception):  # an error, not a truncated success
                    ended = True
                    raise chunk
                read += len(chunk)
                if read - acked >= READ_ACK:  # Node reads the handler's stream a window ahead of this
                    acked = read
                    ack(read)
                yield chunk
        finally:  # the answer ended (or its client left): what is left of the request body is not sent
            if pump is not None and not pump.done():
                pump.cancel()
            if not ended:  # its reader left before the end: the handler's stream is cancelled
                abandon()

    streaming = (StreamingResponse if pump is None else _Duplex)(chunks(), status_code=value["s"])
    streaming.raw_headers = headers
    return streaming


def _message(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "ts": message.timestamp.timestamp() * 1000,
        "body": message.body,
        "attempts": message.attempts,
    }


def _settle(messages: list[Message], outcome: dict[str, Any]) -> None:
    for message, decision in zip(messages, outcome["d"], strict=True):
        if decision is None:
            continue
        if decision[0] == "ack":
            message.ack()
        else:
            message.retry(delay_seconds=decision[1])
    error = outcome.get("e")
    if error:
        raise TypeScriptError(error["name"], error["message"], error.get("stack", ""))


def adapter_class(ts: TypeScriptApp, resource: CodeResource, info: dict[str, Any]) -> type:
    """The Python handler class of the TypeScript ``resource`` (``info``: what Node found in it)."""
    name = resource.name
    methods: list[str] = info.get("methods") or []
    if isinstance(resource, ActorBlock):
        return _actor_class(ts, resource, methods)
    if (isinstance(resource, Observer) and isinstance(resource.source, ScheduleSource)) or resource.kind == "task":

        class TypeScriptTask(Task):
            async def handle(self, event: ScheduledEvent) -> None:
                await ts.host.request(
                    {
                        "t": "task",
                        "r": name,
                        "ev": {"cron": event.cron, "type": event.type, "scheduledTime": event.scheduled_time},
                    }
                )

        return TypeScriptTask
    if isinstance(resource, Observer):
        if info.get("base") == "Batch":

            class TypeScriptBatch(Batch):
                async def process(self, batch: MessageBatch) -> None:
                    outcome = await ts.host.request(
                        {
                            "t": "msgs",
                            "r": name,
                            "batch": True,
                            "queue": batch.queue,
                            "ms": [_message(m) for m in batch.messages],
                        }
                    )
                    _settle(batch.messages, outcome)

            return TypeScriptBatch

        class TypeScriptEach(Each):
            async def process(self, message: Message) -> None:
                outcome = await ts.host.request({"t": "msgs", "r": name, "batch": False, "ms": [_message(message)]})
                _settle([message], outcome)

        return TypeScriptEach

    declared = resource.env if isinstance(resource, ServiceBlock) else ()

    class TypeScriptService(Service):
        def __init__(self, env: Any, ctx: Any = None) -> None:
            super().__init__(env, ctx)
            if declared:  # env blocks nested in the service: its env in Node has them too
                values = env.bindings()
                ts.host.preset({"t": "own", "r": name, "vars": {var.name: values.get(var.name) for var in declared}})

        async def fetch(self, request: Request) -> Response:
            try:
                parts, chunks = await request_parts(request, stream=True)
            except BadHost as exc:
                return bad_host(exc)
            message: dict[str, Any] = {"t": "fetch", "r": name, "q": parts}
            if chunks is not None:
                message["st"] = 1
            value = await ts.host.request(message, chunks)
            return python_response(value)

    for method in methods:
        if method != "fetch":
            setattr(TypeScriptService, method, _rpc(ts, name, method))
    return TypeScriptService


def _rpc(ts: TypeScriptApp, name: str, method: str) -> Callable[..., Coroutine[Any, Any, Any]]:
    async def call(self: Service, *args: Any) -> Any:
        answer = await ts.host.request({"t": "rpc", "r": name, "m": method, "a": list(args)})
        return answer["v"]

    call.__name__ = method
    return call


def _actor_class(ts: TypeScriptApp, resource: ActorBlock, methods: list[str]) -> type:
    name = resource.name

    class TypeScriptActor(Actor):
        def __init__(self, state: Any, env: Any) -> None:
            super().__init__(state, env)
            self._handle = ts.bridge.register(state.storage)
            self._fresh = True

        def _released(self) -> None:
            """Evicted (idle) or replaced: Node drops its instance, Python the storage handle."""
            ts.bridge.release(self._handle)
            ts.host.send({"t": "actorDrop", "r": name, "id": str(self.state.id), "h": self._handle})

        async def _call(self, method: str, args: list[Any], body: AsyncIterator[bytes] | None = None) -> Any:
            fresh, self._fresh = self._fresh, False
            actor = self.state.id
            message = {
                "t": "actor",
                "r": name,
                "cls": resource.class_name,
                "id": str(actor),
                "nm": actor.name,
                "h": self._handle,
                "m": method,
                "a": args,
                "fresh": fresh,
            }
            if body is not None:  # a large or chunked fetch body: streamed, as to a service
                message["st"] = 1
            return await ts.host.request(message, body)

    def make(method: str) -> Callable[..., Coroutine[Any, Any, Any]]:
        if method == "fetch":

            async def fetch(self: TypeScriptActor, request: Request) -> Response:
                try:
                    parts, chunks = await request_parts(request, stream=True)
                except BadHost as exc:
                    return bad_host(exc)
                return python_response(await self._call("fetch", parts, chunks))

            return fetch

        async def call(self: TypeScriptActor, *args: Any) -> Any:
            return await self._call(method, list(args))

        call.__name__ = method
        return call

    for method in methods:
        setattr(TypeScriptActor, method, make(method))
    TypeScriptActor.__name__ = resource.class_name
    return TypeScriptActor
