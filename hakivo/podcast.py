"""The podcast pipeline, its cache and its job records.

Steps and progress are the design's: 0 queued, 0 processing, 20 bills, 40 script, 60 audio,
80 upload, 90 metadata, 100 complete (or ``failed`` with the error).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hakivo import setting
from hakivo.providers import AudioMaker, BillsProvider, Line, ScriptWriter, audio_seconds, choose, estimated_cost

log = logging.getLogger("hakivo")

JOB_TTL = 3600
BILL_COUNT = {"daily": 3, "weekly": 8}
MESSAGES = {
    "queued": "Job submitted to queue...",
    "start": "Starting podcast generation...",
    "bills": "Fetching congressional bills...",
    "script": "Generating dialogue script with AI...",
    "audio": "Creating audio with ElevenLabs (this takes a minute)...",
    "upload": "Uploading to cloud storage...",
    "metadata": "Saving podcast metadata...",
    "complete": "Your podcast is ready!",
    "failed": "Podcast generation failed",
    "retrying": "Retrying...",
}


def now(env: Any) -> float:
    return float(env.clock.time()) if getattr(env, "clock", None) is not None else time.time()


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, ZoneInfo("UTC")).isoformat().replace("+00:00", "Z")


# -- the cache ------------------------------------------------------------------------------------


def local_day(moment: float, timezone: str) -> datetime:
    return datetime.fromtimestamp(moment, ZoneInfo(timezone or "UTC"))


def cache_key(user_id: str, kind: str, moment: float, timezone: str) -> str:
    """``podcast:{userId}:{type}:{YYYY-MM-DD}``, the date in the user's own time zone."""
    return f"podcast:{user_id}:{kind}:{local_day(moment, timezone):%Y-%m-%d}"


def end_of_day(moment: float, timezone: str) -> float:
    day = local_day(moment, timezone).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day + timedelta(days=1)).timestamp() - 0.001


async def cached_podcast(env: Any, user: dict[str, Any], kind: str) -> dict[str, Any] | None:
    value = await env.KV_CACHE.get(cache_key(user["id"], kind, now(env), user["timezone"]), type="json")
    return value if isinstance(value, dict) else None


async def cache_podcast(
    env: Any, user: dict[str, Any], kind: str, podcast: dict[str, Any], *, prefix: str = "podcast"
) -> None:
    """Cache until the end of the user's day (at least the platform's 60 s minimum TTL)."""
    moment = now(env)
    expires = end_of_day(moment, user["timezone"])
    key = cache_key(user["id"], kind, moment, user["timezone"]).replace("podcast:", f"{prefix}:", 1)
    await env.KV_CACHE.put(
        key, json.dumps({**podcast, "expiresAt": iso(expires)}), expiration_ttl=max(60, int(expires - moment))
    )


# -- job records --------------------------------------------------------------------------------------


async def save_job(env: Any, record: dict[str, Any]) -> None:
    """The job record in KV (``job:{id}``, 1 h) and in the user's actor (current job, history)."""
    await env.KV_CACHE.put(f"job:{record['jobId']}", json.dumps(record), expiration_ttl=JOB_TTL)
    actor = env.PODCAST_GENERATOR.get(env.PODCAST_GENERATOR.id_from_name(record["userId"]))
    await actor.update_status(record)


#: Job ids are a user id, the kind, a time and 16 hex digits: far shorter than this.
MAX_JOB_ID_BYTES = 400


async def load_job(env: Any, job_id: str) -> dict[str, Any] | None:
    if not 0 < len(job_id.encode(errors="replace")) <= MAX_JOB_ID_BYTES:
        return None  # no job has such an id (and KV keys stop at 512 bytes)
    value = await env.KV_CACHE.get(f"job:{job_id}", type="json")
    return value if isinstance(value, dict) else None


