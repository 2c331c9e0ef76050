"""Operations end to end: real ``hetsock serve`` processes, real signals, the audit file they share."""

from __future__ import annotations

import signal
import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pg
from process import BlockingClient, ServerProcess, write_config
from serving import SPECIMEN, error_code, inquiry, reply_kind

from hetsock.audit import open_audit_database
from hetsock.audit.sqlite import SqliteAuditDatabase
from hetsock.cli import main
from hetsock.cli_seed import seed_postgres
from hetsock.config import Config
from hetsock.eligibility import fixtures as fx


def free_port_pair() -> int:
    """A port P with P + 1 free as well (for two workers' metrics endpoints)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise AssertionError("no two free ports in a row")


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text: str = response.read().decode()
    return text


def load_until_sigterm(
    server: ServerProcess, port: int, seconds: float = 1.5, before_sigterm: Callable[[], None] = lambda: None
) -> list[int]:
    """Eight clients sending 271 inquiries (a new connection every five, so every worker gets
    some) for ``seconds``, then ``before_sigterm()``, then SIGTERM while they still send; the
    replies each one received."""
    received = [0] * 8
    stop_sending = threading.Event()

    def client(index: int) -> None:
        while not stop_sending.is_set():
            try:
                with BlockingClient(port, timeout=15) as connection:
                    for n in range(5):
                        payload = inquiry(trace_number=f"C{index}N{received[index]}", control=n + 1)
                        assert reply_kind(connection.ask(payload)) == "271"
                        received[index] += 1
            except (ConnectionError, OSError):  # the server is stopping: refused, reset or closed
                if stop_sending.is_set() or server.process.poll() is not None:
                    return
                time.sleep(0.01)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        before_sigterm()
        server.signal(signal.SIGTERM)  # while the clients are still sending
        assert server.process.wait(30) == 0
    finally:
        stop_sending.set()
        for thread in threads:
            thread.join(15)
    return received


def test_sigterm_under_load_audits_every_reply_sent(tmp_path: Path) -> None:
    """Two workers under load from eight clients; SIGTERM; every reply a client received is in
    the one audit file, and nothing else is."""
    metrics = free_port_pair()
    config = write_config(tmp_path, extra=f"[metrics]\nport = {metrics}\n")
    server = ServerProcess("--config", str(config), "--port", "0", "--workers", "2")
    try:
        port = server.port()
        for worker in (0, 1):
            server.wait_for(rf"event=metrics-listening worker={worker} address=127\.0\.0\.1:{metrics + worker}")
        scraped: dict[int, str] = {}
        received = load_until_sigterm(
            server, port, before_sigterm=lambda: scraped.update({w: scrape(metrics + w) for w in (0, 1)})
        )
        for worker in (0, 1):
            server.wait_for(rf"event=audit-closed worker={worker} written=\d+ failures=0 dropped=0 lost=0")
    finally:
        server.kill()
    with SqliteAuditDatabase.open(tmp_path / "audit.sqlite3", create=False) as database:
        records = list(database.records())
    assert sum(received) > 100
    assert len(records) == sum(received)
    assert {r.worker for r in records} == {0, 1}
    assert all(r.kind == "271" and r.delivered for r in records)
    assert set(scraped) == {0, 1}
    for worker, text in scraped.items():
        assert f'hetsock_requests_total{{code="",kind="271",worker="{worker}"}}' in text


def test_sigterm_under_load_on_postgres_audits_every_reply_sent(tmp_path: Path, pg_schema: pg.PgSchema) -> None:
    """The same on PostgreSQL: the store and the audit trail in one schema, two workers writing
    it; every reply a client received is audited once."""
    seed_postgres(pg_schema.dsn, 2000, schema=pg_schema.name)
    config = write_config(tmp_path, dsn=pg_schema.url, extra=f'[audit]\ndsn = "{pg_schema.url}"\n')
    server = ServerProcess("--config", str(config), "--port", "0", "--workers", "2")
    try:
        port = server.port()
        for worker in (0, 1):
            server.wait_for(
                rf'event=audit-database worker={worker} database="postgresql://[^"]+ \(schema {pg_schema.name}\)"'
            )
            server.wait_for(rf"event=listening .*worker={worker}")
        received = load_until_sigterm(server, port)
        for worker in (0, 1):
            server.wait_for(rf"event=audit-closed worker={worker} written=\d+ failures=0 dropped=0 lost=0")
    finally:
        server.kill()
    assert not (tmp_path / "audit.sqlite3").exists()
    database = open_audit_database(Config.from_toml(config), create=False)
    try:
        records = list(database.records())
    finally:
        database.close()
    assert sum(received) > 100
    assert len(records) == sum(received)
    assert len({(r.origin, r.sequence) for r in records}) == len(records)
    assert {r.worker for r in records} == {0, 1}
    assert all(r.kind == "271" and r.delivered for r in records)
    traces = sorted(r.traces[0] for r in records)
    assert traces == sorted(f"C{i}N{n}" for i, count in enumerate(received) for n in range(count))


def test_suspensions_from_the_command_line_reach_the_server_and_outlive_sighup_and_restart(tmp_path: Path) -> None:
    config = write_config(tmp_path, extra="[enforcement]\npoll_interval = 0.1\n")
    command = ["--config", str(config)]

    def answer_until(port: int, wanted: str) -> None:
        deadline = time.monotonic() + 10
        with BlockingClient(port) as client:
            while True:
                payload = client.ask(SPECIMEN)
                got = error_code(payload) or reply_kind(payload)
                if got == wanted:
                    return
                assert time.monotonic() < deadline, f"still {got}, waiting for {wanted}"
                time.sleep(0.05)

    server = ServerProcess(*command, "--port", "0")
    try:
        port = server.port()
        answer_until(port, "271")
        assert main(["submitters", "suspend", fx.SUBMITTER, "--hours", "1", *command]) == 0
        answer_until(port, "SBY00502")  # picked up by the poll
        server.wait_for(rf"event=suspension-applied worker=0 submitter={fx.SUBMITTER} npi=- reason=manual")
        mark = len(server.lines)
        server.signal(signal.SIGHUP)  # the registry file is reread; the suspension stays on top
        server.wait_for(r"event=reloaded .*ok=True", after=mark)
        with BlockingClient(port) as client:
            assert error_code(client.ask(SPECIMEN)) == "SBY00502"
        assert server.stop() == 0
    finally:
        server.kill()
    again = ServerProcess(*command, "--port", "0")
    try:
        port = again.port()
        with BlockingClient(port) as client:
            assert error_code(client.ask(SPECIMEN)) == "SBY00502"  # the restart keeps it
        assert main(["submitters", "reinstate", fx.SUBMITTER, *command]) == 0
        answer_until(port, "271")
        assert again.stop() == 0
    finally:
        again.kill()
