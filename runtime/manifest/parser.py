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
    return Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=True, maybe_placeholders=False)


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


def parse(source: Source) -> ParseResult:
    """Parse ``source`` into raw blocks; syntax errors are returned, never raised."""
    parser = _parser()
    diagnostics: list[Diagnostic] = []
    error_lines: set[int] = set()

    def record(message: str, span: Span) -> None:
        if span.line in error_lines:
            return
        error_lines.add(span.line)
        diagnostics.append(make(source, "error", message, span))

    def on_error(error: UnexpectedInput) -> bool:
        if len(diagnostics) >= 50:
            return False
        if isinstance(error, UnexpectedCharacters):
            return _recover_characters(source, error, record)
        if isinstance(error, UnexpectedToken):
            return _recover_token(source, error, record)
        return False

    tree: Tree[Token] | None
    try:
        tree = parser.parse(source.text, on_error=on_error)
    except UnexpectedInput as error:
        # Recovery gave up (or the error limit was reached); what was recorded stands.
        if not diagnostics:
            record(*syntax_messages.describe(source, error))
        tree = None
    if tree is None or diagnostics:
        return ParseResult([], sorted(diagnostics, key=lambda d: (d.line, d.col)))
    builder = _Builder(source)
    blocks = [builder.block(child) for child in tree.children if isinstance(child, Tree)]
    return ParseResult(blocks, builder.diagnostics)


def _recover_characters(source: Source, error: UnexpectedCharacters, record: Any) -> bool:
    record(*syntax_messages.describe(source, error))
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
    record(*syntax_messages.describe(source, error))
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
        trial = cast(Any, parser).copy()
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
        return RawAttribute(str(name), self.value(value_node), _token_span(name), _node_span(value_node))

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


def _node_span(node: Tree[Token] | Token) -> Span:
    if isinstance(node, Token):
        return _token_span(node)
    meta = node.meta
    if meta.empty:
        return Span(0, 0, 0, 0)
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)
