"""Cron maths as pure functions: validate an expression and compute fire times.

Expressions are the platform's: five fields (minute hour day-of-month month day-of-week), or a
macro such as ``@daily``. Times are evaluated in UTC unless a timezone is given. No function
here reads the clock: the caller passes the moment to start from.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError, croniter

from runtime.manifest.schema import CRON_MACROS

_FIELDS = ("minute", "hour", "day of month", "month", "day of week")


def cron_error(expression: str) -> str | None:
    """Why ``expression`` is not a valid schedule, or None when it is."""
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


def next_fires(expression: str, after: datetime, count: int = 1, tz: tzinfo | None = None) -> list[datetime]:
    """The next ``count`` fire times strictly after ``after``, as aware UTC datetimes.

    With ``tz`` the expression is read in that zone (so ``0 3 * * *`` is 03:00 local time, also
    across daylight-saving changes); results are still returned in UTC.
    """
    zone = tz or UTC
    start = after.astimezone(zone)
    itr = croniter(expression.strip().lower() if expression.strip().startswith("@") else expression, start)
    return [itr.get_next(datetime).astimezone(UTC) for _ in range(count)]


def fires_between(expression: str, start: datetime, end: datetime, tz: tzinfo | None = None) -> list[datetime]:
    """Every fire time ``t`` with ``start < t <= end``, in order (bounded to 100,000 for safety)."""
    zone = tz or UTC
    itr = croniter(expression.strip(), start.astimezone(zone))
    found: list[datetime] = []
    while len(found) < 100_000:
        moment: datetime = itr.get_next(datetime).astimezone(UTC)
        if moment > end:
            break
        found.append(moment)
    return found
