"""The dashboard's browsers: buckets (list, download, metadata) and SQL databases (tables, rows,
a read-only query box), plus the live feed its charts draw from (server-sent events).

Queries in the SQL box run in a worker thread on a connection of their own, read-only and
with limits on time, size and what they may touch (see :mod:`runtime.dashboard_sql`), so
nothing typed there can change the app's data, create files, or stall or exhaust the server.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio.to_thread
import sqlite_utils
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from runtime.app import App
from runtime.buckets import Bucket
from runtime.clock import iso
from runtime.dashboard_sql import MAX_ROWS, QUERY_SECONDS, QueryRefused, read_only, run_query
from runtime.kinds import kinds_where
from runtime.services import loads_json
from runtime.smart.buckets import SmartBucket

FEED_SECONDS = 1.0  # one point per second on the live charts


def routes(app: App, api: str, stopping: asyncio.Event | None) -> list[Route]:
    browse = Browse(app, stopping)
    return [
        Route(api + "/buckets", browse.buckets),
        Route(api + "/buckets/{name}", browse.bucket_objects),
        Route(api + "/buckets/{name}/object", browse.bucket_object),
        Route(api + "/sql", browse.databases),
        Route(api + "/sql/{db}/tables/{table}", browse.table_rows),
        Route(api + "/sql/{db}/query", browse.query, methods=["POST"]),
        Route(api + "/queues/{queue}/messages", browse.queue_messages),
        Route(api + "/events", browse.events),
    ]


def _error(text: str, status: int = 404) -> JSONResponse:
    return JSONResponse({"error": text}, status_code=status)


class Browse:
    def __init__(self, app: App, stopping: asyncio.Event | None) -> None:
        self.app = app
        self.stopping = stopping
        self._queries: anyio.CapacityLimiter | None = None

    # -- buckets ----------------------------------------------------------------------------------

    def _buckets(self) -> dict[str, Bucket]:
        found: dict[str, Bucket] = {}
        for store in self.app.manifest.application.stores_of(*kinds_where(browse="buckets")):
            binding = getattr(self.app.env, store.binding)
            found[store.name] = binding.bucket if isinstance(binding, SmartBucket) else binding
        return found

    async def buckets(self, request: Request) -> Response:
        kinds = {s.name: s.kind for s in self.app.manifest.application.stores_of(*kinds_where(browse="buckets"))}
        return JSONResponse([{"name": name, "kind": kinds[name]} for name in self._buckets()])

    async def bucket_objects(self, request: Request) -> Response:
        bucket = self._buckets().get(request.path_params["name"])
        if bucket is None:
            return _error(f"no bucket named {request.path_params['name']!r}")
        page = await bucket.list(
            prefix=request.query_params.get("prefix") or None,
            cursor=request.query_params.get("cursor") or None,
            limit=200,
            include=["http_metadata", "custom_metadata"],
        )
        objects = [o.as_dict() if hasattr(o, "as_dict") else o for o in page["objects"]]
        return JSONResponse({"objects": objects, "truncated": page["truncated"], "cursor": page.get("cursor")})

    async def bucket_object(self, request: Request) -> Response:
        """The object's bytes as a download (never rendered in the dashboard's origin)."""
        bucket = self._buckets().get(request.path_params["name"])
        key = request.query_params.get("key")
        if bucket is None or key is None:
            return _error("name a bucket and ?key=")
        found = await bucket.get(key)
        if found is None:
            return _error(f"bucket {bucket.name!r} has no object {key!r}")
        filename = quote(key.rsplit("/", 1)[-1] or "object", safe="")
        headers = {
            "Content-Disposition": f"attachment; filename*=UTF-8''{filename}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "X-Object-Metadata": json.dumps(found.custom_metadata),
        }
        return Response(found.body, media_type="application/octet-stream", headers=headers)

    # -- SQL --------------------------------------------------------------------------------------

    def _database(self, name: str) -> Path | None:
        database = self.app.databases.get(name)
        return database.path if database is not None else None

    async def databases(self, request: Request) -> Response:
        """Tables, columns and row counts, read off the event loop like every query here."""

        def tables(path: Path) -> list[dict[str, Any]]:
            with read_only(path) as conn:
                db = sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
                return [
                    {
                        "name": t,
                        "rows": db[t].count,
                        "columns": [{"name": c.name, "type": c.type} for c in db[t].columns],
                    }
                    for t in db.table_names()
                    if not t.startswith(("_raindrop", "_smartsql", "sqlite_", "_cf_", "d1_migrations"))
                ]

        found = {}
        for name, database in sorted(self.app.databases.items()):
            found[name] = await anyio.to_thread.run_sync(tables, database.path)
        return JSONResponse(found)

    async def table_rows(self, request: Request) -> Response:
        path = self._database(request.path_params["db"])
        if path is None:
            return _error(f"no SQL database named {request.path_params['db']!r}")
        table = request.path_params["table"]
        offset_text = request.query_params.get("offset", "0") or "0"
        if not (offset_text.isascii() and offset_text.isdigit()) or len(offset_text) > 12:
            return _error(f"offset must be a whole number of rows, not {offset_text[:40]!r}", 400)
        offset = int(offset_text)
        quoted = '"' + table.replace('"', '""') + '"'
        return await self._read(path, f"SELECT * FROM {quoted} LIMIT {MAX_ROWS} OFFSET {offset}")

    async def query(self, request: Request) -> Response:
        path = self._database(request.path_params["db"])
        if path is None:
            return _error(f"no SQL database named {request.path_params['db']!r}")
        try:
            sql = loads_json(await request.body())["sql"]
        except (ValueError, KeyError, TypeError):
            return _error('send {"sql": "SELECT ..."}', 400)
        if not isinstance(sql, str) or not sql.strip():
            return _error('send {"sql": "SELECT ..."}', 400)
        return await self._read(path, sql)

    async def _read(self, path: Path, sql: str) -> Response:
        if self._queries is None:  # two at a time: the box cannot take every worker thread
            self._queries = anyio.CapacityLimiter(2)
        try:
            return JSONResponse(await anyio.to_thread.run_sync(run_query, path, sql, limiter=self._queries))
        except QueryRefused as exc:
            return _error(str(exc), 400)
        except (sqlite3.Warning, sqlite3.ProgrammingError) as exc:  # more than one statement
            return _error(f"one statement at a time: {exc}", 400)
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "interrupted" in text:
                text = f"the query ran past {QUERY_SECONDS:g} s and was stopped"
            elif "readonly" in text or "read-only" in text:
                text = f"the query box is read-only: {exc}"
            return _error(text, 400)
        except sqlite3.Error as exc:
            return _error(str(exc), 400)

    # -- queue bodies -----------------------------------------------------------------------------

    async def queue_messages(self, request: Request) -> Response:
        name = request.path_params["queue"]
        if name not in [q.name for q in self.app.manifest.application.queues]:
            return _error(f"no queue named {name!r}")
        waiting = await self.app.backend.queues.peek(name, 100)
        return JSONResponse(
            [
                {
                    "id": m.id,
                    "attempts": m.attempts,
                    "body": m.body.decode(errors="replace"),
                    "content_type": m.content_type,
                    "sent_at": iso(m.created_at),
                }
                for m in waiting
            ]
        )

    # -- the live feed ----------------------------------------------------------------------------

    async def events(self, request: Request) -> Response:
        return StreamingResponse(
            self._feed(request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _feed(self, request: Request) -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        counted = self.app.runs_total
        while not (self.stopping is not None and self.stopping.is_set()):
            stats = await self.app.queue_stats()
            new = self.app.runs_total - counted
            counted = self.app.runs_total
            fresh = list(self.app.runs)[-new:] if new else []
            durations = [r.duration_ms for r in fresh]
            point = {
                "t": round(time.time(), 3),
                "depth": {name: s.depth for name, s in stats.items()},
                "dead": {name: s.dead_lettered for name, s in stats.items()},
                "runs": new,
                "failures": sum(1 for r in fresh if r.outcome != "ok"),
                "mean_ms": round(sum(durations) / len(durations), 2) if durations else None,
            }
            yield f"data: {json.dumps(point)}\n\n"
            if await request.is_disconnected():
                return
            try:
                if self.stopping is not None:
                    await asyncio.wait_for(self.stopping.wait(), FEED_SECONDS)
                else:
                    await asyncio.sleep(FEED_SECONDS)
            except TimeoutError:
                pass
