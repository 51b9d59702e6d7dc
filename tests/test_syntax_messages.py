from __future__ import annotations

import pytest

from runtime.manifest import check_text
from runtime.manifest.syntax_messages import CHARACTER_MESSAGES, TABLE, Mistake

CASES = [(m, example) for m in TABLE for example in m.examples]


@pytest.mark.parametrize(("mistake", "example"), CASES, ids=[f"{m.key}-{i}" for i, (m, _) in enumerate(CASES)])
def test_each_known_mistake_gets_its_message(mistake: Mistake, example: str) -> None:
    manifest, diagnostics = check_text(example, handlers="ignore")
    assert manifest is None
    first = diagnostics[0]
    # The message template's fixed prefix (before any placeholder) must appear.
    fixed = mistake.message.split("{")[0].replace("}}", "}")
    assert fixed and fixed in first.message.replace("'{'", "'{'"), (mistake.key, first.message)


@pytest.mark.parametrize("char", sorted(CHARACTER_MESSAGES))
def test_lexer_mistakes_have_messages(char: str) -> None:
    text = 'application "a" {\n  x = ' + (char + "abc" if char != "/*" else "/* open") + "\n}\n"
    if char in (":", ";"):
        text = 'application "a" {\n  x' + char + ' "v"\n}\n'
    _, diagnostics = check_text(text, handlers="ignore")
    assert diagnostics[0].message == CHARACTER_MESSAGES[char]


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        # the queue's '}' is missing: the last '}' (at the application's indent) closed the queue
        (
            'application "a" {\n  queue "jobs" {\n  observer "r" {\n    source {\n      queue = "jobs"\n    }\n  }\n}\n',
            2,
            'queue "jobs"',
        ),
        ('application "a" {\n  service "s" {\n    visibility = "public"\n  }\n', 1, 'application "a"'),
        ('application "a" {\n  service "s" {\n    source {\n  }\n}\n', 3, "source"),
    ],
)
def test_a_missing_brace_is_reported_at_the_block_missing_it(text: str, line: int, what: str) -> None:
    _, diagnostics = check_text(text, handlers="ignore")
    (diagnostic,) = [d for d in diagnostics if "never closed" in d.message]
    assert (diagnostic.line, what in diagnostic.message) == (line, True), diagnostic.render()
