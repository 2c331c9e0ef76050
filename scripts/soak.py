#!/usr/bin/env python3
"""Soak: the load test for a long while, with faults injected, then what was lost (must be 0).

Sets up a PostgreSQL store (a database made for the run, dropped after), starts ``hetsock serve
--workers W`` on it, and drives it with the load test's realistic mix (``hetsock.loadtest``) in
open loop, while every ``--fault-every`` seconds one fault is injected, in turn:

* **kill a worker**: SIGKILL to one worker process; the supervisor starts another; the client's
  connections on it drop and are re-established, their requests resent;
* **database outage**: by default the PostgreSQL connections go through a forwarder
  (``hetsock.faults.TcpProxy``) that is cut for ``--outage`` seconds (every connection drops, new
  ones are refused, as in a restart); with ``--restart-database`` the real server is restarted
  (``pg_ctlcluster ... restart``: only on a machine of your own, it drops everyone's connections).
  Requests meanwhile are answered with AAA 42 ("unable to respond at current time"), counted as
  outage replies, not mismatches.

The audit trail goes to the same database (``[audit] dsn``), so the outages hit it too: it keeps
its records in memory and writes them when the database is back.

Reports: requests sent, replies, **replies lost** (sent and never answered: must be 0), errors by
kind, mismatches (a reply other than the request should get, outages aside), latency, connection
events, faults injected, the audit records written against the replies received, and the
server's memory (all processes) over time.

Run by hand: ``python scripts/soak.py --duration 300`` (PostgreSQL on 127.0.0.1:5432 or
``HETSOCK_TEST_POSTGRES``).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from hetsock import loadgen
from hetsock.client.reply import summarize_untrusted
from hetsock.faults import TcpProxy
from hetsock.loadtest.mix import DEFAULT_WEIGHTS, build_mix, payloads, sample_population, verify

ROOT = Path(__file__).resolve().parent.parent
ADMIN_DSN = os.environ.get("HETSOCK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _rss_kib(pid: int) -> int:
    try:
        match = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    except OSError:
        return 0
    return int(match.group(1)) if match else 0


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of load")
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second (open loop)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--beneficiaries", type=int, default=20_000)
    parser.add_argument("--fault-every", type=float, default=20.0, help="seconds between faults")
    parser.add_argument("--outage", type=float, default=3.0, help="seconds a database outage lasts")
    parser.add_argument("--restart-database", action="store_true", help="restart the real PostgreSQL server")
    args = parser.parse_args()

    database = f"hetsock_soak_{os.getpid()}_{secrets.token_hex(2)}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {database} TEMPLATE template0".encode())
    params = psycopg.conninfo.conninfo_to_dict(ADMIN_DSN)
    host, port = str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432)
    user = str(params.get("user") or "postgres")
    proxy = None if args.restart_database else TcpProxy(host, port)
    store_port = port if proxy is None else proxy.port
    dsn = f"postgresql://{user}@{host if proxy is None else '127.0.0.1'}:{store_port}/{database}"
    server: subprocess.Popen[str] | None = None
    try:
        print(f"seeding {args.beneficiaries:,} beneficiaries into {database} ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "hetsock", "seed", "--beneficiaries", str(args.beneficiaries), "--store", dsn],
            cwd=ROOT,
            check=True,
        )
        work = Path(tempfile.mkdtemp(prefix="hetsock-soak-"))
        registry = work / "submitters.toml"
        registry.write_text(
            (ROOT / "config" / "submitters.toml")
            .read_text()
            .replace("connection_limit = 64", "connection_limit = 5000")
        )
        config = work / "hetsock.toml"
        config.write_text(
            f'[store]\ndsn = "{dsn}"\n[eligibility]\nregistry = "{registry}"\n'
            f'[audit]\ndsn = "{dsn}"\nsecret_file = "{work / "audit.key"}"\n[metrics]\nenabled = false\n'
        )
        log_path = work / "server.log"
        log = log_path.open("w")
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "hetsock", "serve", "--config", str(config)),
                *("--port", "0", "--workers", str(args.workers)),
            ],
            cwd=ROOT,
            stderr=log,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not (match := re.search(r"event=supervisor .*address=[^ \n]*:(\d+)", log_path.read_text())):
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"the server did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        server_port = int(match.group(1))
        while log_path.read_text().count("event=listening") < args.workers:
            time.sleep(0.1)

        population = sample_population(args.beneficiaries, 2026)
        mix = build_mix(population, DEFAULT_WEIGHTS, size=2000, seed=1)
        kinds: collections.Counter[str] = collections.Counter()
        outage_replies = collections.Counter[str]()

        def observe(index: int, reply: bytes) -> str | None:
            summary = summarize_untrusted(reply)
            kinds[summary.kind.value] += 1
            if "42" in summary.aaa_codes:
                outage_replies["AAA 42"] += 1
                return None
            if summary.detail.startswith(("SBY00507", "SBY00508", "SBY00510")):
                outage_replies[summary.detail[:8]] += 1
                return None
            return verify(mix[index].expect, summary)

        faults: list[str] = []
        memory: list[tuple[float, int]] = []
        stop = threading.Event()
        started = time.monotonic()

        def inject() -> None:
            number = 0
            while not stop.wait(args.fault_every):
                number += 1
                when = time.monotonic() - started
                if number % 2:
                    workers = _children(server.pid) if server is not None else []
                    if workers:
                        victim = workers[number // 2 % len(workers)]
                        os.kill(victim, signal.SIGKILL)
                        faults.append(f"{when:6.1f} s  killed worker pid {victim}")
                elif proxy is not None:
                    proxy.cut()
                    faults.append(f"{when:6.1f} s  database outage for {args.outage:g} s (connections cut)")
                    stop.wait(args.outage)
                    proxy.restore()
                else:
                    version = sorted(os.listdir("/etc/postgresql"))[-1]
                    subprocess.run(
                        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=False
                    )
                    faults.append(f"{when:6.1f} s  restarted PostgreSQL {version}")

        def sample_memory() -> None:
            while not stop.wait(1.0):
                if server is None:
                    return
                total = _rss_kib(server.pid) + sum(_rss_kib(p) for p in _children(server.pid))
                memory.append((time.monotonic() - started, total))

        threads = [threading.Thread(target=inject, daemon=True), threading.Thread(target=sample_memory, daemon=True)]
        for thread in threads:
            thread.start()
        print(
            f"soak: {args.duration:g} s at {args.rate:g}/s over {args.connections} connections, "
            f"{args.workers} workers, a fault every {args.fault_every:g} s",
            flush=True,
        )
        result = loadgen.run(
            server_port,
            payloads(mix),
            connections=args.connections,
            rate=args.rate,
            seconds=args.duration,
            observe=observe,
            idle_timeout=4.5,
            drain_timeout=15.0,
        )
        stop.set()
        for thread in threads:
            thread.join(10)
        lost = result.sent - result.replies
        print("\nfaults injected:")
        print("\n".join("  " + f for f in faults) or "  none")
        print(f"\nrequests sent {result.sent:,}, replies {result.replies:,}, replies lost {lost}")
        print(f"reply kinds: {dict(kinds)}; outage replies: {dict(outage_replies) or 0}")
        print(f"mismatches: {dict(result.mismatches) or 0}; transport errors: {dict(result.errors) or 0}")
        print(f"connections: {dict(result.connections)}")
        print(
            f"latency ms: p50 {result.percentile_ms(0.5):.2f}, p99 {result.percentile_ms(0.99):.2f}, "
            f"p99.9 {result.percentile_ms(0.999):.2f}, max {result.percentile_ms(1.0):.2f}"
        )
        if server is not None:  # stop the server first: its last records are flushed as it stops
            server.send_signal(signal.SIGTERM)
            server.wait(60)
            with psycopg.connect(dsn.replace(f":{store_port}/", f":{port}/"), autocommit=True) as check:
                row = check.execute("SELECT count(*) FROM audit").fetchone()
            audited = int(row[0]) if row else 0
            print(
                f"audit trail: {audited:,} records for {result.replies:,} replies received "
                "(a worker killed with SIGKILL loses what it had not flushed, at most its last second)"
            )
        if memory:
            per_minute: dict[int, list[int]] = collections.defaultdict(list)
            for at, kib in memory:
                per_minute[int(at // 60)].append(kib)
            print(
                "server memory (all processes), MiB, min-max per minute: "
                + ", ".join(f"{m}: {min(v) / 1024:.0f}-{max(v) / 1024:.0f}" for m, v in sorted(per_minute.items()))
            )
        if lost:
            raise SystemExit(1)
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
        if proxy is not None:
            proxy.close()
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)".encode())


if __name__ == "__main__":
    main()
