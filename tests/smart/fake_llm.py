"""A local server speaking Anthropic's Messages API and the OpenAI-compatible chat and
embeddings APIs (as Ollama, vLLM and llama.cpp serve them), for the real clients to call."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.local_server import LocalServer


class FakeLlm(LocalServer):
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        super().__init__(
            Starlette(
                routes=[
                    Route("/v1/messages", self.messages, methods=["POST"]),
                    Route("/v1/chat/completions", self.chat, methods=["POST"]),
                    Route("/v1/embeddings", self.embeddings, methods=["POST"]),
                ]
            )
        )
        self.fail_next = False
        self.chat_reply: str | None = None  # what /v1/chat/completions answers (default: an echo)

    async def messages(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(("anthropic", dict(request.headers), body))
        last = body["messages"][-1]["content"]
        return JSONResponse(
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [{"type": "text", "text": f"claude says: {last}"}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 11, "output_tokens": 7},
            }
        )

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(("openai", dict(request.headers), body))
        if self.fail_next:
            self.fail_next = False
            return JSONResponse({"error": {"message": "model not loaded"}}, status_code=503)
        last = body["messages"][-1]["content"]
        content = self.chat_reply if self.chat_reply is not None else f"local says: {last}"
        return JSONResponse(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
            }
        )

    async def embeddings(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(("embeddings", dict(request.headers), body))
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"object": "embedding", "index": i, "embedding": [float(len(text)), 1.0, 0.0]}
                    for i, text in enumerate(body["input"])
                ],
                "model": body["model"],
            }
        )
