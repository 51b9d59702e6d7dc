"""Who answers ``env.AI.run`` locally: offline, Anthropic's SDK, or an OpenAI-compatible server.

- ``offline`` (the default): embeddings from the bundled model (:mod:`runtime.smart.embeddings`,
  256 dimensions whatever the platform model's own); text generation by a small deterministic
  extractive writer that answers with the sentences of its context closest to the question,
  and says that it is offline.
- ``anthropic``: the official ``anthropic`` SDK (``base_url`` for a proxy or a test server).
- ``openai-compatible``: ``POST {base_url}/chat/completions`` and ``/embeddings`` over httpx,
  as Ollama, vLLM, llama.cpp's server and LM Studio serve them.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Any

import anyio
import httpx
import numpy as np

from runtime.config import AiModelSettings
from runtime.errors import AIError as AIError  # raised here; importable from here as before
from runtime.smart.embeddings import shared as shared_embedder

Messages = list[dict[str, str]]


class Provider(ABC):
    """Answers one family's calls for the models configured to use it."""

    kind: str

    def __init__(self, settings: AiModelSettings) -> None:
        self.settings = settings

    def describe(self, model: str) -> str:
        """How this provider answers ``model``, for banners and ``inspect``."""
        return self.kind

    @abstractmethod
    async def generate(self, model: str, messages: Messages, options: dict[str, Any]) -> dict[str, Any]:
        """``{"response": str, ...}`` for a conversation."""

    @abstractmethod
    async def embed(self, model: str, texts: list[str]) -> list[list[float]]:
        """One vector per text."""


OFFLINE_NOTE = "[offline model: no language model is configured for {model}; this answer is extracted, not generated]"


class OfflineProvider(Provider):
    kind = "offline"

    def describe(self, model: str) -> str:
        return "offline (bundled embedding model; extractive writer)"

    async def embed(self, model: str, texts: list[str]) -> list[list[float]]:
        embedder = shared_embedder()
        vectors = await anyio.to_thread.run_sync(embedder.embed, texts)
        return [[float(x) for x in row] for row in vectors]

    async def generate(self, model: str, messages: Messages, options: dict[str, Any]) -> dict[str, Any]:
        question = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
        context = "\n\n".join(m["content"] for m in messages if m.get("content") != question)
        note = OFFLINE_NOTE.format(model=model)
        paragraphs = [_sentences(part) for part in re.split(r"\n\s*\n", context)]
        paragraphs = [p for p in paragraphs if p]
        if not paragraphs:
            return {"response": f"{note} There is no context to answer from: {question.strip()[:200]}"}
        if "summar" in question.lower():  # a summary: the lead sentence of each part, in order
            picked = [p[0] for p in paragraphs[:6]]
        else:  # an answer: the three sentences closest to the question, in the context's order
            sentences = [s for p in paragraphs for s in p]
            embedder = shared_embedder()
            vectors = await anyio.to_thread.run_sync(embedder.embed, [question, *sentences])
            scores = vectors[1:] @ vectors[0]
            best = sorted(np.argsort(-scores, kind="stable")[: min(3, len(sentences))])
            picked = [sentences[i] for i in best]
        return {"response": f"{note} " + " ".join(picked)}


def _sentences(text: str) -> list[str]:
    """Sentences of ``text``; fragments under 25 characters (abbreviations such as "S." or
    "H.R.", headings) are joined to what follows."""
    pieces = [p.strip() for p in re.split(r"(?<=[.!?])\s+|\n+", text) if p.strip()]
    merged: list[str] = []
    carry = ""
    for piece in pieces:
        carry = f"{carry} {piece}".strip()
        if len(carry) >= 25:
            merged.append(carry)
            carry = ""
    if carry:
        merged.append(carry)
    return merged


