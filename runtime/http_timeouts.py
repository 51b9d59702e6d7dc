"""Read timeouts for ``serve``'s HTTP connections: slow clients cannot hold a connection open.

uvicorn times out idle keep-alive connections but not a client that sends its request slowly:
headers dribbled a byte a second, or a body that never completes, hold a connection (and, for
the body, a running handler) for as long as the client likes. This protocol, uvicorn's own
httptools protocol with a read deadline, answers 408 and closes the connection when

- the request line and headers have not all arrived ``header_timeout`` seconds after the
  connection opened, or after the previous response on a kept-alive connection started a new
  request;
- the body has not all arrived ``body_timeout`` seconds after the headers.

Both are set in ``raindrop.local.yaml`` (``http: {header_timeout: 10, body_timeout: 30}``).
"""

from __future__ import annotations

import asyncio
import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def _timeout_response(message: str) -> bytes:
    body = json.dumps({"error": message}).encode()
    return (
        b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
    )


class TimedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header and body read timeouts (class attributes, set
    per server by :func:`protocol_class`).

    A connection keeps at most one timer, and a request moves its deadline rather than the
    timer: arming and cancelling two timers per request cost a keep-alive connection more than
    a small handler. The timer, when it fires, compares the loop's clock with the deadline as it
    stands then: nothing awaited lets it lapse, a deadline moved later sets it again for then,
    and one passed answers 408. A request that ends in time thus costs two clock reads."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0

    _read_timer: asyncio.TimerHandle | None = None
    _timer_at = 0.0  # loop time the timer is set for
    _deadline: float | None = None  # loop time by which the awaited part must have arrived; None: none awaited
    _what = "headers"
    _seconds = 0.0

    def _arm(self, seconds: float, what: str) -> None:
        deadline = self.loop.time() + seconds
        self._deadline, self._what, self._seconds = deadline, what, seconds
        timer = self._read_timer
        if timer is None or deadline < self._timer_at:  # no timer, or one set too late for this
            if timer is not None:
                timer.cancel()
            self._set_timer(deadline)

    def _set_timer(self, moment: float) -> None:
        self._timer_at = moment
        self._read_timer = self.loop.call_at(moment, self._fire)

    def _disarm(self) -> None:
        self._deadline = None  # the timer, if set, lapses when it fires

    def _fire(self) -> None:
        self._read_timer = None
        deadline = self._deadline
        if deadline is None:
            return
        if deadline - self.loop.time() > 0.001:  # moved later since the timer was set
            self._set_timer(deadline)
            return
        self._deadline = None
        self._expired(self._what, self._seconds)

    def _expired(self, what: str, seconds: float) -> None:
        if self.transport.is_closing():
            return
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(_timeout_response(f"the request's {what} did not arrive within {seconds:g} s"))
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout, "headers")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._arm(self.header_timeout, "headers")

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._arm(self.body_timeout, "body")

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._deadline = None
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None
        super().connection_lost(exc)


def protocol_class(header_timeout: float, body_timeout: float) -> type[TimedHttpToolsProtocol]:
    """A protocol class with these timeouts, for ``uvicorn.Config(http=...)``."""
    return type(
        "TimedHttpToolsProtocol",
        (TimedHttpToolsProtocol,),
        {"header_timeout": header_timeout, "body_timeout": body_timeout},
    )
