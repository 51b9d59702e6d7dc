"""The house rules a reader relies on: no runtime module over 450 lines, ``App`` reached only
through its public attributes, and the run log behind ``app.runs``."""

from __future__ import annotations

import re
from pathlib import Path

from runtime import App
from runtime.observers import RunRecord
from runtime.runs import RunLog

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 450
PRIVATE_USE = re.compile(r"\bapp\._[a-z]")


def test_no_runtime_module_is_over_450_lines() -> None:
    sizes = {p.relative_to(ROOT).as_posix(): len(p.read_text().splitlines()) for p in (ROOT / "runtime").rglob("*.py")}
    assert sizes, "no runtime modules found"
    assert {name: size for name, size in sizes.items() if size > MAX_LINES} == {}


def test_nothing_outside_the_app_touches_its_private_attributes() -> None:
    here = Path(__file__).resolve()
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("runtime", "tests", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if path != here and path != ROOT / "runtime" / "app.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if PRIVATE_USE.search(line)
    ]
    assert found == []


def record(n: int) -> RunRecord:
    return RunRecord(module=f"m{n}", kind="observer", started_at=float(n), duration_ms=1.0, outcome="ok")


def test_the_run_log_keeps_the_latest_runs_counts_all_and_calls_its_hook() -> None:
    log = RunLog(maxlen=3)
    seen: list[str] = []
    log.hook = lambda r: seen.append(r.module)
    for n in range(5):
        log.record(record(n))
    assert [r.module for r in log] == ["m2", "m3", "m4"]
    assert log.total == 5
    assert seen == ["m0", "m1", "m2", "m3", "m4"]


def test_the_app_keeps_runs_total_and_runs_hook_as_views_of_its_run_log() -> None:
    app = App.from_manifest(ROOT / "raindrop.manifest", backend="memory://", environ={})
    seen: list[RunRecord] = []
    app.runs_hook = seen.append
    assert app.runs.hook is not None
    app.runs.record(record(1))
    assert app.runs_total == 1 and seen == [app.runs[0]]
