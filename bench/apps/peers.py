"""The same no-op job for RQ, arq and Dramatiq (imported by their workers); see report.py."""

from __future__ import annotations

import os
from typing import Any, ClassVar

from report import REPORTER

URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14")


def rq_noop(stamp: bool = False) -> None:
    if stamp:
        REPORTER.stamp()
    REPORTER.done()


async def arq_noop(ctx: dict[str, Any], stamp: bool = False) -> None:
    if stamp:
        REPORTER.stamp()
    REPORTER.done()


class ArqSettings:
    from arq.connections import RedisSettings

    functions: ClassVar[list[Any]] = [arq_noop]
    redis_settings = RedisSettings.from_dsn(URL)
    poll_delay = 0.01  # as measured in PERF-NOTES; arq's default is 0.5 s
    max_jobs = 100


try:
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker

    dramatiq.set_broker(RedisBroker(url=URL))

    @dramatiq.actor(queue_name="bench", max_retries=0)
    def dramatiq_noop(stamp: bool = False) -> None:
        if stamp:
            REPORTER.stamp()
        REPORTER.done()
except ImportError:  # pragma: no cover - dramatiq is a bench-only dependency
    pass
