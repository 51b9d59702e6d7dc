"""``generate`` writes ``src/<name>/raindrop.gen.ts`` per TypeScript handler; the TypeScript
compiler accepts the app with them against the framework stand-in's declarations, and rejects
a handler that misuses a binding; ``validate --strict`` notices a stale one."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from runtime.cli import main
from runtime.typescript.bundle import cache_dir
from runtime.typescript.host import JS

HERE = Path(__file__).parent
TYPESCRIPT = "5.6.3"
NODE_TYPES = "20.11.30"  # handlers import node: modules, as the platform's bundler allows


@pytest.fixture(scope="module")
def tsc() -> Path:
    """The TypeScript compiler, installed once through npm into the user's cache."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs Node.js and npm for the TypeScript tests")
        pytest.skip("Node.js and npm are not installed")
    folder = cache_dir() / f"typescript-{TYPESCRIPT}"
    binary = folder / "node_modules" / ".bin" / "tsc"
    if not binary.is_file() or not (folder / "node_modules" / "@types" / "node").is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--silent",
                "--prefix",
                str(folder),
                f"typescript@{TYPESCRIPT}",
                f"@types/node@{NODE_TYPES}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    return binary


def compile_app(tsc: Path, root: Path) -> subprocess.CompletedProcess[str]:
    framework = JS / "framework"
    config = {
        "compilerOptions": {
            "target": "ES2022",
            "module": "ESNext",
            "moduleResolution": "bundler",
            "strict": True,
            "noEmit": True,
            "lib": ["ES2022", "DOM", "DOM.Iterable"],
            "types": ["node"],
            "typeRoots": [str(tsc.parents[1] / "@types")],
            "paths": {
                "@liquidmetal-ai/raindrop-framework": [str(framework / "index.d.ts")],
                "@liquidmetal-ai/raindrop-framework/*": [str(framework) + "/*"],
            },
        },
        "include": ["src"],
    }
    (root / "tsconfig.json").write_text(json.dumps(config))
    return subprocess.run([str(tsc), "-p", str(root)], capture_output=True, text=True, timeout=300)


def generate(root: Path) -> str:
    out = io.StringIO()
    assert main(["generate", str(root / "raindrop.manifest")], stdout=out, stderr=io.StringIO()) == 0
    return out.getvalue()


TYPED = """import { Service } from '@liquidmetal-ai/raindrop-framework';
import type { Env } from './raindrop.gen';

export class Typed extends Service<Env> {
  async fetch(request: Request): Promise<Response> {
    await this.env.JOBS.send({ id: 'a', mode: 'ok' });
    const text: string | null = await this.env.CACHE.get('k');
    const json = await this.env.CACHE.get<{ n: number }>('j', 'json');
    const row = await this.env.APP_DB.prepare('SELECT 1 AS one').first<{ one: number }>();
    const object = await this.env.FILES.get('f');
    const sum: number = await this.env.HELPER.add(1, 2);
    const counter = this.env.COUNTER.get(this.env.COUNTER.idFromName('c'));
    const count: number = await counter.increment(1);
    this.env.logger.info('typed', { sum, count });
    await this.env.mem.put('m', this.env.GREETING);
    return Response.json({ text, n: json?.n, one: row?.one, size: object?.size, url: request.url });
  }
}
"""


@pytest.mark.slow  # runs the TypeScript compiler
def test_generated_env_compiles_and_types_the_bindings(tsc: Path, tmp_path: Path) -> None:
    root = tmp_path / "app"
    shutil.copytree(HERE / "contract_app", root, ignore=shutil.ignore_patterns(".raindrop", "node_modules"))
    said = generate(root)
    for name in ("web", "helper", "jobs-observer", "nightly", "counter"):
        assert f"src/{name}/raindrop.gen.ts" in said
    gen = (root / "src" / "web" / "raindrop.gen.ts").read_text()
    assert "JOBS: Queue<import('../jobs-observer/index').Body>;" in gen
    assert "COUNTER: ActorNamespace<Instance<typeof import('../counter/index')['Counter']>>;" in gen
    assert "GREETING: string;" in gen and "mem: KvCache;" in gen and "_raindrop: { app: App };" in gen
    assert "PYHELPER: ServiceStub<any>;" in gen  # a Python service: its methods are not known here

    (root / "src" / "web" / "typed.ts").write_text(TYPED)
    done = compile_app(tsc, root)
    assert done.returncode == 0, done.stdout + done.stderr

    # The compiler now sees through env: a wrong queue body and an unknown RPC method fail.
    wrong = TYPED.replace("mode: 'ok'", "mode: 'sometimes'").replace("HELPER.add(1, 2)", "HELPER.subtract(1, 2)")
    (root / "src" / "web" / "typed.ts").write_text(wrong)
    done = compile_app(tsc, root)
    assert done.returncode != 0
    assert "'\"sometimes\"' is not assignable" in done.stdout
    assert "Property 'subtract' does not exist" in done.stdout


@pytest.mark.slow  # runs the TypeScript compiler
def test_typescript_scaffold_compiles_with_its_generated_env(tsc: Path, tmp_path: Path) -> None:
    assert main(["new", "shop", "--dir", str(tmp_path), "--typescript"], stdout=io.StringIO()) == 0
    root = tmp_path / "shop"
    gen = (root / "src" / "job-runner" / "raindrop.gen.ts").read_text()
    assert "JOBS: Queue<import('./index').Body>;" in gen and "RESULTS: KvCache;" in gen
    done = compile_app(tsc, root)
    assert done.returncode == 0, done.stdout + done.stderr


def test_validate_strict_notices_a_stale_raindrop_gen_ts(tmp_path: Path) -> None:
    root = tmp_path / "app"
    shutil.copytree(HERE / "contract_app", root, ignore=shutil.ignore_patterns(".raindrop", "node_modules"))
    manifest = root / "raindrop.manifest"
    generate(root)
    err = io.StringIO()
    assert main(["validate", "--strict", str(manifest)], stdout=io.StringIO(), stderr=err) == 0, err.getvalue()

    manifest.write_text(
        manifest.read_text().replace('kv_cache "cache" {}', 'kv_cache "cache" {}\n  kv_cache "more" {}')
    )
    err = io.StringIO()
    assert main(["validate", "--strict", str(manifest)], stdout=io.StringIO(), stderr=err) != 0
    assert "src/web/raindrop.gen.ts" in err.getvalue() and "stale" in err.getvalue()
    generate(root)
    assert "MORE: KvCache;" in (root / "src" / "web" / "raindrop.gen.ts").read_text()
    assert main(["validate", "--strict", str(manifest)], stdout=io.StringIO(), stderr=io.StringIO()) == 0


def test_env_vars_of_a_service_are_in_its_env_alone(tmp_path: Path) -> None:
    root = tmp_path / "app"
    shutil.copytree(HERE / "contract_app", root, ignore=shutil.ignore_patterns(".raindrop", "node_modules"))
    manifest = root / "raindrop.manifest"
    manifest.write_text(
        manifest.read_text().replace(
            'service "helper" {}',
            'service "helper" {\n    env "HELPER_ONLY" {}\n    env "TOKEN" { secret = true }\n  }',
        )
    )
    generate(root)
    helper = (root / "src" / "helper" / "raindrop.gen.ts").read_text()
    assert 'HELPER_ONLY: string; // env "HELPER_ONLY" of service "helper"' in helper
    assert 'TOKEN: string; // secret "TOKEN" of service "helper"' in helper
    assert "HELPER_ONLY" not in (root / "src" / "web" / "raindrop.gen.ts").read_text()
