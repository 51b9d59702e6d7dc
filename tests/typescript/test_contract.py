"""The TypeScript contract: every binding kind called from TypeScript handlers, through the
pytest plugin on the fake clock, with errors crossing both ways."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest

from runtime.app import App
from runtime.clock import FakeClock
from runtime.typescript.host import TypeScriptError

pytestmark = pytest.mark.slow


@pytest.fixture
def raindrop_manifest(contract_manifest: Path) -> Path:
    return contract_manifest


async def test_a_service_answers_with_env_values(raindrop_http: httpx.AsyncClient) -> None:
    response = await raindrop_http.get("/hello")
    assert response.status_code == 200
    assert response.text == "hello from TypeScript"


async def test_kv_get_put_metadata_list_delete(raindrop_http: httpx.AsyncClient, raindrop_app: App) -> None:
    answer = (await raindrop_http.get("/kv")).json()
    assert answer == {
        "text": "v1",
        "meta": {"value": "v1", "metadata": {"by": "ts"}, "cacheStatus": None},
        "bin": [0, 1, 2, 255],
        "parsed": {"a": 1},
        "names": ["bin", "j", "k"],
        "complete": True,
        "gone": None,
    }
    assert await raindrop_app.env.CACHE.get("bin", "bytes") == bytes([0, 1, 2, 255])
    listed = await raindrop_app.env.CACHE.list()
    expiring = {k["name"]: k["expiration"] for k in listed["keys"]}
    assert expiring["k"] == raindrop_app.clock.time() + 120  # expirationTtl on the fake clock


async def test_a_megabyte_value_crosses_as_bytes(raindrop_http: httpx.AsyncClient) -> None:
    answer = (await raindrop_http.get("/big", params={"size": str(1 << 20)})).json()
    assert answer == {"length": 1 << 20, "last": 7}


async def test_sql_prepare_bind_first_all_raw_batch(raindrop_http: httpx.AsyncClient, raindrop_app: App) -> None:
    answer = (await raindrop_http.get("/sql")).json()
    assert answer["first"] == {"text": "first", "created": int(raindrop_app.clock.time() * 1000)}
    assert answer["count"] == 3
    assert answer["texts"] == ["first", "second", "third"]
    assert answer["raw"] == [["id", "text"], [1, "first"], [2, "second"], [3, "third"]]


async def test_a_binding_error_is_thrown_at_the_typescript_call_site(raindrop_http: httpx.AsyncClient) -> None:
    answer = (await raindrop_http.get("/caught")).json()
    assert answer["caught"] is True
    assert answer["name"] == "SqlError"
    assert "no such table: missing_table" in answer["message"]


async def test_an_uncaught_error_is_a_500_naming_the_typescript_line(raindrop_http_500: httpx.AsyncClient) -> None:
    response = await raindrop_http_500.get("/throw")
    assert response.status_code == 500
    detail = response.json()["detail"]
    assert detail.startswith("TypeScriptError: TypeError: thrown on purpose (at ")
    assert "src/web/index.ts:" in detail
    line = int(detail.split("src/web/index.ts:")[1].split(":")[0])
    source = (Path(__file__).parent / "contract_app/src/web/index.ts").read_text().splitlines()
    assert "thrown on purpose" in source[line - 1]  # the source map points at the throw


async def test_buckets_put_get_head_list(raindrop_http: httpx.AsyncClient) -> None:
    answer = (await raindrop_http.get("/bucket")).json()
    assert answer == {
        "text": "bucket text",
        "size": 11,
        "custom": {"by": "ts"},
        "http": {"contentType": "text/plain"},
        "keys": ["a.txt"],
        "missing": None,
        "uploaded": True,
    }


async def test_queue_sends_reach_the_typescript_observer(
    raindrop_http: httpx.AsyncClient, raindrop_app: App, raindrop_clock: FakeClock
) -> None:
    assert (await raindrop_http.post("/send", json={"id": "x"})).json() == {"sent": 3}
    await raindrop_app.drain()
    assert await raindrop_app.env.CACHE.get("job:x:1", "json") == {"attempts": 1, "at": 1735689600000}
    assert await raindrop_app.env.CACHE.get("job:x:2") is not None
    assert await raindrop_app.env.CACHE.get("job:x:3") is None  # sent with delaySeconds: 60
    raindrop_clock.advance(seconds=61)
    await raindrop_app.drain()
    assert (await raindrop_app.env.CACHE.get("job:x:3", "json"))["at"] == 1735689661000


async def test_message_retry_with_a_delay_is_honoured(raindrop_app: App, raindrop_clock: FakeClock) -> None:
    await raindrop_app.env.JOBS.send({"id": "r", "mode": "retry"})
    await raindrop_app.drain()
    assert await raindrop_app.env.CACHE.get("job:r:1") is None
    raindrop_clock.advance(seconds=31)
    await raindrop_app.drain()
    assert (await raindrop_app.env.CACHE.get("job:r:1", "json"))["attempts"] == 2


async def test_a_throwing_observer_is_retried_then_dead_lettered(raindrop_app: App, raindrop_clock: FakeClock) -> None:
    await raindrop_app.env.JOBS.send({"id": "bad", "mode": "throw"})
    with pytest.raises(TypeScriptError, match="job bad failed on attempt 1"):
        await raindrop_app.drain()
    for _ in range(10):
        raindrop_clock.advance(seconds=600)
        await raindrop_app.drain(raise_errors=False)
    letters = await raindrop_app.dead_letters("jobs")
    assert len(letters) == 1
    assert "job bad failed" in (letters[0].last_error or "")
    assert "src/jobs-observer/index.ts:" in (letters[0].last_error or "")
    runs = [r for r in raindrop_app.runs if r.module == "jobs-observer" and r.outcome == "error"]
    assert len(runs) == 4  # the first delivery and three retries


async def test_actor_state_is_kept_per_id(raindrop_http: httpx.AsyncClient, raindrop_app: App) -> None:
    assert (await raindrop_http.get("/actor", params={"name": "a", "by": "2"})).json()["value"] == 2
    assert (await raindrop_http.get("/actor", params={"name": "a", "by": "3"})).json()["value"] == 5
    other = (await raindrop_http.get("/actor", params={"name": "b"})).json()
    assert other["value"] == 1
    # The id TypeScript computes is the one Python computes for the same name.
    assert other["id"] == str(raindrop_app.env.COUNTER.id_from_name("b"))
    assert await raindrop_app.env.COUNTER.get(raindrop_app.env.COUNTER.id_from_name("a")).increment(1) == 6


async def test_a_typescript_actor_calling_itself_runs_inside_its_own_call(raindrop_app: App) -> None:
    """The call back comes from Node while the call waits for it: it runs in that call's
    context (not behind the actor's lock, which would wait forever), and every put is stored."""
    counter = raindrop_app.env.COUNTER.get(raindrop_app.env.COUNTER.id_from_name("recursive"))
    assert await asyncio.wait_for(counter.countdown(4), 10) == 4
    stored = await raindrop_app.backend.state.get("counter", str(counter.id), [f"at-{n}" for n in range(5)])
    assert stored == {f"at-{n}": str(n) for n in range(5)}


async def test_actor_alarms_fire_on_the_fake_clock(
    raindrop_http: httpx.AsyncClient, raindrop_app: App, raindrop_clock: FakeClock
) -> None:
    await raindrop_http.get("/alarm", params={"in": "60"})
    await raindrop_app.drain()
    assert await raindrop_app.env.CACHE.get("alarm-fired") is None
    raindrop_clock.advance(seconds=60)
    await raindrop_app.drain()
    assert await raindrop_app.env.CACHE.get("alarm-fired") == str(1735689660000)


async def test_a_cron_task_gets_the_platforms_event(raindrop_app: App) -> None:
    await raindrop_app.fire("nightly")
    event = await raindrop_app.env.CACHE.get("nightly", "json")
    assert event["cron"] == "0 3 * * *"
    assert event["type"] == "scheduled"
    assert event["now"] == 1735689600000


async def test_service_rpc_and_fetch_between_typescript_services(raindrop_http_500: httpx.AsyncClient) -> None:
    assert (await raindrop_http_500.get("/rpc")).json() == {"sum": 5, "greeting": "hello, ts"}
    assert (await raindrop_http_500.get("/rpc-fetch")).json() == {"status": 200, "text": "hello POST /echo?1 ping"}
    missing = await raindrop_http_500.get("/rpc-missing")
    assert missing.status_code == 500
    assert "has no public method 'nothingHere'" in missing.json()["detail"]


async def test_python_calls_typescript_rpc_methods(raindrop_app: App) -> None:
    assert await raindrop_app.env.HELPER.add(40, 2) == 42


async def test_javascript_dates_follow_the_fake_clock(
    raindrop_http: httpx.AsyncClient, raindrop_clock: FakeClock
) -> None:
    first = (await raindrop_http.get("/time")).json()
    assert first["now"] == 1735689600000
    assert first["date"] == "2025-01-01T00:00:00.000Z"
    raindrop_clock.advance(seconds=3600)
    later = (await raindrop_http.get("/time")).json()
    assert later["now"] == 1735693200000
    assert later["started"] == 1735689600000  # the service object was built once


async def test_a_streamed_body_arrives_whole_and_in_order(raindrop_http: httpx.AsyncClient) -> None:
    response = await raindrop_http.get("/stream")
    assert response.headers["content-type"] == "text/event-stream"
    assert response.text == "data: 1\n\ndata: 2\n\ndata: 3\n\n"


async def test_the_apps_cors_hook_wraps_every_fetch(raindrop_http: httpx.AsyncClient) -> None:
    allowed = await raindrop_http.get("/hello", headers={"origin": "https://allowed.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://allowed.example"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    other = await raindrop_http.get("/hello", headers={"origin": "https://other.example"})
    assert "access-control-allow-origin" not in other.headers
    preflight = await raindrop_http.options(
        "/hello", headers={"origin": "https://allowed.example", "access-control-request-method": "POST"}
    )
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["access-control-allow-methods"]


async def test_logger_fields_reach_the_runtimes_log(
    raindrop_http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        await raindrop_http.get("/log")
        await raindrop_http.get("/hello")  # the log call is sent without an answer: let it land
    assert any("hello from ts" in r.getMessage() for r in caplog.records)
    # an Error in the fields is its name and message (as budget-copilot logs `{ error }`), not `{}`
    failed = [getattr(r, "fields", None) for r in caplog.records if r.getMessage() == "lookup failed"]
    assert failed == [{"error": "RangeError: out of range", "tries": [{"last": "Error: deep"}]}], failed


async def test_a_killed_node_child_is_restarted(raindrop_http: httpx.AsyncClient, raindrop_app: App) -> None:
    typescript = raindrop_app.typescript
    assert typescript is not None
    host = typescript.host
    pid = host.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    for _ in range(200):
        if host.restarts:
            break
        import asyncio

        await asyncio.sleep(0.02)
    assert host.restarts == 1
    assert host.pid != pid
    assert (await raindrop_http.get("/hello")).text == "hello from TypeScript"


async def test_typescript_and_python_services_call_each_other(raindrop_http: httpx.AsyncClient) -> None:
    answer = (await raindrop_http.get("/python")).json()
    assert answer == {"rpc": {"doubled": 42, "via_typescript": 42}, "fetched": "python saw POST /hi"}


async def test_an_actor_alarm_set_before_a_restart_fires_after_it(
    contract_manifest: Path, raindrop_clock: FakeClock, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    first = App.from_manifest(contract_manifest, clock=raindrop_clock, state_dir=state)
    async with first:
        transport = httpx.ASGITransport(app=first.asgi("web"))
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as client:
            assert (await client.get("/alarm", params={"in": "120"})).json() == {"armed": True}
    raindrop_clock.advance(seconds=300)  # the alarm came due while nothing ran
    second = App.from_manifest(contract_manifest, clock=raindrop_clock, state_dir=state)
    async with second:
        await second.drain()
        assert await second.env.CACHE.get("alarm-fired") == str(1735689600000 + 300_000)


async def test_more_kv_stream_put_and_get_and_bulk_reads(raindrop_http: httpx.AsyncClient) -> None:
    answer = (await raindrop_http.get("/more-kv")).json()
    assert answer == {
        "back": "streamed value",
        "bulk": {"s": "streamed value", "t": "two", "missing": None},
        "isMap": True,
        "bulkMeta": {"t": {"value": "two", "metadata": None}},
    }


async def test_queue_content_types_from_typescript(raindrop_http: httpx.AsyncClient, raindrop_app: App) -> None:
    await raindrop_http.get("/more-queue")
    await raindrop_app.drain()  # the observer gets a string and a Uint8Array back
    assert await raindrop_app.env.CACHE.get("raw:string") == "plain text"
    assert await raindrop_app.env.CACHE.get("raw:bytes") == "1,2,3"


async def test_sql_exec_and_run_meta(raindrop_http: httpx.AsyncClient) -> None:
    assert (await raindrop_http.get("/more-sql")).json() == {"execCount": 1, "changes": 2, "success": True}


async def test_bucket_ranges_and_deletes(raindrop_http: httpx.AsyncClient) -> None:
    assert (await raindrop_http.get("/more-bucket")).json() == {"partText": "cde", "gone": None}


async def test_actor_ids_and_storage_methods(raindrop_http: httpx.AsyncClient) -> None:
    answer = (await raindrop_http.get("/more-actor")).json()
    assert answer["same"] is True and answer["value"] == 5
    assert answer["handTyped"].endswith(
        'is not an id of actor "counter": another actor class made it, or it was typed by hand (an id is for the class that made it)'
    )
    assert answer["inspect"] == {
        "keys": ["a", "b", "value"],
        "many": {"a": 1, "b": 2},
        "alarmIn": 1000,
        "alarmAfter": None,
        "deleted": True,
        "id": 64,
    }


async def test_a_get_request_keeps_the_fetch_semantics(raindrop_http: httpx.AsyncClient) -> None:
    """A GET's Request is made only when the handler needs more than its method, URL, headers
    and signal; until then, and after, it is a Request in every way a handler can tell."""
    answer = await raindrop_http.get("/request-semantics?a=b c", headers={"x-test": "yes"})
    assert answer.json() == {
        "isRequest": True,
        "tag": "[object Request]",
        "method": "GET",
        "url": "http://web.localhost/request-semantics?a=b%20c",
        "header": "yes",
        "aborted": False,
        "body": None,
        "used": False,
        "text": "",
        "copyUrl": "http://web.localhost/request-semantics?a=b%20c",
        "copyHeader": None,  # init.headers replaces the headers, as for any Request
        "copyExtra": "1",
        "clonedHeader": "yes",
        "redirect": "follow",
        "keepalive": False,
    }


async def test_responses_keep_the_fetch_semantics(raindrop_http: httpx.AsyncClient) -> None:
    assert (await raindrop_http.get("/response-semantics")).json() == {
        "first": "abc",
        "second": "threw",
        "copy": "abc",
        "used": True,
        "viaStream": "xyz",
        "bytes": [104, 105],
        "type": "text/plain;charset=UTF-8",
        "parsed": {"a": 1},
        "empty": None,
    }


async def test_spans_from_typescript_are_recorded_by_the_runtimes_tracer(
    raindrop_http: httpx.AsyncClient, raindrop_app: App
) -> None:
    assert (await raindrop_http.get("/span")).json() == {"total": 6}
    await raindrop_http.get("/hello")  # the span records are sent without an answer: let them land
    spans = {r.module: r for r in raindrop_app.runs if r.kind == "span"}
    assert spans["ts-work"].outcome == "ok"
    assert '"items":3' in spans["ts-work"].detail and "event halfway" in spans["ts-work"].detail
    assert spans["ts-failed"].outcome == "error"
    assert spans["ts-failed"].error == "Error: span broke"
    assert spans["ts-work"].started_at == raindrop_app.clock.time()  # the fake clock's moment


class Upload:
    """20 MB a client streams in 64 KB chunks, and their hash. Two megabytes in, it waits until
    the receiver has set the KV key ``marker`` (it read some): ``seen_while_sending`` says that
    it had before the rest was sent."""

    chunk = bytes(range(256)) * 256
    total = 20 * 1024 * 1024

    def __init__(self, app: App, marker: str) -> None:
        import hashlib

        self.app = app
        self.marker = marker
        self.expected = hashlib.sha256()
        self.seen_while_sending = False

    async def body(self) -> AsyncIterator[bytes]:
        import asyncio

        for index in range(self.total // len(self.chunk)):
            if index == 32:
                for _ in range(1000):
                    if await self.app.env.CACHE.get(self.marker) is not None:
                        self.seen_while_sending = True
                        break
                    await asyncio.sleep(0.01)
            self.expected.update(self.chunk)
            yield self.chunk


async def test_a_large_upload_is_streamed_to_typescript(raindrop_http: httpx.AsyncClient, raindrop_app: App) -> None:
    """20 MB sent in chunks: the handler hashes it as it arrives (it has the first chunk while the
    client is still sending), and Python never holds more than a window of it."""
    import tracemalloc

    upload = Upload(raindrop_app, "upload:first")

    tracemalloc.start()
    try:
        response = await raindrop_http.post("/upload", content=upload.body())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["size"] == upload.total
    assert answer["sha256"] == upload.expected.hexdigest()
    assert upload.seen_while_sending
    assert peak < 8 * 1024 * 1024, f"Python held {peak} bytes of a {upload.total}-byte upload"


async def test_a_large_body_with_a_length_reaches_typescript_whole(raindrop_http: httpx.AsyncClient) -> None:
    import hashlib

    data = bytes(range(256)) * 4096 * 3  # 3 MB, sent with content-length
    answer = (await raindrop_http.post("/upload", content=data)).json()
    assert answer == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "chunks": answer["chunks"]}
    echoed = await raindrop_http.post("/echo", content=data)  # read with arrayBuffer()
    assert echoed.content == data
    unread = await raindrop_http.post("/hello", content=data * 2)  # answered without reading its 6 MB body
    assert unread.text == "hello from TypeScript"


async def test_a_streamed_body_over_the_limit_is_a_413(raindrop_app: App) -> None:
    service = raindrop_app.asgi("web")
    service.max_body = 1024 * 1024  # the platform's is 100 MB: a smaller one, not to send that much

    async def body() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield bytes(64 * 1024)

    transport = httpx.ASGITransport(app=service)
    async with httpx.AsyncClient(transport=transport, base_url="http://web.localhost") as client:
        response = await client.post("/upload", content=body())
    assert response.status_code == 413, response.text
    assert "larger than the limit" in response.text


async def test_a_large_upload_is_streamed_to_a_typescript_actors_fetch(raindrop_app: App) -> None:
    """A Python service hands its request to a TypeScript actor's fetch: 20 MB sent in chunks are
    hashed in the actor as they arrive, and Python never holds more than a window of them."""
    import tracemalloc

    upload = Upload(raindrop_app, "actor-upload:first")

    transport = httpx.ASGITransport(app=raindrop_app.asgi("pyhelper"))
    async with httpx.AsyncClient(transport=transport, base_url="http://pyhelper.localhost") as client:
        tracemalloc.start()
        try:
            response = await client.post("/actor/upload", content=upload.body())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert response.status_code == 200, response.text
    assert response.json() == {"sha256": upload.expected.hexdigest(), "size": upload.total}
    assert upload.seen_while_sending
    assert peak < 8 * 1024 * 1024, f"Python held {peak} bytes of a {upload.total}-byte upload"


async def test_a_typescript_actor_echoes_a_large_streamed_body(raindrop_app: App) -> None:
    """The actor answers with the request's own stream: the reply flows back while the upload
    still arrives, so a body larger than the window in flight comes back whole."""
    data = bytes(range(256)) * 4096 * 3  # 3 MB: three windows

    async def body() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 65536):
            yield data[start : start + 65536]

    transport = httpx.ASGITransport(app=raindrop_app.asgi("pyhelper"))
    async with httpx.AsyncClient(transport=transport, base_url="http://pyhelper.localhost") as client:
        with anyio.fail_after(30):
            response = await client.post("/actor/echo", content=body())
    assert response.status_code == 200
    assert response.content == data


async def test_a_rejection_nobody_handles_is_logged_and_node_keeps_running(
    raindrop_http: httpx.AsyncClient, raindrop_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    """Node's default for an unhandled rejection is to exit, which failed every request in flight
    and restarted the handlers. Here it is logged with where it was made, and Node runs on."""
    assert raindrop_app.typescript is not None
    host = raindrop_app.typescript.host
    pid = host.pid
    with caplog.at_level(logging.WARNING):
        response = await raindrop_http.get("/forget")
        assert response.text == "answered"
        for _ in range(100):
            if "nobody catches this" in caplog.text and "empty" in caplog.text:
                break
            await asyncio.sleep(0.02)
    assert "nobody catches this" in caplog.text and "src/web/index.ts" in caplog.text
    assert "empty" in caplog.text  # the refused put's BindingError, thrown where nobody awaits it
    assert await raindrop_app.env.CACHE.get("forgotten") == "stored anyway"
    assert (await raindrop_http.get("/hello")).status_code == 200
    assert host.pid == pid  # the same Node process, never restarted
