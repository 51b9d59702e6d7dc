"""The owner that gets paused: slow increments of one actor, one after another.

python paused.py BACKEND STATE GO_FILE STOP_FILE ACK_FILE MARKER

Waits for GO_FILE, then calls ``slow_increment`` on ``id-0`` until STOP_FILE exists: each call
appends the value it read to MARKER, waits 0.5 s, then writes. Acknowledged calls are appended
to ACK_FILE, calls refused with LeaseLostError to ACK_FILE.lost. Prints "ready", then "done"
once stopped, and stays up until stdin closes.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import runtime
from runtime import App

HERE = Path(__file__).parent
LOST: type[BaseException] | tuple[()] = getattr(runtime, "LeaseLostError", ())  # an older runtime lacks it


async def main(backend: str, state: str, go: str, stop: str, acks: str, marker: str) -> None:
    async with App.from_manifest(HERE / "raindrop.manifest", backend=backend, state_dir=state) as app:
        counter = app.env.COUNTER.get(app.env.COUNTER.id_from_name("id-0"))
        print("ready", flush=True)
        while not os.path.exists(go):
            await asyncio.sleep(0.005)
        while not os.path.exists(stop):
            try:
                await counter.slow_increment(marker, 0.5)
            except LOST:
                with open(acks + ".lost", "a") as f:
                    f.write("1\n")
                continue
            with open(acks, "a") as f:
                f.write("1\n")
        print("done", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # stay up until told


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:7]))
