"""Starting the Node child of the TypeScript handlers: its flags, and the socketpair it talks over."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Mapping
from pathlib import Path

JS = Path(__file__).parent / "js"
SOCKET_BUFFER = 4 * 1024 * 1024
SEMI_SPACE_MB = 4
#: Node's old generation is capped at this (V8's default follows the machine's memory): a handler
#: that leaks fails its own Node with an out-of-memory error, restarted, before the machine swaps.
HEAP_MB = 512


def node_flags(environ: Mapping[str, str]) -> list[str]:
    """Node's flags; a ``--max-old-space-size`` in the user's ``NODE_OPTIONS`` wins over ours."""
    flags = [
        "--enable-source-maps",
        "--no-warnings",
        # A young generation of at most 2 x 4 MB (V8's default lets it grow to 2 x 16 MB):
        # Node's resident memory stays under 80 MB for a typical app; no slower here.
        f"--max-semi-space-size={SEMI_SPACE_MB}",
    ]
    options = environ.get("NODE_OPTIONS", "").replace("_", "-")
    if "--max-old-space-size" not in options:
        flags.append(f"--max-old-space-size={HEAP_MB}")
    return flags


async def spawn_node(node: str, root: Path) -> tuple[asyncio.subprocess.Process, socket.socket]:
    """A Node child running the host in ``root``, and the runtime's end of its socketpair."""
    ours, theirs = socket.socketpair()
    for end in (ours, theirs):  # a 1 MB value in one write, not a dozen wake-ups of each side
        with contextlib.suppress(OSError):
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
    try:
        process = await asyncio.create_subprocess_exec(
            node,
            *node_flags(os.environ),
            str(JS / "host.mjs"),
            cwd=root,
            stdin=asyncio.subprocess.DEVNULL,
            pass_fds=(theirs.fileno(),),
            env={**os.environ, "RAINDROP_TS_FD": str(theirs.fileno())},
            start_new_session=True,  # Ctrl-C stops the runtime, which stops its child
        )
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return process, ours
