"""The rules of the bucket API, as R2 applies them: keys, values, metadata, checksums,
``only_if`` conditions, ranges and ``list`` options. Each failure is a :class:`BindingError`
(or :class:`LimitError`) naming the bucket, the thing and what was expected."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import anyio.to_thread

from runtime.arguments import utf8
from runtime.buckets.objects import BucketObject
from runtime.errors import BindingError, LimitError
from runtime.naming import snake

MAX_KEY_BYTES = 1024
MAX_LIST = 1000
MAX_CUSTOM_METADATA = 2048  # bytes of custom metadata keys and values, as R2 counts them
HASH_OFF_LOOP = 256 * 1024  # bodies past this are hashed in a worker thread
#: put's checksum keywords: (keyword, R2's name, hashlib's name)
ALGORITHMS = (("md5", "MD5"), ("sha1", "SHA-1"), ("sha256", "SHA-256"), ("sha384", "SHA-384"), ("sha512", "SHA-512"))
HTTP_FIELDS = ("contentType", "contentLanguage", "contentDisposition", "contentEncoding", "cacheControl", "cacheExpiry")
CONDITIONS = ("etag_matches", "etag_does_not_match", "uploaded_before", "uploaded_after")
INCLUDE = {"http_metadata": "http_metadata", "httpMetadata": "http_metadata",
           "custom_metadata": "custom_metadata", "customMetadata": "custom_metadata"}  # fmt: skip


def key(bucket: str, value: object) -> str:
    if not isinstance(value, str):  # the empty key is a key, as on R2
        raise BindingError(f"bucket {bucket!r}: keys are strings, not {value!r}")
    if "\x00" in value:
        raise BindingError(f"bucket {bucket!r}: key {value!r} contains a NUL character")
    size = len(utf8(value, f"bucket {bucket!r}: key {value[:40]!r}"))
    if size > MAX_KEY_BYTES:
        raise LimitError(f"bucket {bucket!r}: key is {size} bytes; the limit is {MAX_KEY_BYTES}")
    return value


async def body(bucket: str, name: str, value: object) -> bytes:
    """The value as bytes; a long text is encoded in a worker thread."""
    if value is None:
        return b""
    if isinstance(value, str):
        if len(value) > HASH_OFF_LOOP:
            return await anyio.to_thread.run_sync(utf8, value, f"bucket {bucket!r}: value for {name!r}")
        return utf8(value, f"bucket {bucket!r}: value for {name!r}")
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return await anyio.to_thread.run_sync(bytes, value) if len(value) > HASH_OFF_LOOP else bytes(value)
    raise BindingError(f"bucket {bucket!r}: value for {name!r} is a {type(value).__name__}; put str or bytes")


def metadata(bucket: str, name: str, http: object, custom: object) -> tuple[dict[str, str], dict[str, str]]:
    """``http_metadata`` and ``custom_metadata`` as dicts of str, custom within R2's 2 KB."""
    checked: list[dict[str, str]] = []
    for label, mapping in (("http_metadata", http), ("custom_metadata", custom)):
        if mapping is None:
            checked.append({})
            continue
        if not isinstance(mapping, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
        ):
            raise BindingError(f"bucket {bucket!r}: {label} must map str to str, not {mapping!r:.80}")
        for k, v in mapping.items():
            utf8(k + v, f"bucket {bucket!r}: {label} of {name!r}")
        checked.append(dict(mapping))
    http_checked, custom_checked = checked
    unknown = sorted(set(http_checked) - set(HTTP_FIELDS))
    if unknown:
        raise BindingError(
            f"bucket {bucket!r}: http_metadata takes {', '.join(HTTP_FIELDS)}; not {', '.join(map(repr, unknown))}"
        )
    size = sum(len(k.encode()) + len(v.encode()) for k, v in custom_checked.items())
    if size > MAX_CUSTOM_METADATA:
        raise LimitError(
            f"bucket {bucket!r}: put: Your metadata headers exceed the maximum allowed metadata size. (10012): "
            f"custom_metadata of {name!r} is {size} bytes (keys and values); the limit is {MAX_CUSTOM_METADATA}"
        )
    return http_checked, custom_checked


