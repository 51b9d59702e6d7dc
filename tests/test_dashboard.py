"""The dev dashboard: its JSON API in process, and the page in headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from runtime import App
from runtime.dashboard import Dashboard
from tests.test_serve import Served, free_port

APP = Path(__file__).parent / "apps" / "dash"
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(APP, tmp_path / "dash")
    return tmp_path / "dash" / "raindrop.manifest"


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
            assert (await client.post("/_runtime/api/schedules/report/run")).json() == {"ran": True}
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
            refused = await client.post("/_runtime/api/queues/inbox/redrive", headers={"Origin": "http://evil.example"})
            assert refused.status_code == 403
        remote = httpx.ASGITransport(app=dashboard, client=("10.1.2.3", 5000))
        async with httpx.AsyncClient(transport=remote, base_url="http://127.0.0.1:8787") as client:
            assert (await client.get("/_runtime/api/queues")).status_code == 403


def cell(page: object, queue: str, column: str) -> str:
    return str(page.locator(f'tr[data-queue="{queue}"] td.{column}').inner_text())  # type: ignore[attr-defined]


def wait_for(check: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_dashboard_in_a_browser(project: Path, browser_page: object) -> None:
    page = browser_page
    ARTIFACTS.mkdir(exist_ok=True)
    served = Served(project, free_port())
    base = served.base
    try:
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
    finally:
        assert served.stop()[0] == 0
