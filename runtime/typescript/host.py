"""One supervised Node child per app process, running the app's TypeScript handlers.

The runtime and the child talk over a socketpair (the child's ``RAINDROP_TS_FD``) in frames
(:mod:`runtime.typescript.wire`). Requests go to Node (``fetch``, ``rpc``, ``msgs``, ``task``,
``actor``); Node's binding calls (``c``) come back and are answered by the Python bindings (an
actor's or a service's ``fetch`` with a negative id: its bodies stream both ways, see
:mod:`runtime.typescript.calls`). The child exits when the socket closes (its parent died
or stopped it); an unexpected exit fails the requests in flight and the child is started
again, with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from runtime.errors import NodeError
from runtime.output_gate import CALL
from runtime.typescript import wire
from runtime.typescript.calls import WINDOW, Streamed, StreamedCalls, Window
from runtime.typescript.process import JS as JS  # re-exported: the host scripts
from runtime.typescript.process import spawn_node

log = logging.getLogger("raindrop.typescript")

BACKOFF = (0.1, 0.5, 1.0, 2.0, 5.0)
#: After a request times out, Node must answer a ping within this many seconds, or it is
#: killed (a handler blocking it, or the process stopped) and started again.
PING_TIMEOUT = 10.0
CANCELLED = "the request that made this call timed out or was abandoned: the call was cancelled"


def _failed(pump: asyncio.Future[None] | None) -> BaseException | None:
    """What reading a streamed request body raised, once it has."""
    if pump is None or not pump.done() or pump.cancelled():
        return None
    return pump.exception()


class TypeScriptError(Exception):
    """What a TypeScript handler threw: its ``name``, message and source-mapped ``stack``."""

    def __init__(self, name: str, message: str, stack: str = "") -> None:
        self.js_name = name
        self.js_message = message
        self.stack = stack
        where = next((line.strip()[3:] for line in stack.splitlines() if line.strip().startswith("at ")), "")
        # One line (the last line of a traceback is what a dead letter's last_error keeps),
        # ending with the handler's own frame: the full source-mapped stack is in ``stack``.
        super().__init__(f"{name}: {message}" + (f" (at {where})" if where else ""))


Answer = Callable[[dict[str, Any]], Awaitable[Any]]


def _js_error(exc: Exception) -> dict[str, str]:
    """``exc`` as Node throws it: a TypeScript error as it was thrown there, else by its type."""
    if isinstance(exc, TypeScriptError):
        return {"name": exc.js_name, "message": exc.js_message}
    return {"name": type(exc).__name__, "message": str(exc)}


class _Connection(asyncio.Protocol):
    def __init__(self, host: NodeHost) -> None:
        self.host = host
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        # Every whole frame of the read, parsed where it lies (one read holds dozens of answers:
        # no copy of each, and the buffer is cut once, not once a frame).
        buffer = self.buffer
        buffer += data
        at = 0
        try:
            for message, at in wire.frames(buffer):  # noqa: B007 - at: how far the frames go
                self.host.received(message)
        finally:
            del buffer[:at]

    def connection_lost(self, exc: Exception | None) -> None:
        self.host.lost()


class NodeHost:
    """The Node child of one app process and the requests in flight to it."""

    def __init__(
        self,
        node: str,
        root: Path,
        answer: Answer,
        spawn: Callable[[Awaitable[Any]], Any],
        now: Callable[[], float] | None,
    ) -> None:
        self.node = node
        self.root = root
        self._answer = answer
        self._spawn = spawn
        #: An actor's ``waitUntil`` names its storage handle: what keeps that actor's lease while
        #: the work runs (see ``Storage._held_while``).
        self.holder: Callable[[int], Callable[[Awaitable[Any]], Awaitable[Any]] | None] | None = None
        self._now = now  # the fake clock's time, sent with every frame; None: Node's own clock
        self._process: asyncio.subprocess.Process | None = None
        self._transport: asyncio.Transport | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        #: The context of a request sent from within an actor call (its output gate, the calls it
        #: runs inside): the binding calls Node makes for that request run in it (``v`` frames).
        self._contexts: dict[int, contextvars.Context] = {}
        self._streams: dict[int, asyncio.Queue[bytes | Exception | None]] = {}
        self._waits: dict[int, asyncio.Future[None]] = {}
        self._windows: dict[int, Window] = {}
        self._ids = 0
        self._out: list[bytes] = []
        self._stopping = False
        self._setup: list[dict[str, Any]] = []  # init and env, sent again to a restarted child
        self._supervisor: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._calls: dict[int, list[asyncio.Task[Any]]] = {}  # binding calls of a pending request, by its id
        # Binding calls whose bodies stream (Node's ids for them are negative).
        self._streamed = StreamedCalls(self.send, lambda: self._transport is not None, self._call, self._tasks)
        self.restarts = 0
        #: Set while a Node child is up and set up: requests made meanwhile wait for it.
        self._up = asyncio.Event()
        self._watch: asyncio.Task[None] | None = None  # the ping after a request timed out
        self._failure: NodeError | None = None  # why the child was killed, for what was in flight

    def open_streams(self) -> int:
        """How many bodies stream to or from Node now, and streamed calls run (0: nothing left
        open once every stream has run its course)."""
        return self._streamed.open() + len(self._streams) + len(self._windows)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        await self._launch()
        self._up.set()
        self._supervisor = asyncio.create_task(self._supervise(), name="typescript host")

    async def _launch(self) -> None:
        self._process, ours = await spawn_node(self.node, self.root)
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_connection(lambda: _Connection(self), sock=ours)
        self._transport = transport

    async def setup(self, message: dict[str, Any]) -> Any:
        """Send ``message`` now and again to every restarted child; its answer."""
        self._setup.append(message)
        return await self.request(message)

    def preset(self, message: dict[str, Any]) -> None:
        """Send ``message`` now, without waiting for its answer, and again to every restarted
        child (frames arrive in order: it is in place before any request sent after it)."""
        self._setup.append(message)
        self.send({**message, "i": 0})

    async def request(
        self, message: dict[str, Any], body: AsyncIterator[bytes] | None = None, *, wait: bool = True
    ) -> Any:
        """Send a request to Node and wait for its answer; ``body``: chunks of a request body
        streamed after it (``in`` frames, at most ``WINDOW`` bytes ahead of what Node has read).
        While Node is being started again, the request waits for it (``wait``: False, for what
        sets the new child up).

        :raises TypeScriptError: what the handler threw.
        :raises NodeError: Node exited (or was killed) while it ran the request.
        """
        if wait and not self._up.is_set():
            await self._ready()
        self._ids += 1
        message["i"] = self._ids
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[self._ids] = future
        if CALL.get() is not None:
            self._contexts[self._ids] = contextvars.copy_context()
        self.send(message)
        pump = None if body is None else asyncio.ensure_future(self._pump(message["i"], body))
        streaming = False
        try:
            value = await future
            # An answer that streams while its request's body still arrives (a handler that
            # echoes request.body): the body goes on until the answer ends (see python_response).
            streaming = pump is not None and value.__class__ is dict and bool(value.get("more"))
        except TypeScriptError as exc:
            failed = _failed(pump)  # the body could not be read (too large, the client left): that is the answer
            if failed is not None:
                raise failed from exc
            raise
        except asyncio.CancelledError:  # timed out or abandoned: Node aborts the request's signal,
            for task in self._calls.pop(message["i"], ()):  # and its binding calls still running end
                task.cancel()
            if self._transport is not None:
                self.send({"t": "cancel", "i": message["i"]})
                if self._watch is None and not self._stopping:  # is Node still answering at all?
                    self._watch = asyncio.ensure_future(self._watchdog())
            raise
        finally:
            self._pending.pop(message["i"], None)
            self._contexts.pop(message["i"], None)
            self._calls.pop(message["i"], None)
            if pump is not None and not pump.done() and not streaming:  # answered before reading it all
                pump.cancel()
        failed = _failed(pump)
        if failed is not None:
            raise failed
        if streaming:
            value["pump"] = pump
        return value

    async def _pump(self, request: int, body: AsyncIterator[bytes]) -> None:
        window = self._windows[request] = Window()
        try:
            async for chunk in body:
                if not chunk:
                    continue
                if self._transport is None:
                    return
                self.send({"t": "in", "i": request, "b": chunk})
                window.sent += len(chunk)
                while window.sent - window.read > WINDOW and self._transport is not None:
                    window.moved.clear()
                    await window.moved.wait()
            self.send({"t": "in", "i": request, "end": 1})
        except asyncio.CancelledError:
            self.send({"t": "in", "i": request, "end": 1, "e": "the request was answered before its body was read"})
            raise
        except Exception as exc:  # the body is too large or the client went away: the handler's read fails
            self.send({"t": "in", "i": request, "end": 1, "e": f"reading the request body failed: {exc!r}"})
            raise  # and the request's answer is this error (see ``request``)
        finally:
            self._windows.pop(request, None)

    def stream(self, request: int) -> asyncio.Queue[bytes | Exception | None]:
        queue: asyncio.Queue[bytes | Exception | None] = asyncio.Queue()
        self._streams[request] = queue
        return queue

    def send(self, message: dict[str, Any]) -> None:
        if self._now is not None:
            message["n"] = round(self._now() * 1000)
        self._out.append(wire.encode(message))
        if len(self._out) == 1:
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        out, self._out = self._out, []
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(b"".join(out))

    def received(self, message: dict[str, Any]) -> None:
        kind = message["t"]
        if kind == "c":
            context = self._contexts.get(message["v"]) if "v" in message else None
            if message["i"] < 0:  # a fetch whose bodies stream, which Node may cancel
                self._streamed.start(message, context)
                return
            task = asyncio.get_running_loop().create_task(self._call(message), context=context)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            if message["i"] and message.get("v") in self._pending:  # not a notice (a log line)
                calls = self._calls.setdefault(message["v"], [])  # kept till the request ends
                calls.append(task)
                if len(calls) % 256 == 0:  # a long request (a stream) making calls all along
                    calls[:] = [call for call in calls if not call.done()]
        elif kind == "ok":
            future = self._pending.get(message["i"])
            if future is not None and not future.done():
                value = message.get("v")
                if value.__class__ is dict and value.get("more"):
                    value["queue"] = self.stream(message["i"])
                    value["abandon"] = self._abandoner(message["i"])
                    value["ack"] = self._acker(message["i"])
                future.set_result(value)
        elif kind == "err":
            future = self._pending.get(message["i"])
            error = message["e"]
            if future is not None and not future.done():
                future.set_exception(TypeScriptError(error["name"], error["message"], error.get("stack", "")))
        elif kind == "a":
            window = self._windows.get(message["i"])
            if window is not None:
                window.read = message["n"]
                window.moved.set()
        elif kind == "chunk":
            queue = self._streams.get(message["i"])
            if queue is not None:  # None: its reader left (see _abandoner)
                queue.put_nowait(message["b"])
        elif kind == "end":
            queue = self._streams.pop(message["i"], None)
            if queue is not None:  # with ``e``: what the handler's stream failed with midway
                error = message.get("e")
                queue.put_nowait(
                    TypeScriptError(error["name"], error["message"], error.get("stack", "")) if error else None
                )
        elif kind == "w":
            waiting: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waits[message["i"]] = waiting
            hold = self.holder(message["h"]) if "h" in message and self.holder is not None else None
            self._spawn(waiting if hold is None else hold(waiting))
        elif kind == "wd":
            done = self._waits.pop(message["i"], None)
            if done is not None and not done.done():
                if message.get("e"):
                    error = message["e"]
                    done.set_exception(TypeScriptError(error["name"], error["message"], error.get("stack", "")))
                else:
                    done.set_result(None)
        elif kind == "ci":  # a chunk, or the end, of a streamed call's request body
            self._streamed.body_arrived(message)
        elif kind == "ra":  # Node read this much of a streamed call's answer
            self._streamed.answer_read(message)
        elif kind == "cc":  # the TypeScript caller aborted, or cancelled the answer's body
            self._streamed.cancel(message)

    def _abandoner(self, request: int) -> Callable[[], None]:
        """What a streamed answer's reader calls when it stops before the end (its client left,
        or the request timed out): Node cancels the stream the handler writes."""

        def abandon() -> None:
            if self._streams.pop(request, None) is not None and self._transport is not None:
                self.send({"t": "cancel", "i": request})

        return abandon

    def _acker(self, request: int) -> Callable[[int], None]:
        """What a streamed answer's reader calls with how much it has read: Node reads the
        handler's stream at most a window ahead of it."""

        def ack(read: int) -> None:
            if request in self._streams and self._transport is not None:
                self.send({"t": "ack", "i": request, "read": read})

        return ack

    async def _call(self, message: dict[str, Any]) -> None:
        try:
            value = await self._answer(message)
            if value.__class__ is Streamed:
                await self._streamed.answer(message["i"], value, _js_error)
                return
        except asyncio.CancelledError:  # its request timed out: the awaiting handler is not left hanging
            if message["i"] and self._transport is not None:
                self.send({"t": "r", "i": message["i"], "e": {"name": "AbortError", "message": CANCELLED}})
            raise
        except Exception as exc:  # noqa: BLE001 - every binding error is thrown at the TypeScript call site
            if message["i"]:
                self.send({"t": "r", "i": message["i"], "e": {"name": type(exc).__name__, "message": str(exc)}})
            else:
                log.warning("TypeScript %s.%s failed: %s", message["b"], message["m"], exc)
            return
        if message["i"]:
            try:
                self.send({"t": "r", "i": message["i"], "v": value})
            except (TypeError, ValueError) as exc:
                self.send({"t": "r", "i": message["i"], "e": {"name": "BindingError", "message": str(exc)}})

    async def _ready(self) -> None:
        while not self._up.is_set() and not self._stopping:
            await self._up.wait()
        if self._stopping:
            raise NodeError("the TypeScript handlers are stopping")

    async def _watchdog(self) -> None:
        """After a request timed out: Node must answer a ping within ``PING_TIMEOUT`` seconds,
        else it is killed (a handler blocking it, or the process stopped) and started again."""
        process = self._process
        try:
            await asyncio.wait_for(self.request({"t": "ping"}, wait=False), PING_TIMEOUT)
        except TimeoutError:
            if process is self._process and process is not None and process.returncode is None and not self._stopping:
                log.error(
                    "the Node process of the TypeScript handlers did not answer for %g s: killing it", PING_TIMEOUT
                )
                self._failure = NodeError(
                    f"the Node process running the TypeScript handlers did not answer within {PING_TIMEOUT:g} s"
                    " after a request timed out (a handler blocking it, or the process stopped):"
                    " it was killed and is started again"
                )
                process.kill()
        except NodeError:
            pass  # it exited meanwhile: the supervisor starts it again
        finally:
            self._watch = None

    def lost(self) -> None:
        self._transport = None
        self._up.clear()
        failure = self._failure or NodeError("the Node process running the TypeScript handlers exited")
        self._failure = None
        for future in self._pending.values():
            if not future.done():
                future.set_exception(failure)
        for window in self._windows.values():
            window.moved.set()
        self._streamed.lost()
        for queue in self._streams.values():
            queue.put_nowait(failure)  # an answer streaming when Node died fails, it is not cut short
        self._streams.clear()
        for waiting in self._waits.values():
            if not waiting.done():
                waiting.set_exception(failure)
        self._waits.clear()

    async def _supervise(self) -> None:
        attempt = 0
        while not self._stopping:
            assert self._process is not None
            code = await self._process.wait()
            self._up.clear()
            if self._stopping:
                return
            delay = BACKOFF[min(attempt, len(BACKOFF) - 1)]
            log.error("the Node process of the TypeScript handlers exited (code %s); restarting in %g s", code, delay)
            await asyncio.sleep(delay)
            attempt += 1
            try:
                await self._launch()
                for message in self._setup:
                    await self.request(dict(message), wait=False)
                self.restarts += 1
                self._up.set()  # the requests that waited for it are sent now
                attempt = 0
            except Exception as exc:  # noqa: BLE001 - keep trying, with backoff
                log.error("restarting the Node process failed: %s", exc)

    async def stop(self) -> None:
        self._stopping = True
        self._up.set()  # what waits for a restarted child fails (see _ready)
        if self._watch is not None:
            self._watch.cancel()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        if self._transport is not None:
            self._transport.close()
        if self._process is not None and self._process.returncode is None:
            try:
                await asyncio.wait_for(self._process.wait(), 2.0)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        for task in list(self._tasks):
            task.cancel()
