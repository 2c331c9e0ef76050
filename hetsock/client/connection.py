"""A trio client for vendor-style persistent connections: send a 270, await its reply, reuse the socket.

Theory of operation
-------------------
A :class:`Client` holds at most one connection and sends one request at a time on it (HETS answers
in order; a second task calling :meth:`Client.send` waits for the first). Each request is framed
in the client's framing (``hetsock.wire.framing.wrap``) and its reply read with the sans-IO
``ReplyReceiver``, then typed (``hetsock.client.reply``).

Reuse and reconnection. The server closes a socket that has been idle more than 5 seconds without
a message (HETS-NOTES section 1), so before reusing a socket the client replaces it when it has
been idle for :attr:`ClientSettings.idle_timeout` (a little under the server's) or when the peer
has visibly closed it (the socket is readable while no reply is due). Either way the caller sees
nothing but a reply: this is :attr:`ClientStats.reconnects`.

A connection that drops before the reply is whole (end of stream, reset, broken pipe), or that
cannot be opened (refused, timed out), is retried: a fresh connection and the same request again,
up to :attr:`ClientSettings.attempts` tries in all, sleeping ``backoff_initial`` doubling to
``backoff_max`` between them (an eligibility inquiry is safe to repeat; the clients CMS's vendors
use resend up to 5 times). A reused socket found closed when the request was written costs no try
and no sleep: that is the idle close racing the request. When the tries run out,
:class:`ConnectError` or :class:`ConnectionLostError`.

Never hangs. Opening a connection is bounded by ``connect_timeout``, and a reply by
``reply_timeout`` from the moment the request starts going out; a reply that does not come
(or stops coming mid-way) raises :class:`ReplyTimeoutError` and the connection is dropped (not
retried unless ``retry_timeouts``: a server that is not answering is more likely overloaded than
gone). Bytes that are not replies in the client's framing (a reply in the other framing, a
wrapper length that the payload overruns, more than ``max_reply_size`` bytes) raise
:class:`ProtocolError` and drop the connection. Error messages never hold payload bytes.

Never a stale reply. A request that ends without its reply (the caller cancels it, an error) drops
the connection: a reply still on its way can never be taken for the next request's. ``aclose``
during a send ends that send with :class:`ClientError` (no new connection, no resend). A write
that fails is followed by reading what the server had already sent: an answer that came before
the close (``SBY00504`` for an oversized request) is the reply, not a reason to resend.
"""

from __future__ import annotations

import select
from collections.abc import Awaitable, Callable
from types import TracebackType

import attrs
import trio

from hetsock.client.reply import Reply, read_reply_untrusted
from hetsock.wire.framing import END_OF_STREAM, Mode, wrap
from hetsock.wire.replies import DEFAULT_MAX_REPLY_SIZE, ReplyFramingError, ReplyReceiver

#: HETS's port is the vendor's business; hetsock listens on 7270 by default.
DEFAULT_PORT = 7270

#: Opens a stream to the server (a test may hand in memory streams).
Connector = Callable[[], Awaitable[trio.abc.Stream]]


class ClientError(Exception):
    """Base of the client's errors. Messages name what failed, never payload bytes."""


class ConnectError(ClientError):
    """No connection could be opened in the allowed attempts."""


class ConnectionLostError(ClientError):
    """The connection dropped before the reply came, on every attempt."""


class ReplyTimeoutError(ClientError):
    """No whole reply within ``reply_timeout``."""


class ProtocolError(ClientError):
    """The server's bytes cannot be read as replies in this framing (the connection is dropped)."""


@attrs.frozen
class ClientSettings:
    """Timeouts and retry policy."""

    #: Seconds to open a connection (each attempt).
    connect_timeout: float = 5.0
    #: Seconds from sending a request to having its whole reply (each attempt).
    reply_timeout: float = 30.0
    #: Tries per request, the first included (connection failures and drops before the reply).
    attempts: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    #: Sleep before the second try; doubles each try up to ``backoff_max``.
    backoff_initial: float = 0.1
    backoff_max: float = 2.0
    #: A socket idle this long is replaced before the next request (the server closes at 5 s);
    #: ``None`` to rely on noticing the close.
    idle_timeout: float | None = 4.5
    #: Whether a reply timeout is retried like a dropped connection.
    retry_timeouts: bool = False
    #: The most bytes one reply may take.
    max_reply_size: int = DEFAULT_MAX_REPLY_SIZE

    def backoff(self, failures: int) -> float:
        """Seconds to sleep after the ``failures``-th failed try (1-based)."""
        return float(min(self.backoff_max, self.backoff_initial * 2 ** (failures - 1)))


