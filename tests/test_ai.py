"""``env.AI``: the bundled embedding model (loaded with no network), the offline writer, and the
anthropic and OpenAI-compatible providers through their real clients against a local server."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from runtime import App
from runtime.ai import AIError
from runtime.smart.embeddings import Embedder
from tests.smart.fake_llm import FakeLlm

pytestmark = pytest.mark.anyio
APP = Path(__file__).parent / "apps" / "smart"


def cosine(a: list[float], b: list[float]) -> float:
    x, y = np.array(a), np.array(b)
    return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))


def test_the_model_loads_from_the_package_with_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    embedder = Embedder()  # a fresh one: the load itself happens under the patch
    embedder.load()
    vectors = embedder.embed(["the senate passed a bill", ""])
    assert vectors.shape == (2, 256) and abs(float(np.linalg.norm(vectors[0])) - 1) < 1e-5
    assert not vectors[1].any()  # blank text: the zero vector
    assert attempts == []


async def test_embeddings_rank_a_paraphrase_above_an_unrelated_sentence() -> None:
    async with App.from_manifest(APP / "raindrop.manifest", backend="memory://") as app:
        out = await app.env.AI.run(
            "bge-large-en",
            {
                "text": [
                    "Lawmakers approved new money for public schools",
                    "Congress passed funding for education",
                    "My cat sleeps on the warm windowsill",
                ]
            },
        )
        assert out["shape"] == [3, 256] and len(out["data"]) == 3
        query, paraphrase, unrelated = out["data"]
        assert cosine(query, paraphrase) > cosine(query, unrelated) + 0.2
        single = await app.env.AI.run("bge-small-en", {"text": "one"})
        assert single["shape"] == [1, 256]


async def test_the_offline_writer_says_so_and_answers_from_its_context() -> None:
    async with App.from_manifest(APP / "raindrop.manifest", backend="memory://") as app:
        answer = await app.env.AI.run(
            "llama-3.3-70b",
            {
                "messages": [
                    {
                        "role": "system",
                        "content": "The Laken Riley Act became law in January. Pizza is popular. "
                        "It requires detention of people charged with theft.",
                    },
                    {"role": "user", "content": "What does the Laken Riley Act require?"},
                ]
            },
        )
        assert answer["response"].startswith("[offline model: no language model is configured for llama-3.3-70b")
        assert "detention" in answer["response"]
        again = await app.env.AI.run("llama-3.3-70b", {"prompt": "hello"})
        assert "offline" in again["response"] and "no context" in again["response"]


@pytest.mark.parametrize(
    ("model", "inputs", "message"),
    [
        ("gpt-17", {"prompt": "x"}, "not a model of the platform's catalog"),
        ("llama-3.3-70", {"prompt": "x"}, "did you mean 'llama-3.3-70b'"),
        ("whisper-large-v3-turbo", {"audio": []}, "speech-recognition model, which is not available locally"),
        ("llama-3.3-70b", {"messages": [{"role": "robot", "content": "x"}]}, "text generation takes"),
        ("llama-3.3-70b", "hello", "text generation takes"),
        ("bge-large-en", {"text": 3}, 'embedding models take {"text": str | [str]}'),
    ],
)
async def test_bad_calls_name_the_model_and_what_is_expected(model: str, inputs: Any, message: str) -> None:
    async with App.from_manifest(APP / "raindrop.manifest", backend="memory://") as app:
        with pytest.raises(AIError, match=message.replace("(", r"\(").replace("[", r"\[").replace("|", r"\|")):
            await app.env.AI.run(model, inputs)


def write_settings(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "raindrop.manifest").write_text((APP / "raindrop.manifest").read_text())
    (folder / "raindrop.local.yaml").write_text(text)
    return folder / "raindrop.manifest"


async def test_anthropic_and_openai_compatible_providers_through_their_clients(tmp_path: Path) -> None:
    with FakeLlm() as llm:
        manifest = write_settings(
            tmp_path,
            f"""
ai:
  models:
    llama-3.3-70b: {{provider: anthropic, model: claude-sonnet-4-5, base_url: "{llm.url}", api_key: "${{CLAUDE_KEY}}"}}
    deepseek-r1: {{provider: openai-compatible, base_url: "{llm.url}/v1", model: "deepseek-r1:7b", api_key: sk-local}}
    bge-m3: {{provider: openai-compatible, base_url: "{llm.url}/v1", model: nomic-embed-text}}
