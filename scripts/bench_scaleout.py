#!/usr/bin/env python3
"""Scale-out figures in one run: SQLite beside PostgreSQL, and one instance beside two behind HAProxy.

1. ``respond()`` median microseconds for specimen.270 over a SQLite store and over a PostgreSQL
   store of the same population (in this process);
2. end-to-end round trips (closed loop, the same client as ``scripts/bench_server.py``) against
   ``hetsock serve`` (one worker) on each store;
3. HAProxy (TCP mode, ``config/haproxy.cfg``'s settings) in front of one instance, then in front of
   two instances, both on the PostgreSQL store: round trips through the balancer.

The client runs here pinned to CPU 0. On a 2-core machine the server instances, HAProxy and
PostgreSQL share the other core (and the client's): two instances cannot show the gain they
would on two hosts, and the table is honest about that. Needs PostgreSQL (127.0.0.1:5432 or
``HETSOCK_TEST_POSTGRES``) and ``haproxy``. Run by hand: ``python scripts/bench_scaleout.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_server
import psycopg
from timing import median_us

from hetsock.eligibility.store import postgres_store
from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.loadgen import LoadResult, closed_loop
from hetsock.pipeline import Context, ReplyKind, Services, respond
from hetsock.registry import Registry
from hetsock.x12.writer import ControlNumbers

ROOT = Path(__file__).resolve().parent.parent
SPECIMEN = (ROOT / "tests" / "data" / "hets" / "specimen.270").read_bytes()
ADMIN_DSN = os.environ.get("HETSOCK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(work: Path, name: str, store: str, *, proxy_protocol: bool = False) -> Path:
    registry = work / "submitters.toml"
    if not registry.exists():
        registry.write_text(
            (ROOT / "config" / "submitters.toml")
            .read_text()
            .replace("connection_limit = 64", "connection_limit = 5000")
        )
    location = f'dsn = "{store}"' if store.startswith("postgresql://") else f'path = "{store}"'
    config = work / f"{name}.toml"
    config.write_text(
        f'[store]\n{location}\n[eligibility]\nregistry = "{registry}"\n[metrics]\nenabled = false\n'
        f'[audit]\npath = "{work / (name + "-audit.sqlite3")}"\nsecret_file = "{work / "audit.key"}"\n'
        f"[server]\nproxy_protocol = {'true' if proxy_protocol else 'false'}\n"
    )
    return config


def _serve(config: Path, work: Path, name: str, cpu: int | None) -> tuple[subprocess.Popen[bytes], int]:
    log = work / f"{name}.log"
    command = [sys.executable, "-m", "hetsock", "serve", "--config", str(config), "--port", "0"]
    if cpu is None:
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    else:
        process = bench_server._start(command, cpu, log)
    return process, int(bench_server._wait_for(r"event=listening address=[^ \n]*:(\d+)", log).group(1))


def _stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(30)


def _haproxy(work: Path, backends: list[int]) -> tuple[subprocess.Popen[bytes], int]:
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    front = _free_port()
    lines = (ROOT / "config" / "haproxy.cfg").read_text().splitlines()
    kept = [line for line in lines if not line.strip().startswith("server hetsock-")]
    text = "\n".join(kept).replace("bind 127.0.0.1:7270", f"bind 127.0.0.1:{front}")
    text += "".join(f"\n    server hetsock-{n} 127.0.0.1:{port}" for n, port in enumerate(backends)) + "\n"
    config = work / f"haproxy-{len(backends)}.cfg"
    config.write_text(text)
    process = subprocess.Popen(
        [haproxy, "-f", str(config), "-db"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", front), timeout=0.2).close()
            return process, front
        except OSError:
            time.sleep(0.05)
    _stop(process)
    raise SystemExit("haproxy did not start")


def _row(label: str, result: LoadResult) -> str:
    errors = dict(result.errors) or "-"
    p50, p99 = result.percentile_ms(0.5), result.percentile_ms(0.99)
    return f"{label:44} {result.rate:>9,.0f} {p50:>7.2f} {p99:>7.2f}  {errors}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--beneficiaries", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    bench_server._pin(0)
    database = f"hetsock_bench_{os.getpid()}_{secrets.token_hex(2)}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {database} TEMPLATE template0".encode())
    params = psycopg.conninfo.conninfo_to_dict(ADMIN_DSN)
    dsn = (
        f"postgresql://{params.get('user') or 'postgres'}@{params.get('host') or '127.0.0.1'}:"
        f"{params.get('port') or 5432}/{database}"
    )
    processes: list[subprocess.Popen[bytes]] = []
    try:
        work = Path(tempfile.mkdtemp(prefix="hetsock-scaleout-"))
        sqlite_path = work / "store.sqlite3"
        for target in (str(sqlite_path), dsn):
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "hetsock",
                    "seed",
                    "--beneficiaries",
                    str(args.beneficiaries),
                    "--store",
                    target,
                ],
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        registry = Registry.from_toml(ROOT / "config" / "submitters.toml")
        now = dt.datetime.now()
        print(
            f"{args.beneficiaries:,} beneficiaries in each store; "
            f"{args.connections} connections, {args.seconds:g} s a case\n"
        )
        print("respond() median us, specimen.270, in process:")
        sqlite_store = SqliteStore.open(sqlite_path, read_only=True)
        pg = postgres_store().open(dsn, read_only=True)
        for label, store in (("SQLite", sqlite_store), ("PostgreSQL", pg)):
            context = Context(Services(registry, store), now, ControlNumbers(1), "127.0.0.1")
            assert respond(SPECIMEN, context).kind is ReplyKind.ELIGIBILITY
            print(f"  {label:12} {median_us(functools.partial(respond, SPECIMEN, context), 20, 100):8.1f}")
        sqlite_store.close()
        pg.close()

        def is_271(payload: bytes) -> str | None:
            return None if payload.find(b"ST*271*", 0, 400) >= 0 else "not-a-271"

        def measure(port: int) -> LoadResult:
            return closed_loop(port, [SPECIMEN], connections=args.connections, seconds=args.seconds, check=is_271)

        print(f"\n{'end to end, closed loop':44} {'rt/s':>9} {'p50 ms':>7} {'p99 ms':>7}  errors")
        for name, target in (("SQLite", str(sqlite_path)), ("PostgreSQL", dsn)):
            server, port = _serve(_config(work, name.lower(), target), work, name, cpu=1)
            try:
                print(_row(f"hetsock, 1 worker, {name} store", measure(port)))
            finally:
                _stop(server)
        behind = _config(work, "behind", dsn, proxy_protocol=True)
        instances = [_serve(behind, work, f"instance-{n}", cpu=None) for n in range(2)]
        processes += [process for process, _ in instances]
        for count in (1, 2):
            balancer, front = _haproxy(work, [port for _, port in instances[:count]])
            try:
                print(_row(f"HAProxy + {count} instance{'s' if count > 1 else ''} (PostgreSQL store)", measure(front)))
            finally:
                _stop(balancer)
        print(
            "\nOn 2 cores the client, HAProxy, PostgreSQL and the instances share the CPUs: a second instance\n"
            "adds contention here, not capacity; on separate hosts each instance brings its own cores."
        )
    finally:
        _stop(*processes)
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)".encode())


if __name__ == "__main__":
    main()
