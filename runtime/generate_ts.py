"""``python -m runtime generate`` for TypeScript handlers: ``src/<name>/raindrop.gen.ts``.

As the platform's CLI does, each TypeScript handler gets a type-only module beside it whose
``Env`` interface names every binding the handler reaches, typed against the framework's types
(``KvCache``, ``Queue<Body>``, ``ActorNamespace<Counter>``, ``ServiceStub<...>``, ...), env vars
as strings, and the built-ins every platform ``Env`` has (``_raindrop``, ``AI``, ``annotation``,
``logger``, ``mem``, ``tracer``)::

    import { Service } from '@liquidmetal-ai/raindrop-framework';
    import type { Env } from './raindrop.gen';

    export default class extends Service<Env> { ... }

A queue is typed with the ``Body`` its TypeScript observer exports, an actor namespace with the
actor's class and a service stub with the service's class, when their modules export them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from runtime.manifest import Manifest
from runtime.manifest.model import Actor, CodeResource, EnvVar, QueueSource, Service
from runtime.typescript import typescript_resources

FILENAME = "raindrop.gen.ts"
FRAMEWORK = "@liquidmetal-ai/raindrop-framework"
HEADER = "// Written by `python -m runtime generate` from raindrop.manifest; do not edit."

#: The framework type each store kind is bound to.
STORE_TYPES: dict[str, str] = {
    "queue": "Queue",
    "kv_cache": "KvCache",
    "kv_store": "KvCache",
    "bucket": "Bucket",
    "smartbucket": "SmartBucket",
    "smartmemory": "SmartMemory",
    "smartsql": "SmartSql",
    "sql_database": "SqlDatabase",
    "vector_index": "VectorIndex",
}

#: What every generated ``Env`` has beside the manifest's bindings.
BUILT_IN: dict[str, str] = {
    "_raindrop": "{ app: App }",
    "AI": "Ai",
    "annotation": "Annotation",
    "logger": "Logger",
    "mem": "KvCache",
    "tracer": "Tracer",
}

_DEFAULT = re.compile(r"^\s*export\s+default\b", re.MULTILINE)
_BODY = re.compile(r"^\s*export\s+(?:interface|type|class)\s+Body\b", re.MULTILINE)


def _exports(path: Path, name: str) -> bool:
    text = path.read_text(errors="replace")
    if name == "default":
        return bool(_DEFAULT.search(text))
    if name == "Body":
        return bool(_BODY.search(text))
    return bool(re.search(rf"^\s*export\s+(?:abstract\s+)?class\s+{re.escape(name)}\b", text, re.MULTILINE)) or bool(
        re.search(rf"^\s*export\s*{{[^}}]*\b{re.escape(name)}\b", text, re.MULTILINE)
    )


def _module(from_folder: Path, target: Path) -> str:
    """``target``'s import specifier from ``from_folder``: relative, without its extension."""
    relative = os.path.relpath(target.with_suffix(""), from_folder).replace(os.sep, "/")
    return relative if relative.startswith(".") else f"./{relative}"


def render(manifest: Manifest, resource: CodeResource, path: Path) -> str:
    """The ``raindrop.gen.ts`` of the TypeScript handler of ``resource`` (its module: ``path``)."""
    app = manifest.application
    here = path.parent
    modules = {name: file for name, (_, file) in typescript_resources(manifest).items()}
    uses: set[str] = {"App", "Ai", "Annotation", "Logger", "KvCache", "Tracer"}
    rows: dict[str, tuple[str, str]] = {}

    def instance_of(name: str, export: str) -> str | None:
        module = modules.get(name)
        if module is None or not _exports(module, export):
            return None
        return f"Instance<typeof import('{_module(here, module)}')['{export}']>"

    bodies: dict[str, str] = {}
    for observer in app.observers:
        module = modules.get(observer.name)
        if isinstance(observer.source, QueueSource) and module is not None and _exports(module, "Body"):
            bodies.setdefault(observer.source.queue, f"import('{_module(here, module)}').Body")
    for store in app.stores:
        typed = STORE_TYPES[store.kind]
        uses.add(typed)
        if store.kind == "queue" and store.name in bodies:
            typed = f"Queue<{bodies[store.name]}>"
        rows[store.binding] = (typed, f'{store.kind} "{store.name}"')
    for actor in app.actors:
        uses.add("ActorNamespace")
        found = instance_of(actor.name, actor.class_name) or instance_of(actor.name, "default")
        rows[actor.binding] = (f"ActorNamespace<{found or 'any'}>", f'actor "{actor.name}"')
    for service in app.services:
        uses.add("ServiceStub")
        found = instance_of(service.name, "default")
        rows[service.binding] = (f"ServiceStub<{found or 'any'}>", f'service "{service.name}"')
    for mcp in app.mcp_services:
        rows[mcp.binding] = ("any", f'mcp_service "{mcp.name}"')
    _variables(rows, app.env, "")
    if isinstance(resource, Service):
        _variables(rows, resource.env, f' of service "{resource.name}"')
    for name, typed in BUILT_IN.items():
        rows.setdefault(name, (typed, "built in"))
    kind = "actor" if isinstance(resource, Actor) else resource.kind
    lines = [
        HEADER,
        f'// The bindings {kind} "{resource.name}" reaches (type-only: never run).',
        f"import type {{ {', '.join(sorted(uses))} }} from '{FRAMEWORK}';",
        "",
        "type Instance<T> = T extends abstract new (...args: any) => infer I ? I : T;",
        "",
        "export interface Env {",
    ]
    for name in sorted(rows, key=lambda n: (n.lower(), n)):
        typed, comment = rows[name]
        lines.append(f"  {name}: {typed}; // {comment}")
    lines += ["}", ""]
    return "\n".join(lines)


def _variables(rows: dict[str, tuple[str, str]], variables: tuple[EnvVar, ...], where: str) -> None:
    for var in variables:
        rows[var.name] = ("string", f'{"secret" if var.secret else "env"} "{var.name}"{where}')


def targets(manifest: Manifest) -> list[tuple[CodeResource, Path, Path]]:
    """``(resource, module, raindrop.gen.ts beside it)`` for every TypeScript handler."""
    return [(r, p, p.parent / FILENAME) for r, p in typescript_resources(manifest).values()]


def write(manifest: Manifest) -> list[Path]:
    """Write every TypeScript handler's ``raindrop.gen.ts``; the files written."""
    written = []
    for resource, module, target in targets(manifest):
        text = render(manifest, resource, module)
        if not target.is_file() or target.read_text(errors="replace") != text:
            target.write_text(text)
        written.append(target)
    return written


def staleness(manifest: Manifest) -> str | None:
    """A sentence naming each ``raindrop.gen.ts`` that exists and no longer matches what
    ``generate`` would write (a binding or an exported type changed), else None."""
    stale = [
        target.relative_to(manifest.root).as_posix()
        for resource, module, target in targets(manifest)
        if target.is_file()
        and target.read_text(errors="replace").startswith(HEADER)  # one the app wrote itself is left alone
        and target.read_text(errors="replace") != render(manifest, resource, module)
    ]
    if not stale:
        return None
    return f"{', '.join(stale)} {'is' if len(stale) == 1 else 'are'} stale: run `python -m runtime generate`"
