"""``python -m runtime new NAME --typescript``: the same small app as ``new``, its handlers in
TypeScript as on the platform (``src/<resource>/index.ts``), its test in Python."""

from __future__ import annotations

from pathlib import Path

from runtime import scaffold
from runtime.generate_ts import write
from runtime.manifest import load

WEB = """import { Service } from '@liquidmetal-ai/raindrop-framework';
import type { Env } from './raindrop.gen';

export default class extends Service<Env> {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === 'POST' && url.pathname === '/jobs') {
      await this.env.JOBS.send(await request.json());
      return Response.json({ queued: true }, { status: 202 });
    }
    if (url.pathname.startsWith('/results/')) {
      const result = await this.env.RESULTS.get(url.pathname.slice('/results/'.length), 'json');
      return Response.json(result ?? { error: 'not ready' }, { status: result ? 200 : 404 });
    }
    return Response.json({ hello: 'from {name}' });
  }
}
"""

JOB_RUNNER = """import { Each, Message } from '@liquidmetal-ai/raindrop-framework';
import type { Env } from './raindrop.gen';

export interface Body {
  id: number;
  numbers?: number[];
}

// Runs each job from the queue and keeps its result for a day.
export default class extends Each<Body, Env> {
  async process(message: Message<Body>): Promise<void> {
    const job = message.body;
    const total = (job.numbers ?? []).reduce((sum, n) => sum + n, 0);
    await this.env.RESULTS.put(String(job.id), JSON.stringify({ id: job.id, total }), { expirationTtl: 86_400 });
  }
}
"""

PACKAGE = """{
  "name": "{name}",
  "private": true,
  "type": "module",
  "dependencies": {
    "@liquidmetal-ai/raindrop-framework": "^0.12.0"
  }
}
"""

GITIGNORE = ".raindrop/\n__pycache__/\n.env\nnode_modules/\n"


def new_typescript(name: str, parent: Path) -> Path:
    """Create the TypeScript app ``name`` in ``parent / name``; returns its manifest.

    :raises FileExistsError: when the folder exists and is not empty.
    """
    root = parent / name
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} exists and is not empty: choose another name or folder")
    files = {
        "raindrop.manifest": scaffold.MANIFEST.format(name=name),
        "raindrop.local.yaml": scaffold.LOCAL,
        "src/web/index.ts": WEB.replace("{name}", name),
        "src/job-runner/index.ts": JOB_RUNNER,
        "package.json": PACKAGE.replace("{name}", name),
        "tests/test_app.py": scaffold.TEST.replace("{name}", name),
        "pytest.ini": scaffold.PYTEST_INI,
        ".gitignore": GITIGNORE,
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    manifest = root / "raindrop.manifest"
    write(load(manifest, handlers="ignore"))  # src/*/raindrop.gen.ts, as `generate` writes them
    return manifest
