from __future__ import annotations

import re
from pathlib import Path

import pytest

from runtime.errors import ManifestError
from runtime.manifest import check, check_text, load
from runtime.manifest.model import BucketSource, QueueSource, ScheduleSource

MANIFESTS = Path(__file__).parent / "manifests"
CORPUS = sorted((MANIFESTS / "corpus").glob("*.manifest"))
BAD = sorted((MANIFESTS / "bad").glob("*.manifest"))


def test_corpus_is_complete() -> None:
    assert len(CORPUS) == 29


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_real_manifests_validate(path: Path) -> None:
    manifest, diagnostics = check(path, handlers="warn")
    errors = [d.render() for d in diagnostics if d.severity == "error"]
    assert manifest is not None, "\n".join(errors)
    assert errors == []


def test_canonical_example_bindings() -> None:
    manifest = load(MANIFESTS / "good" / "a1_canonical.manifest", handlers="ignore")
    app = manifest.application
    assert app.name == "demo"
    bindings = {r.name: r.binding for r in app.resources()}
    assert bindings["app-db"] == "APP_DB"
    assert bindings["api"] == "API"
    assert bindings["API_KEY"] == "API_KEY"
    api = app.services[0]
    assert api.visibility == "public" and api.domain is not None and api.domain.cname == "demo-api"
    worker = next(o for o in app.observers if o.name == "jobs-worker")
    assert isinstance(worker.source, QueueSource) and worker.source.queue == "jobs"
    assert worker.handler == "workers/jobs_worker.py"
    upload = next(o for o in app.observers if o.name == "on-upload")
    assert isinstance(upload.source, BucketSource)
    assert upload.source.rules[0].actions == ("PutObject", "CompleteMultipartUpload")
    assert upload.source.rules[0].prefix == "in/"
    assert [t.cron for t in app.tasks] == ["0 2 * * *"]
    region = next(e for e in app.env if e.name == "REGION")
    assert region.default == "us" and not region.secret


def test_hakivo_reference_manifest_bindings() -> None:
    manifest = load(MANIFESTS / "good" / "b1_hakivo.manifest", handlers="ignore")
    app = manifest.application
    bindings = {r.binding for r in app.resources()}
    for name in (
        "HAKIVO_DB",
        "PODCAST_AUDIO",
        "BILLS_SMARTBUCKET",
        "USER_MEMORY",
        "ANALYTICS",
        "PODCAST_GENERATION_QUEUE",
        "PODCAST_GENERATOR",
        "USER_NOTIFICATIONS",
        "NOTIFICATION_STATE",
    ):
        assert name in bindings
    assert app.actors[0].class_name == "PodcastGenerator"
    assert [s.name for s in app.services] == [
        "web",
        "tracking",
        "preferences",
        "memory-init",
        "admin-api",
        "queue-api",
        "test-service",
    ]
    assert app.tasks[0].cron == "0 9 * * *"


def test_workers_reference_manifest_accepts_macro() -> None:
    manifest = load(MANIFESTS / "good" / "b1_civic_pulse_workers.manifest", handlers="ignore")
    assert manifest.application.tasks[0].cron == "@daily"
    assert {r.binding for r in manifest.application.resources()} >= {"BRIEF_QUEUE", "NEWS_QUEUE", "CIVIC_DB"}


def test_project_manifest_validates_with_podcast_design_forms() -> None:
    manifest = load(Path(__file__).parent.parent / "raindrop.manifest", handlers="ignore")
    app = manifest.application
    assert app.name == "hakivo"
    cron = next(o for o in app.observers if o.name == "podcast-pregeneration-cron")
    assert isinstance(cron.source, ScheduleSource) and cron.source.schedule == "0 3 * * *"
    assert {s.name for s in app.schedules()} == {"podcast-pregeneration-cron"}
    assert "KV_CACHE" in {r.binding for r in app.resources()}


EXPECT = re.compile(r"(\d+):(\d+): (.+?)\s*(?:\||$)")


def _expectations(path: Path) -> list[tuple[int, int, str]]:
    header = path.read_text().splitlines()[0]
    assert header.startswith("// expect: "), f"{path.name} has no expectation header"
    return [(int(line), int(col), text) for line, col, text in EXPECT.findall(header.removeprefix("// expect: "))]


