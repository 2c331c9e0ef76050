"""One worker with its operations around it: the audit trail, suspensions, metrics and health.

:func:`prepare` (plain, before trio starts) opens what can fail for configuration reasons, so
``hetsock serve`` exits 2 with a clear message instead of serving without an audit trail: the
audit key (created on the first start), the audit database (``[audit] dsn`` on PostgreSQL, else
the SQLite file; created and migrated; logged as ``audit-database``), and the active
suspensions. :func:`run_worker` then runs, in one trio run:

* the audit writer (:class:`~hetsock.audit.trail.AuditTrail`), started first and stopped last:
  after :func:`~hetsock.server.listener.serve` has returned (every connection finished or cut at
  the grace period), it flushes what is still queued, then the worker exits;
* the listener, with the audit trail and :class:`~hetsock.metrics.RequestMetrics` as observers
  and the suspensions laid over the registry (:class:`~hetsock.audit.trail.SuspensionWatcher`:
  every ``poll_interval``, at once after a suspension or SIGHUP);
* the metrics endpoint (``/metrics``, ``/health``) on ``[metrics] port + worker``. If that port
  cannot be bound the worker logs ``metrics-unavailable`` and serves on without it: a busy
  metrics port must not take the eligibility service down.

``/health`` answers 200 ``ok``, or 503 with ``maintenance`` (a maintenance window is on),
``store-unavailable`` (the beneficiary store cannot be read) or ``stopping`` (shutting down).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

import attrs
import trio

from hetsock.audit import open_audit_database
from hetsock.audit.database import AuditDatabase
from hetsock.audit.record import load_or_create_key
from hetsock.audit.trail import AuditTrail, SuspensionWatcher
from hetsock.config import Config
from hetsock.eligibility.store.base import StoreUnavailableError
from hetsock.logs import LOGGER_NAME, log_event
from hetsock.metrics import AuditFigures, RequestMetrics, WorkerCollector, exposition, worker_registry
from hetsock.pipeline import Services
from hetsock.server.http import Request, Response, serve_http
from hetsock.server.listener import Server, serve
from hetsock.server.observer import Observer
from hetsock.server.state import Responder

logger = logging.getLogger(LOGGER_NAME + ".server")

#: Seconds ``/health`` waits for a store read (a PostgreSQL store read in a thread).
HEALTH_STORE_TIMEOUT = 2.0


@attrs.define(eq=False)
class Operations:
    """What :func:`prepare` opened for one worker."""

    trail: AuditTrail | None = None
    watcher: SuspensionWatcher | None = None
    databases: list[AuditDatabase] = attrs.field(factory=list)

    def close(self) -> None:
        for database in self.databases:
            database.close()


def prepare(config: Config, *, worker: int = 0, wall_clock: Callable[[], dt.datetime] = dt.datetime.now) -> Operations:
    """Open the audit key and database and read the active suspensions (if ``[audit] enabled``).
    Raises :class:`~hetsock.audit.record.AuditKeyError` or
    :class:`~hetsock.audit.database.AuditDatabaseError`."""
    if not config.audit.enabled:
        return Operations()
    key_path = config.audit_key_path
    created = not key_path.exists()
    key = load_or_create_key(key_path)
    if created:
        log_event(logger, "audit-key-created", path=str(key_path))
    operations = Operations()
    try:
        writer_database = open_audit_database(config)
        operations.databases.append(writer_database)
        if config.audit.dsn:  # a pool: one database serves the writer and the watcher
            watcher_database = writer_database
        else:  # one SQLite connection per task that uses it at once
            watcher_database = open_audit_database(config)
            operations.databases.append(watcher_database)
        log_event(logger, "audit-database", worker=worker, database=writer_database.describe())
        if config.enforcement.enabled and writer_database.ensure_pair_index():
            log_event(logger, "audit-pair-index-created", worker=worker, database=writer_database.describe())
        watcher = SuspensionWatcher(watcher_database, config.enforcement.poll_interval, worker, wall_clock)
        watcher.load()
    except BaseException:
        operations.close()
        raise
    operations.watcher = watcher
    operations.trail = AuditTrail(
        writer_database,
        key,
        config.audit,
        worker,
        config.enforcement if config.enforcement.enabled else None,
        wall_clock,
        on_suspended=lambda _: watcher.wake(),
    )
    return operations


@attrs.define(eq=False)
class Worker:
    """A running worker, for tests: the listener, its operations, the metrics address."""

    server: Server
    operations: Operations
    requests: RequestMetrics
    metrics_address: tuple[str, int] | None = None


async def run_worker(
    config: Config,
    services: Services,
    operations: Operations,
    *,
    host: str | None = None,
    port: int | None = None,
    worker: int = 0,
    reuse_port: bool = False,
    config_path: Path | None = None,
    metrics_port: int | None = None,
    observers: list[Observer] | None = None,
    responder: Responder | None = None,
    wall_clock: Callable[[], dt.datetime] = dt.datetime.now,
    handle_signals: bool = False,
    task_status: trio.TaskStatus[Worker] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until shut down, with the audit trail, suspensions and metrics; then flush the trail.
    ``metrics_port`` overrides ``[metrics] port + worker``; ``observers`` and ``responder`` go to
    :func:`~hetsock.server.listener.serve` (tests). ``task_status.started`` gets the :class:`Worker`."""
    trail, watcher = operations.trail, operations.watcher
    requests = RequestMetrics()
    members: list[Observer] = [requests, *(observers or [])]
    if trail is not None:
        members.append(trail)
    async with trio.open_nursery() as outer:
        if trail is not None:
            await outer.start(trail.run)
        async with trio.open_nursery() as side:

            async def serve_then_stop(task_status: trio.TaskStatus[Server]) -> None:
                await serve(
                    config,
                    services,
                    host=host,
                    port=port,
                    worker=worker,
                    reuse_port=reuse_port,
                    config_path=config_path,
                    observers=members,
                    responder=responder,
                    registry_view=watcher.view if watcher is not None else None,
                    wall_clock=wall_clock,
                    handle_signals=handle_signals,
                    task_status=task_status,
                )
                side.cancel_scope.cancel()

            server: Server = await side.start(serve_then_stop)
            handle = Worker(server, operations, requests)
            if watcher is not None:
                watcher.refresh = server.refresh_registry
                server.reload_hooks.append(watcher.wake)
                await side.start(watcher.run)
            if config.metrics.enabled:
                if metrics_port is None:
                    metrics_port = config.metrics.port + worker if config.metrics.port else 0
                handle.metrics_address = await _start_metrics(side, config, server, operations, requests, metrics_port)
            task_status.started(handle)
        if trail is not None:
            trail.close()


