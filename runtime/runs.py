"""The run log: the latest handler runs of an app (``app.runs``), for the dashboard, the logs and tests.

Every host records into it (observers, schedules, actors, services, ``env.tracer``); ``serve``
logs each run as it happens through :attr:`RunLog.hook`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from runtime.observers import RunRecord

__all__ = ["RunLog", "RunRecord"]

#: How many runs the log keeps; older ones are let go (``RunLog.total`` still counts them).
KEPT = 500


class RunLog(deque[RunRecord]):
    """The latest :data:`KEPT` runs, oldest first; ``total`` counts every run recorded."""

    def __init__(self, records: Iterable[RunRecord] = (), maxlen: int | None = KEPT) -> None:
        super().__init__(records, maxlen)
        #: Every run recorded, also those the log has let go (the dashboard's live charts).
        self.total = 0
        #: Called with every run as it is recorded (``serve`` logs runs through it).
        self.hook: Callable[[RunRecord], None] | None = None

    def record(self, record: RunRecord) -> None:
        """Keep ``record``, count it and pass it to the hook."""
        self.append(record)
        self.total += 1
        if self.hook is not None:
            self.hook(record)
