"""The built-ins every module gets besides its bindings: env.tracer, env.annotation, and
protected services served behind a bearer token."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from runtime import App
from tests.test_serve import Served

pytestmark = pytest.mark.anyio

SERVICE = """
from starlette.responses import JSONResponse
from runtime import Service


class Admin(Service):
    async def fetch(self, request):
        with self.env.tracer.start_span("admin-request", {"path": request.url.path}) as span:
            span.add_event("checked", {"ok": True})
        await self.env.annotation.put("last-admin-call", {"path": request.url.path})
        return JSONResponse({"admin": True})
"""


def project(tmp_path: Path, local: str = "") -> Path:
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "admin.py").write_text(SERVICE)
    (tmp_path / "raindrop.manifest").write_text(
        'application "b" {\n  service "admin" {\n    visibility = "protected"\n  }\n}\n'
    )
    if local:
        (tmp_path / "raindrop.local.yaml").write_text(local)
    return tmp_path / "raindrop.manifest"


async def test_spans_and_annotations_enter_the_run_log(tmp_path: Path) -> None:
    async with App.from_manifest(project(tmp_path)) as app:
        tracer = app.env.tracer
        with tracer.start_span("fetch-bills", {"congress": 119}) as span:
            span.set_attribute("count", 20).add_event("page", {"n": 1})
        with pytest.raises(ValueError), tracer.start_span("broken"):
            raise ValueError("no bills today")

        async def work(span: object) -> int:
            span.set_status("ok")  # type: ignore[attr-defined]
            return 42

        assert await tracer.start_active_span("generate", work) == 42
        spans = {r.module: r for r in app.runs if r.kind == "span"}
        assert set(spans) == {"fetch-bills", "broken", "generate"}
        fetched = spans["fetch-bills"]
        assert fetched.outcome == "ok" and '"congress":119' in fetched.detail and '"count":20' in fetched.detail
        assert 'event page {"n":1}' in fetched.detail and fetched.duration_ms >= 0
        assert spans["broken"].outcome == "error" and "ValueError: no bills today" in (spans["broken"].error or "")

        notes = app.env.annotation
        await notes.put("release", {"version": "1.2.0"})
        await notes.put("owner", "civic team")
        assert await notes.get("release") == {"version": "1.2.0"}
        assert await notes.list() == {"owner": "civic team", "release": {"version": "1.2.0"}}
        assert await notes.delete("owner") is True and await notes.get("owner") is None
        assert any(r.kind == "annotation" and r.module == "release" for r in app.runs)
    async with App.from_manifest(tmp_path / "raindrop.manifest") as again:
        assert await again.env.annotation.get("release") == {"version": "1.2.0"}  # durable


@pytest.mark.slow  # a `serve` process
def test_a_protected_service_answers_only_with_its_token(tmp_path: Path) -> None:
    served = Served(project(tmp_path, "services:\n  admin: {token: s3cret}\n"), 0)
    try:
        assert any("protected: Authorization: Bearer s3cret" in line for line in served.banner)
        refused = httpx.get(served.base + "/")
        assert refused.status_code == 401 and "protected" in refused.json()["error"]
        assert refused.headers["www-authenticate"] == "Bearer"
        assert httpx.get(served.base + "/", headers={"Authorization": "Bearer nope"}).status_code == 401
        ok = httpx.get(served.base + "/stats", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and ok.json() == {"admin": True}
        runs = httpx.get(served.base + "/_runtime/api/runs").json()
        assert any(r["kind"] == "span" and r["module"] == "admin-request" for r in runs)  # the dashboard's runs
    finally:
        code, err = served.stop()
        assert code == 0, err
        assert "span admin-request" in err  # serve logs every span
