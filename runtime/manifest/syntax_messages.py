"""Friendly wording for syntax errors: a table of known bad inputs.

Each entry of :data:`TABLE` names a mistake, the message users see, and small manifests that
make it. Lark's ``match_examples`` finds the entry whose examples fail in the same parser state
as the user's file; the entry's message is then filled in with names from the user's text.
``tests/test_syntax_messages.py`` walks the table, so every example must keep producing its entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from lark import Token, Tree, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from runtime.manifest.diagnostics import Source, Span


@dataclass(frozen=True, slots=True)
class Mistake:
    key: str
    message: str
    examples: tuple[str, ...]


TABLE: tuple[Mistake, ...] = (
    Mistake(
        "missing-equals",
        "missing '=' between attribute {name!r} and its value",
        (
            'application "a" {\n  service "s" {\n    visibility "public"\n  }\n}\n',
            'application "a" {\n  port 8080\n}\n',
            'application "a" {\n  secret true\n}\n',
            'application "a" {\n  actions ["PutObject"]\n}\n',
        ),
    ),
    Mistake(
        "stray-comma",
        "unexpected ',': attributes are not separated by commas; remove it",
        (
            'application "a" {\n  service "s" {\n    visibility = "public",\n  }\n}\n',
            'application "a" {\n  kv_cache "k" {},\n}\n',
            'application "a", "b" {\n}\n',
        ),
    ),
    Mistake(
        "missing-value",
        "missing value after {name!r} =: expected a string, number, boolean, list or {{ ... }}",
        (
            'application "a" {\n  service "s" {\n    visibility =\n  }\n}\n',
            'application "a" {\n  a =\n  b = 1\n}\n',
            'application "a" {\n  a = ,\n}\n',
        ),
    ),
    Mistake(
        "unquoted-value",
        'value {token} must be quoted: write "{token}"',
        ('application "a" {\n  service "s" {\n    visibility = public\n  }\n}\n',),
    ),
    Mistake(
        "unclosed-brace",
        "'{{' of {what} is never closed: add '}}'",
        (
            'application "a" {\n  service "s" {\n    visibility = "public"\n}\n',
            'application "a" {\n',
            'application "a" {\n  service "s" {\n',
        ),
    ),
    Mistake(
        "unmatched-brace",
        "unmatched '}}': no block is open here",
        (
            'application "a" {\n}\n}\n',
            "}\n",
        ),
    ),
    Mistake(
        "attribute-outside-block",
        'attribute {name!r} must be inside a block: write it inside application "..." {{ }}',
        ('name = "x"\n', 'x = 1\napplication "a" {}\n'),
    ),
    Mistake(
        "list-missing-comma",
        "list items are separated by commas: add ',' before {token}",
        (
            'application "a" {\n  a = ["x" "y"]\n}\n',
            'application "a" {\n  a = [1 2]\n}\n',
        ),
    ),
    Mistake(
        "unclosed-list",
        "'[' is never closed: add ']' after the last item",
        (
            'application "a" {\n  a = ["x", "y"\n}\n',
            'application "a" {\n  a = ["x",\n}\n',
            'application "a" {\n  a = ["x"\n}\n',
            'application "a" {\n  a = [\n}\n',
        ),
    ),
    Mistake(
        "label-not-quoted",
        'block labels are quoted strings: write {kind} "{token}" {{ ... }}',
        ('application "a" {\n  service api {\n  }\n}\n', "application a {\n}\n"),
    ),
    Mistake(
        "missing-open-brace",
        "expected '{{' to open the body of {what}",
        (
            'application "a" {\n  kv_cache "k"\n  queue "q" {}\n}\n',
            'application "a" {\n  kv_cache "k"\n}\n',
        ),
    ),
    Mistake(
        "object-missing-equals",
        "missing '=' in object entry {name!r}",
        ('application "a" {\n  o = { a "b" }\n}\n',),
    ),
)

# Mistakes found by the lexer, keyed by the character it stopped at.
CHARACTER_MESSAGES: dict[str, str] = {
    '"': "unterminated string: add the closing '\"' on the same line",
    "/*": "unterminated comment: '/*' has no matching '*/'",
    "'": "strings use double quotes: write \"...\" instead of '...'",
    ":": "use '=' to set an attribute, not ':'",
    ";": "unexpected ';': attributes end at the end of the line; remove it",
}


@cache
def _signatures() -> dict[tuple[int, str], str]:
    """Map (LALR state, token type) of each example's first error to its mistake.

    States are compared by number rather than with ``match_examples``, whose comparison
    also counts the stack depth, so that a mistake reads the same at any nesting level.
    """
    from runtime.manifest.parser import _parser

    found: dict[tuple[int, str], str] = {}
    for mistake in TABLE:
        for example in mistake.examples:
            try:
                _parser().parse(example)
            except UnexpectedToken as error:
                position = _position(error)
                found.setdefault((position, error.token.type), mistake.key)
            except UnexpectedInput:
                continue
    return found


def _position(error: UnexpectedToken) -> int:
    state = error.interactive_parser.parser_state if error.interactive_parser else error.state
    return int(getattr(state, "position", -1))


def match(error: UnexpectedToken) -> str | None:
    """The key of the table entry whose examples fail like ``error``, if any.

    Only an exact (state, token type) match counts: LALR reduce states are shared between
    contexts (a string ending a list item and one ending an attribute), so a state alone
    would name the wrong mistake.
    """
    return _signatures().get((_position(error), error.token.type))


def _by_key() -> dict[str, Mistake]:
    return {mistake.key: mistake for mistake in TABLE}


def describe(source: Source, error: UnexpectedInput) -> tuple[str, Span]:
    """The message and span for a syntax error ``error`` in ``source``."""
    if isinstance(error, UnexpectedCharacters):
        return _describe_characters(source, error)
    assert isinstance(error, UnexpectedToken)
    key = match(error)
    token = error.token
    if token.type == "$END":
        key = "unclosed-list" if "RSQB" in (error.accepts or error.expected) else "unclosed-brace"
    span = _token_span(token, source)
    fields = _context(source, error)
    if key == "missing-equals" and fields["kind_known"] and token.type in ("NAME", "RBRACE", "$END"):
        key = "missing-open-brace"
    name_span = fields["name_span"]
    if key == "missing-value" and token.type == "NAME" and isinstance(name_span, Span) and token.line == name_span.line:
        key = "unquoted-value"
    if key == "missing-equals" and token.type == "NAME" and _next_char(source, token) == "{":
        key = "label-not-quoted"
        fields["kind"] = fields["name"]
    if key is None or key not in _by_key():
        return _generic(token, error), span
    mistake = _by_key()[key]
    if key == "unclosed-brace":
        opened = _unclosed_brace(source)
        if opened is not None:
            span, fields["what"] = opened
    elif (key in ("missing-equals", "missing-value", "object-missing-equals") and fields["name_span"]) or (
        key == "missing-open-brace" and fields["name_span"]
    ):
        name_span = fields["name_span"]
        assert isinstance(name_span, Span)
        span = name_span
    try:
        message = mistake.message.format(**{k: v for k, v in fields.items() if isinstance(v, str)})
    except (KeyError, IndexError):
        message = _generic(token, error)
    return message, span


def _context(source: Source, error: UnexpectedToken) -> dict[str, object]:
    """Names near the error: the attribute or block being written when the parser stopped."""
    token = error.token
    name = ""
    name_span: Span | None = None
    labels: list[str] = []
    stack = error.interactive_parser.parser_state.value_stack if error.interactive_parser else []
    for item in reversed(stack):
        if isinstance(item, Token) and item.type == "NAME":
            name = str(item)
            name_span = _token_span(item, source)
            break
        if isinstance(item, Token) and item.type == "STRING":
            labels.insert(0, str(item).strip('"'))
        elif isinstance(item, Tree):
            labels[:0] = [str(t.children[0]).strip('"') for t in item.find_data("label")]
    from runtime.manifest.schema import BLOCK_KINDS

    what = f"{name} {' '.join(f'{chr(34)}{label}{chr(34)}' for label in labels)}".strip() if name else "this block"
    return {
        "name": name,
        "name_span": name_span,
        "kind": name,
        "what": what,
        "kind_known": name in BLOCK_KINDS,
        "token": _token_text(token),
    }


def _token_text(token: Token) -> str:
    if token.type == "$END":
        return "the end of the file"
    return str(token)


def _generic(token: Token, error: UnexpectedToken) -> str:
    expected = sorted(_TERMINAL_NAMES.get(t, t) for t in error.accepts or error.expected)
    return f"unexpected {_token_text(token)!r}: expected {', '.join(expected)}"


_TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LSQB": "'['",
    "RSQB": "']'",
    "EQUAL": "'='",
    "COMMA": "','",
    "TRUE": "true",
    "FALSE": "false",
    "$END": "the end of the file",
}


def _describe_characters(source: Source, error: UnexpectedCharacters) -> tuple[str, Span]:
    text = source.text
    pos = error.pos_in_stream or 0
    span = Span.point(error.line, error.column)
    if text.startswith("/*", pos):
        return CHARACTER_MESSAGES["/*"], span
    char = text[pos] if pos < len(text) else ""
    if char in CHARACTER_MESSAGES:
        return CHARACTER_MESSAGES[char], span
    return f"unexpected character {char!r}", span


def _token_span(token: Token, source: Source) -> Span:
    if token.type == "$END" or token.line is None:
        lines = source.text.splitlines() or [""]
        return Span.point(len(lines), len(lines[-1]) + 1)
    return Span(token.line, token.column or 1, token.end_line or token.line, token.end_column or 2)


def _next_char(source: Source, token: Token) -> str:
    if token.end_pos is None:
        return ""
    rest = source.text[token.end_pos :].lstrip()
    return rest[:1]


_BRACE_SCAN = re.compile(r'"(?:[^"\\\n]|\\.)*"|//[^\n]*|#[^\n]*|/\*.*?\*/|[{}]|[A-Za-z_][A-Za-z0-9_\-]*', re.S)


def _unclosed_brace(source: Source) -> tuple[Span, str] | None:
    """The '{' that is never closed, and what it opened: the innermost one still open at the end
    of the file, unless indentation says otherwise. A '}' that closes a block indented deeper
    than itself (the first '}' at the application's indent closing a queue's '{') means that
    block is the one missing its '}', so it is named instead of the application."""
    stack: list[tuple[int, str]] = []
    words: list[str] = []
    misplaced: tuple[int, str] | None = None
    text_ = source.text

    def indent(offset: int) -> int:
        start = text_.rfind("\n", 0, offset) + 1
        return len(text_[start:offset]) - len(text_[start:offset].lstrip(" \t"))

    for match in _BRACE_SCAN.finditer(text_):
        text = match.group()
        if text == "{":
            stack.append((match.start(), " ".join(words[-3:]) or "this block"))
            words.clear()
        elif text == "}":
            if stack:
                opened = stack.pop()
                line_start = text_.rfind("\n", 0, match.start()) + 1
                alone = not text_[line_start : match.start()].strip()  # the '}' starts its line
                if misplaced is None and alone and indent(match.start()) < indent(opened[0]):
                    misplaced = opened
            words.clear()
        elif text.startswith(("//", "#", "/*")):
            continue
        else:
            words.append(text)
            if len(words) > 1 and not words[-1].startswith('"'):
                words[:] = words[-1:]
    if not stack:
        return None
    offset, what = misplaced or stack[-1]
    line = source.text.count("\n", 0, offset) + 1
    col = offset - (source.text.rfind("\n", 0, offset) + 1) + 1
    return Span.point(line, col), what
