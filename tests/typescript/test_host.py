"""The Node host around TypeScript handlers: finding Node, and validate/inspect naming languages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runtime.errors import NodeError
from runtime.manifest import load
from runtime.typescript import bundle
from runtime.typescript.runner import typescript_resources


def test_without_node_the_error_is_one_line_saying_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundle, "_node", None)
    monkeypatch.setenv("RAINDROP_NODE", "")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(NodeError) as raised:
        bundle.find_node()
    message = str(raised.value)
    assert "\n" not in message
    assert "Node.js >= 20" in message and "install Node.js" in message


def test_an_old_node_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    old = tmp_path / "node"
    old.write_text("#!/bin/sh\necho v18.19.0\n")
    old.chmod(0o755)
    monkeypatch.setattr(bundle, "_node", None)
    monkeypatch.setenv("RAINDROP_NODE", str(old))
    with pytest.raises(NodeError, match=r"found Node v18\.19\.0"):
        bundle.find_node()


def test_a_resource_without_a_python_file_but_with_index_ts_is_typescript(tmp_path: Path) -> None:
    (tmp_path / "raindrop.manifest").write_text(
        'application "mixed" {\n  service "web" {}\n  service "api" {}\n  service "gone" {}\n}\n'
    )
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "web.py").write_text("")
    (tmp_path / "src" / "web").mkdir(parents=True)
    (tmp_path / "src" / "web" / "index.ts").write_text("")  # the Python file wins
    (tmp_path / "src" / "api").mkdir(parents=True)
    (tmp_path / "src" / "api" / "index.ts").write_text("")
    manifest = load(tmp_path / "raindrop.manifest", handlers="ignore")
    assert list(typescript_resources(manifest)) == ["api"]


def test_validate_names_both_conventions_when_neither_exists(tmp_path: Path) -> None:
    from runtime.errors import ManifestError

    (tmp_path / "raindrop.manifest").write_text('application "none" {\n  service "web" {}\n}\n')
    with pytest.raises(ManifestError, match=r"handlers/web\.py.*src/web/index\.ts"):
        load(tmp_path / "raindrop.manifest", handlers="error")


def test_reload_watches_typescript_sources_and_package_json(tmp_path: Path) -> None:
    from runtime.reload import changed, snapshot

    (tmp_path / "src" / "web").mkdir(parents=True)
    (tmp_path / "src" / "web" / "index.ts").write_text("export default {};")
    (tmp_path / "package.json").write_text("{}")
    (tmp_path / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "node_modules" / "x" / "index.js").write_text("")
    before = snapshot(tmp_path)
    assert set(before) == {tmp_path / "src" / "web" / "index.ts", tmp_path / "package.json"}
    import os

    os.utime(tmp_path / "src" / "web" / "index.ts", (1, 1))
    assert changed(before, snapshot(tmp_path)) == [tmp_path / "src" / "web" / "index.ts"]


@pytest.mark.anyio
async def test_a_python_only_app_never_looks_for_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.app import App

    (tmp_path / "raindrop.manifest").write_text('application "py" {\n  service "web" {}\n}\n')
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "web.py").write_text(
        "from runtime import Service\n\n\nclass Web(Service):\n    async def fetch(self, request):\n        return None\n"
    )

    def no_node() -> str:
        raise AssertionError("a Python-only app looked for Node")

    from runtime.typescript import runner

    monkeypatch.setattr(bundle, "find_node", no_node)
    monkeypatch.setattr(runner, "find_node", no_node)
    async with App.from_manifest(tmp_path / "raindrop.manifest", backend="memory://") as app:
        assert app.typescript is None
