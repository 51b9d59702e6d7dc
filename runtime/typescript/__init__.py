"""TypeScript handlers: an app's unchanged ``src/<resource>/index.ts`` run by a Node child.

A code resource whose Python handler file does not exist and that has
``src/<resource-name>/index.ts`` (or ``.js``, ``.mts``) is a TypeScript handler. Python keeps
everything it owns (delivery, retries, dead letters, cron, actor ownership, durability); Node
only executes handlers, and every ``env.X`` call is answered by the Python binding.
"""

from __future__ import annotations

from pathlib import Path

from runtime.manifest import Manifest
from runtime.manifest.model import CodeResource

SUFFIXES = (".ts", ".js", ".mts")


def typescript_file(resource: CodeResource, root: Path) -> Path | None:
    """The TypeScript module of ``resource``, or None when it has a Python handler (or neither).

    A ``handler = "..."`` naming a ``.ts``/``.js``/``.mts`` file is that file."""
    declared = root / resource.handler
    if declared.suffix in SUFFIXES:
        return declared if declared.is_file() else None
    if declared.is_file():
        return None
    for suffix in SUFFIXES:
        candidate = root / "src" / resource.name / f"index{suffix}"
        if candidate.is_file():
            return candidate
    return None


def conventions(resource: CodeResource) -> str:
    """Both places a handler may live, for the error when neither exists."""
    return f"{resource.handler} (Python) or src/{resource.name}/index.ts (TypeScript)"


def typescript_resources(manifest: Manifest) -> dict[str, tuple[CodeResource, Path]]:
    """The app's TypeScript handlers by resource name (empty for a Python-only app, which then
    never imports the rest of this package)."""
    app = manifest.application
    found = {}
    for resource in (*app.services, *app.observers, *app.tasks, *app.actors, *app.mcp_services):
        path = typescript_file(resource, manifest.root)
        if path is not None:
            found[resource.name] = (resource, path)
    return found
