"""Moving a bucket folder of earlier versions into the layout of :mod:`runtime.buckets.files`.

Earlier versions kept an object as two files beside each other: the body under the
percent-encoded key (``sha256-<hex>`` for long keys) and its metadata as ``<name>.meta.json``.
When a store opens a folder holding ``*.meta.json`` files, every object they describe is written
into ``objects/`` first; only when all are written are the old files removed. A crash before the
removals finish leaves old files that the next open migrates again (writing the same objects),
so a crash at any point loses nothing.

An old metadata file counts only when the key it names encodes to its own file name: a file that
an upload of ``K.meta.json`` overwrote describes a key it cannot be the metadata of, and is
taken for what it also is, the body of the key ``K.meta.json``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from runtime.buckets.fileformat import encode, key_hash
from runtime.buckets.objects import BucketObject

log = logging.getLogger("raindrop.buckets")
OLD_META = ".meta.json"


def old_name(key: str) -> str:
    """The file name earlier versions gave the body of ``key``."""
    encoded = quote(key, safe="")
    if not encoded:
        return "%"
    if encoded in (".", ".."):
        return encoded.replace(".", "%2E")
    if len(encoded) > 200:
        return "sha256-" + hashlib.sha256(key.encode()).hexdigest()
    return encoded


def migrate(folder: Path, write: Callable[..., None]) -> int:
    """Move the objects of an old-layout ``folder`` into ``folder/objects``; returns how many.
    ``write(path, *chunks)`` writes one file durably and atomically."""
    metas = sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(OLD_META))
    if not metas:
        return 0
    moved = 0
    for meta_path in metas:
        stem = meta_path.name[: -len(OLD_META)]
        try:
            obj = BucketObject.from_dict(json.loads(meta_path.read_text()))
            data = (folder / stem).read_bytes()
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            continue  # not metadata (the body of a key ending in .meta.json), or damaged
        except FileNotFoundError:
            continue  # its body was removed by a migration that stopped: that object moved
        if old_name(obj.key) != stem:
            continue  # metadata naming another key: a forged file, not this object's
        if len(data) != obj.size:
            log.warning("bucket %s: %r is %d bytes, its metadata says %d; moved as stored", folder, obj.key,
                        len(data), obj.size)  # fmt: skip
            obj.size = len(data)
        digest = key_hash(obj.key)
        write(folder / "objects" / digest[:2] / digest, encode(obj), data)
        moved += 1
    # Every object is in place: now the old files go, bodies before metadata, so that a crash
    # here leaves metadata files (which the next open finishes) rather than bodies no one names.
    old = [p for p in folder.iterdir() if p.is_file()]
    for path in sorted(old, key=lambda p: p.name.endswith(OLD_META)):
        path.unlink(missing_ok=True)
    log.info("bucket %s: moved %d objects into the layout by key hash", folder, moved)
    return moved
