"""Source positions and the diagnostics the manifest reader reports.

A :class:`Diagnostic` renders as compilers do::

    raindrop.manifest:12:5: error: observer "x" reads unknown queue "jobs"
       12 |     queue = "jobs"
          |     ^
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file; lines and columns count from 1."""

    line: int
    col: int
    end_line: int
    end_col: int

    @classmethod
    def point(cls, line: int, col: int) -> Span:
        return cls(line, col, line, col + 1)

    def as_dict(self) -> dict[str, int]:
        return {"line": self.line, "col": self.col, "end_line": self.end_line, "end_col": self.end_col}


@dataclass(frozen=True, slots=True)
class Source:
    """The text of one file and the name it is reported under."""

    path: str
    text: str
    _lines: list[str] = field(default_factory=list, compare=False, repr=False)

    def line(self, number: int) -> str:
        if not self._lines:
            self._lines.extend(self.text.splitlines())
        if 1 <= number <= len(self._lines):
            return self._lines[number - 1]
        return ""


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: Severity
    message: str
    path: str
    span: Span
    source_line: str = ""

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def col(self) -> int:
        return self.span.col

    def headline(self) -> str:
        if self.span.line <= 0:  # about the file as a whole (missing, unreadable)
            return f"{self.path}: {self.severity}: {self.message}"
        return f"{self.path}:{self.span.line}:{self.span.col}: {self.severity}: {self.message}"

    def render(self) -> str:
        """The headline, the source line and a caret under the column."""
        if not self.source_line and self.span.line <= 0:
            return self.headline()
        number = str(self.span.line)
        gutter = " " * len(number)
        text = self.source_line.replace("\t", " ")
        width = 1
        if self.span.end_line == self.span.line and self.span.end_col > self.span.col:
            width = min(self.span.end_col - self.span.col, max(1, len(text) - self.span.col + 1))
        caret = " " * (self.span.col - 1) + "^" + "~" * (width - 1)
        return f"{self.headline()}\n {number} | {text}\n {gutter} | {caret}"

    def as_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "message": self.message,
            "file": self.path,
            **self.span.as_dict(),
        }


def make(source: Source, severity: Severity, message: str, span: Span) -> Diagnostic:
    return Diagnostic(severity, message, source.path, span, source.line(span.line))


_WIDE_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}


def decode_text(raw: bytes, path: str, what: str) -> str | Diagnostic:
    """``raw`` as UTF-8 text (a leading byte-order mark dropped), or a positioned diagnostic
    saying where it is not, for any byte sequence."""
    for bom, name in _WIDE_BOMS.items():
        if raw.startswith(bom):
            return Diagnostic("error", f"{what} is {name} text; save it as UTF-8", path, Span.point(1, 1))
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return Diagnostic(
            "error",
            f"{what} is not UTF-8 text: byte {raw[exc.start]:#04x} cannot start or continue a character here; "
            "save the file as UTF-8",
            path,
            Span.point(line, col),
        )
