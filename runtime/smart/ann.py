"""Vector search for the retrieval index: exact below a size, an HNSW graph above it.

A collection's vectors are searched in two parts:

- a *graph*: a usearch HNSW index with ``int8`` vectors, written to a file beside the SQLite
  index and opened memory-mapped (``view``), so a restart reads no vectors and the process
  holds only the pages a search touches (a quarter of the ``float32`` corpus, plus links);
- a *delta*: the vectors written since the graph was built, searched exactly in numpy, plus
  the graph's chunks deleted since (tombstones, filtered out of its answers).

A collection smaller than :data:`EXACT_LIMIT` lives in the delta alone (brute force beats a
graph there). Once the delta grows past ``max(EXACT_LIMIT, a tenth of the graph)`` it is merged
into a new graph by a background thread; searches go on against the old graph meanwhile.

The SQLite index stays the source of truth: the graph file is a cache. Its metadata records the
database's identity and the collection's *generation* (bumped in the same transaction as every
write). At start a matching file is used as it is; a stale one is caught up by comparing chunk
ids (ids are never reused, see :func:`next_ids`); a missing, unreadable or foreign one is
rebuilt from the stored vectors. The graph's candidates are re-ranked by their exact
``float32`` vectors from SQLite, so the order matches brute force.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

import numpy as np

from runtime.smart.ann_parts import (
    SCHEMA,
    Codes,
    Delta,
    Ids,
    blobs,
    bump,
    exact_vectors,
    next_ids,
    prepare,
    snapshot,
    state,
)
from runtime.smart.embeddings import DIMENSIONS, Vectors

__all__ = ["SCHEMA", "VectorIndex", "bump", "exact_vectors", "next_ids", "prepare"]

log = logging.getLogger("raindrop.smart.ann")

EXACT_LIMIT = 10_000  # below this many vectors a collection is searched by brute force
CONNECTIVITY = 16  # HNSW links per node
EXPANSION_ADD = 64  # candidates kept while inserting
EXPANSION_SEARCH = 2048  # candidates kept while searching; recall@10 at 100k: 0.94-0.95 at 1024, 0.97 at 2048
EXPANSION_SEARCH_LARGE = 3072  # from LARGE_GRAPH on; at 1M: 0.94 at 2048, 0.956 at 3072, 0.963 at 4096
LARGE_GRAPH = 300_000
OVERSAMPLE = 2  # the graph is asked for this many times the wanted count, then re-ranked exactly
BUILD_BATCH = 20_000  # vectors read from SQLite and added to a graph at a time
MERGE_BATCH = 2_000  # vectors added by a background merge between looks at close()
FORMAT = 1


def new_graph() -> Any:
    from usearch.index import Index

    return Index(
        ndim=DIMENSIONS,
        metric="cos",
        dtype="i8",
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
        expansion_search=EXPANSION_SEARCH,
    )


class VectorIndex:
    """One collection's vectors: the graph, the delta and the tombstones (see the module's
    docstring). Searches may run in any thread; writes only queue a note (they never wait for
    a search or a build), applied by the next search."""

    def __init__(self, database: Path, collection: str) -> None:
        self.collection = collection
        stem = hashlib.sha1(collection.encode(), usedforsecurity=False).hexdigest()[:16]
        self.folder = database.parent / f"{database.stem}.vectors"
        self._files = {part: self.folder / f"{stem}.{part}" for part in ("usearch", "ids.npy", "codes.npy", "json")}
        self._lock = threading.Lock()  # the search side's state
        self._notes_lock = threading.Lock()  # the writers' queue, held for microseconds
        self._notes: list[tuple[int, Ids, Ids | None, str, Vectors | None]] = []
        self._noted = 0  # vectors waiting in the notes
        self._reset()
        self._epoch: str | None = None
        self.generation: int | None = None  # the collection's writes this memory reflects
        self._merger: threading.Thread | None = None
        self._closed = False
        self.loads = 0  # graph files opened as they were (tests and the bench read these)
        self.builds = 0  # graphs built or merged from vectors

    def _reset(self) -> None:
        self._graph: Any = None
        self._graph_ids: Ids = np.zeros(0, dtype=np.int64)  # sorted
        self._graph_codes: Codes = np.zeros(0, dtype=np.int32)
        self._dead: set[int] = set()
        self._delta = Delta()
        self._names: list[str] = []
        self._codes: dict[str, int] = {}

    def close(self) -> None:
        """Stop a merge in flight (at its next batch; it writes nothing) and wait for it: a
        native thread still adding when the interpreter exits would abort the process."""
        self._closed = True
        merger = self._merger
        if merger is not None and merger is not threading.current_thread():
            merger.join()

    def _code(self, partition: str) -> int:
        code = self._codes.get(partition)
        if code is None:
            code = self._codes[partition] = len(self._names)
            self._names.append(partition)
        return code

    def _in_graph(self, chunk_id: int) -> bool:
        at = int(np.searchsorted(self._graph_ids, chunk_id))
        return at < len(self._graph_ids) and int(self._graph_ids[at]) == chunk_id and chunk_id not in self._dead

    # -- writes (noted by the retrieval index after each commit) ----------------------------------

    def changed(
        self,
        generation: int,
        removed: Ids,
        added: Ids | None = None,
        partition: str = "",
        vectors: Vectors | None = None,
    ) -> None:
        """One committed write: the chunk ids it removed and those it added (with their vectors)."""
        with self._notes_lock:
            self._noted += len(added) if added is not None else 0
            if self._noted > EXACT_LIMIT:  # nobody searched for a long while: read SQLite instead
                self._notes = []
                return
            self._notes.append((generation, removed, added, partition, vectors))

    def _apply_notes(self) -> None:
        with self._notes_lock:
            notes, self._notes, self._noted = self._notes, [], 0
        for generation, removed, added, partition, vectors in sorted(notes, key=lambda note: note[0]):
            if self.generation is None or generation <= self.generation:
                continue  # already read from SQLite
            if generation != self.generation + 1:
                return  # another process wrote in between: the next check catches up from SQLite
            for chunk_id in removed.tolist():
                if not self._delta.kill(chunk_id) and self._in_graph(chunk_id):
                    self._dead.add(chunk_id)
            if added is not None and vectors is not None and len(added):
                fresh = [i for i, chunk_id in enumerate(added.tolist()) if not self._in_graph(chunk_id)]
                vectors = np.asarray(vectors, dtype=np.float32)
                self._delta.append(added[fresh], np.full(len(fresh), self._code(partition), np.int32), vectors[fresh])
            self.generation = generation

    # -- keeping up with SQLite -------------------------------------------------------------------

    def _ensure(self, reader: sqlite3.Connection) -> None:
        self._apply_notes()
        epoch, generation = state(reader, self.collection)
        if self.generation == generation and self._epoch == epoch:
            return
        if self.generation is None or self._epoch != epoch:
            self._reset()
            self._epoch = epoch
            if self._open_file(epoch) and self.generation == generation:
                self.loads += 1
                return
            if self._graph is None:
                self._load_all(reader)
                return
        self._catch_up(reader)

    def _load_all(self, reader: sqlite3.Connection) -> None:
        """Read the collection from SQLite: into the delta when small, else into a new graph."""
        with snapshot(reader):
            _, self.generation = state(reader, self.collection)
            (count,) = reader.execute("SELECT count(*) FROM chunks WHERE collection = ?", (self.collection,)).fetchone()
            graph = new_graph() if count >= EXACT_LIMIT else None
            last = 0
            ids_seen: list[Ids] = []
            codes_seen: list[Codes] = []
            while True:
                rows = reader.execute(
                    "SELECT id, partition, vector FROM chunks WHERE collection = ? AND id > ? ORDER BY id LIMIT ?",
                    (self.collection, last, BUILD_BATCH),
                ).fetchall()
                if not rows or self._closed:  # closed: the build stops; the next process redoes it
                    break
                last = rows[-1][0]
                ids = np.array([row[0] for row in rows], dtype=np.int64)
                codes = np.array([self._code(row[1]) for row in rows], dtype=np.int32)
                if graph is None:
                    self._delta.append(ids, codes, blobs(rows))
                else:
                    graph.add(ids.astype(np.uint64), blobs(rows), threads=2)
                    ids_seen.append(ids)
                    codes_seen.append(codes)
        if graph is not None and not self._closed:
            self.builds += 1
            ids = np.concatenate(ids_seen)
            codes = np.concatenate(codes_seen)
            self._write(graph, ids, codes, self.generation)
            self._use_file(ids, codes)

    def _catch_up(self, reader: sqlite3.Connection) -> None:
        """Bring a stale graph and delta to SQLite's state by comparing chunk ids."""
        with snapshot(reader):
            _, generation = state(reader, self.collection)
            rows = reader.execute(
                "SELECT id, partition FROM chunks WHERE collection = ? ORDER BY id", (self.collection,)
            ).fetchall()
            current = np.array([row[0] for row in rows], dtype=np.int64)
            graph_live = self._graph_ids[~np.isin(self._graph_ids, np.fromiter(self._dead, np.int64, len(self._dead)))]
            known = np.union1d(graph_live, np.fromiter(self._delta.rows, np.int64, len(self._delta.rows)))
            for chunk_id in np.setdiff1d(known, current).tolist():
                if not self._delta.kill(chunk_id):
                    self._dead.add(chunk_id)
            new = set(np.setdiff1d(current, known).tolist())
            if len(new) > max(EXACT_LIMIT, len(graph_live)):  # mostly new: building afresh is quicker
                rows = []
                new = set()
            partitions = {row[0]: row[1] for row in rows if row[0] in new}
            ordered = sorted(new)
            for start in range(0, len(ordered), BUILD_BATCH):
                ids, vectors = exact_vectors(reader, ordered[start : start + BUILD_BATCH])
                codes = np.array([self._code(partitions[i]) for i in ids.tolist()], dtype=np.int32)
                self._delta.append(ids, codes, vectors)
            self.generation = generation
        if not rows and len(current):
            self._reset()
            self._load_all(reader)

    # -- searching --------------------------------------------------------------------------------

    def search(self, reader: sqlite3.Connection, query: Vectors, count: int, partitions: set[str] | None) -> list[int]:
        """The ids of the ``count`` chunks nearest ``query`` (cosine above 0), best first,
        among ``partitions`` (all when None)."""
        query = np.asarray(query, dtype=np.float32).reshape(DIMENSIONS)
        with self._lock:
            self._ensure(reader)
            codes = None
            if partitions is not None:
                codes = np.array([self._codes[p] for p in partitions if p in self._codes], dtype=np.int32)
                if len(codes) == 0:
                    return []
            found = self._delta.search(query, count, codes)
            graph, graph_ids, graph_codes, dead = self._graph, self._graph_ids, self._graph_codes, set(self._dead)
            self._maybe_merge()
        if graph is not None:
            candidates = self._graph_candidates(graph, graph_ids, graph_codes, dead, query, count, codes, reader)
            ids, vectors = exact_vectors(reader, candidates)  # exact scores; drops chunks deleted since
            found += [(float(score), int(i)) for score, i in zip(vectors @ query, ids.tolist(), strict=True)]
        found.sort(key=lambda pair: (-pair[0], pair[1]))
        return [chunk_id for score, chunk_id in found[:count] if score > 0]

    def _graph_candidates(
        self,
        graph: Any,
        graph_ids: Ids,
        graph_codes: Codes,
        dead: set[int],
        query: Vectors,
        count: int,
        codes: Codes | None,
        reader: sqlite3.Connection,
    ) -> list[int]:
        share = 1.0
        if codes is not None:
            inside = np.isin(graph_codes, codes)
            members = int(inside.sum())
            if members == 0:
                return []
            if members <= EXACT_LIMIT:  # a small partition of a big collection: brute force
                wanted = [i for i in graph_ids[inside].tolist() if i not in dead]
                ids, vectors = exact_vectors(reader, wanted)
                top = np.argsort(-(vectors @ query), kind="stable")[: count * OVERSAMPLE]
                return [int(i) for i in ids[top]]
            share = members / len(graph_ids)
        asked = int(count * OVERSAMPLE / share)
        while True:
            keys = np.asarray(graph.search(query, min(asked, len(graph_ids))).keys, dtype=np.int64)
            if codes is not None:
                at = np.searchsorted(graph_ids, keys).clip(0, len(graph_ids) - 1)
                keys = keys[np.isin(graph_codes[at], codes)]
            kept = [i for i in keys.tolist() if i not in dead][: count * OVERSAMPLE]
            if len(kept) >= count or asked >= len(graph_ids):
                return kept
            asked *= 4

    # -- merging and files ------------------------------------------------------------------------

    def _maybe_merge(self) -> None:
        outside = self._delta.live + len(self._dead)
        if self._closed or (self._merger is not None and self._merger.is_alive()):
            return
        if self._graph is None and self._delta.live < EXACT_LIMIT:
            return
        if outside < max(EXACT_LIMIT, len(self._graph_ids) // 10):
            return
        self._merger = threading.Thread(target=self._merge, name=f"raindrop-ann-{self.collection}", daemon=True)
        self._merger.start()

    def merge_now(self) -> None:
        """Fold the delta and tombstones into the graph file (the bench and tests call it)."""
        with self._lock:
            if self._delta.live + len(self._dead) == 0:
                return
        self._merge()

    def _merge(self) -> None:
        try:
            with self._lock:
                ids, codes, vectors = self._delta.live_rows()
                dead = set(self._dead)
                generation = self.generation
                base_ids, base_codes = self._graph_ids, self._graph_codes
                had_graph = self._graph is not None
            graph = new_graph()
            if had_graph:
                graph.load(str(self._files["usearch"]))
            if dead:
                graph.remove(np.array(sorted(dead), dtype=np.uint64))
            for start in range(0, len(ids), MERGE_BATCH):
                if self._closed:
                    return
                graph.add(
                    ids[start : start + MERGE_BATCH].astype(np.uint64), vectors[start : start + MERGE_BATCH], threads=2
                )
            keep = ~np.isin(base_ids, np.fromiter(dead, np.int64, len(dead)))
            merged_ids = np.concatenate([base_ids[keep], ids])
            merged_codes = np.concatenate([base_codes[keep], codes])
            order = np.argsort(merged_ids, kind="stable")
            merged_ids, merged_codes = merged_ids[order], merged_codes[order]
            if self._closed or generation is None:
                return
            with self._lock:
                self._write(graph, merged_ids, merged_codes, generation)
                self.builds += 1
                self._use_file(merged_ids, merged_codes)
                for chunk_id in ids.tolist():
                    if not self._delta.kill(chunk_id):
                        self._dead.add(chunk_id)  # deleted while the merge ran
                self._dead -= dead
                if self._delta.size > 2 * self._delta.live:
                    rest = Delta()
                    rest.append(*self._delta.live_rows())
                    self._delta = rest
        except Exception:  # a failed merge leaves the delta in place: searches stay exact
            log.exception("vector index of %s: merging into the graph failed", self.collection)

    def _write(self, graph: Any, ids: Ids, codes: Codes, generation: int | None) -> None:
        """Save the graph, its ids and partition codes, then the metadata that vouches for them."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = {part: path.with_name(path.name + ".tmp") for part, path in self._files.items()}
        graph.save(str(temporary["usearch"]))
        with open(temporary["ids.npy"], "wb") as out:
            np.save(out, ids)
        with open(temporary["codes.npy"], "wb") as out:
            np.save(out, codes)
        meta = {
            "format": FORMAT,
            "collection": self.collection,
            "epoch": self._epoch,
            "generation": generation,
            "count": len(ids),
            "partitions": self._names,
            "dimensions": DIMENSIONS,
            "bytes": os.path.getsize(temporary["usearch"]),
            "fingerprint": _fingerprint(temporary["usearch"]),
        }
        temporary["json"].write_text(json.dumps(meta))
        for part in ("usearch", "ids.npy", "codes.npy", "json"):  # the metadata last: it vouches for the rest
            os.chmod(temporary[part], 0o600)
            os.replace(temporary[part], self._files[part])

    def _use_file(self, ids: Ids, codes: Codes) -> None:
        from usearch.index import Index

        self._graph = Index.restore(str(self._files["usearch"]), view=True)
        self._graph.expansion_search = EXPANSION_SEARCH_LARGE if len(ids) >= LARGE_GRAPH else EXPANSION_SEARCH
        self._graph_ids, self._graph_codes = ids, codes

    def _open_file(self, epoch: str) -> bool:
        """Open the graph file when its metadata vouches for it; else remove it."""
        if not self._files["json"].exists():
            return False
        try:
            meta = json.loads(self._files["json"].read_text())
            if (meta["format"], meta["collection"], meta["epoch"], meta["dimensions"]) != (
                FORMAT,
                self.collection,
                epoch,
                DIMENSIONS,
            ):
                raise ValueError("written for another database or format")
            if (
                os.path.getsize(self._files["usearch"]) != meta["bytes"]
                or _fingerprint(self._files["usearch"]) != meta["fingerprint"]
            ):
                raise ValueError("the graph file is not the one its metadata describes")
            ids = np.load(self._files["ids.npy"])
            codes = np.load(self._files["codes.npy"])
            if not (len(ids) == len(codes) == meta["count"]):
                raise ValueError("the id files do not match the metadata")
            self._names = [str(name) for name in meta["partitions"]]
            self._codes = {name: code for code, name in enumerate(self._names)}
            self._use_file(ids.astype(np.int64), codes.astype(np.int32))
            if len(self._graph) != meta["count"]:
                raise ValueError(f"the graph holds {len(self._graph)} vectors, its metadata {meta['count']}")
            self.generation = int(meta["generation"])
            return True
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, AttributeError) as exc:
            log.warning("vector index of %s: %s is unusable (%s); rebuilding it", self.collection, self.folder, exc)
            self._reset()
            self.generation = None
            for path in self._files.values():
                with contextlib.suppress(OSError):
                    path.unlink()
            return False


def _fingerprint(path: Path) -> str:
    """A hash of the graph file's size and its first and last mebibyte: catches a truncated or
    replaced file without reading hundreds of megabytes at start."""
    digest = hashlib.sha256()
    size = os.path.getsize(path)
    digest.update(str(size).encode())
    with open(path, "rb") as source:
        digest.update(source.read(1 << 20))
        source.seek(max(0, size - (1 << 20)))
        digest.update(source.read(1 << 20))
    return digest.hexdigest()
