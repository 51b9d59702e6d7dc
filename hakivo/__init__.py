"""HakiVo: the civic podcast app (shared code for its handlers and workers)."""

from __future__ import annotations

from typing import Any


def setting(env: Any, name: str) -> str | None:
    """The env value ``name``, or None when it is unset or the manifest does not declare it."""
    return getattr(env, name, None) if name in env else None
