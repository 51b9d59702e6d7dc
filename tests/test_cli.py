from __future__ import annotations

import io
import json
import re
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


DESK = """application "desk" {
  service "api" {
    visibility = "public"
  }
  actor "rate-limiter" {}
  queue "tickets" {}
  observer "triage" {
    source {
      queue = "tickets"
    }
  }
  sql_database "tickets-db" {}
}
"""
GOOD = {
    "handlers/api.py": "from runtime import Service\n\nclass Api(Service):\n    async def fetch(self, request):\n        ...\n",
    "workers/rate_limiter.py": "from runtime import Actor\n\nclass RateLimiter(Actor):\n    async def hit(self):\n        ...\n",
    "workers/triage.py": "from runtime import Each\n\nclass Triage(Each):\n    async def process(self, message):\n        ...\n",
    "db/tickets-db/0001_init.sql": "CREATE TABLE t (id INTEGER);\n",
}


def desk(tmp_path: Path, **changes: str | None) -> Path:
    files = {**GOOD, **{k.replace("__", "/").replace("_py", ".py"): v for k, v in changes.items()}}
    for name, text in files.items():
        if text is not None:
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(text)
    (tmp_path / "raindrop.manifest").write_text(DESK)
    return tmp_path / "raindrop.manifest"


def test_validate_checks_what_loading_checks(tmp_path: Path) -> None:
    """A wrong signature, a misnamed actor class, a module that fails to import: each was
    "valid" until the app started. validate imports each handler (no handler is constructed)."""
    assert run("validate", "--strict", str(desk(tmp_path / "ok")))[0] == 0
    cases = {
        "signature": (
            {"workers__triage_py": GOOD["workers/triage.py"].replace("process(self, message)", "process(self, m, n)")},
            r'observer "triage": workers/triage.py:4: Triage.process\(self, m, n\) cannot be called with one message',
        ),
        "not async": (
            {"workers__triage_py": GOOD["workers/triage.py"].replace("async def", "def")},
            r"observer \"triage\": workers/triage.py:4: Triage.process must be async",
        ),
        "actor class": (
            {"workers__rate_limiter_py": GOOD["workers/rate_limiter.py"].replace("RateLimiter", "Limiter")},
            r"must define class RateLimiter\(Actor\)",
        ),
        "import": (
            {"handlers__api_py": "import no_such_module_here\n"},
            r"importing handler file .* failed: ModuleNotFoundError",
        ),
    }
    for name, (changes, message) in cases.items():
        code, _, err = run("validate", str(desk(tmp_path / name.replace(" ", "-"), **changes)))
        assert code == 2, (name, err)
        assert re.search(r"raindrop\.manifest:\d+:\d+: error: .*" + message, err), (name, err)


def test_validate_warns_about_migration_folders(tmp_path: Path) -> None:
    manifest = desk(tmp_path, **{"db__tickets-db__0001_init.sql": None})
    (tmp_path / "db" / "ticket-db").mkdir(parents=True)
    (tmp_path / "db" / "ticket-db" / "0001.sql").write_text("CREATE TABLE t (id INTEGER);\n")
    code, out, err = run("validate", str(manifest))
    assert code == 0 and "(2 warnings)" in out
    assert 'warning: sql_database "tickets-db" has no migrations folder db/tickets-db/' in err
    assert "warning: db/ticket-db/ holds migrations for no database of the manifest; did you mean db/tickets-db/" in err
    assert run("validate", "--strict", str(manifest))[0] == 2
