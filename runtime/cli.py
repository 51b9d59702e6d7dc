"""The ``python -m runtime`` command line. ``main(argv)`` returns the exit code.

Exit codes: 0 success, 1 a handler or runtime failure, 2 a usage or manifest error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from runtime import cli_state
from runtime.clock import SystemClock
from runtime.config import LocalSettings, load_settings
from runtime.errors import BackendURLError, ManifestError, RaindropError
from runtime.inspection import describe, render_text
from runtime.manifest import Diagnostic, HandlerCheck, Manifest, check

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
MAX_WARNINGS = 20  # a manifest with hundreds of missing handlers should not bury the summary


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m runtime", description="Run Raindrop apps locally.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check a manifest and its local settings")
    validate.add_argument("manifest", nargs="?", default="raindrop.manifest")
    validate.add_argument("--strict", action="store_true", help="treat warnings (and missing handler files) as errors")

    inspect = commands.add_parser("inspect", help="list resources, bindings, handlers and next schedule fires")
    inspect.add_argument("manifest", nargs="?", default="raindrop.manifest")
    inspect.add_argument("--json", action="store_true", help="print JSON instead of text")
    serve = commands.add_parser("serve", help="run the whole app: services over HTTP, observers, schedules, alarms")
    serve.add_argument("manifest", nargs="?", default="raindrop.manifest")
    serve.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="first port (default 8787)")
    serve.add_argument("--state", default=None, help="state directory (default .raindrop/ beside the manifest)")
    serve.add_argument("--backend", default=None, help="backend URL (default SQLite in the state directory)")
    serve.add_argument("--log-format", choices=["text", "json"], default="text")
    serve.add_argument(
        "--no-request-log", action="store_true", help="no log line per answered request (failures are still logged)"
    )
    serve.add_argument("--grace", type=float, default=10.0, help="seconds running work may take to finish on stop")
    serve.add_argument("--reload", action="store_true", help="restart when code, the manifest or settings change")
    serve.add_argument(
        "--no-dashboard", action="store_true", help="do not serve the dev dashboard at /_runtime/ (and its API)"
    )
    worker = commands.add_parser(
        "worker", help="consume observers, schedules and alarms from a shared backend (no HTTP)"
    )
    worker.add_argument("manifest", nargs="?", default="raindrop.manifest")
    worker.add_argument(
        "--backend",
        default=None,
        help="the shared backend, e.g. redis://127.0.0.1:6379/0 (default: backend: in raindrop.local.yaml)",
    )
    worker.add_argument("--state", default=None, help="state directory for SQL databases and buckets")
    worker.add_argument("--log-format", choices=["text", "json"], default="text")
    worker.add_argument("--grace", type=float, default=10.0)
    new = commands.add_parser("new", help="create a small app that runs and whose tests pass")
    new.add_argument("name", help="the application's name, also its folder")
    new.add_argument("--dir", default=".", help="the folder to create it in (default: here)")
    new.add_argument("--typescript", action="store_true", help="write its handlers in TypeScript (src/*/index.ts)")
    stubs = commands.add_parser(
        "scaffold", help="write a typed stub for every handler file the manifest names and lacks"
    )
    stubs.add_argument("manifest", nargs="?", default="raindrop.manifest")
    generate = commands.add_parser(
        "generate",
        help="write raindrop_gen.py (the app's typed Env for Service[Env] and mypy) and src/<name>/raindrop.gen.ts",
    )
    generate.add_argument("manifest", nargs="?", default="raindrop.manifest")
    cli_state.register(commands)
    return parser


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = _parser().parse_args(argv)
    try:
        if args.command == "validate":
            return _validate(Path(args.manifest), args.strict, out, err)
        if args.command == "inspect":
            return _inspect(Path(args.manifest), args.json, out, err)
        if args.command == "new":
            return _new(args.name, Path(args.dir), out, err, typescript=args.typescript)
        if args.command == "scaffold":
            return _scaffold(Path(args.manifest), out, err)
        if args.command == "generate":
            return _generate(Path(args.manifest), out, err)
        if args.command == "serve" and args.reload:
            from runtime.reload import supervise

            forwarded = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--reload"]
            forwarded = forwarded[forwarded.index("serve") + 1 :]
            if forwarded and not forwarded[0].startswith("-"):
                forwarded = forwarded[1:]  # the manifest is passed separately
            return supervise(Path(args.manifest), forwarded)
        if args.command == "worker":
            from runtime.logs import configure_logging
            from runtime.serve import run_loop, work

            configure_logging(args.log_format, err)
            return run_loop(
                work(Path(args.manifest), backend=args.backend, state=args.state, grace=args.grace, out=out)
            )
        if args.command == "serve":
            from runtime.logs import configure_logging
            from runtime.serve import run_loop, serve

            configure_logging(args.log_format, err, request_log=not args.no_request_log)
            return run_loop(
                serve(
                    Path(args.manifest),
                    host=args.host,
                    port=args.port,
                    state=args.state,
                    backend=args.backend,
                    grace=args.grace,
                    out=out,
                    with_dashboard=not args.no_dashboard,
                )
            )
        if args.command in ("send", "queues", "kv", "trigger"):
            return asyncio.run(cli_state.run(args, out))
    except cli_state.UsageError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_USAGE
    except ManifestError as exc:
        print(exc.render(), file=err)
        return EXIT_USAGE
    except BackendURLError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_USAGE
    except RaindropError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_FAILURE
    return EXIT_USAGE  # pragma: no cover - argparse rejects unknown commands first


def _read(path: Path, *, strict: bool, handlers: HandlerCheck, err: TextIO) -> tuple[Manifest, LocalSettings] | None:
    manifest, diagnostics = check(path, strict=strict, handlers=handlers)
    shown_warnings = 0
    for diagnostic in diagnostics:
        if diagnostic.severity == "warning":
            shown_warnings += 1
            if shown_warnings > MAX_WARNINGS:
                continue
        print(diagnostic.render(), file=err)
    if shown_warnings > MAX_WARNINGS:
        print(
            f"... and {shown_warnings - MAX_WARNINGS} more warnings (validate --strict lists them as errors)", file=err
        )
    if manifest is None:
        _summary_of_errors(diagnostics, err)
        return None
    settings = load_settings(manifest)
    return manifest, settings


def _summary_of_errors(diagnostics: list[Diagnostic], err: TextIO) -> None:
    errors = sum(1 for d in diagnostics if d.severity == "error")
    warnings = len(diagnostics) - errors
    parts = [f"{errors} error{'s' if errors != 1 else ''}"]
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    print(", ".join(parts), file=err)


def _validate(path: Path, strict: bool, out: TextIO, err: TextIO) -> int:
    read = _read(path, strict=strict, handlers="error" if strict else "warn", err=err)
    if read is None:
        return EXIT_USAGE
    manifest, _ = read
    from runtime.code_checks import code_diagnostics

    found = code_diagnostics(manifest, path)  # what loading the app would refuse: handlers, db/
    for diagnostic in found:
        print(diagnostic.render(), file=err)
    if any(d.severity == "error" or strict for d in found):
        _summary_of_errors([replace(d, severity="error") if strict else d for d in found], err)
        return EXIT_USAGE
    counts = Counter(r.kind for r in manifest.application.resources())
    listed = ", ".join(f"{n} {_plural(kind, n)}" for kind, n in sorted(counts.items())) or "no resources"
    warnings = len(manifest.warnings) + len(found)
    tail = f" ({warnings} warning{'s' if warnings != 1 else ''})" if warnings else ""
    print(f'{path}: application "{manifest.application.name}" is valid: {listed}{tail}', file=out)
    from runtime.generate import staleness
    from runtime.generate_ts import staleness as ts_staleness

    stale = "; ".join(s for s in (staleness(manifest), ts_staleness(manifest)) if s)
    if stale:
        print(f"{path}: warning: {stale}", file=err)
        if strict:
            return EXIT_USAGE
    return EXIT_OK


def _new(name: str, parent: Path, out: TextIO, err: TextIO, *, typescript: bool = False) -> int:
    from runtime.scaffold import new
    from runtime.typescript.scaffold import new_typescript

    if not name or "/" in name or name.startswith("."):
        print(f"error: {name!r} is not an application name: use letters, digits and dashes", file=err)
        return EXIT_USAGE
    try:
        manifest = (new_typescript if typescript else new)(name, parent)
    except FileExistsError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_USAGE
    root = manifest.parent
    made = "src/, package.json" if typescript else "handlers/, workers/"
    print(f"created {root}/ (raindrop.manifest, {made}, tests/)", file=out)
    print(f"  cd {root} && python -m runtime serve     # runs it on http://127.0.0.1:8787", file=out)
    print(f"  cd {root} && python -m pytest            # runs its test on the fake clock", file=out)
    return EXIT_OK


def _scaffold(path: Path, out: TextIO, err: TextIO) -> int:
    from runtime.generate import write
    from runtime.scaffold import scaffold

    read = _read(path, strict=False, handlers="ignore", err=err)
    if read is None:
        return EXIT_USAGE
    manifest, _ = read
    stubs = scaffold(manifest)  # first: the types are written from the actors' source, stubs included
    written = [write(manifest), *stubs]
    for file in written:
        print(f"wrote {file.relative_to(manifest.root)}", file=out)
    if len(written) == 1:
        print("every handler file the manifest names exists; no stub written", file=out)
    return EXIT_OK


def _generate(path: Path, out: TextIO, err: TextIO) -> int:
    from runtime.generate import bindings, service_protocols, write

    read = _read(path, strict=False, handlers="ignore", err=err)
    if read is None:
        return EXIT_USAGE
    manifest, _ = read
    written = write(manifest)
    print(
        f"wrote {written.relative_to(manifest.root)}: Env with {len(bindings(manifest))} bindings; "
        "use it as `class Web(Service[Env])` with `from raindrop_gen import Env`",
        file=out,
    )
    for service, cls in service_protocols(manifest).items():
        print(f"  service {service!r} has env vars of its own: use `class ...(Service[{cls}])`", file=out)
    from runtime.generate_ts import write as write_ts

    typed_files = write_ts(manifest)  # one per TypeScript handler, beside it, as the platform's CLI writes
    for typed in typed_files:
        print(f"wrote {typed.relative_to(manifest.root)}: `import type {{ Env }} from './raindrop.gen'`", file=out)
    if typed_files:
        from runtime.typescript.host import JS

        print(f"  the framework's types for tsc (tsconfig.json paths): {JS / 'framework' / 'index.d.ts'}", file=out)
    return EXIT_OK


def _plural(kind: str, n: int) -> str:
    if n == 1:
        return kind
    return kind[:-1] + "ies" if kind.endswith("y") else kind + "s"


def _inspect(path: Path, as_json: bool, out: TextIO, err: TextIO) -> int:
    read = _read(path, strict=False, handlers="warn", err=err)
    if read is None:
        return EXIT_USAGE
    manifest, settings = read
    report = describe(manifest, settings, SystemClock().now())
    print(json.dumps(report, indent=2) if as_json else render_text(report), file=out)
    return EXIT_OK
