"""The server's own log lines from observers: store outages, and a failing observer named."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from hetsock.pipeline import Reply, ReplyKind
from hetsock.server.observer import ConnectionInfo, Exchange, LogObserver, Observer, Observers

NOW = dt.datetime(2026, 11, 22, 9, 0)
INFO = ConnectionInfo(1, "127.0.0.1", 40000, 0, NOW)


def exchange(reply: Reply) -> Exchange:
    return Exchange(INFO, reply, NOW, NOW, 0.001)


OUTAGE = Reply(ReplyKind.REJECTION, b"", aaa_loop="2100A", aaa_codes=("42",))
ANSWER = Reply(ReplyKind.ELIGIBILITY, b"")
NOT_FOUND = Reply(ReplyKind.REJECTION, b"", aaa_loop="2100C", aaa_codes=("75",))


def events(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("hetsock")]


def test_a_store_outage_is_logged_once_then_every_minute_then_its_end(caplog: pytest.LogCaptureFixture) -> None:
    clock = [100.0]
    log = LogObserver(clock=lambda: clock[0])
    with caplog.at_level(logging.INFO, logger="hetsock"):
        log.request_answered(exchange(ANSWER))
        for _ in range(3):
            log.request_answered(exchange(OUTAGE))
        log.request_answered(exchange(NOT_FOUND))  # other rejections neither end nor extend it
        clock[0] = 161.0
        log.request_answered(exchange(OUTAGE))
        clock[0] = 170.0
        log.request_answered(exchange(ANSWER))
        log.request_answered(exchange(ANSWER))
    assert events(caplog) == ["store-unavailable", "store-still-unavailable", "store-recovered"]
    recovered = caplog.records[-1]
    assert recovered.hetsock_fields == {"seconds": 70.0, "replies": 4}  # type: ignore[attr-defined]


def test_a_failing_observer_is_named_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(Observer):
        def request_answered(self, exchange: Exchange) -> None:
            raise RuntimeError("boom")

    class Counting(Observer):
        seen = 0

        def request_answered(self, exchange: Exchange) -> None:
            Counting.seen += 1

    with caplog.at_level(logging.INFO, logger="hetsock"):
        Observers([Broken(), Counting()]).request_answered(exchange(ANSWER))
    assert Counting.seen == 1
    failure = next(r for r in caplog.records if r.getMessage() == "observer failed")
    assert failure.hetsock_fields == {"observer": "Broken.request_answered"}  # type: ignore[attr-defined]
