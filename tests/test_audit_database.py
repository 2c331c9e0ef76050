"""The audit database contract, on every backend: SQLite (a file) and PostgreSQL (a schema).

Real databases, no mocks. Each test runs once per backend (``[sqlite]``, ``[postgres]``); the
PostgreSQL runs skip without a server, or fail with HETSOCK_REQUIRE_POSTGRES=1 (see pg.py).
What only one backend has (a file's locks and schema; a server's pool, timeouts, outages and
concurrent transactions) is tested in test_audit_sqlite.py and test_audit_postgres.py.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from audits import T0, AuditBackend, numbered, record
from serving import NOW, REGISTRY, inquiry, make_store

from hetsock.audit.database import AuditDatabase, AuditDatabaseError, Reason, Suspension, Usage
from hetsock.audit.record import record_of
from hetsock.audit.report import RepeatGroups, build_report
from hetsock.pipeline import Context, Services, respond
from hetsock.server.observer import ConnectionInfo, Exchange
from hetsock.x12.writer import ControlNumbers


@pytest.fixture
def database(audit_backend: AuditBackend) -> Iterator[AuditDatabase]:
    opened = audit_backend.open()
    try:
        yield opened
    finally:
        opened.close()


def test_records_round_trip_and_filter(database: AuditDatabase) -> None:
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


def test_the_npi_tally_counts_271s_per_submitter_and_minute(database: AuditDatabase) -> None:
    database.write([record(), record(npi_ok=False), record(kind="TA1", npi_ok=None)])
    database.write([record(received=T0 + 120), record(received=T0 + 120, submitter="OTHER01", npi_ok=False)])
    usage = database.npi_usage(["DEMO0001", "OTHER01", "NOBODY"], {"DEMO0001": T0})
    assert usage == {"DEMO0001": Usage(3, 2), "OTHER01": Usage(1, 0), "NOBODY": Usage(0, 0)}
    assert database.npi_usage(["DEMO0001"], {"DEMO0001": T0 + 60}) == {"DEMO0001": Usage(1, 1)}
    # From inside a minute: that minute's earlier records do not count (a reinstatement at T0 + 1).
    database.write([record(received=T0 + 5, npi_ok=False)])
    assert database.npi_usage(["DEMO0001"], {"DEMO0001": T0 + 1}) == {"DEMO0001": Usage(2, 1)}


@pytest.mark.parametrize("indexed", [False, True], ids=["scan", "pair-index"])
def test_pair_counts_by_day_and_from_a_time(database: AuditDatabase, indexed: bool) -> None:
    if indexed:
        assert database.ensure_pair_index()
    database.write([record(received=T0 + i) for i in range(5)])
    database.write([record(day="2026-11-18", received=T0 + 86_400), record(mbi_hash="b" * 32)])
    pair = ("DEMO0001", "1234567893", "a" * 32, "2026-11-17")
    other_day = ("DEMO0001", "1234567893", "a" * 32, "2026-11-18")
    assert database.pair_counts([pair, other_day], {}) == {pair: 5, other_day: 1}
    assert database.pair_counts([pair], {("DEMO0001", "1234567893"): T0 + 3}) == {pair: 2}
    assert database.pair_counts([("DEMO0001", "1987654328", "a" * 32, "2026-11-17")], {}) == {
        ("DEMO0001", "1987654328", "a" * 32, "2026-11-17"): 0
    }


def test_repeat_groups_are_counted_by_the_database(database: AuditDatabase) -> None:
    # Beneficiary a: 3 inquiries from DEMO0001 and 2 from OTHER01 under one NPI on one day (over
    # a limit of 2 for DEMO0001 only: two submitters' inquiries do not add up); b: 4 from
    # DEMO0001, split over two days; c: 4 from DEMO0001 on one day, one of them before the span;
    # records without an NPI or an MBI hash count for none.
    a, b, c = "a" * 32, "b" * 32, "c" * 32
    records = [record(received=T0 + n, mbi_hash=a) for n in range(3)]
    records += [record(received=T0 + 10 + n, mbi_hash=a, submitter="OTHER01") for n in range(2)]
    records += [record(received=T0 + 20 + n, mbi_hash=b, day="2026-11-17" if n < 2 else "2026-11-18") for n in range(4)]
    records += [record(received=T0 - 100, mbi_hash=c)] + [record(received=T0 + 30 + n, mbi_hash=c) for n in range(3)]
    records += [record(received=T0 + 40, mbi_hash=c, npi=""), record(received=T0 + 41, mbi_hash="", kind="TA1")]
    database.write(records)
    everything = database.repeat_groups(limit=3)
    assert [(g.submitter, g.mbi_hash, g.day, g.inquiries) for g in everything] == [("DEMO0001", c, "2026-11-17", 4)]
    assert database.repeat_groups(since=T0, limit=3) == []
    over_two = database.repeat_groups(since=T0, limit=2)
    assert [(g.submitter, g.npi, g.mbi_hash, g.inquiries) for g in over_two] == [
        ("DEMO0001", "1234567893", a, 3),
        ("DEMO0001", "1234567893", c, 3),
    ]
    assert [g.inquiries for g in database.repeat_groups(submitter="OTHER01", limit=1)] == [2]
    # The report from the database's groups is the report counted in memory.
    for limit in (1, 2, 3):
        since, until = T0, T0 + 35
        held = list(database.records(since=since, until=until))
        groups = RepeatGroups.read(database, since=since, until=until, submitter=None, limit=limit)
        from_database = build_report(held, npi_threshold=0.995, repeat_limit=limit, repeats=groups)
        in_memory = build_report(held, npi_threshold=0.995, repeat_limit=limit)
        assert from_database == in_memory, limit
        # The total lists each submitter's groups: a's 3 + 2 never make one group of 5.
        assert all(r.inquiries <= 3 for r in from_database.total.repeats), limit
    assert build_report(held, npi_threshold=0.995, repeat_limit=3).total.repeats == ()


def test_a_client_value_holding_nul_is_stored(database: AuditDatabase) -> None:
    # A 270 whose ISA13 holds a NUL gets a TA1 echoing it; PostgreSQL's text cannot hold NUL, and
    # one such record used to fail its batch, and every batch after it, for ever.
    text = inquiry().decode("latin-1")
    poisoned = (text[:90] + "00000\x00041" + text[99:]).encode("latin-1")
    store = make_store(Path(tempfile.mkdtemp()) / "store.sqlite3")
    try:
        reply = respond(poisoned, Context(Services(REGISTRY, store), NOW, ControlNumbers(7), "127.0.0.1"))
    finally:
        store.close()
    assert "\x00" in reply.interchange_control
    info = ConnectionInfo(1, "127.0.0.1", 40001, 0, NOW)
    nul = record_of(Exchange(info, reply, NOW, NOW, 0.001, True), b"k" * 32, origin="f" * 32, sequence=1)
    assert nul.interchange_control == "00000?041"
    assert database.write([nul, record(origin="f" * 32, sequence=2)]) == 2
    assert {r.interchange_control for r in database.records()} == {"00000?041", "000000041"}


def test_suspensions_are_made_once_lifted_and_expire(database: AuditDatabase) -> None:
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


def test_prune_deletes_old_records_and_tally_minutes_in_slices(database: AuditDatabase) -> None:
    database.write([record(received=T0 + i) for i in range(25)] + [record(received=T0 + 1000)])
    assert database.prune(T0 + 20, limit=10) == 10
    assert database.prune(T0 + 20, limit=10) == 10
    assert database.prune(T0 + 20, limit=10) == 0
    assert [r.received for r in database.records()] == [T0 + i for i in range(20, 25)] + [T0 + 1000]
    # T0 is 40 s into its minute, so T0 + 20 starts the next: the tally's first minute goes whole.
    assert T0 % 60 == 40
    assert database.npi_usage(["DEMO0001"], {"DEMO0001": 0.0})["DEMO0001"].total == 6


def test_a_record_written_again_is_stored_and_tallied_once(database: AuditDatabase) -> None:
    """The writer retries a batch whose commit it did not see acknowledged; if the commit had in
    fact happened, the retry must add nothing (records, or the NPI tally)."""
    batch = numbered([record(received=T0 + i, npi_ok=i % 2 == 0) for i in range(6)])
    assert database.write(batch[:4]) == 4
    assert database.write(batch) == 2  # the first four are there already
    assert database.write(batch) == 0
    assert database.count() == 6
    assert sorted(r.sequence for r in database.records()) == [1, 2, 3, 4, 5, 6]
    assert list(database.records()) == batch  # the identity reads back too
    assert database.npi_usage(["DEMO0001"], {"DEMO0001": 0.0}) == {"DEMO0001": Usage(6, 3)}
    # Another writer's numbers are its own; a record without an identity is stored every time.
    assert database.write(numbered([record(received=T0 + 9)])) == 1
    assert database.write([record(received=T0 + 10)] * 2) == 2
    assert database.write([record(received=T0 + 10)]) == 1
    assert database.count() == 10


def test_a_closed_database_fails_with_an_audit_database_error(audit_backend: AuditBackend) -> None:
    database = audit_backend.open()
    database.close()
    database.close()  # harmless
    with pytest.raises(AuditDatabaseError, match="closed"):
        database.write([record()])
    with pytest.raises(AuditDatabaseError, match="closed"):
        database.suspensions()


def test_describe_names_the_database(database: AuditDatabase, audit_backend: AuditBackend) -> None:
    description = database.describe()
    if audit_backend.name == "sqlite":
        assert description == f"sqlite:{audit_backend.target}"
    else:
        assert description.startswith("postgresql://127.0.0.1:")
        assert description.endswith(f"(schema {audit_backend.schema.name})")  # type: ignore[attr-defined]


def test_two_workers_judging_one_breach_at_once_record_one_suspension(audit_backend: AuditBackend) -> None:
    """Enforcement runs in every worker's writer; a breach seen by several at once is one suspension."""
    databases = [audit_backend.open() for _ in range(4)]
    barrier = threading.Barrier(len(databases))
    made: list[bool] = []

    def judge(database: AuditDatabase) -> None:
        barrier.wait()
        made.append(database.suspend(Suspension("DEMO0001", "", Reason.NPI_THRESHOLD, "under", T0, T0 + 60), now=T0))

    try:
        threads = [threading.Thread(target=judge, args=(d,)) for d in databases]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(made) == [False, False, False, True]
        assert len(databases[0].suspensions()) == 1
    finally:
        for database in databases:
            database.close()


