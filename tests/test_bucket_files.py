"""Bucket files in the state folder: no key reaches another key's file, a damaged or foreign
file holds nothing (one warning), and a folder of the earlier layout is moved over intact."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

from runtime.buckets import Bucket
from runtime.buckets.migrate import old_name

pytestmark = pytest.mark.anyio


def file_of(bucket: Path, key: str) -> Path:
    digest = hashlib.sha256(key.encode()).hexdigest()
    return bucket / "objects" / digest[:2] / digest


async def test_a_key_spelling_another_keys_metadata_file_leaves_it_alone(tmp_path: Path) -> None:
    bucket = Bucket("b", tmp_path / "b")
    await bucket.put("K", b"the real object", custom_metadata={"owner": "alice"})
    forged = {"key": "K", "size": 99, "etag": "0" * 32, "uploaded": "2020-01-01T00:00:00+00:00", "version": "x",
              "custom_metadata": {"owner": "mallory"}}  # fmt: skip
    await bucket.put("K.meta.json", json.dumps(forged))  # was: the metadata file of K
    await bucket.put("K.meta.json.meta.json", b"{not json")  # was: the metadata file of that one
    head = await bucket.head("K")
    assert head is not None and head.custom_metadata == {"owner": "alice"} and head.size == 15
    assert (await bucket.get("K")).body == b"the real object"  # type: ignore[union-attr]
    listed = await bucket.list(include=["custom_metadata"])
    assert [o.key for o in listed["objects"]] == ["K", "K.meta.json", "K.meta.json.meta.json"]
    await bucket.delete("K.meta.json")
    assert await bucket.head("K") is not None  # deleting one key removed no other


async def test_hash_named_long_and_dot_keys_are_keys_like_any_other(tmp_path: Path) -> None:
    bucket = Bucket("b", tmp_path / "b")
    long_key = "L" * 1000  # was stored as sha256-<hex of the key>
    await bucket.put(long_key, b"long")
    await bucket.put("sha256-" + hashlib.sha256(long_key.encode()).hexdigest(), b"squatter")
    await bucket.put("sha256-" + hashlib.sha256(long_key.encode()).hexdigest() + ".meta.json", b"{}")
    for key in ("..", ".", "%", "%2E%2E", "objects", "objects/00", "../objects"):
        await bucket.put(key, key.encode())
    assert (await bucket.get(long_key)).body == b"long"  # type: ignore[union-attr]
    for key in ("..", ".", "%", "%2E%2E", "objects", "objects/00", "../objects"):
        assert (await bucket.get(key)).body == key.encode(), key  # type: ignore[union-attr]
    assert len((await bucket.list())["objects"]) == 10
    assert {p.parent.parent for p in (tmp_path / "b").rglob("*") if p.is_file()} == {tmp_path / "b" / "objects"}


async def test_a_file_holding_another_key_or_a_damaged_header_is_absent_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bucket = Bucket("b", tmp_path / "b")
    await bucket.put("a", b"alpha")
    await bucket.put("b", b"beta")
    file_of(tmp_path / "b", "b").write_bytes(file_of(tmp_path / "b", "a").read_bytes())  # a's file under b's name
    assert await bucket.head("b") is None and await bucket.get("b") is None
    assert [o.key for o in (await bucket.list())["objects"]] == ["a"]
    stray = tmp_path / "b" / "objects" / "zz" / file_of(tmp_path / "b", "a").name
    stray.parent.mkdir()
    stray.write_bytes(file_of(tmp_path / "b", "a").read_bytes())  # a's file in another folder
    assert [o.key for o in (await bucket.list())["objects"]] == ["a"]  # listed once, from its own place
    await bucket.put("c", b"gamma")
    damaged = file_of(tmp_path / "b", "c")
    damaged.write_bytes(damaged.read_bytes()[:12] + b"#" + damaged.read_bytes()[13:])
    with caplog.at_level(logging.WARNING, logger="raindrop.buckets"):
        for _ in range(3):
            assert await bucket.head("c") is None and await bucket.get("c") is None
            assert [o.key for o in (await bucket.list())["objects"]] == ["a"]
    warnings = [r for r in caplog.records if "damaged" in r.getMessage()]
    assert len(warnings) == 1 and damaged.name in warnings[0].getMessage()
    file_of(tmp_path / "b", "a").write_bytes(file_of(tmp_path / "b", "a").read_bytes()[:-1])  # body cut short
    assert await bucket.get("a") is None
    await bucket.put("c", b"again")  # a put replaces a damaged file
    assert (await bucket.get("c")).body == b"again"  # type: ignore[union-attr]


def old_layout(folder: Path, objects: dict[str, bytes]) -> None:
    """A bucket folder as earlier versions wrote it: the body by encoded key, metadata beside it."""
    folder.mkdir(parents=True)
    for key, data in objects.items():
        name = old_name(key)
        (folder / name).write_bytes(data)
        meta = {"key": key, "size": len(data), "etag": hashlib.md5(data).hexdigest(),
                "http_etag": "", "uploaded": "2025-06-01T12:00:00+00:00", "version": "ab" * 16,
                "http_metadata": {"contentType": "text/plain"}, "custom_metadata": {"k": key[:10]},
                "storage_class": "Standard"}  # fmt: skip
        (folder / (name + ".meta.json")).write_text(json.dumps(meta))


OLD = {"plain.txt": b"plain", "dir/nested.txt": b"nested", "": b"empty key", "..": b"dots", "é😀": b"astral",
       "x" * 500: b"long key", "K.meta.json": b"a key ending in .meta.json"}  # fmt: skip


async def test_a_folder_in_the_old_layout_is_moved_over_at_open(tmp_path: Path) -> None:
    folder = tmp_path / "b"
    old_layout(folder, OLD)
    (folder / ".tmp-leftover").write_bytes(b"half a write")
    bucket = Bucket("b", folder)
    listed = await bucket.list(include=["http_metadata", "custom_metadata"])
    assert sorted(o.key for o in listed["objects"]) == sorted(OLD)
    for key, data in OLD.items():
        found = await bucket.get(key)
        assert found is not None and found.body == data and found.version == "ab" * 16, key
        assert found.custom_metadata == {"k": key[:10]} and found.http_metadata == {"contentType": "text/plain"}
    assert [p.name for p in folder.iterdir()] == ["objects"]  # the old files are gone
    assert await Bucket("b", folder).head("plain.txt") is not None  # opening again changes nothing


@pytest.mark.slow
def test_a_crash_at_any_point_of_the_migration_loses_nothing(tmp_path: Path) -> None:
    """Kill the migrating process after its n-th file operation, for every n; then open again."""
    script = textwrap.dedent(
        """
        import os, sys, anyio
        from pathlib import Path
        from runtime.buckets import migrate, files
        limit, count = int(sys.argv[2]), [0]
        def counted(fn):
            def wrapper(*a, **k):
                count[0] += 1
                if count[0] > limit:
                    os._exit(9)
                return fn(*a, **k)
            return wrapper
        files.FileBlobStore._write = staticmethod(counted(files.FileBlobStore._write))
        Path.unlink = counted(Path.unlink)
        anyio.run(files.FileBlobStore(Path(sys.argv[1])).open)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    crashed = 0
    for n in range(0, 3 * len(OLD) + 2):
        folder = tmp_path / f"run{n}"
        old_layout(folder, OLD)
        code = subprocess.run([sys.executable, "-c", script, str(folder), str(n)], env=env).returncode
        crashed += code == 9

        async def check(folder: Path = folder, n: int = n) -> None:
            bucket = Bucket("b", folder)
            for key, data in OLD.items():
                found = await bucket.get(key)
                assert found is not None and found.body == data, (n, key)
            assert [p.name for p in folder.iterdir()] == ["objects"]

        anyio.run(check)
    assert crashed >= 2 * len(OLD)  # the crash points did fall inside the migration


