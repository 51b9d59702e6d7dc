"""Child process for the crash tests.

python child.py consume STATE_DIR        consume until killed
python child.py finish STATE_DIR         consume until the queue is empty, then exit 0
python child.py send-batches STATE_DIR   send batches of 100 until killed
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from runtime import App

HERE = Path(__file__).parent


async def main(mode: str, state: str) -> None:
    app = App.from_manifest(HERE / "raindrop.manifest", state_dir=state)
    async with app:
        if mode == "consume":
            await asyncio.Event().wait()
        elif mode == "finish":
            while (await app.queue_stats())["work"].depth:
                await app.drain()
                await asyncio.sleep(0.05)
        elif mode == "send-batches":
            batch = 0
            while True:
                await app.env.WORK.send_batch(
                    [{"body": {"batch": f"{os.getpid()}-{batch}", "i": i}} for i in range(100)]
                )
                print(batch, flush=True)
                batch += 1


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
