"""The audit trail in a running worker: a record for every reply, off the request path, batched,
retried when the database fails, bounded when it stays down, flushed at shutdown, pruned."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import socket
import struct
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import pytest
import trio
from audits import AuditBackend
from ops import Client, audit_records, ops_config, running_worker, traffic
from serving import REGISTRY, error_code, inquiry, make_store, reply_kind

from hetsock.audit.database import AuditDatabase, AuditDatabaseError, Usage
from hetsock.audit.record import AuditRecord
from hetsock.audit.sqlite import SqliteAuditDatabase
from hetsock.audit.trail import AuditTrail
from hetsock.config import AuditConfig
from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.pipeline import Context, Reply, ReplyKind, Services, respond
from hetsock.server.listener import Server, serve
from hetsock.server.observer import ConnectionInfo, Exchange
from hetsock.wire.framing import Mode, wrap


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    store = make_store(tmp_path_factory.mktemp("store") / "demo.sqlite3")
    yield store
    store.close()


def services(store: SqliteStore) -> Services:
    return Services(REGISTRY, store)


async def test_every_reply_gets_a_record(store: SqliteStore, tmp_path: Path, audit_backend: AuditBackend) -> None:
    config = ops_config(tmp_path, audit=audit_backend.settings())
    mix = traffic()
    async with running_worker(config, services(store)) as worker:
        client = await Client.connect(worker.server.port)
        for payload, kind, _ in mix.values():
            answer = await client.ask(payload)
            assert (reply_kind(answer) in ("271", "999", "TA1")) == (kind != "proprietary")
        await client.close()
        # A framing error: the server's own SBY00505, then it closes.
        broken = await Client.connect(worker.server.port)
        await broken.reader.send(b"\x01NOT A LENGTH", framed=True)
        assert error_code(await broken.reader.reply()) == "SBY00505"
        await broken.close()
        # A client that sends and closes at once, without reading its reply.
        gone = await trio.open_tcp_stream("127.0.0.1", worker.server.port)
        await gone.send_all(wrap(inquiry(trace_number="GONE"), Mode.WRAPPED))
        await gone.aclose()
        await trio.sleep(0.2)
    records = audit_records(config)
    expected = [(kind, codes) for _, kind, codes in mix.values()] + [("proprietary", ("SBY00505",)), ("271", ())]
    assert [(r.kind, r.codes) for r in records] == expected
    assert records[-1].traces == ("GONE",)
    assert {r.worker for r in records} == {0}
    assert {r.peer_host for r in records} == {"127.0.0.1"}
    assert len({r.connection for r in records}) == 3
    assert all(r.replied >= r.received and r.latency >= 0 for r in records)
    assert worker.operations.trail is not None
    assert worker.operations.trail.written == len(expected)
    assert len({r.origin for r in records}) == 1  # this writer's
    assert [r.sequence for r in records] == list(range(1, len(expected) + 1))


async def test_a_refusal_at_accept_is_audited(store: SqliteStore, tmp_path: Path) -> None:
    config = ops_config(tmp_path, max_connections=1)
    async with running_worker(config, services(store)) as worker:
        held = await Client.connect(worker.server.port)
        assert reply_kind(await held.ask(inquiry())) == "271"
        refused = await Client.connect(worker.server.port)
        assert error_code(await refused.ask(inquiry(control=77))) == "SBY00509"
        await refused.close()
        await held.close()
    records = audit_records(config)
    assert [(r.kind, r.codes, r.interchange_control) for r in records] == [
        ("271", (), "000000041"),
        ("proprietary", ("SBY00509",), "000000077"),
    ]


async def test_a_reply_the_client_never_took_is_audited_as_undelivered(store: SqliteStore, tmp_path: Path) -> None:
    """The client resets the connection while its request is being answered: the write fails,
    and the record says the reply was not delivered."""
    arrived = trio.Event()

    async def slow(payload: bytes, context: Context) -> Reply:
        arrived.set()
        await trio.sleep(0.3)
        return respond(payload, context)

    config = ops_config(tmp_path)
    async with running_worker(config, services(store), responder=slow) as worker:
        sock = socket.create_connection(("127.0.0.1", worker.server.port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = reset
        sock.sendall(wrap(inquiry(trace_number="RESET"), Mode.WRAPPED))
        await arrived.wait()
        sock.close()
        await trio.sleep(0.5)
    [record] = audit_records(config)
    assert (record.kind, record.traces, record.delivered) == ("271", ("RESET",), False)
    assert worker.requests.undelivered == 1


class BlockingDatabase(SqliteAuditDatabase):
    """Writes wait for :attr:`release` (a database that hangs)."""

    release = threading.Event()

    def write(self, records: Sequence[AuditRecord]) -> int:
        self.release.wait(10)
        return super().write(records)


async def test_a_stuck_database_never_stalls_replies(store: SqliteStore, tmp_path: Path) -> None:
    config = ops_config(tmp_path)
    database = BlockingDatabase.open(tmp_path / "audit.sqlite3")
    BlockingDatabase.release.clear()
    trail = AuditTrail(database, b"k" * 32, config.audit)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(trail.run)
            server: Server = await nursery.start(
                functools.partial(serve, config, services(store), port=0, observers=[trail])
            )
            client = await Client.connect(server.port)
            start = trio.current_time()
            for n in range(50):
                assert reply_kind(await client.ask(inquiry(trace_number=f"N{n}"))) == "271"
            assert trio.current_time() - start < 2.0  # answered while the writer is stuck
            await trio.sleep(0.2)
            assert trail.backlog == 50
            assert trail.written == 0
            await client.close()
            BlockingDatabase.release.set()
            server.shutdown()
            await wait_for(lambda: trail.written == 50)
            trail.close()
    finally:
        BlockingDatabase.release.set()
        database.close()


def exchange(n: int = 0) -> Exchange:
    now = dt.datetime(2026, 11, 22, 9, 0, 0)
    reply = Reply(ReplyKind.ELIGIBILITY, b"", submitter_id="DEMO0001", npi="1234567893", traces=(f"T{n}",))
    return Exchange(ConnectionInfo(1, "127.0.0.1", 40000, 0, now), reply, now, now, 0.001)


class FlakyDatabase(SqliteAuditDatabase):
    """Fails the first :attr:`failures` writes, like a database locked past its busy timeout."""

    failures = 0

    def write(self, records: Sequence[AuditRecord]) -> int:
        if self.failures:
            self.failures -= 1
            raise AuditDatabaseError("audit.sqlite3: database is locked (SQLITE_BUSY)")
        return super().write(records)


async def wait_for(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` (the writer works in threads: there is no event to wait on)."""
    with trio.fail_after(5):
        while not condition():  # noqa: ASYNC110
            await trio.sleep(0.01)