async def test_forged_old_metadata_naming_another_key_is_not_migrated_as_it(tmp_path: Path) -> None:
    folder = tmp_path / "b"
    old_layout(folder, {"K": b"real"})
    forged = {"key": "victim", "size": 1, "etag": "0" * 32, "uploaded": "2025-01-01T00:00:00+00:00", "version": "v"}
    (folder / "evil.meta.json").write_text(json.dumps(forged))  # metadata whose key is not its file's
    (folder / "evil").write_bytes(b"x")
    bucket = Bucket("b", folder)
    assert await bucket.head("victim") is None
    assert (await bucket.get("K")).body == b"real"  # type: ignore[union-attr]


async def test_a_big_body_is_hashed_and_written_off_the_event_loop(tmp_path: Path) -> None:
    """A 64 MiB put with a SHA-256 to check, then a get of it: the loop never stalls 100 ms.
    (On a busy machine any thread can be descheduled: the best of three tries counts; hashing on
    the loop stalls it in every try.)"""
    import time

    bucket = Bucket("b", tmp_path / "b")
    body = os.urandom(64 * 1024 * 1024)
    digest = hashlib.sha256(body).hexdigest()

    async def worst_stall() -> float:
        gaps: list[float] = []
        done = anyio.Event()

        async def ticker() -> None:
            last = time.perf_counter()
            while not done.is_set():
                await anyio.sleep(0.005)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(ticker)
            await anyio.sleep(0.02)
            stored = await bucket.put("big", body, sha256=digest)
            assert stored.size == len(body) and stored.checksums["sha256"] == digest
            assert (await bucket.get("big", range={"suffix": 3})).body == body[-3:]  # type: ignore[union-attr]
            done.set()
        return max(gaps)

    stalls = []
    for _ in range(3):
        stalls.append(await worst_stall())
        if stalls[-1] < 0.1:
            break
    assert min(stalls) < 0.1, f"the loop stalled {[round(s * 1000) for s in stalls]} ms"


