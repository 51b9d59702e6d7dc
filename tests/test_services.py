"""Services over HTTP (in process), SQL, buckets and bucket observers."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import httpx
import pytest

from runtime import App, FakeClock
from runtime.buckets import Bucket
from runtime.sql import MigrationError, SqlDatabase, SqlError

pytestmark = pytest.mark.anyio
APP = Path(__file__).parent / "apps" / "web"


@pytest.fixture
def raindrop_manifest(tmp_path: Path) -> Path:
    shutil.copytree(APP, tmp_path / "web")
    return tmp_path / "web" / "raindrop.manifest"


async def test_service_answers_with_env(raindrop_http: httpx.AsyncClient) -> None:
    response = await raindrop_http.get("/hello")
    assert (response.status_code, response.text) == (200, "hello, world")


async def test_sql_migrations_and_queries(raindrop_http: httpx.AsyncClient, raindrop_app: App) -> None:
    assert (await raindrop_http.get("/users")).json() == ["Ada", "Grace"]
    created = await raindrop_http.post("/users/add", json={"name": "Linus"})
    assert created.status_code == 201 and created.json() == {"id": 3}
    db = raindrop_app.env.APP_DB
    assert isinstance(db, SqlDatabase)
    assert await db.prepare("SELECT count(*) AS n FROM users").first("n") == 3
    assert await db.prepare("SELECT name FROM users WHERE id = ?").bind(1).first() == {"name": "Ada"}
    assert await db.prepare("SELECT id, name FROM users ORDER BY id").raw() == [[1, "Ada"], [2, "Grace"], [3, "Linus"]]
    with pytest.raises(SqlError, match="UNIQUE constraint failed"):
        await db.batch(
            [
                db.prepare("INSERT INTO users (name, email) VALUES (?, ?)").bind("X", "x@example.com"),
                db.prepare("INSERT INTO users (name, email) VALUES (?, ?)").bind("Y", "ada@example.com"),
            ]
        )
    assert await db.prepare("SELECT count(*) AS n FROM users").first("n") == 3  # the batch left nothing
    # D1 counts lines, not statements: two statements on one line are one (see tests/peer/)
    assert (await db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);"))["count"] == 1
    with pytest.raises(SqlError, match="no such table: nope"):
        await db.prepare("SELECT * FROM nope").all()


async def test_migrations_apply_once_and_failures_name_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_a.sql").write_text("CREATE TABLE a (x);")
    db = SqlDatabase("db", tmp_path / "db.sqlite")
    assert db.migrate(folder) == ["0001_a.sql"]
    assert db.migrate(folder) == []
    (folder / "0002_bad.sql").write_text("CREATE TABLE b (y);\nCREATE TABLOID c;")
    with pytest.raises(MigrationError, match=r"0002_bad\.sql failed: near \"TABLOID\""):
        db.migrate(folder)
    assert await db.prepare("SELECT name FROM sqlite_master WHERE name = 'b'").first() is None  # rolled back
    (folder / "0002_bad.sql").write_text("CREATE TABLE b (y);")
    assert db.migrate(folder) == ["0002_bad.sql"]
    db.close()


async def test_concurrent_writes_share_one_commit_and_are_durable_on_return(tmp_path: Path) -> None:
    import asyncio
    import sqlite3

    db = SqlDatabase("db", tmp_path / "db.sqlite")
    await db.exec("CREATE TABLE hits (n INTEGER)")
    other = sqlite3.connect(tmp_path / "db.sqlite")

    async def write(n: int) -> int:
        await db.prepare("INSERT INTO hits (n) VALUES (?)").bind(n).run()
        # durable when run() returns: another connection sees it
        return int(other.execute("SELECT count(*) FROM hits WHERE n = ?", (n,)).fetchone()[0])

    assert await asyncio.gather(*(write(n) for n in range(50))) == [1] * 50
    # fifty writers, two commits: the first write commits at once (no other writer was about),
    # the other 49 join its turn's group and share one
    assert db._worker.commits <= 2
    # a failing statement fails alone; the others of its group still commit
    await db.exec("CREATE UNIQUE INDEX one_n ON hits (n)")
    results = await asyncio.gather(write(100), write(1), write(101), return_exceptions=True)
    assert results[0] == 1 and results[2] == 1 and isinstance(results[1], SqlError)
    # a batch joins the open group as a savepoint: all or nothing, and the group still commits
    pending = asyncio.ensure_future(write(200))
    await asyncio.sleep(0)
    with pytest.raises(SqlError, match="UNIQUE"):
        await db.batch([db.prepare("INSERT INTO hits VALUES (300)"), db.prepare("INSERT INTO hits VALUES (1)")])
    assert await pending == 1
    assert await db.prepare("SELECT count(*) AS c FROM hits WHERE n = 300").first("c") == 0

    async def batch_of_two(n: int) -> int:
        await db.batch(
            [db.prepare("INSERT INTO hits VALUES (?)").bind(n), db.prepare("INSERT INTO hits VALUES (?)").bind(n + 1)]
        )
        return int(other.execute("SELECT count(*) FROM hits WHERE n IN (?, ?)", (n, n + 1)).fetchone()[0])

    commits = db._worker.commits
    assert await asyncio.gather(write(400), batch_of_two(500), batch_of_two(600)) == [1, 2, 2]
    assert db._worker.commits <= commits + 2  # the batches shared the writes' commit
    other.close()
    db.close()


async def test_wal_is_checkpointed_in_the_background(tmp_path: Path) -> None:
    import asyncio

    from runtime import checkpoint

    db = SqlDatabase("db", tmp_path / "db.sqlite")
    await db.exec("CREATE TABLE blobs (b BLOB)")
    for _ in range(40):  # ~2.5 MB of WAL, far below the connection's own autocheckpoint
        await db.prepare("INSERT INTO blobs VALUES (?)").bind(b"x" * 64_000).run()
    assert db._worker.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == checkpoint.FALLBACK_PAGES
    # The pages start in the WAL (the background thread may already have moved some of them on a
    # slow machine). Nothing here checkpoints, and the connection's own autocheckpoint is far
    # above 2.5 MB: only the background thread can move the pages into the database file.
    for _ in range(100):
        await asyncio.sleep(0.05)
        if (tmp_path / "db.sqlite").stat().st_size > 2_000_000:
            break
    assert (tmp_path / "db.sqlite").stat().st_size > 2_000_000  # the pages reached the database file
    db.close()


async def test_handler_errors_are_500_json_and_the_server_lives(raindrop_app: App) -> None:
    transport = httpx.ASGITransport(app=raindrop_app.asgi("api"))
    async with httpx.AsyncClient(transport=transport, base_url="http://api.localhost") as http:
        response = await http.get("/boom")
        assert response.status_code == 500
        assert response.json() == {"error": "internal error", "detail": "RuntimeError: handler exploded"}
        assert (await http.get("/hello")).status_code == 200


async def test_the_test_client_raises_the_handlers_exception(raindrop_http: httpx.AsyncClient) -> None:
    """As Starlette's TestClient: the test fails where the handler failed, not later on a 500."""
    with pytest.raises(RuntimeError, match="handler exploded"):
        await raindrop_http.get("/boom")
    assert (await raindrop_http.get("/hello")).status_code == 200


