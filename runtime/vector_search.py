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
    def add(self, rows: Matrix) -> None:
        """Append ``rows`` at the next positions, without rebuilding what is there."""

    @abstractmethod
    def remove(self, positions: Sequence[int]) -> None:
        """Leave ``positions`` out of every later search (their positions are not reused)."""

    @property
    @abstractmethod
    def removed(self) -> int:
        """How many positions :meth:`remove` left out: the owner rebuilds when they pile up."""

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
    """Every vector in one growing matrix (capacity doubled as it fills, so appends cost
    amortised constant time); removed positions are masked, not compacted."""

    def __init__(self, dimensions: int, metric: Metric) -> None:
        super().__init__(dimensions, metric)
        self._count = 0
        self._buffer: Matrix = np.zeros((0, dimensions), dtype=np.float32)
        self._units: Matrix = self._buffer  # cosine: the rows scaled to length 1, once, not per query
        self._squares: Matrix = np.zeros(0, dtype=np.float32)  # euclidean: each row's squared length
        self._alive: npt.NDArray[np.bool_] = np.zeros(0, dtype=bool)
        self._removed = 0

    @property
    def rows(self) -> Matrix:
        return self._buffer[: self._count]

    @property
    def removed(self) -> int:
        return self._removed

    def set(self, rows: Matrix) -> None:
        self._count = 0
        self._removed = 0
        self._buffer = np.zeros((0, self.dimensions), dtype=np.float32)
        self._units = self._buffer
        self._squares = np.zeros(0, dtype=np.float32)
        self._alive = np.zeros(0, dtype=bool)
        self.add(rows)

    def add(self, rows: Matrix) -> None:
        start, end = self._count, self._count + len(rows)
        if end > len(self._buffer):
            capacity = max(end, 2 * len(self._buffer), 64)
            self._buffer = _grown(self._buffer, capacity)
            self._alive = _grown(self._alive, capacity)
            if self.metric == "cosine":
                self._units = _grown(self._units, capacity)
            if self.metric == "euclidean":
                self._squares = _grown(self._squares, capacity)
        self._buffer[start:end] = rows
        self._alive[start:end] = True
        if self.metric == "cosine":
            norms = np.linalg.norm(rows, axis=1, keepdims=True)
            self._units[start:end] = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)
        if self.metric == "euclidean":
            self._squares[start:end] = np.einsum("ij,ij->i", rows, rows)
        self._count = end

    def remove(self, positions: Sequence[int]) -> None:
        for position in positions:
            if self._alive[position]:
                self._alive[position] = False
                self._removed += 1

    def search(self, query: Matrix, k: int, allowed: Callable[[int], bool] | None) -> list[tuple[int, float]]:
        if self._count == self._removed:
            return []
        rows = self.rows if self.metric != "cosine" else self._units[: self._count]
        if allowed is None and not self._removed:
            if self.metric == "euclidean":  # |r - q|² = |r|² - 2 r·q + |q|², with |r|² kept from add()
                squared = self._squares[: self._count] - 2 * (rows @ query) + float(query @ query)
                found = np.sqrt(np.maximum(squared, 0.0)).astype(np.float32)
            else:
                found = self._scores(rows, query)
            best = _top(self.metric, found, k)
            return [(int(i), float(found[i])) for i in best]
        positions = np.flatnonzero(self._alive[: self._count])
        if allowed is not None:
            positions = np.fromiter((i for i in positions.tolist() if allowed(i)), dtype=np.intp)
        if not len(positions):
            return []
        found = self._scores(rows[positions], query)
        best = _top(self.metric, found, k)
        return [(int(positions[i]), float(found[i])) for i in best]

    def _scores(self, rows: Matrix, query: Matrix) -> Matrix:
        if self.metric != "cosine":
            return scores(rows, query, self.metric)
        length = float(np.linalg.norm(query))
        unit: Matrix = np.asarray(rows @ (query / length if length > 0 else query), dtype=np.float32)
        return unit


def _grown(array: npt.NDArray[Any], capacity: int) -> npt.NDArray[Any]:
    grown = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
    grown[: len(array)] = array
    return grown


def _top(metric: Metric, values: Matrix, k: int) -> npt.NDArray[np.intp]:
    """The ``k`` closest positions, closest first, without sorting every score."""
    if k < len(values):
        keyed = values if metric == "euclidean" else -values
        part = np.argpartition(keyed, k - 1)[:k]
        return part[np.argsort(keyed[part], kind="stable")]
    return closest_first(metric, values)


class HnswSearch(ExactSearch):
    """An HNSW graph (usearch) for unfiltered queries; exact search for the rest. Appends are
    inserted into the graph and removals marked in it, so a write never rebuilds the graph."""

    def __init__(self, dimensions: int, metric: Metric) -> None:
        super().__init__(dimensions, metric)
        self._graph: Any = None

    def set(self, rows: Matrix) -> None:
        from usearch.index import Index

        kind = {"cosine": "cos", "euclidean": "l2sq", "dot-product": "ip"}[self.metric]
        self._graph = Index(ndim=self.dimensions, metric=kind, dtype="f32")
        super().set(rows)

    def add(self, rows: Matrix) -> None:
        start = self._count
        super().add(rows)
        if len(rows):
            self._graph.add(np.arange(start, start + len(rows), dtype=np.uint64), rows)

    def remove(self, positions: Sequence[int]) -> None:
        live = [p for p in positions if self._alive[p]]
        super().remove(live)
        if live:
            self._graph.remove(np.asarray(live, dtype=np.uint64))

    def search(self, query: Matrix, k: int, allowed: Callable[[int], bool] | None) -> list[tuple[int, float]]:
        if allowed is not None or self._graph is None or self._count == self._removed:
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