def _hex(bucket: str, field: str, given: object) -> str:
    if isinstance(given, bytes | bytearray | memoryview):
        return bytes(given).hex()
    if isinstance(given, str):
        try:
            return bytes.fromhex(given).hex()
        except ValueError:
            pass
    raise BindingError(f"bucket {bucket!r}: {field} is a checksum in hex or bytes, not {given!r:.80}")


async def digests(bucket: str, name: str, data: bytes, given: dict[str, object]) -> tuple[str, dict[str, str]]:
    """The body's MD5 (its etag) and the checksums ``given`` (sha1 .. sha512), each computed and
    compared; a body past :data:`HASH_OFF_LOOP` is hashed in a worker thread."""
    wanted = {field: _hex(bucket, field, value) for field, value in given.items() if value is not None}
    if len(wanted) > 1 and not (len(wanted) == 2 and "md5" in wanted):
        raise BindingError(f"bucket {bucket!r}: put takes one checksum besides md5, not {sorted(wanted)}")

    def compute() -> dict[str, str]:
        fields = {"md5", *wanted}
        return {f: hashlib.new(f, data, usedforsecurity=False).hexdigest() for f in fields}

    computed = await anyio.to_thread.run_sync(compute) if len(data) > HASH_OFF_LOOP else compute()
    for field, label in ALGORITHMS:
        if field in wanted and wanted[field] != computed[field]:
            raise BindingError(
                f"bucket {bucket!r}: put: The {label} checksum you specified did not match what we received.\n"
                f"You provided a {label} checksum with value: {wanted[field]}\n"
                f"Actual {label} was: {computed[field]} (10037) (the body of {name!r})"
            )
    return computed["md5"], {f: computed[f] for f in wanted if f != "md5"}


def conditions(bucket: str, only_if: object) -> dict[str, Any] | None:
    """``only_if`` checked: ``etag_matches``/``etag_does_not_match`` (an etag, a list of them, or
    ``"*"``), ``uploaded_before``/``uploaded_after`` (aware datetimes)."""
    if only_if is None:
        return None
    if not isinstance(only_if, Mapping):
        raise BindingError(f"bucket {bucket!r}: only_if is a dict of {', '.join(CONDITIONS)}, not {only_if!r:.80}")
    checked: dict[str, Any] = {}
    for name, value in only_if.items():
        if name not in CONDITIONS:
            hint = f"did you mean `{snake(name)}`? " if snake(name) in CONDITIONS else ""
            raise BindingError(f"bucket {bucket!r}: only_if has no {name!r}: {hint}it takes {', '.join(CONDITIONS)}")
        if name.startswith("etag"):
            etags = [value] if isinstance(value, str) else value
            if not isinstance(etags, list | tuple) or not all(isinstance(e, str) for e in etags):
                raise BindingError(
                    f"bucket {bucket!r}: only_if {name} is an etag or a list of etags, not {value!r:.80}"
                )
            # An HTTP etag ("...") names the same object. A weak one (W/"...") never passes
            # etag_matches (a strong comparison) and is compared weakly by etag_does_not_match.
            checked[name] = [_etag(e, weak_ok=name == "etag_does_not_match") for e in etags]
        else:
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise BindingError(f"bucket {bucket!r}: only_if {name} is a timezone-aware datetime, not {value!r:.80}")
            checked[name] = value
    return checked


def _etag(etag: str, *, weak_ok: bool) -> str | None:
    """``etag`` without its quotes; None for a weak etag where only strong ones can match."""
    weak = etag.startswith("W/")
    if weak and not weak_ok:
        return None
    return (etag[2:] if weak else etag).strip('"')


def passes(cond: dict[str, Any], obj: BucketObject | None) -> bool:
    """Whether ``obj`` (None: no object) meets ``cond``, by R2's rules (RFC 7232's precedence)."""
    if obj is None:
        return "etag_matches" not in cond and "uploaded_after" not in cond

    def listed(etags: Iterable[str | None]) -> bool:
        return any(e is not None and (e == "*" or e == obj.etag) for e in etags)

    if_match = "etag_matches" not in cond or listed(cond["etag_matches"])
    if_none_match = "etag_does_not_match" not in cond or not listed(cond["etag_does_not_match"])
    modified_since = (
        "uploaded_after" not in cond
        or cond["uploaded_after"] < obj.uploaded
        or ("etag_does_not_match" in cond and if_none_match)
    )
    unmodified_since = (
        "uploaded_before" not in cond or obj.uploaded < cond["uploaded_before"] or ("etag_matches" in cond and if_match)
    )
    return if_match and if_none_match and modified_since and unmodified_since


