"""Users and metrics in the app's SQL database."""

from __future__ import annotations

import json
from typing import Any

USER_COLUMNS = "id, name, email, token, timezone, tier, daily_podcast_enabled, topics, last_app_open_at"


def _user(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {**row, "topics": json.loads(row.get("topics") or "[]"), "timezone": row.get("timezone") or "UTC"}


async def user_by_id(env: Any, user_id: str) -> dict[str, Any] | None:
    return _user(await env.HAKIVO_DB.prepare(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?").bind(user_id).first())


async def user_by_token(env: Any, token: str) -> dict[str, Any] | None:
    return _user(await env.HAKIVO_DB.prepare(f"SELECT {USER_COLUMNS} FROM users WHERE token = ?").bind(token).first())


APP_OPEN_PRECISION = 60.0  # seconds; pre-generation asks "opened in the last 3 days"


def app_open_statement(env: Any, user: dict[str, Any], at: float) -> Any | None:
    """The write remembering that the user opened the app now, or None within a minute of the
    last one: pre-generation only asks whether it happened in the last 3 days."""
    last = user.get("last_app_open_at")
    if last is not None and 0 <= at - float(last) < APP_OPEN_PRECISION:
        return None
    user["last_app_open_at"] = at  # the row as the caller (and a cached copy) now knows it
    return env.HAKIVO_DB.prepare("UPDATE users SET last_app_open_at = ? WHERE id = ?").bind(at, user["id"])


def metric_statement(env: Any, kind: str, user_id: str | None, value: float, at: float) -> Any:
    """A metrics event: cache_hit, cache_miss, pregen_success, pregen_failure, first_audio_seconds."""
    return env.HAKIVO_DB.prepare("INSERT INTO metrics_events (kind, user_id, value, at) VALUES (?, ?, ?, ?)").bind(
        kind, user_id, value, at
    )


async def record(env: Any, kind: str, user_id: str | None, value: float, at: float) -> None:
    await metric_statement(env, kind, user_id, value, at).run()


async def record_request(env: Any, user: dict[str, Any], kind: str | None, at: float) -> None:
    """A request's bookkeeping, in one batch (one commit): the app-open mark, and the metric
    ``kind`` (cache_hit, cache_miss) unless it is None."""
    opened = app_open_statement(env, user, at)
    statements = [opened] if opened is not None else []
    if kind is not None:
        statements.append(metric_statement(env, kind, user["id"], 1, at))
    await env.HAKIVO_DB.batch(statements)


async def metrics(env: Any) -> dict[str, Any]:
    rows = (
        await env.HAKIVO_DB.prepare(
            "SELECT kind, count(*) AS n, sum(value) AS total FROM metrics_events GROUP BY kind"
        ).all()
    )["results"]
    by = {r["kind"]: r for r in rows}

    def n(kind: str) -> int:
        return int(by.get(kind, {}).get("n") or 0)

    hits, misses = n("cache_hit"), n("cache_miss")
    ok, failed = n("pregen_success"), n("pregen_failure")
    costs = await env.HAKIVO_DB.prepare(
        "SELECT coalesce(sum(cost), 0) AS total, count(DISTINCT user_id) AS users FROM podcasts"
    ).first()
    firsts = (
        await env.HAKIVO_DB.prepare(
            "SELECT value FROM metrics_events WHERE kind = 'first_audio_seconds' ORDER BY value"
        ).all()
    )["results"]
    values = [r["value"] for r in firsts]
    return {
        "cacheHitRate": {
            "value": round(hits / (hits + misses), 4) if hits + misses else None,
            "hits": hits,
            "misses": misses,
            "target": 0.8,
        },
        "pregenerationSuccessRate": {
            "value": round(ok / (ok + failed), 4) if ok + failed else None,
            "successful": ok,
            "failed": failed,
            "target": 0.95,
        },
        "costPerUser": {
            "value": round(costs["total"] / costs["users"], 4) if costs["users"] else None,
            "totalCost": round(costs["total"], 4),
            "users": costs["users"],
            "target": 0.10,
        },
        "timeToFirstAudio": {
            "p50Seconds": values[len(values) // 2] if values else None,
            "maxSeconds": values[-1] if values else None,
            "samples": len(values),
        },
    }
