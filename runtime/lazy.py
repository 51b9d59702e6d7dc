"""Module attributes imported on first use: what keeps ``import runtime`` and ``import
runtime.types`` cheap (a handler module that names ``Each`` does not load the app or numpy)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(
    module: str,
    table: Mapping[str, str],
    namespace: dict[str, Any],
    computed: Mapping[str, Callable[[], Any]] | None = None,
) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports each name of ``table`` (name -> the module defining
    it) on first use and keeps it in ``namespace`` (the module's globals), so the next use is a
    plain lookup. ``computed`` names are made once by calling their function. Any other name is
    an ``AttributeError``, which also lets ``from package import submodule`` find submodules."""
    made = dict(computed or {})

    def load(name: str) -> Any:
        if name in made:
            value = made[name]()
        elif name in table:
            value = getattr(importlib.import_module(table[name]), name)
        else:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    return load