_BYTE_RANGE = re.compile(r"bytes=\s*(\d*)\s*-\s*(\d*)\s*")


def _range_header(bucket: str, headers: Mapping[Any, Any]) -> dict[str, int]:
    """The ``Range`` header of ``headers`` as a range, as R2 reads it: none, or several ranges,
    is the whole object; ``bytes=a-b``, ``bytes=a-`` and ``bytes=-n`` are one range."""
    value = next((v for k, v in headers.items() if isinstance(k, str) and k.lower() == "range"), None)
    if value is None or (isinstance(value, str) and "," in value):
        return {}
    match = _BYTE_RANGE.fullmatch(value) if isinstance(value, str) else None
    if match is None or match.groups() == ("", ""):
        raise BindingError(
            f"bucket {bucket!r}: the Range header is bytes=START-END, START- or -SUFFIX, not {value!r:.80}"
        )
    first, last = match.groups()
    if not first:
        return {"suffix": int(last)}
    if not last:
        return {"offset": int(first)}
    if int(last) < int(first):
        raise BindingError(f"bucket {bucket!r}: the Range header {value!r} ends before it starts")
    return {"offset": int(first), "length": int(last) - int(first) + 1}


def range_shape(bucket: str, range: object) -> dict[str, int]:
    """``range`` checked for shape: ``offset``, ``length`` and ``suffix`` in whole bytes; or
    request headers (any mapping with a ``Range`` key, or a headers object that is no dict),
    whose ``Range`` header is read as the platform does."""
    if isinstance(range, Mapping) and (
        not isinstance(range, dict) or any(isinstance(k, str) and k.lower() == "range" for k in range)
    ):
        return _range_header(bucket, range)
    if (
        not isinstance(range, Mapping)
        or not set(range) <= {"offset", "length", "suffix"}
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in range.values())
    ):
        raise BindingError(
            f"bucket {bucket!r}: range is {{'offset', 'length'}} or {{'suffix'}} in whole bytes, not {range!r:.80}"
        )
    return dict(range)


def span(bucket: str, range: object, size: int) -> tuple[int, int]:
    """``(start, end)`` of ``range`` in an object of ``size`` bytes, as R2 reads it: a length
    or suffix past the object is cut to it; an offset past its end, a zero length or a zero
    suffix cannot be satisfied."""
    if range is None:
        return 0, size
    range = range_shape(bucket, range)
    unsatisfiable = BindingError(
        f"bucket {bucket!r}: get: The requested range is not satisfiable (10039): {range!r} of {size} bytes"
    )
    if "suffix" in range:
        suffix = range["suffix"]
        if suffix <= 0 or "offset" in range or "length" in range:
            raise unsatisfiable
        return max(0, size - suffix), size
    offset = range.get("offset", 0)
    if offset < 0 or (offset >= size and size > 0) or (offset > 0 and size == 0):
        raise unsatisfiable
    if "length" not in range:
        return offset, size
    length = range["length"]
    if length <= 0:
        raise unsatisfiable
    return offset, min(size, offset + length)


def limit(bucket: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_LIST:
        raise BindingError(f"bucket {bucket!r}: list limit must be 1 to {MAX_LIST}, not {value!r}")
    return value


def include(bucket: str, value: object) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, str) or not isinstance(value, list | tuple) or not all(v in INCLUDE for v in value):
        raise BindingError(
            f"bucket {bucket!r}: list include is a list of 'http_metadata' and 'custom_metadata', not {value!r:.80}"
        )
    return {INCLUDE[v] for v in value}


def optional_text(bucket: str, name: str, value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BindingError(f"bucket {bucket!r}: list {name} is a string, not {value!r:.80}")
    return value
