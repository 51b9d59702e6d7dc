from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.cli import main

ROOT = Path(__file__).parent.parent
MANIFESTS = Path(__file__).parent / "manifests"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_validate_ok_prints_one_line_summary() -> None:
    code, out, _ = run("validate", str(MANIFESTS / "good" / "a1_canonical.manifest"))
    assert code == 0
    assert out.count("\n") == 1
    assert 'application "demo" is valid' in out and "2 services" in out


def test_validate_errors_exit_2_with_every_error() -> None:
    path = MANIFESTS / "bad" / "several_errors.manifest"
    code, out, err = run("validate", str(path))
    assert code == 2 and out == ""
    headlines = [line for line in err.splitlines() if ": error: " in line]
    assert len(headlines) == 3
    assert headlines[0].startswith(f"{path}:4:5: error: missing '='")
    assert "^" in err and err.rstrip().endswith("3 errors")


def test_validate_missing_file() -> None:
    code, _, err = run("validate", "/nonexistent/raindrop.manifest")
    assert code == 2 and "not found" in err


def test_strict_turns_warnings_and_missing_handlers_into_errors(tmp_path: Path) -> None:
    path = tmp_path / "raindrop.manifest"
    path.write_text('application "a" {\n  service "api" { visibility = "public" }\n}\n')
    code, out, err = run("validate", str(path))
    assert code == 0 and "1 warning" in out and 'warning: service "api"' in err
    code, _, err = run("validate", "--strict", str(path))
    assert code == 2 and 'error: service "api": handler file handlers/api.py does not exist' in err


def test_validate_checks_local_settings(tmp_path: Path) -> None:
    path = tmp_path / "raindrop.manifest"
    path.write_text('application "a" {\n  queue "q" {}\n}\n')
    (tmp_path / "raindrop.local.yaml").write_text("prot: 80\n")
    code, _, err = run("validate", str(path))
    assert code == 2 and "raindrop.local.yaml:1:1: error: unknown setting 'prot'" in err


@pytest.mark.parametrize("path", sorted((MANIFESTS / "corpus").glob("*.manifest")), ids=lambda p: p.stem)
def test_inspect_lists_bindings_of_real_manifests(path: Path) -> None:
    code, out, _ = run("inspect", "--json", str(path))
    assert code == 0
    report = json.loads(out)
    for resource in report["resources"]:
        if resource["kind"] not in ("observer", "task"):
            assert resource["binding"] == "env." + resource["name"].upper().replace("-", "_")


def test_inspect_shows_handlers_and_next_three_fires() -> None:
    code, out, _ = run("inspect", "--json", str(ROOT / "raindrop.manifest"))
    assert code == 0
    report = json.loads(out)
    (schedule,) = report["schedules"]
    assert schedule["name"] == "podcast-pregeneration-cron" and len(schedule["next"]) == 3
    assert all(t.endswith("T03:00:00Z") for t in schedule["next"])
    handlers = {r["name"]: r.get("handler") for r in report["resources"]}
    assert handlers["web"] == "handlers/web.py"
    assert handlers["podcast-queue-handler"] == "workers/podcast_queue_handler.py"
    code, text, _ = run("inspect", str(ROOT / "raindrop.manifest"))
    assert "env.KV_CACHE" in text and "schedules (next fires, UTC)" in text


@pytest.mark.slow  # `python -m runtime` as a process
def test_module_entry_point_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "runtime", "validate", str(MANIFESTS / "good" / "a1_canonical.manifest")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    bad = subprocess.run([sys.executable, "-m", "runtime", "frobnicate"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2


def test_many_warnings_are_capped(tmp_path: Path) -> None:
    path = tmp_path / "raindrop.manifest"
    path.write_text(
        'application "a" {\n'
        + "".join(f'  queue "q{i}" {{}}\n  observer "o{i}" {{ source {{ queue = "q{i}" }} }}\n' for i in range(30))
        + "}\n"
    )
    code, out, err = run("validate", str(path))
    assert code == 0 and "(30 warnings)" in out
    assert err.count("warning: observer") == 20 and "... and 10 more warnings" in err
    assert "the default for an observer" in err
