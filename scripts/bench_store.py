#!/usr/bin/env python3
"""Benchmark the two beneficiary stores side by side: seeding, lookups, and ``respond()``.

Seeds the same population (``--count``, default 1,000,000, fixtures included) into a SQLite file
in a temporary directory and into a PostgreSQL schema made for the run (``hetsock_bench_<pid>``
in the database ``--dsn`` names, dropped at the end), exactly as ``hetsock seed`` does, and prints
each seeding rate. Then, for each store, in the same run and on the same MBIs:

- ``lookup`` median microseconds, each call timed alone (GC paused, after one untimed pass), for
  ``--lookups`` random existing MBIs, for every earlier MBI (up to ``--lookups``), and for MBIs on
  file nowhere;
- ``respond()`` median microseconds for specimen.270 and specimen-many-eq.270 (the shared
  ``timing.median_us``: the mean of a batch of ``--batch`` calls);

interleaved: ``--rounds`` rounds, each taking one sample of every measure from SQLite, then
from PostgreSQL, so the load others put on a shared machine falls on both alike; each figure is
the median over the rounds;
- for PostgreSQL, the plan of the lookup statement for a current and an earlier MBI at this size.

Run by hand (not a test): ``python scripts/bench_store.py [--count N] [--dsn URL]``. Needs the
postgres extra, a server, and about 600 MB of temporary disk per million beneficiaries for each
store. On a shared 2-core VM the absolute figures drift by tens of percent between runs; run it
twice and read the medians side by side.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gc
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql
from timing import median_us

from hetsock.cli_seed import SeedReport, seed_postgres, seed_store
from hetsock.eligibility.store.base import BeneficiaryStore
from hetsock.eligibility.store.postgres import _LOOKUP, PostgresStore
from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.eligibility.synth import MBI_SPACE, sorted_mbi
from hetsock.pipeline import Context, ReplyKind, Services, respond
from hetsock.registry import Registry
from hetsock.x12.writer import ControlNumbers

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "hets"
PAYLOADS = ("specimen.270", "specimen-many-eq.270")


def _sample(path: Path, how_many: int, seed: int) -> tuple[list[str], list[str], list[str]]:
    """Existing MBIs spread over the key space, earlier MBIs, and MBIs on file nowhere."""
    rng = random.Random(seed)
    connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    try:
        current, unknown = [], []
        for _ in range(how_many):
            start = sorted_mbi(rng.randrange(MBI_SPACE))
            row = connection.execute("SELECT mbi FROM beneficiary WHERE mbi >= ? ORDER BY mbi LIMIT 1", (start,))
            found = row.fetchone()
            current.append(found[0] if found else start)
            if connection.execute("SELECT 1 FROM beneficiary WHERE mbi = ?", (start,)).fetchone() is None:
                unknown.append(start)
        earlier = [row[0] for row in connection.execute("SELECT previous_mbi FROM mbi_alias LIMIT ?", (how_many,))]
        return current, earlier, unknown
    finally:
        connection.close()


def _per_call_median_us(call: Callable[[str], object], keys: list[str]) -> float:
    """Median microseconds of ``call(key)`` over ``keys``, each call timed alone (GC paused)."""
    clock = time.perf_counter_ns
    samples = []
    gc.disable()
    try:
        for key in keys:
            start = clock()
            call(key)
            samples.append(clock() - start)
    finally:
        gc.enable()
    return statistics.median(samples) / 1000


def _lookup_sampler(store: BeneficiaryStore, mbis: list[str], rounds: int) -> Callable[[int], float]:
    """Round ``r``'s sample: the per-call median over the ``r``-th slice of ``mbis``."""
    for mbi in mbis:  # warm: caches, prepared statements
        store.lookup(mbi)
    size = max(1, len(mbis) // rounds)

    def sample(r: int) -> float:
        return _per_call_median_us(store.lookup, mbis[r * size : (r + 1) * size] or mbis)

    return sample


def _respond_sampler(store: BeneficiaryStore, payload: bytes, batch: int) -> Callable[[int], float]:
    """A sample: the mean microseconds of ``batch`` calls of ``respond()`` (timing.median_us)."""
    registry = Registry.from_toml(ROOT / "config" / "submitters.toml")
    context = Context(Services(registry, store), dt.datetime(2026, 11, 22, 9, 0), ControlNumbers(1), "127.0.0.1")
    assert respond(payload, context).kind is ReplyKind.ELIGIBILITY
    call = functools.partial(respond, payload, context)
    return lambda r: median_us(call, 1, batch)


def _measure(
    stores: dict[str, BeneficiaryStore], keys: dict[str, list[str]], args: argparse.Namespace
) -> dict[str, dict[str, float]]:
    """Every measure for every store, interleaved: each of ``--rounds`` rounds takes one sample of
    each measure from each store in turn, so background load on a shared machine falls on both
    alike. The figure is the median of the rounds' samples."""
    samplers: dict[str, dict[str, Callable[[int], float]]] = {}
    for name, store in stores.items():
        samplers[name] = {f"lookup, {kind}": _lookup_sampler(store, mbis, args.rounds) for kind, mbis in keys.items()}
        for payload in PAYLOADS:
            samplers[name][f"respond(), {payload}"] = _respond_sampler(store, (DATA / payload).read_bytes(), args.batch)
    samples: dict[str, dict[str, list[float]]] = {
        name: {m: [] for m in measures} for name, measures in samplers.items()
    }
    for r in range(args.rounds):
        for measure in samplers[next(iter(stores))]:
            for name in stores:
                samples[name][measure].append(samplers[name][measure](r))
    return {name: {m: statistics.median(v) for m, v in measures.items()} for name, measures in samples.items()}


def _plans(dsn: str, schema: str, current: str, earlier: str) -> list[str]:
    with psycopg.connect(dsn, autocommit=True, options=f"-c search_path={schema}") as connection:
        connection.execute(f"PREPARE lookup_plan(text) AS {_LOOKUP.replace('%(mbi)s', '$1')}".encode())
        lines = []
        for mbi in (current, earlier):
            explain = sql.SQL("EXPLAIN (ANALYZE, COSTS OFF, SUMMARY OFF) EXECUTE lookup_plan({})")
            lines += [row[0] for row in connection.execute(explain.format(sql.Literal(mbi)))]
        return lines


def _report(name: str, report: SeedReport, size: str) -> None:
    print(
        f"seed {name:10} {report.beneficiaries:>10,} beneficiaries: {report.seconds:6.2f} s, "
        f"{report.rate:>9,.0f} per second, {size}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000, help="beneficiaries in each store")
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres", help="PostgreSQL database")
    parser.add_argument("--lookups", type=int, default=10_000, help="MBIs looked up per kind and store")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workers", type=int, default=None, help="generating processes (default: as hetsock seed)")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the temporary SQLite store")
    args = parser.parse_args()

    schema = f"hetsock_bench_{os.getpid()}"
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="hetsock-bench-") as directory:
        path = Path(directory) / "bench.sqlite3"
        report = seed_store(path, args.count, args.seed, workers=args.workers)
        _report("SQLite", report, f"{path.stat().st_size / 2**20:,.0f} MiB")
        try:
            report = seed_postgres(args.dsn, args.count, args.seed, workers=args.workers, schema=schema)
            with psycopg.connect(args.dsn, autocommit=True) as connection:
                row = connection.execute(
                    "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class AS c "
                    "WHERE c.relnamespace = %s::regnamespace AND c.relkind = 'r'",
                    (schema,),
                ).fetchone()
            _report("PostgreSQL", report, str(row[0] if row else "?"))
            current, earlier, unknown = _sample(path, args.lookups, args.seed)
            keys = {"current MBI": current, "earlier MBI": earlier, "unknown MBI": unknown}
            print(f"\nlookups: {len(current):,} current, {len(earlier):,} earlier, {len(unknown):,} unknown MBIs")
            with (
                SqliteStore.open(path, read_only=True) as sqlite_store,
                PostgresStore.open(args.dsn, schema=schema, read_only=True) as postgres_store,
            ):
                results = _measure({"SQLite": sqlite_store, "PostgreSQL": postgres_store}, keys, args)
            print(f"\n{'median us':36} {'SQLite':>10} {'PostgreSQL':>11} {'ratio':>7}")
            for measure, sqlite_us in results["SQLite"].items():
                postgres_us = results["PostgreSQL"][measure]
                print(f"{measure:36} {sqlite_us:10.1f} {postgres_us:11.1f} {postgres_us / sqlite_us:7.2f}")
            print(f"\nPostgreSQL lookup plans at {args.count:,} (a current MBI, then an earlier one):")
            for line in _plans(args.dsn, schema, current[0], earlier[0] if earlier else current[0]):
                print("  " + line)
        finally:
            with psycopg.connect(args.dsn, autocommit=True) as connection:
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


if __name__ == "__main__":
    main()
