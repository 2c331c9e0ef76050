"""``hetsock serve`` end to end: a real process, real TCP, real signals, real worker processes."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from process import BlockingClient, ServerProcess, write_config
from serving import SPECIMEN, SPECIMEN_WRAPPED, error_code, reply_kind

from hetsock.wire.framing import Mode


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def server(config: Path) -> Iterator[ServerProcess]:
    process = ServerProcess("--config", str(config), "--port", "0")
    yield process
    process.kill()


def test_first_start_creates_the_store_and_answers_both_framings(server: ServerProcess, config: Path) -> None:
    port = server.port()
    server.wait_for(r"event=creating-demo-store .*beneficiaries=2000")
    listening = server.wait_for(r"event=listening .*framing=hets-wrapper,bare-x12 tls=off store=sqlite:")
    assert listening
    assert (config.parent / "store.sqlite3").exists()
    with BlockingClient(port) as client:  # the wrapped specimen file, as is
        client.sock.sendall(SPECIMEN_WRAPPED)
        first = client.reply()
        second = client.ask(SPECIMEN)  # the same socket again
    with BlockingClient(port, Mode.BARE) as bare:
        third = bare.ask(SPECIMEN)
    for payload in (first, second, third):
        assert reply_kind(payload) == "271"
        assert b"NM1*IL*1*DOE*JANE****MI*1EG4TE5MK73~" in payload
        assert b"EB*1**30^" in payload
    assert server.stop() == 0
    server.wait_for(r"event=stopped worker=0 connections_served=2")


def test_idle_socket_is_closed_by_the_server(tmp_path: Path) -> None:
    config = write_config(tmp_path, extra="[server]\nidle_timeout = 0.5\n")
    server = ServerProcess("--config", str(config), "--port", "0")
    try:
        with BlockingClient(server.port()) as client:
            assert reply_kind(client.ask(SPECIMEN)) == "271"
            start = time.monotonic()
            assert client.sock.recv(10) == b""  # closed without a message
            assert 0.4 < time.monotonic() - start < 3.0
        server.wait_for(r"event=connection-closed .*reason=idle requests=1")
    finally:
        server.kill()


def test_sighup_reloads_the_registry_without_dropping_connections(server: ServerProcess, config: Path) -> None:
    port = server.port()
    registry = config.parent / "submitters.toml"
    with BlockingClient(port) as client:
        assert reply_kind(client.ask(SPECIMEN)) == "271"
        registry.write_text(registry.read_text().replace('status = "active"', 'status = "suspended"'))
        mark = len(server.lines)
        server.signal(signal.SIGHUP)
        server.wait_for(r"event=reloaded .*ok=True", after=mark)
        assert error_code(client.ask(SPECIMEN)) == "SBY00502"  # same socket, new registry
    assert server.stop() == 0


def test_two_workers_share_one_port_and_a_killed_worker_is_restarted(config: Path) -> None:
    server = ServerProcess("--config", str(config), "--port", "0", "--workers", "2")
    try:
        port = server.port()
        for worker in (0, 1):
            server.wait_for(rf"event=listening address=127\.0\.0\.1:{port} worker={worker} ")
        # Each worker numbers its replies in its own block (ISA13's second digit is the worker index).
        seen: set[str] = set()
        for _ in range(60):
            with BlockingClient(port) as client:
                payload = client.ask(SPECIMEN)
            assert reply_kind(payload) == "271"
            seen.add(payload.decode("latin-1").split("*")[13][1])
            if seen == {"0", "1"}:
                break
        assert seen == {"0", "1"}, "both workers answer"
        victim = int(server.wait_for(r"event=worker-started worker=1 pid=(\d+)").group(1))
        mark = len(server.lines)
        os.kill(victim, signal.SIGKILL)
        server.wait_for(r"event=worker-exited worker=1 .*status=-9", after=mark)
        restarted = int(server.wait_for(r"event=worker-started worker=1 pid=(\d+)", after=mark).group(1))
        assert restarted != victim
        server.wait_for(rf"event=listening address=127\.0\.0\.1:{port} worker=1 ", after=mark)
        for _ in range(10):  # the port keeps answering throughout
            with BlockingClient(port) as client:
                assert reply_kind(client.ask(SPECIMEN)) == "271"
        assert server.stop() == 0
        server.wait_for(r"event=stopped$")
        with pytest.raises(ProcessLookupError):
            os.kill(restarted, 0)
    finally:
        server.kill()


def test_bad_configuration_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[server]\nidle_timeout = -1\n")
    server = ServerProcess("--config", str(broken))
    try:
        assert server.process.wait(30) == 2
        server.wait_for(r"idle_timeout must be a positive \(finite\) number")
    finally:
        server.kill()


def test_a_port_already_taken_exits_2(config: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ServerProcess("--config", str(config), "--port", str(port))
        try:
            assert server.process.wait(60) == 2
            server.wait_for(rf"cannot listen on 127.0.0.1:{port}: Address already in use")
            assert not any("Traceback" in line for line in server.lines)
        finally:
            server.kill()
