"""State on disk: the folder and files the runtime creates are its own (0700 / 0600), and a
state database the runtime did not create is refused before anything in it is changed."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime import App
from runtime.errors import BackendError
from runtime.private import private_dir, private_file

pytestmark = pytest.mark.anyio
WEB = Path(__file__).parent / "apps" / "web"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(WEB, tmp_path / "web")
    return tmp_path / "web"


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask a user might have: every mode must be set explicitly."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
async def test_the_state_folder_is_0700_and_its_files_0600(project: Path) -> None:
    app = App.from_manifest(project / "raindrop.manifest")
    async with app:
        await app.env.CACHE.put("k", "v")
        await app.env.APP_DB.exec("CREATE TABLE IF NOT EXISTS t (x)")
        await app.env.APP_DB.prepare("INSERT INTO t VALUES (1)").run()
        await app.env.UPLOADS.put("a/b.txt", b"secret")
        state = project / ".raindrop"
        assert mode(state) == 0o700
        databases = [state / "state.db", *(state / "sql").glob("*.sqlite")]
        assert len(databases) == 2
        for database in databases:
            for companion in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
                assert mode(companion) == 0o600, companion
        objects = [p for p in state.rglob("*") if p.is_file() and "buckets" in p.parts]
        assert objects and all(mode(p) == 0o600 for p in objects)


@pytest.mark.usefixtures("open_umask")
def test_helpers_make_missing_parents_private_and_leave_existing_things_alone(tmp_path: Path) -> None:
    private_file(tmp_path / "a" / "b" / "state.db")
    assert mode(tmp_path / "a") == mode(tmp_path / "a" / "b") == 0o700
    assert mode(tmp_path / "a" / "b" / "state.db") == 0o600
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o755)
    (mine / "db").write_bytes(b"")
    os.chmod(mine / "db", 0o644)
    private_dir(mine)
    private_file(mine / "db")
    assert mode(mine) == 0o755 and mode(mine / "db") == 0o644


def foreign_state(project: Path, sql: str) -> Path:
    path = project / ".raindrop" / "state.db"
    path.parent.mkdir()
    with sqlite3.connect(path) as conn:
        conn.executescript(sql)
    conn.close()
    return path


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE messages (id TEXT, author TEXT, text TEXT); INSERT INTO messages VALUES ('1', 'me', 'hi');",
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, author TEXT, text TEXT);",
        "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT);",
    ],
)
@pytest.mark.slow  # `serve` as a process
def test_serve_refuses_a_state_database_it_did_not_create(project: Path, sql: str) -> None:
    path = foreign_state(project, sql)
    before = path.read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "runtime", "serve", str(project / "raindrop.manifest"), "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not a raindrop-runtime state file" in lines[0], done.stderr
    assert "did not create" in lines[0] and "--state" in lines[0]
    assert path.read_bytes() == before  # untouched: no tables of ours added, not switched to WAL


async def test_a_foreign_table_with_all_our_columns_and_more_is_not_taken_for_ours(project: Path) -> None:
    path = foreign_state(
        project,
        "CREATE TABLE messages (id TEXT, queue TEXT, body BLOB, content_type TEXT, created_at REAL,"
        " visible_at REAL, author TEXT); INSERT INTO messages VALUES ('1', 'q', 'hi', 'text', 0, 0, 'me');",
    )
    before = path.read_bytes()
    with pytest.raises(BackendError, match=r"holds tables messages that this runtime did not create"):
        async with App.from_manifest(project / "raindrop.manifest"):
            pass
    assert path.read_bytes() == before


async def test_a_state_file_of_ours_written_before_stamping_still_opens(project: Path) -> None:
    path = foreign_state(
        project,
        "CREATE TABLE kv (ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, metadata TEXT, expires_at REAL,"
        " PRIMARY KEY (ns, key)) WITHOUT ROWID;",
    )
    async with App.from_manifest(project / "raindrop.manifest") as app:
        await app.env.CACHE.put("k", "v")
        assert await app.env.CACHE.get("k") == "v"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x52445254
    conn.close()


@pytest.mark.usefixtures("open_umask")
async def test_smart_indexes_are_0600_whatever_the_backend(tmp_path: Path) -> None:
    from tests.backends import backend_url

    shutil.copytree(Path(__file__).parent / "apps" / "smart", tmp_path / "smart")
    for kind in ("sqlite", "redis"):
        state = tmp_path / f"state-{kind}"
        url = backend_url(kind, tmp_path / kind) if kind == "redis" else None
        async with App.from_manifest(tmp_path / "smart" / "raindrop.manifest", backend=url, state_dir=state) as app:
            await app.env.BILLS.put("a.txt", "the ferry to the islands", http_metadata={"contentType": "text/plain"})
            await app.drain()
            assert mode(state) == 0o700
            indexes = list(state.rglob("*.sqlite"))
            assert indexes, sorted(state.rglob("*"))
            for index in indexes:
                for companion in (index, Path(f"{index}-wal"), Path(f"{index}-shm")):
                    if companion.exists():
                        assert mode(companion) == 0o600, companion
