"""The public surface: the names of ``runtime`` and ``runtime.types``, where errors live, and what
``import runtime`` costs. A name added or removed here is a deliberate change to the API."""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import io
import json
import pkgutil
import re
import subprocess
import sys
import typing
from pathlib import Path
from types import ModuleType

import pytest

import runtime
import runtime.errors
import runtime.types
from runtime import App
from runtime.generate import ATTRIBUTES, STORE_TYPES, render
from runtime.manifest import load
from runtime.manifest.model import Store

ROOT = Path(__file__).resolve().parent.parent

RUNTIME_NAMES = {
    "AIError",
    "Actor",
    "App",
    "AppStateError",
    "BackendError",
    "BackendURLError",
    "Batch",
    "BindingError",
    "Clock",
    "Each",
    "EmbeddingModelError",
    "FakeClock",
    "HandlerLoadError",
    "LeaseLostError",
    "LimitError",
    "ManifestError",
    "Message",
    "MessageBatch",
    "MigrationError",
    "NodeError",
    "RaindropError",
    "Service",
    "SqlCommitError",
    "SqlError",
    "StorageError",
    "StorageValueError",
    "SystemClock",
    "Task",
}

TYPES_NAMES = {
    "AI",
    "ActorId",
    "ActorNamespace",
    "ActorState",
    "ActorStub",
    "Annotation",
    "AppLogger",
    "Bucket",
    "BucketObject",
    "BucketObjectBody",
    "Clock",
    "Env",
    "ExecutionContext",
    "KvCache",
    "McpBinding",
    "Message",
    "MessageBatch",
    "PreparedStatement",
    "ProceduralMemory",
    "Queue",
    "ServiceStub",
    "SmartBucket",
    "SmartMemory",
    "SmartSql",
    "Span",
    "SqlDatabase",
    "Storage",
    "Tracer",
    "VectorIndex",
    "WorkingMemory",
}


@pytest.mark.parametrize(("module", "expected"), [(runtime, RUNTIME_NAMES), (runtime.types, TYPES_NAMES)])
def test_public_names_are_sorted_complete_and_resolve(module: ModuleType, expected: set[str]) -> None:
    names = module.__all__
    assert names == sorted(names)
    assert set(names) == expected
    for name in names:
        obj = getattr(module, name)
        assert getattr(obj, "__name__", name) == name, name
        assert name in dir(module)
    defined = {n for n, v in vars(module).items() if not n.startswith("_") and inspect.isclass(v)}
    assert defined == expected  # every public name resolved, and nothing public beside them


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match="'runtime' has no attribute 'Eachh'"):
        runtime.Eachh  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(AttributeError, match=r"'runtime\.types' has no attribute 'Queues'"):
        runtime.types.Queues  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(ImportError):
        exec("from runtime import Eachh")


def test_submodules_still_import_through_the_package() -> None:
    from runtime import checkpoint, generate

    assert checkpoint.__name__ == "runtime.checkpoint" and generate.__name__ == "runtime.generate"


def test_version_is_the_installed_packages() -> None:
    assert runtime.__version__ == importlib.metadata.version("raindrop-runtime")


