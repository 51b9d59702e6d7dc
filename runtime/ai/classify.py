"""The offline writer's answer to a classification-shaped prompt: one of the labels the prompt
lists, the one whose embedding is closest to the text being classified.

A prompt is classification-shaped when it lists its labels after "one of", "categories",
"labels", "classes" or "choose from" (``Classify this ticket as one of: billing, account,
bug.``; ``Answer with one of [billing, account]``). The answer is the label alone, so code
that compares it keeps working; the result's ``offline_note`` says it was picked by embedding
similarity, not by a language model. Script ``env.AI`` (``env.AI.script(...)``) for answers a
test depends on.
"""

from __future__ import annotations

import re

import anyio
import numpy as np

from runtime.smart.embeddings import shared as shared_embedder

_LISTED = re.compile(
    r"\b(?:one of|categories|category|labels|label|classes|choose from|options)\b\s*(?:\([^)]*\))?\s*[:\-]?\s*"
    r"\[?(?P<labels>[\"'`]?[\w\- ]{1,40}[\"'`]?(?:\s*(?:,|\||/|\bor\b)\s*(?:or\s+)?[\"'`]?[\w\- ]{1,40}[\"'`]?)+)",
    re.IGNORECASE,
)
NOTE = (
    "[offline model: no language model is configured for {model}; this label was picked by embedding "
    "similarity among the labels the prompt lists, not generated]"
)


def labels_of(prompt: str) -> list[str]:
    """The labels a classification-shaped prompt lists, or ``[]`` for any other prompt."""
    match = _LISTED.search(prompt)
    if match is None:
        return []
    parts = re.split(r"\s*(?:,|\||/|\bor\b)\s*", match.group("labels"))
    labels = [part.strip().strip("\"'`").strip() for part in parts]
    labels = [label.removeprefix("or ").strip() for label in labels if label]
    unique = list(dict.fromkeys(label for label in labels if label and len(label.split()) <= 3))
    return unique if len(unique) >= 2 else []


async def classify(model: str, text: str, labels: list[str]) -> dict[str, str]:
    """``{"response": label, "offline_note": ...}``: the label closest to ``text`` (the list of
    labels left out of it)."""
    subject = _LISTED.sub(" ", text).strip()
    embedder = shared_embedder()
    vectors = await anyio.to_thread.run_sync(embedder.embed, [subject or text, *labels])
    scores = vectors[1:] @ vectors[0]
    best = int(np.argmax(scores))
    return {"response": labels[best], "offline_note": NOTE.format(model=model)}
