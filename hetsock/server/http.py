"""A very small HTTP/1.x endpoint for operators: ``GET /metrics`` and ``GET /health``.

Prometheus and load balancers need only this much HTTP, so it is written here on trio rather
than pulled in: one request per connection (``Connection: close``), a head of at most
:data:`MAX_HEAD` bytes read within :data:`READ_TIMEOUT`, GET and HEAD only, at most
:data:`MAX_CONNECTIONS` at once (more are closed without an answer). The request head is parsed
by :func:`parse_request_untrusted` (pure: bytes in, a request or ``None`` out) and the answer is
rendered by :func:`render_response`; the routes are the caller's (:data:`Handler`).
"""

from __future__ import annotations

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

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


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
    line = head.split(b"\r\n", 1)[0]
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


async def _read_head(stream: trio.SocketStream) -> bytes | None:
    data = b""
    with trio.move_on_after(READ_TIMEOUT):
        while b"\r\n\r\n" not in data and len(data) < MAX_HEAD:
            chunk = await stream.receive_some(MAX_HEAD)
            if not chunk:
                return None
            data += chunk
        return data
    return None


async def _serve_one(stream: trio.SocketStream, handler: Handler, limit: trio.CapacityLimiter) -> None:
    try:
        limit.acquire_nowait()
    except trio.WouldBlock:
        await stream.aclose()
        return
    try:
        head = await _read_head(stream)
        if head is None:
            return
        request = parse_request_untrusted(head)
        if request is None:
            response = Response(400, b"bad request\n")
        elif request.method not in ("GET", "HEAD"):
            response = Response(405, b"GET or HEAD\n")
        else:
            response = await handler(request)
        with trio.move_on_after(WRITE_TIMEOUT):
            await stream.send_all(render_response(response, head_only=request is not None and request.method == "HEAD"))
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    except Exception:
        logger.exception("http handler failed")
    finally:
        limit.release()
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
    task_status.started(address)

    async with trio.open_nursery() as nursery:
        for listener in listeners:
            nursery.start_soon(_accept, listener, handler, limit, nursery)


async def _accept(
    listener: trio.SocketListener, handler: Handler, limit: trio.CapacityLimiter, nursery: trio.Nursery
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
            nursery.start_soon(_serve_one, stream, handler, limit)