class AnthropicProvider(Provider):
    kind = "anthropic"

    def describe(self, model: str) -> str:
        return f"anthropic ({self.settings.model or model})"

    async def generate(self, model: str, messages: Messages, options: dict[str, Any]) -> dict[str, Any]:
        import anthropic

        if not self.settings.api_key:
            raise AIError(
                f"AI model {model!r} is set to the anthropic provider, which needs api_key "
                "(for example api_key: ${ANTHROPIC_API_KEY} under ai: in raindrop.local.yaml)"
            )
        system = "\n\n".join(m["content"] for m in messages if m.get("role") == "system")
        turns = [
            {"role": m["role"], "content": m["content"]} for m in messages if m.get("role") in ("user", "assistant")
        ]
        arguments: dict[str, Any] = {
            "model": self.settings.model or model,
            "max_tokens": int(options.get("max_tokens") or self.settings.max_tokens),
            "messages": turns,
        }
        if system:
            arguments["system"] = system
        if "temperature" in options:
            arguments["temperature"] = float(options["temperature"])
        try:
            async with anthropic.AsyncAnthropic(
                api_key=self.settings.api_key or "", base_url=self.settings.base_url, timeout=self.settings.timeout
            ) as client:
                reply = await client.messages.create(**arguments)
        except anthropic.APIError as exc:
            raise AIError(f"AI model {model!r} through anthropic failed: {exc}") from None
        text = "".join(block.text for block in reply.content if getattr(block, "type", "") == "text")
        usage = {"prompt_tokens": reply.usage.input_tokens, "completion_tokens": reply.usage.output_tokens}
        return {"response": text, "usage": usage}

    async def embed(self, model: str, texts: list[str]) -> list[list[float]]:
        raise AIError(
            f"AI model {model!r} is set to the anthropic provider, which makes no embeddings; "
            "use provider offline or openai-compatible for embedding models in raindrop.local.yaml (ai: models:)"
        )


class OpenAICompatibleProvider(Provider):
    kind = "openai-compatible"

    def describe(self, model: str) -> str:
        return f"openai-compatible ({self.settings.model or model} at {self.settings.base_url})"

    async def _post(self, model: str, path: str, body: dict[str, Any]) -> Any:
        base = (self.settings.base_url or "").rstrip("/")
        headers = {"Authorization": f"Bearer {self.settings.api_key}"} if self.settings.api_key else {}
        try:
            async with httpx.AsyncClient(timeout=self.settings.timeout) as client:
                response = await client.post(base + path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise AIError(f"AI model {model!r}: cannot reach the openai-compatible server at {base}: {exc}") from None
        if response.status_code >= 400:
            raise AIError(
                f"AI model {model!r}: the server at {base} answered {response.status_code}: {response.text[:300]}"
            )
        try:
            return response.json()
        except ValueError:
            raise AIError(f"AI model {model!r}: the server at {base} answered something that is not JSON") from None

    async def generate(self, model: str, messages: Messages, options: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.settings.model or model,
            "messages": messages,
            "max_tokens": int(options.get("max_tokens") or self.settings.max_tokens),
        }
        if "temperature" in options:
            body["temperature"] = float(options["temperature"])
        reply = await self._post(model, "/chat/completions", body)
        try:
            text = reply["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise AIError(f"AI model {model!r}: the server's reply has no choices[0].message.content") from None
        result: dict[str, Any] = {"response": text}
        if isinstance(reply.get("usage"), dict):
            result["usage"] = reply["usage"]
        return result

    async def embed(self, model: str, texts: list[str]) -> list[list[float]]:
        reply = await self._post(model, "/embeddings", {"model": self.settings.model or model, "input": texts})
        try:
            rows = sorted(reply["data"], key=lambda item: item.get("index", 0))
            return [[float(x) for x in row["embedding"]] for row in rows]
        except (KeyError, TypeError, ValueError):
            raise AIError(f"AI model {model!r}: the server's reply has no data[].embedding") from None


PROVIDERS: dict[str, type[Provider]] = {
    "offline": OfflineProvider,
    "anthropic": AnthropicProvider,
    "openai-compatible": OpenAICompatibleProvider,
}
