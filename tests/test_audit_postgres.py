"""What only the PostgreSQL audit database has: a server that goes away and comes back (behind a
TCP proxy the test cuts), transactions of other instances in flight, timeouts, a schema shared
with the beneficiary store, schema versions, and the configuration that selects it.

Against a real server (a schema per test in the session's database; see pg.py), no mocks; the
real server is never stopped. The contract both backends keep runs in test_audit_database.py.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pg
import pytest
import trio
from audits import T0, numbered, record
from ops import Client, audit_records, ops_config, running_worker
from serving import REGISTRY, inquiry, make_store, reply_kind

from hetsock.audit import open_audit_database
from hetsock.audit.database import AuditDatabaseError, Usage
from hetsock.config import AuditConfig, Config
from hetsock.eligibility import fixtures
from hetsock.eligibility.store.sqlite import SqliteStore
from hetsock.pipeline import Services


def _database_class() -> Any:
    """PostgresAuditDatabase, imported when a test runs (collecting this module needs no psycopg)."""
    from hetsock.audit.postgres import PostgresAuditDatabase

    return PostgresAuditDatabase


@pytest.fixture
def proxy(pg_database: pg.PgDatabase) -> Iterator[pg.TcpProxy]:
    forwarder = pg.TcpProxy(pg_database.host, pg_database.port)
    yield forwarder
    forwarder.close()


def through(proxy: pg.TcpProxy, schema: pg.PgSchema) -> str:
    """The schema's URL through ``proxy``, with a password (trust auth ignores it) that must never show."""
    url = schema.database.url(schema=schema.name, port=proxy.port)
    return url.replace("postgres@", "postgres:s3cret@")


def test_the_tables_and_the_schema_version(pg_schema: pg.PgSchema) -> None:
    from hetsock.audit.postgres import MIGRATIONS, SCHEMA_VERSION

    _database_class().open(pg_schema.url).close()
    _database_class().open(pg_schema.url).close()  # a second open finds nothing to do
    with pg_schema.connect() as connection:
        versions = connection.execute("SELECT version, description FROM audit_schema_version").fetchall()
        tables = {
            row[0]
            for row in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (pg_schema.name,))
        }
        columns = dict(
            connection.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s "
                "AND table_name = 'audit'",
                (pg_schema.name,),
            ).fetchall()
        )
    assert versions == [(m.version, m.description) for m in MIGRATIONS]
    assert SCHEMA_VERSION == 2
    assert tables == {"audit", "npi_usage", "suspension", "audit_schema_version"}
    assert (columns["traces"], columns["day"], columns["origin"], columns["npi_ok"]) == (
        "ARRAY",
        "date",
        "uuid",
        "boolean",
    )


def _indexes(pg_schema: pg.PgSchema) -> set[str]:
    with pg_schema.connect() as connection:
        rows = connection.execute("SELECT indexname FROM pg_indexes WHERE schemaname = %s", (pg_schema.name,))
        return {row[0] for row in rows}


def test_version_2_drops_the_first_pair_index_and_the_planner_uses_the_new_one(pg_schema: pg.PgSchema) -> None:
    from hetsock.audit.postgres import MIGRATIONS
    from hetsock.eligibility.store.postgres import apply_migrations

    with pg_schema.connect() as connection:  # a version 1 schema, as every database had it
        apply_migrations(connection, MIGRATIONS[:1], ledger="audit_schema_version")
    assert "audit_by_pair" in _indexes(pg_schema)
    with _database_class().open(pg_schema.url) as database:
        assert "audit_by_pair" not in _indexes(pg_schema)
        assert "audit_by_day_pair" not in _indexes(pg_schema)
        database.write([record(received=T0 + i) for i in range(3)])
        assert database.ensure_pair_index() is True
        assert database.ensure_pair_index() is False
        assert database.pair_counts([("DEMO0001", "1234567893", "a" * 32, "2026-11-17")], {}) == {
            ("DEMO0001", "1234567893", "a" * 32, "2026-11-17"): 3
        }
    assert "audit_by_day_pair" in _indexes(pg_schema)
    with pg_schema.connect() as connection:
        connection.execute("SET enable_seqscan = off")  # three rows: the planner would rather scan
        plan = " ".join(
            row[0]
            for row in connection.execute(
                "EXPLAIN SELECT count(*) FROM audit WHERE day = '2026-11-17' AND mbi_hash = 'x' AND npi = 'y' "
                "AND submitter = 'z' AND received >= 0 AND mbi_hash <> ''"
            )
        )
    assert "audit_by_day_pair" in plan


