"""The queue binding (``env.QUEUE.send``) and the messages observers receive."""

from __future__ import annotations

import itertools
import json
import math
import os
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from runtime import structured
from runtime.arguments import utf8
from runtime.backends.base import NewMessage, QueueStore, StoredMessage
from runtime.clock import Clock
from runtime.compact_json import compact_encoder
from runtime.errors import BindingError, LimitError, StorageValueError
from runtime.naming import platform_names
from runtime.output_gate import before_effect

ContentType = Literal["json", "text", "bytes", "v8"]
CONTENT_TYPES = ("json", "text", "bytes", "v8")
MAX_MESSAGE_BYTES = 128_000  # as the platform (and Miniflare) count a message: 128 KB of 1,000 bytes
MAX_BATCH_MESSAGES = 100
MAX_BATCH_BYTES = 256_000
MAX_DELAY_SECONDS = 43_200


_sequence = itertools.count()
_random = random.Random(os.urandom(16))  # seeded once per process; ids need uniqueness, not secrecy
_compact_json = json.JSONEncoder(separators=(",", ":"))  # one encoder, not one per message
#: The same, its C encoder made once (a cycle ends in RecursionError: ``_compact_json`` then
#: encodes the body again to report it as a cycle).
_fast_json = compact_encoder(_compact_json.default)
_json_decoder = json.JSONDecoder()
#: The decoder's own scanner (an attribute the decoder sets on itself, not typed).
_scan_json: Callable[[str, int], tuple[Any, int]] = vars(_json_decoder)["scan_once"]
os.register_at_fork(after_in_child=lambda: _random.seed(os.urandom(16)))  # forked children must not share ids


def new_id(now: float) -> str:
    """A 32-hex-digit message id that sorts by send time: milliseconds, a per-process sequence
    (so sends within one millisecond keep their order), then 64 random bits."""
    # One format of one number rather than three (the same digits: 12 + 4 + 16).
    return f"{(int(now * 1000) << 80) | ((next(_sequence) & 0xFFFF) << 64) | _random.getrandbits(64):032x}"


def encode(queue: str, body: Any, content_type: str | None) -> tuple[bytes, str]:
    kind = content_type or "json"
    if kind not in CONTENT_TYPES:
        raise BindingError(f"queue {queue!r}: content_type must be one of {', '.join(CONTENT_TYPES)}, not {kind!r}")
    if kind == "text":
        if not isinstance(body, str):
            raise BindingError(f"queue {queue!r}: content_type 'text' needs a str body, not {type(body).__name__}")
        return utf8(body, f"queue {queue!r}: the text body"), kind
    if kind == "bytes":
        if not isinstance(body, bytes | bytearray | memoryview):
            raise BindingError(f"queue {queue!r}: content_type 'bytes' needs a bytes body, not {type(body).__name__}")
        return bytes(body), kind
    if kind == "v8":  # the platform's structured clone: dates, bytes, sets, maps, big ints, cycles
        try:
            return structured.dumps(body, f"queue {queue!r}: the v8 message body").encode(), kind
        except StorageValueError as exc:
            raise BindingError(str(exc)) from None
    try:
        try:
            return _fast_json(body), "json"
        except RecursionError:
            pass  # a cycle, or a body nested too deep: the full encoder tells which
        return _compact_json.encode(body).encode(), "json"
    except (TypeError, ValueError) as exc:
        raise BindingError(
            f"queue {queue!r}: message body is not JSON-serializable ({exc}); send JSON-like data, "
            "or pass content_type='text' or 'bytes'"
        ) from None


def decode(body: bytes, content_type: str) -> Any:
    if content_type == "bytes":
        return body
    if content_type == "text":
        return body.decode()
    if content_type == "v8":
        return structured.loads(body)
    text = body.decode()  # str in: no encoding detection per message
    try:
        value, end = _scan_json(text, 0)  # the C scanner alone: most bodies are one value, nothing around it
        if end == len(text):
            return value
    except (StopIteration, ValueError):
        pass
    return _json_decoder.decode(text)  # whitespace around the value, or not JSON: the full decoder says which


