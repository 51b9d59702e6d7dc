"""Who is asking: a bearer token or the ``hakivo_token`` cookie, tied to a user row.

With ``AUTH=optional`` (the shipped ``raindrop.local.yaml``), a request without credentials acts
as the demo user ``user_123``, as the design's curl examples assume; with ``AUTH=required`` it is
refused. A credential that matches no user is always refused.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from starlette.requests import Request

from hakivo import setting
from hakivo.store import user_by_id, user_by_token

DEMO_USER = "user_123"
TOKEN_CACHE_SECONDS = 2.0  # a token's user row is read at most this often per process
_by_token: weakref.WeakKeyDictionary[Any, dict[str, tuple[float, dict[str, Any] | None]]] = (
    weakref.WeakKeyDictionary()
)  # per app (its env), so two apps in one process never share rows


async def user_for_token(env: Any, token: str) -> dict[str, Any] | None:
    """The user a token belongs to, remembered for two seconds: a page polling every 3 s and a
    burst of requests read the row once, and a changed or revoked token counts within 2 s."""
    now = time.monotonic()
    known = _by_token.setdefault(env, {})
    cached = known.get(token)
    if cached is not None and now - cached[0] < TOKEN_CACHE_SECONDS:
        return cached[1]
    user = await user_by_token(env, token)
    if len(known) > 10_000:
        known.clear()
    known[token] = (now, user)
    return user


async def current_user(env: Any, request: Request) -> dict[str, Any] | None:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get("hakivo_token")
    if token:
        return await user_for_token(env, token)
    mode = setting(env, "AUTH") or "required"
    if mode == "optional":
        return await user_by_id(env, DEMO_USER)
    return None
