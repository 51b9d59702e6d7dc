"""Every kind of store binding the manifest declares, in one table.

The assembler (:mod:`runtime.bindings`), ``generate``, ``inspect``, ``serve``'s banner and the
dashboard read what they need to know about a kind here, so adding a kind is one row (and its
builder in ``Bindings``); ``tests/test_kinds.py`` checks the table against the manifest schema.
Code resources (services, observers, tasks, actors, MCP services) and env vars are not store
kinds: their bindings come from the handlers they run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Browse = Literal["kv", "buckets", "sql", "smart"]


@dataclass(frozen=True, slots=True)
class StoreKind:
    """What the runtime knows about one store kind of the manifest."""

    #: The manifest block (``kv_cache "sessions" {}``).
    kind: str
    #: The class of :mod:`runtime.types` its binding is (what ``generate`` writes).
    type_name: str
    #: Its data lives in files under the state folder (kept only by a persistent backend).
    on_disk: bool = False
    #: Answered by the smart components (an index, ``env.AI``): ``serve`` names them at start.
    smart: bool = False
    #: What answers it locally, as ``inspect`` says (None: the backend itself).
    provider: str | None = None
    #: The dashboard section that browses it (None: none does).
    browse: Browse | None = None


_RETRIEVAL = "local retrieval index (SQLite FTS5 + wordllama vectors); answers through env.AI"

STORE_KINDS: dict[str, StoreKind] = {
    k.kind: k
    for k in (
        StoreKind("queue", "Queue"),
        StoreKind("kv_cache", "KvCache", browse="kv"),
        StoreKind("kv_store", "KvCache", browse="kv"),
        StoreKind("bucket", "Bucket", on_disk=True, browse="buckets"),
        StoreKind("smartbucket", "SmartBucket", on_disk=True, smart=True, provider=_RETRIEVAL, browse="buckets"),
        StoreKind("smartmemory", "SmartMemory", on_disk=True, smart=True, provider=_RETRIEVAL, browse="smart"),
        StoreKind(
            "smartsql",
            "SmartSql",
            on_disk=True,
            smart=True,
            provider="SQLite file; text_query through env.AI",
            browse="sql",
        ),
        StoreKind("sql_database", "SqlDatabase", on_disk=True, browse="sql"),
    )
}


def kinds_where(
    *, on_disk: bool | None = None, smart: bool | None = None, browse: Browse | None = None
) -> tuple[str, ...]:
    """The names of the kinds with every property given."""
    return tuple(
        k.kind
        for k in STORE_KINDS.values()
        if (on_disk is None or k.on_disk == on_disk)
        and (smart is None or k.smart == smart)
        and (browse is None or k.browse == browse)
    )
