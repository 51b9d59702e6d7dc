"""``python -m runtime generate``: the app's ``Env`` as a typed module, ``raindrop_gen.py``.

The platform generates ``raindrop.gen.ts`` so editors and the compiler know a queue from a
bucket; this is the Python spelling. Handlers name it as their base class's type parameter::

    from raindrop_gen import Env
    from runtime import Service

    class Web(Service[Env]):
        async def fetch(self, request: Request) -> Response:
            await self.env.JOBS.send({...})   # mypy knows JOBS is a Queue

A service with env blocks of its own (visible to it alone) gets its own protocol, named after
it: ``class Api(Service[ApiEnv])``.

The module is only types: at run time ``self.env`` is the runtime's ``Env``. It imports nothing
of the runtime but :mod:`runtime.types` (cheap: names load on first use), so an app does not
depend on where the runtime keeps a class. Its first lines
carry a fingerprint of the bindings it was written from, which ``validate`` compares with the
manifest to say when it is stale.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from runtime.kinds import STORE_KINDS
from runtime.manifest import Manifest
from runtime.manifest.model import EnvVar, Service

FILENAME = "raindrop_gen.py"

#: The module generated code imports, the one public home of every binding type.
TYPES = "runtime.types"

#: The class of :mod:`runtime.types` each store kind is bound to: every kind the manifest allows.
STORE_TYPES: dict[str, str] = {name: kind.type_name for name, kind in STORE_KINDS.items()}

#: What every ``env`` has beside its bindings: ``(attribute, class of runtime.types, what it is)``.
ATTRIBUTES: list[tuple[str, str, str]] = [
    ("logger", "AppLogger", "structured logs"),
    ("clock", "Clock", "the runtime's clock (the fake clock under test)"),
    ("tracer", "Tracer", "spans"),
    ("annotation", "Annotation", "annotations"),
]


def bindings(manifest: Manifest, service: str | None = None) -> list[tuple[str, str, str]]:
    """``(binding, type, comment)`` for every name on the app's ``env``, resolved as the app
    builds it: resources, then env vars (which win over a resource of the same name), then the
    built-in ``AI`` unless something else took the name. Given a ``service``, its own env vars
    come last and win, as they do on that service's ``env``."""
    app = manifest.application
    rows: dict[str, tuple[str, str]] = {}
    for store in app.stores:
        rows[store.binding] = (f"{TYPES}.{STORE_TYPES[store.kind]}", f'{store.kind} "{store.name}"')
    for actor in app.actors:
        rows[actor.binding] = (f"{TYPES}.ActorNamespace", f'actor "{actor.name}"')
    for declared in app.services:
        rows[declared.binding] = (f"{TYPES}.ServiceStub", f'service "{declared.name}"')
    for mcp in app.mcp_services:
        rows[mcp.binding] = ("Any", f'mcp_service "{mcp.name}"')
    _variables(rows, app.env, "")
    rows.setdefault("AI", (f"{TYPES}.AI", "built in: models"))
    if service is not None:
        own = next(s for s in app.services if s.name == service)
        _variables(rows, own.env, f' of service "{service}"')
    return [(name, typed, comment) for name, (typed, comment) in rows.items()]


def _variables(rows: dict[str, tuple[str, str]], variables: tuple[EnvVar, ...], where: str) -> None:
    for var in variables:
        kind = "secret" if var.secret else "env"
        unset = "" if var.default is not None else ", None when unset"
        rows[var.name] = ("str" if var.default is not None else "str | None", f'{kind} "{var.name}"{where}{unset}')


def protocols(manifest: Manifest) -> dict[str, list[tuple[str, str, str]]]:
    """Each protocol the module declares and its rows: ``Env``, then ``<Service>Env`` for every
    service with env blocks of its own."""
    found = {"Env": bindings(manifest)}
    for name, cls in service_protocols(manifest).items():
        found[cls] = bindings(manifest, name)
    return found


def service_protocols(manifest: Manifest) -> dict[str, str]:
    """The protocol of each service with env blocks of its own, by service name."""
    return {s.name: protocol_of(s) for s in manifest.application.services if s.env}


def protocol_of(service: Service) -> str:
    """The protocol naming ``service``'s ``env``: ``Env``, or ``<Service>Env`` when it has env
    vars of its own."""
    if not service.env:
        return "Env"
    return "".join(part[:1].upper() + part[1:] for part in service.name.replace("_", "-").split("-") if part) + "Env"


def fingerprint(manifest: Manifest) -> str:
    return _fingerprint(protocols(manifest))


def _fingerprint(found: dict[str, list[tuple[str, str, str]]]) -> str:
    text = "\n".join(
        f"{cls}.{name}:{typed}" if cls != "Env" else f"{name}:{typed}"
        for cls, rows in found.items()
        for name, typed, _ in rows
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def render(manifest: Manifest) -> str:
    found = protocols(manifest)
    lines = [
        f"# Written by `python -m runtime generate` from raindrop.manifest; do not edit. fingerprint: {_fingerprint(found)}",
        f'"""The typed ``env`` of application "{manifest.application.name}": ``class Web(Service[Env])``."""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Any, Protocol",
        "",
        f"import {TYPES}",
        "",
        f"__all__ = [{', '.join(repr(cls) for cls in found)}]".replace("'", '"'),
    ]
    services = {cls: name for name, cls in service_protocols(manifest).items()}
    for cls, rows in found.items():
        lines += ["", "", f"class {cls}(Protocol):"]
        if cls in services:
            lines += [f'    """``env`` of service "{services[cls]}": the app\'s, and its own env vars."""', ""]
        for name, typed, comment in rows:
            lines.append(f"    {name}: {typed}  # {comment}")
        for name, attr_cls, comment in ATTRIBUTES:
            lines.append(f"    {name}: {TYPES}.{attr_cls}  # {comment}")
        lines += ["", "    def bindings(self) -> dict[str, Any]: ..."]
    lines.append("")
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
