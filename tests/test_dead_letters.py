"""Dead letters as a user inspects them: through ``app.dead_letters()``, ``queues --dead`` and the
dashboard's API, by the queue's name or its dead-letter queue's, with the attempts that failed."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import httpx
import pytest

from runtime import App
from runtime.cli import main
from runtime.dashboard import Dashboard

pytestmark = pytest.mark.anyio


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A pager queue whose consumer always fails; three retries (the default), so four attempts."""
    (tmp_path / "raindrop.manifest").write_text(
        'application "a" {\n  queue "pager" {}\n  observer "page" {\n    source {\n      queue = "pager"\n'
        "    }\n  }\n}\n"
    )
    (tmp_path / "workers").mkdir()
    (tmp_path / "workers" / "page.py").write_text(
        "from runtime import Each\n\n\nclass Page(Each):\n    async def process(self, message):\n"
        "        raise RuntimeError(f'pager is down (attempt {message.attempts})')\n"
    )
    return tmp_path / "raindrop.manifest"


async def fail_one_message(project: Path) -> None:
    async with App.from_manifest(project) as app:
        await app.env.PAGER.send({"alert": "disk"})
        await app.drain(raise_errors=False)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


async def test_dead_letters_count_the_attempts_that_failed(project: Path) -> None:
    await fail_one_message(project)
    async with App.from_manifest(project) as app:
        for name in ("pager", "pager-dlq"):
            (letter,) = await app.dead_letters(name)
            assert (letter.attempts, letter.origin) == (4, "pager")
            assert "attempt 4" in (letter.last_error or "")
        with pytest.raises(KeyError, match="no queue named 'pager-dl'; did you mean 'pager-dlq'"):
            await app.dead_letters("pager-dl")
        dashboard = Dashboard(app, {})
        transport = httpx.ASGITransport(app=dashboard, client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
            for name in ("pager", "pager-dlq"):
                (shown,) = (await client.get(f"/_runtime/api/queues/{name}/dead")).json()
                assert shown["attempts"] == 4 and "attempt 4" in shown["last_error"]
            assert (await client.get("/_runtime/api/queues/nope/dead")).status_code == 404


def test_queues_dead_takes_the_dead_letter_queue_name(project: Path) -> None:
    asyncio.run(fail_one_message(project))
    base = ("--manifest", str(project))
    for name in ("pager", "pager-dlq"):
        code, out, err = run("queues", "--dead", name, *base)
        assert code == 0, err
        assert "attempts=4" in out and "RuntimeError: pager is down (attempt 4)" in out
        (letter,) = json.loads(run("queues", "--dead", name, "--json", *base)[1])
        assert letter["attempts"] == 4
    code, _, err = run("queues", "--dead", "pagr-dlq", *base)
    assert code == 2 and "no queue named 'pagr-dlq'; did you mean 'pager-dlq'?" in err
    assert "re-drove 1 message(s) from pager-dlq to their queues" in run("queues", "--redrive", "pager-dlq", *base)[1]
    assert json.loads(run("queues", "--json", *base)[1])["pager"]["ready"] == 1
