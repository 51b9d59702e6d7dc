"""Frames between the runtime and Node: plain JSON frames and frames with binary blobs decode to
what was sent, on both sides, however the socket splits them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from runtime.typescript import wire
from runtime.typescript.host import JS


def test_python_frames_round_trip() -> None:
    for message in ({"t": "fetch", "q": ["GET", "http://x/", "", None]}, {"t": "in", "b": b"\x00\x01" * 70000, "n": 1}):
        frame = wire.encode(message)
        assert int.from_bytes(frame[:4], "little") == len(frame) - 4
        assert wire.decode(frame[4:]) == message
    with pytest.raises(TypeError, match="cannot be handed to TypeScript"):
        wire.encode({"v": object()})


def test_python_reads_frames_however_the_socket_splits_them() -> None:
    messages = [{"t": "ok", "i": 1, "v": "é\u2028"}, {"t": "r", "i": 2, "v": b"\x00" * 300}, {"t": "end", "i": 3}]
    stream = b"".join(wire.encode(m) for m in messages)
    for size in (1, 7, 8, 100, len(stream)):
        buffer, got = bytearray(), []
        for at in range(0, len(stream), size):
            buffer += stream[at : at + size]
            used = 0
            for message, used in wire.frames(buffer):  # noqa: B007
                got.append(message)
            del buffer[:used]
        assert got == messages and not buffer


SCRIPT = """
import { encode, decode, Reader } from %s;
const got = [];
const reader = new Reader((frame) => got.push(decode(frame)));
const frames = Buffer.concat([encode({ a: 1 }), encode({ b: new Uint8Array(1 << 20).fill(7) }), encode({ c: 'x' }),
  encode({ d: new Uint8Array(300000).fill(3) }), encode({ e: 2 }),
  encode({ f: new Uint8Array(300000).fill(4), g: new Uint8Array(5).fill(5) }), encode({ h: 'y'.repeat(400000) })]);
const results = [];
for (const size of [1, 3, 1000, 65536, 70000, frames.length]) {
  got.length = 0;
  for (let at = 0; at < frames.length; at += size) reader.push(frames.subarray(at, at + size));
  results.push(got.length === 7 && got[6].h.length === 400000 && got[0].a === 1 && got[1].b.length === (1 << 20) && got[1].b.every((x) => x === 7)
    && got[2].c === 'x' && got[3].d.length === 300000 && got[3].d[299999] === 3 && got[4].e === 2
    && got[5].f.length === 300000 && got[5].f.every((x) => x === 4) && got[5].g.join() === '5,5,5,5,5'
    // a large value arriving in pieces has a buffer of its own (handed over as an ArrayBuffer, no copy)
    && (size >= frames.length || got[1].b.buffer.byteLength === (1 << 20)));
}
console.log(JSON.stringify(results));
"""


def test_node_reader_splits_frames_however_they_arrive(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    script = tmp_path / "reader.mjs"
    script.write_text(SCRIPT % json.dumps((JS / "wire.mjs").as_uri()))
    done = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [True] * 6
