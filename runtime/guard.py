"""Who may drive the dev dashboard: the rules every request to ``/_runtime/`` passes first.

The dashboard reads and changes the app's state without a login, so it must answer only the
person at this machine, never a web page they happen to have open:

- **Host.** The ``Host`` header must name this machine (``localhost``, ``*.localhost``, a
  loopback address). A DNS-rebinding page reaches 127.0.0.1 under its own name, and is refused.
- **Client.** The peer must be on the loopback interface.
- **State-changing requests** (anything but GET/HEAD/OPTIONS) must carry no foreign ``Origin``
  (``Origin: null``, sent by sandboxed frames and ``data:`` pages, is foreign too), no
  ``Sec-Fetch-Site: cross-site``, and a JSON content type or the process's token: a plain HTML
  form can send neither, and a page elsewhere cannot send them without a CORS pre-flight, which
  the dashboard never grants.
- **Listening beyond loopback** (``serve --host 0.0.0.0``): every request must present the
  token printed in the banner (``?token=`` once, then a same-site cookie; or the
  ``X-Raindrop-Token`` header), and the Host and client rules give way to it.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "raindrop_dashboard"
TOKEN_HEADER = b"x-raindrop-token"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def new_token() -> str:
    """A fresh per-process token (128 bits)."""
    return secrets.token_urlsafe(16)


def is_loopback_host(host: str) -> bool:
    """Whether a ``Host`` header value (with or without its port) names this machine."""
    if host.startswith("["):  # [::1]:8787
        name = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        name = host.split(":")[0]
    else:
        name = host
    name = name.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Guard:
    """Decides whether a dashboard request is answered. ``remote=True`` when the server listens
    beyond loopback: then only requests bearing ``token`` are."""

    def __init__(self, token: str | None = None, *, remote: bool = False) -> None:
        self.token = token or new_token()
        self.remote = remote

    def presented_token(self, scope: Scope, headers: dict[bytes, bytes]) -> str | None:
        """The token a request carries: header, cookie or ``?token=``, in that order."""
        if TOKEN_HEADER in headers:
            return str(headers[TOKEN_HEADER].decode("latin-1"))
        if b"cookie" in headers:
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(headers[b"cookie"].decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed cookie header carries no token
                cookie = SimpleCookie()
            if COOKIE in cookie:
                return str(cookie[COOKIE].value)
        query: dict[str, list[str]] = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
        return query["token"][0] if "token" in query else None

    def has_token(self, scope: Scope, headers: dict[bytes, bytes]) -> bool:
        given = self.presented_token(scope, headers)
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def refuse(self, scope: Scope) -> str | None:
        """Why the request is refused, or None when it may go on."""
        headers = {k.lower(): v for k, v in scope.get("headers") or []}
        host = headers.get(b"host", b"").decode("latin-1")
        tokened = self.has_token(scope, headers)
        if self.remote:
            if not tokened:
                return "this dashboard listens beyond loopback: open the URL with ?token= that serve printed"
        else:
            client = scope.get("client")
            if client:
                try:
                    if not ipaddress.ip_address(client[0]).is_loopback:
                        return "the dashboard answers only clients on this machine"
                except ValueError:
                    pass  # a test transport's client name: not a network peer
            if not is_loopback_host(host):
                return f"the dashboard answers only requests for this machine (localhost), not Host {host!r}"
        origin = headers.get(b"origin")
        if origin is not None and not _same_origin(origin.decode("latin-1"), host, scope):
            return f"requests from origin {origin.decode('latin-1')!r} are refused"
        if scope.get("method", "GET") in _SAFE_METHODS:
            return None
        if headers.get(b"sec-fetch-site") == b"cross-site":
            return "cross-site requests are refused"
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type != b"application/json" and not tokened:
            return "state-changing requests need Content-Type: application/json (or the X-Raindrop-Token header)"
        return None


def _same_origin(origin: str, host: str, scope: Scope) -> bool:
    if origin == "null":
        return False
    parts = urlsplit(origin)
    scheme = scope.get("scheme", "http")
    return parts.scheme == scheme and parts.netloc.lower() == host.lower() and bool(host)


class BearerGuard:
    """An ASGI wrapper that answers 401 unless the request carries ``Authorization: Bearer
    <token>``: ``protected`` services and MCP services."""

    def __init__(self, app: ASGIApp, token: str, what: str) -> None:
        self.app = app
        self.token = token.encode()
        self.what = what

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = dict(scope.get("headers") or []).get(b"authorization", b"")
            given = header[7:] if header[:7].lower() == b"bearer " else b""
            if not hmac.compare_digest(given, self.token):
                response = JSONResponse(
                    {"error": f"{self.what} is protected: send Authorization: Bearer <token>"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
