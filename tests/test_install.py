"""The README's install, as a user outside the clone meets it: a fresh virtualenv, the README's
``pip install -e ...`` of this repository, ``python -m runtime new`` in another folder, and
``mypy --strict`` on that app finding ``runtime`` (pip's default editable install hides the
package from type checkers behind an import hook: 25 import errors on a new app)."""

from __future__ import annotations

import os
import re
import shlex
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_install() -> list[str]:
    """The arguments of ``pip install`` in the README's first command (and the CI script's)."""
    first = (ROOT / "README.md").read_text().split("```bash\n", 1)[1].splitlines()[0]
    (command,) = [part.strip() for part in first.split("&&") if "pip install" in part]
    return shlex.split(command)[2:]


def test_the_ci_script_installs_as_the_readme_says() -> None:
    arguments = readme_install()
    assert arguments[0] == "-e" and "editable_mode=strict" in arguments
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"pip install --quiet -e '\.\[dev\]' --config-settings editable_mode=strict", ci)
    second = (ROOT / "README.md").read_text().split("```bash\n", 1)[1].splitlines()[1]
    assert "pip install -e '.[dev]' --config-settings editable_mode=strict" in second


@pytest.mark.slow  # a virtualenv, a build of the package and mypy on a new app
def test_mypy_strict_on_a_new_app_outside_the_clone(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    # As a user's shell: nothing points at the clone but what the install wrote.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH", "VIRTUAL_ENV")}
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    packages = subprocess.run(
        [str(python), "-c", "import site; print(site.getsitepackages()[0])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    # The dependencies (and mypy) come from this environment; the package itself is installed
    # exactly as the README says, into the fresh one.
    (Path(packages) / "_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    arguments = [ROOT.as_posix() if a == "." else a for a in readme_install()]
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", *arguments],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    subprocess.run(
        [str(python), "-m", "runtime", "new", "desk"], cwd=elsewhere, check=True, capture_output=True, env=env
    )
    checked = subprocess.run(
        [str(python), "-m", "mypy", "--strict", "--no-incremental", "."],
        cwd=elsewhere / "desk",
        capture_output=True,
        text=True,
        env=env,
    )
    assert checked.returncode == 0, checked.stdout[-3000:]
    assert "Success: no issues found" in checked.stdout
