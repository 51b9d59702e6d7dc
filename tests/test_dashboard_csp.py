"""The dashboard under a strict Content-Security-Policy, escaping every value it shows: a forged
bucket object (markup in its key, metadata and numbers) renders as text and runs nothing."""

from __future__ import annotations

import json
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import httpx
import pytest

from runtime import App
from runtime.dashboard import CSP, Dashboard
from tests.test_dashboard import APP, wait_for
from tests.test_serve import Served

ATTACK = '<img src=x onerror="window.pwned=(window.pwned||0)+1">'


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(APP, tmp_path / "dash")
    return tmp_path / "dash" / "raindrop.manifest"


@pytest.mark.anyio
async def test_every_response_carries_the_policy_and_the_page_has_nothing_inline(project: Path) -> None:
    assert "'unsafe-inline'" not in CSP and "'unsafe-eval'" not in CSP and "script-src 'self'" in CSP
    async with App.from_manifest(project) as app:
        transport = httpx.ASGITransport(app=Dashboard(app, {}), client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
            page = await client.get("/_runtime/")
            assert page.headers["content-security-policy"] == CSP
            html = page.text
            assert re.search(r"<script(?![^>]*\bsrc=)", html) is None  # every script is a file
            assert "<style" not in html and re.search(r"\son[a-z]+\s*=", html) is None  # no inline handler
            assert re.search(r"\sstyle\s*=", html) is None
            for name, kind in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
                static = await client.get(f"/_runtime/{name}")
                assert static.status_code == 200 and static.headers["content-type"].startswith(kind)
                assert static.headers["content-security-policy"] == CSP
            script = (await client.get("/_runtime/dashboard.js")).text
            assert "onclick" not in script and "eval(" not in script
            assert (await client.get("/_runtime/other.js")).status_code == 404
            for path in ("/_runtime/api/queues", "/_runtime/api/buckets/files", "/_runtime/api/nope"):
                assert (await client.get(path)).headers["content-security-policy"] == CSP, path
            download = await client.get("/_runtime/api/buckets/files/object", params={"key": "nope"})
            assert download.headers["content-security-policy"] == CSP
        refused = httpx.ASGITransport(app=Dashboard(app, {}), client=("10.0.0.9", 5000))
        async with httpx.AsyncClient(transport=refused, base_url="http://127.0.0.1:8787") as client:
            answer = await client.get("/_runtime/")
            assert answer.status_code == 403 and answer.headers["content-security-policy"] == CSP


@pytest.mark.slow  # a `serve` process and a browser
def test_forged_values_render_as_text_and_the_policy_blocks_injected_handlers(
    project: Path, browser_page: object
) -> None:
    async def forge() -> None:
        async with App.from_manifest(project) as app:
            await app.env.FILES.put(
                "evil/" + ATTACK,
                ATTACK,
                custom_metadata={"x": '"></code>' + ATTACK},
                http_metadata={"contentType": ATTACK},
            )

    with ThreadPoolExecutor(1) as pool:  # the browser's driver holds this thread's event loop
        pool.submit(anyio.run, forge).result()
    served = Served(project, 0)
    try:
        page = browser_page
        blocked: list[str] = []
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)  # type: ignore[attr-defined]

        # The numbers the API sends are whatever a stored file or handler made them: forge them too.
        def forged_listing(route: object) -> None:
            objects = [{"key": "evil/" + ATTACK, "size": ATTACK, "uploaded": ATTACK,
                        "http_metadata": {}, "custom_metadata": {"n": ATTACK}}]  # fmt: skip
            route.fulfill(  # type: ignore[attr-defined]
                status=200, content_type="application/json",
                body=json.dumps({"objects": objects, "truncated": False, "cursor": None}),
            )  # fmt: skip

        def forged_queues(route: object) -> None:
            stats = {"depth": ATTACK, "ready": ATTACK, "in_flight": ATTACK, "delayed": ATTACK, "dead_lettered": 0}
            route.fulfill(status=200, content_type="application/json", body=json.dumps({"inbox": stats}))  # type: ignore[attr-defined]

        page.goto(served.base + "/_runtime/")  # type: ignore[attr-defined]
        row = page.locator('#bkobjects tr[data-key^="evil/"]')  # type: ignore[attr-defined]
        wait_for(lambda: row.count() == 1)
        assert ATTACK in row.inner_text()  # the real object: its key and metadata shown as text
        page.route("**/_runtime/api/buckets/files?*", forged_listing)  # type: ignore[attr-defined]
        page.route("**/_runtime/api/queues", forged_queues)  # type: ignore[attr-defined]
        wait_for(lambda: row.locator("td.n").inner_text() == ATTACK)  # the forged size, as text
        wait_for(lambda: ATTACK in page.locator('tr[data-queue="inbox"] td.depth').inner_text())
        assert page.locator("#bkobjects img, #queues img").count() == 0  # type: ignore[attr-defined]
        assert page.evaluate("window.pwned") is None  # type: ignore[attr-defined]

        # Markup that got in some other way still runs no handler: the policy refuses it.
        page.evaluate(f"document.body.insertAdjacentHTML('beforeend', {json.dumps(ATTACK)})")  # type: ignore[attr-defined]
        wait_for(lambda: any("inline event handler" in text for text in blocked))
        assert page.evaluate("window.pwned") is None  # type: ignore[attr-defined]
        assert "no objects" not in page.locator("#bkobjects").inner_text()  # type: ignore[attr-defined]
    finally:
        assert served.stop()[0] == 0


@pytest.mark.anyio
async def test_one_uploaded_body_cannot_break_the_listing_for_everyone(project: Path) -> None:
    """Earlier, the body of key ``K.meta.json`` was read as K's metadata: ``[]`` there made every
    ``list()`` raise, and the dashboard's bucket browser answer 500."""
    async with App.from_manifest(project) as app:
        await app.env.FILES.put("K", b"k")
        await app.env.FILES.put("K.meta.json", b"[]")
        await app.env.FILES.put("L.meta.json", b'{"key": 5}')
        assert [o.key for o in (await app.env.FILES.list())["objects"]] == ["K", "K.meta.json", "L.meta.json"]
        transport = httpx.ASGITransport(app=Dashboard(app, {}), client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
            listed = await client.get("/_runtime/api/buckets/files")
            assert listed.status_code == 200
            assert [o["key"] for o in listed.json()["objects"]] == ["K", "K.meta.json", "L.meta.json"]
