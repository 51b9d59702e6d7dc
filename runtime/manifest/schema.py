"""What each block kind of the manifest accepts: labels, attributes and nested blocks.

Unknown names are judged against these tables: a name close to a known one is a typo (an
error with "did you mean"); any other unknown name is a warning, because real manifests carry
blocks and attributes the platform docs never mention.
"""

from __future__ import annotations

from dataclasses import dataclass, field

VISIBILITIES = ("public", "protected", "private", "application")
BUCKET_ACTIONS = ("PutObject", "CopyObject", "CompleteMultipartUpload", "DeleteObject")
CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


@dataclass(frozen=True, slots=True)
class AttrSpec:
    kind: str  # "string" | "bool" | "int" | "list[string]"
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BlockSpec:
    labels: int  # how many labels the block takes
    attributes: dict[str, AttrSpec] = field(default_factory=dict)
    blocks: dict[str, BlockSpec] = field(default_factory=dict)


_STRING = AttrSpec("string")
_VISIBILITY = AttrSpec("string", VISIBILITIES)
_HANDLER = AttrSpec("string")

DOMAIN = BlockSpec(0, {"cname": _STRING, "fqdn": _STRING})
ENV = BlockSpec(1, {"secret": AttrSpec("bool"), "default": _STRING})
RULE = BlockSpec(0, {"actions": AttrSpec("list[string]", BUCKET_ACTIONS), "prefix": _STRING})
SOURCE = BlockSpec(0, {"queue": _STRING, "bucket": _STRING, "schedule": _STRING}, {"rule": RULE})

RESOURCE_KINDS: dict[str, BlockSpec] = {
    "service": BlockSpec(
        1, {"visibility": _VISIBILITY, "handler": _HANDLER, "domain": _STRING}, {"domain": DOMAIN, "env": ENV}
    ),
    "actor": BlockSpec(1, {"visibility": _VISIBILITY, "handler": _HANDLER}, {"domain": DOMAIN}),
    "observer": BlockSpec(1, {"handler": _HANDLER}, {"source": SOURCE}),
    "queue": BlockSpec(1),
    "task": BlockSpec(1, {"type": AttrSpec("string", ("cron",)), "cron": _STRING, "handler": _HANDLER}),
    "kv_cache": BlockSpec(1),
    "kv_store": BlockSpec(1),
    "bucket": BlockSpec(1, {"visibility": _VISIBILITY, "location_hint": _STRING}),
    "smartbucket": BlockSpec(1, {"visibility": _VISIBILITY}),
    "sql_database": BlockSpec(1),
    "smartsql": BlockSpec(1),
    "smartmemory": BlockSpec(1),
    "vector_index": BlockSpec(
        1, {"dimensions": AttrSpec("int"), "metric": AttrSpec("string", ("cosine", "euclidean", "dot-product"))}
    ),
    "mcp_service": BlockSpec(
        1, {"visibility": _VISIBILITY, "handler": _HANDLER, "authorization_server": _STRING}, {"domain": DOMAIN}
    ),
    "env": ENV,
}

APPLICATION = BlockSpec(1, {}, RESOURCE_KINDS)

# Every block name the language knows, at any depth.
BLOCK_KINDS = frozenset({"application", "source", "rule", "domain", *RESOURCE_KINDS})

# Blocks whose module holds code, and the base class their handler must subclass.
CODE_KINDS = {"service": "Service", "actor": "Actor", "observer": "Each", "task": "Task", "mcp_service": "Service"}


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (adjacent transpositions count as one edit)."""
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def closest(name: str, known: list[str] | tuple[str, ...] | frozenset[str] | dict[str, object]) -> str | None:
    """The known name ``name`` is most likely a typo of, or None when nothing is close.

    Close means one edit for names up to four characters and two edits beyond; case alone
    never makes a typo distinct (``Service`` is close to ``service``).
    """
    limit = 1 if len(name) <= 4 else 2
    best: tuple[int, str] | None = None
    for candidate in known:
        if candidate == name:
            continue
        distance = edit_distance(name.lower(), candidate.lower())
        if distance <= limit and (best is None or distance < best[0]):
            best = (distance, candidate)
    return best[1] if best else None
