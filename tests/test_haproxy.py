"""Scale-out: two hetsock instances sharing PostgreSQL behind HAProxy (TCP mode, PROXY protocol),
one killed mid-run.

Skips with a reason where HAProxy is not installed (a laptop); ``.ci/run`` installs Debian's
``haproxy`` and sets ``HETSOCK_REQUIRE_HAPROXY=1``, which turns the skip into a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pg
import pytest
from process import ROOT, BlockingClient, ServerProcess, write_config
from serving import inquiry, reply_kind

HAPROXY = shutil.which("haproxy") or next(
    (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.path.exists(p)), None
)

if HAPROXY is None:
    if os.environ.get("HETSOCK_REQUIRE_HAPROXY") == "1":
        raise RuntimeError("HETSOCK_REQUIRE_HAPROXY=1 but haproxy is not installed (apt-get install haproxy)")
    pytest.skip(
        "haproxy is not installed (Debian package haproxy); the scale-out test needs it", allow_module_level=True
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def trn(payload: bytes) -> str:
    match = re.search(rb"~TRN\*2\*([^*~]+)\*", payload)
    assert match, "no TRN in the reply"
    return match.group(1).decode()


@pytest.fixture
def cluster(tmp_path: Path, pg_schema: pg.PgSchema) -> Iterator[tuple[int, list[ServerProcess]]]:
    """Two instances sharing one PostgreSQL store, and HAProxy in front; yields the front port and
    the instances."""
    seeded = subprocess.run(
        [sys.executable, "-m", "hetsock", "seed", "--beneficiaries", "2000", "--store", pg_schema.url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr
    config = write_config(tmp_path, dsn=pg_schema.url, extra="[server]\nproxy_protocol = true\nidle_timeout = 5.0\n")
    instances = [ServerProcess("--config", str(config), "--port", "0") for _ in range(2)]
    front = free_port()
    template = (ROOT / "config" / "haproxy.cfg").read_text()
    haproxy_config = (
        template.replace("bind 127.0.0.1:7270", f"bind 127.0.0.1:{front}")
        .replace("127.0.0.1:7271", f"127.0.0.1:{instances[0].port()}")
        .replace("127.0.0.1:7272", f"127.0.0.1:{instances[1].port()}")
    )
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(haproxy_config)
    assert HAPROXY is not None
    haproxy = subprocess.Popen(
        [HAPROXY, "-f", str(cfg), "-db"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    try:
        for _ in range(100):  # wait for the front port
            try:
                socket.create_connection(("127.0.0.1", front), timeout=0.2).close()
                break
            except OSError as error:
                if haproxy.poll() is not None:
                    detail = haproxy.stderr.read() if haproxy.stderr else b""
                    raise AssertionError(f"haproxy exited: {detail!r}") from error
                time.sleep(0.05)
        yield front, instances
    finally:
        haproxy.terminate()
        haproxy.wait(10)
        if haproxy.stderr is not None:
            haproxy.stderr.close()
        for instance in instances:
            instance.kill()


def ask_resiliently(port: int, client: BlockingClient | None, payload: bytes) -> tuple[bytes, BlockingClient, int]:
    """Send ``payload``; on a dropped connection reconnect and resend (an inquiry is safe to repeat).
    Returns the reply, the client to reuse, and how many reconnects it took."""
    reconnects = 0
    for _ in range(5):
        try:
            if client is None:
                client = BlockingClient(port, timeout=5.0)
            return client.ask(payload), client, reconnects
        except (ConnectionError, OSError):
            if client is not None:
                client.close()
            client = None
            reconnects += 1
    raise AssertionError("no reply after 5 attempts")


def test_traffic_carries_on_when_one_instance_dies(cluster: tuple[int, list[ServerProcess]]) -> None:
    front, instances = cluster
    clients: list[BlockingClient | None] = [None] * 8  # eight persistent sockets through the balancer
    answered: list[str] = []
    reconnects = 0
    for number in range(240):
        if number == 80:
            instances[0].process.send_signal(signal.SIGKILL)  # one instance dies mid-run
            instances[0].process.wait()
        slot = number % len(clients)
        trace = f"T{number:05d}"
        reply, client, again = ask_resiliently(front, clients[slot], inquiry(trace_number=trace, control=number + 1))
        clients[slot] = client
        reconnects += again
        assert reply_kind(reply) == "271"
        answered.append(trn(reply))
    for held in clients:
        if held is not None:
            held.close()
    assert answered == [f"T{n:05d}" for n in range(240)]  # every request answered, in order, none lost
    assert reconnects >= 1  # the sockets on the dead instance were re-established through the balancer
    # Both instances served before the kill; the survivor served after it, and saw the clients'
    # address from the PROXY header.
    for instance in instances:
        instance.wait_for(r"event=listening .*store=postgresql://")
    survivor = instances[1]
    assert survivor.stop() == 0
    served = [
        int(m)
        for m in re.findall(
            r"event=connection-closed .*peer=127\.0\.0\.1:\d+ .*requests=(\d+)", "\n".join(survivor.lines)
        )
    ]
    assert sum(served) > 0
