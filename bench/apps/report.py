"""How every benchmarked system's no-op job reports that it ran, at the same small cost.

A job counts itself in its process; a daemon thread adds the count to ``bench:done`` in Redis
every 10 ms. So what a run measures is the queue system, not a Redis round trip per job (which
cost an asyncio client several times what the runtime spends on a message). The first job
started after ``bench:started`` was cleared stamps its start time there, directly.
"""

from __future__ import annotations

import os
import threading
import time

import redis

URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14")
PERIOD = 0.01


class Reporter:
    def __init__(self) -> None:
        self.redis = redis.Redis.from_url(URL)
        self._done = 0
        self._lock = threading.Lock()
        self._pid = 0

    def stamp(self) -> None:
        """Record this moment as the start of the latency sample's job."""
        self.redis.set("bench:started", repr(time.time()))

    def done(self) -> None:
        with self._lock:
            if self._pid != os.getpid():  # first job in this process (workers may fork after import)
                self._pid, self._done = os.getpid(), 0
                threading.Thread(target=self._flush, daemon=True).start()
            self._done += 1

    def _flush(self) -> None:
        sent = 0
        while True:
            time.sleep(PERIOD)
            done = self._done
            if done != sent:
                self.redis.incrby("bench:done", done - sent)
                sent = done


REPORTER = Reporter()
