"""``python -m runtime new NAME`` and ``python -m runtime scaffold [MANIFEST]``.

``new`` writes a small app that runs and whose tests pass at once: a public service, a queue with
an observer, a KV cache, local settings and a test through the pytest plugin. ``scaffold``
writes a typed stub for every handler file the manifest names that does not exist yet (it never
touches a file that does), so a manifest with twenty services is twenty stubs away from `serve`.
"""

from __future__ import annotations

from pathlib import Path

from runtime.generate import protocol_of, write
from runtime.manifest import Manifest, class_name, load
from runtime.manifest.model import Actor, CodeResource, McpService, Observer, ScheduleSource, Service, Task

MANIFEST = """application "{name}" {{
  service "web" {{
    visibility = "public"
  }}

  queue "jobs" {{}}

  observer "job-runner" {{
    source {{
      queue = "jobs"
    }}
  }}

  kv_cache "results" {{}}
}}
"""

WEB = '''"""The public service: GET / says hello; POST /jobs queues a job."""

from __future__ import annotations

from raindrop_gen import Env
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from runtime import Service


class Web(Service[Env]):
    async def fetch(self, request: Request) -> Response:
        if request.method == "POST" and request.url.path == "/jobs":
            job = await request.json()
            await self.env.JOBS.send(job)
            return JSONResponse({"queued": True}, status_code=202)
        if request.url.path.startswith("/results/"):
            result = await self.env.RESULTS.get(request.url.path.removeprefix("/results/"), type="json")
            return JSONResponse(result or {"error": "not ready"}, status_code=200 if result else 404)
        return JSONResponse({"hello": "from {name}"})
'''

JOB_RUNNER = '''"""Runs each job from the queue and keeps its result for a day."""

from __future__ import annotations

import json

from raindrop_gen import Env

from runtime import Each, Message


class JobRunner(Each[Env]):
    async def process(self, message: Message) -> None:
        job = message.body
        result = {"id": job["id"], "total": sum(job.get("numbers", []))}
        await self.env.RESULTS.put(str(job["id"]), json.dumps(result), expiration_ttl=86_400)
'''

TEST = '''"""The app end to end, in process, on the fake clock (python -m pytest)."""

from __future__ import annotations

import httpx

from runtime import App


async def test_a_job_goes_through_the_queue(raindrop_app: App, raindrop_http: httpx.AsyncClient) -> None:
    assert (await raindrop_http.get("/")).json() == {"hello": "from {name}"}
    queued = await raindrop_http.post("/jobs", json={"id": 7, "numbers": [1, 2, 3]})
    assert queued.status_code == 202
    await raindrop_app.drain()  # the observer ran; a failure there would be raised here
    assert (await raindrop_http.get("/results/7")).json() == {"id": 7, "total": 6}
'''

LOCAL = """# Settings the platform has no syntax for (see the runtime's docs: the manifest and local settings).
observers:
  job-runner: {max_retries: 3}
"""

PYTEST_INI = "[pytest]\ntestpaths = tests\n"

GITIGNORE = ".raindrop/\n__pycache__/\n.env\n"


def new(name: str, parent: Path) -> Path:
    """Create the app ``name`` in ``parent / name``; returns its manifest.

    :raises FileExistsError: when the folder exists and is not empty.
    """
    root = parent / name
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} exists and is not empty: choose another name or folder")
    files = {
        "raindrop.manifest": MANIFEST.format(name=name),
        "raindrop.local.yaml": LOCAL,
        "handlers/web.py": WEB.replace("{name}", name),
        "workers/job_runner.py": JOB_RUNNER,
        "tests/test_app.py": TEST.replace("{name}", name),
        "pytest.ini": PYTEST_INI,
        ".gitignore": GITIGNORE,
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    manifest = root / "raindrop.manifest"
    write(load(manifest, handlers="ignore"))
    return manifest


def stub(resource: CodeResource) -> str:
    """A typed handler module for ``resource`` (its ``self.env`` is ``raindrop_gen.Env``)."""
    head = (
        f'"""{resource.kind} "{resource.name}" (written by `python -m runtime scaffold`; fill it in)."""\n\n'
        "from __future__ import annotations\n\n"
    )
    name = class_name(resource.name)
    if isinstance(resource, Service):
        env = protocol_of(resource)  # its own protocol when it has env vars of its own
        return head + (
            f"from raindrop_gen import {env}\n"
            "from starlette.requests import Request\nfrom starlette.responses import JSONResponse, Response\n\n"
            "from runtime import Service\n\n\n"
            f"class {name}(Service[{env}]):\n"
            "    async def fetch(self, request: Request) -> Response:\n"
            f'        return JSONResponse({{"service": "{resource.name}", "path": request.url.path}})\n'
        )
    if isinstance(resource, Actor):
        return head + (
            "from raindrop_gen import Env\n\nfrom runtime import Actor\n\n\n"
            f"class {resource.class_name}(Actor[Env]):\n"
            "    async def hello(self) -> str:\n"
            f'        return "{resource.name}"\n'
        )
    if isinstance(resource, McpService):
        return head + (
            "from typing import Any\n\nfrom mcp.server.fastmcp import FastMCP\nfrom raindrop_gen import Env\n\n"
            f'implementation = {{"name": "{resource.name}", "version": "0.1.0"}}\n\n\n'
            "def register(server: FastMCP, env: Env, state: Any) -> None:\n"
            '    @server.tool(description="Say hello")\n'
            "    async def hello(name: str) -> str:\n"
            '        return f"Hello, {name}!"\n'
        )
    if isinstance(resource, Task) or (isinstance(resource, Observer) and isinstance(resource.source, ScheduleSource)):
        return head + (
            "from typing import Any\n\nfrom raindrop_gen import Env\n\nfrom runtime import Task\n\n\n"
            f"class {name}(Task[Env]):\n"
            "    async def handle(self, event: Any) -> None:\n"
            f'        self.env.logger.info("{resource.name} ran", {{"cron": event.cron}})\n'
        )
    return head + (
        "from raindrop_gen import Env\n\nfrom runtime import Each, Message\n\n\n"
        f"class {name}(Each[Env]):\n"
        "    async def process(self, message: Message) -> None:\n"
        f'        self.env.logger.info("{resource.name} got a message", {{"id": message.id}})\n'
    )


def scaffold(manifest: Manifest) -> list[Path]:
    """Write a stub for every handler file ``manifest`` names that is missing; returns them."""
    written = []
    for resource in manifest.application.resources():
        if not isinstance(resource, CodeResource):
            continue
        path = manifest.root / resource.handler
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(stub(resource))
        written.append(path)
    return written
