"""A process that shares a backend with others and calls one actor.

python child.py BACKEND STATE GO_FILE CALLS ACK_FILE [ID_COUNT]

Waits for GO_FILE to exist, then makes CALLS concurrent increments (spread over ID_COUNT ids,
default 1), appending each acknowledged result to ACK_FILE (and each call refused because this
process lost the actor's lease to ACK_FILE.lost); prints "done" at the end and stays up until
killed or stdin closes ("stay" mode lets another process's actors move here).

CHILD_CLOCK_SKEW=SECONDS in the environment runs this process's wall clock (``time.time``) that
many seconds ahead of the machine's, as a host with a badly set clock would.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

SKEW = float(os.environ.get("CHILD_CLOCK_SKEW", "0"))
if SKEW:
    _machine_time = time.time
    time.time = lambda: _machine_time() + SKEW  # before the runtime reads it

import runtime  # noqa: E402 - after the clock is skewed
from runtime import App  # noqa: E402

HERE = Path(__file__).parent
#: A refused call (LeaseLostError) is never acknowledged: counted apart. (An older runtime lacks it.)
LOST: type[BaseException] | tuple[()] = getattr(runtime, "LeaseLostError", ())


async def main(backend: str, state: str, go: str, calls: int, acks: str, ids: int) -> None:
    async with App.from_manifest(HERE / "raindrop.manifest", backend=backend, state_dir=state) as app:
        ns = app.env.COUNTER
        print("ready", flush=True)
        while not os.path.exists(go):
            await asyncio.sleep(0.005)
        fd = os.open(acks, os.O_WRONLY | os.O_APPEND | os.O_CREAT)

        async def one(i: int) -> None:
            try:
                await ns.get(ns.id_from_name(f"id-{i % ids}")).increment()
            except LOST:
                with open(acks + ".lost", "a") as lost:
                    lost.write("1\n")
                return
            os.write(fd, b"1\n")

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(calls)))
        print(f"done {calls / (time.perf_counter() - started):.0f}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # stay up until told


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(main(args[0], args[1], args[2], int(args[3]), args[4], int(args[5]) if len(args) > 5 else 1))
