#!/usr/bin/env python3
"""The benchmark suite in one run: respond() in process, the transport ceiling, hetsock with 1 and 2 workers.

1. ``respond()`` median microseconds for specimen.270 over a seeded SQLite store (in this process);
2. the **ceiling**: a bare trio server that only frames requests (``hetsock.wire.framing``) and
   answers each with the fixed bytes hetsock answers the specimen with
   (``scripts/bench_server.py --echo-server``);
3. ``hetsock serve`` with **1 worker**, then with **2 workers**;

each server at 1, 16 and 64 persistent connections with the same closed-loop client
(``hetsock.loadgen``): round trips per second, p50 and p99 latency, and the ratio hetsock /
ceiling. The client runs in this process pinned to the first CPU; the ceiling and the 1-worker
server are pinned to the last CPU. Two workers on a 2-core machine cannot each have a core of
their own beside the client, so they run unpinned and share both cores with the client (the
table says so). Run by hand, on an otherwise idle machine: ``python scripts/bench.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_server
from timing import median_us

from hetsock.cli_seed import seed_store
from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.loadgen import LoadResult, closed_loop
from hetsock.pipeline import Context, ReplyKind, Services, respond
from hetsock.registry import Registry
from hetsock.x12.writer import ControlNumbers

ROOT = Path(__file__).resolve().parent.parent
SPECIMEN = (ROOT / "tests" / "data" / "hets" / "specimen.270").read_bytes()


def _measure(port: int, counts: list[int], seconds: float) -> dict[int, LoadResult]:
    def same_reply(payload: bytes) -> str | None:
        is_271 = payload.find(b"ST*271*", 0, 400) >= 0 and payload.find(b"TRN*2*TRACKNUM0001*", 300, 700) >= 0
        return None if is_271 else "wrong-reply"

    return {n: closed_loop(port, [SPECIMEN], connections=n, seconds=seconds, check=same_reply) for n in counts}


def _serve(config: Path, work: Path, workers: int, cpu: int | None) -> tuple[subprocess.Popen[bytes], int]:
    log = work / f"hetsock-{workers}.log"
    command = [sys.executable, "-m", "hetsock", "serve", "--config", str(config), "--port", "0"]
    if workers > 1:
        command += ["--workers", str(workers)]
    if cpu is None:
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    else:
        process = bench_server._start(command, cpu, log)
    pattern = r"event=supervisor .*address=[^ \n]*:(\d+)" if workers > 1 else r"event=listening address=[^ \n]*:(\d+)"
    try:
        port = int(bench_server._wait_for(pattern, log).group(1))
        for worker in range(workers):
            bench_server._wait_for(rf"event=listening address=[^ \n]*:{port} worker={worker} ", log)
    except BaseException:
        _stop(process)
        raise
    return process, port


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per case (default 5)")
    parser.add_argument("--connections", default="1,16,64")
    parser.add_argument("--beneficiaries", type=int, default=100_000, help="size of the seeded store")
    parser.add_argument("--rounds", type=int, default=30, help="respond(): rounds of --batch calls")
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    counts = [int(c) for c in args.connections.split(",")]
    cpus = os.cpu_count() or 1
    server_cpu = cpus - 1
    bench_server._pin(0)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store_path = work / "store.sqlite3"
        seed_store(store_path, args.beneficiaries)
        registry = Registry.from_toml(ROOT / "config" / "submitters.toml")

        # 1. respond() in process.
        store = SqliteStore.open(store_path, read_only=True)
        context = Context(Services(registry, store), dt.datetime.now(), ControlNumbers(1), "127.0.0.1")
        reply = respond(SPECIMEN, context)
        assert reply.kind is ReplyKind.ELIGIBILITY, reply
        respond_us = median_us(functools.partial(respond, SPECIMEN, context), args.rounds, args.batch)
        store.close()
        (work / "reply").write_bytes(reply.payload)

        config = bench_server.write_config(work, store_path)

        # 2. the ceiling.
        echo = bench_server._start(
            [sys.executable, str(ROOT / "scripts" / "bench_server.py"), "--echo-server", str(work / "port"),
             str(work / "reply")],
            server_cpu,
            work / "echo.log",
        )  # fmt: skip
        try:
            while not (work / "port").exists() or not (work / "port").read_text():
                time.sleep(0.05)
            ceiling = _measure(int((work / "port").read_text()), counts, args.seconds)
        finally:
            _stop(echo)

        # 3. hetsock, 1 worker pinned, then 2 workers unpinned.
        results: dict[int, dict[int, LoadResult]] = {}
        for workers, cpu in ((1, server_cpu), (2, None)):
            process, port = _serve(config, work, workers, cpu)
            try:
                results[workers] = _measure(port, counts, args.seconds)
            finally:
                _stop(process)

    print(f"machine: {cpus} CPUs, Python {sys.version.split()[0]}, loopback; {dt.date.today().isoformat()}")
    print(
        f"client: closed loop on CPU 0; ceiling and 1 worker pinned to CPU {server_cpu}; 2 workers unpinned "
        f"(sharing both CPUs with the client); {args.seconds:g} s per case after 0.5 s warm-up"
    )
    print(f"request specimen.270 ({len(SPECIMEN)} bytes), reply a 271 ({len(reply.payload)} bytes)")
    print(
        f"\nrespond() in process: {respond_us:.1f} us median ({1e6 / respond_us:,.0f} per second on one core), "
        f"store of {args.beneficiaries:,} beneficiaries\n"
    )
    header = f"{'connections':>11} | {'ceiling rt/s':>12} {'p50 ms':>7} {'p99 ms':>7}"
    for workers in (1, 2):
        header += f" | {f'{workers} worker' + ('s' if workers > 1 else '') + ' rt/s':>15} {'p50 ms':>7} {'p99 ms':>7}"
        header += f" {'/ceil':>6}"
    print(header)
    print("-" * len(header))
    problems: dict[str, int] = {}
    for n in counts:
        c = ceiling[n]
        row = f"{n:>11} | {c.rate:>12,.0f} {c.percentile_ms(0.5):>7.2f} {c.percentile_ms(0.99):>7.2f}"
        for workers in (1, 2):
            h = results[workers][n]
            row += f" | {h.rate:>15,.0f} {h.percentile_ms(0.5):>7.2f} {h.percentile_ms(0.99):>7.2f}"
            row += f" {h.rate / c.rate:>6.1%}"
            for kind, number in h.errors.items():
                problems[f"{workers} worker(s), {n} connections: {kind}"] = number
        for kind, number in c.errors.items():
            problems[f"ceiling, {n} connections: {kind}"] = number
        print(row)
    print(f"\nerrors: {problems or 'none'}; took {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
