"""What one worker's connections share: settings, services, limits, control numbers, the observer.

One :class:`ServerState` per worker process (a trio run). Everything here is touched only from
that worker's event loop, so plain counters suffice. Reloads (SIGHUP) replace
:attr:`ServerState.services` and :attr:`ServerState.schedule` whole; a request in progress keeps
the ones it started with.

Limits, checked in this order: at accept, the worker's total (``max_connections``) and the
originating address's count (``max_connections_per_address``); once a connection's message
names a known submitter (ISA06) that may send from it (active, allowing the connection's
originating address and TLS client certificate), that submitter's ``connection_limit`` from the
registry (counted per worker, like the others). A connection counts against its first such
submitter only; one refused (``SBY00502``) for its address or certificate, or for naming a
suspended or unknown submitter, holds no submitter's slot.
"""

from __future__ import annotations

import collections
import datetime as dt
import ssl
from collections.abc import Awaitable, Callable

import attrs
import trio

from hetsock.config import ServerConfig
from hetsock.maintenance import MaintenanceSchedule
from hetsock.pipeline import Context, Reply, Services, respond
from hetsock.server.deadlines import DeadlineTimer
from hetsock.server.observer import Observer
from hetsock.x12.writer import ControlNumbers

#: Replies' ISA13 count within a block of this many per worker: worker ``w`` of instance ``i``
#: (``[server] instance``, 0-9, for several instances behind a balancer) numbers its replies from
#: ``(10 * i + w) * CONTROL_BLOCK + 1`` upwards, wrapping within the block, so no two workers of
#: up to ten instances of up to ten workers (``config.MAX_WORKERS``) send the same ISA13 at the
#: same time. A block lasts ten million replies (about 17 minutes at 10,000 a second) before it
#: wraps.
CONTROL_BLOCK = 10_000_000

#: ``(payload, context) -> Reply``: how a request is answered (the pipeline, or a test's stand-in).
Responder = Callable[[bytes, Context], Awaitable[Reply]]


@attrs.define
class ControlNumberSource:
    """ISA13/GS06 control numbers for replies, unique within a worker's block."""

    worker: int = 0
    instance: int = 0
    _next: int = 0

    _base: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        self._base = (self.instance % 10 * 10 + self.worker % 10) * CONTROL_BLOCK

    def take(self) -> ControlNumbers:
        self._next = following = self._next % (CONTROL_BLOCK - 1) + 1
        number = self._base + following
        return ControlNumbers(number, number, 1)


@attrs.define
class PipelineResponder:
    """Answers with :func:`hetsock.pipeline.respond`: on the event loop for a store whose reads
    never wait (SQLite), in a worker thread, at most ``limiter`` at once, for one whose reads may
    (PostgreSQL), so the loop keeps serving other connections meanwhile."""

    limiter: trio.CapacityLimiter

    async def __call__(self, payload: bytes, context: Context) -> Reply:
        if context.services.store.blocking:
            return await trio.to_thread.run_sync(respond, payload, context, limiter=self.limiter)
        return respond(payload, context)

    def answer_now(self, payload: bytes, context: Context) -> Reply | None:
        """The reply, when it needs no waiting (a store whose reads never wait); else ``None``
        and the caller awaits :meth:`__call__`. Saves the connection a coroutine per request."""
        return None if context.services.store.blocking else respond(payload, context)


