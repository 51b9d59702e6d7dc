"""Child for the alarm restart test: `set AT_MS STATE` sets an alarm and exits; `wait STATE`
runs the app until the alarm has fired, then prints what fired."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from runtime import App

HERE = Path(__file__).parent


async def main(mode: str, state: str, at_ms: str = "0") -> None:
    async with App.from_manifest(HERE / "raindrop.manifest", state_dir=state) as app:
        stub = app.env.COUNTER.get(app.env.COUNTER.id_from_name("restart"))
        if mode == "set":
            await stub.schedule(int(at_ms), "after-restart")
            return
        for _ in range(500):
            fired = await stub.recall("alarms")
            if fired:
                await asyncio.sleep(0.2)  # a second firing would show up here
                print(json.dumps(await stub.recall("alarms")))
                return
            await asyncio.sleep(0.01)
        print("[]")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
