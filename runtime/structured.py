"""Encoding actor storage values, RPC arguments and ``v8`` queue bodies: the platform's
structured clones (the v8 serializer), in Python.

What the platform's clone keeps, and its Python spelling:

- ``None``, ``bool``, ``int`` (any size: a BigInt), ``float`` (``nan`` and infinities too), ``str``;
- ``bytes``, ``bytearray`` and ``memoryview`` (an ArrayBuffer; read back as ``bytes``);
- ``datetime`` and ``date`` (a Date); ``re.Pattern`` (a RegExp);
- ``list`` and ``tuple`` (an Array; read back as ``list``);
- ``dict`` (an object, or a Map when a key is not a ``str``; keys of any storable type);
- ``set`` and ``frozenset`` (a Set; read back as ``set`` and ``frozenset``);
- exceptions (an Error: its type when a built-in one, else ``Exception``, and its message);
- the same object reached twice, and cycles: the clone shares them as the original did.

Anything else (functions, classes, open files, arbitrary objects) is refused with an error naming
its type and where it was found (the platform's ``DataCloneError``); nothing is pickled.
"""

from __future__ import annotations

import base64
import builtins
import json
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from runtime.errors import StorageValueError

_TAG = "$raindrop:"
_BYTES = "$raindrop:bytes"
_DATETIME = "$raindrop:datetime"
_DATE = "$raindrop:date"
_FLOAT = "$raindrop:float"
_MAP = "$raindrop:map"
_SET = "$raindrop:set"
_FROZENSET = "$raindrop:frozenset"
_REGEXP = "$raindrop:regexp"
_ERROR = "$raindrop:error"
_OBJECT = "$raindrop:object"  # a dict whose only key happens to start with the tag
_REF = "$raindrop:ref"  # the n-th container seen, again
_CONTAINER = "$raindrop:container"  # a container others refer to: [its number, its value]
#: Types whose values are their own structured clone (immutable, and read back as the same type):
#: cloning one is returning it, and one encodes as plain JSON. Exact types only: a subclass of
#: str or int (an enum) is read back as its base type, so it goes through the full clone.
IMMUTABLE = frozenset({type(None), bool, int, float, str})
_INFINITIES = (float("-inf"), float("inf"))
#: ``json.dumps`` of a str (ASCII-escaped, quoted), the C function it calls, called directly.
_quoted: Callable[[str], str] = json.encoder.encode_basestring_ascii
_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


class _Encoder:
    def __init__(self) -> None:
        self.seen: dict[int, int] = {}  # id(container) -> its number
        self.shared: set[int] = set()  # numbers of containers reached more than once
        self.keep: list[Any] = []  # keeps the containers alive, so ids stay unique

    def tag(self, value: Any, where: str) -> Any:
        if value is None or isinstance(value, bool | int | str):
            return value
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                return {_FLOAT: repr(value)}
            return value
        if isinstance(value, bytes | bytearray | memoryview):
            return {_BYTES: base64.b64encode(bytes(value)).decode()}
        if isinstance(value, datetime):
            return {_DATETIME: value.isoformat()}
        if isinstance(value, date):
            return {_DATE: value.isoformat()}
        if isinstance(value, re.Pattern):
            flags = "".join(f for f, bit in _FLAGS.items() if value.flags & bit)
            return {_REGEXP: [value.pattern if isinstance(value.pattern, str) else value.pattern.decode(), flags]}
        if isinstance(value, BaseException):
            return {_ERROR: [type(value).__name__, str(value)]}
        if isinstance(value, list | tuple | dict | set | frozenset):
            number = self.seen.get(id(value))
            if number is not None:
                self.shared.add(number)
                return {_REF: number}
            number = self.seen[id(value)] = len(self.seen)
            self.keep.append(value)
            return {_CONTAINER: [number, self._container(value, where)]}
        if callable(value):
            raise StorageValueError(
                f"{where} is a function ({getattr(value, '__qualname__', type(value).__name__)}), which cannot be "
                "cloned (the platform's DataCloneError): pass data, not code"
            )
        raise StorageValueError(
            f"{where} is a {type(value).__module__}.{type(value).__qualname__}, which cannot be cloned: use "
            "JSON-like data (dict, list, str, int, float, bool, None), bytes, datetime, date, set, a dict with "
            "other keys (a Map), re.Pattern or an exception"
        )

    def _container(self, value: Any, where: str) -> Any:
        if isinstance(value, list | tuple):
            return [self.tag(item, f"{where}[{i}]") for i, item in enumerate(value)]
        if isinstance(value, set | frozenset):
            items = [self.tag(item, f"{where} item {item!r:.40}") for item in value]
            return {_FROZENSET if isinstance(value, frozenset) else _SET: items}
        if all(isinstance(key, str) for key in value):
            tagged = {key: self.tag(item, f"{where}[{key!r}]") for key, item in value.items()}
            if len(tagged) == 1 and next(iter(tagged)).startswith(_TAG):
                return {_OBJECT: tagged}
            return tagged
        return {
            _MAP: [
                [self.tag(k, f"{where} key {k!r:.40}"), self.tag(v, f"{where}[{k!r:.40}]")] for k, v in value.items()
            ]
        }

    def strip(self, value: Any) -> Any:
        """Drop the numbering of containers no one refers to twice (most of them)."""
        if isinstance(value, list):
            return [self.strip(item) for item in value]
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, item),) = value.items()
                if key == _CONTAINER:
                    number, inner = item
                    inner = self.strip(inner)
                    return {_CONTAINER: [number, inner]} if number in self.shared else inner
                if key == _OBJECT:  # the user's own keys: never read as tags
                    return {_OBJECT: {k: self.strip(v) for k, v in item.items()}}
            return {key: self.strip(item) for key, item in value.items()}
        return value


