#!/usr/bin/env python3
"""Benchmark the audit trail: its writer's throughput and its cost on the request path.

1. **writer**: records per second into the audit database in transactions of 1,000, SQLite
   (``synchronous = FULL``: one fsync per transaction) beside PostgreSQL (a database made for
   the run on ``HETSOCK_TEST_POSTGRES``, default 127.0.0.1:5432, dropped after; ``--no-postgres``
   skips it), each already holding ``--preload`` records, records numbered as the trail numbers
   them; one writer, then ``--writers`` processes writing at once (several workers, or several
   hosts); and microseconds per record to build it from an exchange (HMAC of the MBI
   included) -- the work the writer does in its thread.
2. **request path**: microseconds per ``AuditTrail.request_answered`` (what the event loop pays
   per reply), and the same ``hetsock serve`` (one worker, pinned to the last CPU) with
   ``[audit] enabled`` false, true on SQLite and true on PostgreSQL, closed loop at 16
   connections (``hetsock.loadgen`` on the first CPU): round trips per second and latency
   percentiles, alternating runs.

Run by hand: ``python scripts/bench_audit.py`` (``--writer-only`` for part 1 alone).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import multiprocessing
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from timing import median_us

from hetsock.audit.database import AuditDatabase
from hetsock.audit.record import AuditRecord

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {cpu})


def _numbered(record: AuditRecord, count: int) -> list[AuditRecord]:
    """``count`` copies of ``record`` with one writer's identity, as the trail writes them."""
    origin = uuid.uuid4().hex
    return [record._replace(origin=origin, sequence=n + 1) for n in range(count)]


def _open(target: str) -> AuditDatabase:
    from hetsock.audit import open_audit_database
    from hetsock.config import AuditConfig, Config

    return open_audit_database(Config(audit=AuditConfig().at(target)))


def _write_batches(target: str, record: AuditRecord, batches: int, start: Any, done: Any) -> None:
    """One writer process: ``batches`` transactions of 1,000 once ``start`` is set."""
    database = _open(target)
    try:
        work = _numbered(record, batches * 1000)
        start.wait()
        for n in range(batches):
            database.write(work[n * 1000 : (n + 1) * 1000])
    finally:
        database.close()
        done.put(os.getpid())


def _rates(target: str, record: AuditRecord, preload: int, writers: int) -> tuple[float, float, float]:
    """(records/s of one writer: median of 5 x 20,000; its CPU microseconds per record in this
    process, the cost to a worker; records/s of ``writers`` at once)."""
    database = _open(target)
    try:
        held = _numbered(record, preload)
        for n in range(0, preload, 1000):
            database.write(held[n : n + 1000])
        rates, cpu = [], []
        for _ in range(5):
            work = _numbered(record, 20_000)
            start, used = time.perf_counter(), time.process_time()
            for n in range(20):
                database.write(work[n * 1000 : (n + 1) * 1000])
            rates.append(20_000 / (time.perf_counter() - start))
            cpu.append((time.process_time() - used) / 20_000 * 1e6)
    finally:
        database.close()
    context = multiprocessing.get_context("fork")
    begin, done = context.Event(), context.Queue()
    processes = [context.Process(target=_write_batches, args=(target, record, 10, begin, done)) for _ in range(writers)]
    for process in processes:
        process.start()
    time.sleep(1.0)  # every writer connected, its records built
    start = time.perf_counter()
    begin.set()
    for _ in processes:
        done.get(timeout=300)
    together = writers * 10_000 / (time.perf_counter() - start)
    for process in processes:
        process.join(30)
    return statistics.median(rates), statistics.median(cpu), together


@contextlib.contextmanager
def postgres_database() -> Iterator[str | None]:
    """A database made for the run (its URL), dropped after; ``None`` if there is no server."""
    try:
        import psycopg
    except ImportError:
        yield None
        return
    admin = os.environ.get("HETSOCK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"hetsock_bench_{os.getpid()}_{secrets.token_hex(2)}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f"CREATE DATABASE {name} TEMPLATE template0".encode())
    except psycopg.Error as error:
        print(f"(no PostgreSQL: {str(error).strip().splitlines()[0]})")
        yield None
        return
    try:
        yield _url(admin, name)
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())


