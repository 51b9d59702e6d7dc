"""Appends each message's id to the file named by RECORD_FILE, then returns (acks)."""

from __future__ import annotations

import asyncio
import os

from runtime import Each
from runtime.queue import Message


class Recorder(Each):
    async def process(self, message: Message) -> None:
        await asyncio.sleep(float(os.environ.get("RECORD_DELAY", "0.0005")))  # slow enough that a kill lands mid-batch
        fd = os.open(os.environ["RECORD_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, f"{message.body['n']}\n".encode())
        finally:
            os.close(fd)
