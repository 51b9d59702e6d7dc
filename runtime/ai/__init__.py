"""``env.AI``: the platform's model catalog, answered locally by the provider each model is set to.

``await env.AI.run(model, inputs, options=None)``; see :mod:`runtime.ai.catalog` for the names
and shapes and :mod:`runtime.ai.providers` for who answers.
"""

from __future__ import annotations

from typing import Any

from runtime.ai.catalog import CATALOG, LOCAL_FAMILIES, family_of
from runtime.ai.providers import PROVIDERS, AIError, Messages, Provider
from runtime.ai.scripted import AICall, Script, Scripted
from runtime.config import AiModelSettings, AiSettings
from runtime.naming import platform_names

__all__ = ["AI", "AICall", "AIError"]


@platform_names
class AI:
    """``env.AI`` on every module (a built-in: not declared in the manifest)."""

    def __init__(self, settings: AiSettings, fill: Any = None) -> None:
        self.settings = settings
        self._fill = fill or (lambda text: text)
        self._providers: dict[str, Provider] = {}
        self._scripted: Scripted | None = None

    def script(self, script: Script | None) -> None:
        """Answer text generation from ``script`` from now on (tests); ``None`` goes back to
        the configured providers. See :mod:`runtime.ai.scripted` for what a script is.

        :raises TypeError: for something that is not a script.
        """
        self._scripted = None if script is None else Scripted(script)

    @property
    def calls(self) -> list[AICall]:
        """The text-generation calls the current script answered, oldest first."""
        return list(self._scripted.calls) if self._scripted is not None else []

    def __repr__(self) -> str:
        return "<AI>"

    def provider_for(self, model: str) -> Provider:
        """The provider that answers ``model`` (settings' ``${NAME}`` values filled in)."""
        provider = self._providers.get(model)
        if provider is None:
            chosen = self.settings.for_model(model)
            filled = AiModelSettings(
                provider=chosen.provider,
                model=chosen.model,
                base_url=self._fill(chosen.base_url),
                api_key=self._fill(chosen.api_key),
                max_tokens=chosen.max_tokens,
                timeout=chosen.timeout,
            )
            provider = self._providers[model] = PROVIDERS[chosen.provider](filled)
        return provider

    def describe(self) -> str:
        """One line for the banner and ``inspect``: the default provider and the exceptions."""
        parts = [f"default {self.settings.default.provider}"]
        parts += [f"{name}: {self.provider_for(name).describe(name)}" for name in sorted(self.settings.models)]
        return "; ".join(parts)

    async def run(self, model: str, inputs: Any, options: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run ``model`` on ``inputs``, shaped as the platform's docs give them per family.

        Text generation: ``{"messages": [{"role", "content"}]}`` or ``{"prompt": str}`` →
        ``{"response": str, "choices": [{"message": {"role": "assistant", "content": str}}]}``.
        Embeddings: ``{"text": str | [str]}`` → ``{"shape": [n, d], "data": [[float] * d] * n}``.

        :raises AIError: for a model outside the catalog, a family not available locally,
            inputs of the wrong shape, or a provider that failed.
        """
        if not isinstance(model, str):
            raise AIError(f"env.AI.run: the model is a name (str), not {type(model).__name__}")
        family = family_of(model)
        if family is None:
            from runtime.manifest.schema import closest

            guess = closest(model, list(CATALOG))
            hint = f"; did you mean {guess!r}?" if guess else ""
            raise AIError(f"env.AI.run: {model!r} is not a model of the platform's catalog{hint}")
        if family not in LOCAL_FAMILIES:
            raise AIError(
                f"env.AI.run: {model!r} is a {family} model, which is not available locally; "
                f"locally: {' and '.join(LOCAL_FAMILIES)} models"
            )
        options = dict(options or {})
        provider = self.provider_for(model)
        if family == "embeddings":
            texts = _texts(model, inputs)
            vectors = await provider.embed(model, texts) if texts else []
            return {"shape": [len(vectors), len(vectors[0]) if vectors else 0], "data": vectors}
        messages = _messages(model, inputs)
        if self._scripted is not None:
            return _with_choices(self._scripted.answer(model, messages))
        return _with_choices(await provider.generate(model, messages, options))


def _with_choices(result: dict[str, Any]) -> dict[str, Any]:
    """A text answer also as the framework's ``OpenAIChatOutput`` spells it
    (``choices[0].message.content``), which apps read as often as ``response``."""
    text = result.get("response")
    if not isinstance(text, str) or "choices" in result:
        return result
    message = {"role": "assistant", "content": text}
    return {**result, "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}


def _texts(model: str, inputs: Any) -> list[str]:
    text = inputs.get("text") if isinstance(inputs, dict) else None
    if isinstance(text, str):
        return [text]
    if isinstance(text, list) and all(isinstance(item, str) for item in text):
        return list(text)
    raise AIError(f'env.AI.run({model!r}): embedding models take {{"text": str | [str]}}, not {inputs!r:.80}')


def _messages(model: str, inputs: Any) -> Messages:
    if isinstance(inputs, dict) and isinstance(inputs.get("prompt"), str):
        return [{"role": "user", "content": inputs["prompt"]}]
    messages = inputs.get("messages") if isinstance(inputs, dict) else None
    if (
        isinstance(messages, list)
        and messages
        and all(
            isinstance(m, dict)
            and isinstance(m.get("content"), str)
            and m.get("role") in ("system", "user", "assistant")
            for m in messages
        )
    ):
        return [{"role": m["role"], "content": m["content"]} for m in messages]
    raise AIError(
        f'env.AI.run({model!r}): text generation takes {{"messages": [{{"role": "system"|"user"|"assistant", '
        f'"content": str}}, ...]}} or {{"prompt": str}}, not {inputs!r:.80}'
    )
