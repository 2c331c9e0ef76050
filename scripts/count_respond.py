#!/usr/bin/env python3
"""Count the instructions one ``respond()`` takes, with valgrind's callgrind.

Time on a shared machine moves by a fifth from run to run; an instruction count does not move
with the machine's load, so it shows a change to the hot path that a timing cannot. This runs
this script twice under ``valgrind --tool=callgrind`` (seed the store first: it is not timed,
but it is counted), once answering specimen.270 ``--calls`` times and once not at all, both after
50 warm-up calls, and prints the difference divided by ``--calls``. A fresh control number for
every call, as the server makes them; one wall-clock reading and ``PYTHONHASHSEED=0``, so that
two runs of the same code count the same. Needs valgrind (Debian package).

``python scripts/count_respond.py [--calls 1000] [--store PATH]`` (about a minute; without
``--store`` it seeds 100,000 beneficiaries in a temporary directory, reused by both runs).
It does not count processor-cache effects: the server pays those on top (see README).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECIMEN = ROOT / "tests" / "data" / "hets" / "specimen.270"
WARM_UP = 50


def answer(store_path: Path, calls: int) -> None:
    """The counted part: ``WARM_UP + calls`` answers to specimen.270."""
    from hetsock.eligibility.store.sqlite import SqliteStore
    from hetsock.pipeline import Context, ReplyKind, Services, respond
    from hetsock.registry import Registry
    from hetsock.server.state import ControlNumberSource

    services = Services(Registry.from_toml(ROOT / "config" / "submitters.toml"), SqliteStore.open(store_path))
    payload = SPECIMEN.read_bytes()
    numbers = ControlNumberSource()
    now = dt.datetime(2026, 11, 22, 9, 0)  # one wall-clock reading: the count must not vary with it
    for n in range(WARM_UP + calls):
        reply = respond(payload, Context(services, now, numbers.take(), "127.0.0.1"))
        if n == 0:
            assert reply.kind is ReplyKind.ELIGIBILITY, reply.kind


def _instructions(store_path: Path, calls: int) -> int:
    child = [sys.executable, __file__, "--answer", str(calls), "--store", str(store_path)]
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *child],
        env={**os.environ, "PYTHONHASHSEED": "0"},  # string hashes (and so dict layouts) fixed
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"Collected : (\d+)", run.stderr)
    if match is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{run.stderr[-2000:]}")
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--store", type=Path, help="an existing SQLite store (default: seed 100,000)")
    parser.add_argument("--answer", type=int, help=argparse.SUPPRESS)  # the counted child
    args = parser.parse_args()
    if args.answer is not None:
        answer(args.store, args.answer)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as tmp:
        store_path = args.store
        if store_path is None:
            from hetsock.cli_seed import seed_store

            store_path = Path(tmp) / "store.sqlite3"
            seed_store(store_path, 100_000)
        base = _instructions(store_path, 0)
        total = _instructions(store_path, args.calls)
    print(f"respond(specimen.270): {(total - base) / args.calls:,.0f} instructions a call ({args.calls} calls)")


if __name__ == "__main__":
    main()
