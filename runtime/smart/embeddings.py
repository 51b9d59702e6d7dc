"""Text embeddings offline, from a model that ships inside a package.

``wordllama`` carries a 256-dimension static embedding model (token embeddings extracted from
a large language model, averaged over a text) in its wheel: a tokenizer file and a
safetensors file. Its own loader looks for the tokenizer under a cache folder and otherwise
downloads it; this module opens both files from the installed package directly, so loading
never touches the network, and hands them to the package's ``WordLlamaInference``.

Vectors are L2-normalized ``float32``: cosine similarity is a dot product.
"""

from __future__ import annotations

import threading
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from runtime.errors import EmbeddingModelError as EmbeddingModelError  # importable from here as before

MODEL = "l2_supercat"
DIMENSIONS = 256
NAME = f"wordllama/{MODEL}-{DIMENSIONS}"

Vectors = npt.NDArray[np.float32]


class Embedder:
    """Embeds texts with the bundled model. Loading takes a few hundred milliseconds, so it
    happens once per process, on first use (call :meth:`load` from a thread to keep it off the
    event loop); embedding is thread-safe."""

    name = NAME
    dimensions = DIMENSIONS

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Open the tokenizer and weights from the installed ``wordllama`` package.

        :raises EmbeddingModelError: when the package or its files are missing.
        """
        with self._lock:
            if self._model is not None:
                return
            try:
                from safetensors import safe_open
                from tokenizers import Tokenizer
                from wordllama.inference import WordLlamaInference
            except ImportError as exc:
                raise EmbeddingModelError(
                    f"the offline embedding model needs the 'wordllama' package ({exc}); "
                    "install the runtime with its dependencies: pip install raindrop-runtime"
                ) from None
            root = resources.files("wordllama")
            tokenizer_file = root / "tokenizers" / f"{MODEL}_tokenizer_config.json"
            weights_file = root / "weights" / f"{MODEL}_{DIMENSIONS}.safetensors"
            try:
                tokenizer = Tokenizer.from_file(str(tokenizer_file))
                with safe_open(str(weights_file), framework="np") as tensors:
                    weights = tensors.get_tensor("embedding.weight")
            except (OSError, Exception) as exc:  # noqa: BLE001 - any failure reading the files
                raise EmbeddingModelError(
                    f"cannot read the embedding model shipped in wordllama ({tokenizer_file}, {weights_file}): {exc}"
                ) from None
            self._model = WordLlamaInference(weights, tokenizer)

    def embed(self, texts: list[str]) -> Vectors:
        """One normalized vector per text, shape ``(len(texts), 256)``. An empty or blank text
        gets the zero vector (it is similar to nothing)."""
        self.load()
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        raw = self._model.embed(texts, norm=False)
        vectors: Vectors = np.asarray(raw, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        np.divide(vectors, norms, out=vectors, where=norms > 0)
        vectors[np.isnan(vectors)] = 0.0
        return vectors


_shared: Embedder | None = None


def shared() -> Embedder:
    """The process's one embedder (the model is loaded once, whatever the number of apps)."""
    global _shared
    if _shared is None:
        _shared = Embedder()
    return _shared