@platform_names
class Queue:
    """A queue, as ``env.<NAME>``: ``send`` and ``send_batch``. A send is durable when it returns."""

    def __init__(self, name: str, store: QueueStore, clock: Clock, notify: Callable[[str, float], None]) -> None:
        self.name = name
        self._store = store
        self._clock = clock
        self._notify = notify

    def __repr__(self) -> str:
        return f"<Queue {self.name!r}>"

    async def send(
        self, body: Any, *, content_type: ContentType | None = None, delay_seconds: float | None = None
    ) -> None:
        """Enqueue one message.

        :param content_type: "json" (the default), "text", "bytes" or "v8" (a structured
            clone: see :mod:`runtime.structured`).
        :param delay_seconds: deliver no sooner than this many seconds from now (at most 43,200).
        :raises BindingError: for a body the content type cannot carry.
        :raises LimitError: for a message over 128 KB or a delay over 12 hours.
        """
        message = self._message(body, content_type, delay_seconds, self._clock.time())
        effect = before_effect()  # during an actor call: its puts are stored first (the output gate)
        if effect is not None:
            await effect
        await self._store.send(self.name, [message])
        self._notify(self.name, message.visible_at)

    async def send_batch(self, messages: Iterable[Mapping[str, Any]], *, delay_seconds: float | None = None) -> None:
        """Enqueue up to 100 messages atomically. Each is ``{"body": ..., "content_type"?: ..., "delay_seconds"?: ...}``.

        :raises LimitError: for more than 100 messages or more than 256 KB in all.
        """
        now = self._clock.time()
        batch = []
        for index, item in enumerate(messages):
            if not isinstance(item, Mapping) or "body" not in item:
                raise BindingError(
                    f"queue {self.name!r}: send_batch item {index} must be a mapping with a 'body', not {item!r:.60}"
                )
            unknown = set(item) - {"body", "content_type", "delay_seconds"}
            if unknown:
                raise BindingError(f"queue {self.name!r}: send_batch item {index} has unknown keys {sorted(unknown)}")
            batch.append(
                self._message(item["body"], item.get("content_type"), item.get("delay_seconds", delay_seconds), now)
            )
        if len(batch) > MAX_BATCH_MESSAGES:
            raise LimitError(f"queue {self.name!r}: send_batch takes at most 100 messages, not {len(batch)}")
        total = sum(len(m.body) for m in batch)
        if total > MAX_BATCH_BYTES:
            raise LimitError(f"queue {self.name!r}: send_batch carries {total} bytes; the limit is {MAX_BATCH_BYTES}")
        if not batch:
            return
        effect = before_effect()  # during an actor call: its puts are stored first (the output gate)
        if effect is not None:
            await effect
        await self._store.send(self.name, batch)
        self._notify(self.name, min(m.visible_at for m in batch))

    def _message(self, body: Any, content_type: str | None, delay: float | None, now: float) -> NewMessage:
        data, kind = encode(self.name, body, content_type)
        if len(data) > MAX_MESSAGE_BYTES:
            raise LimitError(
                f"queue {self.name!r}: message length of {len(data)} bytes exceeds limit of {MAX_MESSAGE_BYTES} (128 KB)"
            )
        visible_at = now
        if delay is not None:
            if not isinstance(delay, int | float) or isinstance(delay, bool) or not math.isfinite(delay) or delay < 0:
                raise BindingError(f"queue {self.name!r}: delay_seconds must be a number >= 0, not {delay!r}")
            if delay > MAX_DELAY_SECONDS:
                raise LimitError(f"queue {self.name!r}: delay_seconds is at most 43200 (12 hours), not {delay}")
            visible_at = now + delay
        return NewMessage(new_id(now), data, kind, now, visible_at)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a handler decided for a message: ``ack``, or ``retry`` (after ``delay_seconds``,
    None for the observer's retry delay)."""

    action: Literal["ack", "retry"]
    delay_seconds: float | None = None


_ACK = Outcome("ack")


@dataclass(eq=False)
class Message:
    """One delivered message. Return from ``process`` to ack it, raise to retry it; an explicit
    ``ack()`` or ``retry()`` wins over both."""

    id: str
    timestamp: datetime
    body: Any
    attempts: int
    queue: str = ""
    _outcome: Outcome | None = field(default=None, repr=False)

    @classmethod
    def from_stored(cls, stored: StoredMessage) -> Message:
        """The message a consumer hands to ``process``, from its stored row."""
        return cls(  # by position (id, timestamp, body, attempts, queue): made for every delivery
            stored.id,
            datetime.fromtimestamp(stored.created_at, tz=UTC),
            decode(stored.body, stored.content_type),
            stored.attempts,
            stored.queue,
        )

    @property
    def outcome(self) -> Outcome | None:
        """The handler's explicit decision, if it made one (the last ``ack()``/``retry()`` wins).
        None: the consumer decides by how ``process`` ended (returned: ack; raised: retry)."""
        return self._outcome

    def ack(self) -> None:
        """Mark the message done: it will not be delivered again."""
        self._outcome = _ACK

    def retry(self, *, delay_seconds: float | None = None) -> None:
        """Deliver the message again, after ``delay_seconds`` (default: the observer's retry delay)."""
        if delay_seconds is not None:  # refused as the queue's send refuses them
            delay = delay_seconds
            if not isinstance(delay, int | float) or isinstance(delay, bool) or not math.isfinite(delay) or delay < 0:
                raise BindingError(f"retry delay_seconds must be a number >= 0, not {delay!r}")
            if delay > MAX_DELAY_SECONDS:
                raise LimitError(f"retry delay_seconds is at most {MAX_DELAY_SECONDS} (12 hours), not {delay}")
        self._outcome = Outcome("retry", delay_seconds)


@dataclass(eq=False)
class MessageBatch:
    """The messages handed to a ``Batch`` handler at once."""

    queue: str
    messages: list[Message]

    def ack_all(self) -> None:
        """Ack every message of the batch."""
        for message in self.messages:
            message.ack()

    def retry_all(self, *, delay_seconds: float | None = None) -> None:
        """Retry every message of the batch."""
        for message in self.messages:
            message.retry(delay_seconds=delay_seconds)
