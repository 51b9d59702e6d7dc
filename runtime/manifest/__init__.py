"""Reading ``raindrop.manifest``: grammar, typed models and whole-file checks.

:func:`check` returns every diagnostic of a file; :func:`load` raises
:class:`~runtime.errors.ManifestError` when there is any error and returns the typed
:class:`Manifest` otherwise (with its warnings attached).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from runtime.errors import ManifestError
from runtime.manifest.checks import build
from runtime.manifest.diagnostics import Diagnostic, Source, Span, decode_text
from runtime.manifest.model import Application, Manifest, binding_name, class_name
from runtime.manifest.parser import parse
from runtime.manifest.references import handler_diagnostics

HandlerCheck = Literal["ignore", "warn", "error"]

__all__ = [
    "Application",
    "Diagnostic",
    "HandlerCheck",
    "Manifest",
    "Source",
    "Span",
    "binding_name",
    "check",
    "check_text",
    "class_name",
    "load",
]


def check_text(
    text: str, path: Path | str = "raindrop.manifest", *, strict: bool = False, handlers: HandlerCheck = "warn"
) -> tuple[Manifest | None, list[Diagnostic]]:
    """Parse and check manifest ``text``; returns the manifest (None on errors) and all diagnostics.

    :param strict: report warnings as errors.
    :param handlers: what a missing handler file is: ignored, a warning, or an error.
    """
    path = Path(path)
    source = Source(str(path), text.removeprefix("\ufeff"))  # a UTF-8 byte-order mark is not content
    with _collector_paused():
        return _check_source(source, path, strict=strict, handlers=handlers)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Parsing allocates many small objects and frees them in bulk; the cyclic collector would
    scan them again and again (40% of the time on a large file) and finds no cycles to free."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_source(
    source: Source, path: Path, *, strict: bool, handlers: HandlerCheck
) -> tuple[Manifest | None, list[Diagnostic]]:
    result = parse(source)
    diagnostics = list(result.diagnostics)
    app = None
    if result.ok:
        app, found = build(source, result.blocks, path.parent)
        diagnostics.extend(found)
        if app is not None and handlers != "ignore":
            diagnostics.extend(
                handler_diagnostics(source, app, path.parent, handlers if handlers == "error" else "warning")
            )
    if strict:
        diagnostics = [
            Diagnostic("error", d.message, d.path, d.span, d.source_line) if d.severity == "warning" else d
            for d in diagnostics
        ]
    diagnostics.sort(key=lambda d: (d.line, d.col))
    if app is None or any(d.severity == "error" for d in diagnostics):
        return None, diagnostics
    manifest = Manifest(path=path, application=app, warnings=tuple(diagnostics))
    return manifest, diagnostics


def check(
    path: Path | str, *, strict: bool = False, handlers: HandlerCheck = "warn"
) -> tuple[Manifest | None, list[Diagnostic]]:
    """Like :func:`check_text`, reading the file at ``path``; an unreadable file is a diagnostic."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [Diagnostic("error", f"manifest {str(path)!r} not found", str(path), Span(0, 0, 0, 0))]
    except OSError as exc:
        return None, [
            Diagnostic("error", f"cannot read manifest {str(path)!r}: {exc.strerror}", str(path), Span(0, 0, 0, 0))
        ]
    text = decode_text(raw, str(path), "the manifest")
    if isinstance(text, Diagnostic):
        return None, [text]
    return check_text(text, path, strict=strict, handlers=handlers)


def load(path: Path | str, *, strict: bool = False, handlers: HandlerCheck = "error") -> Manifest:
    """The checked manifest at ``path``.

    :raises ManifestError: with every diagnostic, when the file has any error.
    """
    manifest, diagnostics = check(path, strict=strict, handlers=handlers)
    if manifest is None:
        raise ManifestError(diagnostics)
    return manifest
