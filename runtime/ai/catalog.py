"""The platform's AI model names and the family each belongs to.

Names as ``env.AI.run`` takes them on the platform (its docs list the catalog). The family
decides the input and output shapes: text generation takes ``{"messages": [...]}`` or
``{"prompt": str}`` and answers ``{"response": str}``; embeddings take ``{"text": str | [str]}``
and answer ``{"shape": [n, d], "data": [[float] * d] * n}``. Other families are known by name
so that a call gets a clear "not available locally" rather than "unknown model".
"""

from __future__ import annotations

from typing import Literal

Family = Literal[
    "text-generation",
    "embeddings",
    "speech-recognition",
    "image-to-text",
    "text-to-image",
    "translation",
    "summarization",
    "text-classification",
    "reranking",
]

#: Families a local provider can answer.
LOCAL_FAMILIES: tuple[Family, ...] = ("text-generation", "embeddings")

_TEXT = [
    "llama-3.3-70b",
    "llama-3.1-70b-instruct",
    "llama-3.1-8b-instruct",
    "llama-3.1-8b-instruct-fast",
    "llama-3-8b-instruct",
    "llama-3.2-1b-instruct",
    "llama-3.2-3b-instruct",
    "llama-3.2-11b-vision-instruct",
    "llama-4-scout-17b",
    "llama-4-maverick-17b",
    "llama-2-7b-chat",
    "deepseek-r1",
    "deepseek-r1-distill-qwen-32b",
    "deepseek-v3",
    "deepseek-v3-low-latency",
    "qwen-3-32b",
    "qwq-32b",
    "qwen-coder-32b",
    "qwen1.5-14b-chat",
    "mistral-7b-instruct",
    "mistral-small-3.1",
    "mistral-nemo",
    "gemma-2b",
    "gemma-7b",
    "gemma-3-12b",
    "gemma-3-27b",
    "gpt-oss-120b",
    "gpt-oss-20b",
    "kimi-k2",
    "hermes-2-pro-mistral-7b",
    "phi-2",
    "sqlcoder-7b-2",
]
_EMBEDDINGS = ["bge-large-en", "bge-base-en", "bge-small-en", "bge-m3", "embeddinggemma-300m", "plamo-embedding-1b"]

CATALOG: dict[str, Family] = {
    **{name: "text-generation" for name in _TEXT},
    **{name: "embeddings" for name in _EMBEDDINGS},
    "whisper": "speech-recognition",
    "whisper-large-v3-turbo": "speech-recognition",
    "whisper-tiny-en": "speech-recognition",
    "llava-1.5-7b": "image-to-text",
    "uform-gen2-qwen-500m": "image-to-text",
    "flux-1-schnell": "text-to-image",
    "stable-diffusion-xl": "text-to-image",
    "m2m100-1.2b": "translation",
    "bart-large-cnn": "summarization",
    "distilbert-sst-2-int8": "text-classification",
    "bge-reranker-base": "reranking",
}


def family_of(model: str) -> Family | None:
    """The family of a catalog model, or None for a name the catalog does not hold."""
    return CATALOG.get(model)
