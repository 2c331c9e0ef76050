"""The listener: accept connections, apply the limits, run each connection, shut down gracefully.

:func:`serve` is the one entry point, built for tests as trio's ``serve_tcp`` is: ``await
nursery.start(serve, config, port=0)`` returns a :class:`Server` handle that knows its port and can
:meth:`~Server.reload` and :meth:`~Server.shutdown`. ``hetsock serve`` runs it in each worker
process with ``handle_signals=True``.

At accept, before anything is read: during a maintenance window the connection gets ``SBY00506``;
over the worker's total or per-address limit it gets ``SBY00509``. Either way the reply waits up to
:data:`REFUSE_WAIT` for the client's first bytes, to answer in its framing (bare X12 if they start
with ``I``, else the HETS wrapper) with its ISA13 as the trace ID, then closes. At most
:data:`MAX_REFUSING` refusals run at once; beyond that a refused connection is closed at once
without a message, so a flood cannot hold sockets open through the refusal path.

Shutdown (SIGTERM, SIGINT or :meth:`Server.shutdown`): stop accepting and close the listening
sockets; every connection finishes the request it is answering (and any whole requests it has
already read), reads nothing more, and closes; whatever is still running after ``grace_period``
is cancelled. A second SIGTERM/SIGINT cancels at once.

Behind a balancer (``proxy_protocol``): every connection must start with a PROXY header
(``wire/proxy.py``) from a peer in ``trusted_proxies``, read within ``idle_timeout``; the
client's address in it is the one the limits and the registry's CIDRs see. A connection without
one (a balancer's TCP health check, or a client going around the balancer) is closed without a
message and logged ``proxy-refused``. SIGHUP (:meth:`Server.reload`) rereads
the submitter registry and the configuration's maintenance windows; open connections carry on,
and a file that does not load leaves the old values in force (logged).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import ipaddress
import logging
import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path

import attrs
import trio

from hetsock.config import Config, ConfigError
from hetsock.logs import LOGGER_NAME, log_event
from hetsock.maintenance import MaintenanceSchedule
from hetsock.pipeline import Services
from hetsock.registry import Registry, RegistryError
from hetsock.server.connection import (
    RECEIVE_SIZE,
    Connection,
    close_after_error,
    framing_of,
    proprietary_reply,
)
from hetsock.server.observer import CloseReason, ConnectionInfo, Exchange, LogObserver, Observer, Observers, Stats
from hetsock.server.state import PipelineResponder, Responder, ServerState
from hetsock.server.tls import PrefixedStream, certificate_fingerprint, server_context
from hetsock.wire.framing import WRAPPER_HEADER_LENGTH, wrap
from hetsock.wire.proprietary import ErrorCode
from hetsock.wire.proxy import ProxyHeader, ProxyHeaderError, read_proxy_header_untrusted
from hetsock.x12.isa import glance_untrusted

logger = logging.getLogger(LOGGER_NAME + ".server")

#: Seconds a refused connection waits for the client's first bytes (to learn its framing).
REFUSE_WAIT = 1.0
#: Refusals in progress at once, at most; more are closed without a message.
MAX_REFUSING = 128
#: The listen() backlog.
BACKLOG = 1024
#: accept() errors that mean "out of resources for now": pause and retry rather than stop.
_ACCEPT_PAUSE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
_ACCEPT_PAUSE = 0.1


@attrs.define(eq=False)
class Server:
    """A running listener: where it listens, its shared state, and the controls."""

    state: ServerState
    addresses: list[tuple[str, int]]
    config: Config
    config_path: Path | None
    stats: Stats
    _stop: trio.Event = attrs.field(factory=trio.Event)
    _force: trio.CancelScope | None = None
    connections: set[Connection] = attrs.field(factory=set)
    _idle: trio.Event = attrs.field(factory=trio.Event)
    #: The registry as its file says; requests see ``registry_view(base_registry)``.
    base_registry: Registry | None = None
    #: Laid over every registry the server answers with (enforcement's suspensions), or nothing.
    registry_view: Callable[[Registry], Registry] | None = None
    #: Called after every reload (SIGHUP), e.g. to reread the suspension table at once.
    reload_hooks: list[Callable[[], None]] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        if self.base_registry is None:
            self.base_registry = self.state.services.registry
        self.refresh_registry()

    def refresh_registry(self) -> None:
        """Answer with ``registry_view(base_registry)`` from now on (call when the view changed)."""
        registry = self.base_registry or self.state.services.registry
        if self.registry_view is not None:
            registry = self.registry_view(registry)
        self.state.services = attrs.evolve(self.state.services, registry=registry)

    @property
    def port(self) -> int:
        return self.addresses[0][1]

    def shutdown(self) -> None:
        """Begin a graceful shutdown (a second call cancels what is left at once)."""
        if self._stop.is_set() and self._force is not None:
            self._force.cancel()
        self._stop.set()

    def reload(self) -> bool:
        """Reread the registry and the maintenance windows; whether both loaded."""
        ok = True
        # Anything a file can make the loaders raise leaves the old values in force: a reload
        # never ends the worker (RegistryError and ConfigError name the fault; anything else is
        # a loader's bug, logged by type).
        try:
            registry = Registry.from_toml(self.config.eligibility.registry)
        except Exception as error:
            log_event(logger, "reload-failed", level=logging.WARNING, what="registry", detail=_reason(error))
            ok = False
        else:
            self.base_registry = registry
            self.refresh_registry()
        schedule: MaintenanceSchedule | None = None
        if self.config_path is not None:
            try:
                schedule = Config.from_toml(self.config_path).maintenance
            except Exception as error:
                log_event(logger, "reload-failed", level=logging.WARNING, what="config", detail=_reason(error))
                ok = False
        if schedule is not None:
            self.state.replace_schedule(schedule)
        log_event(
            logger,
            "reloaded",
            worker=self.state.worker,
            submitters=len(self.state.services.registry.submitters),
            maintenance_windows=len(self.state.schedule.windows),
            ok=ok,
        )
        for hook in self.reload_hooks:
            hook()
        return ok

    def _connection_ended(self) -> None:
        if self.state.shutting_down and not self.connections:
            self._idle.set()


async def open_listeners(host: str, port: int, *, reuse_port: bool = False) -> list[trio.SocketListener]:
    """Listening TCP sockets for every address ``host`` resolves to, all on one port (``port`` 0:
    the first socket's ephemeral port). ``reuse_port`` sets SO_REUSEPORT, so several worker
    processes can listen on the same port and the kernel spreads connections among them."""
    infos = await trio.socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    listeners: list[trio.SocketListener] = []
    seen: set[tuple[int, object]] = set()
    try:
        for family, kind, proto, _, address in infos:
            if (family, address[0]) in seen:
                continue
            seen.add((family, address[0]))
            sock = trio.socket.socket(family, kind, proto)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if reuse_port:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                if listeners:  # one port for all addresses
                    address = (address[0], listeners[0].socket.getsockname()[1], *address[2:])
                await sock.bind(address)
                sock.listen(BACKLOG)
            except BaseException:
                sock.close()
                raise
            listeners.append(trio.SocketListener(sock))
    except BaseException:
        for listener in listeners:
            listener.socket.close()
        raise
    return listeners


async def serve(
    config: Config,
    services: Services,
    *,
    host: str | None = None,
    port: int | None = None,
    worker: int = 0,
    reuse_port: bool = False,
    config_path: Path | None = None,
    observers: list[Observer] | None = None,
    responder: Responder | None = None,
    registry_view: Callable[[Registry], Registry] | None = None,
    wall_clock: Callable[[], dt.datetime] = dt.datetime.now,
    handle_signals: bool = False,
    task_status: trio.TaskStatus[Server] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Listen and serve until shut down; ``task_status.started`` gets the :class:`Server`.

    ``host``/``port`` override the configuration's (port 0: any free port). ``observers`` receive
    the server's events besides its own statistics and logs; ``responder`` replaces the pipeline
    (tests); ``registry_view`` is laid over the registry now and after every reload (enforcement's
    suspensions). With ``handle_signals`` (main thread only): SIGTERM/SIGINT shut down, SIGHUP
    reloads.
    """
    settings = config.server
    stats = Stats()
    state = ServerState(
        settings=settings,
        services=services,
        schedule=config.maintenance,
        observer=Observers([stats, LogObserver(), *(observers or [])]),
        responder=responder or PipelineResponder(trio.CapacityLimiter(settings.store_threads)),
        worker=worker,
        wall_clock=wall_clock,
        ssl_context=server_context(config.tls),
        tls_handshake_timeout=config.tls.handshake_timeout,
    )
    listeners = await open_listeners(
        settings.host if host is None else host, settings.port if port is None else port, reuse_port=reuse_port
    )
    addresses = [_address(listener) for listener in listeners]
    server = Server(state, addresses, config, config_path, stats, registry_view=registry_view)
    async with trio.open_nursery() as outer:
        if handle_signals:
            outer.start_soon(_watch_signals, server)
        log_event(
            logger,
            "listening",
            address=",".join(f"{h}:{p}" for h, p in addresses),
            worker=worker,
            pid=os.getpid(),
            framing="hets-wrapper,bare-x12",
            tls="mutual" if config.tls.client_ca else "on" if config.tls.enabled else "off",
            store=services.store.describe(),
            idle_timeout=settings.idle_timeout,
        )
        await _serve_until_stopped(server, listeners, task_status)
        outer.cancel_scope.cancel()
    log_event(logger, "stopped", worker=worker, connections_served=stats.accepted)


async def _serve_until_stopped(
    server: Server, listeners: list[trio.SocketListener], task_status: trio.TaskStatus[Server]
) -> None:
    state = server.state
    with trio.CancelScope() as force:
        server._force = force
        async with trio.open_nursery() as connections:
            async with trio.open_nursery() as accepting:
                for listener in listeners:
                    accepting.start_soon(_accept_loop, server, listener, connections)
                task_status.started(server)
                await server._stop.wait()
                accepting.cancel_scope.cancel()
            for listener in listeners:
                await listener.aclose()
            state.shutting_down = True
            log_event(logger, "stopping", worker=state.worker, open_connections=len(server.connections))
            for connection in list(server.connections):
                connection.stop()
            server._connection_ended()
            with trio.move_on_after(state.settings.grace_period):
                await server._idle.wait()
            connections.cancel_scope.cancel()


async def _accept_loop(server: Server, listener: trio.SocketListener, nursery: trio.Nursery) -> None:
    while True:
        try:
            stream = await listener.accept()
        except OSError as error:
            if error.errno not in _ACCEPT_PAUSE_ERRNOS:
                raise
            log_event(logger, "accept-paused", level=logging.WARNING, errno=errno.errorcode.get(error.errno or 0, "?"))
            await trio.sleep(_ACCEPT_PAUSE)
            continue
        nursery.start_soon(_handle, server, stream)


async def _handle(server: Server, stream: trio.SocketStream) -> None:
    """One accepted socket, start to end. A fault here (in the limits, the maintenance schedule,
    the PROXY header or the TLS handshake; the connection's own loop guards itself) is logged and
    closes this socket only: it never ends the listener."""
    try:
        await _handle_unguarded(server, stream)
    except Exception:
        logger.exception("connection setup failed", extra={"hetsock_fields": {"worker": server.state.worker}})
    finally:
        # The one close of a socket refused before its connection loop (a refusal and the loop
        # close theirs first, gracefully: closing again does nothing).
        with trio.CancelScope(shield=True), contextlib.suppress(Exception):  # a broken socket: nothing left to do
            await trio.aclose_forcefully(stream)


async def _handle_unguarded(server: Server, stream: trio.SocketStream) -> None:
    """Returning early leaves ``stream`` to :func:`_handle` to close."""
    state = server.state
    try:
        peer = stream.socket.getpeername()
        peer_host, peer_port = str(peer[0]), int(peer[1])
    except OSError:  # already reset by the peer
        return
    if state.shutting_down:
        return
    initial = b""
    certificate: str | None = None
    served: trio.abc.Stream = stream
    if state.settings.proxy_protocol or state.ssl_context is not None:
        # Before the limits can be applied (behind a balancer the client's address is not known
        # yet), sockets in this phase are bounded by their own count: see ServerState.begin_setup.
        tcp_peer = peer_host
        if not state.begin_setup(tcp_peer, per_address=not state.settings.proxy_protocol):
            log_event(logger, "setup-refused", level=logging.WARNING, peer=tcp_peer, setting_up=state.setting_up)
            return
        try:
            if state.settings.proxy_protocol:
                behind = await _read_proxy_header(state, stream, peer_host)
                if behind is None:
                    return
                source, initial = behind
                if source is not None:
                    peer_host, peer_port = source
            if state.ssl_context is not None:
                secured = await _handshake(state, stream, initial, peer_host)
                if secured is None:
                    return
                served, initial = secured, b""
                certificate = certificate_fingerprint(secured.getpeercert(binary_form=True))
        finally:
            state.end_setup(tcp_peer)
        if state.shutting_down:  # the shutdown began while this one was setting up
            await trio.aclose_forcefully(served)
            return
    if state.in_maintenance(state.wall_clock()):
        await _refuse(state, served, peer_host, peer_port, ErrorCode.UNAVAILABLE, CloseReason.MAINTENANCE)
        return
    if not state.admits(peer_host):
        await _refuse(state, served, peer_host, peer_port, ErrorCode.CONNECTION_LIMIT, CloseReason.LIMIT)
        return
    connection = Connection(served, state, peer_host, peer_port, initial, certificate)
    state.opened(peer_host)
    server.connections.add(connection)
    try:
        await connection.run()
    finally:
        server.connections.discard(connection)
        state.closed(peer_host, connection.submitter_id)
        server._connection_ended()


async def _read_proxy_header(
    state: ServerState, stream: trio.SocketStream, peer_host: str
) -> tuple[tuple[str, int] | None, bytes] | None:
    """The client's address from the PROXY header and the bytes after it; ``None`` (logged) when
    the peer is not a trusted proxy or sends no valid header within ``idle_timeout``."""
    if not _trusted(peer_host, state.settings.trusted_proxies):
        log_event(logger, "proxy-refused", level=logging.WARNING, peer=peer_host, reason="untrusted-peer")
        return None
    data = b""
    with trio.move_on_after(state.settings.idle_timeout):
        while True:
            header = read_proxy_header_untrusted(data)
            if isinstance(header, ProxyHeader):
                return header.source, data[header.length :]
            if isinstance(header, ProxyHeaderError):
                log_event(logger, "proxy-refused", level=logging.WARNING, peer=peer_host, reason=header.detail)
                return None
            try:
                chunk = await stream.receive_some(RECEIVE_SIZE)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return None
            if not chunk:  # a balancer's plain TCP health check: connect, then close
                return None
            data += chunk
    log_event(logger, "proxy-refused", level=logging.WARNING, peer=peer_host, reason="no header in time")
    return None


def _trusted(peer_host: str, proxies: tuple[str, ...]) -> bool:
    try:
        address = ipaddress.ip_address(peer_host)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(cidr, strict=False) for cidr in proxies)


