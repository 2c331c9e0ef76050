"""The SQLite audit database: records, the NPI tally, suspensions, pruning, faults, several writers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from hetsock.audit.database import AuditDatabaseError, Reason, Suspension, Usage
from hetsock.audit.record import AuditRecord
from hetsock.audit.sqlite import SqliteAuditDatabase

T0 = 1_795_000_000.0  # 2026-11-17, 40 s into a minute


def record(**changes: object) -> AuditRecord:
    fields: dict[str, object] = {
        "received": T0,
        "replied": T0 + 0.001,
        "day": "2026-11-17",
        "worker": 0,
        "connection": 1,
        "peer_host": "127.0.0.1",
        "peer_port": 40000,
        "submitter": "DEMO0001",
        "npi": "1234567893",
        "mbi_hash": "a" * 32,
        "reference": "REF1",
        "interchange_control": "000000041",
        "traces": ("TRACE 1", "TRACE,2"),
        "service_types": ("30", "A7"),
        "kind": "271",
        "codes": (),
        "aaa_loop": "",
        "npi_ok": True,
        "delivered": True,
        "latency": 0.001,
    }
    fields.update(changes)
    return AuditRecord(**fields)  # type: ignore[arg-type]


@pytest.fixture
def database(tmp_path: Path) -> Iterator[SqliteAuditDatabase]:
    with SqliteAuditDatabase.open(tmp_path / "audit.sqlite3") as opened:
        yield opened


def test_records_round_trip_and_filter(database: SqliteAuditDatabase) -> None:
    first = record()
    rejected = record(received=T0 + 10, kind="271-AAA", codes=("AAA41",), aaa_loop="2100B", npi_ok=False)
    other = record(received=T0 + 20, submitter="OTHER01", kind="TA1", codes=("TA1-001",), npi="", mbi_hash="")
    proprietary = record(received=T0 + 30, kind="proprietary", codes=("SBY00503",), npi_ok=None, delivered=False)
    database.write([first, rejected])
    database.write([other, proprietary])
    assert list(database.records()) == [first, rejected, other, proprietary]
    assert list(database.records(since=T0 + 10, until=T0 + 30)) == [rejected, other]
    assert list(database.records(submitter="OTHER01")) == [other]
    assert database.count() == 4
    database.write([])
    assert database.count() == 4


def test_the_npi_tally_counts_271s_per_submitter_and_minute(database: SqliteAuditDatabase) -> None:
    database.write([record(), record(npi_ok=False), record(kind="TA1", npi_ok=None)])
    database.write([record(received=T0 + 120), record(received=T0 + 120, submitter="OTHER01", npi_ok=False)])
    usage = database.npi_usage(["DEMO0001", "OTHER01", "NOBODY"], {"DEMO0001": T0})
    assert usage == {"DEMO0001": Usage(3, 2), "OTHER01": Usage(1, 0), "NOBODY": Usage(0, 0)}
    assert database.npi_usage(["DEMO0001"], {"DEMO0001": T0 + 60}) == {"DEMO0001": Usage(1, 1)}
    # From inside a minute: that minute's earlier records do not count (a reinstatement at T0 + 1).
    database.write([record(received=T0 + 5, npi_ok=False)])
    assert database.npi_usage(["DEMO0001"], {"DEMO0001": T0 + 1}) == {"DEMO0001": Usage(2, 1)}


def test_pair_counts_by_day_and_from_a_time(database: SqliteAuditDatabase) -> None:
    database.write([record(received=T0 + i) for i in range(5)])
    database.write([record(day="2026-11-18", received=T0 + 86_400), record(mbi_hash="b" * 32)])
    pair = ("DEMO0001", "1234567893", "a" * 32, "2026-11-17")
    other_day = ("DEMO0001", "1234567893", "a" * 32, "2026-11-18")
    assert database.pair_counts([pair, other_day], {}) == {pair: 5, other_day: 1}
    assert database.pair_counts([pair], {("DEMO0001", "1234567893"): T0 + 3}) == {pair: 2}
    assert database.pair_counts([("DEMO0001", "1987654328", "a" * 32, "2026-11-17")], {}) == {
        ("DEMO0001", "1987654328", "a" * 32, "2026-11-17"): 0
    }


def test_suspensions_are_made_once_lifted_and_expire(database: SqliteAuditDatabase) -> None:
    whole = Suspension("DEMO0001", "", Reason.NPI_THRESHOLD, "under", T0, T0 + 100)
    link = Suspension("DEMO0001", "1234567893", Reason.REPEATS, "repeats", T0, None)
    assert database.suspend(whole, now=T0)
    assert not database.suspend(attrs.evolve(whole, reason=Reason.MANUAL), now=T0 + 1)  # one active at a time
    assert database.suspend(link, now=T0)
    assert {s.target for s in database.suspensions(now=T0 + 50)} == {("DEMO0001", ""), ("DEMO0001", "1234567893")}
    assert {s.target for s in database.suspensions(now=T0 + 100)} == {("DEMO0001", "1234567893")}  # expired
    assert database.suspensions(now=T0 - 1) == []  # not yet begun
    assert database.last_ended([("DEMO0001", ""), ("DEMO0001", "1234567893")], now=T0 + 200) == {
        ("DEMO0001", ""): T0 + 100
    }
    assert database.reinstate(("DEMO0001", "1234567893"), now=T0 + 300) == 1
    assert database.reinstate(("DEMO0001", "1234567893"), now=T0 + 301) == 0
    assert database.suspensions(now=T0 + 300) == []
    assert database.last_ended([("DEMO0001", "1234567893")], now=T0 + 400) == {("DEMO0001", "1234567893"): T0 + 300}
    history = database.suspensions()
    assert [(s.target, s.lifted) for s in history] == [(("DEMO0001", "1234567893"), T0 + 300), (("DEMO0001", ""), None)]
    assert database.suspend(whole, now=T0 + 150)  # the earlier one has ended: a new one may begin
    assert database.suspensions(submitter="OTHER01") == []


def test_prune_deletes_old_records_and_tally_minutes_in_slices(database: SqliteAuditDatabase) -> None:
    database.write([record(received=T0 + i) for i in range(25)] + [record(received=T0 + 1000)])
    assert database.prune(T0 + 20, limit=10) == 10
    assert database.prune(T0 + 20, limit=10) == 10
    assert database.prune(T0 + 20, limit=10) == 0
    assert [r.received for r in database.records()] == [T0 + i for i in range(20, 25)] + [T0 + 1000]
    # T0 is 40 s into its minute, so T0 + 20 starts the next: the tally's first minute goes whole.
    assert T0 % 60 == 40
    assert database.npi_usage(["DEMO0001"], {"DEMO0001": 0.0})["DEMO0001"].total == 6


def test_faults_are_audit_database_errors_naming_the_file(tmp_path: Path) -> None:
    not_audit = tmp_path / "other.sqlite3"
    with sqlite3.connect(not_audit) as connection:
        connection.execute("CREATE TABLE t (x)")
    with pytest.raises(AuditDatabaseError, match="not a hetsock audit database"):
        SqliteAuditDatabase.open(not_audit)
    newer = tmp_path / "newer.sqlite3"
    SqliteAuditDatabase.open(newer).close()
    with sqlite3.connect(newer) as connection:
        connection.execute("PRAGMA user_version = 99")
    with pytest.raises(AuditDatabaseError, match="schema version 99"):
        SqliteAuditDatabase.open(newer)
    with pytest.raises(AuditDatabaseError, match=r"missing\.sqlite3"):
        SqliteAuditDatabase.open(tmp_path / "missing.sqlite3", create=False)
    closed = SqliteAuditDatabase.open(tmp_path / "closed.sqlite3")
    closed.close()
    closed.close()
    with pytest.raises(AuditDatabaseError, match="closed"):
        closed.write([record()])


def test_a_locked_database_fails_the_write_after_its_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    with SqliteAuditDatabase.open(path, busy_timeout=0.05) as database:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(AuditDatabaseError, match="locked"):
                database.write([record()])
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        database.write([record()])  # and works again once the lock is gone
        assert database.count() == 1


def test_several_processes_write_one_file_at_once(tmp_path: Path) -> None:
    """What --workers N does: N writers, batched transactions, WAL and the busy timeout."""
    path = tmp_path / "audit.sqlite3"
    SqliteAuditDatabase.open(path).close()
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_audit_sqlite import record
        from hetsock.audit.sqlite import SqliteAuditDatabase
        worker = int(sys.argv[1])
        with SqliteAuditDatabase.open({str(path)!r}) as database:
            for batch in range(40):
                database.write([record(worker=worker, connection=batch, received=1.0 + i) for i in range(50)])
        """
    )
    writers = [subprocess.Popen([sys.executable, "-c", script, str(w)]) for w in range(3)]
    assert [w.wait(60) for w in writers] == [0, 0, 0]
    with SqliteAuditDatabase.open(path) as database:
        records = list(database.records())
    assert len(records) == 3 * 40 * 50
    assert {r.worker for r in records} == {0, 1, 2}