""",
        )
        async with App.from_manifest(manifest, backend="memory://", environ={"CLAUDE_KEY": "key-from-env"}) as app:
            claude = await app.env.AI.run(
                "llama-3.3-70b",
                {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}]},
                {"max_tokens": 50},
            )
            assert claude["response"] == "claude says: Hi there" and claude["usage"]["completion_tokens"] == 7
            kind, headers, body = llm.requests[-1]
            assert kind == "anthropic" and headers["x-api-key"] == "key-from-env"
            assert body["model"] == "claude-sonnet-4-5" and body["system"] == "Be brief." and body["max_tokens"] == 50

            local = await app.env.AI.run("deepseek-r1", {"prompt": "Why?"}, {"temperature": 0.1})
            assert local == {
                "response": "local says: Why?",
                "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "local says: Why?"},
                        "finish_reason": "stop",
                    }
                ],
            }
            kind, headers, body = llm.requests[-1]
            assert headers["authorization"] == "Bearer sk-local" and body["model"] == "deepseek-r1:7b"
            assert body["temperature"] == 0.1

            vectors = await app.env.AI.run("bge-m3", {"text": ["ab", "abcd"]})
            assert vectors == {"shape": [2, 3], "data": [[2.0, 1.0, 0.0], [4.0, 1.0, 0.0]]}

            llm.fail_next = True
            with pytest.raises(AIError, match="answered 503"):
                await app.env.AI.run("deepseek-r1", {"prompt": "again"})
            with pytest.raises(AIError, match="makes no embeddings"):
                app.env.AI.provider_for("llama-3.3-70b")
                await app.env.AI.provider_for("llama-3.3-70b").embed("llama-3.3-70b", ["x"])


async def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    manifest = write_settings(
        tmp_path, "ai:\n  default: {provider: openai-compatible, base_url: 'http://127.0.0.1:9/v1'}\n"
    )
    async with App.from_manifest(manifest, backend="memory://") as app:
        with pytest.raises(
            AIError, match=re.escape("cannot reach the openai-compatible server at http://127.0.0.1:9/v1")
        ):
            await app.env.AI.run("llama-3.1-8b-instruct", {"prompt": "x"})


def test_settings_name_unknown_models_and_missing_base_urls(tmp_path: Path) -> None:
    from runtime.errors import ManifestError

    manifest = write_settings(
        tmp_path,
        "ai:\n  models:\n    llama-3.3-70bb: {provider: offline}\n    deepseek-r1: {provider: openai-compatible}\n",
    )
    with pytest.raises(ManifestError) as failure:
        App.from_manifest(manifest)
    text = failure.value.render()
    assert "did you mean 'llama-3.3-70b'" in text and "needs base_url" in text


def test_validate_and_inspect_say_who_answers_ai(tmp_path: Path) -> None:
    import io
    import json

    from runtime.cli import main

    manifest = tmp_path / "raindrop.manifest"
    manifest.write_text('application "a" {\n  mcp_service "tools" {}\n  smartbucket "docs" {}\n}\n')
    out = io.StringIO()
    assert main(["validate", str(manifest)], stdout=out, stderr=io.StringIO()) == 0
    assert "not emulated" not in out.getvalue()  # every kind of the manifest language is emulated
    out = io.StringIO()
    assert main(["inspect", str(manifest), "--json"], stdout=out, stderr=io.StringIO()) == 0
    report = json.loads(out.getvalue())
    assert "not_emulated" not in report
    assert report["ai"] == {"binding": "env.AI", "providers": "default offline"}
    docs = next(r for r in report["resources"] if r["name"] == "docs")
    assert "FTS5" in docs["provider"]


SUPPORT = """
application "desk" {
  service "api" {
    visibility = "public"
  }
}
"""
SUPPORT_HANDLER = """
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from runtime import Service


class Api(Service):
    async def fetch(self, request: Request) -> Response:
        ticket = (await request.body()).decode()
        prompt = f"Classify this support ticket as one of: billing, login, shipping. Ticket: {ticket}"
        answer = await self.env.AI.run("llama-3.3-70b", {"prompt": prompt})
        return JSONResponse({"queue": answer["response"].strip()})