def test_it_shares_a_schema_with_the_beneficiary_store(pg_schema: pg.PgSchema) -> None:
    """One schema may hold both: the store's version lives in schema_version, the audit's apart."""
    from hetsock.eligibility.store.postgres import PostgresStore

    with PostgresStore.open(pg_schema.url, create=True) as store:
        store.write(fixtures.BENEFICIARIES)
    with _database_class().open(pg_schema.url) as database:
        assert database.write(numbered([record()])) == 1
    with PostgresStore.open(pg_schema.url) as store:  # the store still opens, migrated as it was
        assert store.count() == len(fixtures.BENEFICIARIES)
    with _database_class().open(pg_schema.url, create=False) as database:
        assert database.count() == 1


def test_faults_are_named_without_passwords(pg_schema: pg.PgSchema, pg_database: pg.PgDatabase) -> None:
    database_class = _database_class()
    # Nothing here yet, and not asked to create it.
    with pytest.raises(AuditDatabaseError, match="no audit database here yet") as caught:
        database_class.open(pg_schema.url.replace("postgres@", "postgres:s3cret@"), create=False)
    assert str(caught.value).startswith(f"postgresql://127.0.0.1:{pg_database.port}/{pg_database.name} (schema ")
    assert "s3cret" not in str(caught.value)
    # Unreachable: refused at once.
    start = time.monotonic()
    with pytest.raises(AuditDatabaseError, match="refused") as caught:
        database_class.open("postgresql://postgres:s3cret@127.0.0.1:1/hetsock")
    assert time.monotonic() - start < 2
    assert str(caught.value).startswith("postgresql://127.0.0.1:1/hetsock: ")
    assert "s3cret" not in str(caught.value)
    # A DSN that does not parse is not quoted back.
    with pytest.raises(AuditDatabaseError, match="invalid PostgreSQL DSN") as caught:
        database_class.open("host=db password=s3cret nonsense")
    assert "s3cret" not in str(caught.value)
    # Someone else's table called audit.
    with pg_schema.connect() as connection:
        connection.execute("CREATE TABLE audit (x integer)")
    with pytest.raises(
        AuditDatabaseError, match=r"not a hetsock audit database \(the schema holds tables named audit\)"
    ):
        database_class.open(pg_schema.url)


def test_a_newer_schema_is_refused(pg_schema: pg.PgSchema) -> None:
    _database_class().open(pg_schema.url).close()
    with pg_schema.connect() as connection:
        connection.execute("INSERT INTO audit_schema_version (version, description) VALUES (99, 'later')")
    with pytest.raises(AuditDatabaseError, match="audit schema version 99, this hetsock knows 2"):
        _database_class().open(pg_schema.url)


def test_no_password_in_the_description_or_repr(pg_schema: pg.PgSchema) -> None:
    with _database_class().open(pg_schema.url.replace("postgres@", "postgres:s3cret@")) as database:
        for text in (database.describe(), repr(database)):
            assert "s3cret" not in text
            assert f"(schema {pg_schema.name})" in text
    config = Config(audit=AuditConfig(dsn="postgresql://hetsock:s3cret@db/audit"))
    assert "s3cret" not in repr(config)