@attrs.define
class ClientStats:
    """What a client did: counts for its user and for load tests."""

    requests: int = 0  #: requests answered
    connections: int = 0  #: connections opened
    reconnects: int = 0  #: connections replaced before a request (idle, or closed by the server)
    retries: int = 0  #: tries after a failure (connect failed, or the connection dropped before the reply)
    connect_failures: int = 0
    drops: int = 0  #: connections lost while a reply was due


class _DroppedError(Exception):
    """The connection ended (or broke) before the reply was whole."""

    def __init__(self, detail: str, *, anything_received: bool) -> None:
        super().__init__(detail)
        self.anything_received = anything_received


@attrs.define(eq=False)
class _Link:
    stream: trio.abc.Stream
    receiver: ReplyReceiver
    last_used: float


def _peer_closed(stream: trio.abc.Stream) -> bool:
    """Whether a socket with no reply due is readable: the server closed it (or sent bytes unasked)."""
    if not isinstance(stream, trio.SocketStream):
        return False
    poller = select.poll()
    events = select.POLLIN | getattr(select, "POLLRDHUP", 0) | select.POLLHUP | select.POLLERR
    poller.register(stream.socket.fileno(), events)
    return bool(poller.poll(0))


class Client:
    """Persistent connection(s) to one server, one request at a time. Use as an async context manager.

    ``host``/``port``: the server; ``mode``: the framing (the HETS wrapper by default, or bare
    X12); ``connector``: how to open a connection (default: TCP to ``host:port``).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        mode: Mode = Mode.WRAPPED,
        settings: ClientSettings | None = None,
        connector: Connector | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.mode = mode
        self.settings = settings or ClientSettings()
        self.stats = ClientStats()
        self._connector = connector or self._open_tcp
        self._link: _Link | None = None
        self._lock = trio.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"<Client {self.host}:{self.port} {self.mode.value} connected={self._link is not None}>"

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    @property
    def connected(self) -> bool:
        return self._link is not None

    async def _open_tcp(self) -> trio.abc.Stream:
        return await trio.open_tcp_stream(self.host, self.port)

    async def connect(self) -> None:
        """Open the connection now (else the first :meth:`send` does). Raises :class:`ConnectError`."""
        self._refuse_if_closed()
        async with self._lock:
            failures = 0
            while self._link is None:
                self._refuse_if_closed()
                try:
                    await self._open()
                except ConnectError:
                    failures += 1
                    if failures >= self.settings.attempts:
                        raise
                    self.stats.retries += 1
                    await trio.sleep(self.settings.backoff(failures))

    async def send(self, payload: bytes) -> Reply:
        """Send one interchange (unframed) and return its reply, typed. Raises a :class:`ClientError`."""
        return read_reply_untrusted(await self.send_raw(payload))

    async def send_raw(self, payload: bytes) -> bytes:
        """Send one interchange (unframed) and return its reply payload (framing removed)."""
        self._refuse_if_closed()
        framed = wrap(payload, self.mode)
        async with self._lock:
            try:
                return await self._send_locked(framed)
            except BaseException:
                # Whatever ended the request early (a caller's cancel, an error), a reply may still be
                # due on this connection: never hand it to the next request.
                await self._drop()
                raise

    async def _send_locked(self, framed: bytes) -> bytes:
        failures = 0
        stale_forgiven = False
        while True:
            self._refuse_if_closed()
            reused = self._link is not None and not await self._replace_if_stale()
            try:
                if self._link is None:
                    await self._open()
                assert self._link is not None
                reply = await self._exchange(self._link, framed)
            except _DroppedError as error:
                await self._drop()
                self._refuse_if_closed()  # aclose() ended this connection: no new one, no resend
                if reused and not error.anything_received and not stale_forgiven:
                    stale_forgiven = True  # the idle close raced the request: not a failure
                    self.stats.reconnects += 1
                    continue
                self.stats.drops += 1
                failures += 1
                if failures >= self.settings.attempts:
                    raise ConnectionLostError(
                        f"the connection to {self.host}:{self.port} dropped before the reply "
                        f"({error}), {failures} tries"
                    ) from None
            except ConnectError as error:
                failures += 1
                if failures >= self.settings.attempts:
                    raise ConnectError(f"{error}, {failures} tries") from None
            except ReplyTimeoutError:
                await self._drop()
                failures += 1
                if not self.settings.retry_timeouts or failures >= self.settings.attempts:
                    raise
            else:
                self.stats.requests += 1
                return reply
            self.stats.retries += 1
            await trio.sleep(self.settings.backoff(failures))

    async def aclose(self) -> None:
        """Close the connection; the client cannot send afterwards (a send in progress raises
        :class:`ClientError` rather than reconnecting)."""
        self._closed = True
        await self._drop()

    def _refuse_if_closed(self) -> None:
        if self._closed:
            raise ClientError("the client is closed")

    # -- internals -------------------------------------------------------------------------------

    async def _replace_if_stale(self) -> bool:
        """Drop a connection that is idle too long or closed by the peer; whether it was dropped."""
        link = self._link
        assert link is not None
        idle = self.settings.idle_timeout
        idle_too_long = idle is not None and trio.current_time() - link.last_used >= idle
        if idle_too_long or link.receiver.pending or _peer_closed(link.stream):
            await self._drop()
            self.stats.reconnects += 1
            return True
        return False

    async def _open(self) -> None:
        try:
            with trio.fail_after(self.settings.connect_timeout):
                stream = await self._connector()
        except trio.TooSlowError:
            self.stats.connect_failures += 1
            raise ConnectError(
                f"cannot connect to {self.host}:{self.port}: no answer in {self.settings.connect_timeout:g} s"
            ) from None
        except OSError as error:
            self.stats.connect_failures += 1
            raise ConnectError(f"cannot connect to {self.host}:{self.port}: {_reason(error)}") from None
        if self._closed:  # aclose() ran while connecting
            with trio.CancelScope(shield=True):
                await stream.aclose()
            raise ClientError("the client is closed")
        self.stats.connections += 1
        self._link = _Link(stream, ReplyReceiver(self.mode, self.settings.max_reply_size), trio.current_time())

    async def _drop(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            with trio.CancelScope(shield=True):
                await link.stream.aclose()

    async def _exchange(self, link: _Link, framed: bytes) -> bytes:
        received = eof = write_failed = False
        try:
            with trio.fail_after(self.settings.reply_timeout):
                try:
                    await link.stream.send_all(framed)
                except trio.ClosedResourceError as error:
                    raise _DroppedError("the request could not be written", anything_received=False) from error
                except trio.BrokenResourceError:
                    # The server may have answered before closing (SBY00504 for an oversized request):
                    # read what it sent; its reply wins over the write failure.
                    write_failed = True
                while True:
                    event = link.receiver.next_reply()
                    if isinstance(event, bytes):
                        link.last_used = trio.current_time()
                        if write_failed:
                            await self._drop()  # the server is closing this connection
                        return event
                    if event is END_OF_STREAM:
                        detail = "the request could not be written" if write_failed else "closed by the server"
                        raise _DroppedError(detail, anything_received=received)
                    if isinstance(event, ReplyFramingError):
                        if eof:
                            raise _DroppedError("closed inside a reply", anything_received=True)
                        await self._drop()
                        raise ProtocolError(f"unreadable reply from {self.host}:{self.port}: {event.detail}")
                    try:
                        data = await link.stream.receive_some(65536)
                    except (trio.BrokenResourceError, trio.ClosedResourceError) as error:
                        detail = "the request could not be written" if write_failed else "reset by the server"
                        raise _DroppedError(detail, anything_received=received) from error
                    received = received or bool(data)
                    eof = not data
                    link.receiver.receive_data(data)
        except trio.TooSlowError:
            detail = "part of a reply, then nothing" if link.receiver.pending else "no reply"
            raise ReplyTimeoutError(
                f"{detail} from {self.host}:{self.port} within {self.settings.reply_timeout:g} s"
            ) from None


def _reason(error: BaseException) -> str:
    """The first OS reason in ``error`` (trio wraps each address's failure in one OSError)."""
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop(0)
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        if current.__cause__ is not None:
            pending.append(current.__cause__)
    return str(error)
