"""A Starlette app served by uvicorn on a free port in a daemon thread, for fakes of outside APIs."""

from __future__ import annotations

import threading
import time
from typing import Self

import uvicorn
from starlette.applications import Starlette

from tests.test_serve import free_port


class LocalServer:
    """``with Fake() as fake:`` serves ``fake.app`` at ``fake.url`` until the block ends."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
