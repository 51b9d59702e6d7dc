"""The 3 am pre-generation: every active user's podcast, cached before they ask.

Active (the design's criteria): generated a podcast in the last 7 days, opened the app in the
last 3, has 3 or more listens, or opted into daily podcasts; and not in tier ``none``. Tier
``daily`` users get a daily podcast; tier ``weekly`` users a weekly one on Mondays (their local
day). Users whose ``pregen_mode`` is ``script`` get the bills and script only; the audio is made
when they ask. Users already cached today are skipped. ``PREGEN_CONCURRENCY`` (default 5) users
are generated at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from hakivo import setting
from hakivo.podcast import cache_podcast, cached_podcast, generate, local_day, now, save_podcast
from hakivo.providers import choose
from hakivo.store import USER_COLUMNS, _user, record

log = logging.getLogger("hakivo.pregeneration")
DAY = 86_400


async def active_users(env: Any, moment: float) -> list[dict[str, Any]]:
    rows = (
        await env.HAKIVO_DB.prepare(
            f"SELECT {USER_COLUMNS}, pregen_mode FROM users WHERE tier != 'none' AND ("
            "last_podcast_generated_at >= ? OR last_app_open_at >= ? OR podcast_listen_count >= 3 "
            "OR daily_podcast_enabled = 1) ORDER BY id"
        )
        .bind(moment - 7 * DAY, moment - 3 * DAY)
        .all()
    )["results"]
    return [u for u in (_user(r) for r in rows) if u is not None]


async def pregenerate(env: Any, concurrency: int | None = None) -> dict[str, Any]:
    moment = now(env)
    users = await active_users(env, moment)
    limit = concurrency or int(setting(env, "PREGEN_CONCURRENCY") or 5)
    semaphore = asyncio.Semaphore(limit)
    providers = choose(env)
    results: dict[str, Any] = {"total": 0, "successful": 0, "failed": 0, "skipped": 0, "errors": []}

    async def one(user: dict[str, Any]) -> None:
        kind = "weekly" if user["tier"] == "weekly" else "daily"
        if kind == "weekly" and local_day(moment, user["timezone"]).weekday() != 0:
            return
        partial = user.get("pregen_mode") == "script"
        if await cached_podcast(env, user, kind) is not None:
            results["skipped"] += 1
            return
        results["total"] += 1
        async with semaphore:
            try:

                async def step(name: str, value: int) -> None:
                    return None

                generated = await generate(env, user, kind, step, providers=providers, script_only=partial)
                if partial:
                    await cache_podcast(env, user, kind, generated.podcast, prefix="script")
                else:
                    await cache_podcast(env, user, kind, generated.podcast)
                    await save_podcast(env, user, kind, generated, "pregeneration")
            except Exception as exc:  # noqa: BLE001 - one user's failure is reported, not fatal
                results["failed"] += 1
                results["errors"].append({"userId": user["id"], "error": str(exc) or type(exc).__name__})
                await record(env, "pregen_failure", user["id"], 1, now(env))
                return
        results["successful"] += 1
        await record(env, "pregen_success", user["id"], 1, now(env))
        env.logger.info(
            json.dumps(
                {
                    "event": "podcast_delivery",
                    "stage": "pregenerated",
                    "userId": user["id"],
                    "type": kind,
                    "partial": partial,
                    "providers": generated.providers,
                }
            )
        )

    await asyncio.gather(*(one(u) for u in users))
    return results
