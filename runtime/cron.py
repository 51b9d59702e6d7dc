"""Cron maths as pure functions: validate an expression and compute fire times.

Expressions are the platform's: five fields (minute hour day-of-month month day-of-week), or a
macro such as ``@daily``. Times are evaluated in UTC unless a timezone is given. No function
here reads the clock: the caller passes the moment to start from.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError, croniter

from runtime.manifest.schema import CRON_MACROS

_FIELDS = ("minute", "hour", "day of month", "month", "day of week")


@functools.lru_cache(maxsize=1024)
def cron_error(expression: str) -> str | None:
    """Why ``expression`` is not a valid schedule, or None when it is (cached: croniter's parse
    is a third of validating a manifest with many schedules, most of which repeat)."""
    text = expression.strip()
    if not text:
        return 'cron expression is empty: expected 5 fields such as "0 3 * * *" or a macro such as "@daily"'
    if text.startswith("@"):
        if text.lower() in CRON_MACROS:
            return None
        return f"unknown cron macro {text!r}: expected one of {', '.join(CRON_MACROS)}"
    fields = text.split()
    if len(fields) != 5:
        return (
            f"cron expression {text!r} has {len(fields)} field{'s' if len(fields) != 1 else ''}: expected 5 "
            '(minute hour day-of-month month day-of-week), e.g. "0 3 * * *"'
        )
    try:
        croniter(text)
    except (CroniterBadCronError, CroniterNotAlphaError, CroniterBadDateError, ValueError, KeyError) as exc:
        return f"invalid cron expression {text!r}: {_field_hint(fields) or exc}"
    return None


def _field_hint(fields: list[str]) -> str | None:
    for name, value in zip(_FIELDS, fields, strict=True):
        try:
            croniter(" ".join(value if f is value else "*" for f in fields))
        except Exception:  # noqa: BLE001 - croniter raises several unrelated types for bad fields
            return f"the {name} field {value!r} is not valid"
    return None


def _fixed_hour(expression: str) -> bool:
    text = expression.strip().lower()
    if text.startswith("@"):
        return text != "@hourly"
    hour = text.split()[1]
    return hour != "*" and not hour.startswith("*/")


def _iterate(expression: str, start: datetime, zone: tzinfo) -> Iterator[datetime]:
    """Fire times after ``start`` in UTC. When a daylight-saving change repeats an hour, a job at
    a fixed hour runs once (as Vixie cron does); jobs with a wildcard hour run in both copies."""
    text = expression.strip()
    itr = croniter(text.lower() if text.startswith("@") else text, start.astimezone(zone))
    dedupe = _fixed_hour(text)
    previous_local = None
    while True:
        moment: datetime = itr.get_next(datetime)
        local = moment.replace(tzinfo=None)
        if dedupe and local == previous_local:
            continue
        previous_local = local
        yield moment.astimezone(UTC)


def next_fires(expression: str, after: datetime, count: int = 1, tz: tzinfo | None = None) -> list[datetime]:
    """The next ``count`` fire times strictly after ``after``, as aware UTC datetimes.

    With ``tz`` the expression is read in that zone (so ``0 3 * * *`` is 03:00 local time, also
    across daylight-saving changes); results are still returned in UTC.
    """
    times = _iterate(expression, after, tz or UTC)
    return [next(times) for _ in range(count)]


def fires_between(expression: str, start: datetime, end: datetime, tz: tzinfo | None = None) -> list[datetime]:
    """Every fire time ``t`` with ``start < t <= end``, in order (bounded to 100,000 for safety)."""
    found: list[datetime] = []
    for moment in _iterate(expression, start, tz or UTC):
        if moment > end or len(found) >= 100_000:
            break
        found.append(moment)
    return found


# Cached float forms for the scheduler: thousands of schedules sharing an expression (and, once
# they have fired together, the same last time) cost one croniter walk between them. Fire times
# are whole seconds, so "after x" and "up to x" read the same with x floored: more cache hits.


def next_time(expression: str, after: float, tz: tzinfo = UTC) -> float:
    """The first fire time strictly after ``after`` (epoch seconds), as epoch seconds."""
    return _next_time(expression, math.floor(after), tz)


def times_between(expression: str, start: float, end: float, tz: tzinfo = UTC) -> tuple[float, ...]:
    """:func:`fires_between` in epoch seconds (cached when short: one wake-up of the scheduler
    asks it with the same ``start`` and ``end`` for every schedule that fired together)."""
    key = (expression, math.floor(start), math.floor(end), tz)
    found = _between.get(key)
    if found is None:
        if _next_time(expression, key[1], tz) > key[2]:
            found = ()
        else:
            moments = fires_between(
                expression, datetime.fromtimestamp(key[1], UTC), datetime.fromtimestamp(key[2], UTC), tz
            )
            found = tuple(t.timestamp() for t in moments)
        if len(found) <= 64:  # a long catch-up is asked once; keep the cache small
            if len(_between) >= 1024:
                _between.clear()
            _between[key] = found
    return found


_between: dict[tuple[str, int, int, tzinfo], tuple[float, ...]] = {}


@functools.lru_cache(maxsize=4096)
def _next_time(expression: str, after: int, tz: tzinfo) -> float:
    return next(_iterate(expression, datetime.fromtimestamp(after, UTC), tz)).timestamp()
