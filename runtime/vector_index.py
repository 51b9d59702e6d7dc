"""The ``vector_index`` binding: the platform's vector index API in Python spelling.

``vector_index "embeddings" { dimensions = 384  metric = "cosine" }`` binds ``env.EMBEDDINGS``::

    await env.EMBEDDINGS.upsert([{"id": "doc-1", "values": [...], "metadata": {"lang": "en"}}])
    found = await env.EMBEDDINGS.query(vector, top_k=3, filter={"lang": "en"}, return_metadata="all")
    found["matches"]  # [{"id": "doc-1", "score": 0.93, "metadata": {...}}, ...]

Vectors are kept in the app's state store (durable when the call returns, shared by every
process on the backend); each process searches an in-memory copy, reloaded when another
process changed the index. Search is exact (numpy) up to :data:`runtime.vector_search.HNSW_FROM`
vectors, an HNSW graph beyond when ``usearch`` is installed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import anyio
import numpy as np

from runtime.arguments import utf8
from runtime.backends.base import StateStore
from runtime.errors import BindingError, LimitError
from runtime.naming import platform_names
from runtime.output_gate import before_effect
from runtime.vector_search import THREAD_FROM, Matrix, Metric, VectorSearch, make_search

METRICS: tuple[Metric, ...] = ("cosine", "euclidean", "dot-product")
MAX_DIMENSIONS = 1536
MAX_ID_BYTES = 64
MAX_METADATA_BYTES = 10 * 1024
MAX_BATCH = 5000
MAX_TOP_K = 100
MAX_TOP_K_WITH_DATA = 50  # with return_values or return_metadata="all", as the platform
MAX_IDS = 1000
_VERSION = "\x00version"  # a token every write changes, so other processes know to reload
_OPERATORS = ("$eq", "$ne", "$in", "$nin", "$lt", "$lte", "$gt", "$gte")

ReturnMetadata = Literal["none", "indexed", "all"] | bool


def vectors_namespace(index: str) -> str:
    """Where an index's vectors live in the state store (no manifest name contains ``~``)."""
    return f"~vectors:{index}"


