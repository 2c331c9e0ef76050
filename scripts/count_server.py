#!/usr/bin/env python3
"""Count the instructions the server spends on one request, every thread included, with callgrind.

``bench_server.py`` measures round trips a second, which move by a fifth from run to run with
the machine; this counts what ``hetsock serve`` itself executes (user space: the interpreter, trio,
the store, the C path, the audit writer thread), which does not move with the load. It starts one
worker under ``valgrind --tool=callgrind``, warms it with ``--warmup`` requests from the closed-loop
client (``hetsock.loadgen``, outside valgrind), waits for the audit writer to catch up, zeroes the
counters, sends ``--requests`` specimen.270 requests over ``--connections`` connections, waits
again so the audit writer has written their records, and dumps. An idle stretch of the same length
is counted apart and taken off, so the figure is per request. ``--ceiling`` counts the bare trio
server of ``bench_server.py`` the same way (frames and answers a fixed reply): the transport's
share. Kernel time (syscalls) is not counted; ``--syscalls`` adds an strace count per request.

``python scripts/count_server.py [--store PATH] [--no-audit] [--ceiling] [--syscalls]``
(a few minutes under valgrind; without ``--store`` it seeds 100,000 beneficiaries first).
Needs valgrind (and strace for ``--syscalls``; Debian packages).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from bench_server import SPECIMEN, _wait_for, write_config  # noqa: E402

#: Seconds the server is left alone before zeroing and before dumping (the audit writer's
#: one-second flushes run several times meanwhile, even at valgrind's pace).
SETTLE = 6.0


def _control(pid: int, *flags: str) -> None:
    subprocess.run(["callgrind_control", *flags, str(pid)], check=True, capture_output=True)


def _dumped_total(out: Path, pid: int, keep: Path | None = None) -> int:
    """Dump the counters and return the newest dump's instruction total (copied to ``keep``)."""
    before = set(out.parent.glob(out.name + "*"))
    _control(pid, "-d")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        fresh = sorted(set(out.parent.glob(out.name + "*")) - before, key=lambda p: p.stat().st_mtime)
        if fresh:
            text = fresh[-1].read_text(errors="replace")
            match = re.search(r"^(?:summary|totals): (\d+)", text, re.MULTILINE)
            if match:
                if keep is not None:
                    shutil.copyfile(fresh[-1], keep)
                return int(match.group(1))
        time.sleep(0.2)
    raise SystemExit(f"no callgrind dump appeared beside {out}")


def _start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log.open("wb"), env={**os.environ, "PYTHONHASHSEED": "0"}
    )


def _port(port_file: Path | None, log: Path) -> int:
    """The port a server just started listens on: from its port file (the echo server) or log."""
    if port_file is None:
        return int(_wait_for(r"event=listening address=[^ ]*:(\d+)", log, timeout=600).group(1))
    while not port_file.exists() or not port_file.read_text():
        time.sleep(0.2)
    return int(port_file.read_text())


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _syscalls(pid: int, drive: object) -> int:
    """Syscalls the process's threads make while ``drive()`` runs."""
    log = Path(tempfile.mktemp(prefix="count-server-strace-"))
    tracer = subprocess.Popen(["strace", "-c", "-f", "-p", str(pid), "-o", str(log)], stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    drive()  # type: ignore[operator]
    time.sleep(SETTLE)
    tracer.terminate()
    tracer.wait()
    text = log.read_text()
    log.unlink()
    match = re.search(r"^[-\s]+\n\s*[\d.]+\s+[\d.]+\s+\d*\s+(\d+)\s+\d*\s*total", text, re.MULTILINE)
    if match is None:
        raise SystemExit(f"no total in strace's summary:\n{text}")
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, help="an existing SQLite store (default: seed 100,000)")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--no-audit", action="store_true", help="hetsock with [audit] enabled = false")
    parser.add_argument("--ceiling", action="store_true", help="count the bare trio echo server instead")
    parser.add_argument("--syscalls", action="store_true", help="also count syscalls per request (strace)")
    parser.add_argument("--keep", type=Path, help="copy the counted dump here (for callgrind_annotate)")
    args = parser.parse_args()
    for tool in ("valgrind", "callgrind_control") + (("strace",) if args.syscalls else ()):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (Debian: apt-get install valgrind strace)")

    from hetsock.loadgen import run

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store_path = args.store
        if store_path is None and not args.ceiling:
            from hetsock.cli_seed import seed_store

            store_path = work / "store.sqlite3"
            seed_store(store_path, 100_000)
        out = work / "callgrind.out"
        log = work / "server.log"
        valgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p"]
        if args.ceiling:
            reply = (ROOT / "tests" / "golden").glob("*.271")  # any 271 of the usual size will do
            reply_file = work / "reply"
            reply_file.write_bytes(next(iter(sorted(reply))).read_bytes())
            port_file = work / "port"
            command = [sys.executable, str(ROOT / "scripts" / "bench_server.py"), "--echo-server"]
            command += [str(port_file), str(reply_file)]
        else:
            assert store_path is not None
            config = write_config(work, store_path, audit=not args.no_audit)
            command = [sys.executable, "-m", "hetsock", "serve", "--config", str(config), "--port", "0"]
        server = _start(valgrind + command, log)
        try:
            port = _port(port_file if args.ceiling else None, log)

            def drive(count: int) -> int:
                result = run(port, [SPECIMEN], connections=args.connections, count=count, drain_timeout=120)
                if result.errors or result.mismatches or result.replies != count:
                    raise SystemExit(f"the run went wrong: {result.replies} replies, {dict(result.errors)}")
                return result.replies

            drive(args.warmup)
            time.sleep(SETTLE)
            _control(server.pid, "-z")
            time.sleep(SETTLE)
            idle = _dumped_total(out, server.pid)
            _control(server.pid, "-z")
            started = time.monotonic()
            drive(args.requests)
            time.sleep(SETTLE)
            elapsed = time.monotonic() - started
            busy = _dumped_total(out, server.pid, args.keep)
            idle_share = idle * elapsed / SETTLE
            per = (busy - idle_share) / args.requests
            what = "ceiling (bare trio echo)" if args.ceiling else "hetsock" + (" --no-audit" if args.no_audit else "")
            print(
                f"{what}: {per:,.0f} instructions a request ({args.requests} requests over "
                f"{args.connections} connections; idle {idle:,} in {SETTLE:g} s taken off)"
            )
        finally:
            _stop(server)
        if args.syscalls:  # a second server, without valgrind (whose own syscalls strace would count)
            if args.ceiling:
                port_file.unlink()
            server = _start(command, log)
            try:
                port = _port(port_file if args.ceiling else None, log)
                drive(args.warmup)
                calls = _syscalls(server.pid, lambda: drive(args.requests))
                print(f"syscalls: {calls / args.requests:.2f} a request (strace -c, every thread, no valgrind)")
            finally:
                _stop(server)


if __name__ == "__main__":
    main()
