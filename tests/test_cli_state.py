from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from runtime import App
from runtime.cli import main

APP = Path(__file__).parent / "apps" / "jobs"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(APP, tmp_path / "app")
    return tmp_path / "app" / "raindrop.manifest"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_send_and_queues(project: Path) -> None:
    assert run("send", "jobs", '{"id": 1}', "--manifest", str(project))[0] == 0
    assert run("send", "jobs", '{"id": 2}', "--delay", "60", "--manifest", str(project))[0] == 0
    code, out, _ = run("queues", "--json", "--manifest", str(project))
    assert code == 0
    stats = json.loads(out)["jobs"]
    assert (stats["depth"], stats["ready"], stats["delayed"]) == (2, 1, 1)
    assert (project.parent / ".raindrop" / "state.db").is_file()


def test_send_mistakes_exit_2(project: Path) -> None:
    code, _, err = run("send", "jbs", "{}", "--manifest", str(project))
    assert code == 2 and "did you mean 'jobs'" in err
    code, _, err = run("send", "jobs", "{bad", "--manifest", str(project))
    assert code == 2 and "not valid JSON" in err


def test_kv_commands(project: Path) -> None:
    base = ("--manifest", str(project))
    assert run("kv", "results", "put", "greeting", "hi", "--ttl", "120", "--metadata", '{"a": 1}', *base)[0] == 0
    assert run("kv", "results", "get", "greeting", *base)[1].strip() == "hi"
    code, out, _ = run("kv", "results", "list", "--prefix", "gr", *base)
    assert code == 0 and out.startswith("greeting  expires ") and '{"a": 1}' in out
    assert run("kv", "results", "delete", "greeting", *base)[0] == 0
    assert run("kv", "results", "get", "greeting", *base)[0] == 1
    assert "no kv_cache 'result'" in run("kv", "result", "get", "x", *base)[2]


async def _kill_ready_messages(project: Path, error: str | None) -> None:
    """Dead-letter every ready message of "jobs", as the consumer does after the last retry."""
    async with App.from_manifest(project) as app:
        await app.env.JOBS.send({"id": 1, "action": "fail"})
        store = app.backend.queues
        now = app.clock.time()
        claimed = await store.claim("jobs", 10, now, now + 30)
        await store.dead_letter("jobs", "jobs-dlq", [m.id for m in claimed], [error] * len(claimed))


def test_dead_letters_can_be_listed_redriven_and_purged(project: Path) -> None:
    import asyncio

    asyncio.run(_kill_ready_messages(project, "RuntimeError: boom"))
    base = ("--manifest", str(project))
    code, out, _ = run("queues", "--dead", "jobs", *base)
    assert code == 0 and "RuntimeError: boom" in out and '"action":"fail"' in out
    assert json.loads(run("queues", "--json", *base)[1])["jobs"]["dead_lettered"] == 1
    assert "re-drove 1 message(s)" in run("queues", "--redrive", "jobs", *base)[1]
    stats = json.loads(run("queues", "--json", *base)[1])["jobs"]
    assert (stats["dead_lettered"], stats["ready"]) == (0, 1)
    asyncio.run(_kill_ready_messages(project, None))
    assert "purged 2 dead letter(s)" in run("queues", "--purge-dead", "jobs", *base)[1]
    assert json.loads(run("queues", "--json", *base)[1])["jobs"]["depth"] == 0


def test_trigger_runs_a_schedule_now(tmp_path: Path) -> None:
    shutil.copytree(Path(__file__).parent / "apps" / "clock", tmp_path / "clock")
    manifest = str(tmp_path / "clock" / "raindrop.manifest")
    code, out, _ = run("trigger", "nightly", "--manifest", manifest)
    assert code == 0 and out.startswith("nightly ran in")
    assert '"type": "scheduled"' in run("kv", "results", "get", "nightly", "--manifest", manifest)[1]
    run("kv", "results", "put", "nightly-mode", "fail", "--manifest", manifest)
    code, out, _ = run("trigger", "nightly", "--manifest", manifest)
    assert code == 1 and "RuntimeError: nightly failed on purpose" in out
    code, _, err = run("trigger", "nighty", "--manifest", manifest)
    assert code == 2 and "did you mean 'nightly'" in err


def test_backend_url_mistakes_exit_2_and_unreachable_backends_exit_1(project: Path) -> None:
    code, _, err = run("send", "jobs", "{}", "--backend", "postgres://x", "--manifest", str(project))
    assert code == 2 and "unknown backend URL 'postgres://x'" in err
    code, _, err = run("send", "jobs", "{}", "--backend", "redis://127.0.0.1:1/0", "--manifest", str(project))
    assert code == 1 and "cannot reach Redis at redis://127.0.0.1:1/0" in err


def test_trigger_shows_progress_on_long_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import runtime.cli_state

    monkeypatch.setattr(runtime.cli_state, "PROGRESS_EVERY", 0.05)
    shutil.copytree(Path(__file__).parent / "apps" / "clock", tmp_path / "clock")
    manifest = str(tmp_path / "clock" / "raindrop.manifest")
    # A "hang" run that a background thread ends after a moment, through the app's own KV.
    run("kv", "results", "put", "nightly-mode", "hang", "--manifest", manifest)

    import threading
    import time as _time

    def release() -> None:
        _time.sleep(0.4)
        run("kv", "results", "put", "nightly-mode", "done", "--manifest", manifest)

    threading.Thread(target=release).start()
    import contextlib
    import io as _io

    errors = _io.StringIO()
    with contextlib.redirect_stderr(errors):
        code, out, _ = run("trigger", "nightly", "--manifest", manifest)
    assert code == 0 and out.startswith("nightly ran in")
    assert "nightly: still running (" in errors.getvalue()
