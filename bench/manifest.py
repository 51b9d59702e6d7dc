"""Manifest parsing speed: a generated 2,000-block manifest, validated whole, against merely
reading and tokenizing the same file, measured in the same run.

    python bench/manifest.py [--blocks 2000] [--repeat 5]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/http.py and bench/queue.py would shadow the standard library's http and queue modules:
# move this folder from the front of sys.path to the back (common.py is still found).
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import argparse
import statistics
import tempfile
import time

from runtime.cron import cron_error
from runtime.manifest import check
from runtime.manifest.parser import _parser


def generate(blocks: int) -> str:
    parts = ['// generated for the benchmark\napplication "bench" {']
    for i in range(blocks // 4):
        parts += [
            f'  queue "queue-{i}" {{}}  # a queue',
            f'  observer "observer-{i}" {{\n    source {{\n      queue = "queue-{i}"\n    }}\n  }}',
            f'  kv_cache "cache-{i}" {{}}',
            f'  task "task-{i}" {{\n    type = "cron"\n    cron = "{i % 60} 3 * * *"  // daily\n  }}',
        ]
    parts.append("}")
    return "\n".join(parts) + "\n"


def median_time(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--blocks", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "raindrop.manifest"
        path.write_text(generate(args.blocks))
        parser = _parser()
        check(path, handlers="ignore")  # warm up: grammar compiled once per process

        def tokenize() -> None:
            list(parser.lex(path.read_text()))

        def validate() -> None:
            cron_error.cache_clear()  # as a fresh `validate` process: nothing cached but the grammar
            manifest, diagnostics = check(path, handlers="ignore")
            assert manifest is not None, diagnostics[:3]

        baseline = median_time(tokenize, args.repeat)
        whole = median_time(validate, args.repeat)
        size = path.stat().st_size
    print(f"manifest: {args.blocks} blocks, {size / 1024:.0f} KiB")
    print(f"  read + tokenize     {baseline * 1000:8.1f} ms")
    print(f"  whole validate      {whole * 1000:8.1f} ms   ({whole / baseline:.1f}x tokenize; target < 300 ms)")


if __name__ == "__main__":
    main()
