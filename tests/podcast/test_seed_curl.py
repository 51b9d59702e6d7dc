"""The curl commands of the design's "Testing the Implementation", against `serve` as written
there (host and port aside), and the page in headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.test_dashboard import ARTIFACTS
from tests.test_serve import Served

pytestmark = pytest.mark.slow  # a `serve` process, curl and a browser

CURL = shutil.which("curl")


def curl(command: str, base: str) -> dict[str, object]:
    """Run a curl command from the design with its host swapped for ours; parse the JSON answer."""
    args = command.replace("http://localhost:3000", base)
    output = subprocess.run(
        ["bash", "-c", args + " --silent --show-error"], capture_output=True, text=True, check=True, timeout=120
    )
    return dict(json.loads(output.stdout))


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_the_design_curl_commands(podcast_root: Path) -> None:
    served = Served(podcast_root / "raindrop.manifest", 0)
    try:
        # Test 1: manual cron trigger.
        result = curl(
            "curl -X POST http://localhost:3000/api/cron/pregenerate-podcasts \\\n"
            '  -H "Authorization: Bearer dev-secret" \\\n  -H "Content-Type: application/json"',
            served.base,
        )
        assert result["success"] is True and str(result["duration"]).endswith("minutes")
        # Weekly Walt (tier weekly) is due on Mondays only: `serve` runs on the real clock.
        due = 5 if datetime.now(UTC).weekday() == 0 else 4
        assert result["results"] == {"total": due, "successful": due, "failed": 0, "skipped": 0, "errors": []}  # type: ignore[comparison-overlap]

        # Test 2: cache hit.
        hit = curl(
            "curl -X POST http://localhost:3000/api/generate-podcast \\\n"
            '  -H "Content-Type: application/json" \\\n  -d \'{"type": "daily"}\'',
            served.base,
        )
        assert hit["success"] is True and hit["cached"] is True and hit["source"] == "cache"
        assert hit["message"] == "Your podcast is ready! (Pre-generated)" and hit["duration"]

        # Test 3: cache miss (forced regenerate), then the poll URL completes.
        miss = curl(
            "curl -X POST http://localhost:3000/api/generate-podcast \\\n"
            '  -H "Content-Type: application/json" \\\n  -d \'{"type": "daily", "forceRegenerate": true}\'',
            served.base,
        )
        assert miss["success"] is True and str(miss["jobId"]).startswith("user_123-daily-")
        assert miss["pollUrl"] == f"/api/audio-status/{miss['jobId']}"
        deadline = time.monotonic() + 60
        status: dict[str, object] = {}
        while time.monotonic() < deadline:
            status = httpx.get(served.base + str(miss["pollUrl"])).json()
            if status["status"] in ("complete", "failed"):
                break
            time.sleep(0.2)
        assert status["status"] == "complete" and status["progress"] == 100
    finally:
        assert served.stop()[0] == 0


def test_generate_in_the_browser(podcast_root: Path, browser_page: object) -> None:
    page = browser_page
    ARTIFACTS.mkdir(exist_ok=True)
    served = Served(podcast_root / "raindrop.manifest", 0)
    try:
        page.goto(served.base + "/")  # type: ignore[attr-defined]
        page.wait_for_selector("text=signed in as Demo User")  # type: ignore[attr-defined]
        page.click("text=Generate Daily Podcast")  # type: ignore[attr-defined]
        page.wait_for_function("document.getElementById('progress').style.width === '100%'", timeout=60_000)  # type: ignore[attr-defined]
        page.wait_for_selector("#result:not([hidden]) audio#player", timeout=10_000)  # type: ignore[attr-defined]
        source = page.eval_on_selector("#player", "el => el.src")  # type: ignore[attr-defined]
        assert "/cdn/user_123/daily/" in source
        assert "SARAH:" in page.inner_text("#transcript")  # type: ignore[attr-defined]
        duration = page.eval_on_selector(
            "#player",
            "el => new Promise(r => el.readyState >= 1 ? r(el.duration) : el.addEventListener('loadedmetadata', () => r(el.duration)))",
        )  # type: ignore[attr-defined]
        assert duration > 10  # the browser really loaded the audio
        page.wait_for_timeout(600)  # let the bar's width transition finish before the picture  # type: ignore[attr-defined]
        page.screenshot(path=str(ARTIFACTS / "podcast-page.png"), full_page=True)  # type: ignore[attr-defined]
    finally:
        assert served.stop()[0] == 0