async def _start_metrics(
    nursery: trio.Nursery,
    config: Config,
    server: Server,
    operations: Operations,
    requests: RequestMetrics,
    port: int,
) -> tuple[str, int] | None:
    state = server.state
    trail, watcher = operations.trail, operations.watcher

    def audit() -> AuditFigures | None:
        if trail is None:
            return None
        return AuditFigures(trail.backlog, trail.written, trail.failures, trail.dropped, trail.lost)

    def suspensions() -> tuple[int, int] | None:
        if watcher is None:
            return None
        links = sum(1 for s in watcher.active if s.npi)
        return (len(watcher.active) - links, links)

    collector = WorkerCollector(
        state.worker,
        server.stats,
        requests,
        in_flight=lambda: state.in_flight,
        maintenance=lambda: state.in_maintenance(state.wall_clock()),
        audit=audit,
        suspensions=suspensions,
    )
    registry = worker_registry(collector)

    async def handle(request: Request) -> Response:
        if request.path == "/metrics":
            return Response(200, exposition(registry), "text/plain; version=0.0.4; charset=utf-8")
        if request.path == "/health":
            healthy, why = await health(server)
            return Response(200 if healthy else 503, why.encode("ascii") + b"\n")
        return Response(404, b"not found: try /metrics or /health\n")

    try:
        address: tuple[str, int] = await nursery.start(serve_http, config.metrics.host, port, handle)
    except OSError as error:
        log_event(
            logger,
            "metrics-unavailable",
            level=logging.ERROR,
            worker=state.worker,
            address=f"{config.metrics.host}:{port}",
            detail=error.strerror or str(error),
        )
        return None
    log_event(logger, "metrics-listening", worker=state.worker, address=f"{address[0]}:{address[1]}")
    return address


async def health(server: Server) -> tuple[bool, str]:
    """Whether the worker can answer eligibility now, and why not."""
    state = server.state
    if state.shutting_down:
        return False, "stopping"
    if state.in_maintenance(state.wall_clock()):
        return False, "maintenance"
    store = state.services.store
    try:
        if store.blocking:
            with trio.move_on_after(HEALTH_STORE_TIMEOUT) as scope:
                await trio.to_thread.run_sync(store.count, abandon_on_cancel=True)
            if scope.cancelled_caught:
                return False, "store-unavailable"
        else:
            store.count()
    except StoreUnavailableError:
        return False, "store-unavailable"
    return True, "ok"
