#!/usr/bin/env python3
"""Benchmark one connection's loop in process: microseconds per request, no sockets.

``Connection.run()`` serves a fake trio stream whose ``receive_some`` hands out the wrapped
specimen.270 ``--requests`` times (then end of stream) and whose ``send_all`` discards the reply;
each yields to trio once, as a socket operation does. The server state is what ``hetsock serve``
builds for one worker: the pipeline responder over a seeded SQLite store, and the observers
``operations.run_worker`` and ``listener.serve`` install (statistics, the log observer at
``info``, request metrics, and the audit trail writing to a temporary SQLite file from its own
task, as in the server). The wall clock is the real one.

Reports the median over ``--rounds`` of the mean microseconds per request (wall clock, and the
process's CPU time, all threads: the audit writer's included, other processes' not; its mean over
the rounds spreads the writer's once-a-second flushes over every request), with the garbage
collector paused (``--gc`` leaves it on, after a ``gc.freeze()`` as the worker does), and with
``--respond`` beside it the median of ``respond()`` alone for the same payload. Run by hand:
``python scripts/bench_connection.py [--rounds N] [--requests N]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

import trio

from hetsock.audit.sqlite import SqliteAuditDatabase
from hetsock.audit.trail import AuditTrail
from hetsock.cli_seed import seed_store
from hetsock.config import AuditConfig, ServerConfig
from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.logs import configure_logging
from hetsock.maintenance import MaintenanceSchedule
from hetsock.metrics import RequestMetrics
from hetsock.pipeline import Context, Reply, ReplyKind, Services, respond
from hetsock.registry import Registry
from hetsock.server.connection import Connection
from hetsock.server.observer import LogObserver, Observers, Stats
from hetsock.server.state import PipelineResponder, ServerState
from hetsock.wire.framing import Mode, wrap
from hetsock.x12.writer import ControlNumbers

ROOT = Path(__file__).resolve().parent.parent
SPECIMEN = (ROOT / "tests" / "data" / "hets" / "specimen.270").read_bytes()


class FakeStream(trio.abc.Stream):
    """Hands out ``chunk`` ``count`` times, then end of stream; discards what is sent."""

    def __init__(self, chunk: bytes, count: int) -> None:
        self.chunk = chunk
        self.left = count
        self.sent = 0

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        await trio.lowlevel.checkpoint()
        if self.left <= 0:
            return b""
        self.left -= 1
        return self.chunk

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.lowlevel.checkpoint()
        self.sent += 1

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=2000, help="requests per round (one connection)")
    parser.add_argument("--beneficiaries", type=int, default=100_000)
    parser.add_argument("--store", type=Path, help="an existing store to use instead of seeding one")
    parser.add_argument("--gc", action="store_true", help="leave the garbage collector on")
    parser.add_argument("--respond", action="store_true", help="also time respond() alone")
    parser.add_argument("--trivial", action="store_true", help="answer every request with a fixed reply")
    parser.add_argument("--no-audit", action="store_true", help="leave the audit trail out")
    parser.add_argument("--verbose", action="store_true", help="print every round's figure")
    args = parser.parse_args()
    configure_logging(stream=io.StringIO())
    registry = Registry.from_toml(ROOT / "config" / "submitters.toml")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store_path = args.store
        if store_path is None:
            store_path = work / "store.sqlite3"
            seed_store(store_path, args.beneficiaries)
        store = SqliteStore.open(store_path, read_only=True)
        services = Services(registry, store)
        audit_db = SqliteAuditDatabase.open(work / "audit.sqlite3")
        trail = AuditTrail(audit_db, os.urandom(32), AuditConfig())
        state = ServerState(
            settings=ServerConfig(),
            services=services,
            schedule=MaintenanceSchedule(),
            observer=Observers([Stats(), LogObserver(), RequestMetrics(), *([] if args.no_audit else [trail])]),
            responder=PipelineResponder(trio.CapacityLimiter(4)),
        )
        chunk = wrap(SPECIMEN, Mode.WRAPPED)
        check = respond(SPECIMEN, Context(services, dt.datetime.now(), ControlNumbers(1), "127.0.0.1"))
        assert check.kind is ReplyKind.ELIGIBILITY, check.kind
        if args.trivial:

            async def fixed(payload: bytes, context: Context) -> Reply:
                return check

            state.responder = fixed
        samples: list[float] = []
        cpu_samples: list[float] = []

        async def one_round() -> None:
            stream = FakeStream(chunk, args.requests)
            connection = Connection(stream, state, "127.0.0.1", 40000)
            start, cpu = time.perf_counter_ns(), time.process_time_ns()
            await connection.run()
            samples.append((time.perf_counter_ns() - start) / args.requests / 1000)
            cpu_samples.append((time.process_time_ns() - cpu) / args.requests / 1000)
            assert stream.sent == args.requests, stream.sent

        async def run() -> None:
            async with trio.open_nursery() as nursery:
                await nursery.start(trail.run)
                await one_round()  # warm-up
                samples.clear()
                cpu_samples.clear()
                for _ in range(args.rounds):
                    await one_round()
                trail.close()

        gc.collect()
        if args.gc:
            gc.freeze()
        else:
            gc.disable()
        try:
            trio.run(run)
        finally:
            gc.enable()
        wall, cpu = statistics.median(samples), statistics.median(cpu_samples)
        print(
            f"connection loop, {args.requests} requests per round, {args.rounds} rounds"
            f"{' (GC on)' if args.gc else ''}: {wall:.1f} us median per request "
            f"(min {min(samples):.1f}, max {max(samples):.1f}); process CPU {cpu:.1f} us median "
            f"(min {min(cpu_samples):.1f}, mean {statistics.fmean(cpu_samples):.1f}); audit written {trail.written}"
        )
        if args.verbose:
            print(f"  rounds (wall us): {[round(s) for s in samples]}")
        if args.respond:
            context = Context(services, dt.datetime.now(), ControlNumbers(1), "127.0.0.1")
            timings = []
            gc.disable()
            try:
                for _ in range(args.rounds):
                    start = time.perf_counter_ns()
                    for _ in range(args.requests):
                        respond(SPECIMEN, context)
                    timings.append((time.perf_counter_ns() - start) / args.requests / 1000)
            finally:
                gc.enable()
            print(f"respond() alone: {statistics.median(timings):.1f} us median")
        store.close()
        audit_db.close()


if __name__ == "__main__":
    main()
