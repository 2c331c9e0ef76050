#!/usr/bin/env python3
"""Benchmark the audit trail: its writer's throughput and its cost on the request path.

1. **writer**: records per second into the SQLite audit database in transactions of 1,000
   (``synchronous = FULL``: one fsync per transaction), with the database already holding
   ``--preload`` records; and microseconds per record to build it from an exchange (HMAC of the
   MBI included) -- the work the writer does in its thread.
2. **request path**: microseconds per ``AuditTrail.request_answered`` (what the event loop pays
   per reply), and the same ``hetsock serve`` (one worker, pinned to the last CPU) with
   ``[audit] enabled`` false and true, closed loop at 16 connections (``hetsock.loadgen`` on the
   first CPU): round trips per second and latency percentiles, alternating runs.

Run by hand: ``python scripts/bench_audit.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import median_us

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {cpu})


def writer(work: Path, preload: int) -> None:
    from serving import SPECIMEN, make_store

    from hetsock.audit.record import record_of
    from hetsock.audit.sqlite import SqliteAuditDatabase
    from hetsock.eligibility.store.sqlite import SqliteStore
    from hetsock.pipeline import Context, Services, respond
    from hetsock.registry import Registry
    from hetsock.server.observer import ConnectionInfo, Exchange
    from hetsock.x12.writer import ControlNumbers

    store: SqliteStore = make_store(work / "store.sqlite3")
    registry = Registry.from_toml(ROOT / "config" / "submitters.toml")
    now = dt.datetime.now()
    reply = respond(SPECIMEN, Context(Services(registry, store), now, ControlNumbers(1), "127.0.0.1"))
    exchange = Exchange(ConnectionInfo(1, "127.0.0.1", 40000, 0, now), reply, now, now, 0.0004)
    key = os.urandom(32)
    build = median_us(lambda: record_of(exchange, key), rounds=20, batch=2000)
    record = record_of(exchange, key)
    with SqliteAuditDatabase.open(work / "audit.sqlite3") as database:
        batch = [record] * 1000
        for _ in range(preload // 1000):
            database.write(batch)
        rates = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(20):
                database.write(batch)
            rates.append(20_000 / (time.perf_counter() - start))
        size = (work / "audit.sqlite3").stat().st_size
    store.close()
    print(f"record from an exchange (HMAC included): {build:.1f} us")
    print(
        f"writer: {statistics.median(rates):,.0f} records/s in transactions of 1,000 "
        f"(median of 5 x 20,000; {preload:,} records already held; "
        f"{size / (preload + 100_000):.0f} bytes/record on disk)"
    )


def request_path() -> None:
    import trio

    from hetsock.audit.sqlite import SqliteAuditDatabase
    from hetsock.audit.trail import AuditTrail
    from hetsock.config import AuditConfig
    from hetsock.pipeline import Reply, ReplyKind
    from hetsock.server.observer import ConnectionInfo, Exchange

    now = dt.datetime.now()
    exchange = Exchange(ConnectionInfo(1, "127.0.0.1", 1, 0, now), Reply(ReplyKind.ELIGIBILITY, b""), now, now, 0.0)

    async def measure() -> float:
        with tempfile.TemporaryDirectory() as tmp:
            trail = AuditTrail(
                SqliteAuditDatabase.open(Path(tmp) / "a.sqlite3"), b"k" * 32, AuditConfig(max_backlog=10**9)
            )
            cost = median_us(lambda: trail.request_answered(exchange), rounds=20, batch=5000)
            return cost

    print(f"AuditTrail.request_answered (on the event loop, per reply): {trio.run(measure):.2f} us")


def server(work: Path, seconds: float, rounds: int, beneficiaries: int) -> None:
    from serving import SPECIMEN

    from hetsock.cli_seed import seed_store
    from hetsock.loadgen import LoadResult, closed_loop

    cpus = os.cpu_count() or 1
    _pin(0)
    seed_store(work / "store.sqlite3", beneficiaries)
    registry = work / "submitters.toml"
    registry.write_text((ROOT / "config" / "submitters.toml").read_text())
    results: dict[bool, list[LoadResult]] = {False: [], True: []}
    for run in range(rounds * 2):
        audit = bool(run % 2)
        config = work / f"hetsock-{audit}.toml"
        config.write_text(
            f'[store]\npath = "{work / "store.sqlite3"}"\n[eligibility]\nregistry = "{registry}"\n'
            f"[audit]\nenabled = {str(audit).lower()}\n[metrics]\nenabled = false\n"
        )
        log = work / "server.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "hetsock", "serve", "--config", str(config), "--port", "0"],
            cwd=ROOT,
            stderr=log.open("wb"),
            preexec_fn=(lambda: _pin(cpus - 1)) if cpus > 1 else None,
        )
        try:
            deadline = time.monotonic() + 60
            while "event=listening" not in log.read_text():
                if time.monotonic() > deadline:
                    raise SystemExit(log.read_text())
                time.sleep(0.05)
            port = int(log.read_text().split("address=127.0.0.1:")[1].split()[0])
            results[audit].append(closed_loop(port, [SPECIMEN], connections=16, seconds=seconds))
        finally:
            process.terminate()
            process.wait(30)
    print(f"\nhetsock serve, 1 worker, 16 connections, {seconds:g} s x {rounds} runs each, alternating:")
    print(f"{'audit':>6} | {'rt/s':>8} {'p50 ms':>7} {'p99 ms':>7} | errors")
    for audit, runs in results.items():
        rate = statistics.median(r.rate for r in runs)
        p50 = statistics.median(r.percentile_ms(0.5) for r in runs)
        p99 = statistics.median(r.percentile_ms(0.99) for r in runs)
        errors = sum(sum(r.errors.values()) for r in runs)
        print(f"{'on' if audit else 'off':>6} | {rate:>8,.0f} {p50:>7.2f} {p99:>7.2f} | {errors}")
    off = statistics.median(r.rate for r in results[False])
    on = statistics.median(r.rate for r in results[True])
    print(f"throughput with the audit trail: {on / off:.1%} of without")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preload", type=int, default=100_000, help="records in the database before timing")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per server run")
    parser.add_argument("--rounds", type=int, default=3, help="server runs per case")
    parser.add_argument("--beneficiaries", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        writer(Path(tmp), args.preload)
    request_path()
    with tempfile.TemporaryDirectory() as tmp:
        server(Path(tmp), args.seconds, args.rounds, args.beneficiaries)


if __name__ == "__main__":
    main()
