"""The queue host as tools and tests reach it (``app.queues``), and the public outcome of a message."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime import App, FakeClock
from runtime.errors import AppStateError
from runtime.queue import Message, Outcome

pytestmark = pytest.mark.anyio

MANIFEST = """application "a" {
  queue "jobs" {}
  bucket "files" {}
  observer "work" {
    source {
      queue = "jobs"
    }
  }
  observer "uploads" {
    source {
      bucket = "files"
    }
  }
}
"""

WORKER = """from runtime import Each

SEEN = []


class Work(Each):
    async def process(self, message):
        SEEN.append(message)
        if message.body.get("explicit"):
            message.retry(delay_seconds=30)
            return
        if message.body.get("fail"):
            raise RuntimeError("no")
"""

UPLOADS = """from runtime import Each

EVENTS = []


class Uploads(Each):
    async def process(self, message):
        EVENTS.append(message.body)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "raindrop.manifest").write_text(MANIFEST)
    (tmp_path / "workers").mkdir()
    (tmp_path / "workers" / "work.py").write_text(WORKER)
    (tmp_path / "workers" / "uploads.py").write_text(UPLOADS)
    return tmp_path / "raindrop.manifest"


def test_a_message_outcome_is_public_and_the_last_decision_wins() -> None:
    message = Message("m1", None, {}, 1)  # type: ignore[arg-type]
    assert message.outcome is None
    message.ack()
    assert message.outcome == Outcome("ack")
    message.retry(delay_seconds=5)
    assert message.outcome == Outcome("retry", 5)
    message.retry()
    assert message.outcome == Outcome("retry", None)


async def test_app_queues_is_the_host_of_a_running_app(project: Path) -> None:
    app = App.from_manifest(project, backend="memory://", clock=FakeClock())
    with pytest.raises(AppStateError, match="not running"):
        _ = app.queues
    async with app:
        assert sorted(app.queues.consumers) == ["uploads", "work"]
        assert app.queues.consumers["uploads"].queue == "$bucket:uploads"
        await app.env.JOBS.send({"ok": True})
        await app.env.JOBS.send({"fail": True})
        await app.env.JOBS.send({"explicit": True})
        await app.drain(raise_errors=False)
        stats = await app.queues.stats()
        # the explicit retry waits its 30 s; the failure was retried at once until it died
        assert (stats["jobs"].delayed, stats["jobs"].dead_lettered) == (1, 1)
        seen = app.queues.consumers["work"].handler.process.__globals__["SEEN"]
        outcomes = {next(iter(m.body)): m.outcome for m in seen}
        # a handler that returned without deciding is acked by the consumer without an outcome;
        # one that raised is marked for retry through the same public method a handler calls
        assert outcomes == {"ok": None, "fail": Outcome("retry", None), "explicit": Outcome("retry", 30)}
        assert app.dead_queue("jobs") == app.queues.dead_queue("jobs") == "jobs-dlq"


async def test_bucket_events_go_through_the_queue_binding(project: Path) -> None:
    async with App.from_manifest(project, backend="memory://", clock=FakeClock()) as app:
        await app.env.FILES.put("k ü", b"data")
        await app.drain()
        events = app.queues.consumers["uploads"].handler.process.__globals__["EVENTS"]
        assert [(e["action"], e["object"]["key"], e["object"]["size"]) for e in events] == [("PutObject", "k ü", 4)]


async def test_a_completed_multipart_upload_reaches_the_bucket_observer_once_and_an_abort_never(
    project: Path,
) -> None:
    async with App.from_manifest(project, backend="memory://", clock=FakeClock()) as app:
        aborted = await app.env.FILES.create_multipart_upload("gone")
        await aborted.upload_part(1, b"x")
        await aborted.abort()
        upload = await app.env.FILES.create_multipart_upload("big ü")
        parts = [await upload.upload_part(1, b"a" * (5 * 1024 * 1024)), await upload.upload_part(2, b"b")]
        done = await upload.complete(parts)
        await app.drain()
        events = app.queues.consumers["uploads"].handler.process.__globals__["EVENTS"]
        # the parts are not objects and send nothing; the completed object is one event, as on R2
        assert [(e["action"], e["object"]["key"], e["object"]["size"], e["object"]["eTag"]) for e in events] == [
            ("CompleteMultipartUpload", "big ü", 5 * 1024 * 1024 + 1, done.etag)
        ]
