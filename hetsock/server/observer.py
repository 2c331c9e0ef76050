"""What the server tells the rest of the system: connections opened and closed, requests answered.

The listener and connection code report to an :class:`Observer`; logs, the audit trail and
metrics are observers. Observer methods are plain (not async) and must return quickly and never
raise: they run on the event loop between a reply and the next read. An observer that needs I/O
(the audit trail's database) queues the record and writes it from a task of its own.

:class:`Stats` counts what an operator (and the metrics endpoint) wants to see; :class:`LogObserver`
writes one structured line per connection opened and closed (and, at debug level, per request);
neither holds patient data: only addresses, submitter IDs, control numbers, kinds, codes and counts.

Every request the server answers is reported once through :meth:`Observer.request_answered`:
pipeline replies, the proprietary errors the server makes itself (framing, size, maintenance,
overload, limits) and refusals at accept when the client had sent bytes. A reply whose write
failed (the peer reset or closed, stopped reading past ``reply_timeout``, or shutdown cancelled
the write) is reported too, with ``delivered=False``: the request was read and answered, the
answer did not reach the socket, and the audit trail says so.
"""

from __future__ import annotations

import collections
import datetime as dt
import enum
import logging
import time
from collections.abc import Callable
from typing import NamedTuple

import attrs

from hetsock.logs import LOGGER_NAME, log_event
from hetsock.pipeline import Reply, ReplyKind

logger = logging.getLogger(LOGGER_NAME + ".server")

#: Seconds between ``store-still-unavailable`` lines while the store stays away.
OUTAGE_LOG_EVERY = 60.0
#: A 271 whose only AAA is 42 ("unable to respond at current time"): the store could not be read.
_STORE_DOWN = ("42",)


class CloseReason(enum.StrEnum):
    """Why a connection ended (the ``reason`` of its close log line and metrics label)."""

    #: The peer closed its end between messages.
    PEER_CLOSED = "peer-closed"
    #: No bytes and no reply pending for ``idle_timeout`` (HETS: 5 seconds); closed without a message.
    IDLE = "idle"
    #: A message did not complete within ``message_deadline`` of its first byte; closed without a message.
    DEADLINE = "deadline"
    #: The framing broke (SBY00505) or a message was over the size limit (SBY00504): error sent, closed.
    FRAMING = "framing"
    TOO_LARGE = "too-large"
    #: A reply could not be written within ``reply_timeout`` (the peer stopped reading).
    WRITE_TIMEOUT = "write-timeout"
    #: The connection went over a limit (total, per address, per submitter): SBY00509 sent, closed.
    LIMIT = "limit"
    #: Opened during a maintenance window: SBY00506 sent, closed.
    MAINTENANCE = "maintenance"
    #: The server is shutting down (also a connection cancelled when the grace period ends).
    SHUTDOWN = "shutdown"
    #: The socket failed (reset by the peer, broken pipe).
    BROKEN = "broken"
    #: A bug in the connection handler; logged with the exception type and place.
    ERROR = "error"


@attrs.frozen
class ConnectionInfo:
    """One connection, as observers see it."""

    id: int
    peer_host: str
    peer_port: int
    worker: int
    opened: dt.datetime


class Exchange(NamedTuple):
    """One request answered on a connection (the audit record's raw material). A named tuple:
    one is made per request."""

    connection: ConnectionInfo
    reply: Reply
    received: dt.datetime  #: wall clock, when the message's last byte was read
    replied: dt.datetime  #: wall clock, when the reply's last byte was handed to the socket
    latency: float  #: seconds, monotonic, from received to replied
    #: False when the reply could not be written in full (peer gone, write timeout, cancelled).
    delivered: bool = True