async def test_a_failing_database_is_counted_logged_and_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = FlakyDatabase.open(tmp_path / "audit.sqlite3")
    database.failures = 3
    trail = AuditTrail(database, b"k" * 32, AuditConfig(flush_interval=0.01))
    with caplog.at_level(logging.INFO, logger="hetsock"):
        async with trio.open_nursery() as nursery:
            await nursery.start(trail.run)
            for n in range(10):
                trail.request_answered(exchange(n))
            await wait_for(lambda: trail.written == 10)
            assert trail.failures == 3
            trail.close()
    events = [r.getMessage() for r in caplog.records]
    assert events.count("audit-write-failed") == 1  # once per streak, not once per attempt
    assert "audit-recovered" in events
    assert [r.traces for r in SqliteAuditDatabase.open(tmp_path / "audit.sqlite3").records()] == [
        (f"T{n}",) for n in range(10)
    ]
    database.close()


class CommitThenFail:
    """A database whose first write commits, then reports a failure: the connection dropped
    after the commit reached the server and before its acknowledgement came back."""

    def __init__(self, inner: AuditDatabase) -> None:
        self.inner = inner
        self.failures = 1

    def write(self, records: Sequence[AuditRecord]) -> int:
        stored = self.inner.write(records)
        if self.failures:
            self.failures -= 1
            raise AuditDatabaseError("server closed the connection unexpectedly")
        return stored

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_batch_retried_after_an_unacknowledged_commit_is_stored_once(
    audit_backend: AuditBackend, caplog: pytest.LogCaptureFixture
) -> None:
    database = audit_backend.open()
    trail = AuditTrail(cast(AuditDatabase, CommitThenFail(database)), b"k" * 32, AuditConfig(flush_interval=0.01))
    try:
        with caplog.at_level(logging.INFO, logger="hetsock"):
            async with trio.open_nursery() as nursery:
                await nursery.start(trail.run)
                for n in range(10):
                    trail.request_answered(exchange(n))
                await wait_for(lambda: trail.written == 10)
                trail.close()
        assert trail.failures == 1
        assert [r.traces for r in database.records()] == [(f"T{n}",) for n in range(10)]
        assert database.npi_usage(["DEMO0001"], {"DEMO0001": 0.0}) == {"DEMO0001": Usage(10, 10)}
        [skipped] = [r for r in caplog.records if r.getMessage() == "audit-already-stored"]
        assert skipped.hetsock_fields["records"] == 10  # type: ignore[attr-defined]
    finally:
        database.close()