def _error_classes() -> dict[str, type[BaseException]]:
    """Every RaindropError subclass defined anywhere in the runtime, by name."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(runtime.__path__, "runtime."):
        if info.name in ("runtime.__main__",):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, runtime.RaindropError):
                found.setdefault(name, obj)
    return found


def test_every_public_error_is_defined_in_errors_and_exported() -> None:
    for name, cls in _error_classes().items():
        assert cls.__module__ == "runtime.errors", f"{name} is defined in {cls.__module__}, not runtime.errors"
        assert name in runtime.__all__, f"{name} is not exported from runtime"
        assert name in (runtime.errors.__doc__ or ""), f"{name} is missing from the tree in errors.py"
    exported = [getattr(runtime, n) for n in runtime.__all__]
    for cls in exported:
        if inspect.isclass(cls) and issubclass(cls, Exception):
            assert issubclass(cls, runtime.RaindropError)


def test_errors_are_still_importable_where_they_used_to_be() -> None:
    from runtime.ai import AIError
    from runtime.ai.providers import AIError as ProviderAIError
    from runtime.smart.embeddings import EmbeddingModelError
    from runtime.sql import MigrationError, SqlCommitError, SqlError

    assert AIError is ProviderAIError is runtime.AIError
    assert EmbeddingModelError is runtime.EmbeddingModelError
    assert (MigrationError, SqlCommitError, SqlError) == (
        runtime.MigrationError,
        runtime.SqlCommitError,
        runtime.SqlError,
    )
    assert issubclass(runtime.SqlCommitError, runtime.StorageError)
    assert issubclass(runtime.SqlError, runtime.BindingError)


def test_generated_code_names_only_public_types() -> None:
    for cls in [*STORE_TYPES.values(), *(c for _, c, _ in ATTRIBUTES), "ActorNamespace", "ServiceStub", "AI"]:
        assert cls in runtime.types.__all__, cls
    text = render(load(ROOT / "raindrop.manifest"))
    # top-level imports only: under TYPE_CHECKING are the actors' own imports, for their stubs
    imports = [line for line in text.splitlines() if line.startswith(("import ", "from "))]
    assert imports == [
        "from __future__ import annotations",
        "from typing import TYPE_CHECKING, Any, Protocol",
        "import runtime.types",
    ]
    for line in text.splitlines():
        if ": runtime." in line:
            assert ": runtime.types." in line, line


def test_every_store_kind_has_a_public_type() -> None:
    kinds = set(typing.get_args(typing.get_type_hints(Store)["kind"]))
    assert kinds == set(STORE_TYPES)


@pytest.mark.anyio
async def test_every_store_kind_is_bound_to_its_public_type(tmp_path: Path) -> None:
    # No declared binding is a placeholder that raises on use: each kind builds its real class.
    manifest = tmp_path / "raindrop.manifest"
    body = "".join(f'  {kind} "{kind.replace("_", "-")}-x" {{}}\n' for kind in sorted(STORE_TYPES))
    manifest.write_text(f'application "kinds" {{\n{body}}}\n')
    async with App.from_manifest(manifest, backend="memory://", state_dir=tmp_path / "state") as app:
        for store in app.manifest.application.stores:
            binding = getattr(app.env, store.binding)
            assert isinstance(binding, getattr(runtime.types, STORE_TYPES[store.kind])), store.kind


_PROBE = """
import json, sys
{statement}
print(json.dumps(sorted(sys.modules)))
"""

HEAVY = ("numpy", "starlette", "uvicorn", "httpx", "pydantic", "redis", "runtime.app", "runtime.bindings", "asyncio")


def _loaded_after(statement: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(statement=statement)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


@pytest.mark.slow
def test_import_runtime_loads_nothing_heavy() -> None:
    loaded = _loaded_after("import runtime")
    assert not {m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY}, sorted(loaded)
    ours = {m for m in loaded if m.startswith("runtime")}
    assert ours == {"runtime", "runtime.errors", "runtime.lazy"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "statement",
    [
        "from runtime import Each, Service, Batch, Task, Actor, Message, MessageBatch, FakeClock",
        "import runtime.types",
        "from runtime.types import Queue, KvCache, Bucket, SqlDatabase",
        "import raindrop_gen",
    ],
)
def test_what_a_handler_module_imports_loads_neither_the_app_nor_numpy(statement: str) -> None:
    loaded = _loaded_after(statement)
    for heavy in ("numpy", "runtime.app", "runtime.bindings", "runtime.smart"):
        assert heavy not in loaded, f"{statement!r} loaded {heavy}"


@pytest.mark.slow
def test_app_still_loads_on_first_use() -> None:
    loaded = _loaded_after("import runtime; runtime.App")
    assert "runtime.app" in loaded


@pytest.mark.slow
def test_import_runtime_takes_well_under_the_budget() -> None:
    # -X importtime reports the package's own cumulative import time (interpreter start-up
    # excluded); it was 430 ms when runtime/__init__.py imported App, ~5 ms since.
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import runtime"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    rows = [line.split("|") for line in done.stderr.splitlines() if line.startswith("import time:")]
    cumulative = {row[2].strip(): int(row[1]) for row in rows if len(row) == 3 and row[1].strip().isdigit()}
    assert cumulative["runtime"] < 150_000, f"import runtime took {cumulative['runtime'] / 1000:.0f} ms"


def test_new_and_scaffold_write_code_that_imports_only_the_public_modules(tmp_path: Path) -> None:
    from runtime.cli import main

    assert main(["new", "demo", "--dir", str(tmp_path)], stdout=io.StringIO(), stderr=io.StringIO()) == 0
    app = tmp_path / "demo"
    manifest = app / "raindrop.manifest"
    more = '  queue "emails" {}\n  observer "mailer" {\n    source {\n      queue = "emails"\n    }\n  }\n  actor "room" {}\n}\n'
    manifest.write_text(manifest.read_text().rstrip().removesuffix("}") + more)
    assert main(["scaffold", str(manifest)], stdout=io.StringIO(), stderr=io.StringIO()) == 0
    internal = [
        f"{path.relative_to(app)}: {line}"
        for path in sorted(app.rglob("*.py"))
        for line in path.read_text().splitlines()
        if re.match(r"\s*(from|import) runtime\.(?!types\b)", line)
    ]
    assert internal == []
    assert (app / "workers" / "mailer.py").read_text().count("from runtime import Each, Message") == 1
