#!/usr/bin/env python3
"""Benchmark the SQLite beneficiary store: seeding rate, and lookup cost against population size.

Seeds ``--count`` beneficiaries (default 1,000,000) into a temporary file exactly as
``hetsock seed`` does and prints beneficiaries per second; seeds a ``--small`` store (default
10,000) the same way; then, for each store, times ``SqliteStore.lookup`` on ``--lookups`` random
existing MBIs (each call timed alone; the median is printed, after one untimed pass so the OS file
cache is warm) and the bare primary-key query alone, and prints the large/small ratio. A lookup's
cost should not grow with the population beyond the B-tree's extra level or two.

Reading the ratio: a 10,000-person store (6 MiB) fits in a read connection's page cache
(``READER_CACHE_KIB``), so its lookups make no system call at all; from some 30,000 people on,
a lookup reads its one leaf page from the OS file cache (interior pages stay cached). The step
from "all cached" to "one page read" is most of the 10,000 vs 1,000,000 ratio (about 1.5x on a
two-core VM); ``--small 100000`` compares like with like (about 1.0x).

Run by hand (not a test): ``python scripts/bench_seed.py [--count N] [--workers W]``. Needs
about 600 MB of temporary disk per million beneficiaries. Timings on a shared VM drift by tens
of percent between runs; the ratio drifts less.
"""

from __future__ import annotations

import argparse
import gc
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from hetsock.cli_seed import seed_store
from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.eligibility.synth import MBI_SPACE, sorted_mbi


def _sample_mbis(path: Path, how_many: int, seed: int) -> list[str]:
    """Existing MBIs spread over the key space: the first MBI at or after a random one."""
    rng = random.Random(seed)
    connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    try:
        found = []
        for _ in range(how_many):
            start = sorted_mbi(rng.randrange(MBI_SPACE))
            row = connection.execute(
                "SELECT mbi FROM beneficiary WHERE mbi >= ? ORDER BY mbi LIMIT 1", (start,)
            ).fetchone()
            if row is None:
                row = connection.execute("SELECT mbi FROM beneficiary ORDER BY mbi LIMIT 1").fetchone()
            found.append(row[0])
        return found
    finally:
        connection.close()


def _median_us(path: Path, mbis: list[str]) -> tuple[float, float]:
    """Median microseconds of ``lookup`` and of the bare query, over ``mbis`` (after a warm-up pass)."""
    store = SqliteStore.open(path, read_only=True)
    query = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    try:
        for mbi in mbis:
            assert store.lookup(mbi) is not None
            query.execute("SELECT doc FROM beneficiary WHERE mbi = ?", (mbi,)).fetchone()
        clock = time.perf_counter_ns
        lookups, queries = [], []
        gc.disable()
        try:
            for mbi in mbis:
                start = clock()
                store.lookup(mbi)
                lookups.append(clock() - start)
                start = clock()
                query.execute("SELECT doc FROM beneficiary WHERE mbi = ?", (mbi,)).fetchone()
                queries.append(clock() - start)
        finally:
            gc.enable()
        return statistics.median(lookups) / 1000, statistics.median(queries) / 1000
    finally:
        query.close()
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000, help="beneficiaries in the large store")
    parser.add_argument("--small", type=int, default=10_000, help="beneficiaries in the small store")
    parser.add_argument("--lookups", type=int, default=20_000, help="random MBIs looked up per store")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workers", type=int, default=None, help="generating processes (default: as hetsock seed)")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the temporary stores")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir, prefix="hetsock-bench-") as directory:
        sizes = {"large": args.count, "small": args.small}
        paths = {}
        for name, count in sizes.items():
            path = Path(directory) / f"{name}.sqlite3"
            report = seed_store(path, count, args.seed, workers=args.workers)
            paths[name] = path
            print(
                f"seed {count:>10,} beneficiaries: {report.seconds:6.2f} s, {report.rate:>9,.0f} per second, "
                f"{path.stat().st_size / 2**20:,.0f} MiB"
            )
        results = {}
        for name, count in sizes.items():
            lookup_us, query_us = _median_us(paths[name], _sample_mbis(paths[name], args.lookups, args.seed))
            results[name] = (lookup_us, query_us)
            print(
                f"lookup in {count:>10,}: median {lookup_us:6.1f} us per lookup (query + decode), "
                f"{query_us:5.1f} us the query alone"
            )
        (large_lookup, large_query), (small_lookup, small_query) = results["large"], results["small"]
        print(
            f"ratio {args.count:,} / {args.small:,}: lookup {large_lookup / small_lookup:.2f}x, "
            f"query {large_query / small_query:.2f}x"
        )


if __name__ == "__main__":
    main()
