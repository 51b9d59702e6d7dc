"""Encoding actor storage values and RPC arguments: the platform's structured clones, in Python.

Storable: ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``, ``datetime``, and lists,
tuples (read back as lists) and dicts with ``str`` keys of those. Anything else is refused with
an error naming its type and where it was found; nothing is pickled.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from runtime.errors import StorageValueError

_BYTES = "$raindrop:bytes"
_DATETIME = "$raindrop:datetime"


def _tag(value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return {"$raindrop:float": repr(value)}
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return {_BYTES: base64.b64encode(bytes(value)).decode()}
    if isinstance(value, datetime):
        return {_DATETIME: value.isoformat()}
    if isinstance(value, list | tuple):
        return [_tag(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        tagged = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise StorageValueError(f"{where} has a key of type {type(key).__name__} ({key!r}); keys must be str")
            tagged[key] = _tag(item, f"{where}[{key!r}]")
        return tagged
    raise StorageValueError(
        f"{where} is a {type(value).__module__}.{type(value).__qualname__}, which cannot be stored: use JSON-like "
        "data (dict, list, str, int, float, bool, None), bytes or datetime"
    )


def _untag(value: Any) -> Any:
    if isinstance(value, list):
        return [_untag(item) for item in value]
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, item),) = value.items()
            if key == _BYTES:
                return base64.b64decode(item)
            if key == _DATETIME:
                return datetime.fromisoformat(item)
            if key == "$raindrop:float":
                return float(item)
        return {k: _untag(v) for k, v in value.items()}
    return value


def dumps(value: Any, where: str = "value") -> str:
    """Encode ``value``; ``where`` names it in errors (e.g. ``"storage key 'profile'"``)."""
    return json.dumps(_tag(value, where), separators=(",", ":"))


def loads(text: str) -> Any:
    return _untag(json.loads(text))


def clone(value: Any, where: str = "value") -> Any:
    """A structured clone of ``value``: an independent copy, refused when not storable."""
    return loads(dumps(value, where))
