"""The long-running commands' log output: one write per event-loop turn, nothing held back."""

from __future__ import annotations

import asyncio
import io
import logging

from runtime.logs import TurnBufferedHandler


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def test_lines_of_one_turn_are_written_together_at_its_end() -> None:
    stream = CountingStream()
    logger = logging.getLogger("test.turns")
    logger.propagate = False
    logger.handlers[:] = [TurnBufferedHandler(stream)]
    logger.setLevel(logging.INFO)

    async def burst() -> str:
        for i in range(100):
            logger.info("request %d", i)
        seen_during = stream.getvalue()
        await asyncio.sleep(0)  # the turn ends
        return seen_during

    assert asyncio.run(burst()) == ""
    assert stream.getvalue().splitlines() == [f"request {i}" for i in range(100)]
    assert stream.writes == 1
    logger.info("no loop: written at once")  # e.g. at startup and shutdown
    assert stream.getvalue().endswith("no loop: written at once\n") and stream.writes == 2
    # a second loop, after the first closed, still gets its lines out
    asyncio.run(burst())
    assert stream.getvalue().count("request 99") == 2


def test_text_lines_read_as_before() -> None:
    from runtime.logs import TextFormatter

    record = logging.LogRecord("raindrop.http", logging.INFO, __file__, 1, "%s -> %d", ("GET /", 200), None)
    generic = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
    assert TextFormatter().format(record) == generic.format(record)
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    assert TextFormatter().format(failed).endswith("ValueError: boom")


def test_no_request_log_keeps_failures() -> None:
    from runtime.logs import configure_logging

    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("text", stream, request_log=False)
        http = logging.getLogger("raindrop.http")
        http.info("web GET / -> 200 in 0.1 ms")
        http.error("service web: GET / raised")
        logging.getLogger("raindrop.runs").info("observer ok")
        assert stream.getvalue().splitlines()[0].endswith("raindrop.http: service web: GET / raised")
        assert "-> 200" not in stream.getvalue() and "observer ok" in stream.getvalue()
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        logging.getLogger("raindrop.http").setLevel(logging.NOTSET)


def test_the_direct_request_line_is_the_logging_line() -> None:
    import json as jsonlib

    from runtime.logs import configure_logging, request_writer

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        for log_format in ("text", "json"):
            stream = io.StringIO()
            configure_logging(log_format, stream)
            write = request_writer()
            assert write is not None
            write("web", "GET", "/hello", 200, 1.234)
            logging.getLogger("raindrop.http").info("%s %s %s -> %d in %.1f ms", "web", "GET", "/hello", 200, 1.234)
            direct, through_logging = stream.getvalue().splitlines()
            if log_format == "json":
                direct_entry, logged_entry = jsonlib.loads(direct), jsonlib.loads(through_logging)
                assert direct_entry.pop("ts")[:16] == logged_entry.pop("ts")[:16]
                assert direct_entry == logged_entry
            else:
                assert direct[8:] == through_logging[8:]  # all but the HH:MM:SS stamp
        configure_logging("text", io.StringIO(), request_log=False)
        assert request_writer() is None  # --no-request-log: nothing to write
        configure_logging("text", io.StringIO())
        logging.getLogger("raindrop.http").addHandler(logging.NullHandler())
        assert request_writer() is None  # someone else listens: go through logging
    finally:
        logging.getLogger("raindrop.http").handlers.clear()
        root.handlers[:], level = saved
        root.setLevel(level)
        logging.getLogger("raindrop.http").setLevel(logging.NOTSET)