def test_a_retry_waits_for_an_earlier_attempt_still_committing(pg_schema: pg.PgSchema) -> None:
    """The writer's first attempt lost its connection while its transaction was still alive on
    the server; the retry on a new connection waits for it, then stores only what it lacked."""
    batch = numbered([record(received=T0 + i) for i in range(3)])
    with _database_class().open(pg_schema.url) as database, pg_schema.connect() as earlier:
        earlier.execute("BEGIN")  # the earlier attempt, stuck before its commit: the first record, tallied
        earlier.execute(
            "INSERT INTO audit (received, replied, day, worker, connection, peer_host, peer_port, submitter, npi, "
            "mbi_hash, reference, interchange_control, traces, service_types, kind, codes, aaa_loop, npi_ok, "
            "delivered, latency, origin, sequence) VALUES (%s, %s, '2026-11-17', 0, 1, '127.0.0.1', 40000, "
            "'DEMO0001', '1234567893', %s, 'REF1', '000000041', '{}', '{}', '271', '{}', '', true, true, 0.001, "
            "%s::uuid, 1)",
            (T0, T0 + 0.001, "a" * 32, batch[0].origin),
        )
        earlier.execute("INSERT INTO npi_usage VALUES ('DEMO0001', %s, 1, 1)", (int(T0 // 60),))
        stored: list[int] = []
        retry = threading.Thread(target=lambda: stored.append(database.write(batch)))
        retry.start()
        retry.join(0.5)
        assert retry.is_alive()  # waiting on the uncommitted key, not storing it twice
        earlier.execute("COMMIT")
        retry.join(10)
        assert stored == [2]
        assert database.count() == 3
        assert database.npi_usage(["DEMO0001"], {"DEMO0001": 0.0}) == {"DEMO0001": Usage(3, 3)}


def test_the_statement_timeout_bounds_a_blocked_write(pg_schema: pg.PgSchema) -> None:
    with (
        _database_class().open(pg_schema.url, statement_timeout=0.3) as database,
        pg_schema.connect() as blocker,
    ):
        blocker.execute("BEGIN")
        blocker.execute("LOCK TABLE audit IN EXCLUSIVE MODE")
        start = time.monotonic()
        with pytest.raises(AuditDatabaseError, match="statement timeout") as caught:
            database.write(numbered([record()]))
        assert 0.25 < time.monotonic() - start < 2
        assert "a" * 32 not in str(caught.value)
        blocker.execute("ROLLBACK")
        assert database.write(numbered([record()])) == 1


def test_one_instance_prunes_at_a_time(pg_schema: pg.PgSchema) -> None:
    with _database_class().open(pg_schema.url) as database, pg_schema.connect() as other:
        database.write([record(received=T0 + i) for i in range(5)])
        other.execute("BEGIN")
        other.execute("SELECT pg_advisory_xact_lock(hashtext('hetsock audit prune ' || current_schema()))")
        assert database.prune(T0 + 10, limit=100) == 0  # another instance is at it
        other.execute("COMMIT")
        assert database.prune(T0 + 10, limit=100) == 5


def test_the_database_going_away_fails_fast_and_writes_recover(proxy: pg.TcpProxy, pg_schema: pg.PgSchema) -> None:
    pool_timeout = 0.5
    batch = numbered([record(received=T0 + i) for i in range(4)])
    with _database_class().open(through(proxy, pg_schema), pool_timeout=pool_timeout) as database:
        assert database.write(batch[:1]) == 1
        proxy.cut()
        for _ in range(2):
            start = time.monotonic()
            with pytest.raises(AuditDatabaseError) as caught:
                database.write(batch)
            assert time.monotonic() - start < pool_timeout + 1
            assert "s3cret" not in str(caught.value)
            assert str(caught.value).startswith(f"postgresql://127.0.0.1:{proxy.port}/")
        proxy.restore()
        deadline = time.monotonic() + 10
        while True:  # the pool reconnects by itself (its retries back off: within seconds)
            try:
                assert database.write(batch) == 3
                break
            except AuditDatabaseError:
                assert time.monotonic() < deadline, "the writes did not recover"
        # A restart: every connection drops and the server is back at once. The broken
        # connection is replaced and the write goes through on the first try.
        proxy.cut()
        time.sleep(0.2)
        proxy.restore()
        assert database.write(numbered([record()])) == 1
        assert database.count() == 5


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    store = make_store(tmp_path_factory.mktemp("store") / "demo.sqlite3")
    yield store
    store.close()


async def test_the_trail_keeps_every_record_through_a_cut_path(
    store: SqliteStore, tmp_path: Path, pg_schema: pg.PgSchema, proxy: pg.TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker writes its trail to PostgreSQL through a proxy; the path is cut for 3 s while
    requests are answered, then restored. Every reply is audited exactly once, the failures are
    counted and logged (without the password), and no reply waited on the database."""
    config = ops_config(tmp_path, audit={"dsn": through(proxy, pg_schema)})
    sent: list[str] = []
    slowest = 0.0
    with caplog.at_level(logging.INFO, logger="hetsock"):
        async with running_worker(config, Services(REGISTRY, store)) as worker:
            trail = worker.operations.trail
            assert trail is not None
            client = await Client.connect(worker.server.port)

            async def ask_for(seconds: float) -> None:
                nonlocal slowest
                end = trio.current_time() + seconds
                while trio.current_time() < end:
                    trace = f"N{len(sent)}"
                    start = trio.current_time()
                    assert reply_kind(await client.ask(inquiry(trace_number=trace))) == "271"
                    slowest = max(slowest, trio.current_time() - start)
                    sent.append(trace)
                    await trio.sleep(0.01)

            try:
                await ask_for(0.5)
                proxy.cut()
                await ask_for(3.0)  # longer than a write waits for a connection: some writes fail
                assert trail.backlog > 0  # held in memory meanwhile
                with trio.fail_after(5):
                    while not trail.failures:  # noqa: ASYNC110 (the writer works in threads)
                        await trio.sleep(0.05)
                proxy.restore()
                await ask_for(0.5)
                with trio.fail_after(10):
                    while trail.backlog:  # noqa: ASYNC110
                        await trio.sleep(0.05)
            finally:
                await client.close()
    records = audit_records(config)
    traces = [r.traces[0] for r in records]
    assert len(sent) > 100
    assert sorted(traces) == sorted(sent)  # none lost, none twice
    assert (trail.written, trail.dropped, trail.lost) == (len(sent), 0, 0)
    assert slowest < 0.5, f"a reply took {slowest:.2f} s"
    events = [r for r in caplog.records if r.name.startswith("hetsock")]
    failed = [r for r in events if r.getMessage() == "audit-write-failed"]
    assert len(failed) == 1  # once per outage
    assert "s3cret" not in str(failed[0].hetsock_fields)  # type: ignore[attr-defined]
    assert "audit-recovered" in [r.getMessage() for r in events]
    assert not any("s3cret" in r.getMessage() or "s3cret" in str(getattr(r, "hetsock_fields", "")) for r in events)


def test_the_config_selects_postgres(pg_schema: pg.PgSchema, tmp_path: Path) -> None:
    path = tmp_path / "hetsock.toml"
    path.write_text(f'[audit]\ndsn = "{pg_schema.url}"\npath = "{tmp_path / "unused.sqlite3"}"\n')
    config = Config.from_toml(path)
    assert config.audit.dsn == pg_schema.url
    database = open_audit_database(config)
    try:
        assert database.describe().endswith(f"(schema {pg_schema.name})")
    finally:
        database.close()
    assert not (tmp_path / "unused.sqlite3").exists()
    moved = config.audit.at(str(tmp_path / "a.sqlite3"))
    assert (moved.dsn, moved.path) == ("", tmp_path / "a.sqlite3")
    assert AuditConfig().at(pg_schema.url).dsn == pg_schema.url


def test_the_sqlite_audit_database_needs_no_psycopg(tmp_path: Path) -> None:
    program = f"""
import sys
sys.modules["psycopg"] = None  # any import of psycopg now fails
sys.modules["psycopg_pool"] = None
from hetsock.audit import open_audit_database
from hetsock.audit.database import AuditDatabaseError
from hetsock.config import AuditConfig, Config
open_audit_database(Config(audit=AuditConfig(path={str(tmp_path / "a.sqlite3")!r}))).close()
try:
    open_audit_database(Config(audit=AuditConfig(dsn="postgresql://h/db")))
except AuditDatabaseError as error:
    assert "postgres extra" in str(error), error
else:
    raise AssertionError("no error")
"""
    subprocess.run([sys.executable, "-c", program], check=True, timeout=60)
