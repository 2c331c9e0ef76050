"""Hostile clients against a real ``hetsock serve`` process: it stays healthy and leaks nothing.

10,000 connect-and-disconnects, connections that send random bytes, connections that send half a
message and vanish (closed, or reset); after each storm the server holds no connection, its open
file descriptors are back to where they were, its memory settles (a second storm does not grow
it), and it still answers. Measured through /proc (Linux).
"""

from __future__ import annotations

import random
import re
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from process import BlockingClient, ServerProcess, write_config
from serving import SPECIMEN, reply_kind

PROC = Path("/proc")
pytestmark = pytest.mark.skipif(not (PROC / "self" / "fd").exists(), reason="needs Linux /proc")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    config = write_config(
        tmp_path, extra="[server]\nmax_connections = 5000\nmax_connections_per_address = 5000\nidle_timeout = 2.0\n"
    )
    process = ServerProcess("--config", str(config), "--port", "0")
    yield process
    process.kill()


def open_fds(pid: int) -> int:
    return len(list((PROC / str(pid) / "fd").iterdir()))


def rss_kib(pid: int) -> int:
    match = re.search(r"VmRSS:\s+(\d+)", (PROC / str(pid) / "status").read_text())
    assert match
    return int(match.group(1))


def settle(pid: int, baseline: int, timeout: float = 15.0) -> int:
    """Wait for the server's descriptors to come back to ``baseline``; the count then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = open_fds(pid)
        if count <= baseline:
            return count
        time.sleep(0.1)
    return open_fds(pid)


def storm(port: int, rng: random.Random) -> None:
    for _ in range(10_000):  # connect and disconnect
        socket.create_connection(("127.0.0.1", port)).close()
    for _ in range(300):  # random bytes
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(rng.randbytes(rng.randint(1, 2000)))
    half = b"\x010000000451\x02" + SPECIMEN[:200]
    for n in range(300):  # half a message, then gone: closed, or reset
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(half if n % 2 else SPECIMEN[:150])
        if n % 3 == 0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()


def test_hostile_clients_leave_the_server_healthy(server: ServerProcess) -> None:
    port = server.port()
    pid = server.process.pid
    with BlockingClient(port) as client:  # warm up: every code path loaded once
        assert reply_kind(client.ask(SPECIMEN)) == "271"
    time.sleep(0.2)
    fds = open_fds(pid)
    rng = random.Random(7)
    storm(port, rng)
    assert settle(pid, fds) <= fds, "connections leaked"
    after_first = rss_kib(pid)
    storm(port, rng)
    assert settle(pid, fds) <= fds, "connections leaked"
    after_second = rss_kib(pid)
    assert after_second - after_first < 4096, f"memory grew by {after_second - after_first} KiB in the second storm"
    with BlockingClient(port) as client:
        assert reply_kind(client.ask(SPECIMEN)) == "271"
    assert server.process.poll() is None
    assert not any("reason=error" in line or "level=error" in line for line in server.lines), server.lines[-5:]
