"""``serve --reload``: run ``serve`` in a child process and restart it when the app changes.

Watched: ``*.py``, ``*.sql``, TypeScript and JavaScript sources, ``package.json``, the manifest, ``raindrop.local.yaml`` and ``.env`` under the
manifest's folder (the state directory and virtualenvs are ignored). Changes are found by
polling modification times twice a second, which needs no extra package and no inotify limits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

IGNORED = {
    ".raindrop",
    ".venv",
    "venv",
    "__pycache__",
    ".git",
    "node_modules",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
}
WATCHED_SUFFIXES = {".py", ".sql", ".manifest", ".yaml", ".yml", ".env", ".html", ".ts", ".mts", ".js", ".mjs"}


def snapshot(root: Path) -> dict[Path, float]:
    found: dict[Path, float] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in IGNORED and not d.startswith(".raindrop")]
        for name in files:
            path = Path(folder) / name
            if path.suffix in WATCHED_SUFFIXES or name in (".env", "raindrop.manifest", "package.json"):
                try:
                    found[path] = path.stat().st_mtime
                except FileNotFoundError:
                    continue
    return found


def changed(before: dict[Path, float], after: dict[Path, float]) -> list[Path]:
    return sorted({p for p in before.keys() | after.keys() if before.get(p) != after.get(p)})


def supervise(manifest: Path, serve_args: Sequence[str], *, interval: float = 0.5) -> int:
    root = manifest.resolve().parent
    command = [sys.executable, "-m", "runtime", "serve", str(manifest), *serve_args]
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while True:
        state = snapshot(root)
        child = subprocess.Popen(command)
        while not stopping:
            time.sleep(interval)
            now = snapshot(root)
            diff = changed(state, now)
            if diff:
                shown = ", ".join(str(p.relative_to(root)) for p in diff[:3]) + (" ..." if len(diff) > 3 else "")
                print(f"reload: {shown} changed; restarting", file=sys.stderr, flush=True)
                break
            if child.poll() is not None:
                # The app failed (say, a syntax error): wait for the next change, then try again.
                print("reload: serve exited; waiting for a change to restart", file=sys.stderr, flush=True)
                while not stopping and not changed(state, snapshot(root)):
                    time.sleep(interval)
                break
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if stopping:
            return 0
