"""The dev dashboard: its JSON API in process, and the page in headless Chromium."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runtime import App
from runtime.dashboard import Dashboard
from runtime.guard import Guard
from tests.test_serve import Served

APP = Path(__file__).parent / "apps" / "dash"
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(APP, tmp_path / "dash")
    return tmp_path / "dash" / "raindrop.manifest"


@pytest.fixture
def served(project: Path) -> Iterator[Served]:
    """`serve` on the dash app; stopped after the test while its page (and live feed) is open."""
    ARTIFACTS.mkdir(exist_ok=True)
    running = Served(project, 0)
    yield running
    started = time.monotonic()  # an open page's live feed must not hold up the stop
    code, _ = running.stop()
    assert code == 0 and time.monotonic() - started < 5


@pytest.mark.anyio
async def test_api_and_openapi(project: Path) -> None:
    async with App.from_manifest(project) as app:
        dashboard = Dashboard(app, {})
        transport = httpx.ASGITransport(app=dashboard, client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
            spec = (await client.get("/_runtime/api/openapi.json")).json()
            assert spec["openapi"].startswith("3.") and "/_runtime/api/queues" in spec["paths"]
            assert (await client.post("/_runtime/api/queues/inbox/send", json={"n": 1})).status_code == 202
            assert (await client.get("/_runtime/api/queues")).json()["inbox"]["depth"] == 1
            assert (await client.post("/_runtime/api/queues/nope/send", json={})).status_code == 404
            assert (await client.post("/_runtime/api/schedules/report/run", json={})).json() == {"ran": True}
            keys = (await client.get("/_runtime/api/kv/cache")).json()["keys"]
            assert [k["name"] for k in keys] == ["report"] and keys[0]["ttl"] is None
            assert (
                (await client.get("/_runtime/api/kv/cache/value", params={"key": "report"}))
                .json()["value"]
                .startswith("ran at")
            )
            actors = (await client.get("/_runtime/api/actors")).json()
            (actor,) = actors["session"]
            assert (await client.get(f"/_runtime/api/actors/session/{actor}")).json()["storage"] == {"touches": 1}
            runs = (await client.get("/_runtime/api/runs")).json()
            assert runs[0]["module"] == "report" and runs[0]["outcome"] == "ok"
            assert (await client.get("/_runtime/api/kv/cache/value", params={"key": ""})).status_code == 400


REDRIVE = "/_runtime/api/queues/inbox/redrive"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("client", "base", "headers", "body", "why"),
    [
        (("10.1.2.3", 5000), "http://127.0.0.1:8787", {}, "{}", "only clients on this machine"),
        (("127.0.0.1", 5000), "http://rebind.example:8787", {}, "{}", "not Host 'rebind.example:8787'"),
        (("127.0.0.1", 5000), "http://127.0.0.1:8787", {"Origin": "null"}, "{}", "origin 'null'"),
        (("127.0.0.1", 5000), "http://127.0.0.1:8787", {"Origin": "http://evil.example"}, "{}", "origin"),
        (("127.0.0.1", 5000), "http://127.0.0.1:8787", {"Origin": "http://127.0.0.1:9999"}, "{}", "origin"),
        (("127.0.0.1", 5000), "http://127.0.0.1:8787", {"Content-Type": "text/plain"}, "{}", "application/json"),
        (
            ("127.0.0.1", 5000),
            "http://127.0.0.1:8787",
            {"Content-Type": "application/x-www-form-urlencoded"},
            "a=1",
            "application/json",
        ),
        (
            ("127.0.0.1", 5000),
            "http://127.0.0.1:8787",
            {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
            "{}",
            "cross-site",
        ),
    ],
    ids=[
        "remote-client",
        "foreign-host",
        "origin-null",
        "foreign-origin",
        "other-port",
        "text-plain",
        "form",
        "fetch-site",
    ],
)
async def test_hostile_requests_are_refused(
    project: Path, client: tuple[str, int], base: str, headers: dict[str, str], body: str, why: str
) -> None:
    async with App.from_manifest(project) as app:
        await app.env.INBOX.send({"n": 1})
        dashboard = Dashboard(app, {})
        transport = httpx.ASGITransport(app=dashboard, client=client)
        async with httpx.AsyncClient(transport=transport, base_url=base) as http:
            refused = await http.post(REDRIVE, content=body, headers=headers)
            assert refused.status_code == 403 and why in refused.json()["error"], refused.text
            if "Host" in why or "machine" in why:  # reads are refused too
                assert (await http.get("/_runtime/api/kv/cache")).status_code == 403


@pytest.mark.anyio
async def test_same_origin_json_and_localhost_names_are_answered(project: Path) -> None:
    async with App.from_manifest(project) as app:
        dashboard = Dashboard(app, {})
        transport = httpx.ASGITransport(app=dashboard, client=("127.0.0.1", 5000))
        for base in ("http://localhost:8787", "http://web.localhost:8787", "http://[::1]:8787", "http://127.0.0.2"):
            async with httpx.AsyncClient(transport=transport, base_url=base) as http:
                origin = base
                answer = await http.post(REDRIVE, json={}, headers={"Origin": origin, "Sec-Fetch-Site": "same-origin"})
                assert answer.status_code == 200, (base, answer.text)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as http:
            token = {"X-Raindrop-Token": dashboard.guard.token, "Content-Type": "text/plain"}
            assert (await http.post(REDRIVE, content="", headers=token)).status_code == 200
            wrong = {"X-Raindrop-Token": "guess", "Content-Type": "text/plain"}
            assert (await http.post(REDRIVE, content="", headers=wrong)).status_code == 403


@pytest.mark.anyio
async def test_listening_beyond_loopback_needs_the_token(project: Path) -> None:
    async with App.from_manifest(project) as app:
        dashboard = Dashboard(app, {}, Guard(remote=True))
        transport = httpx.ASGITransport(app=dashboard, client=("192.0.2.7", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://192.0.2.1:8787") as http:
            assert (await http.get("/_runtime/")).status_code == 403
            assert (await http.get("/_runtime/api/queues")).status_code == 403
            page = await http.get("/_runtime/", params={"token": dashboard.guard.token})
            assert page.status_code == 200 and "raindrop_dashboard" in page.headers["set-cookie"]
            assert "samesite=strict" in page.headers["set-cookie"].lower()
            # the cookie set by the page now opens the API
            assert (await http.get("/_runtime/api/queues")).status_code == 200
            assert (await http.post(REDRIVE, json={})).status_code == 200


def cell(page: object, queue: str, column: str) -> str:
    return str(page.locator(f'tr[data-queue="{queue}"] td.{column}').inner_text())  # type: ignore[attr-defined]


def wait_for(check: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.mark.slow  # a `serve` process and a browser
def test_dashboard_in_a_browser(project: Path, served: Served, browser_page: object) -> None:
    page = browser_page
    base = served.base
    page.goto(base + "/_runtime/")  # type: ignore[attr-defined]
    page.wait_for_selector('tr[data-queue="inbox"]')  # type: ignore[attr-defined]
    assert cell(page, "inbox", "depth") == "0"

    # A send shows up as depth.
    subprocess.run(
        [sys.executable, "-m", "runtime", "send", "inbox", '{"n": 1}', "--manifest", str(project)], check=True
    )
    wait_for(lambda: cell(page, "inbox", "depth") == "1")
    page.screenshot(path=str(ARTIFACTS / "dashboard-queue-depth.png"), full_page=True)  # type: ignore[attr-defined]

    # "run now" fires the schedule.
    page.click('tr[data-schedule="report"] button.run')  # type: ignore[attr-defined]
    wait_for(lambda: httpx.get(base + "/_runtime/api/kv/cache/value", params={"key": "report"}).status_code == 200)
    wait_for(lambda: "report" in page.locator("#runs").inner_text())  # type: ignore[attr-defined]

    # A dead letter can be re-driven.
    httpx.post(base + "/_runtime/api/queues/jobs/send", json={"id": 7})
    wait_for(lambda: cell(page, "jobs", "dead") == "1")
    page.click('tr[data-queue="jobs"] button.show')  # type: ignore[attr-defined]
    page.wait_for_selector("#dead details")  # type: ignore[attr-defined]
    assert "cannot run until healed" in page.locator("#dead").inner_text()  # type: ignore[attr-defined]
    page.screenshot(path=str(ARTIFACTS / "dashboard-dead-letter.png"), full_page=True)  # type: ignore[attr-defined]
    subprocess.run(
        [sys.executable, "-m", "runtime", "kv", "cache", "put", "healed", "yes", "--manifest", str(project)],
        check=True,
    )
    page.click('tr[data-queue="jobs"] button.redrive')  # type: ignore[attr-defined]
    wait_for(lambda: cell(page, "jobs", "dead") == "0")
    wait_for(lambda: httpx.get(base + "/_runtime/api/kv/cache/value", params={"key": "done:7"}).status_code == 200)
    page.screenshot(path=str(ARTIFACTS / "dashboard-redriven.png"), full_page=True)  # type: ignore[attr-defined]


SMART = Path(__file__).parent / "apps" / "smart"


async def write_smart_state(manifest: Path) -> None:
    async with App.from_manifest(manifest) as writer:
        await writer.env.BILLS.put("ferries.txt", "The harbor ferry to the islands leaves every hour in summer.")
        await writer.env.BILLS.put("blob.bin", b"\x00\x01", http_metadata={"contentType": "application/octet-stream"})
        await writer.drain()
        session = await writer.env.AGENT_MEMORY.start_working_memory_session()
        await session["working_memory"].put_memory("The listener asked about island ferries")
        procedures = await writer.env.AGENT_MEMORY.get_procedural_memory()
        await procedures.put_procedure("greeting", "Say good morning")


@pytest.mark.slow  # a `serve` process and a browser
def test_smart_views_in_a_browser(tmp_path: Path, browser_page: object) -> None:
    """Objects and their index state, a search, memory sessions and entries, written by another
    process on the same state directory while `serve` runs."""
    shutil.copytree(SMART, tmp_path / "smart")
    manifest = tmp_path / "smart" / "raindrop.manifest"
    page = browser_page
    ARTIFACTS.mkdir(exist_ok=True)
    served = Served(manifest, 0)
    try:
        # Playwright's sync API holds this thread's event loop: the writer runs on a thread of its own.
        writer = threading.Thread(target=asyncio.run, args=(write_smart_state(manifest),))
        writer.start()
        writer.join(timeout=60)
        page.goto(served.base + "/_runtime/")  # type: ignore[attr-defined]
        page.wait_for_selector('tr[data-object="ferries.txt"]')  # type: ignore[attr-defined]
        assert page.locator('tr[data-object="ferries.txt"] td.state').inner_text() == "indexed"  # type: ignore[attr-defined]
        assert page.locator('tr[data-object="blob.bin"] td.state').inner_text() == "not_indexed"  # type: ignore[attr-defined]
        page.fill("#sbquery", "boat to the islands")  # type: ignore[attr-defined]
        page.click("#sbgo")  # type: ignore[attr-defined]
        page.wait_for_selector("#sbresults .result")  # type: ignore[attr-defined]
        assert "ferries.txt" in page.locator("#sbresults").inner_text()  # type: ignore[attr-defined]
        page.click("#memories a.session")  # type: ignore[attr-defined]
        page.wait_for_selector("#entries div")  # type: ignore[attr-defined]
        assert "island ferries" in page.locator("#entries").inner_text()  # type: ignore[attr-defined]
        assert "Say good morning" in page.locator("#memories").inner_text()  # type: ignore[attr-defined]
        page.locator("#smart-section").screenshot(path=str(ARTIFACTS / "dashboard-smartbucket.png"))  # type: ignore[attr-defined]
        page.locator("#memory-section").screenshot(path=str(ARTIFACTS / "dashboard-memory.png"))  # type: ignore[attr-defined]
    finally:
        assert served.stop()[0] == 0


@pytest.mark.anyio
async def test_bucket_and_sql_browsers_messages_and_actor_names(project: Path) -> None:
    async with App.from_manifest(project) as app:
        dashboard = Dashboard(app, {})
        transport = httpx.ASGITransport(app=dashboard, client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
            api = "/_runtime/api"
            assert (await client.post(f"{api}/schedules/report/run", json={})).json() == {"ran": True}
            assert (await client.get(f"{api}/buckets")).json() == [{"name": "files", "kind": "bucket"}]
            (listed,) = (await client.get(f"{api}/buckets/files", params={"prefix": "reports/"})).json()["objects"]
            assert listed["key"] == "reports/latest.txt" and listed["custom_metadata"] == {"by": "report"}
            got = await client.get(f"{api}/buckets/files/object", params={"key": "reports/latest.txt"})
            assert got.content.startswith(b"ran at") and got.headers["content-type"] == "application/octet-stream"
            assert (
                "attachment" in got.headers["content-disposition"]
                and got.headers["x-content-type-options"] == "nosniff"
            )
            assert (await client.get(f"{api}/buckets/files/object", params={"key": "nope"})).status_code == 404

            (notes,) = (await client.get(f"{api}/sql")).json()["notes"]
            assert notes["name"] == "notes" and notes["rows"] == 3
            assert [c["name"] for c in notes["columns"]] == ["id", "title", "body"]
            page = (await client.get(f"{api}/sql/notes/tables/notes")).json()
            assert page["columns"] == ["id", "title", "body"] and page["rows"][2] == [3, "third", None]
            second = (await client.get(f"{api}/sql/notes/tables/notes", params={"offset": "2"})).json()
            assert second["rows"] == [[3, "third", None]]
            for offset in ("abc", "-1", "1e3", "\u00b2", "9" * 30):
                bad = await client.get(f"{api}/sql/notes/tables/notes", params={"offset": offset})
                assert bad.status_code == 400 and "offset must be a whole number" in bad.json()["error"], offset
            query = f"{api}/sql/notes/query"
            found = (await client.post(query, json={"sql": "SELECT title FROM notes WHERE body IS NOT NULL"})).json()
            assert found == {"columns": ["title"], "rows": [["first"], ["second"]], "truncated": False}
            for sql in ("DELETE FROM notes", "DROP TABLE notes", "INSERT INTO notes (title) VALUES ('x')"):
                refused = await client.post(query, json={"sql": sql})
                assert refused.status_code == 400 and "read-only" in refused.json()["error"], refused.text
            assert (await client.post(query, json={"sql": "SELECT 1; SELECT 2"})).status_code == 400
            slow = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
            stopped = await client.post(query, json={"sql": slow})
            assert stopped.status_code == 400 and "stopped" in stopped.json()["error"]
            assert (await client.post(query, json={"nope": 1})).status_code == 400
            assert (await app.env.NOTES.prepare("SELECT count(*) AS n FROM notes").first("n")) == 3

            await app.env.INBOX.send({"hello": "world"})
            (waiting,) = (await client.get(f"{api}/queues/inbox/messages")).json()
            assert json.loads(waiting["body"]) == {"hello": "world"} and waiting["attempts"] == 0
            owners = (await client.get(f"{api}/actors/owners")).json()
            (actor,) = (await client.get(f"{api}/actors")).json()["session"]
            assert owners["names"]["session"][actor] == "admin"
            await app.drain()
            app.actors.names.clear()  # as in another process: the name comes from the shared state
            assert (await client.get(f"{api}/actors/owners")).json()["names"] == {"session": {actor: "admin"}}


@pytest.mark.anyio
async def test_live_feed_counts_runs_and_ends_when_the_server_stops(project: Path) -> None:
    from runtime.dashboard_browse import Browse

    async with App.from_manifest(project) as app:
        stopping = asyncio.Event()
        browse = Browse(app, stopping)

        class Connected:
            async def is_disconnected(self) -> bool:
                return False

        feed = browse._feed(Connected())  # type: ignore[arg-type]
        assert await feed.__anext__() == "retry: 2000\n\n"
        first = json.loads((await feed.__anext__()).removeprefix("data: "))
        assert first["runs"] == 0 and first["depth"] == {"inbox": 0, "jobs": 0}
        await app.env.INBOX.send({"n": 1})
        await app.fire("report")
        second = json.loads((await feed.__anext__()).removeprefix("data: "))
        assert second["runs"] >= 1 and second["failures"] == 0 and second["depth"]["inbox"] == 1
        stopping.set()
        started = time.monotonic()
        with pytest.raises(StopAsyncIteration):
            await feed.__anext__()
        assert time.monotonic() - started < 0.5


@pytest.mark.slow  # a `serve` process and a browser
def test_browsers_and_live_charts_in_a_browser(served: Served, browser_page: object) -> None:
    """Click through the bucket and SQL browsers, a queue's waiting bodies, actor names and the
    live charts, on a running `serve`; screenshots land in test-artifacts/."""
    page = browser_page
    base = served.base
    page.goto(base + "/_runtime/")  # type: ignore[attr-defined]
    page.wait_for_selector('tr[data-queue="inbox"]')  # type: ignore[attr-defined]
    page.click('tr[data-schedule="report"] button.run')  # type: ignore[attr-defined]
    for n in range(3):
        httpx.post(base + "/_runtime/api/queues/inbox/send", json={"n": n, "note": "waiting for nobody"})

    # The live charts: runs per second drawn from the server-sent events.
    wait_for(lambda: page.locator("#livestate").inner_text() == "live")  # type: ignore[attr-defined]
    wait_for(lambda: page.locator("#chart-depth .now").inner_text() == "3")  # type: ignore[attr-defined]
    wait_for(lambda: page.locator("#chart-runs svg path.line").count() == 1)  # type: ignore[attr-defined]

    # Message bodies of a queue.
    page.click('tr[data-queue="inbox"] button.msgs')  # type: ignore[attr-defined]
    page.wait_for_selector("#dead details.message")  # type: ignore[attr-defined]
    assert page.locator("#dead details.message").count() == 3  # type: ignore[attr-defined]
    page.click("#dead details.message summary")  # type: ignore[attr-defined]
    assert "waiting for nobody" in page.locator("#dead").inner_text()  # type: ignore[attr-defined]

    # The actor shows the name its id came from.
    wait_for(lambda: "admin" in page.locator("#actors").inner_text())  # type: ignore[attr-defined]

    # The bucket browser lists the report's object with its metadata and downloads it.
    page.wait_for_selector('#bkobjects tr[data-key="reports/latest.txt"]')  # type: ignore[attr-defined]
    assert "report" in page.locator('#bkobjects tr[data-key="reports/latest.txt"]').inner_text()  # type: ignore[attr-defined]
    with page.expect_download() as download:  # type: ignore[attr-defined]
        page.click('#bkobjects tr[data-key="reports/latest.txt"] a')  # type: ignore[attr-defined]
    assert Path(download.value.path()).read_text().startswith("ran at")

    # The SQL browser: a table's rows, a query, and a write refused.
    page.wait_for_selector("#sqltables a.sqltable")  # type: ignore[attr-defined]
    page.click('#sqltables a[data-t="notes"]')  # type: ignore[attr-defined]
    wait_for(lambda: "the first note" in page.locator("#sqlresult").inner_text())  # type: ignore[attr-defined]
    page.fill("#sqlquery", "SELECT title, length(body) AS n FROM notes ORDER BY id")  # type: ignore[attr-defined]
    page.click("#sqlgo")  # type: ignore[attr-defined]
    wait_for(lambda: "3 rows" in page.locator("#sqlresult").inner_text())  # type: ignore[attr-defined]
    page.locator("#sql-section").screenshot(path=str(ARTIFACTS / "dashboard-sql.png"))  # type: ignore[attr-defined]
    page.fill("#sqlquery", "DELETE FROM notes")  # type: ignore[attr-defined]
    page.click("#sqlgo")  # type: ignore[attr-defined]
    wait_for(lambda: "read-only" in page.locator("#sqlresult").inner_text())  # type: ignore[attr-defined]
    page.locator("#bucket-section").screenshot(path=str(ARTIFACTS / "dashboard-buckets.png"))  # type: ignore[attr-defined]
    page.locator("#live-section").screenshot(path=str(ARTIFACTS / "dashboard-live.png"))  # type: ignore[attr-defined]
    page.screenshot(path=str(ARTIFACTS / "dashboard-browsers.png"), full_page=True)  # type: ignore[attr-defined]
    assert httpx.get(base + "/_runtime/api/sql").json()["notes"][0]["rows"] == 3


ODD_PARTS = ["", "abc", "-1", "0", "1e309", "nan", "9" * 20, "%00", "../..", "a" * 3000]
ODD_BODIES = [
    b"",
    b"null",
    b"[]",
    b"1",
    b'"x"',
    b"{",
    b"\xff\xfe",
    b'{"body": null}',
    b'{"sql": 5}',
    b'{"delay_seconds": 1e400}',
]


@pytest.mark.anyio
async def test_odd_paths_queries_and_bodies_never_answer_5xx(project: Path) -> None:
    api = "/_runtime/api"
    gets = [
        "/queues/{x}/dead?limit={x}",
        "/queues/{x}/messages",
        "/queues/inbox/messages?limit={x}",
        "/kv/{x}",
        "/kv/cache?prefix={x}&limit={x}&cursor={x}",
        "/kv/cache/value?key={x}",
        "/actors/{x}/{x}",
        "/actors/session/{x}",
        "/runs?limit={x}",
        "/smartbuckets/{x}/search?q={x}",
        "/memories/{x}/sessions/{x}",
        "/buckets/{x}",
        "/buckets/files?prefix={x}&cursor={x}",
        "/buckets/files/object?key={x}",
        "/sql/{x}/tables/{x}",
        "/sql/notes/tables/notes?offset={x}",
    ]
    posts = [
        "/queues/inbox/send",
        "/queues/{x}/send",
        "/queues/inbox/redrive",
        "/queues/inbox/purge-dead",
        "/schedules/{x}/run",
        "/sql/notes/query",
        "/sql/{x}/query",
    ]
    async with App.from_manifest(project) as app:
        transport = httpx.ASGITransport(app=Dashboard(app, {}), client=("127.0.0.1", 5000), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
            failures = []
            for path in gets:
                for part in ODD_PARTS:
                    answer = await client.get(api + path.replace("{x}", part))
                    if answer.status_code >= 500:
                        failures.append(f"GET {path} {part[:20]!r}: {answer.status_code}")
            for path in posts:
                for part in ODD_PARTS[:4]:
                    for body in ODD_BODIES:
                        answer = await client.post(
                            api + path.replace("{x}", part), content=body, headers={"content-type": "application/json"}
                        )
                        if answer.status_code >= 500:
                            failures.append(f"POST {path} {part!r} {body[:20]!r}: {answer.status_code}")
            assert not failures, "\n".join(failures)


def test_the_page_has_an_icon_navigation_and_readable_ttls() -> None:
    """The browser asks the page's origin for /favicon.ico unless the page names an icon: that
    request reached the app's service. A long page gets a sticky navigation to each section."""
    import re

    html = (Path(__file__).parent.parent / "runtime" / "dashboard.html").read_text()
    assert re.search(r'<link rel="icon" href="data:', html)
    anchors = re.findall(r'<a href="#([\w-]+)">', html)
    assert len(anchors) >= 10 and all(f'id="{anchor}"' in html for anchor in anchors)
    css = (Path(__file__).parent.parent / "runtime" / "dashboard.css").read_text()
    assert "position: sticky" in css


@pytest.mark.slow  # a node process
@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_ttls_read_in_units() -> None:
    import re

    script = (Path(__file__).parent.parent / "runtime" / "dashboard.js").read_text()
    (function,) = re.findall(r"const duration = seconds => \{.*?\n\};", script, re.S)
    script = function + "\nconsole.log(JSON.stringify([0, 45, 60, 125, 9000, 86400, 200000].map(duration)));"
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == ["0 s", "45 s", "1 min", "2 min 5 s", "2 h 30 min", "1 d", "2 d 7 h"]
