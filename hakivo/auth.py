"""Who is asking: a bearer token or the ``hakivo_token`` cookie, tied to a user row.

With ``AUTH=optional`` (the shipped ``raindrop.local.yaml``), a request without credentials acts
as the demo user ``user_123``, as the design's curl examples assume; with ``AUTH=required`` it is
refused. A credential that matches no user is always refused.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from hakivo import setting
from hakivo.store import user_by_id, user_by_token

DEMO_USER = "user_123"


async def current_user(env: Any, request: Request) -> dict[str, Any] | None:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get("hakivo_token")
    if token:
        return await user_by_token(env, token)
    mode = setting(env, "AUTH") or "required"
    if mode == "optional":
        return await user_by_id(env, DEMO_USER)
    return None
