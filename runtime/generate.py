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

#: The class each store kind is bound to, as ``(module, class)``: every kind the manifest allows.
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

#: What every ``env`` has beside its bindings: ``(attribute, module, class, what it is)``.
ATTRIBUTES: list[tuple[str, str, str, str]] = [
    ("logger", "runtime.applog", "AppLogger", "structured logs"),
    ("clock", "runtime.clock", "Clock", "the runtime's clock (the fake clock under test)"),
    ("tracer", "runtime.tracing", "Tracer", "spans"),
    ("annotation", "runtime.tracing", "Annotation", "annotations"),
]


def bindings(manifest: Manifest) -> list[tuple[str, str, str]]:
    """``(binding, type, comment)`` for every name on the app's ``env``, resolved as the app
    builds it: resources, then env vars (which win over a resource of the same name), then the
    built-in ``AI`` unless something else took the name."""
    app = manifest.application
    rows: dict[str, tuple[str, str]] = {}
    for store in app.stores:
        module, cls = STORE_TYPES[store.kind]
        rows[store.binding] = (f"{module}.{cls}", f'{store.kind} "{store.name}"')
    for actor in app.actors:
        rows[actor.binding] = ("runtime.actors.ActorNamespace", f'actor "{actor.name}"')
    for service in app.services:
        rows[service.binding] = ("runtime.services.ServiceStub", f'service "{service.name}"')
    for mcp in app.mcp_services:
        rows[mcp.binding] = ("Any", f'mcp_service "{mcp.name}"')
    for var in app.env:
        kind = "secret" if var.secret else "env"
        unset = "" if var.default is not None else ", None when unset"
        rows[var.name] = ("str" if var.default is not None else "str | None", f'{kind} "{var.name}"{unset}')
    rows.setdefault("AI", ("runtime.ai.AI", "built in: models"))
    return [(name, typed, comment) for name, (typed, comment) in rows.items()]


def fingerprint(manifest: Manifest) -> str:
    return _fingerprint(bindings(manifest))


def _fingerprint(rows: list[tuple[str, str, str]]) -> str:
    text = "\n".join(f"{name}:{typed}" for name, typed, _ in rows)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def render(manifest: Manifest) -> str:
    rows = bindings(manifest)
    modules = sorted(
        {typed.rsplit(".", 1)[0] for _, typed, _ in rows if "." in typed} | {m for _, m, _, _ in ATTRIBUTES}
    )
    lines = [
        f"# Written by `python -m runtime generate` from raindrop.manifest; do not edit. fingerprint: {_fingerprint(rows)}",
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
    for name, module, cls, comment in ATTRIBUTES:
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
