"""CLI commands that operate an app's state: ``send``, ``queues`` and ``kv``.

They open the same backend as ``serve`` (the state directory's SQLite file by default), so a
running app sees a message sent here within a fraction of a second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from runtime.app import App
from runtime.bindings import MEM_NAMESPACE
from runtime.errors import BindingError
from runtime.kv import KvCache
from runtime.manifest.schema import closest
from runtime.queue import Queue

PROGRESS_EVERY = 5.0  # seconds between "still running" lines of long commands


class UsageError(Exception):
    """A mistake in the command's arguments (exit 2)."""


def add_state_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--manifest", default="raindrop.manifest", help="the app's manifest (default: %(default)s)")
    parser.add_argument("--state", default=None, help="state directory (default: .raindrop/ beside the manifest)")
    parser.add_argument("--backend", default=None, help="backend URL (default: the state directory's SQLite file)")


def register(commands: Any) -> None:
    send = commands.add_parser("send", help="send a message to a queue")
    send.add_argument("queue")
    send.add_argument("body", help="the message body, as JSON")
    send.add_argument("--delay", type=float, default=None, metavar="SECONDS")
    add_state_options(send)

    queues = commands.add_parser("queues", help="depth, in flight, delayed and dead letters per queue")
    queues.add_argument("--dead", metavar="QUEUE", help="list the dead letters of QUEUE with their last error")
    queues.add_argument("--redrive", metavar="QUEUE", help="move QUEUE's dead letters back onto it")
    queues.add_argument("--purge-dead", metavar="QUEUE", help="delete QUEUE's dead letters")
    queues.add_argument("--json", action="store_true")
    add_state_options(queues)

    trigger = commands.add_parser("trigger", help="run a scheduled handler (task or cron observer) now")
    trigger.add_argument("name")
    add_state_options(trigger)

    kv = commands.add_parser("kv", help="read and write a KV cache")
    kv.add_argument("namespace", help="the kv_cache's name from the manifest, or _mem for env.mem")
    actions = kv.add_subparsers(dest="action", required=True, metavar="ACTION")
    get = actions.add_parser("get")
    get.add_argument("key")
    put = actions.add_parser("put")
    put.add_argument("key")
    put.add_argument("value")
    put.add_argument("--ttl", type=float, default=None, metavar="SECONDS")
    put.add_argument("--metadata", default=None, help="JSON metadata")
    delete = actions.add_parser("delete")
    delete.add_argument("key")
    listing = actions.add_parser("list")
    listing.add_argument("--prefix", default=None)
    listing.add_argument("--limit", type=int, default=1000)
    for sub in (get, put, delete, listing):
        add_state_options(sub)


async def run(args: argparse.Namespace, out: TextIO) -> int:
    app = App.from_manifest(Path(args.manifest), backend=args.backend, state_dir=args.state)
    await app.start(consume=False, handlers=args.command == "trigger")
    try:
        handler: Callable[[App, argparse.Namespace, TextIO], Awaitable[int]] = {
            "send": _send,
            "queues": _queues,
            "kv": _kv,
            "trigger": _trigger,
        }[args.command]
        return await handler(app, args, out)
    finally:
        await app.stop()


def _binding(app: App, kind: str, name: str) -> Any:
    if name == MEM_NAMESPACE and "kv_cache" in kind:
        return app.env.mem  # the built-in env.mem
    stores = [s for s in app.manifest.application.stores if s.kind in kind.split("|")]
    names = [s.name for s in stores]
    if name not in names:
        guess = closest(name, names)
        hint = f"; did you mean {guess!r}?" if guess else (f" (declared: {', '.join(names)})" if names else "")
        raise UsageError(f"the manifest declares no {kind.split('|')[0]} {name!r}{hint}")
    return getattr(app.env, next(s.binding for s in stores if s.name == name))


async def _send(app: App, args: argparse.Namespace, out: TextIO) -> int:
    queue: Queue = _binding(app, "queue", args.queue)
    try:
        body = json.loads(args.body)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"the message body is not valid JSON: {exc.msg} at column {exc.colno} of {args.body!r}"
        ) from None
    await queue.send(body, delay_seconds=args.delay)
    delay = f" (visible in {args.delay:g} s)" if args.delay else ""
    print(f"sent to {args.queue}{delay}", file=out)
    return 0


