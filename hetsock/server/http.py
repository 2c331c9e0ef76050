"""A very small HTTP/1.x endpoint for operators: ``GET /metrics`` and ``GET /health``.

Prometheus and load balancers need only this much HTTP, so it is written here on trio rather
than pulled in: one request per connection (``Connection: close``), a head of at most
:data:`MAX_HEAD` bytes read within :data:`READ_TIMEOUT`, GET and HEAD only, at most
:data:`MAX_CONNECTIONS` at once (more are closed without an answer). The request head is parsed
by :func:`parse_request_untrusted` (pure: bytes in, a request or ``None`` out; lines may end in
CRLF or LF; a head over :data:`MAX_HEAD` gets 431), at most :data:`MAX_PER_ADDRESS` connections
from one address (more are closed at once), and the answer is
rendered by :func:`render_response`; the routes are the caller's (:data:`Handler`).
"""

from __future__ import annotations

import collections
import errno
import logging
from collections.abc import Awaitable, Callable

import attrs
import trio

from hetsock.logs import LOGGER_NAME, log_event

logger = logging.getLogger(LOGGER_NAME + ".http")

MAX_HEAD = 8192
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
MAX_CONNECTIONS = 32
#: Connections from one address at once, at most: one slow or hostile client cannot hold every
#: slot and starve a balancer's health checks.
MAX_PER_ADDRESS = 8

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


@attrs.frozen
class Request:
    method: str
    path: str  #: without the query string


@attrs.frozen
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


#: ``request -> response``: the routes.
Handler = Callable[[Request], Awaitable[Response]]


def parse_request_untrusted(head: bytes) -> Request | None:
    """The request line of an HTTP/1.x request head (up to the blank line); ``None`` if malformed."""
    line = head.split(b"\n", 1)[0].removesuffix(b"\r")
    parts = line.split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        return None
    try:
        method, target = parts[0].decode("ascii"), parts[1].decode("ascii")
    except UnicodeDecodeError:
        return None
    if not method.isalpha() or not target.startswith("/"):
        return None
    return Request(method, target.split("?", 1)[0])


def render_response(response: Response, *, head_only: bool = False) -> bytes:
    """The bytes of ``response`` (HTTP/1.1, ``Connection: close``)."""
    reason = _REASONS.get(response.status, "Unknown")
    head = (
        f"HTTP/1.1 {response.status} {reason}\r\nContent-Type: {response.content_type}\r\n"
        f"Content-Length: {len(response.body)}\r\nConnection: close\r\n\r\n"
    ).encode("ascii")
    return head if head_only else head + response.body


def _ends_head(data: bytes) -> bool:
    return b"\r\n\r\n" in data or b"\n\n" in data  # HTTP allows a bare LF as the line end


async def _read_head(stream: trio.SocketStream) -> bytes | None:
    """The request head (at most ``MAX_HEAD + 1`` bytes: more means too large); ``None`` when the
    client closes or is too slow."""
    data = b""
    with trio.move_on_after(READ_TIMEOUT):
        while not _ends_head(data) and len(data) <= MAX_HEAD:
            chunk = await stream.receive_some(MAX_HEAD + 1 - len(data))
            if not chunk:
                return None
            data += chunk
        return data
    return None


async def _drain(stream: trio.SocketStream) -> None:
    """After the answer: end our side and read (and drop) what the client still sends, for a
    moment, so that closing does not reset the connection before the client has read it."""
    await stream.send_eof()
    with trio.move_on_after(1.0):
        read = 0
        while read < 1 << 20 and (chunk := await stream.receive_some(65536)):
            read += len(chunk)


async def _serve_one(
    stream: trio.SocketStream, handler: Handler, limit: trio.CapacityLimiter, busy: collections.Counter[str]
) -> None:
    try:
        peer = str(stream.socket.getpeername()[0])
    except OSError:
        peer = ""
    if busy[peer] >= MAX_PER_ADDRESS:
        await stream.aclose()
        return
    try:
        limit.acquire_nowait()
    except trio.WouldBlock:
        await stream.aclose()
        return
    busy[peer] += 1
    try:
        head = await _read_head(stream)
        if head is None:
            return
        request = None if len(head) > MAX_HEAD else parse_request_untrusted(head)
        if len(head) > MAX_HEAD and not _ends_head(head):
            response = Response(431, b"request head too large\n")
        elif request is None:
            response = Response(400, b"bad request\n")
        elif request.method not in ("GET", "HEAD"):
            response = Response(405, b"GET or HEAD\n")
        else:
            response = await handler(request)
        with trio.move_on_after(WRITE_TIMEOUT):
            await stream.send_all(render_response(response, head_only=request is not None and request.method == "HEAD"))
            if response.status == 431:  # its unread rest would make the close a reset, losing the answer
                await _drain(stream)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    except Exception:
        logger.exception("http handler failed")
    finally:
        limit.release()
        busy[peer] -= 1
        if busy[peer] <= 0:
            del busy[peer]
        with trio.CancelScope(shield=True):
            await stream.aclose()


async def serve_http(
    host: str, port: int, handler: Handler, *, task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED
) -> None:
    """Listen on ``host:port`` (0: any free port) and answer with ``handler`` until cancelled;
    ``task_status.started`` gets the address actually bound. Raises ``OSError`` if it cannot bind."""
    listeners = await trio.open_tcp_listeners(port, host=host)
    name = listeners[0].socket.getsockname()
    address = (str(name[0]), int(name[1]))
    limit = trio.CapacityLimiter(MAX_CONNECTIONS)
    busy: collections.Counter[str] = collections.Counter()
    task_status.started(address)

    async with trio.open_nursery() as nursery:
        for listener in listeners:
            nursery.start_soon(_accept, listener, handler, limit, busy, nursery)


async def _accept(
    listener: trio.SocketListener,
    handler: Handler,
    limit: trio.CapacityLimiter,
    busy: collections.Counter[str],
    nursery: trio.Nursery,
) -> None:
    async with listener:
        while True:
            try:
                stream = await listener.accept()
            except OSError as error:
                if error.errno in (errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS):
                    log_event(logger, "http-accept-paused", level=logging.WARNING)
                    await trio.sleep(0.1)
                    continue
                raise
            nursery.start_soon(_serve_one, stream, handler, limit, busy)
