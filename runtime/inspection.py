"""What ``inspect`` reports about a manifest: resources, bindings, handler files and schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from runtime.clock import iso
from runtime.config import LocalSettings
from runtime.cron import next_fires
from runtime.kinds import STORE_KINDS, kinds_where
from runtime.manifest.model import (
    Actor,
    BucketSource,
    CodeResource,
    Manifest,
    Observer,
    QueueSource,
    ScheduleSource,
    Service,
    Task,
)
from runtime.typescript import typescript_file

SMART_KINDS = kinds_where(smart=True)


def ai_description(settings: LocalSettings) -> str:
    """How ``env.AI`` answers, from the local settings (no model is loaded for this)."""
    ai = settings.ai
    parts = [f"default {ai.default.provider}" + (f" ({ai.default.base_url})" if ai.default.base_url else "")]
    for name, chosen in sorted(ai.models.items()):
        target = chosen.model or name
        where = f" at {chosen.base_url}" if chosen.base_url else ""
        parts.append(f"{name}: {chosen.provider} ({target}{where})")
    return "; ".join(parts)


def describe(manifest: Manifest, settings: LocalSettings, now: datetime, fires: int = 3) -> dict[str, Any]:
    """A JSON-ready description of ``manifest``; schedules' next ``fires`` times are after ``now``."""
    app = manifest.application
    resources: list[dict[str, Any]] = []
    for resource in app.resources():
        entry: dict[str, Any] = {"kind": resource.kind, "name": resource.name, "line": resource.span.line}
        if resource.kind != "observer" and resource.kind != "task":
            entry["binding"] = f"env.{resource.binding}"
        if isinstance(resource, CodeResource):
            entry["handler"] = resource.handler
            entry["handler_exists"] = (manifest.root / resource.handler).is_file()
            entry["language"] = "python" if entry["handler_exists"] else None
            typescript = None if entry["handler_exists"] else typescript_file(resource, manifest.root)
            if typescript is not None:
                entry.update(handler=typescript.relative_to(manifest.root).as_posix(), handler_exists=True)
                entry["language"] = "typescript"
        if isinstance(resource, Service):
            entry["visibility"] = resource.visibility
        if isinstance(resource, Actor):
            entry["class"] = resource.class_name
        if isinstance(resource, Observer):
            source = resource.source
            if isinstance(source, QueueSource):
                entry["source"] = {"queue": source.queue}
            elif isinstance(source, BucketSource):
                entry["source"] = {
                    "bucket": source.bucket,
                    "rules": [{"actions": list(r.actions), "prefix": r.prefix} for r in source.rules],
                }
            elif isinstance(source, ScheduleSource):
                entry["source"] = {"schedule": source.schedule}
        if isinstance(resource, Task):
            entry["cron"] = resource.cron
        store_kind = STORE_KINDS.get(resource.kind)
        if store_kind is not None and store_kind.provider is not None:
            entry["provider"] = store_kind.provider
        if resource.kind == "env":
            entry["secret"] = getattr(resource, "secret", False)
            if getattr(resource, "service", None):
                entry["service"] = resource.service  # type: ignore[attr-defined]
        resources.append(entry)
    schedules = []
    for schedule in app.schedules():
        zone_name = settings.schedule(schedule.name).timezone
        upcoming = next_fires(schedule.cron, now, fires, ZoneInfo(zone_name))
        schedules.append(
            {
                "name": schedule.name,
                "kind": schedule.kind,
                "cron": schedule.cron,
                "timezone": zone_name,
                "next": [iso(t.timestamp()) for t in upcoming],
            }
        )
    return {
        "application": app.name,
        "manifest": str(manifest.path),
        "ai": {"binding": "env.AI", "providers": ai_description(settings)},
        "resources": resources,
        "schedules": schedules,
        "warnings": [d.as_dict() for d in manifest.warnings],
    }


def render_text(report: dict[str, Any]) -> str:
    lines = [f'application "{report["application"]}"  ({report["manifest"]})', ""]
    width = max((len(f'{r["kind"]} "{r["name"]}"') for r in report["resources"]), default=10)
    for r in report["resources"]:
        head = f'{r["kind"]} "{r["name"]}"'.ljust(width)
        parts = []
        if "binding" in r:
            parts.append(r["binding"])
        if "visibility" in r:
            parts.append(r["visibility"])
        if "source" in r:
            parts.append("reads " + ", ".join(f"{k} {v!r}" for k, v in r["source"].items() if k != "rules"))
        if "cron" in r:
            parts.append(f"cron {r['cron']!r}")
        if "class" in r:
            parts.append(f"class {r['class']}")
        if r.get("secret"):
            parts.append("secret")
        if "handler" in r:
            parts.append(r["handler"] + (f" ({r['language']})" if r["handler_exists"] else " (missing)"))
        if "provider" in r:
            parts.append(f"[{r['provider']}]")
        lines.append(f"  {head}  " + "  ".join(parts))
    lines.append(f"  {'built-in'.ljust(width)}  env.AI  [{report['ai']['providers']}]")
    if report["schedules"]:
        lines += ["", "schedules (next fires, UTC):"]
        for s in report["schedules"]:
            lines.append(f'  {s["kind"]} "{s["name"]}"  {s["cron"]!r} [{s["timezone"]}]  ' + ", ".join(s["next"]))
    return "\n".join(lines)
