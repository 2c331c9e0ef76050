"""A lean traffic generator for benchmarks and load tests: many persistent connections from one thread.

Benchmarks must measure the server, not the client, so this client is as cheap per round trip as
Python allows: non-blocking sockets on one ``selectors`` loop (epoll), no framework, no task
switches, requests prepared once as bytes, replies recognised by their framing alone (the HETS
wrapper's length field, or a bare interchange's ``IEA`` segment / an error text's CR LF) and handed
to the caller's ``observe`` callback, which may read them as it likes.

Theory of operation
-------------------
:func:`run` drives ``connections`` persistent connections in one of two ways:

* **closed loop** (``rate=None``): each connection sends a request, waits for its reply, sends
  the next. Throughput is what the server sustains at that concurrency; latency is from send to
  reply.
* **open loop** (``rate=R``): requests *arrive* at a fixed rate, ``1/R`` seconds apart, whatever
  the replies do; each goes to the connection that has been free longest (so every connection is
  used in turn), or waits in a queue when none is free. Latency is measured from each request's
  *intended* send time (its arrival), so a stalled server shows up as latency instead of hiding
  it (no coordinated omission).

Requests are taken from ``requests`` in turn (the caller builds a pool; ``observe(index, reply)``
gets the pool index of the request a reply answers and returns ``None`` or what is wrong with the
reply). A run ends after ``seconds`` or after ``count`` requests, whichever comes first, then waits
up to ``drain_timeout`` for the replies still due: a request sent whose reply never comes counts
as ``no-reply``; one still queued then (open loop: it arrived, but no connection was free to send
it) was never sent and counts in :attr:`LoadResult.not_sent`, not as a request without a reply.

Connections come and go: a connection the server closes while nothing is due on it (the 5-second
idle rule, a restart) is reopened at once (``idle-closed``); one that drops while a reply is due
(``dropped``) is reopened and its request sent again (``resent``, at most ``max_resends`` times,
then ``gave-up``); a connection that cannot be opened (refused, reset, timed out) is retried after a
back-off of 50 ms doubling to 2 s (with jitter, so a restarted server is not hit all at once).
Connect failures count in :attr:`LoadResult.errors`, reopenings in :attr:`LoadResult.connections`.
With ``idle_timeout``, a connection left unused that long is replaced before it is used again
(``idle-replaced``), as a vendor's client does rather than race the server's idle close.
Bytes that cannot be read as replies close the connection, which is then reopened: with a reply
due, as ``bad-framing`` (its request is sent again, like a drop); on a connection with nothing due
(the server sent something unasked), as ``unasked-bytes``, which loses no request.

Latencies go into an HDR histogram (microseconds, 3 significant digits) for the whole run and one
per ``progress_interval``; each interval's figures are kept (:attr:`LoadResult.timeline`) and
passed to ``progress`` with the totals so far.
"""

from __future__ import annotations

import collections
import errno
import random
import selectors
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs
from hdrh.histogram import HdrHistogram

from hetsock.wire.framing import Mode, wrap
from hetsock.wire.replies import ReplyFramingError, ReplyReceiver

#: A check of a reply payload: ``None`` when it is what the request should get, else what is wrong.
ReplyCheck = Callable[[bytes], str | None]
#: ``observe(index, reply)``: the reply to ``requests[index]``; ``None`` if right, else what is wrong.
Observe = Callable[[int, bytes], str | None]

#: The histogram's range: 1 microsecond to an hour.
_LOWEST_US, _HIGHEST_US = 1, 3_600_000_000


def new_histogram() -> HdrHistogram:
    """An HDR histogram of latencies in microseconds, 3 significant digits."""
    return HdrHistogram(_LOWEST_US, _HIGHEST_US, 3)


@attrs.frozen
class Interval:
    """One progress interval: replies in it and their latency (milliseconds)."""

    at: float  #: seconds since the start, at the interval's end
    replies: int
    p50_ms: float
    p99_ms: float
    max_ms: float


@attrs.frozen
class Progress:
    """What the run has seen so far (passed to ``progress`` each interval)."""

    elapsed: float
    sent: int
    replies: int
    errors: int
    mismatches: int
    rate: float  #: replies per second over the last interval
    p50_ms: float
    p99_ms: float
    max_ms: float
    open_connections: int
    queued: int  #: requests waiting for a free connection (open loop)
    reconnects: int