class Observer:
    """Receives the server's events. The base class ignores them all; override what you need."""

    def connection_opened(self, connection: ConnectionInfo) -> None:
        """A connection was accepted and will be served."""

    def connection_refused(self, peer_host: str, reason: CloseReason, error_code: str) -> None:
        """A connection was refused at accept (limit or maintenance): error sent, closed."""

    def request_answered(self, exchange: Exchange) -> None:
        """A request was answered: its reply written in full, or (``exchange.delivered`` false)
        the write failed."""

    def connection_closed(self, connection: ConnectionInfo, reason: CloseReason, requests: int) -> None:
        """A served connection ended."""


@attrs.define
class Observers(Observer):
    """Several observers, called in order; one that raises is logged and skipped. Add members
    with :meth:`add` (``request_answered`` goes only to those that override it: it runs once per
    reply)."""

    members: list[Observer] = attrs.field(factory=list)
    _answering: tuple[Observer, ...] = attrs.field(init=False, default=())

    def __attrs_post_init__(self) -> None:
        self._answering = tuple(m for m in self.members if type(m).request_answered is not Observer.request_answered)

    def add(self, member: Observer) -> None:
        self.members.append(member)
        self.__attrs_post_init__()

    def connection_opened(self, connection: ConnectionInfo) -> None:
        for member in self.members:
            _safely(member.connection_opened, connection)

    def connection_refused(self, peer_host: str, reason: CloseReason, error_code: str) -> None:
        for member in self.members:
            _safely(member.connection_refused, peer_host, reason, error_code)

    def request_answered(self, exchange: Exchange) -> None:
        # Once per reply: the try is inline rather than in _safely (a call frame per member).
        for member in self._answering:
            try:
                member.request_answered(exchange)
            except Exception:
                _failed(member.request_answered)

    def connection_closed(self, connection: ConnectionInfo, reason: CloseReason, requests: int) -> None:
        for member in self.members:
            _safely(member.connection_closed, connection, reason, requests)


def _safely(method: object, *args: object) -> None:
    try:
        method(*args)  # type: ignore[operator]
    except Exception:
        _failed(method)


def _failed(method: object) -> None:
    """Log the exception being handled, raised by an observer's ``method`` (a bound method: the
    observer is its ``__self__``)."""
    owner = getattr(method, "__self__", method)
    name = f"{type(owner).__name__}.{getattr(method, '__name__', '?')}"
    logger.exception("observer failed", extra={"hetsock_fields": {"observer": name}})


@attrs.define
class Stats(Observer):
    """Counters for operators: connections and closes by reason (replies by kind and code are
    :class:`hetsock.metrics.RequestMetrics`'s)."""

    open_connections: int = 0
    accepted: int = 0
    refused: collections.Counter[str] = attrs.field(factory=collections.Counter)
    closed: collections.Counter[str] = attrs.field(factory=collections.Counter)

    def connection_opened(self, connection: ConnectionInfo) -> None:
        self.open_connections += 1
        self.accepted += 1

    def connection_refused(self, peer_host: str, reason: CloseReason, error_code: str) -> None:
        self.refused[reason.value] += 1

    def connection_closed(self, connection: ConnectionInfo, reason: CloseReason, requests: int) -> None:
        self.open_connections -= 1
        self.closed[reason.value] += 1


def reply_codes(reply: Reply) -> tuple[str, ...]:
    """The codes a reply carries: AAA reasons (``AAA41``), the TA1 note (``TA1-024``), a 999's
    error codes (``IK3-8``, ``IK4-7``, ``IK5-5``, ``AK9-1``) or the proprietary error code."""
    if reply.aaa_codes:
        return tuple(f"AAA{code}" for code in reply.aaa_codes)
    if reply.ta1_note:
        return (f"TA1-{reply.ta1_note}",)
    if reply.error_code:
        return (reply.error_code,)
    if reply.kind is ReplyKind.ACK_999:
        return codes_of_999(reply.payload)
    return ()


