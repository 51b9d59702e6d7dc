"""``python -m runtime generate``: the app's ``Env`` as a typed module, ``raindrop_gen.py``.

The platform generates ``raindrop.gen.ts`` so editors and the compiler know a queue from a
bucket; this is the Python spelling. Handlers name it as their base class's type parameter::

    from raindrop_gen import Env
    from runtime import Service

    class Web(Service[Env]):
        async def fetch(self, request: Request) -> Response:
            await self.env.JOBS.send({...})   # mypy knows JOBS is a Queue

The module is only types: at run time ``self.env`` is the runtime's ``Env``. Its first lines
carry a fingerprint of the bindings it was written from, which ``validate`` compares with the
manifest to say when it is stale.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from runtime.manifest import Manifest

FILENAME = "raindrop_gen.py"

#: The class each store kind is bound to, as ``(module, class)``; kinds missing here are ``Any``
#: (not emulated yet: their binding raises on use, and ``validate`` says so).
STORE_TYPES: dict[str, tuple[str, str]] = {
    "queue": ("runtime.queue", "Queue"),
    "kv_cache": ("runtime.kv", "KvCache"),
    "kv_store": ("runtime.kv", "KvCache"),
    "bucket": ("runtime.buckets", "Bucket"),
    "smartbucket": ("runtime.smart.buckets", "SmartBucket"),
    "smartmemory": ("runtime.smart.memory", "SmartMemory"),
    "smartsql": ("runtime.smart.sql", "SmartSql"),
    "sql_database": ("runtime.sql", "SqlDatabase"),
}

BUILT_INS: list[tuple[str, str, str, str]] = [  # (binding, module, class, what it is)
    ("AI", "runtime.ai", "AI", "models: run(), the catalogue's names"),
    ("logger", "runtime.applog", "AppLogger", "structured logs"),
    ("clock", "runtime.clock", "Clock", "the runtime's clock (the fake clock under test)"),
    ("tracer", "runtime.tracing", "Tracer", "spans"),
    ("annotation", "runtime.tracing", "Annotation", "annotations"),
]


def bindings(manifest: Manifest) -> list[tuple[str, str, str]]:
    """``(binding, type, comment)`` for every name on the app's ``env``, in a stable order."""
    app = manifest.application
    rows: list[tuple[str, str, str]] = []
    for store in app.stores:
        module, cls = STORE_TYPES.get(store.kind, ("", ""))
        kind = f'{store.kind} "{store.name}"'
        rows.append((store.binding, f"{module}.{cls}" if cls else "Any", kind if cls else f"{kind}, not emulated"))
    for actor in app.actors:
        rows.append((actor.binding, "runtime.actors.ActorNamespace", f'actor "{actor.name}"'))
    for service in app.services:
        rows.append((service.binding, "runtime.services.ServiceStub", f'service "{service.name}"'))
    for mcp in app.mcp_services:
        rows.append((mcp.binding, "Any", f'mcp_service "{mcp.name}"'))
    taken = {row[0] for row in rows}
    for var in app.env:
        if var.name in taken:
            continue
        kind = "secret" if var.secret else "env"
        typed = "str" if var.default is not None else "str | None"
        rows.append(
            (var.name, typed, f'{kind} "{var.name}"' + ("" if var.default is not None else ", None when unset"))
        )
    if "AI" not in {row[0] for row in rows}:
        rows.append(("AI", "runtime.ai.AI", "built in"))
    return rows


def fingerprint(manifest: Manifest) -> str:
    text = "\n".join(f"{name}:{typed}" for name, typed, _ in bindings(manifest))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def render(manifest: Manifest) -> str:
    rows = bindings(manifest)
    modules = sorted(
        {typed.rsplit(".", 1)[0] for _, typed, _ in rows if "." in typed} | {m for _, m, _, _ in BUILT_INS}
    )
    lines = [
        f"# Written by `python -m runtime generate` from raindrop.manifest; do not edit. fingerprint: {fingerprint(manifest)}",
        f'"""The typed ``env`` of application "{manifest.application.name}": ``class Web(Service[Env])``."""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Any, Protocol",
        "",
        *(f"import {module}" for module in modules),
        "",
        '__all__ = ["Env"]',
        "",
        "",
        "class Env(Protocol):",
    ]
    for name, typed, comment in rows:
        lines.append(f"    {name}: {typed}  # {comment}")
    for name, module, cls, comment in BUILT_INS:
        if name == "AI":
            continue
        lines.append(f"    {name}: {module}.{cls}  # {comment}")
    lines += [
        "",
        "    def bindings(self) -> dict[str, Any]: ...",
        "",
    ]
    return "\n".join(lines)


def write(manifest: Manifest) -> Path:
    path = manifest.root / FILENAME
    path.write_text(render(manifest))
    return path


def staleness(manifest: Manifest) -> str | None:
    """A sentence when ``raindrop_gen.py`` exists and no longer matches the manifest, else None."""
    path = manifest.root / FILENAME
    if not path.exists():
        return None
    first = path.read_text(errors="replace").split("\n", 1)[0]
    written = first.rsplit("fingerprint: ", 1)[-1].strip() if "fingerprint: " in first else ""
    if written == fingerprint(manifest):
        return None
    return (
        f"{FILENAME} is stale: the manifest's bindings changed since it was written; run `python -m runtime generate`"
    )
