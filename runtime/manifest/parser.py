"""From manifest text to a tree of raw blocks, with every syntax error of the file.

The grammar lives in ``raindrop.lark``. Parsing is LALR with Lark's contextual lexer. When the
parser meets a token it cannot take, it records a diagnostic (worded from the table in
``syntax_messages``), repairs the input by inserting the one token that would make it go on
(a missing ``=``, ``}`` or value) or by dropping the stray token, and continues, so that a file
with three mistakes reports three errors. At most one syntax error is reported per line, since
the rest of a broken line rarely says anything new.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, cast

from lark import Lark, Token, Tree, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from runtime.manifest import syntax_messages
from runtime.manifest.diagnostics import Diagnostic, Source, Span, make

Value = str | int | float | bool | list["Value"] | dict[str, "Value"]


@dataclass(frozen=True, slots=True)
class RawAttribute:
    name: str
    value: Value
    span: Span
    value_span: Span


@dataclass(frozen=True, slots=True)
class RawBlock:
    kind: str
    labels: tuple[str, ...]
    attributes: tuple[RawAttribute, ...]
    blocks: tuple[RawBlock, ...]
    span: Span
    label_spans: tuple[Span, ...] = ()

    def label_span(self, index: int = 0) -> Span:
        return self.label_spans[index] if index < len(self.label_spans) else self.span


@dataclass(slots=True)
class ParseResult:
    blocks: list[RawBlock]
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)


@cache
def _parser() -> Lark:
    grammar = resources.files("runtime.manifest").joinpath("raindrop.lark").read_text()
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=False)


# Tokens the recovery may insert, in the order they are tried.
_REPAIRS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("EQUAL", "="),),
    (("STRING", '""'),),
    (("LBRACE", "{"), ("RBRACE", "}")),  # `name "label"` then `}`: close it as an empty block
    (("RBRACE", "}"),),
    (("RSQB", "]"),),
    (("COMMA", ","),),
)


def _accepts(parser: Any) -> set[str]:
    # Lark's interactive parser is untyped; this is its one query we need.
    return set(parser.accepts())


#: Blocks, lists and objects nest at most this deep (real manifests nest 4 levels at most).
MAX_DEPTH = 32
#: After this many repairs the parser stops: a file this broken is not worth reading on.
MAX_REPAIRS = 200
_NESTING = re.compile(r'"(?:[^"\\\n]|\\.)*"|(?://|#)[^\n]*|/\*.*?\*/|[{}\[\]]', re.DOTALL)


def _too_deep(source: Source) -> Diagnostic | None:
    """A diagnostic at the first bracket nested deeper than ``MAX_DEPTH`` (strings and comments
    skipped), found in one linear scan before the parser, whose tree would recurse that deep."""
    depth = 0
    for match in _NESTING.finditer(source.text):
        char = match.group()
        if char in "{[":
            depth += 1
            if depth > MAX_DEPTH:
                line = source.text.count("\n", 0, match.start()) + 1
                col = match.start() - (source.text.rfind("\n", 0, match.start()) + 1) + 1
                return make(
                    source,
                    "error",
                    f"blocks, lists and objects nest more than {MAX_DEPTH} levels deep here; a manifest nests a few",
                    Span.point(line, col),
                )
        elif char in "}]":
            depth = max(0, depth - 1)
    return None


def parse(source: Source) -> ParseResult:
    """Parse ``source`` into raw blocks; syntax errors are returned, never raised."""
    too_deep = _too_deep(source)
    if too_deep is not None:
        return ParseResult([], [too_deep])
    parser = _parser()
    diagnostics: list[Diagnostic] = []
    error_lines: set[int] = set()
    repairs = 0

    def record(message: str, span: Span) -> None:
        if span.line in error_lines:
            return
        error_lines.add(span.line)
        diagnostics.append(make(source, "error", message, span))

    def on_error(error: UnexpectedInput) -> bool:
        nonlocal repairs
        repairs += 1
        if len(diagnostics) >= 50 or repairs > MAX_REPAIRS:
            return False
        if getattr(error, "line", None) in error_lines:  # this line has its error: repair quietly
            return (
                _recover_characters(source, error, _ignore)
                if isinstance(error, UnexpectedCharacters)
                else (_recover_token(source, error, _ignore) if isinstance(error, UnexpectedToken) else False)
            )
        if isinstance(error, UnexpectedCharacters):
            return _recover_characters(source, error, record)
        if isinstance(error, UnexpectedToken):
            return _recover_token(source, error, record)
        return False

    tree: Tree[Token] | None = _clean_trees.get(source.text)
    if tree is None:
        try:
            tree = parser.parse(source.text, on_error=on_error)
        except UnexpectedInput as error:
            # Recovery gave up (or the error limit was reached); what was recorded stands.
            if not diagnostics:
                record(*syntax_messages.describe(source, error))
            tree = None
        if tree is None or diagnostics:
            return ParseResult([], sorted(diagnostics, key=lambda d: (d.line, d.col)))
        _remember_clean_tree(source.text, tree)
    builder = _Builder(source)
    blocks = [builder.block(child) for child in tree.children if isinstance(child, Tree)]
    return ParseResult(blocks, builder.diagnostics)


#: Lark trees of texts that parsed without a single error, by text: a process that loads the same
#: manifest again (a test suite starting an app per test, ``serve`` reloading) skips the parser,
#: the larger part of a check. The tree depends on the text alone (no path, no file system); the
#: builder only reads it and makes new blocks and values from it each time.
_clean_trees: dict[str, Tree[Token]] = {}
_CLEAN_TREES = 64
_clean_trees_lock = threading.Lock()
_CLEAN_TREE_TEXT = 256 * 1024


def _remember_clean_tree(text: str, tree: Tree[Token]) -> None:
    if len(text) > _CLEAN_TREE_TEXT:
        return
    with _clean_trees_lock:  # manifests may be checked on several threads
        while len(_clean_trees) >= _CLEAN_TREES:
            del _clean_trees[next(iter(_clean_trees))]  # the oldest
        _clean_trees[text] = tree


def _ignore(message: str, span: Span) -> None:
    """``record`` for an error on a line that already has one."""


def _record_described(source: Source, error: UnexpectedInput, record: Any) -> None:
    if record is not _ignore:
        record(*syntax_messages.describe(source, error))


def _recover_characters(source: Source, error: UnexpectedCharacters, record: Any) -> bool:
    _record_described(source, error, record)
    state = error.interactive_parser.lexer_thread.state if error.interactive_parser else None
    if state is None:
        return False
    text = source.text
    pos = error.pos_in_stream or 0
    parser = error.interactive_parser
    if text[pos] == ":" and "EQUAL" in _accepts(parser):
        parser.feed_token(Token("EQUAL", "="))
        state.line_ctr.feed(":")
        return True
    if text[pos] == "'":
        # A single-quoted string: skip to its closing quote and read it as a string.
        end = text.find("'", pos + 1, text.find("\n", pos) if "\n" in text[pos:] else len(text))
        state.line_ctr.feed(text[pos : end + 1] if end > 0 else text[pos])
        if "STRING" in _accepts(parser):
            parser.feed_token(Token("STRING", '""'))
        return True
    if text[pos] == '"' or text.startswith("/*", pos):
        # An unterminated string or comment: skip the rest of the line, and stand in a value
        # where one was expected so that the next line parses normally.
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        state.line_ctr.feed(text[pos:end])
        if "STRING" in _accepts(parser):
            parser.feed_token(Token("STRING", '""'))
    return True


def _recover_token(source: Source, error: UnexpectedToken, record: Any) -> bool:
    token = error.token
    _record_described(source, error, record)
    parser = error.interactive_parser
    if token.type == "$END":
        # Close every block still open, then let the parser take the end again.
        for _ in range(200):
            accepts = _accepts(parser)
            if "$END" in accepts:
                return True
            if "RBRACE" not in accepts:
                if "STRING" in accepts:
                    parser.feed_token(Token("STRING", '""'))
                    continue
                if "RSQB" in accepts:
                    parser.feed_token(Token("RSQB", "]"))
                    continue
                return False
            parser.feed_token(Token("RBRACE", "}"))
        return False
    accepts = _accepts(parser)
    stack = parser.parser_state.value_stack
    if (
        token.type == "NAME"
        and "STRING" in accepts
        and "EQUAL" not in accepts
        and stack
        and isinstance(stack[-1], Token)
        and stack[-1].line == token.line
    ):
        # `name = word`: an unquoted value; read it as the string it was meant to be.
        parser.feed_token(Token("STRING", '""'))
        return True
    for repair in _REPAIRS:
        # A shallow copy: trials only reduce into new trees, and a deep copy of the value stack on
        # every trial made recovery quadratic in the file's size.
        trial = cast(Any, parser).copy(deepcopy_values=False)
        try:
            for kind, text in repair:
                trial.feed_token(Token(kind, text))
        except UnexpectedInput:
            continue
        if token.type in trial.accepts():
            for kind, text in repair:
                parser.feed_token(Token(kind, text))
            parser.feed_token(token)
            return True
    if "STRING" in _accepts(parser) and "EQUAL" not in _accepts(parser):
        # A value was expected and this token cannot start one: stand in a value, drop the token.
        parser.feed_token(Token("STRING", '""'))
    return True  # drop the stray token


class _Builder:
    """Turns the Lark tree into raw blocks; string escapes are checked here."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.diagnostics: list[Diagnostic] = []

    def block(self, tree: Tree[Token]) -> RawBlock:
        kind_token = tree.children[0]
        assert isinstance(kind_token, Token)
        labels: list[str] = []
        label_spans: list[Span] = []
        attributes: list[RawAttribute] = []
        blocks: list[RawBlock] = []
        for child in tree.children[1:]:
            if not isinstance(child, Tree):
                continue
            if child.data == "label":
                token = child.children[0]
                assert isinstance(token, Token)
                labels.append(self.string(token))
                label_spans.append(_token_span(token))
            elif child.data == "attribute":
                attributes.append(self.attribute(child))
            elif child.data == "block":
                blocks.append(self.block(child))
        return RawBlock(
            kind=str(kind_token),
            labels=tuple(labels),
            attributes=tuple(attributes),
            blocks=tuple(blocks),
            span=_token_span(kind_token),
            label_spans=tuple(label_spans),
        )

    def attribute(self, tree: Tree[Token]) -> RawAttribute:
        name, value_node = tree.children[0], tree.children[1]
        assert isinstance(name, Token)
        return RawAttribute(
            str(name),
            self.value(value_node),
            _token_span(name),
            _node_span(value_node, _token_span(name), self.source.text),
        )

    def value(self, node: Tree[Token] | Token) -> Value:
        assert isinstance(node, Tree)
        if node.data == "list":
            return [self.value(child) for child in node.children if isinstance(child, Tree)]
        if node.data == "object":
            result: dict[str, Value] = {}
            for pair in node.children:
                if isinstance(pair, Tree):
                    key = pair.children[0]
                    result[str(key)] = self.value(pair.children[1])
            return result
        token = node.children[0]
        assert isinstance(token, Token)
        if node.data == "string":
            return self.string(token)
        if node.data == "number":
            text = str(token)
            return float(text) if any(c in text for c in ".eE") else int(text)
        return node.data == "true"

    def string(self, token: Token) -> str:
        if "\\" not in token:  # no escapes: the text between the quotes is the value
            return str(token)[1:-1]
        try:
            value = json.loads(str(token))
        except json.JSONDecodeError as exc:
            span = _token_span(token)
            col = span.col + exc.pos
            self.diagnostics.append(
                make(
                    self.source,
                    "error",
                    f'invalid escape in string {str(token)!s}: use \\" \\\\ \\n \\t \\r \\/ \\b \\f or \\uXXXX',
                    Span.point(span.line, col),
                )
            )
            return str(token)[1:-1]
        assert isinstance(value, str)
        return value