def _url(admin: str, name: str) -> str:
    parts = urllib.parse.urlsplit(admin)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def writer(work: Path, preload: int, writers: int, postgres: bool) -> None:
    from serving import SPECIMEN, make_store

    from hetsock.audit.record import record_of
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
    build = median_us(lambda: record_of(exchange, key, origin="0" * 32, sequence=1), rounds=20, batch=2000)
    record = record_of(exchange, key)
    store.close()
    print(f"record from an exchange (HMAC included): {build:.1f} us")
    print(
        f"writer: records/s in transactions of 1,000, {preload:,} records already held; one writer "
        f"(median of 5 x 20,000) and its CPU time in this process per record, {writers} writer processes at "
        "once (10,000 each)"
    )
    print(f"{'database':>10} | {'1 writer':>9} | {'CPU us/rec':>10} | {f'{writers} at once':>10} | bytes/record")
    sqlite_path = work / "audit.sqlite3"
    one, cpu, together = _rates(str(sqlite_path), record, preload, writers)
    size = sqlite_path.stat().st_size / (preload + 100_000 + writers * 10_000)
    print(f"{'SQLite':>10} | {one:>9,.0f} | {cpu:>10.1f} | {together:>10,.0f} | {size:.0f}")
    if not postgres:
        return
    with postgres_database() as url:
        if url is None:
            return
        one, cpu, together = _rates(url, record, preload, writers)
        size = _pg_bytes(url) / (preload + 100_000 + writers * 10_000)
        print(f"{'PostgreSQL':>10} | {one:>9,.0f} | {cpu:>10.1f} | {together:>10,.0f} | {size:.0f}")


def _pg_bytes(url: str) -> float:
    import psycopg

    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT pg_total_relation_size('audit')").fetchone()
    return float(row[0]) if row else 0.0


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


def server(work: Path, seconds: float, rounds: int, beneficiaries: int, postgres: str | None) -> None:
    """``hetsock serve`` with the trail off, on SQLite and (given a URL) on PostgreSQL, alternating."""
    from serving import SPECIMEN

    from hetsock.cli_seed import seed_store
    from hetsock.loadgen import LoadResult, closed_loop

    cpus = os.cpu_count() or 1
    _pin(0)
    seed_store(work / "store.sqlite3", beneficiaries)
    registry = work / "submitters.toml"
    registry.write_text((ROOT / "config" / "submitters.toml").read_text())
    cases = {"off": "enabled = false", "SQLite": "enabled = true"}
    if postgres:
        cases["PostgreSQL"] = f'enabled = true\ndsn = "{postgres}"'
    results: dict[str, list[LoadResult]] = {case: [] for case in cases}
    for _ in range(rounds):
        for case, audit in cases.items():
            config = work / "hetsock.toml"
            config.write_text(
                f'[store]\npath = "{work / "store.sqlite3"}"\n[eligibility]\nregistry = "{registry}"\n'
                f"[audit]\n{audit}\n[metrics]\nenabled = false\n"
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
                results[case].append(closed_loop(port, [SPECIMEN], connections=16, seconds=seconds))
            finally:
                process.terminate()
                process.wait(30)
    print(f"\nhetsock serve, 1 worker, 16 connections, {seconds:g} s x {rounds} runs each, alternating:")
    print(f"{'audit':>10} | {'rt/s':>8} {'p50 ms':>7} {'p99 ms':>7} | errors | of off")
    off = statistics.median(r.rate for r in results["off"])
    for case, runs in results.items():
        rate = statistics.median(r.rate for r in runs)
        p50 = statistics.median(r.percentile_ms(0.5) for r in runs)
        p99 = statistics.median(r.percentile_ms(0.99) for r in runs)
        errors = sum(sum(r.errors.values()) for r in runs)
        print(f"{case:>10} | {rate:>8,.0f} {p50:>7.2f} {p99:>7.2f} | {errors:>6} | {rate / off:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preload", type=int, default=100_000, help="records in the database before timing")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per server run")
    parser.add_argument("--rounds", type=int, default=3, help="server runs per case")
    parser.add_argument("--beneficiaries", type=int, default=100_000)
    parser.add_argument("--writers", type=int, default=4, help="writer processes at once")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--writer-only", action="store_true", help="only the writer's throughput")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        writer(Path(tmp), args.preload, args.writers, not args.no_postgres)
    if args.writer_only:
        return
    request_path()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        url = None if args.no_postgres else stack.enter_context(postgres_database())
        server(Path(tmp), args.seconds, args.rounds, args.beneficiaries, url)


if __name__ == "__main__":
    main()
