"""``env.logger``: the platform's structured logger, ``info(message, fields)`` and the other levels.

The message is printed as given (a ``%`` in it is just a character; in text logs its control
characters are escaped and a newline starts an indented continuation line, see
:mod:`runtime.logs`), and the fields are kept:
the text format writes them as ``key=value`` after the message, the JSON format merges them
into the line's object. Both formats are :mod:`runtime.logs`'; any other logging handler sees
the fields as the record's ``fields`` attribute.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

#: Control characters (C0, DEL, C1, and the Unicode line and paragraph separators) as escapes.
_ESCAPES = {
    **{c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))},
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


_ESCAPES_BUT_NEWLINE = {c: e for c, e in _ESCAPES.items() if c != ord("\n")}
CONTINUATION = "\n    "


def printable(text: str) -> str:
    """``text`` with its control characters escaped (a newline reads ``\\n``): one line, which
    text from a request (a path with ``%0a``) cannot break into a forged log entry."""
    return text if text.isprintable() else text.translate(_ESCAPES)


def one_record(text: str) -> str:
    """``text`` as the lines of one log record: control characters escaped, and every line
    after the first indented, so that a line at column 0 always begins a record of its own."""
    if text.isprintable():
        return text
    return text.translate(_ESCAPES_BUT_NEWLINE).replace("\n", CONTINUATION)


def render_fields(fields: Mapping[str, Any]) -> str:
    """``key=value`` pairs: plain words as they are, other strings quoted, the rest as JSON."""
    parts = []
    for key, value in fields.items():
        key = printable(str(key))
        if isinstance(value, str):
            shown = value if value and all(c.isalnum() or c in "-_./:@" for c in value) else json.dumps(value)
        else:
            shown = json.dumps(value, default=str, separators=(",", ":"))
        parts.append(f"{key}={shown}")
    return " ".join(parts)


class AppLogger:
    """``env.logger``: ``debug``, ``info``, ``warn`` (and ``warning``), ``error``, each taking
    ``(message, fields=None)``; also ``exception`` (an error with the current traceback)."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    @property
    def name(self) -> str:
        return self._logger.name

    def _log(self, level: int, message: Any, fields: Any, exc_info: Any = None) -> None:
        if not self._logger.isEnabledFor(level):
            return
        extra = None
        if fields is not None:
            extra = {"fields": dict(fields) if isinstance(fields, Mapping) else {"fields": fields}}
        self._logger.log(level, "%s", message, extra=extra, exc_info=exc_info, stacklevel=3)

    def debug(self, message: Any, fields: Any = None) -> None:
        """Log at debug level, with optional structured ``fields``."""
        self._log(logging.DEBUG, message, fields)

    def info(self, message: Any, fields: Any = None) -> None:
        """Log at info level, with optional structured ``fields``."""
        self._log(logging.INFO, message, fields)

    def warn(self, message: Any, fields: Any = None) -> None:
        """Log at warning level, with optional structured ``fields``."""
        self._log(logging.WARNING, message, fields)

    warning = warn

    def error(self, message: Any, fields: Any = None) -> None:
        """Log at error level, with optional structured ``fields``."""
        self._log(logging.ERROR, message, fields)

    def exception(self, message: Any, fields: Any = None) -> None:
        """Log at error level with the current exception's traceback."""
        self._log(logging.ERROR, message, fields, exc_info=True)

    def isEnabledFor(self, level: int) -> bool:  # logging.Logger's own spelling
        """Whether ``level`` would be logged (as ``logging.Logger.isEnabledFor``)."""
        return self._logger.isEnabledFor(level)
