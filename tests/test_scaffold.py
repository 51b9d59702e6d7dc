"""`new` writes an app that serves and tests green at once; `scaffold` stubs what a manifest names."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.cli import main

ROOT = Path(__file__).resolve().parents[1]

MORE = """
  queue "emails" {}
  observer "mailer" {
    source {
      queue = "emails"
    }
  }
  observer "digest" {
    source {
      schedule = "0 8 * * *"
    }
  }
  task "nightly" {
    type = "cron"
    cron = "0 3 * * *"
  }
  actor "room" {}
  service "admin" {}
  mcp_service "tools" {}
}
"""


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def python(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # mypy does not follow editable installs' import hooks: show it the runtime package alone
    # (not this repository's root, whose own raindrop_gen.py would shadow the app's).
    types = cwd.parent / "typed-runtime"
    if not types.exists():
        types.mkdir()
        (types / "runtime").symlink_to(ROOT / "runtime", target_is_directory=True)
    env = {**os.environ, "MYPYPATH": str(types)}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([sys.executable, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # installs nothing, but runs pytest and mypy as processes
def test_new_app_passes_its_own_tests_then_scaffold_fills_in_a_grown_manifest(tmp_path: Path) -> None:
    code, out, err = run("new", "demo", "--dir", str(tmp_path))
    assert code == 0, err
    app = tmp_path / "demo"
    assert "python -m pytest" in out and (app / "raindrop.manifest").exists()
    assert run("validate", "--strict", str(app / "raindrop.manifest"))[0] == 0

    tests = python("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=app)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "1 passed" in tests.stdout

    manifest = app / "raindrop.manifest"
    manifest.write_text(manifest.read_text().rstrip().removesuffix("}") + MORE)
    code, _, err = run("validate", str(manifest))  # handler files missing: warnings, and the stale types
    assert code == 0 and "raindrop_gen.py is stale" in err and "runtime generate" in err
    code, out, err = run("scaffold", str(manifest))
    assert code == 0, err
    written = sorted(line.removeprefix("wrote ") for line in out.splitlines())
    assert written == [
        "handlers/admin.py",
        "handlers/tools.py",
        "raindrop_gen.py",
        "workers/digest.py",
        "workers/mailer.py",
        "workers/nightly.py",
        "workers/room.py",
    ], out
    assert run("validate", "--strict", str(manifest))[0] == 0  # every handler now loads

    typed = python("-m", "mypy", "--strict", "--no-incremental", "handlers", "workers", "tests", cwd=app)
    ours = [line for line in typed.stdout.splitlines() if line.startswith(("handlers", "workers", "tests"))]
    assert ours == [], typed.stdout

    assert python("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=app).returncode == 0

    # The generated Env makes binding mistakes type errors: a queue is not a KV cache.
    web = app / "handlers/web.py"
    web.write_text(web.read_text().replace("await self.env.JOBS.send(job)", "await self.env.JOBS.put(job)"))
    typed = python("-m", "mypy", "--strict", "--no-incremental", "handlers", cwd=app)
    assert '"Queue" has no attribute "put"' in typed.stdout, typed.stdout
    web.write_text(web.read_text().replace("self.env.JOBS.put(job)", "self.env.JOBS.send(job)"))
    before = (app / "handlers/web.py").read_text()
    code, out, _ = run("scaffold", str(manifest))
    assert code == 0 and "no stub written" in out
    assert (app / "handlers/web.py").read_text() == before


@pytest.mark.parametrize("name", ["", ".hidden", "a/b"])
def test_new_refuses_names_that_are_not_names(tmp_path: Path, name: str) -> None:
    code, _, err = run("new", name, "--dir", str(tmp_path))
    assert code == 2 and "not an application name" in err


def test_new_refuses_a_folder_in_use(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "notes.txt").write_text("mine")
    code, _, err = run("new", "demo", "--dir", str(tmp_path))
    assert code == 2 and "not empty" in err
    assert (tmp_path / "demo" / "notes.txt").read_text() == "mine"


def test_the_podcast_apps_generated_env_is_fresh_and_typed() -> None:
    from runtime.generate import FILENAME, render, staleness
    from runtime.manifest import load

    manifest = load(ROOT / "raindrop.manifest")
    assert staleness(manifest) is None, "run python -m runtime generate and commit raindrop_gen.py"
    assert (ROOT / FILENAME).read_text() == render(manifest)
    text = render(manifest)
    assert "PODCAST_GENERATION_QUEUE: runtime.types.Queue" in text
    assert "PODCAST_AUDIO: runtime.types.Bucket" in text
    assert "ANTHROPIC_API_KEY: str | None" in text and "AUTH: str " in text


def test_generate_types_every_kind(tmp_path: Path) -> None:
    (tmp_path / "raindrop.manifest").write_text(
        """application "kinds" {
  smartbucket "docs" {}
  smartmemory "mem" {}
  smartsql "analytics" {}
  sql_database "app-db" {}
  kv_store "sessions" {}
  env "MODE" {
    default = "dev"
  }
}
"""
    )
    code, out, err = run("generate", str(tmp_path / "raindrop.manifest"))
    assert code == 0, err
    assert "raindrop_gen.py" in out
    text = (tmp_path / "raindrop_gen.py").read_text()
    for line in (
        "DOCS: runtime.types.SmartBucket",
        "MEM: runtime.types.SmartMemory",
        "ANALYTICS: runtime.types.SmartSql",
        "APP_DB: runtime.types.SqlDatabase",
        "SESSIONS: runtime.types.KvCache",
        "MODE: str  # env",
        "AI: runtime.types.AI",
    ):
        assert line in text, text
    assert run("validate", "--strict", str(tmp_path / "raindrop.manifest"))[0] == 0
    compile(text, "raindrop_gen.py", "exec")


def test_generate_gives_a_service_with_env_vars_of_its_own_a_protocol(tmp_path: Path) -> None:
    from runtime.generate import staleness
    from runtime.manifest import load

    manifest = tmp_path / "raindrop.manifest"
    text = """application "nested" {
  kv_cache "cache" {}
  env "MODE" {
    default = "dev"
  }
  service "auth-api" {
    env "CLIENT_ID" {}
    env "MODE" {
      default = "strict"
    }
  }
}
"""
    manifest.write_text(text)
    code, out, err = run("generate", str(manifest))
    assert code == 0, err
    assert "service 'auth-api' has env vars of its own: use `class ...(Service[AuthApiEnv])`" in out
    generated = (tmp_path / "raindrop_gen.py").read_text()
    assert '__all__ = ["Env", "AuthApiEnv"]' in generated
    env, auth = generated.split("class AuthApiEnv(Protocol):")
    assert "CLIENT_ID" not in env and "CACHE: runtime.types.KvCache" in env
    assert 'CLIENT_ID: str | None  # env "CLIENT_ID" of service "auth-api", None when unset' in auth
    assert "CACHE: runtime.types.KvCache" in auth and 'MODE: str  # env "MODE" of service "auth-api"' in auth
    compile(generated, "raindrop_gen.py", "exec")
    assert staleness(load(manifest, handlers="ignore")) is None
    code, out, err = run("scaffold", str(manifest))  # the service's stub is typed with its protocol
    assert code == 0, err
    stub = (tmp_path / "handlers" / "auth_api.py").read_text()
    assert "from raindrop_gen import AuthApiEnv" in stub and "class AuthApi(Service[AuthApiEnv]):" in stub
    manifest.write_text(text.replace('env "CLIENT_ID" {}', 'env "CLIENT_ID" {}\n    env "CLIENT_SECRET" {}'))
    assert (
        staleness(load(manifest, handlers="ignore")) is not None
    )  # a service's own env var is part of the fingerprint
