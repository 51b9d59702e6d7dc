from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from runtime import FakeClock, SystemClock


def test_fake_clock_api() -> None:
    clock = FakeClock(datetime(2025, 11, 7, 2, 59, tzinfo=UTC))
    assert clock.now() == datetime(2025, 11, 7, 2, 59, tzinfo=UTC) and clock.now().tzinfo is not None
    assert clock.time() == datetime(2025, 11, 7, 2, 59, tzinfo=UTC).timestamp()
    assert clock.advance(seconds=120) == datetime(2025, 11, 7, 3, 1, tzinfo=UTC)
    assert clock.advance(minutes=1, hours=1, days=1) == datetime(2025, 11, 8, 4, 2, tzinfo=UTC)
    assert clock.set(datetime(2025, 11, 9)) == datetime(2025, 11, 9, tzinfo=UTC)  # naive means UTC
    with pytest.raises(ValueError, match="cannot go backwards"):
        clock.set(datetime(2025, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="cannot go backwards"):
        clock.advance(-1)


def test_system_clock_reads_wall_time() -> None:
    import time

    clock = SystemClock()
    assert abs(clock.time() - time.time()) < 1 and clock.now().tzinfo is not None


@pytest.mark.anyio
async def test_sleepers_wake_in_order_when_time_moves() -> None:
    clock = FakeClock(1000.0)
    woke: list[str] = []

    async def sleeper(name: str, until: float) -> None:
        await clock.sleep_until(until)
        woke.append(name)

    tasks = [asyncio.create_task(sleeper(n, t)) for n, t in (("late", 1030), ("early", 1010), ("never", 5000))]
    await asyncio.sleep(0)
    clock.advance(5)
    await asyncio.sleep(0)
    assert woke == []
    clock.advance(30)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert woke == ["early", "late"] and clock.next_wakeup() == 5000
    tasks[2].cancel()