async def _queues(app: App, args: argparse.Namespace, out: TextIO) -> int:
    store = app.backend.queues
    now = app.clock.time()
    for option in ("dead", "redrive", "purge_dead"):
        target = getattr(args, option)
        if target is None:
            continue
        try:  # a queue, or its dead-letter queue by name
            dead_queue = app.dead_queue_named(target)
        except KeyError as exc:
            raise UsageError(exc.args[0]) from None
        if option == "redrive":
            moved = await store.redrive(dead_queue, now)
            print(
                f"re-drove {moved} message(s) from {dead_queue} to {'their queues' if dead_queue == target else target}",
                file=out,
            )
        elif option == "purge_dead":
            print(f"purged {await store.purge(dead_queue)} dead letter(s) of {target}", file=out)
        else:
            letters = await app.dead_letters(target, 1000)
            if args.json:
                print(json.dumps([_letter(m) for m in letters], indent=2), file=out)
            for m in [] if args.json else letters:
                last = (m.last_error or "").strip().splitlines()[-1:] or ["(no error recorded)"]
                print(
                    f"{m.id}  attempts={m.attempts}  {last[0]}\n    body: {m.body[:200].decode(errors='replace')}",
                    file=out,
                )
            if not letters and not args.json:
                print(f"no dead letters for {target}", file=out)
        return 0
    stats = await app.queue_stats()
    if args.json:
        print(json.dumps({q: {**asdict(s), "depth": s.depth} for q, s in stats.items()}, indent=2), file=out)
        return 0
    width = max([len(q) for q in stats] + [5])
    print(f"{'queue':<{width}}  {'depth':>7} {'ready':>7} {'in flight':>9} {'delayed':>7} {'dead':>6}", file=out)
    for name, s in stats.items():
        print(
            f"{name:<{width}}  {s.depth:>7} {s.ready:>7} {s.in_flight:>9} {s.delayed:>7} {s.dead_lettered:>6}", file=out
        )
    return 0


async def _trigger(app: App, args: argparse.Namespace, out: TextIO) -> int:
    names = list(app.schedules())
    if args.name not in names:
        guess = closest(args.name, names)
        hint = f"; did you mean {guess!r}?" if guess else (f" (schedules: {', '.join(names)})" if names else "")
        raise UsageError(f"the manifest declares no scheduled task or cron observer {args.name!r}{hint}")
    started = time.monotonic()
    run = asyncio.ensure_future(app.fire(args.name))
    while not run.done():  # long runs (a pre-generation of many users) show that they are alive
        await asyncio.wait({run}, timeout=PROGRESS_EVERY)
        if not run.done():
            print(f"{args.name}: still running ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
    try:
        run.result()
    except Exception as exc:  # noqa: BLE001 - reported as the command's failure (exit 1)
        print(f"{args.name} failed: {type(exc).__name__}: {exc}", file=out)
        return 1
    print(f"{args.name} ran in {(time.monotonic() - started) * 1000:.0f} ms", file=out)
    return 0


def _letter(m: Any) -> dict[str, Any]:
    return {"id": m.id, "attempts": m.attempts, "last_error": m.last_error, "body": m.body.decode(errors="replace")}


async def _kv(app: App, args: argparse.Namespace, out: TextIO) -> int:
    kv: KvCache = _binding(app, "kv_cache|kv_store", args.namespace)
    if args.action == "get":
        found = await kv.get_with_metadata(args.key)
        if found["value"] is None:
            print(f"{args.key!r} is not set (or has expired)", file=out)
            return 1
        print(found["value"], file=out)
    elif args.action == "put":
        metadata = None
        if args.metadata is not None:
            try:
                metadata = json.loads(args.metadata)
            except json.JSONDecodeError as exc:
                raise UsageError(f"--metadata is not valid JSON: {exc.msg}") from None
        await kv.put(args.key, args.value, expiration_ttl=args.ttl, metadata=metadata)
        print(f"put {args.key!r}", file=out)
    elif args.action == "delete":
        await kv.delete(args.key)
        print(f"deleted {args.key!r}", file=out)
    else:
        try:
            page = await kv.list(prefix=args.prefix, limit=args.limit)
        except BindingError as exc:
            raise UsageError(str(exc)) from None
        for key in page["keys"]:
            expiry = f"  expires {key['expiration']}" if key["expiration"] else ""
            meta = f"  metadata {json.dumps(key['metadata'])}" if key["metadata"] is not None else ""
            print(f"{key['name']}{expiry}{meta}", file=out)
        if not page["list_complete"]:
            print("... more keys (use --limit, up to 1000)", file=out)
    return 0
