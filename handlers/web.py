"""The HakiVo web service: the page, the podcast API, the cron endpoint, metrics and local audio."""

from __future__ import annotations

import hmac
import json
import re
import secrets
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from hakivo import setting
from hakivo.auth import current_user
from hakivo.podcast import MESSAGES, cached_podcast, iso, load_job, now, save_job
from hakivo.pregeneration import pregenerate
from hakivo.store import metrics, record_request
from raindrop_gen import Env
from runtime import BindingError, Service

POLL_INTERVAL = 3000


MAX_BILLS = 250  # the most bills Congress.gov lists in one page
MAX_SQLITE_INTEGER = 2**63 - 1


def error(message: str, status: int, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _bill_count(value: Any) -> bool:
    """Whether ``value`` is a bill count the generator can use: 1..MAX_BILLS, as a number or digits."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 3:
        value = int(value)
    return type(value) is int and 1 <= value <= MAX_BILLS


class Web(Service[Env]):
    async def fetch(self, request: Request) -> Response:
        path, method = request.scope["path"], request.method
        if path == "/" and method == "GET":
            return HTMLResponse(resources.files("hakivo").joinpath("page.html").read_text())
        if path == "/api/generate-podcast":
            return await (self.generate(request) if method == "POST" else self.generate_info())
        if path == "/api/generate-news-audio" and method == "POST":
            return await self.generate(request, news=True)
        if path.startswith("/api/audio-status/"):
            return await self.audio_status(request, path.removeprefix("/api/audio-status/"))
        if path == "/api/cron/pregenerate-podcasts":
            return await (self.pregenerate(request) if method == "POST" else self.cron_info())
        if path == "/api/podcasts" and method == "GET":
            return await self.podcasts(request)
        if path == "/api/me" and method == "GET":
            return await self.me(request)
        listened = re.fullmatch(r"/api/podcasts/(\d{1,19})/listen", path)
        # Podcast ids are SQLite integers: a number past the largest names no podcast (404).
        if listened and int(listened.group(1)) <= MAX_SQLITE_INTEGER and method == "POST":
            return await self.listen(request, int(listened.group(1)))
        if path == "/api/notifications" and method == "GET":
            return await self.notifications(request)
        if path == "/api/metrics" and method == "GET":
            if await current_user(self.env, request) is None:  # with AUTH=required, only signed-in users
                return error("Not authenticated", 401)
            return JSONResponse(await metrics(self.env))
        if path.startswith("/cdn/") and method in ("GET", "HEAD"):
            return await self.cdn(request, path.removeprefix("/cdn/"))
        return error("Not found", 404)

    # -- generation ---------------------------------------------------------------------------

    async def generate(self, request: Request, news: bool = False) -> Response:
        env = self.env
        user = await current_user(env, request)
        if user is None:
            return error("Not authenticated", 401)
        try:
            body = await request.json() if await request.body() else {}
        except ValueError:
            return error("The request body must be JSON", 400)
        if not isinstance(body, dict):
            return error("The request body must be a JSON object", 400)
        topics = body.get("topics")
        if not (topics is None or (isinstance(topics, list) and all(isinstance(t, str) for t in topics))):
            return error("topics must be a list of strings", 400)
        bill_count = body.get("billCount")
        if "billCount" in body and not _bill_count(bill_count):
            return error(f"billCount must be a whole number from 1 to {MAX_BILLS}", 400)
        kind = "news_audio" if news else body.get("type", "daily")
        if kind not in ("daily", "weekly", "news_audio"):
            return error('Invalid type. Must be "daily" or "weekly"', 400)
        moment = now(env)
        if not news and not body.get("forceRegenerate", False):
            cached = await cached_podcast(env, user, kind)
            if cached is not None:
                await record_request(env, user, "cache_hit", moment)
                env.logger.info(
                    json.dumps(
                        {
                            "event": "podcast_delivery",
                            "stage": "served",
                            "source": "cache",
                            "userId": user["id"],
                            "type": kind,
                        }
                    )
                )
                return JSONResponse(
                    {
                        "success": True,
                        "cached": True,
                        "audioUrl": cached["audioUrl"],
                        "transcript": cached["transcript"],
                        "billsCovered": cached["billsCovered"],
                        "duration": cached["duration"],
                        "generatedAt": cached["generatedAt"],
                        "message": "Your podcast is ready! (Pre-generated)",
                        "source": "cache",
                    }
                )
        await record_request(env, user, None if news else "cache_miss", moment)
        # The design's shape (user-type-epoch ms) plus 64 random bits: ids cannot be guessed.
        job_id = f"{user['id']}-{kind}-{int(moment * 1000)}-{secrets.token_hex(8)}"
        created = iso(moment)
        job = {
            "jobId": job_id,
            "userId": user["id"],
            "type": kind,
            "status": "queued",
            "progress": 0,
            "message": MESSAGES["queued"],
            "createdAt": created,
            "createdEpoch": moment,
        }
        await save_job(env, job)
        message: dict[str, Any] = {"jobId": job_id, "userId": user["id"], "type": kind, "createdAt": created}
        if news:
            message["topics"] = body.get("topics") or user["topics"]
        elif "billCount" in body:
            message["billCount"] = int(str(bill_count))
        try:
            await env.PODCAST_GENERATION_QUEUE.send(message, content_type="json")
        except Exception as exc:  # noqa: BLE001 - reported to the caller as the design's 500
            return error("Failed to submit podcast generation job", 500, details=str(exc))
        env.logger.info(
            json.dumps(
                {
                    "event": "podcast_delivery",
                    "stage": "queued",
                    "source": "queue",
                    "jobId": job_id,
                    "userId": user["id"],
                    "type": kind,
                }
            )
        )
        label = "news audio" if news else f"{kind} podcast"
        return JSONResponse(
            {
                "success": True,
                "jobId": job_id,
                "status": "queued",
                "message": f"Your {label} is being generated. Check status at /api/audio-status/{job_id}",
                "estimatedDuration": 120 if kind == "weekly" else 60,
                "pollUrl": f"/api/audio-status/{job_id}",
                "pollInterval": POLL_INTERVAL,
            }
        )

    async def generate_info(self) -> Response:
        def configured(*names: str) -> str:
            return "configured" if all(setting(self.env, name) for name in names) else "missing"

        return JSONResponse(
            {
                "service": "Podcast Generation API",
                "status": "online",
                "integrations": {
                    "congress": configured("CONGRESS_API_KEY"),
                    "claude": configured("ANTHROPIC_API_KEY"),
                    "elevenlabs": configured("ELEVENLABS_API_KEY"),
                    "vultr": configured("VULTR_STORAGE_ENDPOINT", "VULTR_ACCESS_KEY", "VULTR_SECRET_KEY"),
                },
                "note": "Missing integrations use offline providers that say so in the logs and the job's providers.",
            }
        )

    async def audio_status(self, request: Request, job_id: str) -> Response:
        user = await current_user(self.env, request)
        if user is None:
            return error("Not authenticated", 401)
        job = await load_job(self.env, job_id)
        if job is None or job.get("userId") != user["id"]:
            # Someone else's job reads exactly like a missing one, so ids cannot be probed.
            # (The owner is stored, so user ids containing "-" are safe.)
            return error("Job not found", 404)
        return JSONResponse({"success": True, **{k: v for k, v in job.items() if k != "createdEpoch"}})

    # -- pre-generation --------------------------------------------------------------------------

    async def pregenerate(self, request: Request) -> Response:
        secret = self.env.CRON_SECRET or ""
        header = request.headers.get("authorization", "")
        given = header[7:] if header.startswith("Bearer ") else ""
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            return error("Unauthorized", 401)
        started = now(self.env)
        try:
            results = await pregenerate(self.env)
        except Exception as exc:  # noqa: BLE001 - the design's 500 body
            return JSONResponse(
                {"success": False, "error": "Pre-generation failed", "details": str(exc)}, status_code=500
            )
        minutes = (now(self.env) - started) / 60
        return JSONResponse({"success": True, "results": results, "duration": f"{minutes:.2f} minutes"})

    async def cron_info(self) -> Response:
        return JSONResponse(
            {
                "endpoint": "/api/cron/pregenerate-podcasts",
                "schedule": "0 3 * * * (3am daily)",
                "method": "POST",
                "auth": "Authorization: Bearer <CRON_SECRET>",
                "note": "The podcast-pregeneration-cron observer runs the same pre-generation on schedule.",
            }
        )

    # -- history, listens, notifications ---------------------------------------------------------------

    async def me(self, request: Request) -> Response:
        user = await current_user(self.env, request)
        if user is None:
            return error("Not authenticated", 401)
        return JSONResponse({k: user[k] for k in ("id", "name", "tier", "timezone", "topics")})

    async def podcasts(self, request: Request) -> Response:
        user = await current_user(self.env, request)
        if user is None:
            return error("Not authenticated", 401)
        rows = (
            await self.env.HAKIVO_DB.prepare(
                "SELECT id, type, audio_url, transcript, bills_covered, duration, generated_at, source FROM podcasts "
                "WHERE user_id = ? ORDER BY generated_at DESC, id DESC LIMIT 50"
            )
            .bind(user["id"])
            .all()
        )["results"]
        return JSONResponse(
            {
                "podcasts": [
                    {
                        "id": r["id"],
                        "type": r["type"],
                        "audioUrl": r["audio_url"],
                        "transcript": r["transcript"],
                        "billsCovered": json.loads(r["bills_covered"]),
                        "duration": r["duration"],
                        "generatedAt": iso(r["generated_at"]),
                        "source": r["source"],
                    }
                    for r in rows
                ]
            }
        )

    async def listen(self, request: Request, podcast_id: int) -> Response:
        user = await current_user(self.env, request)
        if user is None:
            return error("Not authenticated", 401)
        row = await self.env.HAKIVO_DB.prepare("SELECT user_id FROM podcasts WHERE id = ?").bind(podcast_id).first()
        if row is None or row["user_id"] != user["id"]:
            return error("Podcast not found", 404)
        await self.env.HAKIVO_DB.batch(
            [
                self.env.HAKIVO_DB.prepare("INSERT INTO listens (user_id, podcast_id, at) VALUES (?, ?, ?)").bind(
                    user["id"], podcast_id, now(self.env)
                ),
                self.env.HAKIVO_DB.prepare(
                    "UPDATE users SET podcast_listen_count = podcast_listen_count + 1 WHERE id = ?"
                ).bind(user["id"]),
            ]
        )
        return JSONResponse({"success": True})

    async def notifications(self, request: Request) -> Response:
        user = await current_user(self.env, request)
        if user is None:
            return error("Not authenticated", 401)
        rows = (
            await self.env.HAKIVO_DB.prepare(
                "SELECT type, title, message, created_at FROM notifications WHERE user_id = ? ORDER BY id DESC LIMIT 20"
            )
            .bind(user["id"])
            .all()
        )["results"]
        return JSONResponse({"notifications": [{**r, "created_at": iso(r["created_at"])} for r in rows]})

    # -- local playback ------------------------------------------------------------------------------------

    async def cdn(self, request: Request, key: str) -> Response:
        try:
            head = await self.env.PODCAST_AUDIO.head(key)
        except BindingError:  # not a key the bucket can hold (a NUL, over 1,024 bytes): nothing is there
            return error("Not found", 404)
        if head is None:
            return error("Not found", 404)
        content_type = head.http_metadata.get("contentType", "application/octet-stream")
        headers = {"Accept-Ranges": "bytes", "ETag": head.http_etag, "Cache-Control": "public, max-age=31536000"}
        wanted = request.headers.get("range")
        if wanted:
            match = re.fullmatch(r"bytes=(\d*)-(\d*)", wanted.strip())
            if match is None or (not match.group(1) and not match.group(2)):
                return Response(status_code=416, headers={"Content-Range": f"bytes */{head.size}"})
            if match.group(1):
                start = int(match.group(1))
                end = min(int(match.group(2)), head.size - 1) if match.group(2) else head.size - 1
            else:
                start, end = max(0, head.size - int(match.group(2))), head.size - 1
            if start >= head.size or end < start:
                return Response(status_code=416, headers={"Content-Range": f"bytes */{head.size}"})
            part = await self.env.PODCAST_AUDIO.get(key, range={"offset": start, "length": end - start + 1})
            if part is None:  # deleted since the head
                return error("Audio not found", 404)
            headers["Content-Range"] = f"bytes {start}-{end}/{head.size}"
            return Response(
                part.body if request.method == "GET" else b"", status_code=206, media_type=content_type, headers=headers
            )
        obj = await self.env.PODCAST_AUDIO.get(key)
        if obj is None:
            return error("Audio not found", 404)
        return Response(obj.body if request.method == "GET" else b"", media_type=content_type, headers=headers)