class _Decoder:
    def __init__(self) -> None:
        self.containers: dict[int, Any] = {}

    def untag(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.untag(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, item),) = value.items()
            if key.startswith(_TAG):
                return self._tagged(key, item)
        return {k: self.untag(v) for k, v in value.items()}

    def _tagged(self, key: str, item: Any) -> Any:
        if key == _BYTES:
            return base64.b64decode(item)
        if key == _DATETIME:
            return datetime.fromisoformat(item)
        if key == _DATE:
            return date.fromisoformat(item)
        if key == _FLOAT:
            return float(item)
        if key == _REGEXP:
            flags = 0
            for letter in item[1]:
                flags |= _FLAGS[letter]
            return re.compile(item[0], flags)
        if key == _ERROR:
            kind = getattr(builtins, item[0], None)
            if isinstance(kind, type) and issubclass(kind, Exception):
                return kind(item[1])
            return Exception(item[1])
        if key == _REF:
            return self.containers[item]
        if key == _CONTAINER:
            return self._container(item[0], item[1])
        if key == _OBJECT:
            return {k: self.untag(v) for k, v in item.items()}
        if key in (_SET, _FROZENSET, _MAP):
            return self._container(None, {key: item})
        return {key: self.untag(item)}

    def _container(self, number: int | None, inner: Any) -> Any:
        """Build the container first and fill it after, so references inside it find it."""
        if isinstance(inner, list):
            built: Any = []
            self._remember(number, built)
            built.extend(self.untag(item) for item in inner)
            return built
        if isinstance(inner, dict) and len(inner) == 1:
            ((key, item),) = inner.items()
            if key == _SET:
                built = set()
                self._remember(number, built)
                built.update(_hashable(self.untag(x)) for x in item)
                return built
            if key == _FROZENSET:
                built = frozenset(_hashable(self.untag(x)) for x in item)
                self._remember(number, built)
                return built
            if key == _MAP:
                built = {}
                self._remember(number, built)
                for k, v in item:
                    built[_hashable(self.untag(k))] = self.untag(v)
                return built
            if key == _OBJECT:
                built = {}
                self._remember(number, built)
                built.update({k: self.untag(v) for k, v in item.items()})
                return built
        built = {}
        self._remember(number, built)
        built.update({k: self.untag(v) for k, v in inner.items()})
        return built

    def _remember(self, number: int | None, container: Any) -> None:
        if number is not None:
            self.containers[number] = container


def _hashable(value: Any) -> Any:
    """A map key or set item read back: a tuple where it was one (lists are not hashable)."""
    return tuple(_hashable(item) for item in value) if isinstance(value, list) else value


def dumps(value: Any, where: str = "value") -> str:
    """Encode ``value``; ``where`` names it in errors (e.g. ``"storage key 'profile'"``).

    :raises StorageValueError: for a value the platform's structured clone refuses.
    """
    kind = type(value)
    if kind is int:
        return int.__repr__(value)  # what json.dumps gives, without its encoder's layers
    if kind is str:
        return _quoted(value)
    if kind in IMMUTABLE and (kind is not float or (value == value and value not in _INFINITIES)):
        return json.dumps(value)  # a scalar: no tags, no containers to number
    encoder = _Encoder()
    try:
        tagged = encoder.tag(value, where)
    except TypeError as exc:  # an unhashable key or set item cannot be read back as one
        raise StorageValueError(f"{where} cannot be cloned: {exc}") from None
    return json.dumps(encoder.strip(tagged), separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    if type(text) is str and text.isdigit() and text.isascii() and (text[0] != "0" or len(text) == 1):
        return int(text)  # a non-negative int (a counter), as json.loads reads it
    value = json.loads(text)
    if type(value) in IMMUTABLE:
        return value  # a scalar: nothing tagged in it
    return _Decoder().untag(value)


def clone(value: Any, where: str = "value") -> Any:
    """A structured clone of ``value``: an independent copy, refused when not cloneable."""
    if type(value) in IMMUTABLE:
        return value  # its own clone: an int, a str... cannot be changed through either copy
    return loads(dumps(value, where))
