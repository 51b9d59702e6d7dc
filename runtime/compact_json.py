"""Compact JSON (no spaces, ASCII) for hot paths: ``json.JSONEncoder.encode`` makes a C encoder
anew for every call, with Python calls around it (half the cost of encoding a small value);
:func:`compact_encoder` makes it once. That encoder keeps no record of what it is in, so a cycle
ends in ``RecursionError`` (as does nesting deeper than the recursion limit): the caller encodes
such a value again with ``json``'s own encoder, which reports a cycle as one."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

_make_encoder = getattr(json.encoder, "c_make_encoder", None)


def compact_encoder(default: Callable[[Any], Any]) -> Callable[[Any], bytes]:
    """A function encoding a value as compact JSON bytes, calling ``default`` for what JSON
    cannot hold (as ``json.dumps``'s ``default``)."""
    if _make_encoder is None:  # no C accelerator: the plain encoder
        full = json.JSONEncoder(separators=(",", ":"), default=default)
        return lambda value: full.encode(value).encode()
    fast = _make_encoder(None, default, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True)
    return lambda value: "".join(fast(value, 0)).encode()
