"""What only the SQLite audit database has: a file (not ours, newer, missing), its lock, its
migrations. The contract both backends keep is tested in test_audit_database.py."""

from __future__ import annotations

import math
import random
import sqlite3
from pathlib import Path

import pytest
from audits import T0, numbered, record

from hetsock.audit.database import AuditDatabaseError
from hetsock.audit.sqlite import MIGRATIONS, MINUTE_OF_RECEIVED, SqliteAuditDatabase


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


def test_a_version_1_file_is_migrated_and_keeps_its_records(tmp_path: Path) -> None:
    """Version 2 added the records' identity (origin, sequence); older records have none."""
    path = tmp_path / "audit.sqlite3"
    with sqlite3.connect(path, isolation_level=None) as connection:
        connection.executescript(MIGRATIONS[0])
        connection.execute("PRAGMA user_version = 1")
        connection.execute(
            "INSERT INTO audit(received, replied, day, worker, connection, peer_host, peer_port, submitter, npi, "
            "mbi_hash, reference, interchange_control, traces, service_types, kind, codes, aaa_loop, npi_ok, "
            "delivered, latency) VALUES (?, ?, '2026-11-17', 0, 1, '127.0.0.1', 40000, 'DEMO0001', '1234567893', "
            "?, 'REF1', '000000041', '[\"TRACE 1\",\"TRACE,2\"]', '30,A7', '271', '', '', 1, 1, 0.001)",
            (T0, T0 + 0.001, "a" * 32),
        )
    connection.close()
    with SqliteAuditDatabase.open(path) as database:
        assert list(database.records()) == [record()]
        batch = numbered([record(received=T0 + 1)])
        assert database.write(batch) == 1
        assert database.write(batch) == 0
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 4
        indexes = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    connection.close()
    assert "audit_by_pair" not in indexes  # version 3 dropped it (enforcement makes audit_by_day_pair)
    assert "audit_by_origin" not in indexes  # version 4: identities kept as runs (audit_run)
    assert {"audit_by_time", "audit_by_submitter"} <= indexes


def test_version_4_keeps_the_identities_of_stored_records_as_runs(tmp_path: Path) -> None:
    """A version 3 file's records, with gaps in their numbering (records lost at a crash), are
    stored once when written again after the migration, and the ones never stored are stored."""
    path = tmp_path / "audit.sqlite3"
    with sqlite3.connect(path, isolation_level=None) as connection:
        for script in MIGRATIONS[:3]:
            connection.executescript(script)
        connection.execute("PRAGMA user_version = 3")
    connection.close()
    origin = "f" * 32
    everything = numbered([record(received=T0 + n) for n in range(10)], origin=origin)
    stored = [r for r in everything if r.sequence not in (4, 5, 9)]
    with sqlite3.connect(path, isolation_level=None) as connection:  # written by the version 3 code
        from hetsock.audit.sqlite import _insert_rows, _row

        for r in stored:
            connection.execute(_insert_rows(1), _row(r))
    connection.close()
    with SqliteAuditDatabase.open(path) as database:
        assert database.write(everything) == 3  # 4, 5 and 9
        assert database.write(everything) == 0
        assert sorted(r.sequence for r in database.records()) == list(range(1, 11))
    with sqlite3.connect(path) as connection:
        runs = connection.execute("SELECT origin, first, last FROM audit_run ORDER BY first").fetchall()
    connection.close()
    assert runs == [(origin, 1, 3), (origin, 4, 5), (origin, 6, 8), (origin, 9, 9), (origin, 10, 10)]


def test_records_written_out_of_order_are_kept_as_their_runs(tmp_path: Path) -> None:
    origin = "e" * 32
    records = numbered([record(received=T0 + n) for n in range(8)], origin=origin)
    with SqliteAuditDatabase.open(tmp_path / "audit.sqlite3") as database:
        assert database.write([records[i] for i in (5, 0, 1, 7, 3)]) == 5
        assert database.write(records) == 3  # 3, 5 and 7 (sequences 3, 5, 7 of 1 to 8) were not there
        assert database.write(list(reversed(records))) == 0
        assert database.count() == 8