def test_env_logger_keeps_fields_in_text_and_json_and_prints_percent_as_is() -> None:
    import json

    from runtime.applog import AppLogger
    from runtime.logs import JsonFormatter, RepeatFilter, TextFormatter

    for formatter in (TextFormatter(), JsonFormatter()):
        stream = io.StringIO()
        logger = logging.getLogger(f"test.fields.{type(formatter).__name__}")
        logger.propagate = False
        handler = TurnBufferedHandler(stream)
        handler.setFormatter(formatter)
        handler.addFilter(RepeatFilter())
        logger.handlers[:] = [handler]
        logger.setLevel(logging.DEBUG)
        app_logger = AppLogger(logger)
        app_logger.info("call placed to %s at 100%", {"callId": "c-17", "persona": "Grandma Rose", "retries": 2})
        app_logger.warn("no fields, 50% off")
        app_logger.error("nested", {"payload": {"a": [1, 2]}, "ok": False})
        lines = stream.getvalue().splitlines()
        if isinstance(formatter, TextFormatter):
            assert lines[0].endswith('call placed to %s at 100% callId=c-17 persona="Grandma Rose" retries=2')
            assert lines[1].endswith("WARNING test.fields.TextFormatter: no fields, 50% off")
            assert lines[2].endswith('nested payload={"a":[1,2]} ok=false')
        else:
            first = json.loads(lines[0])
            assert first["msg"] == "call placed to %s at 100%" and first["callId"] == "c-17" and first["retries"] == 2
            assert json.loads(lines[1])["msg"] == "no fields, 50% off"
            third = json.loads(lines[2])
            assert third["payload"] == {"a": [1, 2]} and third["ok"] is False and third["level"] == "error"


def test_repeated_errors_are_logged_once_with_a_count() -> None:
    from runtime.logs import RepeatFilter, TextFormatter, held_back

    stream = io.StringIO()
    handler = TurnBufferedHandler(stream)
    handler.setFormatter(TextFormatter())
    repeats = RepeatFilter(window=5.0)
    handler.addFilter(repeats)
    logger = logging.getLogger("test.repeats")
    logger.propagate = False
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)

    def error(at: float) -> None:
        record = logger.makeRecord("test.repeats", logging.ERROR, __file__, 1, "disk full: %s", ("state.db",), None)
        record.created = at
        logger.handle(record)

    for moment in (100.0, 100.5, 101.0, 102.0):
        error(moment)
    logger.info("an info line is never held back")
    assert repeats.held_back() == 3
    error(106.0)  # after the window: one line that counts what was held back
    lines = stream.getvalue().splitlines()
    assert [line.split(": ", 1)[1] for line in lines] == [
        "disk full: state.db",
        "an info line is never held back",
        "disk full: state.db (and 3 more like it in the last 5 s)",
    ]
    assert repeats.held_back() == 0
    root = logging.getLogger()
    saved = root.handlers[:]
    try:
        root.handlers[:] = [handler]
        error(107.0)
        assert held_back() == 1  # what serve and worker say at stop
    finally:
        root.handlers[:] = saved


FORGED = "12:00:00 INFO    raindrop.http: api GET /admin -> 200 in 0.1 ms"


def test_text_records_cannot_forge_lines() -> None:
    from runtime.applog import AppLogger
    from runtime.logs import TextFormatter

    stream = io.StringIO()
    logger = logging.getLogger("test.forge")
    logger.propagate = False
    handler = TurnBufferedHandler(stream)
    handler.setFormatter(TextFormatter())
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.warning("path %s not found", f"/x\n{FORGED}\r\x1b[2J")
    AppLogger(logger).info(f"user said\n{FORGED}", {f"k\n{FORGED}": f"v\n{FORGED}"})
    try:
        raise ValueError(f"bad id\n{FORGED}")
    except ValueError:
        logger.exception("failed")
    lines = stream.getvalue().splitlines()
    records = [line for line in lines if not line.startswith(" ")]
    assert len(records) == 3, lines  # every other line is an indented continuation of its record
    assert not any(line.startswith("12:00:00 INFO") for line in lines)
    assert "\x1b" not in stream.getvalue() and "\r" not in stream.getvalue()
    assert "\\x1b[2J" in lines[1] and "\\r" in lines[1]
    assert any(line.strip().startswith("ValueError: bad id") for line in lines)


def test_a_request_path_with_newlines_is_one_escaped_line() -> None:
    import json as jsonlib

    from runtime.logs import configure_logging, request_writer

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        for log_format in ("text", "json"):
            stream = io.StringIO()
            configure_logging(log_format, stream)
            write = request_writer()
            assert write is not None
            write("api", "GET", f"/a\n{FORGED}\u2028x", 404, 0.5)
            logging.getLogger("raindrop.http").info("%s", "done")
            lines = stream.getvalue().splitlines()
            assert len(lines) == 2, lines
            if log_format == "text":
                assert lines[0].endswith(f"api GET /a\\n{FORGED}\\u2028x -> 404 in 0.5 ms")
            else:
                assert jsonlib.loads(lines[0])["msg"].startswith("api GET /a\\n12:00:00")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        logging.getLogger("raindrop.http").setLevel(logging.NOTSET)