"""


@pytest.fixture
def desk(tmp_path: Path) -> Path:
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "api.py").write_text(SUPPORT_HANDLER)
    (tmp_path / "raindrop.manifest").write_text(SUPPORT)
    return tmp_path / "raindrop.manifest"


@pytest.mark.parametrize(
    ("script", "ticket", "expected"),
    [
        ({"refund": "billing", "password": "login"}, "I want a refund", "billing"),
        (lambda model, prompt: "shipping" if "parcel" in prompt else "login", "where is my parcel", "shipping"),
        (["login"], "anything", "login"),
        (["login", {"response": "billing", "usage": {"tokens": 3}}], "anything", "login"),
    ],
)
async def test_a_test_scripts_env_ai(desk: Path, script: Any, ticket: str, expected: str) -> None:
    async with App.from_manifest(desk, backend="memory://") as app:
        app.env.AI.script(script)
        import httpx

        transport = httpx.ASGITransport(app=app.asgi("api", raise_exceptions=True))
        async with httpx.AsyncClient(transport=transport, base_url="http://api.localhost") as http:
            assert (await http.post("/", content=ticket)).json() == {"queue": expected}
        (call,) = app.env.AI.calls
        assert call.model == "llama-3.3-70b" and ticket in call.prompt
        assert call.response["response"] == expected
        # embeddings are never scripted: search keeps its model
        assert (await app.env.AI.run("bge-small-en", {"text": "x"}))["shape"] == [1, 256]
        app.env.AI.script(None)
        assert app.env.AI.calls == []


async def test_a_script_that_has_no_answer_says_so(desk: Path) -> None:
    async with App.from_manifest(desk, backend="memory://") as app:
        app.env.AI.script({"refund": "billing"})
        with pytest.raises(AIError, match=r"contains none of 'refund'; add an entry"):
            await app.env.AI.run("llama-3.3-70b", {"prompt": "hello"})
        app.env.AI.script(["one"])
        await app.env.AI.run("llama-3.3-70b", {"prompt": "a"})
        with pytest.raises(AIError, match=r"call 2 to 'llama-3.3-70b', but the script has 1 answer"):
            await app.env.AI.run("llama-3.3-70b", {"prompt": "b"})
        with pytest.raises(TypeError, match=r"env\.AI\.script takes a function"):
            app.env.AI.script("billing")  # type: ignore[arg-type]


def test_the_raindrop_ai_fixture(pytester: pytest.Pytester, desk: Path) -> None:
    pytester.makeini(f"[pytest]\nraindrop_manifest = {desk}\n")
    pytester.makepyfile(
        """
        async def test_scripted(raindrop_ai, raindrop_http):
            raindrop_ai.script({"refund": "billing"})
            assert (await raindrop_http.post("/", content="a refund please")).json() == {"queue": "billing"}
            assert len(raindrop_ai.calls) == 1
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("prompt", "labels"),
    [
        ("Classify this ticket as one of: billing, login, shipping. Ticket: x", ["billing", "login", "shipping"]),
        ("Answer with one of [urgent | normal | low]", ["urgent", "normal", "low"]),
        ('Categories: "bug", "feature" or "question"', ["bug", "feature", "question"]),
        ("What does the Laken Riley Act require?", []),
        ("Summarize the bill, then list its sponsors", []),
    ],
)
def test_classification_prompts_are_recognised(prompt: str, labels: list[str]) -> None:
    from runtime.ai.classify import labels_of

    assert labels_of(prompt) == labels


async def test_offline_classification_answers_a_label_and_says_how(desk: Path) -> None:
    async with App.from_manifest(desk, backend="memory://") as app:
        prompt = "Classify this support ticket as one of: billing, login, shipping. Ticket: "
        answers = {}
        for ticket in ("my parcel never arrived", "I forgot my password and cannot log in"):
            answers[ticket] = await app.env.AI.run("llama-3.3-70b", {"prompt": prompt + ticket})
        for answer in answers.values():
            assert answer["response"] in ("billing", "login", "shipping")
            assert "picked by embedding similarity" in answer["offline_note"]
        assert [a["response"] for a in answers.values()] == ["shipping", "login"]