def test_the_pair_index_is_made_on_demand_and_read_by_pair_counts(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    with SqliteAuditDatabase.open(path) as database:
        database.write([record(received=T0 + i) for i in range(3)])
        assert database.ensure_pair_index() is True
        assert database.ensure_pair_index() is False
    with sqlite3.connect(path) as connection:
        plan = " / ".join(
            row[3]
            for row in connection.execute(
                "EXPLAIN QUERY PLAN SELECT count(*) FROM audit WHERE mbi_hash = ? AND npi = ? AND submitter = ? "
                "AND day = ? AND received >= ? AND mbi_hash != ''",
                ("x", "y", "z", "2026-11-17", 0.0),
            )
        )
    connection.close()
    assert "audit_by_day_pair" in plan, plan


@pytest.mark.parametrize("variable_limit", [None, 999, 50])
@pytest.mark.parametrize("count", [1, 99, 100, 101, 250])
def test_a_batch_is_stored_whole_across_statements(tmp_path: Path, count: int, variable_limit: int | None) -> None:
    # write() inserts up to 100 rows per statement, fewer where the build allows fewer bound
    # parameters (999 in some builds: 45 rows): every size around those edges stores each
    # record once.
    database = SqliteAuditDatabase.open(tmp_path / "audit.sqlite3")
    if variable_limit is not None:
        database._connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, variable_limit)
    try:
        received = list(range(count))
        random.Random(count).shuffle(received)  # rows inserted out of the order records() reads them in
        batch = numbered([record(received=T0 + n, connection=n) for n in received], origin="f" * 32)
        assert database.write(batch) == count
        assert database.write(batch) == 0  # a retried batch stores nothing twice
        assert list(database.records()) == sorted(batch, key=lambda r: r.received)
    finally:
        database.close()


def test_the_tally_minute_in_sql_is_pythons_floor_division() -> None:
    """The tally is counted by SQLite (MINUTE_OF_RECEIVED); it must put every time in the minute
    Python's ``received // 60`` does, boundaries and the float just below them included."""
    rng = random.Random(20261206)
    times = [rng.uniform(0, 4e9) for _ in range(20_000)]
    for n in (1, 29_942_751, 66_666_666, rng.randrange(1, 60_000_000)):
        edge = n * 60.0
        times += [edge, math.nextafter(edge, 0), math.nextafter(edge, math.inf), edge - 1e-9, edge + 1e-9]
    times += [0.0, 59.999999999999, 60.0, 0.5]
    connection = sqlite3.connect(":memory:")
    try:
        connection.execute("CREATE TABLE audit(id INTEGER PRIMARY KEY, received REAL)")
        connection.executemany("INSERT INTO audit(received) VALUES (?)", [(t,) for t in times])
        got = [row[0] for row in connection.execute(f"SELECT {MINUTE_OF_RECEIVED} FROM audit ORDER BY id")]
    finally:
        connection.close()
    assert got == [int(t // 60) for t in times]


def test_finding_stored_runs_reads_the_primary_key_not_every_run(tmp_path: Path) -> None:
    from hetsock.audit import sqlite as module

    connection = sqlite3.connect(":memory:")
    try:
        connection.executescript(MIGRATIONS[3].split("INSERT INTO audit_run")[0])
        for query, args in ((module._RUNS_FROM, ("o", 1, 2)), (module._RUN_BEFORE, ("o", 1))):
            plan = " / ".join(row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {query}", args))
            assert "SEARCH audit_run USING PRIMARY KEY (origin=? AND first" in plan, plan
    finally:
        connection.close()


def test_the_tally_of_a_batch_reads_that_batch_not_the_whole_table(tmp_path: Path) -> None:
    """Writing a batch costs the same work with 200 rows stored before it as with 20,000: the
    tally finds the batch's rows by rowid (SQLite's planner, left alone, walked the whole
    submitter index, so every flush got slower as the table grew)."""
    from hetsock.audit import sqlite as module

    origin = "e" * 32
    steps: list[int] = []

    def count_step() -> int:
        steps.append(1)
        return 0  # go on

    def batch_cost(database: SqliteAuditDatabase, first: int) -> int:
        batch = numbered([record(received=T0 + n) for n in range(100)], origin=origin, first=first)
        connection: sqlite3.Connection = database._connection
        steps.clear()
        connection.set_progress_handler(count_step, 100)  # every 100 VM steps
        try:
            assert database.write(batch) == 100
        finally:
            connection.set_progress_handler(None, 0)
        return len(steps)

    with SqliteAuditDatabase.open(tmp_path / "audit.sqlite3") as database:
        database.write(numbered([record(received=T0 + n % 600) for n in range(200)], origin=origin))
        small = batch_cost(database, 201)
        database.write(numbered([record(received=T0 + n % 600) for n in range(20_000)], origin=origin, first=301))
        large = batch_cost(database, 20_301)
    assert large < small * 1.5, (small, large)
    with sqlite3.connect(tmp_path / "audit.sqlite3") as connection:
        plan = " / ".join(row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {module._TALLY_ADDED}", (0,)))
    connection.close()
    assert "SEARCH audit USING INTEGER PRIMARY KEY (rowid>?)" in plan, plan
