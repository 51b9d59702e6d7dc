"""Log output of the long-running commands: text or JSON lines, written once per loop turn.

Nothing logged can forge an entry: JSON lines escape by JSON's rules, and the text format
escapes control characters (``\\x1b``, ``\\r``) and indents every line of a record after its
first (a traceback, a message with a newline), so a line at column 0 always begins a record.
The per-request line escapes the method and path entirely (``%0a`` reads ``\\n``): one request,
one line.

A busy service logs a line per request. Writing each line with its own system call (stderr
is line-buffered) costs more than some requests; ``TurnBufferedHandler`` gathers the lines of
one event-loop turn and writes them together at its end, so output stays prompt and ordered
while a burst of requests pays for one write. Without a running loop it writes at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any, TextIO

from runtime.applog import one_record, printable, render_fields
from runtime.clock import utc
from runtime.observers import RunRecord


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = self._entry(record.created, record.levelname, record.name, record.getMessage())
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):  # env.logger's fields, merged (never over the line's own keys)
            for key, value in fields.items():
                entry.setdefault(str(key), value)
        for key in ("module", "kind", "outcome", "duration_ms", "detail"):
            if hasattr(record, "run_" + key):
                entry[key] = getattr(record, "run_" + key)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)

    def line(self, created: float, level: str, logger: str, message: str) -> str:
        """The line of a plain record (no run fields, no exception), built without a LogRecord."""
        return json.dumps(self._entry(created, level, logger, message))

    @staticmethod
    def _entry(created: float, level: str, logger: str, message: str) -> dict[str, Any]:
        return {
            "ts": utc(created).isoformat().replace("+00:00", "Z"),
            "level": level.lower(),
            "logger": logger,
            "msg": message,
        }


class TextFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL   logger: message``: the format of ``%(asctime)s %(levelname)-7s
    %(name)s: %(message)s``, built directly, with the time string made once per second (a
    busy service writes thousands of lines a second; the generic path costs more than they do)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        self._second = -1
        self._stamp = ""

    def format(self, record: logging.LogRecord) -> str:
        line = self.line(record.created, record.levelname, record.name, record.getMessage())
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict) and fields:  # env.logger's fields, after the message
            line += " " + render_fields(fields)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return one_record(line)

    def line(self, created: float, level: str, logger: str, message: str) -> str:
        second = int(created)
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%H:%M:%S", time.localtime(second))
        return f"{self._stamp} {level:<7} {logger}: {message}"


class RepeatFilter(logging.Filter):
    """Lets the first of a run of identical warnings or errors through and holds back the rest for
    ``window`` seconds; the next one after that says how many were held back. A failing disk or
    an unreachable service then costs one line every few seconds, not thousands (logged, say,
    onto the very disk that is full). Records are alike when logger, level, message and the
    exception's type and text are."""

    def __init__(self, window: float = 5.0) -> None:
        super().__init__()
        self.window = window
        self._seen: dict[tuple[Any, ...], list[float]] = {}  # key -> [window start, held back]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        exc = record.exc_info[1] if record.exc_info else None
        key = (record.name, record.levelno, record.getMessage(), type(exc), str(exc))
        seen = self._seen.get(key)
        if seen is not None and record.created - seen[0] < self.window:
            seen[1] += 1
            return False
        if seen is not None and seen[1]:
            record.msg = f"{record.getMessage()} (and {int(seen[1])} more like it in the last {self.window:g} s)"
            record.args = None
        if len(self._seen) > 1000:  # bounded: forget the oldest half
            for old in sorted(self._seen, key=lambda k: self._seen[k][0])[:500]:
                del self._seen[old]
        self._seen[key] = [record.created, 0]
        return True

    def held_back(self) -> int:
        """How many records are held back now, not yet said by a later one like them."""
        return int(sum(count for _, count in self._seen.values()))


def held_back() -> int:
    """Records the root logger's :class:`RepeatFilter` holds back now (``serve``/``worker`` say it at stop)."""
    return sum(f.held_back() for h in logging.getLogger().handlers for f in h.filters if isinstance(f, RepeatFilter))