@attrs.define
class ServerState:
    """One worker's shared state."""

    settings: ServerConfig
    services: Services
    schedule: MaintenanceSchedule
    observer: Observer
    responder: Responder
    worker: int = 0
    #: The wall clock for replies' dates, audit times and maintenance windows (tests replace it).
    wall_clock: Callable[[], dt.datetime] = dt.datetime.now
    #: TLS on every connection when set (``[tls]``).
    ssl_context: ssl.SSLContext | None = None
    tls_handshake_timeout: float = 5.0
    control: ControlNumberSource = attrs.field(factory=ControlNumberSource)
    #: Cancels connections at their idle, message and reply deadlines.
    timer: DeadlineTimer = attrs.field(factory=DeadlineTimer)
    open_connections: int = 0
    by_address: collections.Counter[str] = attrs.field(factory=collections.Counter)
    by_submitter: collections.Counter[str] = attrs.field(factory=collections.Counter)
    in_flight: int = 0
    shutting_down: bool = False
    #: Connections refused at accept that are still sending their error (bounded).
    refusing: int = 0
    #: Sockets still reading a PROXY header or in the TLS handshake, in all and by TCP peer.
    setting_up: int = 0
    setting_up_by_address: collections.Counter[str] = attrs.field(factory=collections.Counter)
    _next_connection: int = 0
    _maintenance_second: int = -1
    _maintenance_active: bool = False

    def __attrs_post_init__(self) -> None:
        self.control = ControlNumberSource(self.worker, self.settings.instance)

    def new_connection_id(self) -> int:
        self._next_connection += 1
        return self.worker * CONTROL_BLOCK + self._next_connection

    def in_maintenance(self, now: dt.datetime) -> bool:
        """Whether ``now`` (wall clock) is in a maintenance window; computed once per second."""
        second = int(now.timestamp())
        if second != self._maintenance_second:
            self._maintenance_active = self.schedule.active_at(now)
            self._maintenance_second = second
        return self._maintenance_active

    def replace_schedule(self, schedule: MaintenanceSchedule) -> None:
        self.schedule = schedule
        self._maintenance_second = -1

    def admits(self, peer_host: str) -> bool:
        """Whether a new connection from ``peer_host`` fits the total and per-address limits."""
        settings = self.settings
        return (
            self.open_connections < settings.max_connections
            and self.by_address[peer_host] < settings.max_connections_per_address
        )

    def begin_setup(self, tcp_peer: str, *, per_address: bool) -> bool:
        """Count a socket entering the PROXY-header or TLS phase (before :meth:`admits` can judge
        it); ``False`` (not counted) when ``max_connections`` sockets are already in that phase,
        or, with ``per_address`` (no balancer in front: the TCP peer is the client),
        ``max_connections_per_address`` from this peer. Pair with :meth:`end_setup`."""
        settings = self.settings
        if self.setting_up >= settings.max_connections or (
            per_address and self.setting_up_by_address[tcp_peer] >= settings.max_connections_per_address
        ):
            return False
        self.setting_up += 1
        self.setting_up_by_address[tcp_peer] += 1
        return True

    def end_setup(self, tcp_peer: str) -> None:
        self.setting_up -= 1
        _decrement(self.setting_up_by_address, tcp_peer)

    def opened(self, peer_host: str) -> None:
        self.open_connections += 1
        self.by_address[peer_host] += 1

    def closed(self, peer_host: str, submitter_id: str | None) -> None:
        self.open_connections -= 1
        _decrement(self.by_address, peer_host)
        if submitter_id is not None:
            _decrement(self.by_submitter, submitter_id)

    def claim_submitter(
        self, submitter_id: str, peer_address: str, certificate: str | None, usage: str = ""
    ) -> bool | None:
        """Count a connection (from ``peer_address``, with the TLS client certificate whose
        fingerprint is ``certificate``, whose first message says ISA15 ``usage``) against a
        submitter: ``True`` if within its limit (counted), ``False`` if over it (not counted),
        ``None`` if the registry does not know it or it may not send this from this connection
        (suspended, or an address, certificate or usage it does not allow): not counted, its
        requests get SBY00502. A usage that cannot be read is judged with the request."""
        submitter = self.services.registry.get(submitter_id)
        if submitter is None or not (
            submitter.active
            and submitter.allows_address(peer_address)
            and submitter.allows_certificate(certificate)
            and (not usage or usage in submitter.usage)
        ):
            return None
        if self.by_submitter[submitter_id] >= submitter.connection_limit:
            return False
        self.by_submitter[submitter_id] += 1
        return True


def _decrement(counter: collections.Counter[str], key: str) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]