class _Entry:
    __slots__ = ("metadata", "namespace", "values")

    def __init__(self, values: np.ndarray[Any, Any], metadata: dict[str, Any] | None, namespace: str | None) -> None:
        self.values = values
        self.metadata = metadata
        self.namespace = namespace

    def encode(self) -> str:
        data = base64.b64encode(self.values.astype("<f4").tobytes()).decode()
        return json.dumps({"v": data, "m": self.metadata, "n": self.namespace}, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> _Entry:
        raw = json.loads(text)
        values = np.frombuffer(base64.b64decode(raw["v"]), dtype="<f4").astype(np.float32)
        return cls(values, raw.get("m"), raw.get("n"))


@platform_names
class VectorIndex:
    """``env.<NAME>`` of a ``vector_index`` block: upsert, insert, query, query_by_id,
    get_by_ids, delete_by_ids and describe."""

    def __init__(self, name: str, store: StateStore, dimensions: int | None, metric: str | None) -> None:
        self.name = name
        self._store = store
        self._ns = vectors_namespace(name)
        self.dimensions = dimensions
        chosen = metric or "cosine"
        self.metric: Metric = "dot-product" if chosen in ("dot-product", "dotproduct") else chosen  # type: ignore[assignment]
        self._entries: dict[str, _Entry] = {}
        self._version: str | None = None
        self._loaded = False
        self._search: VectorSearch | None = None
        self._order: list[str | None] = []  # the id at each search position; None once replaced or deleted
        self._position: dict[str, int] = {}
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"<VectorIndex {self.name!r}>"

    # -- writes -----------------------------------------------------------------------------

    async def upsert(self, vectors: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Insert ``vectors`` (``{"id", "values", "metadata"?, "namespace"?}``), replacing any
        with the same id. Returns ``{"mutation_id", "count", "ids"}``.

        :raises BindingError: for a vector of the wrong shape or dimension (its index named).
        :raises LimitError: for more than 5,000 vectors, an id over 64 bytes or metadata over 10 KiB.
        """
        return await self._write(vectors, replace=True)

    async def insert(self, vectors: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """As :meth:`upsert`, but a vector whose id is already in the index is left as it was."""
        return await self._write(vectors, replace=False)

    async def delete_by_ids(self, ids: Sequence[str]) -> dict[str, Any]:
        """Delete the vectors of ``ids``; returns ``{"mutation_id", "count", "ids"}`` of those deleted."""
        wanted = self._ids(ids, "delete_by_ids")
        effect = before_effect()  # during an actor call: its puts are stored first (the output gate)
        if effect is not None:
            await effect
        async with self._lock:
            await self._refresh()
            present = [i for i in dict.fromkeys(wanted) if i in self._entries]
            version = uuid.uuid4().hex
            if present:
                await self._store.delete(self._ns, "", present)
            await self._store.put(self._ns, "", {_VERSION: version})
            for i in present:
                del self._entries[i]
            self._version = version
            await self._apply([], present)
        return {"mutation_id": version, "count": len(present), "ids": present}

    # -- reads ------------------------------------------------------------------------------

    async def get_by_ids(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """``[{"id", "values", "metadata", "namespace"}]`` for the ids present, in the order asked."""
        wanted = self._ids(ids, "get_by_ids")
        async with self._lock:
            await self._refresh()
            return [self._record(i, self._entries[i], True, True) for i in dict.fromkeys(wanted) if i in self._entries]

    async def describe(self) -> dict[str, Any]:
        """``{"dimensions", "metric", "vector_count", "config": {"dimensions", "metric"}}``."""
        async with self._lock:
            await self._refresh()
            return {
                "dimensions": self.dimensions,
                "metric": self.metric,
                "vector_count": len(self._entries),
                "config": {"dimensions": self.dimensions, "metric": self.metric},
            }

    async def query(
        self,
        vector: Sequence[float],
        *,
        top_k: int = 5,
        return_values: bool = False,
        return_metadata: ReturnMetadata = "none",
        filter: Mapping[str, Any] | None = None,
        namespace: str | None = None,
    ) -> dict[str, Any]:
        """The ``top_k`` vectors closest to ``vector``: ``{"count", "matches": [{"id", "score",
        "values"?, "metadata"?, "namespace"?}]}``, closest first. ``score`` is the cosine
        similarity, the euclidean distance (lower is closer) or the dot product, by the metric.

        :param filter: metadata conditions all matches meet: ``{"field": value}`` (equals) or
            ``{"field": {"$eq"|"$ne"|"$in"|"$nin"|"$lt"|"$lte"|"$gt"|"$gte": value}}``; a
            dotted field reaches into nested metadata.
        :param namespace: only vectors upserted with this namespace.
        :param return_metadata: ``"all"`` (or True), ``"indexed"`` (the same here: every field
            is indexed locally) or ``"none"`` (or False).
        :raises BindingError: for a vector of the wrong dimension, a bad filter or option.
        :raises LimitError: for ``top_k`` over 100 (50 with values or all metadata).
        """
        with_metadata = self._return_metadata(return_metadata)
        limit = MAX_TOP_K_WITH_DATA if (return_values or with_metadata) else MAX_TOP_K
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise BindingError(f"vector_index {self.name!r}: top_k is a whole number from 1, not {top_k!r}")
        if top_k > limit:
            raise LimitError(
                f"vector_index {self.name!r}: top_k is at most {limit}"
                + (" when values or all metadata are returned" if limit == MAX_TOP_K_WITH_DATA else "")
                + f", not {top_k}"
            )
        conditions = _conditions(self.name, filter)
        async with self._lock:
            await self._refresh()
            if self.dimensions is None or not self._entries:
                return {"count": 0, "matches": []}
            query = self._vector(vector, "the query vector")
            if self._search is None and len(self._entries) >= THREAD_FROM:
                search = await anyio.to_thread.run_sync(self._searcher)  # an HNSW build takes seconds
            else:
                search = self._searcher()
            order = self._order

            def allowed(position: int) -> bool:
                entry = self._entries[order[position] or ""]
                if namespace is not None and entry.namespace != namespace:
                    return False
                return all(_meets(entry.metadata or {}, field, ops) for field, ops in conditions)

            needs_filter = namespace is not None or bool(conditions)
            if len(order) >= THREAD_FROM:  # a large index: score it off the event loop
                found = await anyio.to_thread.run_sync(search.search, query, top_k, allowed if needs_filter else None)
            else:
                found = search.search(query, top_k, allowed if needs_filter else None)
            matches = []
            for position, score in found:
                key = order[position] or ""
                record = self._record(key, self._entries[key], return_values, with_metadata)
                matches.append({"id": key, "score": score, **{k: v for k, v in record.items() if k != "id"}})
        return {"count": len(matches), "matches": matches}

    async def query_by_id(self, vector_id: str, **options: Any) -> dict[str, Any]:
        """:meth:`query` with the stored vector of ``vector_id`` (no matches when it is absent)."""
        found = await self.get_by_ids([vector_id])
        if not found:
            return {"count": 0, "matches": []}
        return await self.query(found[0]["values"], **options)

    # -- internals --------------------------------------------------------------------------

    async def _write(self, vectors: Sequence[Mapping[str, Any]], *, replace: bool) -> dict[str, Any]:
        verb = "upsert" if replace else "insert"
        if isinstance(vectors, Mapping) or not isinstance(vectors, Sequence):
            raise BindingError(
                f"vector_index {self.name!r}: {verb} takes a list of {{'id', 'values', 'metadata'?, 'namespace'?}}, "
                f"not {type(vectors).__name__}"
            )
        if len(vectors) > MAX_BATCH:
            raise LimitError(
                f"vector_index {self.name!r}: {verb} takes at most {MAX_BATCH} vectors, not {len(vectors)}"
            )
        effect = before_effect()  # during an actor call: its puts are stored first (the output gate)
        if effect is not None:
            await effect
        async with self._lock:
            await self._refresh()
            prepared: dict[str, _Entry] = {}
            for index, item in enumerate(vectors):
                key, entry = self._prepare(item, f"{verb} item {index}")
                if replace or (key not in self._entries and key not in prepared):
                    prepared[key] = entry
            version = uuid.uuid4().hex
            encoded = {key: entry.encode() for key, entry in prepared.items()}
            encoded[_VERSION] = version
            await self._store.put(self._ns, "", encoded)  # one write: all the vectors or none
            self._entries.update(prepared)
            self._version = version
            await self._apply(list(prepared), [])
        return {"mutation_id": version, "count": len(prepared), "ids": list(prepared)}

    def _prepare(self, item: Any, where: str) -> tuple[str, _Entry]:
        if not isinstance(item, Mapping):
            raise BindingError(f"vector_index {self.name!r}: {where} is a {type(item).__name__}, not a dict")
        unknown = set(item) - {"id", "values", "metadata", "namespace"}
        if unknown:
            raise BindingError(
                f"vector_index {self.name!r}: {where} has {', '.join(map(repr, sorted(unknown)))}; "
                "a vector has 'id', 'values', 'metadata' and 'namespace'"
            )
        key = item.get("id")
        if not isinstance(key, str) or not key:
            raise BindingError(f"vector_index {self.name!r}: {where} needs an 'id' (a non-empty str), not {key!r}")
        if len(utf8(key, f"vector_index {self.name!r}: {where} id")) > MAX_ID_BYTES:
            raise LimitError(f"vector_index {self.name!r}: {where} id {key[:40]!r} is over {MAX_ID_BYTES} bytes")
        if self.dimensions is None:
            values = item.get("values")
            if isinstance(values, Sequence) and not isinstance(values, str) and 1 <= len(values) <= MAX_DIMENSIONS:
                self.dimensions = len(values)  # learned from the first vector when the manifest says none
        vector = self._vector(item.get("values"), f"{where} ({key!r})")
        metadata = item.get("metadata")
        if metadata is not None:
            if not isinstance(metadata, Mapping):
                raise BindingError(f"vector_index {self.name!r}: {where} metadata is a dict, not {metadata!r:.60}")
            try:
                size = len(json.dumps(metadata).encode())
            except (TypeError, ValueError) as exc:
                raise BindingError(f"vector_index {self.name!r}: {where} metadata is not JSON ({exc})") from None
            if size > MAX_METADATA_BYTES:
                raise LimitError(f"vector_index {self.name!r}: {where} metadata is {size} bytes; the limit is 10 KiB")
            metadata = json.loads(json.dumps(metadata))
        namespace = item.get("namespace")
        if namespace is not None and not isinstance(namespace, str):
            raise BindingError(f"vector_index {self.name!r}: {where} namespace is a str, not {namespace!r}")
        return key, _Entry(vector, metadata, namespace)

    def _vector(self, values: Any, where: str) -> Matrix:
        expected = self.dimensions
        if isinstance(values, np.ndarray):
            values = values.tolist()
        if (
            not isinstance(values, Sequence)
            or isinstance(values, str)
            or any(isinstance(v, bool) or not isinstance(v, int | float) for v in values)
        ):
            raise BindingError(f"vector_index {self.name!r}: {where} must be a list of numbers, not {values!r:.60}")
        if len(values) != expected:
            raise BindingError(
                f"vector_index {self.name!r}: {where} has {len(values)} dimensions; the index has {expected}"
            )
        if not all(math.isfinite(v) for v in values):
            raise BindingError(f"vector_index {self.name!r}: {where} holds a value that is not a finite number")
        return np.asarray(values, dtype=np.float32)

    def _ids(self, ids: Any, verb: str) -> list[str]:
        if isinstance(ids, str) or not isinstance(ids, Sequence) or not all(isinstance(i, str) for i in ids):
            raise BindingError(f"vector_index {self.name!r}: {verb} takes a list of ids (str), not {ids!r:.60}")
        if len(ids) > MAX_IDS:
            raise LimitError(f"vector_index {self.name!r}: {verb} takes at most {MAX_IDS} ids, not {len(ids)}")
        return list(ids)

    def _return_metadata(self, value: Any) -> bool:
        if value is True or value in ("all", "indexed"):
            return True
        if value is False or value == "none":
            return False
        raise BindingError(
            f"vector_index {self.name!r}: return_metadata is 'all', 'indexed', 'none' or a bool, not {value!r}"
        )

    def _record(self, key: str, entry: _Entry, values: bool, metadata: bool) -> dict[str, Any]:
        record: dict[str, Any] = {"id": key}
        if values:
            record["values"] = [float(x) for x in entry.values]
        if metadata:
            record["metadata"] = json.loads(json.dumps(entry.metadata)) if entry.metadata is not None else None
        if entry.namespace is not None:
            record["namespace"] = entry.namespace
        return record

    def _changed(self, version: str) -> None:
        self._version = version
        self._search = None  # rebuilt at the next query

    async def _apply(self, written: list[str], deleted: list[str]) -> None:
        """Bring the search up to date with this process's own write: replaced and deleted
        vectors leave it, written ones join it, and nothing already there is rebuilt."""
        search = self._search
        if search is None:
            return  # built whole at the next query
        stale = [self._position.pop(key) for key in (*written, *deleted) if key in self._position]
        for position in stale:
            self._order[position] = None
        rows = np.stack([self._entries[key].values for key in written]).astype(np.float32) if written else None

        def update() -> None:
            search.remove(stale)
            if rows is not None:
                search.add(rows)

        if len(self._order) >= THREAD_FROM:  # inserting into a large HNSW graph takes a while
            await anyio.to_thread.run_sync(update)
        else:
            update()
        for key in written:
            self._position[key] = len(self._order)
            self._order.append(key)
        live = len(self._order) - search.removed
        outgrown = type(make_search(search.dimensions, self.metric, live)) is not type(search)
        if outgrown or search.removed > max(1024, live):  # mostly holes, or past the HNSW threshold
            self._search = None

    def _searcher(self) -> VectorSearch:
        if self._search is None:
            assert self.dimensions is not None
            keys = list(self._entries)
            self._order = list(keys)
            self._position = {key: position for position, key in enumerate(keys)}
            rows = np.stack([self._entries[k].values for k in keys]).astype(np.float32)
            search = make_search(self.dimensions, self.metric, len(rows))
            search.set(rows)
            self._search = search
        return self._search

    async def _refresh(self) -> None:
        """Load the index at first use, and again when another process changed it."""
        stored = (await self._store.get(self._ns, "", [_VERSION])).get(_VERSION)
        if self._loaded and stored == self._version:
            return
        rows = await self._store.list(self._ns, "")

        def decode() -> dict[str, _Entry]:
            return {key: _Entry.decode(text) for key, text in rows if key != _VERSION}

        self._entries = await anyio.to_thread.run_sync(decode) if len(rows) >= THREAD_FROM else decode()
        if self._entries and self.dimensions is None:
            self.dimensions = len(next(iter(self._entries.values())).values)
        self._loaded = True
        self._changed(stored or "")


def _conditions(index: str, filter: Mapping[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    if filter is None:
        return []
    if not isinstance(filter, Mapping):
        raise BindingError(f"vector_index {index!r}: filter is a dict of metadata fields, not {filter!r:.60}")
    found = []
    for field, condition in filter.items():
        ops = dict(condition) if isinstance(condition, Mapping) else {"$eq": condition}
        for op, value in ops.items():
            if op not in _OPERATORS:
                raise BindingError(
                    f"vector_index {index!r}: filter on {field!r} uses {op!r}; the operators are {', '.join(_OPERATORS)}"
                )
            if op in ("$in", "$nin") and (isinstance(value, str) or not isinstance(value, Sequence)):
                raise BindingError(f"vector_index {index!r}: filter {op} on {field!r} takes a list, not {value!r:.40}")
        found.append((str(field), ops))
    return found


_MISSING = object()


def _meets(metadata: Mapping[str, Any], field: str, ops: dict[str, Any]) -> bool:
    value: Any = metadata
    for part in field.split("."):
        value = value.get(part, _MISSING) if isinstance(value, Mapping) else _MISSING
    for op, wanted in ops.items():
        if op == "$eq" and not (value is not _MISSING and value == wanted):
            return False
        if op == "$ne" and value is not _MISSING and value == wanted:
            return False
        if op == "$in" and not (value is not _MISSING and value in wanted):
            return False
        if op == "$nin" and value is not _MISSING and value in wanted:
            return False
        if op in ("$lt", "$lte", "$gt", "$gte"):
            if value is _MISSING or isinstance(value, bool) != isinstance(wanted, bool):
                return False
            try:
                ok = {"$lt": value < wanted, "$lte": value <= wanted, "$gt": value > wanted, "$gte": value >= wanted}[
                    op
                ]
            except TypeError:
                return False
            if not ok:
                return False
    return True
