"""What a TypeScript handler sees of a request, and what reaches the client of what it does."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from runtime.app import App
from runtime.typescript.host import TypeScriptError

pytestmark = [pytest.mark.slow, pytest.mark.anyio]  # raindrop_http_500 alone does not mark a test early


@pytest.fixture
def raindrop_manifest(guard_manifest: Path) -> Path:
    return guard_manifest


@pytest.mark.parametrize("sent", ["/a%2Fb", "/what%3Fnot-a-query", "/hash%23tag", "/line%0Abreak", "/x%2F..%2Fy"])
async def test_an_encoded_path_reaches_the_handler_still_encoded(raindrop_http: httpx.AsyncClient, sent: str) -> None:
    """Before, the handler saw the decoded path: /a%2Fb became /a/b, %3F began a query."""
    answer = (await raindrop_http.get(sent, params={"q": "1"})).json()
    assert answer["pathname"] == sent
    assert answer["search"] == "?q=1"


@pytest.mark.parametrize(
    "header",
    ["bad host", "a/b", "[zz]", "web.localhost:99999", "300.1.2.3", "x<y"],
    ids=["space", "slash", "not-ipv6", "port", "not-ipv4", "angle"],
)
async def test_a_host_header_no_url_can_be_made_of_is_a_400(raindrop_http_500: httpx.AsyncClient, header: str) -> None:
    """Before, Node's new URL() threw and the request was a 500."""
    response = await raindrop_http_500.get("/hello", headers={"host": header})
    assert response.status_code == 400
    assert "is not a host name or address" in response.json()["error"]


@pytest.mark.parametrize("header", ["web.localhost", "web.localhost:8787", "127.0.0.1:8787", "[::1]:8787"])
async def test_usual_host_headers_are_taken(raindrop_http: httpx.AsyncClient, header: str) -> None:
    answer = (await raindrop_http.get("/some/where", headers={"host": header})).json()
    assert answer["url"] == f"http://{header}/some/where"


@pytest.mark.parametrize(
    ("kind", "shown"),
    [
        ("text", '"text"'),
        ("object", '{"code":1}'),
        ("number", "42"),
        ("circular", "<ref *1> { name: 'loop', self: [Circular *1] }"),
        ("getter", "{ code: [Getter] }"),
        ("bigint", "10n"),
        ("bare", "{}"),
    ],
)
async def test_a_thrown_value_that_is_not_an_error_shows_as_json(
    raindrop_http_500: httpx.AsyncClient, kind: str, shown: str
) -> None:
    """Before, {code: 1} reached Python as "[object Object]", and a value String() refuses
    (Object.create(null)) left the request unanswered until its timeout."""
    response = await raindrop_http_500.get("/throw", params={"kind": kind})
    assert response.status_code == 500
    assert response.json()["detail"] == f"TypeScriptError: Error: a value that is not an Error was thrown: {shown}"


async def test_an_error_whose_stack_cannot_be_read_is_still_a_500(raindrop_http_500: httpx.AsyncClient) -> None:
    response = await raindrop_http_500.get("/throw", params={"kind": "unreadable"})
    assert response.status_code == 500
    assert response.json()["detail"].startswith("TypeScriptError: Error: an Error that cannot be read was thrown: ")


@pytest.mark.parametrize("kind", ["string", "number"])
async def test_a_body_stream_of_other_than_bytes_is_a_type_error(
    raindrop_http_500: httpx.AsyncClient, kind: str
) -> None:
    """Before, a string chunk was sent as its text, and a number reached Python as an int that
    no body could be made of."""
    response = await raindrop_http_500.get("/badstream", params={"kind": kind})
    assert response.status_code == 500
    assert response.json()["detail"].startswith(
        f"TypeScriptError: TypeError: a Response body stream must yield Uint8Array chunks, not {kind}"
    )


async def test_a_body_stream_that_turns_to_text_midway_fails_the_answer(raindrop_http_500: httpx.AsyncClient) -> None:
    with pytest.raises(TypeScriptError, match="must yield Uint8Array chunks, not string"):
        await raindrop_http_500.get("/badstream", params={"kind": "late"})


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("queue", 'env.JOBS.send: a function (at "callback") cannot be passed to a binding call'),
        ("kv", 'env.CACHE.put: a symbol (at "tag") cannot be passed to a binding call'),
    ],
)
async def test_a_function_or_symbol_in_binding_arguments_is_a_type_error_at_the_call(
    raindrop_http: httpx.AsyncClient, raindrop_app: App, kind: str, message: str
) -> None:
    """Before, JSON dropped the function (the message was sent without it) and the symbol (the
    metadata stored without it), and nothing told the handler."""
    answer = (await raindrop_http.get("/badargs", params={"kind": kind})).json()
    assert answer["name"] == "TypeError"
    assert answer["message"].startswith(message)
    assert "src/web/index.ts" in answer["stack"]  # thrown where the handler made the call
    await raindrop_app.drain()
    assert await raindrop_app.env.CACHE.get("done:x") is None  # nothing was sent
    assert await raindrop_app.env.CACHE.get("k") is None  # nothing was stored


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("delay NaN", "env.JOBS.send: delaySeconds must be a number from 0 to 43200 (12 hours), not NaN"),
        ("delay Infinity", "env.JOBS.send: delaySeconds must be a number from 0 to 43200 (12 hours), not Infinity"),
        ("batch delay NaN", "env.JOBS.sendBatch: delaySeconds must be a number from 0 to 43200 (12 hours), not NaN"),
    ],
)
async def test_a_send_s_nan_or_infinite_delay_is_a_range_error_at_the_call(
    raindrop_http: httpx.AsyncClient, raindrop_app: App, kind: str, message: str
) -> None:
    """Before, JSON made NaN and Infinity null: the message was sent at once, and nothing told
    the handler (Python's send refuses them)."""
    answer = (await raindrop_http.get("/badargs", params={"kind": kind})).json()
    assert (answer["name"], answer["message"]) == ("RangeError", message)
    await raindrop_app.drain()
    assert await raindrop_app.env.CACHE.get("done:x") is None  # nothing was sent


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("ttl NaN", "env.CACHE.put: expirationTtl must be a finite number of seconds, not NaN"),
        ("ttl Infinity", "env.CACHE.put: expirationTtl must be a finite number of seconds, not Infinity"),
        ("expiration NaN", "env.CACHE.put: expiration must be a finite number of seconds, not NaN"),
    ],
)
async def test_a_kv_put_s_nan_or_infinite_expiry_is_a_range_error_at_the_call(
    raindrop_http: httpx.AsyncClient, raindrop_app: App, kind: str, message: str
) -> None:
    """Before, JSON made NaN and Infinity null: the value was stored with no expiry at all, and
    nothing told the handler."""
    answer = (await raindrop_http.get("/badargs", params={"kind": kind})).json()
    assert (answer["name"], answer["message"]) == ("RangeError", message)
    assert await raindrop_app.env.CACHE.get("k") is None  # nothing was stored
