from __future__ import annotations

from pathlib import Path

import pytest

from runtime.config import LocalSettings, load_settings, read_dotenv, resolve_env
from runtime.errors import ManifestError
from runtime.manifest import check_text
from runtime.manifest.model import EnvVar, Manifest

MANIFEST = (
    'application "a" {\n  env "A" { default = "manifest" }\n  env "B" {}\n  env "SECRET" { secret = true }\n'
    '  queue "jobs" {}\n  observer "worker" { source { queue = "jobs" } }\n'
    '  task "nightly" {\n    type = "cron"\n    cron = "0 3 * * *"\n  }\n}\n'
)


def _manifest(folder: Path) -> Manifest:
    path = folder / "raindrop.manifest"
    path.write_text(MANIFEST)
    manifest, diagnostics = check_text(MANIFEST, path, handlers="ignore")
    assert manifest is not None, diagnostics
    return manifest


def test_no_file_means_defaults(tmp_path: Path) -> None:
    settings = load_settings(_manifest(tmp_path))
    assert settings == LocalSettings()
    observer = settings.observer("worker")
    assert (observer.max_batch_size, observer.max_batch_timeout, observer.max_retries) == (10, 5.0, 3)
    assert settings.kv.enforce_limits


def test_settings_are_read(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    (tmp_path / "raindrop.local.yaml").write_text(
        "backend: memory://\nport: 9000\nobservers:\n  worker:\n    max_retries: 5\n    visibility_timeout: 300\n"
        "schedules:\n  nightly:\n    timezone: America/Chicago\n    catch_up: skip\nkv:\n  enforce_limits: false\n"
    )
    settings = load_settings(manifest)
    assert settings.backend == "memory://" and settings.port == 9000
    assert settings.observer("worker").max_retries == 5
    assert settings.schedule("nightly").catch_up == "skip"
    assert not settings.kv.enforce_limits


@pytest.mark.parametrize(
    ("text", "line", "col", "message"),
    [
        ("port: eighty\n", 1, 7, "port: Input should be a valid integer"),
        (
            "observers:\n  worker:\n    max_retires: 5\n",
            3,
            5,
            "unknown setting 'observers.worker.max_retires'; did you mean 'max_retries'?",
        ),
        (
            "observers:\n  worker:\n    max_retry: 5\n",
            3,
            5,
            "'observers.worker.max_retry'; did you mean 'max_retries'?",
        ),
        ("kv:\n  enforce_limit: false\n", 2, 3, "'kv.enforce_limit'; did you mean 'enforce_limits'?"),
        (
            "observers:\n  workr:\n    max_retries: 5\n",
            2,
            3,
            "the manifest declares no observer 'workr': did you mean 'worker'?",
        ),
        ("schedules:\n  nightly:\n    timezone: Mars/Base\n", 3, 15, "unknown timezone 'Mars/Base'"),
        ("observers:\n  worker:\n    max_batch_size: 0\n", 3, 21, "greater than or equal to 1"),
        ("port: [1\n", 2, 1, "invalid YAML"),
        ("- a\n- b\n", 1, 1, "expected a mapping"),
    ],
)
def test_bad_settings_are_positioned(tmp_path: Path, text: str, line: int, col: int, message: str) -> None:
    manifest = _manifest(tmp_path)
    (tmp_path / "raindrop.local.yaml").write_text(text)
    with pytest.raises(ManifestError) as info:
        load_settings(manifest)
    diagnostic = info.value.diagnostics[0]
    assert message in diagnostic.message
    assert (diagnostic.line, diagnostic.col) == (line, col), diagnostic.render()
    assert diagnostic.path.endswith("raindrop.local.yaml")


def test_env_resolution_order(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text('# comment\nexport B="from dotenv"\nA=dotenv-a # trailing\n')
    (tmp_path / "raindrop.local.yaml").write_text("env:\n  A: local\n  B: local\n  SECRET: true\n")
    manifest = _manifest(tmp_path)
    settings = load_settings(manifest)
    dotenv = read_dotenv(tmp_path / ".env")
    variables = manifest.application.env
    assert resolve_env(variables, environ={}, dotenv={}, settings=None) == {"A": "manifest", "B": None, "SECRET": None}
    assert resolve_env(variables, environ={}, dotenv={}, settings=settings) == {
        "A": "local",
        "B": "local",
        "SECRET": "true",
    }
    assert resolve_env(variables, environ={}, dotenv=dotenv, settings=settings)["B"] == "from dotenv"
    assert resolve_env(variables, environ={}, dotenv=dotenv, settings=settings)["A"] == "dotenv-a"
    resolved = resolve_env(variables, environ={"A": "process"}, dotenv=dotenv, settings=settings)
    assert resolved["A"] == "process"


def test_env_var_model_is_plain() -> None:
    var = EnvVar(name="X", span=__import__("runtime.manifest").manifest.Span.point(1, 1))
    assert resolve_env([var], environ={}, dotenv={}) == {"X": None}
