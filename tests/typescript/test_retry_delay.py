"""A retry's delay is 0 to 43,200 s (12 hours), as a queue send's is: from TypeScript and from
Python, a delay out of range or not a finite number is refused where retry() is called."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runtime.app import App
from runtime.errors import BindingError, LimitError
from runtime.queue import Message
from runtime.typescript.host import TypeScriptError

pytestmark = pytest.mark.slow


@pytest.fixture
def raindrop_manifest(guard_manifest: Path) -> Path:
    return guard_manifest


@pytest.mark.parametrize("delay", ["43201", "NaN", "Infinity", "-1"])
async def test_typescript_retry_refuses_a_delay_out_of_range(raindrop_app: App, delay: str) -> None:
    """Before, NaN and Infinity reached the runtime as null (the observer's default delay) and
    43,201 s was taken as given."""
    await raindrop_app.env.JOBS.send({"id": "d", "mode": "delay", "delay": delay})
    with pytest.raises(
        TypeScriptError, match=r"RangeError: message\.retry: delaySeconds must be a number from 0 to 43200"
    ):
        await raindrop_app.drain()


async def test_typescript_retry_takes_the_largest_delay(raindrop_app: App) -> None:
    await raindrop_app.env.JOBS.send({"id": "d", "mode": "delay", "delay": "43200"})
    await raindrop_app.drain()  # no error: retried in 12 hours
    assert raindrop_app.runs[-1].outcome == "ok"


def message() -> Message:
    return Message("m1", datetime(2025, 1, 1, tzinfo=UTC), {}, 1, "jobs")


@pytest.mark.parametrize("delay", [math.nan, math.inf, -math.inf, -1, True])
def test_python_retry_refuses_what_is_not_a_finite_delay(delay: float) -> None:
    with pytest.raises(BindingError, match="retry delay_seconds must be a number >= 0"):
        message().retry(delay_seconds=delay)


def test_python_retry_refuses_a_delay_over_12_hours() -> None:
    with pytest.raises(LimitError, match=r"at most 43200 \(12 hours\)"):
        message().retry(delay_seconds=43_201)
    ok = message()
    ok.retry(delay_seconds=43_200)
    assert ok.outcome is not None and ok.outcome.delay_seconds == 43_200
