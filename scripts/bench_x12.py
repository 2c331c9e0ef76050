#!/usr/bin/env python3
"""Benchmark the X12 engine: median microseconds per ``check_270`` call.

Measures tokenize + envelope checks + full 005010X279A1 validation + the 270 model for the
HETS specimen inquiries, and the same work plus rendering for a 999 rejection and a TA1
rejection. Run by hand (not a test): ``python scripts/bench_x12.py [--rounds N]``.
Each figure is the median over ``--rounds`` batches of ``--batch`` calls on one core, printed
beside the same run's bare ``str.split`` of the specimen (timings on a shared VM drift by tens of
percent between runs; the ratio drifts much less).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from timing import median_us

from hetsock.x12.check import Accepted, Rejected, check_270
from hetsock.x12.rules import Rules
from hetsock.x12.writer import ControlNumbers

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "hets"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    specimen = (DATA / "specimen.270").read_bytes()
    many_eq = (DATA / "specimen-many-eq.270").read_bytes()
    rejected_999 = specimen.replace(b"EQ*30~", b"EQ*ZZ~").replace(b"DMG*D8*19400401", b"DMG*D8*19400431")
    rejected_ta1 = specimen.replace(b"*ZZ*CMS            *", b"*ZZ*XYZ            *")
    cases = [
        ("specimen.270 (accepted)", specimen, Accepted),
        ("specimen-many-eq.270 (accepted)", many_eq, Accepted),
        ("999 rejection (2 element errors)", rejected_999, Rejected),
        ("TA1 rejection (ISA08)", rejected_ta1, Rejected),
    ]
    rules = Rules.hets()
    now = dt.datetime(2026, 11, 22, 7, 35)
    control = ControlNumbers(1)
    text = specimen.decode("latin-1")
    # The floor on this machine, measured in the same run: a bare two-level str.split.
    baseline = median_us(lambda: [s.split("*") for s in text.split("~")], args.rounds, args.batch)
    print(f"{'case':40} {'median us':>10} {'x split':>8}")
    print(f"{'bare str.split of specimen.270':40} {baseline:10.1f} {1:8.1f}")
    for name, payload, expected in cases:
        decision = check_270(payload, rules=rules, now=now, control=control)
        assert isinstance(decision, expected), (name, decision)

        def call(payload: bytes = payload) -> object:
            return check_270(payload, rules=rules, now=now, control=control)

        median = median_us(call, args.rounds, args.batch)
        print(f"{name:40} {median:10.1f} {median / baseline:8.1f}")
    full = median_us(
        lambda: check_270(specimen, rules=rules, now=now, control=control, fast=False), args.rounds, args.batch
    )
    print(f"{'specimen.270, full path (no fast lane)':40} {full:10.1f} {full / baseline:8.1f}")


if __name__ == "__main__":
    main()