async def _handshake(
    state: ServerState, stream: trio.SocketStream, initial: bytes, peer_host: str
) -> trio.SSLStream[trio.abc.Stream] | None:
    """TLS over the connection (after any PROXY header); ``None`` (logged) on failure."""
    assert state.ssl_context is not None
    underlying: trio.abc.Stream = PrefixedStream(stream, initial) if initial else stream
    secured = trio.SSLStream(underlying, state.ssl_context, server_side=True)
    failure = "timeout"
    with trio.move_on_after(state.tls_handshake_timeout):
        try:
            await secured.do_handshake()
            return secured
        except (trio.BrokenResourceError, trio.ClosedResourceError) as error:
            failure = type(error.__cause__).__name__ if error.__cause__ else "closed"
    log_event(logger, "tls-failed", level=logging.WARNING, peer=peer_host, reason=failure)
    return None


async def _refuse(
    state: ServerState,
    stream: trio.abc.Stream,
    peer_host: str,
    peer_port: int,
    code: ErrorCode,
    reason: CloseReason,
) -> None:
    """Answer a connection refused at accept with ``code`` in its framing, then close."""
    try:
        if state.refusing >= MAX_REFUSING:
            return
        state.refusing += 1
        try:
            first = b""
            with trio.move_on_after(REFUSE_WAIT):
                first = bytes(await stream.receive_some(RECEIVE_SIZE))
            glance = glance_untrusted(first[WRAPPER_HEADER_LENGTH:] if first[:1] == b"\x01" else first)
            now = state.wall_clock()
            reply = proprietary_reply(code, now, trace_id=glance.control_number, submitter_id=glance.sender_id)
            delivered = False
            try:
                with trio.move_on_after(REFUSE_WAIT):
                    await stream.send_all(wrap(reply.payload, framing_of(first)))
                    delivered = True
            finally:
                if first:  # the client sent something and was answered: audit it
                    info = ConnectionInfo(state.new_connection_id(), peer_host, peer_port, state.worker, now)
                    exchange = Exchange(info, reply, now, state.wall_clock(), 0.0, delivered)
                    state.observer.request_answered(exchange)
            await close_after_error(stream)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            state.refusing -= 1
    finally:
        with trio.CancelScope(shield=True):
            await stream.aclose()
        state.observer.connection_refused(peer_host, reason, code.code)


async def _watch_signals(server: Server) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
        async for signum in signals:
            if signum == signal.SIGHUP:
                server.reload()
            else:
                log_event(logger, "signal", worker=server.state.worker, signal=signal.Signals(signum).name)
                server.shutdown()


def _reason(error: Exception) -> str:
    if isinstance(error, RegistryError | ConfigError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _address(listener: trio.SocketListener) -> tuple[str, int]:
    name = listener.socket.getsockname()
    return str(name[0]), int(name[1])
