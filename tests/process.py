"""Running ``hetsock serve`` as a real subprocess for end-to-end tests, and a blocking socket client."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from phi import LOG_LINES

from hetsock.wire.framing import Mode, wrap
from hetsock.wire.replies import ReplyFramingError, ReplyReceiver

ROOT = Path(__file__).resolve().parent.parent


def write_config(directory: Path, *, beneficiaries: int = 2000, extra: str = "", dsn: str = "") -> Path:
    """A configuration in ``directory``: its own SQLite store (created on first start), or the
    PostgreSQL store at ``dsn``, a copy of the demo registry and the audit database (beside the
    store); metrics off unless ``extra`` has a ``[metrics]`` section."""
    registry = directory / "submitters.toml"
    registry.write_text((ROOT / "config" / "submitters.toml").read_text())
    config = directory / "hetsock.toml"
    store = f'dsn = "{dsn}"\n' if dsn else ""
    metrics = "" if "[metrics]" in extra else "[metrics]\nenabled = false\n\n"
    config.write_text(
        f'[store]\npath = "{directory / "store.sqlite3"}"\ndemo_beneficiaries = {beneficiaries}\n{store}\n'
        f'[eligibility]\nregistry = "{registry}"\n\n{metrics}{extra}'
    )
    return config


class ServerProcess:
    """``python -m hetsock serve ARGS`` with its log lines collected from stderr."""

    def __init__(self, *args: str, cwd: Path = ROOT) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hetsock", "serve", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                LOG_LINES.append(line)  # for the session's patient-data scan (tests/phi.py)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, pattern: str, *, after: int = 0, timeout: float = 30.0) -> re.Match[str]:
        """The first log line from index ``after`` on matching ``pattern``; fails after ``timeout``."""
        compiled = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines[after:]:
                    match = compiled.search(line)
                    if match:
                        return match
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.process.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no log line matching {pattern!r}; got:\n" + "\n".join(self.lines))
                self._changed.wait(min(remaining, 0.2))

    def port(self) -> int:
        return int(self.wait_for(r"event=(?:listening|supervisor) address=[^ ]*:(\d+)").group(1))

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._reader.join(5)
        if self.process.stderr is not None:
            self.process.stderr.close()


class BlockingClient:
    """A plain-socket client: send requests, read whole replies."""

    def __init__(self, port: int, mode: Mode = Mode.WRAPPED, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.mode = mode
        self.receiver = ReplyReceiver(mode)

    def send(self, payload: bytes) -> None:
        self.sock.sendall(wrap(payload, self.mode))

    def reply(self) -> bytes:
        while True:
            event = self.receiver.next_reply()
            if isinstance(event, bytes):
                return event
            if isinstance(event, ReplyFramingError):
                raise AssertionError(event.detail)
            data = self.sock.recv(65536)
            if not data and not self.receiver.pending:
                raise ConnectionError("the server closed the connection before replying")
            self.receiver.receive_data(data)

    def ask(self, payload: bytes) -> bytes:
        self.send(payload)
        return self.reply()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> BlockingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
