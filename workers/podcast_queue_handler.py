"""Runs queued podcast jobs: the pipeline with progress, the cache, metadata, a notification.

Retries with backoff (1, 2, 4 minutes) while attempts remain; on the last attempt the job is
marked ``failed`` and the message is left to the runtime, which moves it to the dead-letter
queue. MAX_ATTEMPTS matches ``max_retries: 3`` for this observer in ``raindrop.local.yaml``.
"""

from __future__ import annotations

import json
from typing import Any

from hakivo.news import generate_news_audio
from hakivo.podcast import (
    MESSAGES,
    Generated,
    cache_key,
    cache_podcast,
    generate,
    iso,
    load_job,
    now,
    progress,
    save_job,
    save_podcast,
)
from hakivo.store import record, user_by_id
from raindrop_gen import Env
from runtime import Each, Message

MAX_ATTEMPTS = 4


class PodcastQueueHandler(Each[Env]):
    async def process(self, message: Message) -> None:
        body: dict[str, Any] = message.body
        env = self.env
        job = await load_job(env, body["jobId"]) or {
            "jobId": body["jobId"],
            "userId": body["userId"],
            "type": body["type"],
            "createdAt": body.get("createdAt", iso(now(env))),
        }
        user = await user_by_id(env, body["userId"])
        try:
            if user is None:
                raise LookupError(f"user {body['userId']!r} does not exist")
            await progress(env, job, "start", 0)

            async def step(name: str, value: int) -> None:
                await progress(env, job, name, value)

            if body["type"] == "news_audio":
                generated: Generated = await generate_news_audio(env, user, body.get("topics") or user["topics"], step)
            else:
                key = cache_key(user["id"], body["type"], now(env), user["timezone"]).replace("podcast:", "script:", 1)
                script = await env.KV_CACHE.get(key, type="json")  # partial pre-generation made it at 3 am
                generated = await generate(
                    env, user, body["type"], step, bill_count=body.get("billCount"), script=script
                )
                await cache_podcast(env, user, body["type"], generated.podcast)
            await save_podcast(env, user, body["type"], generated, "queue")
        except Exception as exc:
            error = str(exc) or type(exc).__name__
            if message.attempts >= MAX_ATTEMPTS:
                job.update(status="failed", progress=0, message=MESSAGES["failed"], error=error, failedAt=iso(now(env)))
                await save_job(env, job)
                await env.USER_NOTIFICATIONS.send(
                    {
                        "userId": job["userId"],
                        "type": "podcast_failed",
                        "title": "Your podcast could not be generated",
                        "message": error,
                        "timestamp": iso(now(env)),
                    }
                )
                raise  # the runtime moves the message to the dead-letter queue
            job.update(status="queued", progress=0, message=MESSAGES["retrying"], error=error)
            await save_job(env, job)
            message.retry(delay_seconds=60 * 2 ** (message.attempts - 1))
            return
        podcast = generated.podcast
        job.update(
            status="complete",
            progress=100,
            message=MESSAGES["complete"],
            audioUrl=podcast["audioUrl"],
            duration=podcast["duration"],
            billsCovered=[b["id"] for b in podcast.get("billsCovered", [])],
            transcript=podcast["transcript"],
            completedAt=iso(now(env)),
        )
        job.pop("error", None)
        await save_job(env, job)
        created = job.get("createdEpoch")
        if isinstance(created, int | float):
            await record(env, "first_audio_seconds", user["id"], round(now(env) - created, 3), now(env))
        await env.USER_NOTIFICATIONS.send(
            {
                "userId": user["id"],
                "type": "podcast_ready",
                "title": "Your podcast is ready!",
                "message": f"Your {body['type'].replace('_', ' ')} podcast is ready to listen.",
                "audioUrl": podcast["audioUrl"],
                "timestamp": iso(now(env)),
            }
        )
        env.logger.info(
            json.dumps(
                {
                    "event": "podcast_delivery",
                    "stage": "generated",
                    "source": "queue",
                    "jobId": job["jobId"],
                    "userId": user["id"],
                    "type": body["type"],
                    "providers": generated.providers,
                }
            )
        )
