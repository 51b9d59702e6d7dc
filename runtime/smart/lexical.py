"""Word search for a large collection: a tantivy index beside the SQLite store, ranked like FTS5.

SQLite FTS5 ranks by BM25 every chunk that holds any query word: at 100,000 chunks a query of
four common words scores tens of thousands of rows. Past :data:`EXACT_LIMIT` chunks a collection
is also indexed by tantivy, whose top-k search skips posting blocks that cannot reach the top
(block-max WAND), in a folder beside the index (``smart.lexical/``). Below the limit FTS5
answers, exactly as before.

The ranking is FTS5's. Both score a chunk by BM25 with k1 = 1.2 and b = 0.75 over the same kind
of tokens (Unicode words, lower-cased, accents folded, English stemming), but their weights of a
term differ: FTS5's ``idf = max(1e-6, ln((N - n + 0.5) / (n + 0.5)))`` makes a term held by more
than half of the chunks weigh nothing, tantivy's ``ln(1 + (N - n + 0.5) / (n + 0.5))`` never
does. Each term's query is boosted by the ratio of the two, so tantivy's sum is FTS5's score.
A query word that splits into several tokens (``snake_case``) is a phrase, as in FTS5. FTS5
counts a chunk's length over both its columns (the text, and the one token naming the collection),
so that token ends each text here too.

SQLite stays the source of truth; the folder is derived and deleting it is always safe. Its
metadata names the database and the collection's *generation* (see :mod:`runtime.smart.ann`); a
search finding SQLite at another generation catches up by comparing chunk ids (never reused)
under a file lock, so processes sharing the state folder take turns; a missing, foreign or
unreadable folder is rebuilt from the stored texts (the first search waits for it).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import math
import os
import shutil
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from runtime.smart.ann_parts import Ids, snapshot, state

log = logging.getLogger("raindrop.smart.lexical")

EXACT_LIMIT = 10_000  # below this many chunks FTS5 answers alone
BUILD_BATCH = 20_000  # chunks read from SQLite and added at a time
WRITER_HEAP = 64_000_000  # bytes the writer buffers before it writes a segment
FORMAT = 1
K1, B = 1.2, 0.75  # FTS5's and tantivy's BM25 constants alike


def analyzer() -> Any:
    """FTS5's ``porter unicode61`` in tantivy's parts: Unicode words, lower case, accents
    folded, the English (Snowball) stemmer."""
    import tantivy

    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def _schema() -> Any:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("id", indexed=True, fast=True)
    builder.add_text_field("text", tokenizer_name="chunk", index_option="position")
    builder.add_text_field("partition", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("key", tokenizer_name="raw", index_option="basic")
    return builder.build()


def fts5_idf(total: int, holding: int) -> float:
    return max(1e-6, math.log((total - holding + 0.5) / (holding + 0.5)))


def tantivy_idf(total: int, holding: int) -> float:
    return math.log(1 + (total - holding + 0.5) / (holding + 0.5))


class LexicalIndex:
    """One collection's derived word index (see the module's docstring). Searches may run in
    any thread; catching up runs in the searching thread, one at a time."""

    def __init__(self, database: Path, collection: str) -> None:
        self.collection = collection
        stem = hashlib.sha1(collection.encode(), usedforsecurity=False).hexdigest()[:16]
        self.folder = database.parent / f"{database.stem}.lexical" / stem
        self._meta = self.folder.with_name(stem + ".json")
        self._ids_file = self.folder.with_name(stem + ".ids.npy")
        self._lock_file = self.folder.with_name(stem + ".lock")
        self._lock = threading.Lock()
        self._index: Any = None
        self._schema: Any = None
        self._analyzer: Any = None
        self._ids: Ids = np.zeros(0, dtype=np.int64)  # sorted: the chunks the folder holds
        self._epoch: str | None = None
        self.generation: int | None = None  # the collection's writes the folder reflects
        self._small_at: int | None = None  # the generation at which the collection was small
        self.loads = 0  # folders opened as they were (tests and the bench read these)
        self.builds = 0  # folders built from SQLite
        self.catch_ups = 0  # catch-ups from SQLite
        self.failures = 0  # searches the derived index failed (FTS5 answered them)
        self._failed_at: tuple[str, int] | None = None  # the collection's state when it last failed

    def close(self) -> None:
        with self._lock:
            self._index = None

    # -- searching --------------------------------------------------------------------------------

    def search(
        self,
        reader: sqlite3.Connection,
        terms: Sequence[str],
        count: int,
        partitions: set[str] | None,
        keys: set[str] | None,
    ) -> list[int] | None:
        """The ids of the ``count`` chunks FTS5's BM25 ranks first for ``terms`` (any of them),
        among ``partitions`` and ``keys`` (all when None); None when the collection is small
        enough for FTS5, or when the derived index cannot be used (the caller asks FTS5).

        A derived index that fails (its files damaged, a folder where a file belongs, a build
        that broke off) is a cost, never an error: the search is FTS5's, :attr:`failures`
        counts it, a warning says why, and the index is not tried again until the collection
        changes (or the next start), so a broken folder costs no retry per query."""
        now = state(reader, self.collection)
        if self._failed_at == now:
            return None
        try:
            return self._search(reader, terms, count, partitions, keys)
        except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
            self.failures += 1
            self._failed_at = now
            with self._lock:
                self._index = None
                self.generation = None
            log.warning(
                "word index of %s at %s failed (%s: %s); searching through SQLite's full-text index "
                "until the collection changes or the app restarts",
                self.collection, self.folder, type(exc).__name__, exc,
            )  # fmt: skip
            return None

    def _search(
        self,
        reader: sqlite3.Connection,
        terms: Sequence[str],
        count: int,
        partitions: set[str] | None,
        keys: set[str] | None,
    ) -> list[int] | None:
        with self._lock:
            if not self._ensure(reader):
                return None
            index = self._index
        import tantivy

        searcher = index.searcher()
        total = searcher.num_docs
        clauses = []
        for word, times in Counter(terms).items():
            tokens = self._analyzer.analyze(word)
            if not tokens:
                continue
            if len(tokens) == 1:
                query = tantivy.Query.term_query(self._schema, "text", tokens[0])
                holding = searcher.doc_freq("text", tokens[0])
            else:  # FTS5 reads a word of several tokens as a phrase
                query = tantivy.Query.phrase_query(self._schema, "text", tokens)
                holding = searcher.search(query, 1, count=True).count
            if holding == 0:
                continue
            own = sum(tantivy_idf(total, searcher.doc_freq("text", token)) for token in tokens)
            clauses.append(
                (tantivy.Occur.Should, tantivy.Query.boost_query(query, times * fts5_idf(total, holding) / own))
            )
        if not clauses:
            return []
        query = tantivy.Query.boolean_query(clauses)
        filters = [(tantivy.Occur.Must, query)]
        for field, values in (("partition", partitions), ("key", keys)):
            if values is not None:
                if not values:
                    return []
                wanted = tantivy.Query.term_set_query(self._schema, field, sorted(values))
                filters.append((tantivy.Occur.Must, tantivy.Query.const_score_query(wanted, 0.0)))
        if len(filters) > 1:
            query = tantivy.Query.boolean_query(filters)
        hits = searcher.search(query, count, count=False).hits
        return [int(i) for i in searcher.fast_field_values("id", [address for _, address in hits])]

    # -- keeping up with SQLite -------------------------------------------------------------------

    def _ensure(self, reader: sqlite3.Connection) -> bool:
        """Bring the folder to SQLite's state; False while the collection is small."""
        epoch, generation = state(reader, self.collection)
        if self._index is not None and self.generation == generation and self._epoch == epoch:
            return True
        if self._index is None:
            if self._small_at == generation:
                return False
            (chunks,) = reader.execute(
                "SELECT count(*) FROM (SELECT 1 FROM chunks WHERE collection = ? LIMIT ?)",
                (self.collection, EXACT_LIMIT),
            ).fetchone()
            if chunks < EXACT_LIMIT and not self._meta.exists():
                self._small_at = generation
                return False
        with self._locked():
            if self._index is None or self._epoch != epoch:
                self._epoch = epoch
                if self._open():
                    self.loads += 1
            else:
                self._reread()  # another process may have caught the folder up meanwhile
            if self._index is None or self.generation != generation:
                self._catch_up(reader)
        return True

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Across processes sharing the state folder: one catches up at a time (the kernel lets
        the lock go when a holder dies)."""
        self.folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(self._lock_file, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _open(self) -> bool:
        """Open the folder when its metadata vouches for it; else remove it."""
        self._index = None
        self.generation = None
        if not self._meta.exists():
            self._remove()
            return False
        try:
            meta = json.loads(self._meta.read_text())
            if (meta["format"], meta["collection"], meta["epoch"]) != (FORMAT, self.collection, self._epoch):
                raise ValueError("written for another database or format")
            ids = np.load(self._ids_file).astype(np.int64)
            self._use(ids)
            if self._index.searcher().num_docs != len(ids):
                raise ValueError("the index does not hold the chunks its metadata lists")
            self.generation = int(meta["generation"])
            return True
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("word index of %s: %s is unusable (%s); rebuilding it", self.collection, self.folder, exc)
            self._index = None
            self._remove()
            return False

    def _reread(self) -> None:
        try:
            meta = json.loads(self._meta.read_text())
            if int(meta["generation"]) != self.generation:
                self._ids = np.load(self._ids_file).astype(np.int64)
                self._index.reload()
                self.generation = int(meta["generation"])
        except (OSError, ValueError, KeyError, TypeError):
            self._index = None
            self.generation = None

    def _use(self, ids: Ids) -> None:
        import tantivy

        self._schema = self._schema or _schema()
        self._analyzer = self._analyzer or analyzer()
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._index = tantivy.Index(self._schema, path=str(self.folder), reuse=True)
        self._index.register_tokenizer("chunk", self._analyzer)
        self._ids = ids

    def _remove(self) -> None:
        for path in (self._meta, self._ids_file):
            with contextlib.suppress(OSError):
                path.unlink()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _catch_up(self, reader: sqlite3.Connection) -> None:
        """Add the chunks SQLite holds and the folder lacks, delete those it no longer holds."""
        import tantivy

        with snapshot(reader):
            _, generation = state(reader, self.collection)
            current = np.array(
                [row[0] for row in reader.execute("SELECT id FROM chunks WHERE collection = ?", (self.collection,))],
                dtype=np.int64,
            )
            current.sort()
            if self._index is None or len(np.setdiff1d(current, self._ids)) > max(EXACT_LIMIT, len(self._ids)):
                self._index = None  # mostly new: building afresh is quicker
                self._remove()
                self._use(np.zeros(0, dtype=np.int64))
                self.builds += 1
            else:
                self.catch_ups += 1
            gone = np.setdiff1d(self._ids, current)
            new = np.setdiff1d(current, self._ids)
            writer = self._index.writer(WRITER_HEAP, 2 if len(new) > BUILD_BATCH else 1)
            stale = np.concatenate([gone, new])  # new ones too: a commit whose ids file was lost
            for start in range(0, len(stale), BUILD_BATCH):
                part = [int(i) for i in stale[start : start + BUILD_BATCH]]
                writer.delete_documents_by_query(tantivy.Query.term_set_query(self._schema, "id", part))
            for start in range(0, len(new), BUILD_BATCH):
                rows = reader.execute(
                    "SELECT id, partition, key, text, scope FROM chunks WHERE id IN (SELECT value FROM json_each(?))",
                    (json.dumps([int(i) for i in new[start : start + BUILD_BATCH]]),),
                ).fetchall()
                for chunk_id, partition, key, text, scope in rows:
                    document = tantivy.Document()
                    document.add_unsigned("id", chunk_id)
                    document.add_text("text", f"{text}\n{scope}")  # FTS5 counts the scope's token
                    document.add_text("partition", partition)
                    document.add_text("key", key)
                    writer.add_document(document)
            writer.commit()
            writer.wait_merging_threads()
            del writer
        self._index.reload()
        self._ids = current
        self.generation = generation
        self._write_meta(generation)

    def _write_meta(self, generation: int) -> None:
        """The ids file, then the metadata that vouches for the folder (each replaced whole)."""
        temporary = self._ids_file.with_name(self._ids_file.name + ".tmp")
        with open(temporary, "wb") as out:
            np.save(out, self._ids)
        os.replace(temporary, self._ids_file)
        meta = {"format": FORMAT, "collection": self.collection, "epoch": self._epoch, "generation": generation}
        temporary = self._meta.with_name(self._meta.name + ".tmp")
        temporary.write_text(json.dumps(meta))
        os.replace(temporary, self._meta)
