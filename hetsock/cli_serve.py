"""``hetsock serve``: run the socket server (one worker in this process, or a supervisor of N).

The first start with no store file creates the embedded SQLite demo store (the synthetic
population and the demo fixtures) before any worker starts, so the README's run command needs
nothing else. Exit status: 0 after a graceful stop, 2 when the configuration, the registry or the
store cannot be loaded, or the port cannot be bound.
"""

from __future__ import annotations

import argparse
import functools
import gc
import logging
import sys
from pathlib import Path

import trio

from hetsock.audit.database import AuditDatabaseError
from hetsock.audit.record import AuditKeyError
from hetsock.config import DEFAULT_CONFIG_PATH, MAX_WORKERS, Config, ConfigError
from hetsock.eligibility.store.base import StoreUnavailableError
from hetsock.logs import LOGGER_NAME, configure_logging, log_event
from hetsock.pipeline import Services
from hetsock.registry import RegistryError
from hetsock.server.operations import prepare, run_worker
from hetsock.server.tls import TlsSetupError, server_context
from hetsock.server.workers import Supervisor, reserve_port, worker_command
from hetsock.services import open_services

logger = logging.getLogger(LOGGER_NAME)

EXIT_OK, EXIT_FAILED = 0, 2


def add_serve_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "serve",
        help="run the HETS-style socket server",
        description="Answer 270 inquiries on persistent TCP sockets (HETS wrapper or bare X12). "
        "SIGTERM/SIGINT stop gracefully, SIGHUP reloads the submitter registry and maintenance windows.",
    )
    parser.add_argument("--config", type=Path, default=None, help="configuration file (default: config/hetsock.toml)")
    parser.add_argument("--host", default=None, help="address to listen on (default: the config's, 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default: the config's, 7270; 0: any free port)")
    parser.add_argument(
        "--workers", type=int, default=None, help=f"worker processes sharing the port, 1 to {MAX_WORKERS} (default 1)"
    )
    parser.add_argument("--log-format", choices=("kv", "json"), default="kv", help="log lines as key=value or JSON")
    parser.add_argument("--log-level", choices=("debug", "info", "warning"), default="info")
    parser.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(handler=_cmd_serve)
    return parser


def _cmd_serve(args: argparse.Namespace) -> int:
    configure_logging(json_format=args.log_format == "json", level=getattr(logging, args.log_level.upper()))
    config_path: Path | None = args.config
    if config_path is None and DEFAULT_CONFIG_PATH.exists():
        config_path = DEFAULT_CONFIG_PATH
    try:
        config = Config.load(config_path)
    except ConfigError as error:
        print(f"hetsock: {error}", file=sys.stderr)
        return EXIT_FAILED
    host = args.host if args.host is not None else config.server.host
    port = args.port if args.port is not None else config.server.port
    workers = args.workers if args.workers is not None else config.server.workers
    if not 1 <= workers <= MAX_WORKERS:
        print(f"hetsock: --workers must be 1 to {MAX_WORKERS}", file=sys.stderr)
        return EXIT_FAILED
    if not 0 <= port <= 65535:
        print("hetsock: --port must be 0 to 65535", file=sys.stderr)
        return EXIT_FAILED
    try:
        server_context(config.tls)  # a certificate that does not load stops the start, not each connection
    except TlsSetupError as error:
        print(f"hetsock: {error}", file=sys.stderr)
        return EXIT_FAILED
    if args.worker_index is None and workers > 1:
        return _supervise(args, config, config_path, host, port, workers)
    return _run_worker(config, config_path, host, port, args.worker_index or 0, args.reuse_port)


#: Seconds a thread may hold the GIL while another waits for it (CPython's default is 0.005).
#: The audit writer's thread (``audit/background.py``) holds it in bursts while the event loop
#: waits to answer requests: at the default a request could wait 5 ms for it at each turn.
GIL_SWITCH_INTERVAL = 0.0005


def _open_services(config: Config) -> Services:
    if not config.store.dsn and not config.store.path.exists():
        log_event(
            logger,
            "creating-demo-store",
            path=str(config.store.path),
            beneficiaries=config.store.demo_beneficiaries,
        )
    return open_services(config)


def _run_worker(config: Config, config_path: Path | None, host: str, port: int, index: int, reuse_port: bool) -> int:
    try:
        services = _open_services(config)
    except (RegistryError, StoreUnavailableError) as error:
        print(f"hetsock: {error}", file=sys.stderr)
        return EXIT_FAILED
    try:
        operations = prepare(config, worker=index)
    except (AuditKeyError, AuditDatabaseError) as error:
        services.store.close()
        print(f"hetsock: audit trail: {error}", file=sys.stderr)
        return EXIT_FAILED
    # Everything loaded so far lives as long as the process: keep the collector off it.
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    run = functools.partial(
        run_worker,
        config,
        services,
        operations,
        host=host,
        port=port,
        worker=index,
        reuse_port=reuse_port,
        config_path=config_path,
        handle_signals=True,
    )
    failure: OSError | None = None
    try:
        trio.run(run)
    except OSError as error:
        failure = error
    except BaseExceptionGroup as group:  # from inside the server's nurseries: binding, say
        failure = _only_os_error(group)
        if failure is None:
            raise
    finally:
        operations.close()
        services.store.close()
    if failure is not None:
        print(f"hetsock: cannot listen on {host}:{port}: {failure.strerror or failure}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _only_os_error(group: BaseExceptionGroup[BaseException]) -> OSError | None:
    """The first OSError of ``group`` when it holds nothing else (the listener failed to bind)."""
    matched, rest = group.split(OSError)
    if matched is None or rest is not None:
        return None
    error: BaseException = matched
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error if isinstance(error, OSError) else None


def _supervise(
    args: argparse.Namespace, config: Config, config_path: Path | None, host: str, port: int, workers: int
) -> int:
    try:
        _open_services(config).store.close()  # create the demo store once, before the workers race for it
    except (RegistryError, StoreUnavailableError) as error:
        print(f"hetsock: {error}", file=sys.stderr)
        return EXIT_FAILED
    try:
        prepare(config).close()  # the audit key and database too
    except (AuditKeyError, AuditDatabaseError) as error:
        print(f"hetsock: audit trail: {error}", file=sys.stderr)
        return EXIT_FAILED
    try:
        shared_port, holder = reserve_port(host, port)
    except OSError as error:
        print(f"hetsock: cannot listen on {host}:{port}: {error.strerror or error}", file=sys.stderr)
        return EXIT_FAILED
    argv = ["serve", "--host", host, "--port", str(shared_port), "--log-format", args.log_format]
    argv += ["--log-level", args.log_level]
    if config_path is not None:
        argv += ["--config", str(config_path)]
    log_event(logger, "supervisor", workers=workers, address=f"{host}:{shared_port}")
    try:
        return Supervisor(
            functools.partial(worker_command, argv), workers, grace_period=config.server.grace_period
        ).run()
    finally:
        if holder is not None:
            holder.close()