async def progress(env: Any, record: dict[str, Any], step: str, value: int, status: str = "processing") -> None:
    record.update(status=status, progress=value, message=MESSAGES[step])
    if step == "start":
        record["startedAt"] = iso(now(env))
    await save_job(env, record)


# -- the pipeline ------------------------------------------------------------------------------------


@dataclass
class Generated:
    podcast: dict[str, Any]
    cost: float
    providers: dict[str, str]


Step = Callable[[str, int], Awaitable[None]]


async def generate(
    env: Any,
    user: dict[str, Any],
    kind: str,
    step: Step,
    *,
    providers: tuple[BillsProvider, ScriptWriter, AudioMaker] | None = None,
    script_only: bool = False,
    bill_count: int | None = None,
    script: dict[str, Any] | None = None,
) -> Generated:
    """Bills -> script -> audio -> upload -> metadata. ``script_only`` stops after the script
    (partial pre-generation); ``script`` (a pre-generated one) skips the bills and script steps."""
    bills_provider, writer, audio_maker = providers or choose(env)
    await step("bills", 20)
    if script is not None:
        lines = line_objects(script["lines"])
        covered = list(script["billsCovered"])
        await step("script", 40)
    else:
        bills = await bills_provider.recent(bill_count or BILL_COUNT.get(kind, 3))
        if not bills:
            from hakivo.providers import ProviderError

            raise ProviderError("No bills available")
        await step("script", 40)
        lines = await writer.write(bills, kind)
        covered = [b.as_covered() for b in bills]
    transcript = "\n\n".join(f"{line.host.upper()}: {line.text}" for line in lines)
    names = {"bills": bills_provider.name, "script": writer.name, "audio": audio_maker.name}
    if script_only:
        return Generated(
            {"transcript": transcript, "lines": [line.__dict__ for line in lines], "billsCovered": covered},
            estimated_cost(len(transcript), writer.offline, True),
            names,
        )
    await step("audio", 60)
    audio = await audio_maker.render(lines)
    await step("upload", 80)
    moment = now(env)
    stamp = iso(moment).replace(":", "-").replace(".", "-")
    key = f"{user['id']}/{kind}/{stamp}.{audio_maker.extension}"
    duration = audio_seconds(audio, audio_maker.content_type)
    await env.PODCAST_AUDIO.put(
        key,
        audio,
        http_metadata={"contentType": audio_maker.content_type, "cacheControl": "public, max-age=31536000"},
        custom_metadata={
            "userId": user["id"],
            "type": kind,
            "duration": str(duration),
            "billsCovered": ",".join(b["id"] for b in covered),
            "generatedAt": iso(moment),
        },
    )
    cdn = setting(env, "VULTR_CDN_URL")
    audio_url = f"{cdn.rstrip('/')}/{key}" if cdn else f"/cdn/{key}"
    podcast = {
        "audioUrl": audio_url,
        "transcript": transcript,
        "billsCovered": covered,
        "duration": duration,
        "generatedAt": iso(moment),
    }
    await step("metadata", 90)
    return Generated(podcast, estimated_cost(len(transcript), writer.offline, audio_maker.offline), names)


async def save_podcast(env: Any, user: dict[str, Any], kind: str, generated: Generated, source: str) -> None:
    podcast = generated.podcast
    await (
        env.HAKIVO_DB.prepare(
            "INSERT INTO podcasts (user_id, type, audio_url, transcript, bills_covered, duration, generated_at, source, cost) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        .bind(
            user["id"],
            kind,
            podcast["audioUrl"],
            podcast["transcript"],
            json.dumps(podcast["billsCovered"]),
            podcast["duration"],
            now(env),
            source,
            generated.cost,
        )
        .run()
    )
    await (
        env.HAKIVO_DB.prepare("UPDATE users SET last_podcast_generated_at = ? WHERE id = ?")
        .bind(now(env), user["id"])
        .run()
    )


def line_objects(data: list[dict[str, str]]) -> list[Line]:
    return [Line(d["host"], d["text"]) for d in data]
