"""Random and mutated manifests: the reader reports diagnostics and never raises anything else."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.errors import ManifestError
from runtime.manifest import check_text, load

CORPUS = [p.read_text() for p in sorted((Path(__file__).parent / "manifests" / "corpus").glob("*.manifest"))]
CORPUS += [p.read_text() for p in sorted((Path(__file__).parent / "manifests" / "good").glob("*.manifest"))]
ALPHABET = st.sampled_from([*list("{}[]=,\"'#/*\\:;\n \tabcdeqsuv-_019@"), "service", "queue", "observer", "source"])


def _assert_clean(text: str) -> None:
    manifest, diagnostics = check_text(text, handlers="ignore")
    if manifest is None:
        assert any(d.severity == "error" for d in diagnostics)
    for diagnostic in diagnostics:
        assert diagnostic.line >= 0 and diagnostic.col >= 0
        diagnostic.render()


@pytest.mark.slow  # a fuzzer: 300 random texts
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ALPHABET, max_size=80).map("".join))
def test_random_text_only_yields_diagnostics(text: str) -> None:
    _assert_clean(text)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(CORPUS))
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        pos = draw(st.integers(0, len(text) - 1))
        action = draw(st.sampled_from(["delete", "insert", "replace", "truncate", "duplicate"]))
        piece = draw(ALPHABET)
        if action == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 12)) :]
        elif action == "insert":
            text = text[:pos] + piece + text[pos:]
        elif action == "replace":
            text = text[:pos] + piece + text[pos + 1 :]
        elif action == "truncate":
            text = text[:pos]
        else:
            end = min(len(text), pos + draw(st.integers(1, 40)))
            text = text[:end] + text[pos:end] + text[end:]
    return text


@pytest.mark.slow  # a fuzzer: 400 mutated manifests
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_real_manifests_only_yield_diagnostics(text: str) -> None:
    _assert_clean(text)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(mutated())
def test_load_raises_only_manifest_error(tmp_path_factory: object, text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "raindrop.manifest"
        path.write_text(text)
        try:
            load(path, handlers="ignore")
        except ManifestError as exc:
            assert exc.diagnostics
