"""Nearest-neighbour search for ``vector_index`` bindings, behind one small interface.

:class:`ExactSearch` scores every vector with one numpy matrix product: exact, and fast enough
up to tens of thousands of vectors (see :data:`HNSW_FROM`). Beyond that, when the ``usearch``
package is installed, :class:`HnswSearch` answers from an HNSW graph (approximate, as the
platform's own index is) and keeps the exact search for filtered queries whose matches the graph
did not reach. :func:`make_search` picks one; the binding (:mod:`runtime.vector_index`) owns
the semantics (ids, metadata, namespaces, filters) and only asks for candidates here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Metric = Literal["cosine", "euclidean", "dot-product"]
Matrix = npt.NDArray[np.float32]

#: From this many vectors on, an HNSW graph answers unfiltered queries when usearch is installed.
#: Below it an exact query costs a few milliseconds (384 dimensions; see docs/vector-index.md).
HNSW_FROM = 100_000
#: From this many vectors on, searches and index builds run in a worker thread, off the event loop.
THREAD_FROM = 5_000


class VectorSearch(ABC):
    """Rows of vectors by position; ``search`` returns positions with the metric's score.

    Scores: cosine similarity (higher is closer), euclidean distance (lower is closer), or the
    dot product (higher is closer).
    """

    def __init__(self, dimensions: int, metric: Metric) -> None:
        self.dimensions = dimensions
        self.metric = metric

    @abstractmethod
    def set(self, rows: Matrix) -> None:
        """Replace every vector (row ``i`` is position ``i``)."""

    @abstractmethod
    def search(self, query: Matrix, k: int, allowed: Callable[[int], bool] | None) -> list[tuple[int, float]]:
        """Up to ``k`` positions closest to ``query``, closest first, among those ``allowed`` says."""


def scores(rows: Matrix, query: Matrix, metric: Metric) -> Matrix:
    """The metric's score of ``query`` against every row."""
    if metric == "dot-product":
        product: Matrix = np.asarray(rows @ query, dtype=np.float32)
        return product
    if metric == "euclidean":
        distance: Matrix = np.sqrt(np.maximum(((rows - query) ** 2).sum(axis=1), 0.0)).astype(np.float32)
        return distance
    norms = np.linalg.norm(rows, axis=1) * float(np.linalg.norm(query))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(norms > 0, (rows @ query) / norms, 0.0).astype(np.float32)


def closest_first(metric: Metric, values: Matrix) -> npt.NDArray[np.intp]:
    """Positions of ``values`` ordered closest first (a stable order: ties keep insertion order)."""
    return np.argsort(values if metric == "euclidean" else -values, kind="stable")


class ExactSearch(VectorSearch):
    def __init__(self, dimensions: int, metric: Metric) -> None:
        super().__init__(dimensions, metric)
        self.rows: Matrix = np.zeros((0, dimensions), dtype=np.float32)
        self._unit: Matrix = self.rows  # cosine: the rows scaled to length 1, once, not per query
        self._squares: Matrix = np.zeros(0, dtype=np.float32)  # euclidean: each row's squared length

    def set(self, rows: Matrix) -> None:
        self.rows = rows
        if self.metric == "cosine":
            norms = np.linalg.norm(rows, axis=1, keepdims=True)
            self._unit = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)
        if self.metric == "euclidean":
            self._squares = np.einsum("ij,ij->i", rows, rows)

    def search(self, query: Matrix, k: int, allowed: Callable[[int], bool] | None) -> list[tuple[int, float]]:
        if not len(self.rows):
            return []
        if allowed is None:
            if self.metric == "euclidean":  # |r - q|² = |r|² - 2 r·q + |q|², with |r|² kept from set()
                squared = self._squares - 2 * (self.rows @ query) + float(query @ query)
                found = np.sqrt(np.maximum(squared, 0.0)).astype(np.float32)
            else:
                found = self._scores(self.rows if self.metric != "cosine" else self._unit, query)
            best = _top(self.metric, found, k)
            return [(int(i), float(found[i])) for i in best]
        positions = np.fromiter((i for i in range(len(self.rows)) if allowed(i)), dtype=np.intp)
        if not len(positions):
            return []
        found = self._scores((self.rows if self.metric != "cosine" else self._unit)[positions], query)
        best = _top(self.metric, found, k)
        return [(int(positions[i]), float(found[i])) for i in best]

    def _scores(self, rows: Matrix, query: Matrix) -> Matrix:
        if self.metric != "cosine":
            return scores(rows, query, self.metric)
        length = float(np.linalg.norm(query))
        unit: Matrix = np.asarray(rows @ (query / length if length > 0 else query), dtype=np.float32)
        return unit


def _top(metric: Metric, values: Matrix, k: int) -> npt.NDArray[np.intp]:
    """The ``k`` closest positions, closest first, without sorting every score."""
    if k < len(values):
        keyed = values if metric == "euclidean" else -values
        part = np.argpartition(keyed, k - 1)[:k]
        return part[np.argsort(keyed[part], kind="stable")]
    return closest_first(metric, values)


class HnswSearch(ExactSearch):
    """An HNSW graph (usearch) for unfiltered queries; exact search for the rest."""

    def __init__(self, dimensions: int, metric: Metric) -> None:
        super().__init__(dimensions, metric)
        self._graph: Any = None

    def set(self, rows: Matrix) -> None:
        from usearch.index import Index

        super().set(rows)
        kind = {"cosine": "cos", "euclidean": "l2sq", "dot-product": "ip"}[self.metric]
        graph = Index(ndim=self.dimensions, metric=kind, dtype="f32")
        if len(rows):
            graph.add(np.arange(len(rows), dtype=np.uint64), rows)
        self._graph = graph

    def search(self, query: Matrix, k: int, allowed: Callable[[int], bool] | None) -> list[tuple[int, float]]:
        if allowed is not None or self._graph is None or not len(self.rows):
            return super().search(query, k, allowed)
        found = self._graph.search(query, k)
        positions = [int(p) for p in found.keys]
        # Re-score the candidates exactly: the graph's distances are its own (1 - cos, squared l2).
        exact = scores(self.rows[positions], query, self.metric)
        order = closest_first(self.metric, exact)
        return [(positions[i], float(exact[i])) for i in order]


def hnsw_available() -> bool:
    try:
        import usearch.index  # noqa: F401
    except ImportError:
        return False
    return True


def make_search(dimensions: int, metric: Metric, count: int, *, hnsw_from: int = HNSW_FROM) -> VectorSearch:
    """Exact search below ``hnsw_from`` vectors (or without usearch), an HNSW graph beyond."""
    if count >= hnsw_from and hnsw_available():
        return HnswSearch(dimensions, metric)
    return ExactSearch(dimensions, metric)


def as_matrix(vectors: Sequence[Sequence[float]], dimensions: int) -> Matrix:
    return np.asarray(vectors, dtype=np.float32).reshape(len(vectors), dimensions)