def test_bad_corpus_is_large_enough() -> None:
    assert len(BAD) >= 40


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_manifest_reports_expected_errors(path: Path) -> None:
    expected = _expectations(path)
    manifest, diagnostics = check(path, handlers="ignore")
    assert manifest is None
    errors = [d for d in diagnostics if d.severity == "error"]
    for line, col, text in expected:
        matching = [d for d in errors if text in d.message]
        assert matching, f"no error containing {text!r}; got {[d.headline() for d in errors]}"
        assert (matching[0].line, matching[0].col) == (line, col), matching[0].render()
    assert len(errors) == len(expected), [d.headline() for d in errors]


def test_rendered_error_has_position_source_line_and_caret() -> None:
    text = 'application "a" {\n  service "s" {\n    visibilty = "public"\n  }\n}\n'
    _, diagnostics = check_text(text, "app/raindrop.manifest", handlers="ignore")
    rendered = diagnostics[0].render().splitlines()
    assert rendered[0] == (
        "app/raindrop.manifest:3:5: error: unknown attribute 'visibilty' in service \"s\": did you mean 'visibility'?"
    )
    assert rendered[1].endswith('visibilty = "public"')
    assert rendered[2].endswith("    ^~~~~~~~~")


def test_unknown_names_far_from_known_ones_are_warnings_and_strict_makes_them_errors() -> None:
    text = 'application "a" {\n  hyperdrive "v" {}\n  queue "q" {\n    provider = "x"\n  }\n}\n'
    manifest, diagnostics = check_text(text, handlers="ignore")
    assert manifest is not None
    assert [(d.severity, d.line) for d in diagnostics] == [("warning", 2), ("warning", 4)]
    manifest, diagnostics = check_text(text, handlers="ignore", strict=True)
    assert manifest is None and all(d.severity == "error" for d in diagnostics)


def test_missing_handler_is_a_warning_unless_asked_to_be_an_error(tmp_path: Path) -> None:
    path = tmp_path / "raindrop.manifest"
    path.write_text('application "a" {\n  service "api" { visibility = "public" }\n}\n')
    manifest, diagnostics = check(path, handlers="warn")
    assert manifest is not None
    assert "handlers/api.py does not exist" in diagnostics[0].message
    with pytest.raises(ManifestError) as info:
        load(path)
    assert "handlers/api.py" in str(info.value)
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "api.py").write_text("")
    assert load(path).application.services[0].handler == "handlers/api.py"


def test_handler_attribute_overrides_the_default_path() -> None:
    text = 'application "a" {\n  queue "q" {}\n  observer "o" {\n    source { queue = "q" }\n    handler = "src/o.py"\n  }\n}\n'
    manifest, _ = check_text(text, handlers="ignore")
    assert manifest is not None
    observer = manifest.application.observers[0]
    assert observer.handler == "src/o.py" and observer.handler_declared


def test_comments_strings_and_values() -> None:
    text = (
        '# hash\napplication "a" { // folded\n'
        '  env "URL" { default = "http://x//y#z*/" } /* block\n comment */\n'
        '  env "ESC" { default = "tab\\tquote\\"\\u00e9" }\n'
        '  bucket "b" {\n    meta = { kind = "string" size = 3 }\n    list = [\n      1,\n      2,\n    ]\n  }\n}'
    )
    manifest, diagnostics = check_text(text, handlers="ignore")
    assert manifest is not None, [d.render() for d in diagnostics]
    env = {e.name: e.default for e in manifest.application.env}
    assert env == {"URL": "http://x//y#z*/", "ESC": 'tab\tquote"\u00e9'}


def test_forward_references_and_smartbucket_sources() -> None:
    text = (
        'application "a" {\n  observer "o" { source { queue = "later" } }\n  queue "later" {}\n'
        '  smartbucket "docs" {}\n  observer "p" { source { bucket = "docs" } }\n}\n'
    )
    manifest, diagnostics = check_text(text, handlers="ignore")
    assert manifest is not None, [d.render() for d in diagnostics]


def test_generated_large_manifest_validates() -> None:
    parts = ['application "big" {']
    for i in range(500):
        parts += [
            f'  queue "q{i}" {{}}',
            f'  observer "o{i}" {{\n    source {{\n      queue = "q{i}"\n    }}\n  }}',
            f'  kv_cache "k{i}" {{}}',
            f'  task "t{i}" {{\n    type = "cron"\n    cron = "{i % 60} * * * *"\n  }}',
        ]
    parts.append("}")
    manifest, diagnostics = check_text("\n".join(parts), handlers="ignore")
    assert manifest is not None, diagnostics[:3]
    assert len(list(manifest.application.resources())) == 2000
