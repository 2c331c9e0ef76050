"""A lean traffic generator for benchmarks: many persistent connections from one thread.

Benchmarks must measure the server, not the client, so this client is as cheap per round trip as
Python allows: non-blocking sockets on one ``selectors`` loop (epoll), no framework, no task
switches, requests prepared once as bytes, replies recognised by their framing alone (the HETS
wrapper's length field, or a bare interchange's ``IEA`` segment / an error text's CR LF), not
parsed. Two ways to drive it:

* **closed loop** (:func:`closed_loop`): each connection sends a request, waits for its reply,
  sends the next. Throughput is what the server sustains at that concurrency; latency is from
  send to reply.
* **paced** (:func:`paced`): each connection sends a request every ``interval`` seconds
  (staggered), whatever the replies do; latency is measured from each request's *intended*
  send time, so a stalled server shows up as latency instead of hiding it (no coordinated
  omission).

Each returns a :class:`LoadResult`: replies counted, errors by kind, latencies in nanoseconds.
"""

from __future__ import annotations

import collections
import errno
import heapq
import selectors
import socket
import time
from collections.abc import Callable, Sequence

import attrs

from hetsock.wire.framing import Mode, wrap
from hetsock.wire.replies import ReplyFramingError, ReplyReceiver

#: A check of a reply payload: ``None`` when it is what the request should get, else what is wrong.
ReplyCheck = Callable[[bytes], str | None]


@attrs.define
class LoadResult:
    """What a run saw."""

    seconds: float = 0.0
    replies: int = 0
    #: Round-trip latencies in nanoseconds, one per reply counted.
    latencies_ns: list[int] = attrs.field(factory=list, repr=False)
    errors: collections.Counter[str] = attrs.field(factory=collections.Counter)

    @property
    def rate(self) -> float:
        return self.replies / self.seconds if self.seconds > 0 else 0.0

    def percentile_ms(self, fraction: float) -> float:
        """The latency at ``fraction`` (0.5 = median) in milliseconds; 0 with no replies."""
        if not self.latencies_ns:
            return 0.0
        ordered = sorted(self.latencies_ns)
        index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
        return ordered[index] / 1e6


@attrs.define(eq=False)
class _Link:
    sock: socket.socket
    receiver: ReplyReceiver
    sent_at: int = 0  #: perf_counter_ns of the request in flight (intended time when paced)
    waiting: bool = False
    pending_out: bytes = b""


def _connect(port: int, host: str, mode: Mode) -> _Link:
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    return _Link(sock, ReplyReceiver(mode))


def _send(link: _Link, data: bytes) -> None:
    try:
        sent = link.sock.send(data)
    except BlockingIOError:
        sent = 0
    link.pending_out = data[sent:]


def _read(link: _Link) -> list[bytes] | str:
    """Whole replies now available, or an error kind."""
    try:
        data = link.sock.recv(262144)
    except BlockingIOError:
        return []
    except OSError as error:
        return f"socket-{errno.errorcode.get(error.errno or 0, 'error')}"
    if not data:
        return "closed-by-server"
    link.receiver.receive_data(data)
    replies = []
    while True:
        event = link.receiver.next_reply()
        if isinstance(event, bytes):
            replies.append(event)
        elif isinstance(event, ReplyFramingError):
            return "bad-framing"
        else:
            return replies


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
    cycling through ``requests``; counts only what completes after ``warmup``."""
    framed = [wrap(r, mode) for r in requests]
    selector = selectors.DefaultSelector()
    links = [_connect(port, host, mode) for _ in range(connections)]
    result = LoadResult()
    next_request = 0
    now = time.perf_counter_ns
    begin = now()
    counting_from = begin + int(warmup * 1e9)
    until = counting_from + int(seconds * 1e9)

    def fire(link: _Link) -> None:
        nonlocal next_request
        link.sent_at = now()
        link.waiting = True
        _send(link, framed[next_request % len(framed)])
        next_request += 1

    try:
        for link in links:
            selector.register(link.sock, selectors.EVENT_READ, link)
            fire(link)
        while links:
            stamp = now()
            if stamp >= until:
                break
            for key, _ in selector.select(0.5):
                link = key.data
                if link.pending_out:
                    _send(link, link.pending_out)
                outcome = _read(link)
                if isinstance(outcome, str):
                    result.errors[outcome] += 1
                    selector.unregister(link.sock)
                    link.sock.close()
                    links.remove(link)
                    continue
                for reply in outcome:
                    done = now()
                    if link.sent_at >= counting_from:
                        result.replies += 1
                        result.latencies_ns.append(done - link.sent_at)
                        problem = check(reply) if check else None
                        if problem:
                            result.errors[problem] += 1
                    link.waiting = False
                if not link.waiting:
                    fire(link)
        result.seconds = (min(now(), until) - counting_from) / 1e9
    finally:
        for link in links:
            link.sock.close()
        selector.close()
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
    """``connections`` persistent connections, each sending a request every ``interval`` seconds
    (start times spread evenly), for ``seconds``. ``opened`` is called once every connection is
    open (e.g. to read the server's memory). A request whose predecessor has not been answered
    waits; its latency still runs from its intended time."""
    framed = [wrap(r, mode) for r in requests]
    selector = selectors.DefaultSelector()
    links = [_connect(port, host, mode) for _ in range(connections)]
    if opened is not None:
        opened()
    result = LoadResult()
    now = time.perf_counter_ns
    start = now()
    step = int(interval * 1e9)
    until = start + int(seconds * 1e9)
    due: list[tuple[int, int]] = [(start + step * i // max(connections, 1), i) for i in range(connections)]
    heapq.heapify(due)
    late: dict[int, int] = {}  # link index -> intended time of a request held back by the one in flight
    index_of = {id(link): i for i, link in enumerate(links)}
    alive = set(range(connections))
    sent = 0

    def fire(i: int, intended: int) -> None:
        nonlocal sent
        link = links[i]
        link.sent_at = intended
        link.waiting = True
        _send(link, framed[sent % len(framed)])
        sent += 1

    try:
        for link in links:
            selector.register(link.sock, selectors.EVENT_READ, link)
        while alive:
            stamp = now()
            if stamp >= until and not any(links[i].waiting for i in alive):
                break
            if stamp >= until + int(10e9):  # replies overdue by 10 s: count them lost
                result.errors["no-reply"] += sum(1 for i in alive if links[i].waiting)
                break
            while due and due[0][0] <= stamp:
                intended, i = heapq.heappop(due)
                if i not in alive:
                    continue
                if intended < until:
                    heapq.heappush(due, (intended + step, i))
                    if links[i].waiting:
                        late[i] = intended
                    else:
                        fire(i, intended)
            timeout = max(0.0, (due[0][0] - now()) / 1e9) if due else 0.1
            for key, _ in selector.select(min(timeout, 0.1)):
                link = key.data
                i = index_of[id(link)]
                if link.pending_out:
                    _send(link, link.pending_out)
                outcome = _read(link)
                if isinstance(outcome, str):
                    result.errors[outcome] += 1
                    selector.unregister(link.sock)
                    alive.discard(i)
                    continue
                for reply in outcome:
                    result.replies += 1
                    result.latencies_ns.append(now() - link.sent_at)
                    problem = check(reply) if check else None
                    if problem:
                        result.errors[problem] += 1
                    link.waiting = False
                if not link.waiting and i in late:
                    fire(i, late.pop(i))
        result.seconds = (now() - start) / 1e9
    finally:
        for link in links:
            link.sock.close()
        selector.close()
    return result
