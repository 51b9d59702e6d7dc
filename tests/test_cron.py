"""Cron maths as pure functions, from tables."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from runtime.cron import cron_error, fires_between, next_fires


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 3 * * *", "2025-01-01T02:59:00", ["2025-01-01T03:00:00", "2025-01-02T03:00:00"]),
        ("0 3 * * *", "2025-01-01T03:00:00", ["2025-01-02T03:00:00", "2025-01-03T03:00:00"]),
        ("*/15 * * * *", "2025-01-01T00:07:00", ["2025-01-01T00:15:00", "2025-01-01T00:30:00"]),
        ("0 9 * * 1-5", "2025-01-03T10:00:00", ["2025-01-06T09:00:00", "2025-01-07T09:00:00"]),  # Fri -> Mon
        ("0 0,6,12,18 * * *", "2025-01-01T05:00:00", ["2025-01-01T06:00:00", "2025-01-01T12:00:00"]),
        ("@daily", "2025-01-01T12:00:00", ["2025-01-02T00:00:00", "2025-01-03T00:00:00"]),
        ("@hourly", "2025-01-01T12:30:00", ["2025-01-01T13:00:00", "2025-01-01T14:00:00"]),
    ],
)
def test_next_fires(expression: str, after: str, expected: list[str]) -> None:
    assert next_fires(expression, t(after), 2) == [t(e) for e in expected]


def test_fires_between_is_exclusive_then_inclusive() -> None:
    assert fires_between("0 3 * * *", t("2025-01-01T02:59:00"), t("2025-01-01T03:01:00")) == [t("2025-01-01T03:00:00")]
    assert fires_between("0 3 * * *", t("2025-01-01T03:00:00"), t("2025-01-01T03:59:00")) == []
    assert len(fires_between("0 3 * * *", t("2025-01-01T03:00:00"), t("2025-01-31T03:00:00"))) == 30


def test_timezone_across_daylight_saving() -> None:
    chicago = ZoneInfo("America/Chicago")
    # 2025-03-09: clocks jump 02:00 -> 03:00 in Chicago. 03:00 local is 08:00 UTC after, 09:00 UTC before.
    fires = next_fires("0 3 * * *", t("2025-03-08T00:00:00"), 3, chicago)
    assert fires == [t("2025-03-08T09:00:00"), t("2025-03-09T08:00:00"), t("2025-03-10T08:00:00")]
    # 2025-11-02: 01:00-02:00 happens twice; a 01:30 job runs once that day.
    fires = next_fires("30 1 * * *", t("2025-11-01T12:00:00"), 3, chicago)
    assert len({f.date() for f in fires}) == 3


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "empty"),
        ("0 3 * *", "has 4 fields"),
        ("0 0 3 * * *", "has 6 fields"),
        ("61 * * * *", "minute field '61'"),
        ("0 24 * * *", "hour field '24'"),
        ("0 0 32 * *", "day of month field '32'"),
        ("0 0 * 13 *", "month field '13'"),
        ("0 0 * * 8", "day of week field '8'"),
        ("@sometimes", "unknown cron macro"),
    ],
)
def test_cron_errors(expression: str, message: str) -> None:
    problem = cron_error(expression)
    assert problem is not None and message in problem


@pytest.mark.parametrize("expression", ["0 3 * * *", "*/5 * * * *", "0 9 * * 1-5", "@daily", "@weekly", "0 0 1 jan *"])
def test_valid_crons(expression: str) -> None:
    assert cron_error(expression) is None