async def test_the_app_moves_an_old_folder_over_when_it_starts(tmp_path: Path) -> None:
    import shutil

    from runtime import App

    shutil.copytree(Path(__file__).parent / "apps" / "dash", tmp_path / "dash")
    folder = tmp_path / "state" / "buckets" / "files"
    old_layout(folder, {"kept.txt": b"from an earlier version"})
    async with App.from_manifest(tmp_path / "dash" / "raindrop.manifest", state_dir=tmp_path / "state") as app:
        assert [p.name for p in folder.iterdir()] == ["objects"]  # before any call reached the bucket
        assert (await app.env.FILES.get("kept.txt")).body == b"from an earlier version"


@pytest.mark.slow
async def test_a_listing_past_many_batches_of_one_group_is_whole(tmp_path: Path) -> None:
    """2,500 keys in one delimited group between two plain keys: the scans grow past a batch."""
    bucket = Bucket("b", tmp_path / "b")
    keys = ["a", *(f"g/{i:05d}" for i in range(2500)), "z"]
    with anyio.CancelScope():
        async with anyio.create_task_group() as tasks:
            for key in keys:
                tasks.start_soon(bucket.put, key, b"v")
    listed = await bucket.list(delimiter="/", limit=2)
    assert [o.key for o in listed["objects"]] == ["a"] and listed["delimited_prefixes"] == ["g/"]
    rest = await bucket.list(delimiter="/", cursor=listed["cursor"])
    assert [o.key for o in rest["objects"]] == ["z"] and rest["delimited_prefixes"] == [] and not rest["truncated"]
    assert len((await bucket.list(prefix="g/", limit=1000, start_after="g/00999"))["objects"]) == 1000
