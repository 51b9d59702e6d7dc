"""Child process for the durability tests: writes as fast as it can and reports each write
that was acknowledged, one line each, to the file named by ACK_FILE (appended with O_APPEND, so
every line written before a SIGKILL is there).

python writer.py STATE_DIR RUN [CONCURRENCY]

Three loops run at once, one per kind of write (KV put, queue send, SQL insert); with
CONCURRENCY > 1 each kind has that many writers, whose writes share group commits.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from runtime import App

HERE = Path(__file__).parent


async def main(state: str, run: str, concurrency: int) -> None:
    fd = os.open(os.environ["ACK_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    def acked(kind: str, key: str) -> None:
        os.write(fd, f"{kind} {key}\n".encode())

    async with App.from_manifest(HERE / "raindrop.manifest", state_dir=state) as app:
        env = app.env
        print("ready", flush=True)

        writes: dict[str, Callable[[str, int], Awaitable[Any]]] = {
            "kv": lambda key, n: env.CACHE.put(key, str(n)),
            "queue": lambda key, n: env.JOBS.send({"key": key}),
            "sql": lambda key, n: env.LEDGER.prepare("INSERT INTO entries (id, n) VALUES (?, ?)").bind(key, n).run(),
        }

        async def writer(kind: str, number: int) -> None:
            n = 0
            while True:
                key = f"{run}-{number}-{n}"
                await writes[kind](key, n)
                acked(kind, key)
                n += 1

        await asyncio.gather(*(writer(kind, w) for kind in writes for w in range(concurrency)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1))
