"""One socket's life: read, frame, answer in order, write back; close on the idle and deadline rules.

Theory of operation
-------------------
One trio task per connection runs a single loop: take the next event from the connection's
:class:`~hetsock.wire.framing.FrameReceiver`; a whole message is answered and its reply written
before the loop looks at anything else, so replies go back strictly in request order and a client
that pipelines queues behind itself (HETS "processes transactions linearly"). Only when the
receiver needs more bytes does the loop read from the socket, so while a reply is pending nothing
more is read: the read-ahead is what one ``receive_some`` returned (at most :data:`RECEIVE_SIZE`
bytes beyond the message being answered), and a client that stops reading its replies only fills
its own socket buffers (then ``reply_timeout`` closes it).

Timers, all on trio's clock (so tests run them in virtual time):

* **idle**: the loop reads only when no reply is pending or being written, so "no bytes received
  and nothing pending for ``idle_timeout``" is a deadline of ``last activity + idle_timeout`` on
  that read, where the last activity is the later of the last chunk received and the last reply
  written. Expiry closes the socket without a message, as HETS does. Any chunk counts as
  activity, blank bytes (CR/LF between messages) included.
* **message deadline**: a message must be whole within ``message_deadline`` of its first byte,
  counting only time spent waiting on the client. Because the loop reads only when the receiver
  holds no whole message, a partial message's first byte always came with the latest chunk read;
  but that chunk may also have brought whole messages, answered before the loop reads again, and
  the client is not to be charged for that. So the message's clock starts at the last activity
  (the later of that chunk's arrival and the last reply written: when the server went back to
  reading). Expiry also closes without a message (the client is too slow to serve, not
  malformed).
* **reply**: answering a request and writing the reply may take at most ``reply_timeout`` (a
  client that stops reading its replies is closed when it expires).

Replies. Each message goes to the responder (the pipeline) unless the server answers for it: a
maintenance window (``SBY00506``, the connection stays open), a submitter pinned to TLS client
certificates other than this connection's (``SBY00502``, stays open), too many requests in progress in this
worker (``SBY00507``, stays open), a responder failure (``SBY00508``, logged, stays open), or a
submitter over its connection limit (``SBY00509``, then close). A framing error (``SBY00505``) or a
message over the size limit (``SBY00504``) means the stream cannot be resynchronised: the error goes
out in the connection's framing and the connection closes. Closing after an error is *lingering*: the
server shuts its sending side, reads and discards what the client still sends for up to
:data:`LINGER_SECONDS`, then closes, so the client reads the error instead of a reset.

A bug in this code closes this connection only, logged with the exception type and place (never
its message, which could quote data); the listener keeps serving everyone else.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import math
from collections.abc import Callable

import trio

from hetsock.logs import LOGGER_NAME
from hetsock.pipeline import Context, Reply, ReplyKind
from hetsock.server.observer import CloseReason, ConnectionInfo, Exchange
from hetsock.server.state import ServerState
from hetsock.wire.framing import EndOfStream, FrameReceiver, FramingError, Message, Mode, wrap
from hetsock.wire.proprietary import ErrorCode, render_error
from hetsock.x12.isa import glance_untrusted

logger = logging.getLogger(LOGGER_NAME + ".server")

#: Most bytes one read takes from the socket.
RECEIVE_SIZE = 64 * 1024
#: After an error reply, how long the server keeps reading (and discarding) before it closes.
LINGER_SECONDS = 1.0
#: How many bytes a lingering close discards at most.
LINGER_BYTES = 256 * 1024

_BLANKS = b"\r\n\t "


def proprietary_reply(code: ErrorCode, now: dt.datetime, *, trace_id: str = "", submitter_id: str = "") -> Reply:
    """A reply the server makes itself: the proprietary error text for ``code``."""
    return Reply(
        ReplyKind.PROPRIETARY,
        render_error(code, trace_id=trace_id, now=now),
        submitter_id=submitter_id,
        interchange_control=trace_id,
        error_code=code.code,
    )


def framing_of(first_bytes: bytes) -> Mode:
    """The framing a reply goes back in, judged from the first bytes a client sent: bare X12 when
    they start with ``I``, else the HETS wrapper (HETS's own framing, also for no bytes at all)."""
    return Mode.BARE if first_bytes.lstrip(_BLANKS)[:1] == b"I" else Mode.WRAPPED


async def close_after_error(stream: trio.abc.Stream) -> None:
    """Shut the sending side, discard what the peer still sends (bounded in time and bytes), close."""
    try:
        if isinstance(stream, trio.abc.HalfCloseableStream):
            await stream.send_eof()
        discarded = 0
        with trio.move_on_after(LINGER_SECONDS):
            while discarded < LINGER_BYTES:
                chunk = await stream.receive_some(RECEIVE_SIZE)
                if not chunk:
                    break
                discarded += len(chunk)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    finally:
        await stream.aclose()


class Connection:
    """Serves one accepted stream until it closes; see the module header for the rules.

    The listener counts the connection in (``ServerState.opened``) before :meth:`run` and out
    (``ServerState.closed`` with :attr:`submitter_id`) after it."""

    def __init__(
        self,
        stream: trio.abc.Stream,
        state: ServerState,
        peer_host: str,
        peer_port: int,
        initial: bytes = b"",
        certificate: str | None = None,
    ) -> None:
        self.stream = stream
        self.state = state
        #: The SHA-256 fingerprint of the client's TLS certificate, if it presented one.
        self.certificate = certificate
        self.info = ConnectionInfo(state.new_connection_id(), peer_host, peer_port, state.worker, state.wall_clock())
        self.receiver = FrameReceiver(max_message_size=state.settings.max_message_size)
        if initial:  # bytes read with a PROXY header: the first chunk
            self.receiver.receive_data(initial)
        self.requests = 0
        #: The submitter this connection counts against: the first known ISA06 it sent that may send
        #: from this connection (None while there is none).
        self.submitter_id: str | None = None
        self._scope: trio.CancelScope | None = None
        self._phase = _Phase.READING
        self._stopping = False
        #: The trio time the current phase's deadline falls at, for the worker's
        #: :class:`~hetsock.server.deadlines.DeadlineTimer` (``entry``, ``watched``: its bookkeeping).
        self.deadline = math.inf
        self.entry = math.inf
        self.watched = False
        self._clock = trio.current_time  # the run's clock itself once serving (see _serve)
        #: The responder's synchronous way, when it has one (PipelineResponder.answer_now).
        self._answer_now: Callable[[bytes, Context], Reply | None] | None = getattr(state.responder, "answer_now", None)

    def expire(self) -> None:
        """The deadline timer: :attr:`deadline` has passed (idle, message or reply timeout)."""
        if self._scope is not None:
            self._scope.cancel()

    def stop(self) -> None:
        """Graceful shutdown: finish the message in progress (and any whole ones already read),
        read nothing more, close. Safe to call at any time."""
        self._stopping = True
        if self._scope is not None and self._phase is _Phase.READING:
            self._scope.cancel()

    async def run(self) -> None:
        """Serve until the connection ends; never raises (but for cancellation).

        Cancelled from outside (the listener, when the shutdown's grace period ends), it closes
        with reason ``shutdown``; a request cut before its reply was written got no answer (a
        reply cut while being written is reported undelivered)."""
        state = self.state
        state.observer.connection_opened(self.info)
        reason = CloseReason.ERROR
        error_sent = False
        try:
            state.timer.watch(self)
            reason, error_sent = await self._serve()
        except trio.Cancelled:
            reason = CloseReason.SHUTDOWN
            raise
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            reason = CloseReason.BROKEN
        except Exception:
            logger.exception("connection handler failed", extra={"hetsock_fields": {"conn": self.info.id}})
            reason = CloseReason.ERROR
        finally:
            state.timer.unwatch(self)
            with trio.CancelScope(shield=True):
                try:
                    if error_sent:
                        with trio.move_on_after(LINGER_SECONDS + 0.5):
                            await close_after_error(self.stream)
                    await self.stream.aclose()
                except Exception:  # closing a broken socket: nothing left to do
                    pass
            state.observer.connection_closed(self.info, reason, self.requests)

    # -- the loop ------------------------------------------------------------------------------

    async def _serve(self) -> tuple[CloseReason, bool]:
        """The loop; returns why it ended and whether an error reply was sent just before.

        One cancel scope serves the connection (cheaper than one per read and per write), and
        the worker's deadline timer cancels it at :attr:`deadline`: the idle/message deadline
        while reading and ``reply_timeout`` while answering; :attr:`_phase` says which one
        expired. Setting the deadline is an attribute write, and a call to the timer only when it
        moves before the timer's entry (:meth:`_set_deadline`). A cancellation (stop(), or the
        deadline) that comes as a read completes must not cost the request that read brought: the
        loop then leaves the cancelled scope and carries on in a fresh one."""
        settings = self.state.settings
        timer = self.state.timer
        receiver = self.receiver
        clock = self._clock = trio.lowlevel.current_clock().current_time  # trio.current_time, less two calls
        # The deadline is set inline (``self.deadline = ...; if ... < self.entry: ...``): twice a
        # request, as _set_deadline does it.
        last_activity = clock()
        message_started_at: float | None = None
        idle_deadline = message_deadline = math.inf
        while True:
            with trio.CancelScope() as scope:
                self._scope = scope
                while True:
                    event = receiver.next_event()
                    if isinstance(event, Message):
                        message_started_at = None
                        self._phase = _Phase.ANSWERING
                        received_at = clock()
                        deadline = self.deadline = received_at + settings.reply_timeout
                        if deadline < self.entry:
                            timer.moved_earlier(self)
                        close, last_activity = await self._answer(event, received_at)
                        if close is not None:
                            return close, True
                        continue
                    if isinstance(event, FramingError):
                        code = event.code
                        self._phase = _Phase.ANSWERING
                        self._set_deadline(clock() + settings.reply_timeout)
                        await self._send_error(code)
                        too_large = code is ErrorCode.MESSAGE_TOO_LARGE
                        return (CloseReason.TOO_LARGE if too_large else CloseReason.FRAMING), True
                    if isinstance(event, EndOfStream):
                        return CloseReason.PEER_CLOSED, False
                    # NEED_DATA: read, unless stopping.
                    if self._stopping:
                        return CloseReason.SHUTDOWN, False
                    if message_started_at is None and receiver.message_started:
                        # Its first byte came with the last chunk; time spent answering the whole
                        # messages that came with it is not the client's: count from the later.
                        message_started_at = last_activity
                    deadline = idle_deadline = last_activity + settings.idle_timeout
                    message_deadline = math.inf
                    if message_started_at is not None:
                        message_deadline = message_started_at + settings.message_deadline
                        if message_deadline < deadline:
                            deadline = message_deadline
                    self.deadline = deadline
                    if deadline < self.entry:
                        timer.moved_earlier(self)
                    self._phase = _Phase.READING
                    data = await self.stream.receive_some(RECEIVE_SIZE)
                    last_activity = clock()
                    receiver.receive_data(data)
                    if scope.cancel_called:  # stop() or the deadline came as this read completed:
                        break  # what was read is answered, in a fresh scope
            if scope.cancelled_caught:
                break
        # The scope expired, or stop() cancelled the read.
        if self._phase is _Phase.ANSWERING:
            return CloseReason.WRITE_TIMEOUT, False
        if self._stopping:
            return CloseReason.SHUTDOWN, False
        return (CloseReason.DEADLINE if message_deadline <= idle_deadline else CloseReason.IDLE), False

    def _set_deadline(self, deadline: float) -> None:
        self.deadline = deadline
        if deadline < self.entry:
            self.state.timer.moved_earlier(self)

    async def _answer(self, message: Message, received_at: float) -> tuple[CloseReason | None, float]:
        """Answer one message (whole at ``received_at``, trio time) and write the reply; a reason
        to close (or ``None`` to go on) and the trio time the reply was written.

        The ISA is glanced at (ISA06, ISA13) only when it matters: while the connection has no
        submitter yet, when submitters are pinned to certificates, and for an error reply."""
        state = self.state
        now = state.wall_clock()
        self.requests += 1
        payload = message.payload
        close: CloseReason | None = None
        if state.in_maintenance(now):
            reply = _server_error(ErrorCode.UNAVAILABLE, now, payload)
        elif state.services.registry.pins_certificates and not self._certificate_allowed(payload):
            reply = _server_error(ErrorCode.AUTHORIZATION, now, payload)
        elif self.submitter_id is None and self._over_submitter_limit(payload):
            reply = _server_error(ErrorCode.CONNECTION_LIMIT, now, payload)
            close = CloseReason.LIMIT
        else:
            reply = await self._respond(payload, now)
        return close, await self._write_reported(reply, now, received_at)

    def _certificate_allowed(self, payload: bytes) -> bool:
        """Whether the submitter's pinned certificates (if any) include this connection's."""
        sender_id = glance_untrusted(payload).sender_id
        submitter = self.state.services.registry.get(sender_id) if sender_id else None
        return submitter is None or submitter.allows_certificate(self.certificate)

    def _over_submitter_limit(self, payload: bytes) -> bool:
        """Count this connection against the first known submitter it names that may send from
        it (see :meth:`ServerState.claim_submitter`); whether that is over the submitter's
        connection limit."""
        glance = glance_untrusted(payload)
        if not glance.sender_id:
            return False
        claimed = self.state.claim_submitter(glance.sender_id, self.info.peer_host, self.certificate, glance.usage)
        if claimed:
            self.submitter_id = glance.sender_id
        return claimed is False

    async def _respond(self, payload: bytes, now: dt.datetime) -> Reply:
        state = self.state
        if state.in_flight >= state.settings.max_in_flight:
            return _server_error(ErrorCode.OVERLOADED, now, payload)
        state.in_flight += 1
        try:
            context = Context(state.services, now, state.control.take(), self.info.peer_host)
            answer_now = self._answer_now
            if answer_now is not None:
                reply = answer_now(payload, context)
                if reply is not None:
                    return reply
            return await state.responder(payload, context)
        except Exception:
            isa13 = glance_untrusted(payload).control_number or "-"
            logger.exception("responder failed", extra={"hetsock_fields": {"conn": self.info.id, "isa13": isa13}})
            return _server_error(ErrorCode.INTERNAL, now, payload)
        finally:
            state.in_flight -= 1

    async def _send_error(self, code: ErrorCode) -> None:
        now = self.state.wall_clock()
        reply = proprietary_reply(code, now)
        self.requests += 1
        await self._write_reported(reply, now, trio.current_time())

    async def _write_reported(self, reply: Reply, received: dt.datetime, received_at: float) -> float:
        """Write ``reply`` and report the exchange to the observer, also when the write fails
        (``delivered=False``; the failure then propagates). Returns the trio time it was written."""
        delivered = False
        try:
            await self.stream.send_all(wrap(reply.payload, self.receiver.mode or Mode.WRAPPED))
            delivered = True
        finally:
            state = self.state
            replied_at = self._clock()
            exchange = Exchange(self.info, reply, received, state.wall_clock(), replied_at - received_at, delivered)
            state.observer.request_answered(exchange)
        return replied_at


class _Phase(enum.Enum):
    """What the connection's loop is waiting on (which deadline its cancel scope holds)."""

    READING = enum.auto()
    ANSWERING = enum.auto()


def _server_error(code: ErrorCode, now: dt.datetime, payload: bytes) -> Reply:
    """An error reply the server makes for a request, traced by the request's ISA13."""
    glance = glance_untrusted(payload)
    return proprietary_reply(code, now, trace_id=glance.control_number, submitter_id=glance.sender_id)