async def test_a_full_backlog_drops_counts_and_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    database = FlakyDatabase.open(tmp_path / "audit.sqlite3")
    database.failures = 10**6
    trail = AuditTrail(database, b"k" * 32, AuditConfig(flush_interval=0.01, max_backlog=3))
    with caplog.at_level(logging.INFO, logger="hetsock"):
        async with trio.open_nursery() as nursery:
            await nursery.start(trail.run)
            for n in range(5):
                trail.request_answered(exchange(n))
            assert (trail.backlog, trail.dropped) == (3, 2)
            await trio.sleep(0.05)
            for n in range(5, 7):  # still full while the database is down
                trail.request_answered(exchange(n))
            assert (trail.backlog, trail.dropped) == (3, 4)
            database.failures = 0
            await wait_for(lambda: trail.written == 3)
            trail.request_answered(exchange(7))  # room again
            await wait_for(lambda: trail.written == 4)
            trail.close()
    assert [r.getMessage() for r in caplog.records].count("audit-dropped") == 1  # rate-limited
    with SqliteAuditDatabase.open(tmp_path / "audit.sqlite3") as reread:
        assert [r.traces[0] for r in reread.records()] == ["T0", "T1", "T2", "T7"]
    database.close()


async def test_shutdown_flushes_and_counts_what_it_cannot_write(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = SqliteAuditDatabase.open(tmp_path / "good.sqlite3")
    trail = AuditTrail(good, b"k" * 32, AuditConfig(flush_interval=3600))  # only the final flush writes
    async with trio.open_nursery() as nursery:
        await nursery.start(trail.run)
        for n in range(7):
            trail.request_answered(exchange(n))
        trail.close()
    assert (trail.written, trail.lost) == (7, 0)
    assert good.count() == 7
    good.close()

    bad = FlakyDatabase.open(tmp_path / "bad.sqlite3")
    bad.failures = 10**6
    trail = AuditTrail(bad, b"k" * 32, AuditConfig(flush_interval=3600), flush_on_stop=0.3)
    with caplog.at_level(logging.INFO, logger="hetsock"):
        async with trio.open_nursery() as nursery:
            await nursery.start(trail.run)
            for n in range(4):
                trail.request_answered(exchange(n))
            start = trio.current_time()
            trail.close()
    assert 0.3 <= trio.current_time() - start < 2.0  # it kept trying for flush_on_stop, then gave up
    assert (trail.written, trail.lost) == (0, 4)
    lost = [r for r in caplog.records if r.getMessage() == "audit-lost"]
    assert lost
    assert lost[0].hetsock_fields["records"] == 4  # type: ignore[attr-defined]
    trail.request_answered(exchange(9))  # after close: counted, not raised
    assert trail.lost == 5
    bad.close()


async def test_worker_0_prunes_records_past_the_retention(tmp_path: Path) -> None:
    now = dt.datetime(2026, 11, 22, 9, 0, 0)
    path = tmp_path / "audit.sqlite3"
    database = SqliteAuditDatabase.open(path)
    old, fresh = (
        AuditRecord(
            received=(now - age).timestamp(),
            replied=(now - age).timestamp(),
            day="2026-11-01",
            worker=0,
            connection=1,
            peer_host="127.0.0.1",
            peer_port=1,
            submitter="DEMO0001",
            npi="",
            mbi_hash="",
            reference="",
            interchange_control="",
            traces=(),
            service_types=(),
            kind="TA1",
            codes=(),
            aaa_loop="",
            npi_ok=None,
            delivered=True,
            latency=0.0,
        )
        for age in (dt.timedelta(days=3), dt.timedelta(hours=1))
    )
    database.write([old, fresh])
    for worker, remaining in ((1, 2), (0, 1)):  # only worker 0 prunes
        trail = AuditTrail(database, b"k" * 32, AuditConfig(retention_days=2, flush_interval=0.01), worker,
                           wall_clock=lambda: now)  # fmt: skip
        async with trio.open_nursery() as nursery:
            await nursery.start(trail.run)
            await trio.sleep(0.1)
            trail.close()
        assert [r.received for r in database.records()] == [old.received, fresh.received][2 - remaining :]
    database.close()


class _CallLog(SqliteAuditDatabase):
    """The SQLite database, noting the order of writes and prunes."""

    calls: list[str]

    def write(self, records: Sequence[AuditRecord]) -> int:
        self.calls.append("write")
        return super().write(records)

    def prune(self, before: float, *, limit: int) -> int:
        self.calls.append("prune")
        return super().prune(before, limit=limit)


async def test_a_long_prune_lets_the_flushes_go_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Worker 0 prunes a slice after each flush, never a whole prune between two flushes: a busy
    # day's records take many slices, and the records answered meanwhile must not wait for them.
    monkeypatch.setattr("hetsock.audit.trail.PRUNE_SLICE", 10)
    now = dt.datetime(2026, 11, 22, 9, 0, 0)
    database = _CallLog.open(tmp_path / "audit.sqlite3")
    database.calls = []
    old = (now - dt.timedelta(days=3)).timestamp()
    stale = [
        AuditRecord(
            old + n,
            old + n,
            "2026-11-19",
            0,
            1,
            "127.0.0.1",
            1,
            "DEMO0001",
            "",
            "",
            "",
            "",
            (),
            (),
            "TA1",
            (),
            "",
            None,
            True,
            0.0,
        )
        for n in range(55)
    ]
    database.write(stale)
    database.calls.clear()
    trail = AuditTrail(
        database, b"k" * 32, AuditConfig(retention_days=2, flush_interval=0.01), 0, wall_clock=lambda: now
    )
    reply = Reply(ReplyKind.TA1, b"", submitter_id="DEMO0001")
    async with trio.open_nursery() as nursery:
        await nursery.start(trail.run)
        for _ in range(20):
            trail.request_answered(Exchange(ConnectionInfo(1, "127.0.0.1", 40000, 0, now), reply, now, now, 0.001))
            await trio.sleep(0.01)
        trail.close()
    assert database.calls.count("prune") == 6  # 55 records, 10 a slice: 5 full slices and the last
    first, last = database.calls.index("prune"), len(database.calls) - 1 - database.calls[::-1].index("prune")
    assert "write" in database.calls[first:last]  # flushes between the slices
    assert database.count() == 20  # the stale ones gone, every new one written
    database.close()


async def test_the_writer_moves_to_the_catch_up_thread_only_once_behind(tmp_path: Path) -> None:
    # The lower-priority thread does the work until the oldest unwritten record has waited
    # CATCH_UP_AFTER flush intervals; then the normal-priority one, until the trail has caught up.
    from hetsock.audit.trail import CATCH_UP_AFTER

    database = SqliteAuditDatabase.open(tmp_path / "audit.sqlite3")
    try:
        trail = AuditTrail(database, b"k" * 32, AuditConfig(flush_interval=1.0))
        now = trio.current_time()
        assert trail._runner() is trail._thread  # nothing waiting: taken to have waited one interval
        trail._waiting_since = now - (CATCH_UP_AFTER - 0.5)
        assert trail._runner() is trail._thread
        trail._waiting_since = now - CATCH_UP_AFTER
        assert trail._runner() is trail._catch_up
        assert trail._flush is not None
        assert await trail._flush()  # nothing queued: caught up
        assert trail._waiting_since is None
    finally:
        database.close()