def _token_span(token: Token) -> Span:
    line = token.line or 0
    col = token.column or 0
    return Span(line, col, token.end_line or line, token.end_column or col + 1)


def _node_span(node: Tree[Token] | Token, fallback: Span, text: str) -> Span:
    """From the first to the last token of ``node`` (the parser does not track positions of
    subtrees: that cost a third of the parse); ``fallback`` for a value with no token, ``[]``."""
    first = last = node
    while isinstance(first, Tree):
        first = next((c for c in first.children if isinstance(c, Tree | Token)), None)  # type: ignore[assignment]
        if first is None:
            return fallback
    while isinstance(last, Tree):
        last = last.children[-1] if last.children else None  # type: ignore[assignment]
        if last is None:
            return fallback
    start, end = _token_span(first), _token_span(last)
    if isinstance(node, Tree) and node.data in ("list", "object"):  # include the brackets
        brackets = "[]" if node.data == "list" else "{}"
        opening = text.rfind(brackets[0], 0, first.start_pos or 0)
        closing = text.find(brackets[1], last.end_pos or 0)
        if opening >= 0:
            start = _point_near(text, opening, first.start_pos or 0, start.line)
        if closing >= 0:
            end = _point_near(text, closing, last.end_pos or 0, end.line)
    return Span(start.line, start.col, end.end_line, end.end_col)


def _point_near(text: str, pos: int, anchor: int, anchor_line: int) -> Span:
    """The position of offset ``pos``, counted from a nearby offset whose line is known (never
    from the start of the file: that would make every value's span cost the file's length)."""
    low, high = min(pos, anchor), max(pos, anchor)
    between = text.count("\n", low, high)
    line = anchor_line - between if pos < anchor else anchor_line + between
    return Span.point(line, pos - (text.rfind("\n", 0, pos) + 1) + 1)
