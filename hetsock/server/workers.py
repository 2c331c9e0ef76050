"""``--workers N``: N worker processes on one port, kept running by a small supervisor.

Each worker is ``hetsock serve --worker-index I --reuse-port ...``: its own process, its own trio
loop, its own listening socket with SO_REUSEPORT on the shared port, so the kernel spreads new
connections across the workers and one worker's crash leaves the others serving. Workers run in
their own sessions (a terminal's Ctrl-C reaches only the supervisor, which then stops them once,
gracefully) and are sent SIGTERM if the supervisor itself dies (Linux ``PR_SET_PDEATHSIG``).

The supervisor (this module, no trio) starts the workers, and:

* a worker that exits while the supervisor is not stopping is logged and started again, after a
  back-off that doubles from :data:`RESTART_DELAY` up to :data:`MAX_RESTART_DELAY` (reset once a
  worker has lived :data:`HEALTHY_AFTER` seconds);
* SIGTERM or SIGINT: stop restarting, send SIGTERM to every worker (each drains its requests
  within its grace period), wait, SIGKILL any still running after the grace period plus
  :data:`STOP_MARGIN`, and exit 0; a second signal is passed on, which cancels at once;
* SIGHUP is passed on to every worker (each reloads the registry and maintenance windows).

Port 0 with several workers: the supervisor binds a socket with SO_REUSEPORT to learn a free port,
keeps it bound (not listening) so nobody else takes the port, and hands the port to the workers.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from types import FrameType

import attrs

from hetsock.logs import LOGGER_NAME, log_event

logger = logging.getLogger(LOGGER_NAME + ".supervisor")

RESTART_DELAY = 0.5
MAX_RESTART_DELAY = 10.0
HEALTHY_AFTER = 30.0
STOP_MARGIN = 5.0
_POLL = 0.05
_PR_SET_PDEATHSIG = 1


def reserve_port(host: str, port: int) -> tuple[int, socket.socket | None]:
    """The port the workers share; for port 0, a free one held by a bound (not listening) socket."""
    if port != 0:
        return port, None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    holder = socket.socket(family, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind((host, 0))
    return int(holder.getsockname()[1]), holder


def _prepare_child() -> None:
    """In the child before exec: SIGTERM when the supervisor dies (Linux; elsewhere nothing), and
    SIGHUP ignored until the worker's own handler is in place (a reload forwarded to a worker
    still starting would otherwise kill it; it reads the files afresh as it starts anyway)."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@attrs.define
class _Worker:
    index: int
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    delay: float = RESTART_DELAY
    restart_at: float = 0.0


@attrs.define
class Supervisor:
    """Runs ``workers`` processes made by ``command(index)`` until told to stop."""

    command: Callable[[int], Sequence[str]]
    workers: int
    grace_period: float
    _members: list[_Worker] = attrs.field(factory=list)
    _signals: list[int] = attrs.field(factory=list)

    def run(self) -> int:
        """Supervise until SIGTERM/SIGINT; returns the exit status (0 after a clean stop)."""
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
        try:
            self._members = [_Worker(index) for index in range(self.workers)]
            for member in self._members:
                self._start(member)
            while True:
                while self._signals:
                    signum = self._signals.pop(0)
                    if signum == signal.SIGHUP:
                        self._send_all(signal.SIGHUP)
                    else:
                        return self._stop(signum)
                self._check_members()
                time.sleep(_POLL)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signals.append(signum)

    def _start(self, member: _Worker) -> None:
        member.process = subprocess.Popen(
            list(self.command(member.index)), start_new_session=True, preexec_fn=_prepare_child
        )
        member.started = time.monotonic()
        log_event(logger, "worker-started", worker=member.index, pid=member.process.pid)

    def _check_members(self) -> None:
        now = time.monotonic()
        for member in self._members:
            process = member.process
            if process is None:
                if now >= member.restart_at:
                    self._start(member)
                continue
            status = process.poll()
            if status is None:
                continue
            if now - member.started >= HEALTHY_AFTER:
                member.delay = RESTART_DELAY
            member.restart_at = now + member.delay
            member.process = None
            log_event(
                logger,
                "worker-exited",
                level=logging.WARNING,
                worker=member.index,
                pid=process.pid,
                status=status,
                restart_in=round(member.delay, 2),
            )
            member.delay = min(member.delay * 2, MAX_RESTART_DELAY)  # if it dies young again

    def _send_all(self, signum: int) -> None:
        for member in self._members:
            if member.process is not None and member.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    member.process.send_signal(signum)

    def _stop(self, signum: int) -> int:
        log_event(logger, "stopping", signal=signal.Signals(signum).name, workers=self.workers)
        self._send_all(signal.SIGTERM)
        deadline = time.monotonic() + self.grace_period + STOP_MARGIN
        forwarded = False
        while time.monotonic() < deadline:
            if all(m.process is None or m.process.poll() is not None for m in self._members):
                break
            if not forwarded and any(signum != signal.SIGHUP for signum in self._signals):
                # A second SIGTERM/SIGINT: workers cancel at once (a SIGHUP now changes nothing).
                self._signals.clear()
                self._send_all(signal.SIGTERM)
                forwarded = True
            time.sleep(_POLL)
        for member in self._members:
            if member.process is not None and member.process.poll() is None:
                log_event(logger, "worker-killed", level=logging.WARNING, worker=member.index)
                member.process.kill()
                member.process.wait()
        log_event(logger, "stopped")
        return 0


def worker_command(argv: Sequence[str], index: int) -> list[str]:
    """The command line of worker ``index``: this interpreter, ``-m hetsock``, ``argv``."""
    return [sys.executable, "-m", "hetsock", *argv, "--worker-index", str(index), "--reuse-port"]