def test_the_test_client_can_answer_500_instead(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        f"[pytest]\nraindrop_manifest = {APP / 'raindrop.manifest'}\nraindrop_http_raise_exceptions = false\n"
    )
    pytester.makepyfile(
        """
        async def test_boom(raindrop_http):
            assert (await raindrop_http.get("/boom")).status_code == 500
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("client", "debug", "detailed"),
    [
        (("127.0.0.1", 50000), False, True),
        (("::1", 50000), False, True),
        (("::ffff:127.0.0.1", 50000), False, True),
        (("192.168.1.20", 50000), False, False),
        (("2001:db8::1", 50000), False, False),
        (("192.168.1.20", 50000), True, True),
    ],
)
async def test_only_loopback_clients_see_the_exception_unless_debug(
    raindrop_app: App, client: tuple[str, int], debug: bool, detailed: bool
) -> None:
    from runtime.services import ServiceApp

    app = ServiceApp("api", raindrop_app.asgi("api").handler, debug=debug)
    transport = httpx.ASGITransport(app=app, client=client)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.example") as http:
        response = await http.get("/boom")
    assert response.status_code == 500
    if detailed:
        assert response.json() == {"error": "internal error", "detail": "RuntimeError: handler exploded"}
    else:
        assert response.json() == {"error": "internal error"} and "exploded" not in response.text


async def test_the_debug_setting_reaches_the_service_apps(raindrop_manifest: Path) -> None:
    (raindrop_manifest.parent / "raindrop.local.yaml").write_text("debug: true\n")
    async with App.from_manifest(raindrop_manifest, backend="memory://") as app:
        assert app.asgi("api").debug is True


async def test_body_limit_and_timeout(raindrop_app: App) -> None:
    from runtime.services import ServiceApp

    app = raindrop_app.asgi("api")
    small = ServiceApp("api", app.handler, max_body=10, timeout=0.05)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=small), base_url="http://api.localhost") as client:
        too_big = await client.post("/echo", content=b"x" * 11)
        assert too_big.status_code == 413 and "limit is 10" in too_big.json()["error"]
        assert (await client.post("/echo", content=b"x" * 10)).content == b"x" * 10
        slow = await client.get("/slow", params={"s": "1"})
        assert slow.status_code == 504 and "did not answer within 0.05 s" in slow.json()["error"]


async def test_service_bindings_rpc_and_fetch(raindrop_http: httpx.AsyncClient) -> None:
    assert (await raindrop_http.get("/internal")).json() == {"sum": 5}
    assert (await raindrop_http.get("/internal-fetch")).text == "pong from /ping"


async def test_bucket_api_and_observer_events(raindrop_http: httpx.AsyncClient, raindrop_app: App) -> None:
    assert (await raindrop_http.put("/upload", params={"key": "in/a.txt"}, content=b"abc")).json() == {
        "key": "in/a.txt",
        "size": 3,
    }
    await raindrop_http.put("/upload", params={"key": "other/b.txt"}, content=b"zz")
    bucket = raindrop_app.env.UPLOADS
    assert isinstance(bucket, Bucket)
    await bucket.delete("in/a.txt")
    await raindrop_app.drain()
    events = json.loads(await raindrop_app.env.CACHE.get("events"))
    assert len(events) == 1  # the rule: PutObject under in/ only
    event = events[0]
    assert (event["action"], event["bucket"], event["object"]["key"], event["object"]["size"]) == (
        "PutObject",
        "uploads",
        "in/a.txt",
        3,
    )
    assert event["object"]["eTag"] == "900150983cd24fb0d6963f7d28e17f72" and event["eventTime"].endswith("Z")


async def test_bucket_objects(raindrop_app: App, raindrop_clock: FakeClock) -> None:
    bucket = raindrop_app.env.UPLOADS
    assert isinstance(bucket, Bucket)
    put = await bucket.put(
        "docs/a.json", '{"x": 1}', http_metadata={"contentType": "application/json"}, custom_metadata={"by": "me"}
    )
    assert put.size == 8 and put.http_etag == f'"{put.etag}"'
    got = await bucket.get("docs/a.json")
    assert got is not None and await got.json() == {"x": 1} and got.custom_metadata == {"by": "me"}
    part = await bucket.get("docs/a.json", range={"offset": 1, "length": 3})
    assert part is not None and part.body == b'"x"' and part.range == {"offset": 1, "length": 3}
    tail = await bucket.get("docs/a.json", range={"suffix": 2})
    assert tail is not None and tail.body == b"1}"
    assert (await bucket.head("docs/a.json")).http_metadata == {"contentType": "application/json"}  # type: ignore[union-attr]
    assert await bucket.get("missing") is None and await bucket.head("missing") is None
    for name in ["docs/b.txt", "docs/sub/c.txt", "img/d.png", "top.txt"]:
        await bucket.put(name, b"1")
    listing = await bucket.list(prefix="docs/", delimiter="/")
    assert [o.key for o in listing["objects"]] == ["docs/a.json", "docs/b.txt"]
    assert listing["delimited_prefixes"] == ["docs/sub/"] and not listing["truncated"]
    first = await bucket.list(limit=2)
    assert [o.key for o in first["objects"]] == ["docs/a.json", "docs/b.txt"] and first["truncated"]
    rest = await bucket.list(cursor=first["cursor"])
    assert [o.key for o in rest["objects"]] == ["docs/sub/c.txt", "img/d.png", "top.txt"]
    await bucket.delete(["top.txt", "img/d.png"])
    assert len((await bucket.list())["objects"]) == 3


async def test_bucket_keys_cannot_escape_the_folder(raindrop_app: App, tmp_path: Path) -> None:
    bucket = raindrop_app.env.UPLOADS
    assert isinstance(bucket, Bucket)
    await bucket.put("../../escape.txt", b"nope")
    await bucket.put("/abs/path", b"nope")
    assert not (bucket.folder.parent.parent / "escape.txt").exists()
    files = [p for p in bucket.folder.rglob("*") if p.is_file()]
    assert len(files) == 2 and all(p.parent.parent == bucket.folder / "objects" for p in files)
    assert all(re.fullmatch(r"[0-9a-f]{64}", p.name) and p.name.startswith(p.parent.name) for p in files)
    assert (await bucket.get("../../escape.txt")).body == b"nope"  # type: ignore[union-attr]
    with pytest.raises(Exception, match="NUL"):
        await bucket.put("a\x00b", b"x")


async def test_unknown_service_in_asgi(raindrop_app: App) -> None:
    with pytest.raises(KeyError, match="did you mean 'api'"):
        raindrop_app.asgi("api2")


async def test_request_json_nested_too_deep_is_a_value_error(raindrop_app: App) -> None:
    import json as jsonlib

    from runtime.services import build_request

    deep = b"[" * 100_000 + b"]" * 100_000
    request = build_request("http://api/x", method="POST", body=deep)
    with pytest.raises(jsonlib.JSONDecodeError, match="nests too deeply"):
        await request.json()
    assert await build_request("http://api/x", method="POST", body=b"[[1]]").json() == [[1]]
