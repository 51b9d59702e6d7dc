"""Any byte sequence as a manifest or as raindrop.local.yaml: positioned diagnostics, never a
traceback, and an answer within 2 s for files up to 1 MB.

The saved corpus in ``tests/nasty/`` holds files that once broke the reader (bad encodings,
byte-order marks, deep nesting, error storms on one line); the large ones are generated here.
"""

from __future__ import annotations

import functools
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.config import load_settings
from runtime.errors import ManifestError
from runtime.manifest import check, load

NASTY = Path(__file__).parent / "nasty"
APP = Path(__file__).parent / "apps" / "crash"
LIMIT = 2.0  # seconds for any file up to 1 MB


#: The names of ``big_files()``, known without making the files (collecting this module must not
#: build megabytes of text: the timed cases that use them are slow, the names are collected always).
BIG_FILES = (
    "binary",
    "deep",
    "junk_1m",
    "lines_of_errors",
    "long_string",
    "one_line_of_errors",
    "open_string",
    "valid_800k",
)


@functools.cache
def big_files() -> dict[str, bytes]:
    """Files near 1 MB, made here rather than stored (named in ``BIG_FILES``)."""
    rng = random.Random(11)
    valid = "".join(
        f'  bucket "b-{i}" {{}}\n  observer "o-{i}" {{\n    source {{\n      bucket = "b-{i}"\n'
        f'      rule {{ actions = ["PutObject", "DeleteObject"] }}\n    }}\n  }}\n'
        for i in range(5800)
    )
    return {
        "valid_800k": f'application "big" {{\n{valid}}}\n'.encode(),
        "one_line_of_errors": ('application "a" { ' + "= " * 500_000 + "}").encode(),
        "junk_1m": "".join(rng.choice('{}="=ab, :\n#') for _ in range(1_000_000)).encode(),
        "lines_of_errors": "".join(f'q "{i}" {{ = = }}\n' for i in range(60_000)).encode(),
        "long_string": b'application "a" {\n x = "' + b"y" * 1_000_000 + b'"\n}\n',
        "open_string": b'application "a" { x = "' + b"a" * 1_000_000,
        "deep": b'application "a" { x = ' + b"[" * 400_000 + b"]" * 400_000 + b" }",
        "binary": bytes(rng.randrange(256) for _ in range(1_000_000)),
    }


def timed(action: Callable[[], object]) -> float:
    """The CPU seconds ``action`` takes: the work itself, robust to a busy or stolen CPU (a slow
    second of a shared CI machine must not fail the test; a parse gone quadratic still does).
    Wall-clock figures for the same files come from ``python bench/manifest.py``."""
    started = time.process_time()
    action()
    return time.process_time() - started


def check_manifest_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "raindrop.manifest"
    path.write_bytes(data)
    manifest, diagnostics = check(path, handlers="ignore")
    assert manifest is not None or any(d.severity == "error" for d in diagnostics)
    for diagnostic in diagnostics:
        assert diagnostic.line >= 0 and diagnostic.col >= 0
        diagnostic.render()


def check_settings_bytes(project: Path, data: bytes) -> None:
    (project / "raindrop.local.yaml").write_bytes(data)
    manifest = load(project / "raindrop.manifest", handlers="ignore")
    try:
        load_settings(manifest)
    except ManifestError as exc:
        assert exc.diagnostics
        for diagnostic in exc.diagnostics:
            assert diagnostic.line >= 1 and diagnostic.col >= 1, diagnostic.render()
            diagnostic.render()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(APP, tmp_path / "app")
    return tmp_path / "app"


@pytest.mark.parametrize("path", sorted((NASTY / "manifests").iterdir()), ids=lambda p: p.name)
def test_saved_nasty_manifests(tmp_path: Path, path: Path) -> None:
    assert timed(lambda: check_manifest_bytes(tmp_path, path.read_bytes())) < LIMIT


@pytest.mark.parametrize("path", sorted((NASTY / "local").iterdir()), ids=lambda p: p.name)
def test_saved_nasty_settings(project: Path, path: Path) -> None:
    assert timed(lambda: check_settings_bytes(project, path.read_bytes())) < LIMIT


@pytest.mark.slow  # megabyte inputs, timed
@pytest.mark.parametrize("name", BIG_FILES)
def test_megabyte_manifests_answer_in_time(tmp_path: Path, name: str) -> None:
    assert sorted(big_files()) == list(BIG_FILES)
    data = big_files()[name]
    assert len(data) <= 1_100_000
    took = timed(lambda: check_manifest_bytes(tmp_path, data))
    assert took < LIMIT, f"{name}: {took:.2f} s"


@pytest.mark.slow  # megabyte inputs, timed
def test_megabyte_settings_answer_in_time(project: Path) -> None:
    long_line = ("env: {" + ", ".join(f"K{i}: v" for i in range(60_000)) + "}\n").encode()
    deep = b"a: " + b"[" * 300_000 + b"]" * 300_000
    for data in (long_line, deep, bytes(random.Random(3).randrange(256) for _ in range(1_000_000))):
        assert timed(lambda data=data: check_settings_bytes(project, data)) < LIMIT  # type: ignore[misc]


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path, project: Path) -> None:
    path = tmp_path / "raindrop.manifest"
    path.write_bytes(b'\xef\xbb\xbfapplication "a" {}\n')
    assert check(path, handlers="ignore")[0] is not None
    (project / "raindrop.local.yaml").write_bytes(b"\xef\xbb\xbfport: 9000\n")
    assert load_settings(load(project / "raindrop.manifest", handlers="ignore")).port == 9000


def test_encoding_errors_are_positioned(tmp_path: Path, project: Path) -> None:
    path = tmp_path / "raindrop.manifest"
    path.write_bytes(b'application "a" {\n  env "X" { default = "caf\xe9" }\n}\n')
    _, (diagnostic,) = check(path, handlers="ignore")
    assert (diagnostic.line, diagnostic.col) == (2, 27) and "not UTF-8" in diagnostic.message
    (project / "raindrop.local.yaml").write_bytes("port: 1\n".encode("utf-16"))
    with pytest.raises(ManifestError, match="UTF-16 text; save it as UTF-8"):
        load_settings(load(project / "raindrop.manifest", handlers="ignore"))


def test_deep_nesting_names_the_place(tmp_path: Path) -> None:
    path = tmp_path / "raindrop.manifest"
    path.write_bytes(b'application "a" {\n  x = ' + b"[" * 100 + b"]" * 100 + b"\n}\n")
    _, (diagnostic,) = check(path, handlers="ignore")
    assert diagnostic.line == 2 and "nest more than 32 levels" in diagnostic.message


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=400))
def test_any_bytes_as_a_manifest(tmp_path: Path, data: bytes) -> None:
    check_manifest_bytes(tmp_path, data)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.text(alphabet=st.sampled_from(list("{}[]:-&*!|>'\"#\n\t ,abcportenv1")), max_size=200).map(str.encode),
    )
)
def test_any_bytes_as_local_settings(project: Path, data: bytes) -> None:
    check_settings_bytes(project, data)
