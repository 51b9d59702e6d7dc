"""Scripted answers for ``env.AI`` in tests: ``env.AI.script(...)`` (or the ``raindrop_ai``
fixture) makes text generation answer what the test says, and records every call.

A script is one of:

- a function ``(model, prompt) -> str | dict``, where ``prompt`` is the last user message;
- a dict of ``{substring: answer}``: the first substring found in the prompt (case-insensitive)
  gives the answer; a prompt matching none fails the call, naming the substrings;
- a list of answers, given in order, one per call; a call past the end fails.

An answer that is a ``str`` comes back as ``{"response": answer}``; a dict comes back as given.
Embedding models are not scripted: they keep their provider, so search keeps working.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runtime.ai.providers import AIError, Messages

Answer = str | dict[str, Any]
Script = Callable[[str, str], Answer] | Mapping[str, Answer] | Sequence[Answer]


@dataclass(frozen=True, slots=True)
class AICall:
    """One ``env.AI.run`` call a script answered: the model, the messages and the prompt."""

    model: str
    messages: Messages
    prompt: str
    response: dict[str, Any]


class Scripted:
    """Answers text generation from a script (see the module's docstring)."""

    def __init__(self, script: Script) -> None:
        if isinstance(script, str) or not (callable(script) or isinstance(script, Mapping | Sequence)):
            raise TypeError(
                "env.AI.script takes a function (model, prompt) -> answer, a dict of {substring: answer} "
                f"or a list of answers, not {type(script).__name__}"
            )
        self._script = script
        self._next = 0
        self.calls: list[AICall] = []

    def answer(self, model: str, messages: Messages) -> dict[str, Any]:
        prompt = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
        answer = self._pick(model, prompt)
        if isinstance(answer, str):
            response: dict[str, Any] = {"response": answer}
        elif isinstance(answer, dict):
            response = dict(answer)
        else:
            raise AIError(f"env.AI script: an answer is a str or a dict, not {type(answer).__name__} ({answer!r:.60})")
        self.calls.append(AICall(model, messages, prompt, response))
        return response

    def _pick(self, model: str, prompt: str) -> Any:
        script = self._script
        if isinstance(script, Mapping):
            lowered = prompt.lower()
            for needle, answer in script.items():
                if str(needle).lower() in lowered:
                    return answer
            raise AIError(
                f"env.AI script: the prompt {prompt[:80]!r} contains none of {', '.join(map(repr, script))}; "
                "add an entry for it"
            )
        if isinstance(script, Sequence):
            if self._next >= len(script):
                raise AIError(
                    f"env.AI script: call {self._next + 1} to {model!r}, but the script has {len(script)} answer(s)"
                )
            self._next += 1
            return script[self._next - 1]
        return script(model, prompt)
