"""``new NAME --typescript`` writes an app whose own test passes as written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.cli import main

pytestmark = pytest.mark.slow


def test_the_typescript_scaffold_test_passes_as_written(tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    assert main(["new", "shop", "--dir", str(tmp_path), "--typescript"]) == 0
    root = tmp_path / "shop"
    assert (root / "src" / "web" / "index.ts").is_file()
    assert not (root / "handlers").exists()
    environ = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=root,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
