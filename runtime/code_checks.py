"""What ``validate`` checks beyond the manifest: what loading the app would refuse.

Each handler module is imported (its top-level code runs, as at load) and its class checked as
the loader checks it: the file exists, the class is there (an actor's is the PascalCase of its
name), the entry method is ``async`` and takes what the runtime passes, and an MCP module has
``implementation`` and ``register``. No handler is constructed and no method is called. Then the
``db/`` folders: a ``sql_database`` with no migrations folder, and a folder no database reads
(with "did you mean").
"""

from __future__ import annotations

from pathlib import Path

from runtime.errors import HandlerLoadError
from runtime.loader import handler_class
from runtime.manifest import Manifest
from runtime.manifest.diagnostics import Diagnostic, Source, make
from runtime.manifest.schema import closest


def code_diagnostics(manifest: Manifest, shown_as: Path | str) -> list[Diagnostic]:
    """Errors for handlers loading would refuse, warnings for ``db/`` folders that do nothing."""
    root = manifest.root
    source = Source(str(shown_as), manifest.path.read_text(encoding="utf-8", errors="replace"))
    found: list[Diagnostic] = []
    for resource in manifest.application.code_resources():
        if not (root / resource.handler).is_file():
            continue  # the manifest check reports a missing file already
        try:
            if resource.kind == "mcp_service":
                from runtime.mcp import load_module

                load_module(resource, root)  # type: ignore[arg-type]
            else:
                handler_class(resource, root)
        except HandlerLoadError as exc:
            found.append(make(source, "error", str(exc), resource.span))
    stores = manifest.application.stores
    databases = [s.name for s in stores if s.kind in ("sql_database", "smartsql")]
    folder = root / "db"
    for store in stores:
        if store.kind == "sql_database" and not (folder / store.name).is_dir():
            found.append(
                make(
                    source,
                    "warning",
                    f'sql_database "{store.name}" has no migrations folder db/{store.name}/: its tables come from '
                    f"db/{store.name}/*.sql, applied in order when the app starts",
                    store.span,
                )
            )
    found += [make(source, "warning", line, manifest.application.span) for line in stray_migrations(root, databases)]
    return found


def stray_migrations(root: Path, databases: list[str]) -> list[str]:
    """A warning for each folder of ``db/`` no database reads (a mistake otherwise found only
    at "no such table"), with the closest database's name as a hint."""
    folder = root / "db"
    if not folder.is_dir():
        return []
    found = []
    for stray in sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name not in databases):
        guess = closest(stray, databases)
        hint = f"; did you mean db/{guess}/ (for database {guess!r})?" if guess else ""
        found.append(f"db/{stray}/ holds migrations for no database of the manifest{hint}")
    return found
