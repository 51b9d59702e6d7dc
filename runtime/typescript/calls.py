"""Binding calls from TypeScript whose bodies stream: a fetch of an actor or a service made in a
handler (``env.ACTOR.get(id).fetch(request)``, ``env.SVC.fetch(request)``; js/calls.mjs is the
other end). Node gives such a call a negative id. Its request body arrives in ``ci`` frames and
is read a window at a time (``ca`` acknowledges what was read); its answer's head goes back in
an ``r`` frame marked ``more``, the body in ``rc`` frames at most a window ahead of what Node has
read (``ra``), then ``re``, carrying the error when producing the body failed midway. Node's
``cc`` cancels the call at any point (its caller aborted, or cancelled the answer's body).
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
from collections.abc import AsyncIterable, AsyncIterator, Callable, Coroutine
from typing import Any

#: How far a streamed body may run ahead of what its reader has read.
WINDOW = 1024 * 1024
#: A body streamed from Node is acknowledged every this many bytes read (Node's own READ_ACK).
READ_ACK = 256 * 1024
#: What an acknowledgement says when the rest of a body is not wanted: Node stops sending it.
UNWANTED = 2**53 - 1


class Window:
    """Bytes of one streamed body sent to Node, and read there (its ``a``/``ra`` frames)."""

    def __init__(self) -> None:
        self.sent = 0
        self.read = 0
        self.moved = asyncio.Event()


class BodyError(Exception):
    """Reading a body streamed from TypeScript failed (its source threw there, or Node exited):
    the reader sees this, not a truncated body."""


@dataclasses.dataclass
class Streamed:
    """A binding call's answer whose body streams to Node as it is produced (a fetch of an actor
    or a service): ``head`` is status and headers, ``chunks`` the body."""

    head: dict[str, Any]
    chunks: AsyncIterable[bytes | str | memoryview]


class StreamedCalls:
    """The streamed binding calls in flight to one Node child. ``send`` writes a frame to it,
    ``connected`` says whether it is there, ``run`` answers a call (the host's path for every
    binding call, which hands a :class:`Streamed` answer to :meth:`answer`)."""

    def __init__(
        self,
        send: Callable[[dict[str, Any]], None],
        connected: Callable[[], bool],
        run: Callable[[dict[str, Any]], Coroutine[Any, Any, None]],
        tasks: set[asyncio.Task[Any]],
    ) -> None:
        self._send = send
        self._connected = connected
        self._run = run
        self._tasks = tasks  # the host's: cancelled when it stops
        self._calls: dict[int, asyncio.Task[None]] = {}
        self._bodies: dict[int, asyncio.Queue[bytes | BodyError | None]] = {}
        self._answers: dict[int, Window] = {}

    def open(self) -> int:
        """How many streamed calls, request bodies and answers are in flight."""
        return len(self._calls) + len(self._bodies) + len(self._answers)

    def start(self, message: dict[str, Any], context: contextvars.Context | None = None) -> None:
        """A fetch from TypeScript whose request body (``st``) arrives in ``ci`` frames and whose
        answer's body may stream back; Node's ``cc`` cancels it at any point. ``context``: that
        of the actor call the fetch is made in, if any."""
        call = message["i"]
        if message.get("st"):
            queue: asyncio.Queue[bytes | BodyError | None] = asyncio.Queue()
            self._bodies[call] = queue
            message["st"] = self._body(call, queue)
        task = asyncio.get_running_loop().create_task(self._run(message), context=context)
        self._tasks.add(task)
        self._calls[call] = task

        def done(task: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            self._calls.pop(call, None)
            if self._bodies.pop(call, None) is not None and self._connected():
                self._send({"t": "ca", "i": call, "read": UNWANTED})  # answered without reading it all

        task.add_done_callback(done)

    def body_arrived(self, message: dict[str, Any]) -> None:
        """A chunk (``b``), or the end (``end``, with ``e`` if the source failed), of a streamed
        call's request body."""
        body = self._bodies.get(message["i"])
        if body is not None:
            if not message.get("end"):
                body.put_nowait(message["b"])
            else:
                body.put_nowait(BodyError(message["e"]) if message.get("e") else None)

    def answer_read(self, message: dict[str, Any]) -> None:
        """Node read this much (``read``) of a streamed call's answer."""
        window = self._answers.get(message["i"])
        if window is not None:
            window.read = message["read"]
            window.moved.set()

    def cancel(self, message: dict[str, Any]) -> None:
        """The TypeScript caller aborted, or cancelled the answer's body."""
        call = self._calls.get(message["i"])
        if call is not None:
            call.cancel()

    def lost(self) -> None:
        """Node exited: request bodies fail, answers stop waiting for it."""
        for window in self._answers.values():
            window.moved.set()
        for body in self._bodies.values():
            body.put_nowait(BodyError("the Node process running the TypeScript handlers exited"))

    async def _body(self, call: int, queue: asyncio.Queue[bytes | BodyError | None]) -> AsyncIterator[bytes]:
        """The request body of streamed call ``call`` as it arrives; what is read is acknowledged
        (Node sends at most ``WINDOW`` ahead of it)."""
        read = acked = 0
        while True:
            chunk = await queue.get()
            if chunk is None:
                self._bodies.pop(call, None)
                return
            if isinstance(chunk, BodyError):
                self._bodies.pop(call, None)
                raise chunk
            read += len(chunk)
            if read - acked >= READ_ACK:
                acked = read
                self._send({"t": "ca", "i": call, "read": read})
            yield chunk

    async def answer(self, call: int, answer: Streamed, error: Callable[[Exception], dict[str, str]]) -> None:
        """``answer``'s head, then its body in ``rc`` frames (at most ``WINDOW`` ahead of what Node
        has read), then ``re``: with the error (as ``error`` spells it for Node), if producing
        the body failed midway."""
        window = self._answers[call] = Window()
        chunks = answer.chunks
        self._send({"t": "r", "i": call, "v": {**answer.head, "more": 1}})
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                if not self._connected():
                    return
                data = chunk if chunk.__class__ is bytes else chunk.encode() if isinstance(chunk, str) else bytes(chunk)
                self._send({"t": "rc", "i": call, "b": data})
                window.sent += len(data)
                while window.sent - window.read > WINDOW and self._connected():
                    window.moved.clear()
                    await window.moved.wait()
            self._send({"t": "re", "i": call})
        except Exception as exc:  # noqa: BLE001 - the reader in TypeScript gets it, not a truncated body
            self._send({"t": "re", "i": call, "e": error(exc)})
        finally:
            self._answers.pop(call, None)
            close = getattr(chunks, "aclose", None)
            if close is not None:  # the body's producer stops (cancelled: its own source is cancelled)
                await close()