@attrs.define
class LoadResult:
    """What a run saw."""

    seconds: float = 0.0
    #: Requests written (each once, however often resent), after the warm-up.
    sent: int = 0
    replies: int = 0
    #: Open loop: requests that arrived but were still queued, never sent, when the run ended.
    not_sent: int = 0
    #: Latencies in microseconds of the replies counted (after the warm-up).
    histogram: HdrHistogram = attrs.field(factory=new_histogram, repr=False)
    #: Transport errors by kind: connect failures, resets, unreadable replies, requests never answered.
    errors: collections.Counter[str] = attrs.field(factory=collections.Counter)
    #: Replies ``observe`` found wrong, by what was wrong.
    mismatches: collections.Counter[str] = attrs.field(factory=collections.Counter)
    #: Connection events: opened, idle-closed, dropped, resent.
    connections: collections.Counter[str] = attrs.field(factory=collections.Counter)
    timeline: list[Interval] = attrs.field(factory=list, repr=False)
    #: CPU seconds this process used during the run (the client's own cost).
    client_cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.replies / self.seconds if self.seconds > 0 else 0.0

    def percentile_ms(self, fraction: float) -> float:
        """The latency at ``fraction`` (0.5 = median, 1.0 = max) in milliseconds; 0 with no replies."""
        if not self.histogram.get_total_count():
            return 0.0
        if fraction >= 1.0:
            return float(self.histogram.get_max_value()) / 1000
        return float(self.histogram.get_value_at_percentile(fraction * 100)) / 1000


class SetupError(Exception):
    """The run cannot start: its connections cannot be created (too many open files, say)."""


class _State:
    DOWN, CONNECTING, READY = range(3)


@attrs.define(eq=False)
class _Pending:
    index: int  #: into the request pool
    intended: int  #: perf_counter_ns when it should have gone out
    resends: int = 0


@attrs.define(eq=False)
class _Link:
    number: int
    mode: Mode
    sock: socket.socket | None = None
    receiver: ReplyReceiver | None = None
    state: int = _State.DOWN
    in_flight: _Pending | None = None
    pending_out: bytes = b""
    retry_at: int = 0
    connect_started: int = 0
    failures: int = 0
    ever_opened: bool = False
    last_active: int = 0  #: perf_counter_ns of the last reply (or the connect)


def _errno_name(error: OSError | int) -> str:
    number = error if isinstance(error, int) else (error.errno or 0)
    return errno.errorcode.get(number, "error").lower()


def run(
    port: int,
    requests: Sequence[bytes],
    *,
    connections: int,
    rate: float | None = None,
    seconds: float | None = None,
    count: int | None = None,
    warmup: float = 0.0,
    host: str = "127.0.0.1",
    mode: Mode = Mode.WRAPPED,
    observe: Observe | None = None,
    progress: Callable[[Progress], None] | None = None,
    progress_interval: float = 1.0,
    opened: Callable[[], None] | None = None,
    connect_timeout: float = 5.0,
    drain_timeout: float = 10.0,
    max_resends: int = 5,
    idle_timeout: float | None = None,
    seed: int = 0,
) -> LoadResult:
    """Drive the server at ``host:port``; see the module header. At least one of ``seconds`` and
    ``count`` is required. Requests are unframed payloads (framed here in ``mode``)."""
    if seconds is None and count is None:
        raise ValueError("give seconds or count")
    if not requests or connections < 1 or (rate is not None and rate <= 0):
        raise ValueError("need requests, at least one connection, and a positive rate")
    return _Run(
        port=port,
        host=host,
        mode=mode,
        framed=[wrap(r, mode) for r in requests],
        connections=connections,
        rate=rate,
        seconds=seconds,
        count=count,
        warmup=warmup,
        observe=observe,
        progress=progress,
        progress_interval=progress_interval,
        opened=opened,
        connect_timeout=connect_timeout,
        drain_timeout=drain_timeout,
        max_resends=max_resends,
        idle_ns=int(idle_timeout * 1e9) if idle_timeout else 0,
        jitter=random.Random(seed),
    ).execute()


