"""What ``inspect`` reports about a manifest: resources, bindings, handler files and schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from runtime.clock import iso
from runtime.config import LocalSettings
from runtime.cron import next_fires
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
            parts.append(r["handler"] + ("" if r["handler_exists"] else " (missing)"))
        lines.append(f"  {head}  " + "  ".join(parts))
    if report["schedules"]:
        lines += ["", "schedules (next fires, UTC):"]
        for s in report["schedules"]:
            lines.append(f'  {s["kind"]} "{s["name"]}"  {s["cron"]!r} [{s["timezone"]}]  ' + ", ".join(s["next"]))
    return "\n".join(lines)