def test_several_processes_write_at_once(audit_backend: AuditBackend, tmp_path: Path) -> None:
    """What --workers N does, and several hosts with PostgreSQL: writers committing batches at
    once, every one tallying the same submitter and minute."""
    audit_backend.open().close()  # created once, as `hetsock serve` does before its workers start
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from audits import numbered, record
        from hetsock.audit import open_audit_database
        from hetsock.config import AuditConfig, Config
        worker = int(sys.argv[1])
        config = Config(audit=AuditConfig().at({audit_backend.target!r}))
        database = open_audit_database(config, create=False)
        try:
            for batch in range(40):
                records = [record(worker=worker, connection=batch, received=1.0 + i, npi_ok=i < 40) for i in range(50)]
                assert database.write(numbered(records, first=1)) == 50
        finally:
            database.close()
        """
    )
    writers = [subprocess.Popen([sys.executable, "-c", script, str(w)]) for w in range(3)]
    assert [w.wait(60) for w in writers] == [0, 0, 0]
    database = audit_backend.open()
    try:
        records = list(database.records())
        usage = database.npi_usage(["DEMO0001"], {"DEMO0001": 0.0})
    finally:
        database.close()
    assert len(records) == 3 * 40 * 50
    assert {r.worker for r in records} == {0, 1, 2}
    assert usage == {"DEMO0001": Usage(3 * 40 * 50, 3 * 40 * 40)}
