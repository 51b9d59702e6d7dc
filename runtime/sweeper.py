"""The KV sweeper: deletes expired KV entries in the background.

Reads never return an expired entry (they compare ``expires_at`` with the time they are
given), so the sweeper only gives the space back; a failed sweep is retried at the next one.
"""

from __future__ import annotations

import contextlib
import logging

from runtime.backends.base import KvStore
from runtime.clock import Clock

log = logging.getLogger("raindrop.app")


async def sweep_kv(store: KvStore, clock: Clock, interval: float) -> None:
    """Every ``interval`` seconds of ``clock``, delete the entries of ``store`` that have expired."""
    while True:
        await clock.sleep_until(clock.time() + interval)
        with contextlib.suppress(Exception):
            removed = await store.sweep(clock.time())
            if removed:
                log.debug("swept %d expired KV entries", removed)