class TurnBufferedHandler(logging.Handler):
    """Writes the records of one event-loop turn in one go at the end of that turn."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self._lines: list[str] = []
        self._scheduled_on: asyncio.AbstractEventLoop | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # noqa: BLE001 - logging must never take the app down
            self.handleError(record)
            return
        self.write_line(line)

    def write_line(self, line: str) -> None:
        """Add one formatted line to this turn's output."""
        self.write_text(line + "\n")

    def write_text(self, text: str) -> None:
        """Add ``text``, whole lines ending in a newline, to this turn's output."""
        self._lines.append(text)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (startup, shutdown, another thread): write now
            self.flush()
            return
        if self._scheduled_on is not loop:
            loop.call_soon(self.flush)
            self._scheduled_on = loop

    def flush(self) -> None:
        self._scheduled_on = None
        if not self._lines:
            return
        text, self._lines = "".join(self._lines), []
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stream: nothing left to tell
            pass

    def close(self) -> None:
        self.flush()
        super().close()


RequestLog = Callable[[str, str, str, int, float], None]  # service, method, path, status, milliseconds


def request_writer() -> RequestLog | None:
    """A direct writer of the line logged per answered request, when the output is the one
    ``configure_logging`` set up and nothing else listens to ``raindrop.http``: the same line the
    logging path writes, for a quarter of its cost (the per-request line was a fifth of a small
    request's cost). None otherwise: the service apps then log through ``logging`` as usual."""
    http = logging.getLogger("raindrop.http")
    root = logging.getLogger()
    if not http.isEnabledFor(logging.INFO) or http.handlers or logging.getLogger("raindrop").handlers:
        return None
    if http.filters or len(root.handlers) != 1 or not isinstance(root.handlers[0], TurnBufferedHandler):
        return None
    handler = root.handlers[0]
    formatter = handler.formatter
    if not isinstance(formatter, TextFormatter | JsonFormatter):
        return None

    if isinstance(formatter, JsonFormatter):

        def write_json(service: str, method: str, path: str, status: int, duration: float) -> None:
            message = f"{service} {printable(method)} {printable(path)} -> {status} in {duration:.1f} ms"
            handler.write_line(formatter.line(time.time(), "INFO", "raindrop.http", message))

        return write_json

    # Text: what comes before the message ("HH:MM:SS INFO    raindrop.http: ") is made once a
    # second, a method's escaped form once, and the line is one f-string, its newline included.
    second = -1
    prefix = ""
    methods: dict[str, str] = {}
    add = handler.write_text

    def write(service: str, method: str, path: str, status: int, duration: float) -> None:
        nonlocal second, prefix
        now = time.time()
        if int(now) != second:
            second = int(now)
            prefix = formatter.line(now, "INFO", "raindrop.http", "")
        shown = methods.get(method)
        if shown is None:
            shown = printable(method)
            if len(methods) < 64:  # the methods a server sees are few; a client's odd ones are not kept
                methods[method] = shown
        if not path.isprintable():
            path = printable(path)
        add(f"{prefix}{service} {shown} {path} -> {status} in {duration:.1f} ms\n")

    return write


def configure_logging(log_format: str, stream: TextIO, *, request_log: bool = True) -> None:
    """Send every log record to ``stream`` as text or JSON lines. ``request_log=False`` drops the
    one line per answered request (failures are still logged), as uvicorn's ``--no-access-log``."""
    logging._srcfile = None  # no caller lookup (file, line) per record: our formats never show it
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = TurnBufferedHandler(stream)
    handler.addFilter(RepeatFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    logging.getLogger("raindrop.http").setLevel(logging.INFO if request_log else logging.WARNING)


def log_run(record: RunRecord) -> None:
    """One log line per handler run (requests are logged by the service apps)."""
    if record.kind == "request":
        return
    extra = {
        "run_module": record.module,
        "run_kind": record.kind,
        "run_outcome": record.outcome,
        "run_duration_ms": round(record.duration_ms, 2),
        "run_detail": record.detail,
    }
    level = logging.INFO if record.outcome == "ok" else logging.WARNING
    logging.getLogger("raindrop.runs").log(
        level,
        "%s %s %s %s in %.1f ms",
        record.kind,
        record.module,
        record.detail,
        record.outcome,
        record.duration_ms,
        extra=extra,
    )