#: For each 999 segment, the elements (1-based) holding error codes: IK304, IK403, IK502-IK506, AK905-AK909.
_CODE_ELEMENTS_999 = {"IK3": (4,), "IK4": (3,), "IK5": (2, 3, 4, 5, 6), "AK9": (5, 6, 7, 8, 9)}
_MAX_CODES_999 = 16


def codes_of_999(payload: bytes) -> tuple[str, ...]:
    """The distinct error codes in a 999 we rendered, in order (``IK3-8``...); () if unreadable.
    Only codes: never IK404's copy of a bad value or the CTX business unit."""
    text = payload.decode("latin-1")
    if len(text) < 106 or not text.startswith("ISA"):
        return ()
    separator, terminator = text[3], text[105]
    codes: dict[str, None] = {}
    for segment in text.split(terminator):
        elements = segment.strip().split(separator)
        for position in _CODE_ELEMENTS_999.get(elements[0], ()):
            if position < len(elements) and elements[position].isalnum():
                codes[f"{elements[0]}-{elements[position]}"] = None
        if len(codes) >= _MAX_CODES_999:
            break
    return tuple(codes)[:_MAX_CODES_999]


@attrs.define
class LogObserver(Observer):
    """One line per connection opened and closed (info) and per request answered (debug), and the
    store's outages: ``store-unavailable`` at the first reply with AAA 42 (the beneficiary store
    could not be read), ``store-still-unavailable`` with a count every :data:`OUTAGE_LOG_EVERY`
    seconds while they go on, ``store-recovered`` at the first 271 after them."""

    #: Seconds, for the outage lines (tests pass their own).
    clock: Callable[[], float] = time.monotonic
    _outage_since: float | None = None
    _outage_replies: int = 0
    _outage_logged: float = 0.0

    def connection_opened(self, connection: ConnectionInfo) -> None:
        log_event(
            logger,
            "connection-opened",
            conn=connection.id,
            peer=f"{connection.peer_host}:{connection.peer_port}",
            worker=connection.worker,
        )

    def connection_refused(self, peer_host: str, reason: CloseReason, error_code: str) -> None:
        log_event(logger, "connection-refused", peer=peer_host, reason=reason.value, code=error_code)

    def request_answered(self, exchange: Exchange) -> None:
        reply = exchange.reply
        if reply.aaa_codes == _STORE_DOWN:
            self._store_down()
        elif self._outage_since is not None and reply.kind is ReplyKind.ELIGIBILITY:
            log_event(
                logger,
                "store-recovered",
                seconds=round(self.clock() - self._outage_since, 1),
                replies=self._outage_replies,
            )
            self._outage_since = None
        if logger.isEnabledFor(logging.DEBUG):
            log_event(
                logger,
                "request",
                level=logging.DEBUG,
                conn=exchange.connection.id,
                submitter=reply.submitter_id or "-",
                isa13=reply.interchange_control or "-",
                kind=reply.kind.value,
                codes=",".join(reply_codes(reply)) or "-",
                ms=round(exchange.latency * 1000, 3),
                delivered=exchange.delivered,
            )

    def _store_down(self) -> None:
        now = self.clock()
        if self._outage_since is None:
            self._outage_since, self._outage_replies, self._outage_logged = now, 1, now
            log_event(logger, "store-unavailable", level=logging.WARNING, reply="AAA 42 in 2100A")
            return
        self._outage_replies += 1
        if now - self._outage_logged >= OUTAGE_LOG_EVERY:
            self._outage_logged = now
            log_event(
                logger,
                "store-still-unavailable",
                level=logging.WARNING,
                seconds=round(now - self._outage_since, 1),
                replies=self._outage_replies,
            )

    def connection_closed(self, connection: ConnectionInfo, reason: CloseReason, requests: int) -> None:
        log_event(
            logger,
            "connection-closed",
            conn=connection.id,
            peer=f"{connection.peer_host}:{connection.peer_port}",
            worker=connection.worker,
            reason=reason.value,
            requests=requests,
        )
