"""Local servers speaking the wire formats of Claude, ElevenLabs and Congress.gov, for tests."""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.local_server import LocalServer


class FakeApis(LocalServer):
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.claude_answers = 0
        self.congress_calls = 0
        super().__init__(
            Starlette(
                routes=[
                    Route("/v1/messages", self.messages, methods=["POST"]),
                    Route("/v1/text-to-dialogue", self.dialogue, methods=["POST"]),
                    Route("/v3/bill/{congress}", self.bills),
                ]
            )
        )

    async def messages(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(("claude", dict(request.headers), body))
        self.claude_answers += 1
        if self.claude_answers == 1:
            text = 'Here is your script: [{"host": "narrator", "text": "oops"}]'  # wrong host: repair
        else:
            lines = [
                {
                    "host": "sarah" if i % 2 == 0 else "james",
                    "text": f"Line {i} about {body['messages'][0]['content'][40:80]!s}. " * 8,
                }
                for i in range(20)
            ]
            text = "```json\n" + json.dumps(lines) + "\n```"
        return JSONResponse(
            {
                "id": f"msg_{self.claude_answers}",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 100, "output_tokens": 200},
            }
        )

    async def dialogue(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(("elevenlabs", dict(request.headers), {**body, "query": dict(request.query_params)}))
        return Response(b"ID3" + b"\xff" * 24576, media_type="audio/mpeg")

    async def bills(self, request: Request) -> Response:
        self.requests.append(("congress", dict(request.headers), dict(request.query_params)))
        self.congress_calls += 1
        if self.congress_calls == 1:
            return JSONResponse({"error": "rate limited"}, status_code=429, headers={"Retry-After": "1"})
        return JSONResponse(
            {
                "bills": [
                    {
                        "congress": 119,
                        "type": "HR",
                        "number": str(1000 + i),
                        "title": f"Example Act {i}",
                        "latestAction": {"actionDate": "2025-01-02", "text": "Referred to committee."},
                        "sponsors": [{"fullName": "Rep. Example [D-CA-1]"}],
                    }
                    for i in range(int(request.query_params.get("limit", 3)))
                ]
            }
        )
