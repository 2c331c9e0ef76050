"""Structured logs: one event per line, ``key=value`` by default or JSON.

Every line is an *event* with fields: ``log_event(logger, "listening", host=..., port=...)``
writes ``ts=2026-11-25T21:03:04.123Z level=info event=listening host=127.0.0.1 port=7270``.
Values with spaces, quotes or ``=`` are quoted. Rule: callers pass only operational facts
(addresses, submitter IDs, control numbers, codes, counts), never patient data (names, MBIs,
birth dates); a test scans the log output of a full test run for the demo fixtures' values.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any, TextIO

LOGGER_NAME = "hetsock"
_PSYCOPG = "psycopg"
_FIELDS = "hetsock_fields"


def log_event(logger: logging.Logger, event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``event`` with ``fields`` (operational facts only; never patient data)."""
    if logger.isEnabledFor(level):
        logger.log(level, event, extra={_FIELDS: fields})


def _timestamp(record: logging.LogRecord) -> str:
    moment = dt.datetime.fromtimestamp(record.created, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {"ts": _timestamp(record), "level": record.levelname.lower(), "event": record.getMessage()}
    fields.update(getattr(record, _FIELDS, {}))
    if record.exc_info and record.exc_info[0] is not None:
        # The exception type and where it happened; never its message, which may quote data.
        fields["error"] = record.exc_info[0].__name__
        tb = record.exc_info[2]
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None:
            fields["at"] = f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}"
    return fields


def _kv_value(value: Any) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' "=\\\n\t'):
        return json.dumps(text)
    return text


class KeyValueFormatter(logging.Formatter):
    """``key=value`` pairs, one event per line."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{key}={_kv_value(value)}" for key, value in _fields(record).items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record), default=str)


def configure_logging(*, json_format: bool = False, level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Send the ``hetsock`` logger's events to ``stream`` (default stderr) in the chosen format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json_format else KeyValueFormatter())
    # Ours at ``level``; psycopg's pool (PostgreSQL) only at ERROR, in the same format: it warns
    # on every reconnection attempt while a database is away, which our own events already
    # report once (store-unavailable, audit-write-failed).
    for name, threshold in ((LOGGER_NAME, level), (_PSYCOPG, max(level, logging.ERROR))):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(threshold)
        logger.propagate = False
