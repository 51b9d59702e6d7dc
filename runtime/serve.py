"""``python -m runtime serve``: the whole app in one process, over HTTP.

Every public service gets its own port (8787, 8788, … in manifest order, or
``services.<name>.port`` in ``raindrop.local.yaml``); the first port also answers
``<service>.localhost`` for every public service, and hosts the dashboard at ``/_runtime/``.
Observers, schedules and alarms run alongside. SIGINT or SIGTERM stops taking requests and
messages, lets running work finish within the grace period, hands the rest back to the queues,
and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import signal
import socket
import sys
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TextIO

import uvicorn
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from runtime.app import App
from runtime.backends import open_backend
from runtime.clock import utc
from runtime.dashboard import PREFIX, Dashboard
from runtime.guard import BearerGuard, Guard, is_loopback_host
from runtime.http_timeouts import protocol_class
from runtime.inspection import SMART_KINDS, ai_description
from runtime.logs import held_back, log_run, request_writer
from runtime.manifest import load
from runtime.mcp import PATH as MCP_PATH

log = logging.getLogger("raindrop.serve")


class Router:
    """The ASGI app of one port: the dashboard, ``<service>.localhost`` hosts, then the port's service."""

    def __init__(self, default: ASGIApp | None, by_host: dict[str, ASGIApp], dashboard: ASGIApp | None) -> None:
        self.default = default
        self.by_host = by_host
        self.dashboard = dashboard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            while message["type"] != "lifespan.shutdown":
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                message = await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        path = scope.get("path", "")
        if self.dashboard is not None and (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.dashboard(scope, receive, send)
            return
        target = None
        if self.by_host:
            for key, value in scope.get("headers") or ():
                if key == b"host":
                    if b".localhost" in value:  # only then can it name a service: decode it
                        host = value.decode().split(":")[0]
                        if host.endswith(".localhost"):
                            target = self.by_host.get(host.removesuffix(".localhost"))
                    break
        target = target or self.default
        if target is None:
            response = JSONResponse(
                {"error": "no public service answers here", "dashboard": PREFIX + "/"}, status_code=404
            )
            await response(scope, receive, send)
            return
        await target(scope, receive, send)


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to us (several servers share one process)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def run_loop(main: Coroutine[Any, Any, int]) -> int:
    """Run a long-lived command on uvloop, the event loop uvicorn itself prefers (about a third
    less loop overhead per request than the standard loop), or on asyncio's own loop without it."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def settle_heap() -> None:
    """Once the app is up, move everything allocated so far (modules, the manifest, handlers) out
    of the garbage collector's sight: a full collection then scans only what requests create,
    which turns its periodic ~30 ms pauses (the p99 of a busy service) into ~1 ms ones."""
    gc.collect()
    gc.freeze()


def port_free(host: str, port: int) -> bool:
    """Whether ``port`` can be bound on ``host`` now (checked before any server starts)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM: the signal to stop taking work and shut down gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


def ports(app: App, base: int) -> dict[str, int]:
    """The port of every public and protected service: configured, else the next free number
    from ``base``."""
    chosen: dict[str, int] = {}
    configured = {name: s.port for name, s in app.settings.services.items() if s.port}
    taken = set(configured.values())
    candidate = base
    for service in app.manifest.application.services:
        if service.visibility == "private":  # private services: through bindings only
            continue
        if service.name in configured:
            chosen[service.name] = configured[service.name]
            continue
        while candidate in taken:
            candidate += 1
        chosen[service.name] = candidate
        taken.add(candidate)
        candidate += 1
    return chosen


async def serve(
    manifest_path: Path,
    *,
    host: str | None,
    port: int | None,
    state: str | None,
    backend: str | None,
    grace: float = 10.0,
    out: TextIO = sys.stdout,
    with_dashboard: bool = True,
) -> int:
    started = time.perf_counter()
    load(manifest_path, handlers="error")  # every handler file must exist to serve
    app = App.from_manifest(manifest_path, backend=backend, state_dir=state)
    bind_host = host or app.settings.host
    base_port = port or app.settings.port
    await app.start()
    app.runs_hook = log_run
    stop = stop_on_signals()

    service_ports = ports(app, base_port)
    first_port = min(service_ports.values(), default=base_port)
    display_host = "127.0.0.1" if bind_host in ("0.0.0.0", "::") else bind_host
    urls = {name: f"http://{display_host}:{p}" for name, p in service_ports.items()}
    remote = not is_loopback_host(bind_host)
    dashboard = Dashboard(app, urls, Guard(remote=remote), stop) if with_dashboard else None
    service_apps = {name: app.asgi(name) for name in service_ports}
    request_log = request_writer()
    for service_app in service_apps.values():
        service_app.request_log = request_log
    tokens = protected_tokens(app)
    apps: dict[str, ASGIApp] = {
        name: BearerGuard(asgi, tokens[name], f"service {name!r}") if name in tokens else asgi
        for name, asgi in service_apps.items()
    }
    routers: dict[int, Router] = {}
    for name, p in service_ports.items():
        routers.setdefault(p, Router(apps[name], {}, None))
    first = routers.setdefault(first_port, Router(None, {}, None))
    first.by_host = dict(apps)
    first.dashboard = dashboard
    mcp_urls: dict[str, str] = {}
    lifespans = contextlib.AsyncExitStack()
    for name, p in mcp_ports(app, max([base_port - 1, *routers])).items():
        mcp_host = app.mcp[name]
        routers[p] = Router(mcp_host.asgi(), {}, None)
        mcp_urls[name] = f"http://{display_host}:{p}{MCP_PATH}"
        await lifespans.enter_async_context(mcp_host.lifespan())
    if dashboard is not None:  # the dashboard lists MCP services beside the public services
        dashboard.urls = {**urls, **{f"{name} (mcp)": url for name, url in mcp_urls.items()}}
    protocol = protocol_class(app.settings.http.header_timeout, app.settings.http.body_timeout)

    busy = [p for p in routers if not port_free(bind_host, p)]
    if busy:
        owners = {p: [n for n, q in service_ports.items() if q == p] or ["the dashboard"] for p in busy}
        listed = ", ".join(f"{p} ({', '.join(owners[p])})" for p in busy)
        print(
            f"error: port {listed} is already in use on {bind_host}: stop what holds it, or choose another with "
            "--port or services: {NAME: {port: N}} in raindrop.local.yaml",
            file=sys.stderr,
        )
        await lifespans.aclose()
        await app.stop()
        return 1
    servers = []
    for p, router in routers.items():
        config = uvicorn.Config(
            router,
            host=bind_host,
            port=p,
            log_level="warning",
            lifespan="off",
            proxy_headers=False,  # a local server: no proxy in front whose headers to trust
            http=protocol,
            timeout_graceful_shutdown=max(1, round(grace)),
        )
        servers.append(_Server(config))
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    while not all(server.started for server in servers):
        if any(task.done() for task in tasks):
            for task in tasks:
                if task.done() and task.exception() is not None:
                    print(f"error: cannot listen: {task.exception()}", file=sys.stderr)
            for server in servers:
                server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            await lifespans.aclose()
            await app.stop()
            return 1
        await asyncio.sleep(0.01)
    print(
        banner(
            app,
            urls,
            _dashboard_url(dashboard, display_host, first_port),
            time.perf_counter() - started,
            mcp_urls,
            tokens,
        ),
        file=out,
        flush=True,
    )
    settle_heap()
    await stop.wait()
    log.info("stopping: no new requests or messages; letting running work finish (up to %g s)", grace)
    for server in servers:
        server.should_exit = True
    for mcp_host in app.mcp.values():  # an idle GET /mcp stream would hold the stop for the grace period
        mcp_host.close_streams()
    await asyncio.gather(*tasks, return_exceptions=True)
    await lifespans.aclose()
    await app.stop(grace=grace)
    log.info("stopped")
    return _storage_outcome(app)


def _storage_outcome(app: App) -> int:
    """1 when writes failed to commit during the run (each caller was told, and the errors were
    logged): a supervisor should know the state directory needs attention. Also says how many
    repeated warnings and errors were held back since their last line."""
    repeated = held_back()
    if repeated:
        log.warning("%d repeated warning(s) or error(s) were held back since their last line", repeated)
    failed = app.backend_failed_writes
    if failed:
        log.error("%d write(s) could not be stored during this run (see the errors above); exiting with 1", failed)
        return 1
    return 0


def _dashboard_url(dashboard: Dashboard | None, host: str, port: int) -> str:
    if dashboard is None:
        return "off (--no-dashboard)"
    url = f"http://{host}:{port}{PREFIX}/"
    if dashboard.guard.remote:  # beyond loopback only the token opens it
        return f"{url}?token={dashboard.guard.token}   (listening beyond loopback: keep this URL private)"
    return url


def protected_tokens(app: App) -> dict[str, str]:
    """The bearer token of every protected service: set in raindrop.local.yaml, else made up."""
    tokens = {}
    for service in app.manifest.application.services:
        if service.visibility == "protected":
            settings = app.settings.services.get(service.name)
            tokens[service.name] = (settings.token if settings else None) or secrets.token_urlsafe(16)
    return tokens


def mcp_ports(app: App, after: int) -> dict[str, int]:
    """The port of every public and protected MCP service: configured, else the next numbers
    after ``after``. A private one has none: it is reached through ``env`` only."""
    chosen: dict[str, int] = {}
    candidate = after + 1
    for resource in app.manifest.application.mcp_services:
        if resource.visibility == "private":
            continue
        settings = app.settings.mcp.get(resource.name)
        if settings is not None and settings.port:
            chosen[resource.name] = settings.port
            continue
        while candidate in chosen.values():
            candidate += 1
        chosen[resource.name] = candidate
        candidate += 1
    return chosen


def banner(
    app: App,
    urls: dict[str, str],
    dashboard: str,
    elapsed: float,
    mcp_urls: dict[str, str] | None = None,
    tokens: dict[str, str] | None = None,
) -> str:
    manifest = app.manifest
    lines = [
        f'raindrop-runtime: application "{manifest.application.name}" ({manifest.path})',
        f"  state      {app.backend_url}",
    ]
    for name, url in urls.items():
        lines.append(f"  service    {name:<20} {url}   (also http://{name}.localhost:{url.rsplit(':', 1)[1]})")
        if tokens and name in tokens:
            lines.append(f"             protected: Authorization: Bearer {tokens[name]}")
    private = [s.name for s in manifest.application.services if s.visibility == "private"]
    private += [f"{m.name} (mcp)" for m in manifest.application.mcp_services if m.visibility == "private"]
    if private:
        lines.append(f"  private    {', '.join(private)} (through env bindings only)")
    lines.append(f"  dashboard  {dashboard}")
    for name, url in (mcp_urls or {}).items():
        host = app.mcp[name]
        guard = f"   (protected: Authorization: Bearer {host.token})" if host.token else ""
        lines.append(f"  mcp        {name:<20} {url}{guard}")
    for service in manifest.application.services:
        if service.domain is not None:
            domain = service.domain.cname or service.domain.fqdn
            lines.append(f"  domain     {service.name:<20} {domain} (on the platform; served here at its local URL)")
    bindings = [
        f"env.{r.binding}" for r in manifest.application.resources() if r.kind not in ("observer", "task", "env")
    ]
    if bindings:
        lines.append(f"  bindings   {', '.join(bindings)}")
    for name, runner in app.schedules().items():
        upcoming = ", ".join(utc(t).strftime("%Y-%m-%d %H:%M") for t in runner.next_times(2))
        lines.append(f"  schedule   {name:<20} {runner.schedule.cron!r:<14} next {upcoming} UTC")
    lines.append(f"  ai         env.AI   {ai_description(app.settings)}")
    smart = [f"env.{r.binding}" for r in manifest.application.resources() if r.kind in SMART_KINDS]
    if smart:
        lines.append(f"  smart      {', '.join(smart)}   (local index: SQLite FTS5 + wordllama vectors)")
    unset = [var.name for var in manifest.application.env if var.secret and getattr(app.env, var.name) is None]
    if unset:
        lines.append(f"  warning    secrets not set: {', '.join(unset)}")
        lines.append("             (set them in the environment, .env, or env: in raindrop.local.yaml)")
    for warning in manifest.warnings:  # what validate would say (an ignored attribute, ...)
        lines.append(f"  warning    {warning.headline()}")
    lines.append(f"ready in {elapsed:.2f} s; Ctrl-C to stop")
    return "\n".join(lines)


async def work(
    manifest_path: Path, *, backend: str | None, state: str | None, grace: float = 10.0, out: TextIO = sys.stdout
) -> int:
    """``python -m runtime worker``: observers, schedules and alarms on a shared backend, no HTTP.
    The backend is ``--backend``, else ``backend:`` in raindrop.local.yaml."""
    load(manifest_path, handlers="error")
    app = App.from_manifest(manifest_path, backend=backend, state_dir=state)
    if backend is None and app.settings.backend is None:
        print(
            "error: a worker shares a backend with other processes: give --backend (sqlite:///PATH/state.db, "
            "redis://HOST:PORT/DB) or backend: in raindrop.local.yaml",
            file=sys.stderr,
        )
        return 2
    if not open_backend(app.backend_url, base=app.manifest.root).shared:  # not opened: what it declares
        print(
            f"error: the {app.backend_url.partition(':')[0]} backend is one process's own and cannot be shared with a worker; "
            "use --backend sqlite:///PATH/state.db or redis://HOST:PORT/DB",
            file=sys.stderr,
        )
        return 2
    await app.start()
    app.runs_hook = log_run
    for warning in app.manifest.warnings:  # what validate would say, said where it is run
        print(f"  warning    {warning.headline()}", file=out)
    stop = stop_on_signals()
    observers = ", ".join(app.queues.consumers) or "none"
    schedules = ", ".join(app.schedules()) or "none"
    print(f'raindrop-runtime worker: application "{app.manifest.application.name}" on {app.backend_url}', file=out)
    print(f"  observers  {observers}\n  schedules  {schedules}\nready", file=out, flush=True)
    settle_heap()
    await stop.wait()
    log.info("stopping: no new messages; letting running work finish (up to %g s)", grace)
    await app.stop(grace=grace)
    log.info("stopped")  # as serve says it: the operator knows the process ended cleanly
    return _storage_outcome(app)
