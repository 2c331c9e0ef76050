"""The worker supervisor (``hetsock serve --workers N``) and its signals, with stand-in workers.

Each test runs a :class:`~hetsock.server.workers.Supervisor` in its own process (it installs
signal handlers and polls in real time) over small worker scripts that write what happens to them
into a file, so the tests can see what a real worker would have been told.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: A worker that drains for a second after its first SIGTERM, and stops at once on a second.
DRAINING_WORKER = """
import os, signal, sys, time
log = open(sys.argv[1], "a")
terms = 0
def on_signal(signum, frame):
    global terms
    if signum == signal.SIGTERM:
        terms += 1
    log.write(f"{os.getpid()} {signal.Signals(signum).name} {terms}\\n"); log.flush()
    if terms >= 2:
        log.write(f"{os.getpid()} forced\\n"); log.flush()
        os._exit(0)
time.sleep(float(sys.argv[2]))  # starting up: no handlers yet
for signum in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(signum, on_signal)
log.write(f"{os.getpid()} ready\\n"); log.flush()
while terms == 0:
    time.sleep(0.02)
time.sleep(1.0)
log.write(f"{os.getpid()} drained\\n"); log.flush()
"""


def supervise(tmp_path: Path, worker: str, *args: str, workers: int = 2) -> subprocess.Popen[str]:
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(worker))
    runner = tmp_path / "supervise.py"
    runner.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(ROOT)!r})
            from hetsock.logs import configure_logging
            from hetsock.server.workers import Supervisor
            configure_logging()
            command = [sys.executable, {str(script)!r}, *{list(args)!r}]
            raise SystemExit(Supervisor(lambda index: command, {workers}, grace_period=5.0).run())
            """
        )
    )
    return subprocess.Popen([sys.executable, str(runner)], stderr=subprocess.PIPE, text=True)


def wait_for_lines(path: Path, word: str, count: int, timeout: float = 20.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if sum(word in line for line in lines) >= count:
            return lines
        time.sleep(0.02)
    raise AssertionError(f"{count} x {word!r} not seen in {path}: {path.read_text() if path.exists() else ''}")


@pytest.mark.parametrize(
    ("second", "drained", "forced"),
    [
        pytest.param(signal.SIGHUP, 2, 0, id="a-sighup-changes-nothing"),  # a reload (logrotate) while draining
        pytest.param(signal.SIGTERM, 0, 2, id="a-second-sigterm-forces-it"),
    ],
)
def test_a_second_signal_during_the_graceful_stop(
    tmp_path: Path, second: signal.Signals, drained: int, forced: int
) -> None:
    log = tmp_path / "workers.log"
    supervisor = supervise(tmp_path, DRAINING_WORKER, str(log), "0")
    try:
        wait_for_lines(log, "ready", 2)
        supervisor.send_signal(signal.SIGTERM)
        wait_for_lines(log, "SIGTERM 1", 2)
        supervisor.send_signal(second)
        assert supervisor.wait(20) == 0
    finally:
        supervisor.kill()
        supervisor.communicate()
    lines = log.read_text().splitlines()
    assert sum("drained" in line for line in lines) == drained, lines
    assert sum("forced" in line for line in lines) == forced, lines


def test_a_sighup_while_the_workers_start_does_not_kill_them(tmp_path: Path) -> None:
    log = tmp_path / "workers.log"
    supervisor = supervise(tmp_path, DRAINING_WORKER, str(log), "1.5")  # 1.5 s without handlers
    try:
        time.sleep(0.5)
        supervisor.send_signal(signal.SIGHUP)
        wait_for_lines(log, "ready", 2)
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(20) == 0
        _, errors = supervisor.communicate()
    finally:
        supervisor.kill()
    assert "worker-exited" not in errors, errors
    assert sum("drained" in line for line in log.read_text().splitlines()) == 2


def test_a_worker_dying_young_is_restarted_after_half_a_second_then_longer(tmp_path: Path) -> None:
    supervisor = supervise(tmp_path, "raise SystemExit(3)\n", workers=1)
    try:
        deadline = time.monotonic() + 20
        exits: list[str] = []
        assert supervisor.stderr is not None
        while len(exits) < 3 and time.monotonic() < deadline:
            line = supervisor.stderr.readline()
            if "worker-exited" in line:
                exits.append(line)
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(20) == 0
    finally:
        supervisor.kill()
        supervisor.communicate()
    delays = [line.split("restart_in=")[1].split()[0] for line in exits]
    assert delays == ["0.5", "1.0", "2.0"], exits
