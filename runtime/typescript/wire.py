"""Frames between the runtime and its Node host: ``[u32 size][u32 json size][json][blobs]``.

Bytes travel as blobs (``[u32 size][bytes]``), marked ``{"$b": index}`` in the JSON, so a
1 MB value costs one copy, not JSON and base64.
"""

from __future__ import annotations

import dataclasses
import json
import struct
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from runtime.compact_json import compact_encoder

_U32 = struct.Struct("<I")
_TWO = struct.Struct("<II")


class _NotPlain(Exception):
    pass


def _refuse(value: Any) -> Any:
    raise _NotPlain


#: Most frames (a request without a body, a small answer) are plain JSON. A cycle ends in
#: RecursionError, and ``json.dumps`` below then reports it as a cycle.
_plain = compact_encoder(_refuse)


def encode(message: dict[str, Any]) -> bytes:
    """One frame (with its leading size) for ``message``."""
    try:
        plain = _plain(message)
    except (_NotPlain, RecursionError):
        pass
    else:
        return _TWO.pack(4 + len(plain), len(plain)) + plain
    blobs: list[bytes] = []

    def default(value: Any) -> Any:
        if isinstance(value, bytes | bytearray | memoryview):
            blobs.append(bytes(value))
            return {"$b": len(blobs) - 1}
        if isinstance(value, datetime):
            return value.isoformat()
        as_dict = getattr(value, "as_dict", None)
        if callable(as_dict):
            shaped = as_dict()
            body = getattr(value, "body", None)
            if isinstance(body, bytes):
                shaped["body"] = body
            if getattr(value, "range", None) is not None:
                shaped["range"] = value.range
            return shaped
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return dataclasses.asdict(value)
        if isinstance(value, set | frozenset | tuple):
            return list(value)
        raise TypeError(f"a {type(value).__name__} cannot be handed to TypeScript")

    text = json.dumps(message, default=default, separators=(",", ":")).encode()
    if not blobs:
        return _TWO.pack(4 + len(text), len(text)) + text
    parts = [b"", text]
    size = 4 + len(text)
    for blob in blobs:
        parts.append(_U32.pack(len(blob)))
        parts.append(blob)
        size += 4 + len(blob)
    parts[0] = _TWO.pack(size, len(text))
    return b"".join(parts)


#: Node's JSON.stringify text, parsed without ``json.loads``'s checks (its guess of the bytes'
#: encoding, stray whitespace): about half the time for a small answer.
_PARSE = json.JSONDecoder().raw_decode


def frames(buffer: bytearray) -> Iterator[tuple[Any, int]]:
    """The message of every whole frame in ``buffer`` (frames with their leading size), each
    with where the next frame starts (a partial frame at the end is left for the next read)."""
    at = 0
    end = len(buffer)
    while end - at >= 8:
        size, text = _TWO.unpack_from(buffer, at)
        after = at + 4 + size
        if after > end:
            return
        # a frame with blobs is copied out: its blobs become the message's bytes
        plain = text + 4 == size
        yield (_PARSE(buffer[at + 8 : after].decode())[0] if plain else decode(bytes(buffer[at + 4 : after]))), after
        at = after


def decode(frame: memoryview | bytes) -> Any:
    """The message of one frame (without its leading size)."""
    (size,) = _U32.unpack_from(frame, 0)
    message = _PARSE(bytes(frame[4 : 4 + size]).decode())[0]
    if 4 + size == len(frame):
        return message
    blobs = []
    at = 4 + size
    while at < len(frame):
        (length,) = _U32.unpack_from(frame, at)
        blobs.append(bytes(frame[at + 4 : at + 4 + length]))
        at += 4 + length
    return _place(message, blobs)


def _place(value: Any, blobs: list[bytes]) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get("$b"), int):
            return blobs[value["$b"]]
        return {k: _place(v, blobs) for k, v in value.items()}
    if isinstance(value, list):
        return [_place(v, blobs) for v in value]
    return value
