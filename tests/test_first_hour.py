"""Mistakes a new user makes, caught where they are made (see also tests/test_loader.py)."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from runtime import App

pytestmark = pytest.mark.anyio


async def test_dead_letters_are_public(tmp_path: Path) -> None:
    (tmp_path / "raindrop.manifest").write_text(
        'application "a" {\n  queue "jobs" {}\n  observer "fails" {\n    source {\n      queue = "jobs"\n    }\n  }\n}\n'
    )
    (tmp_path / "workers").mkdir()
    (tmp_path / "workers" / "fails.py").write_text(
        "from runtime import Each\n\nclass Fails(Each):\n    async def process(self, message):\n        raise ValueError('nope')\n"
    )
    (tmp_path / "raindrop.local.yaml").write_text("observers:\n  fails: {max_retries: 0}\n")
    async with App.from_manifest(tmp_path / "raindrop.manifest", backend="memory://") as app:
        await app.env.JOBS.send({"n": 1})
        await app.drain(raise_errors=False)
        (letter,) = await app.dead_letters("jobs")
        assert letter.origin == "jobs" and "ValueError: nope" in (letter.last_error or "")
        with pytest.raises(KeyError, match="did you mean 'jobs'"):
            await app.dead_letters("job")


async def test_a_migration_folder_for_no_database_is_named(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "raindrop.manifest").write_text('application "a" {\n  sql_database "app-db" {}\n}\n')
    (tmp_path / "db" / "app_db").mkdir(parents=True)
    (tmp_path / "db" / "app_db" / "0001.sql").write_text("CREATE TABLE t (x);\n")
    with caplog.at_level(logging.WARNING):
        async with App.from_manifest(tmp_path / "raindrop.manifest", backend="memory://"):
            pass
    assert "db/app_db/ holds migrations for no database of the manifest; did you mean db/app-db/" in caplog.text


@pytest.mark.slow  # a `worker` process
def test_a_worker_takes_its_backend_from_the_local_settings(tmp_path: Path) -> None:
    (tmp_path / "raindrop.manifest").write_text('application "a" {\n  kv_cache "c" {}\n}\n')
    manifest = str(tmp_path / "raindrop.manifest")
    missing = subprocess.run(
        [sys.executable, "-m", "runtime", "worker", manifest], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 2 and "give --backend" in missing.stderr
    (tmp_path / "raindrop.local.yaml").write_text(f"backend: sqlite:///{tmp_path / 'shared.db'}\n")
    worker = subprocess.Popen(
        [sys.executable, "-m", "runtime", "worker", manifest], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert worker.stdout is not None
    first = worker.stdout.readline()
    worker.terminate()
    worker.communicate(timeout=30)
    assert f"on sqlite:///{tmp_path / 'shared.db'}" in first


async def test_drain_raises_the_first_handler_failure_with_its_traceback(tmp_path: Path) -> None:
    (tmp_path / "raindrop.manifest").write_text(
        'application "a" {\n  queue "jobs" {}\n  observer "fails" {\n    source {\n      queue = "jobs"\n    }\n  }\n}\n'
    )
    (tmp_path / "workers").mkdir()
    (tmp_path / "workers" / "fails.py").write_text(
        "from runtime import Each\n\nclass Fails(Each):\n    async def process(self, message):\n"
        "        raise LookupError(f'no user {message.body[\"id\"]}')\n"
    )
    (tmp_path / "raindrop.local.yaml").write_text("observers:\n  fails: {max_retries: 0}\n")
    async with App.from_manifest(tmp_path / "raindrop.manifest", backend="memory://") as app:
        await app.env.JOBS.send({"id": 7})
        with pytest.raises(LookupError, match="no user 7") as failure:
            await app.drain()
        assert "fails.py" in "".join(str(frame.path) for frame in failure.traceback)  # where it happened
        await app.drain()  # reported once: the next drain is quiet
        await app.env.JOBS.send({"id": 8})
        await app.drain(raise_errors=False)  # failures kept as data
        assert len(await app.dead_letters("jobs")) == 2


async def test_platform_camel_case_names_get_their_python_spelling(tmp_path: Path) -> None:
    from runtime import BindingError

    (tmp_path / "raindrop.manifest").write_text(
        'application "a" {\n  kv_cache "cache" {}\n  queue "jobs" {}\n  actor "counter" {}\n}\n'
    )
    (tmp_path / "workers").mkdir()
    (tmp_path / "workers" / "counter.py").write_text("from runtime import Actor\n\nclass Counter(Actor):\n    pass\n")
    async with App.from_manifest(tmp_path / "raindrop.manifest", backend="memory://") as app:
        with pytest.raises(BindingError, match="got the keyword 'expirationTtl': did you mean `expiration_ttl`"):
            await app.env.CACHE.put("k", "v", expirationTtl=60)
        with pytest.raises(AttributeError, match="did you mean `send_batch`"):
            await app.env.JOBS.sendBatch([{"body": 1}])
        with pytest.raises(BindingError, match="did you mean `delay_seconds`"):
            await app.env.JOBS.send({"n": 1}, delaySeconds=5)
        with pytest.raises(AttributeError, match="did you mean `id_from_name`"):
            app.env.COUNTER.idFromName("x")
        with pytest.raises(AttributeError, match="did you mean `get_with_metadata`"):
            await app.env.CACHE.getWithMetadata("k")
        await app.env.CACHE.put("k", "v", expiration_ttl=60)  # the Python spelling works as ever
        assert await app.env.CACHE.get("k") == "v"


def test_camel_case_keywords_are_caught_on_inherited_methods_too() -> None:
    """SmartMemory and its sessions share their episodic and semantic methods through a base."""
    from runtime import BindingError
    from runtime.naming import platform_names
    from runtime.smart.memory import SmartMemory, WorkingMemory

    class Base:
        def search(self, n_most_recent: int = 0) -> int:
            return n_most_recent

    @platform_names
    class Binding(Base):
        pass

    assert Binding().search(n_most_recent=3) == 3
    with pytest.raises(BindingError, match=r"Binding\.search\(\) got the keyword 'nMostRecent': did you mean"):
        Binding().search(nMostRecent=3)  # type: ignore[call-arg]
    for stub in (SmartMemory, WorkingMemory):
        with pytest.raises(BindingError, match="did you mean `n_most_recent`"):
            stub.search_episodic_memory(None, "ferries", nMostRecent=2)  # type: ignore[arg-type, call-arg]


@pytest.mark.slow  # a worker process
def test_a_worker_says_it_stopped(tmp_path: Path) -> None:
    """``serve`` ends with a "stopped" line; a worker ended silently, so a stop looked like a hang."""
    import signal

    manifest = Path(__file__).parent / "apps" / "jobs" / "raindrop.manifest"
    worker = subprocess.Popen(
        [sys.executable, "-m", "runtime", "worker", str(manifest), "--backend", f"sqlite:///{tmp_path / 'state.db'}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None
    for line in worker.stdout:
        if line.strip() == "ready":
            break
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    assert err.rstrip().splitlines()[-1].endswith("stopped"), err


async def test_typescript_shaped_calls_are_told_to_use_keywords(tmp_path: Path) -> None:
    """``send(body, {"delaySeconds": 5})`` and ``put_memory({...})`` are how the platform's
    TypeScript passes options; in Python they are keywords, and the error says so."""
    from runtime import BindingError

    smart = Path(__file__).parent / "apps" / "smart" / "raindrop.manifest"
    jobs = Path(__file__).parent / "apps" / "jobs" / "raindrop.manifest"
    async with App.from_manifest(jobs, backend="memory://") as app:
        queue = next(v for v in app.env.bindings().values() if type(v).__name__ == "Queue")
        with pytest.raises(
            BindingError, match=r"send\(\) takes its options as keyword arguments.*send\(\.\.\., delay_seconds=\.\.\.\)"
        ):
            await queue.send({"id": 1}, {"delaySeconds": 5})
        await queue.send({"delay_seconds": 5})  # a body that happens to look like options is a body
    async with App.from_manifest(smart, backend="memory://") as app:
        session = (await app.env.AGENT_MEMORY.start_working_memory_session())["working_memory"]
        with pytest.raises(
            BindingError, match=r"put_memory\(\) takes its options.*put_memory\(content=\.\.\., session_id=\.\.\.\)"
        ):
            await session.put_memory({"content": "hello", "sessionId": "s1"})
        assert await session.put_memory("hello")
