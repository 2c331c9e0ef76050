#!/usr/bin/env python3
"""Benchmark the socket server against the transport ceiling, and hold 1,000 connections.

In one run, with the same closed-loop client (``hetsock.loadgen``) and the same message sizes:

1. the **ceiling**: a bare trio server that only frames (``hetsock.wire.framing``) and answers
   every request with a fixed reply, the very bytes hetsock answers the specimen with;
2. **hetsock**: ``hetsock serve`` (one worker) over a seeded SQLite store, answering specimen.270;

at 1, 16 and 64 persistent connections: round trips per second, p50 and p99 latency, and the
ratio hetsock / ceiling. Both servers run throughout, and each case is measured in ``--rounds``
alternating rounds (ceiling, hetsock, ceiling, ...): the machine's speed drifts by a fifth from
minute to minute (other tenants), so a ceiling measured minutes away from hetsock would skew the
ratio. Each figure is the median of its rounds, and the ratio's spread (lowest to highest of the
rounds' own ratios) is printed beside it. After each hetsock round the servers rest ``--settle``
seconds, so hetsock's audit writer, catching up on the round's last records, does not run during
the next ceiling round (it would slow the ceiling and flatter the ratio). What the writer still
owes when a round ends is not counted against hetsock: with ``--seconds 20`` that share is
smaller (the writer catches up within about three flush intervals).

Then it holds ``--hold`` connections (default 1,000) against hetsock,
each sending a request every 2 seconds, and reports errors and the server's memory per
connection (resident set size before and after the connections open).

Servers run as subprocesses pinned to the last CPU, the client in this process pinned to the
first (2-core machine: one core each). Run by hand: ``python scripts/bench_server.py``.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hetsock.loadgen import LoadResult

ROOT = Path(__file__).resolve().parent.parent
SPECIMEN = (ROOT / "tests" / "data" / "hets" / "specimen.270").read_bytes()


def _echo_server(port_file: Path, reply_file: Path) -> None:
    """The ceiling: frame requests, answer each with the same fixed bytes."""
    import trio

    from hetsock.wire.framing import FrameReceiver, Message, wrap

    reply = reply_file.read_bytes()

    async def handle(stream: trio.SocketStream) -> None:
        receiver = FrameReceiver()
        framed: bytes | None = None
        try:
            while True:
                event = receiver.next_event()
                if isinstance(event, Message):
                    if framed is None:
                        framed = wrap(reply, event.mode)
                    await stream.send_all(framed)
                    continue
                data = await stream.receive_some(65536)
                if not data:
                    return
                receiver.receive_data(data)
        except trio.BrokenResourceError:
            return

    async def main() -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        await trio.Path(port_file).write_text(str(listeners[0].socket.getsockname()[1]))
        await trio.serve_listeners(handle, listeners)

    trio.run(main)


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {cpu})


def _start(command: list[str], cpu: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        preexec_fn=(lambda: _pin(cpu)) if (os.cpu_count() or 1) > 1 else None,
    )


def _wait_for(pattern: str, log: Path, timeout: float = 120.0) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(pattern, log.read_text(errors="replace"))
        if match:
            return match
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {pattern!r} in {log}:\n{log.read_text()}")


def write_config(work: Path, store_path: Path, *, audit: bool = True) -> Path:
    """A server configuration in ``work`` for ``store_path``: the demo registry and the server's
    limits with room for the hold test's connections; ``audit=False`` turns the audit trail off."""
    registry = work / "submitters.toml"
    registry.write_text(
        (ROOT / "config" / "submitters.toml").read_text().replace("connection_limit = 64", "connection_limit = 5000")
    )
    config = work / "hetsock.toml"
    config.write_text(
        f'[store]\npath = "{store_path}"\n[eligibility]\nregistry = "{registry}"\n'
        "[server]\nmax_connections = 5000\nmax_connections_per_address = 5000\n"
        + ("" if audit else "[audit]\nenabled = false\n")
    )
    return config


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per case")
    parser.add_argument(
        "--settle",
        type=float,
        default=3.0,
        help="seconds of rest after each hetsock round (its audit writer catches up)",
    )
    parser.add_argument("--connections", default="1,16,64")
    parser.add_argument("--beneficiaries", type=int, default=100_000, help="size of the seeded store")
    parser.add_argument("--hold", type=int, default=1000, help="connections for the hold test (0: skip)")
    parser.add_argument("--hold-seconds", type=float, default=20.0)
    parser.add_argument("--no-audit", action="store_true", help="hetsock with [audit] enabled = false")
    parser.add_argument("--echo-server", nargs=2, metavar=("PORT_FILE", "REPLY_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_server:
        _echo_server(Path(args.echo_server[0]), Path(args.echo_server[1]))
        return

    from hetsock.cli_seed import seed_store
    from hetsock.eligibility.store.sqlite import SqliteStore
    from hetsock.loadgen import closed_loop, paced
    from hetsock.pipeline import Context, Services, respond
    from hetsock.registry import Registry
    from hetsock.x12.writer import ControlNumbers

    cpus = os.cpu_count() or 1
    server_cpu = cpus - 1
    _pin(0)
    counts = [int(c) for c in args.connections.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store_path = work / "store.sqlite3"
        seed_store(store_path, args.beneficiaries)
        registry = Registry.from_toml(ROOT / "config" / "submitters.toml")
        store = SqliteStore.open(store_path, read_only=True)
        reply = respond(SPECIMEN, Context(Services(registry, store), dt.datetime.now(), ControlNumbers(1), None))
        store.close()
        (work / "reply").write_bytes(reply.payload)
        config = write_config(work, store_path, audit=not args.no_audit)
        print(
            f"client on CPU 0, servers on CPU {server_cpu}; request {len(SPECIMEN)} bytes, reply {len(reply.payload)}"
        )
        print(f"store: {args.beneficiaries:,} beneficiaries; {args.seconds:g} s per case\n")

        def is_271(payload: bytes) -> str | None:
            return None if payload.find(b"ST*271*", 0, 400) >= 0 else "not-a-271"

        def is_same(payload: bytes) -> str | None:
            return None if len(payload) == len(reply.payload) else "wrong-reply"

        results: dict[tuple[str, int], list[LoadResult]] = {}
        echo_log = work / "echo.log"
        echo = _start(
            [sys.executable, __file__, "--echo-server", str(work / "port"), str(work / "reply")], server_cpu, echo_log
        )
        log = work / "hetsock.log"
        server = _start(
            [sys.executable, "-m", "hetsock", "serve", "--config", str(config), "--port", "0"], server_cpu, log
        )
        try:
            while not (work / "port").exists() or not (work / "port").read_text():
                time.sleep(0.05)
            echo_port = int((work / "port").read_text())
            port = int(_wait_for(r"event=listening address=[^ ]*:(\d+)", log).group(1))
            for n in counts:
                for _ in range(args.rounds):
                    results.setdefault(("ceiling", n), []).append(
                        closed_loop(echo_port, [SPECIMEN], connections=n, seconds=args.seconds, check=is_same)
                    )
                    results.setdefault(("hetsock", n), []).append(
                        closed_loop(port, [SPECIMEN], connections=n, seconds=args.seconds, check=is_271)
                    )
                    time.sleep(args.settle)  # hetsock's audit writer finishes before the next ceiling round
            print(
                f"{'connections':>11} | {'ceiling rt/s':>12} {'p50 ms':>7} {'p99 ms':>7} | "
                f"{'hetsock rt/s':>12} {'p50 ms':>7} {'p99 ms':>7} | {'ratio':>6} {'(rounds)':>13} | errors"
            )
            for n in counts:
                c, h = results[("ceiling", n)], results[("hetsock", n)]
                errors: collections.Counter[str] = collections.Counter()
                for result in c + h:
                    errors.update(result.errors)
                ratios = [b.rate / a.rate for a, b in zip(c, h, strict=True)]
                c_rate, h_rate = _median([r.rate for r in c]), _median([r.rate for r in h])
                print(
                    f"{n:>11} | {c_rate:>12,.0f} {_median_ms(c, 0.5):>7.2f} {_median_ms(c, 0.99):>7.2f} | "
                    f"{h_rate:>12,.0f} {_median_ms(h, 0.5):>7.2f} {_median_ms(h, 0.99):>7.2f} | "
                    f"{h_rate / c_rate:>6.1%} {min(ratios):>6.1%}-{max(ratios):>5.1%} | {dict(errors) or '-'}"
                )
            echo.terminate()
            echo.wait()
            if args.hold:
                # A fresh server, so the memory figure is not hidden by what the runs above freed.
                server.terminate()
                server.wait()
                hold_log = work / "hetsock-hold.log"
                server = _start(
                    [sys.executable, "-m", "hetsock", "serve", "--config", str(config), "--port", "0"],
                    server_cpu,
                    hold_log,
                )
                port = int(_wait_for(r"event=listening address=[^ ]*:(\d+)", hold_log).group(1))
                closed_loop(port, [SPECIMEN], connections=1, seconds=0.5, warmup=0.0)  # every code path loaded
                time.sleep(1.5)  # the audit writer's first flush done
                before = _rss_kib(server.pid)
                during: list[int] = []
                sampler = threading.Timer(args.hold_seconds / 2, lambda: during.append(_rss_kib(server.pid)))
                sampler.start()
                held = paced(
                    port, [SPECIMEN], connections=args.hold, interval=2.0, seconds=args.hold_seconds, check=is_271
                )
                sampler.join()
                print(
                    f"\nhold: {args.hold} connections, a request every 2 s each, {held.seconds:.0f} s: "
                    f"{held.replies:,} replies ({held.rate:,.0f}/s), errors {dict(held.errors) or 0}, "
                    f"p50 {held.percentile_ms(0.5):.2f} ms, p99 {held.percentile_ms(0.99):.2f} ms, "
                    f"max {held.percentile_ms(1.0):.2f} ms"
                )
                per = (during[0] - before) / args.hold
                print(
                    f"server memory (a fresh server): {before / 1024:.1f} MiB warmed up, {during[0] / 1024:.1f} MiB "
                    f"half way with the connections open: {per:.1f} KiB per connection"
                )
        finally:
            for process in (echo, server):
                if process.poll() is None:
                    process.terminate()
                    process.wait()


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _median_ms(results: list[LoadResult], fraction: float) -> float:
    return statistics.median(r.percentile_ms(fraction) for r in results)


if __name__ == "__main__":
    main()