@attrs.define(eq=False)
class _Run:
    port: int
    host: str
    mode: Mode
    framed: list[bytes]
    connections: int
    rate: float | None
    seconds: float | None
    count: int | None
    warmup: float
    observe: Observe | None
    progress: Callable[[Progress], None] | None
    progress_interval: float
    opened: Callable[[], None] | None
    connect_timeout: float
    drain_timeout: float
    max_resends: int
    idle_ns: int
    jitter: random.Random
    result: LoadResult = attrs.field(factory=LoadResult)
    selector: selectors.BaseSelector = attrs.field(factory=selectors.DefaultSelector)
    links: list[_Link] = attrs.field(factory=list)
    free: collections.deque[_Link] = attrs.field(factory=collections.deque)
    queue: collections.deque[_Pending] = attrs.field(factory=collections.deque)
    interval_histogram: HdrHistogram = attrs.field(factory=new_histogram)
    issued: int = 0
    interval_replies: int = 0
    counting_from: int = 0
    address: tuple[socket.AddressFamily, Any] | None = None

    # -- the loop ------------------------------------------------------------------------------

    def execute(self) -> LoadResult:
        now = time.perf_counter_ns
        family, _, _, _, sockaddr = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)[0]
        self.address = (family, sockaddr)
        self.links = [_Link(i, self.mode) for i in range(self.connections)]
        result = self.result
        cpu_start = time.process_time()
        try:
            for link in self.links:
                self._connect(link, now(), first=True)
            self._await_connections(now() + int(self.connect_timeout * 1e9))
            if self.opened is not None:
                self.opened()
            self._drive()
        finally:
            for link in self.links:
                if link.sock is not None:
                    link.sock.close()
            self.selector.close()
            result.client_cpu_seconds = time.process_time() - cpu_start
        return result

    def _await_connections(self, deadline: int) -> None:
        while any(link.state == _State.CONNECTING for link in self.links) and time.perf_counter_ns() < deadline:
            for key, mask in self.selector.select(0.1):
                self._on_event(key.data, mask, time.perf_counter_ns())

    def _drive(self) -> None:
        now = time.perf_counter_ns
        result = self.result
        start = now()
        counting_from = start + int(self.warmup * 1e9)
        until = start + int(self.seconds * 1e9) if self.seconds is not None else None
        step = int(1e9 / self.rate) if self.rate is not None else 0
        next_arrival = start
        next_tick = start + int(self.progress_interval * 1e9)
        stopped_at: int | None = None
        self.counting_from = counting_from
        while True:
            stamp = now()
            if stopped_at is None and (
                (until is not None and stamp >= until) or (self.count is not None and self.issued >= self.count)
            ):
                stopped_at = stamp
            if stopped_at is not None:
                due = self.queue or any(link.in_flight is not None for link in self.links)
                if not due:
                    break
                if stamp >= stopped_at + int(self.drain_timeout * 1e9):
                    self._give_up_on_the_rest()
                    break
            for link in self.links:
                if link.state == _State.DOWN and link.retry_at <= stamp:
                    self._connect(link, stamp)
                elif link.state == _State.CONNECTING and stamp - link.connect_started > self.connect_timeout * 1e9:
                    self._connect_failed(link, "connect-timeout", stamp)
            if stopped_at is None and step:
                while next_arrival <= stamp and (self.count is None or self.issued < self.count):
                    if until is not None and next_arrival >= until:
                        break
                    self.queue.append(_Pending(self._next_index(), next_arrival))
                    next_arrival += step
            self._dispatch(stamp, closed_loop=not step and stopped_at is None)
            if stamp >= next_tick:
                self._tick(stamp, start)
                next_tick += int(self.progress_interval * 1e9)
            wait = min(next_tick - stamp, int(0.05e9))
            if step and stopped_at is None:
                wait = min(wait, next_arrival - stamp)
            for key, mask in self.selector.select(max(0.0, wait / 1e9)):
                self._on_event(key.data, mask, now())
        end = stopped_at if stopped_at is not None else now()
        result.seconds = max(0.0, (end - counting_from) / 1e9)
        self._tick(now(), start, final=True)

    def _give_up_on_the_rest(self) -> None:
        """The drain ran out: requests sent and unanswered have no reply; queued ones were never sent."""
        in_flight = [(link.in_flight, True) for link in self.links if link.in_flight is not None]
        queued = [(pending, pending.resends > 0) for pending in self.queue]
        for pending, was_sent in in_flight + queued:
            if pending.intended < self.counting_from:
                continue  # (the warm-up's requests are not counted)
            if was_sent:
                self.result.errors["no-reply"] += 1
            else:
                self.result.not_sent += 1

    def _next_index(self) -> int:
        index = self.issued % len(self.framed)
        self.issued += 1
        return index

    def _dispatch(self, stamp: int, *, closed_loop: bool) -> None:
        while self.free and (self.queue or closed_loop):
            link = self.free.popleft()
            if link.state != _State.READY or link.in_flight is not None:
                continue
            if self.idle_ns and stamp - link.last_active >= self.idle_ns:
                # About to be closed by the server's idle rule: replace it rather than race the close.
                self.result.connections["idle-replaced"] += 1
                self._close(link)
                link.retry_at = stamp
                continue
            if self.queue:
                pending = self.queue.popleft()
            else:
                if self.count is not None and self.issued >= self.count:
                    self.free.appendleft(link)
                    return
                pending = _Pending(self._next_index(), stamp)
            self._send(link, pending)

    def _send(self, link: _Link, pending: _Pending) -> None:
        assert link.sock is not None
        link.in_flight = pending
        if pending.resends == 0 and pending.intended >= self.counting_from:
            self.result.sent += 1  # (requests sent during the warm-up are not counted, nor their replies)
        data = self.framed[pending.index]
        try:
            sent = link.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError as error:
            self._lost(link, f"send-{_errno_name(error)}", time.perf_counter_ns())
            return
        link.pending_out = data[sent:]
        if link.pending_out:
            self.selector.modify(link.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, link)

    def _tick(self, stamp: int, start: int, *, final: bool = False) -> None:
        interval = self.interval_histogram
        replies = self.interval_replies
        if replies or not final:
            self.result.timeline.append(
                Interval(
                    (stamp - start) / 1e9,
                    replies,
                    interval.get_value_at_percentile(50) / 1000 if replies else 0.0,
                    interval.get_value_at_percentile(99) / 1000 if replies else 0.0,
                    interval.get_max_value() / 1000 if replies else 0.0,
                )
            )
        interval.reset()
        self.interval_replies = 0
        if self.progress is not None and not final:
            result = self.result
            self.progress(
                Progress(
                    elapsed=(stamp - start) / 1e9,
                    sent=result.sent,
                    replies=result.replies,
                    errors=sum(result.errors.values()),
                    mismatches=sum(result.mismatches.values()),
                    rate=replies / self.progress_interval,
                    p50_ms=result.percentile_ms(0.5),
                    p99_ms=result.percentile_ms(0.99),
                    max_ms=result.percentile_ms(1.0),
                    open_connections=sum(1 for k in self.links if k.state == _State.READY),
                    queued=len(self.queue),
                    reconnects=sum(result.connections[k] for k in ("idle-closed", "dropped", "idle-replaced")),
                )
            )

    # -- connections ---------------------------------------------------------------------------

    def _connect(self, link: _Link, stamp: int, *, first: bool = False) -> None:
        assert self.address is not None
        family, sockaddr = self.address
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as error:  # out of file descriptors, most likely
            if first:
                hint = " (see ulimit -n)" if error.errno in (errno.EMFILE, errno.ENFILE) else ""
                raise SetupError(
                    f"cannot create connection {link.number + 1} of {self.connections}: {error.strerror or error}{hint}"
                ) from None
            link.state = _State.CONNECTING
            self._connect_failed(link, f"connect-{_errno_name(error)}", stamp, registered=False)
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = sock.connect_ex(sockaddr)
        link.sock = sock
        link.receiver = ReplyReceiver(link.mode)
        link.connect_started = stamp
        if code not in (0, errno.EINPROGRESS):
            link.state = _State.CONNECTING
            self._connect_failed(link, f"connect-{_errno_name(code)}", stamp, registered=False)
            return
        link.state = _State.CONNECTING
        self.selector.register(sock, selectors.EVENT_WRITE, link)

    def _connect_failed(self, link: _Link, kind: str, stamp: int, *, registered: bool = True) -> None:
        self.result.errors[kind] += 1
        self._close(link, registered=registered)
        link.failures += 1
        backoff = min(2.0, 0.05 * 2 ** (link.failures - 1)) * (0.5 + self.jitter.random())
        link.retry_at = stamp + int(backoff * 1e9)

    def _ready(self, link: _Link) -> None:
        assert link.sock is not None
        link.state = _State.READY
        link.failures = 0
        link.ever_opened = True
        link.last_active = time.perf_counter_ns()
        self.result.connections["opened"] += 1
        self.selector.modify(link.sock, selectors.EVENT_READ, link)
        self.free.append(link)

    def _close(self, link: _Link, *, registered: bool = True) -> None:
        if link.sock is not None:
            if registered:
                self.selector.unregister(link.sock)
            link.sock.close()
        link.sock = None
        link.receiver = None
        link.state = _State.DOWN
        link.pending_out = b""

    def _lost(self, link: _Link, kind: str, stamp: int) -> None:
        """The server closed or broke a ready connection."""
        pending, link.in_flight = link.in_flight, None
        self._close(link)
        link.retry_at = stamp
        if pending is None:
            self.result.connections["idle-closed"] += 1
            return
        self.result.connections["dropped"] += 1
        if kind != "closed-by-server":
            self.result.errors[kind] += 1
        self._resend(pending)

    def _resend(self, pending: _Pending) -> None:
        """A request whose connection failed goes first in the queue again (or is given up)."""
        pending.resends += 1
        if pending.resends > self.max_resends:
            if pending.intended >= self.counting_from:  # a warm-up request was never counted as sent
                self.result.errors["gave-up"] += 1
        else:
            self.result.connections["resent"] += 1
            self.queue.appendleft(pending)

    # -- events --------------------------------------------------------------------------------

    def _on_event(self, link: _Link, mask: int, stamp: int) -> None:
        sock = link.sock
        if sock is None:
            return
        if link.state == _State.CONNECTING:
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                self._connect_failed(link, f"connect-{_errno_name(code)}", stamp)
            else:
                self._ready(link)
            return
        if mask & selectors.EVENT_WRITE and link.pending_out:
            try:
                sent = sock.send(link.pending_out)
            except BlockingIOError:
                sent = 0
            except OSError as error:
                self._lost(link, f"send-{_errno_name(error)}", stamp)
                return
            link.pending_out = link.pending_out[sent:]
            if not link.pending_out:
                self.selector.modify(sock, selectors.EVENT_READ, link)
        if mask & selectors.EVENT_READ:
            self._read(link, stamp)

    def _read(self, link: _Link, stamp: int) -> None:
        assert link.sock is not None
        assert link.receiver is not None
        try:
            data = link.sock.recv(262144)
        except BlockingIOError:
            return
        except OSError as error:
            self._lost(link, f"socket-{_errno_name(error)}", stamp)
            return
        if not data:
            self._lost(link, "closed-by-server", stamp)
            return
        receiver = link.receiver
        receiver.receive_data(data)
        result = self.result
        while True:
            event = receiver.next_reply()
            if isinstance(event, bytes):
                pending, link.in_flight = link.in_flight, None
                if pending is None:
                    result.errors["unasked-reply"] += 1
                    continue
                done = time.perf_counter_ns()
                if pending.intended >= self.counting_from:
                    result.replies += 1
                    self.interval_replies += 1
                    micros = min(max((done - pending.intended) // 1000, _LOWEST_US), _HIGHEST_US)
                    result.histogram.record_value(micros)
                    self.interval_histogram.record_value(micros)
                    if self.observe is not None:
                        problem = self.observe(pending.index, event)
                        if problem:
                            result.mismatches[problem] += 1
                link.last_active = done
                if link.state == _State.READY:
                    self.free.append(link)
            elif isinstance(event, ReplyFramingError):
                # The connection's byte stream cannot be trusted: replace it. A request due on it is
                # sent again; bytes on a connection with nothing due cost no request.
                pending, link.in_flight = link.in_flight, None
                result.errors["bad-framing" if pending is not None else "unasked-bytes"] += 1
                self._close(link)
                link.retry_at = stamp
                if pending is not None:
                    self._resend(pending)
                return
            else:
                return


def closed_loop(
    port: int,
    requests: Sequence[bytes],
    *,
    connections: int,
    seconds: float,
    warmup: float = 0.5,
    host: str = "127.0.0.1",
    mode: Mode = Mode.WRAPPED,
    check: ReplyCheck | None = None,
) -> LoadResult:
    """``connections`` persistent connections, each with one request in flight at all times,
    cycling through ``requests``; counts only what completes after ``warmup``. ``check``'s
    findings count as errors."""
    result = run(
        port,
        requests,
        connections=connections,
        seconds=seconds + warmup,
        warmup=warmup,
        host=host,
        mode=mode,
        observe=(lambda _, reply: check(reply)) if check else None,
    )
    result.errors.update(result.mismatches)
    return result


def paced(
    port: int,
    requests: Sequence[bytes],
    *,
    connections: int,
    interval: float,
    seconds: float,
    host: str = "127.0.0.1",
    mode: Mode = Mode.WRAPPED,
    check: ReplyCheck | None = None,
    opened: Callable[[], None] | None = None,
) -> LoadResult:
    """``connections`` persistent connections, a request every ``interval`` seconds on each (an
    open loop at ``connections / interval`` requests a second), for ``seconds``; latency from each
    request's intended send time. ``opened`` is called once every connection is open (e.g. to read
    the server's memory). ``check``'s findings count as errors."""
    result = run(
        port,
        requests,
        connections=connections,
        rate=connections / interval,
        seconds=seconds,
        host=host,
        mode=mode,
        observe=(lambda _, reply: check(reply)) if check else None,
        opened=opened,
    )
    result.errors.update(result.mismatches)
    return result
