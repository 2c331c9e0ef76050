#!/usr/bin/env python3
"""Benchmark ``respond()``: median microseconds per inquiry against small and large stores.

Seeds two SQLite stores in a temporary directory (``--small``, default 10,000, and ``--large``,
default 1,000,000 beneficiaries, fixtures included), reports the seeding rate, then the median
``respond()`` time for specimen.270 and specimen-many-eq.270 against each, and the
large/small ratio (lookup cost must not grow with the population). Run by hand:
``python scripts/bench_respond.py [--large N] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import tempfile
from pathlib import Path

from timing import median_us

from hetsock.cli_seed import seed_store
from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.pipeline import Context, ReplyKind, Services, respond
from hetsock.registry import Registry
from hetsock.x12.writer import ControlNumbers

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "hets"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    registry = Registry.from_toml(ROOT / "config" / "submitters.toml")
    payloads = {name: (DATA / name).read_bytes() for name in ("specimen.270", "specimen-many-eq.270")}
    now = dt.datetime(2026, 11, 22, 9, 0)
    results: dict[tuple[str, int], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in (args.small, args.large):
            path = Path(tmp) / f"{size}.sqlite3"
            report = seed_store(path, size)
            print(f"seeded {size:>9,} beneficiaries in {report.seconds:6.2f} s = {report.rate:9,.0f} per second")
            store = SqliteStore.open(path, read_only=True)
            context = Context(Services(registry, store), now, ControlNumbers(1), "127.0.0.1")
            for name, payload in payloads.items():
                assert respond(payload, context).kind is ReplyKind.ELIGIBILITY
                results[(name, size)] = median_us(functools.partial(respond, payload, context), args.rounds, args.batch)
            store.close()
    print(f"\n{'respond() median us':28} {args.small:>12,} {args.large:>12,} {'ratio':>7}")
    for name in payloads:
        small, large = results[(name, args.small)], results[(name, args.large)]
        print(f"{name:28} {small:12.1f} {large:12.1f} {large / small:7.2f}")


if __name__ == "__main__":
    main()
