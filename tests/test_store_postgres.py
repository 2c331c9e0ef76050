"""What only the PostgreSQL store has: query plans, a pool, timeouts, a server that goes away and
comes back, loading beside live readers, and the configuration that selects it.

Against a real server (a schema per test in a database made for the session; see pg.py): no
mocks. The database "goes away" through a TCP proxy the test cuts, or by ending the store's
backends with pg_terminate_backend; the real server is never stopped (others use it).
The contract both stores keep runs in test_store.py.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pg
import pytest

from hetsock.cli import main
from hetsock.cli_seed import seed_postgres
from hetsock.config import Config, ConfigError, StoreConfig
from hetsock.eligibility import fixtures
from hetsock.eligibility.store import Lookup, StoreUnavailableError, open_store
from hetsock.eligibility.synth import generate_documents

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parent.parent
JANE = fixtures.DOE_JANE


def _store_class() -> Any:
    """PostgresStore, imported when a test runs (collecting this module needs no psycopg)."""
    from hetsock.eligibility.store.postgres import PostgresStore

    return PostgresStore


@pytest.fixture
def seeded(pg_schema: pg.PgSchema) -> pg.PgSchema:
    """The schema, holding 3,000 synthetic people (the fixtures first), analyzed."""
    seed_postgres(pg_schema.dsn, 3_000, seed=5, schema=pg_schema.name)
    return pg_schema


@pytest.fixture
def store(seeded: pg.PgSchema) -> Iterator[Any]:
    with _store_class().open(seeded.dsn, schema=seeded.name, max_size=2) as opened:
        yield opened


def _plan(connection: Any, mbi: str) -> str:
    from psycopg import sql

    explain = sql.SQL("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE lookup_plan({})")
    rows = connection.execute(explain.format(sql.Literal(mbi))).fetchall()
    return "\n".join(row[0] for row in rows)


def test_lookups_are_primary_key_probes_in_one_statement(seeded: pg.PgSchema) -> None:
    from hetsock.eligibility.store.postgres import _LOOKUP

    with seeded.connect() as connection:
        connection.execute(f"PREPARE lookup_plan(text) AS {_LOOKUP.replace('%(mbi)s', '$1')}".encode())
        connection.execute("SET plan_cache_mode = force_generic_plan")  # the plan a prepared statement keeps
        # A current MBI: one probe of the primary key; the alias branch never runs.
        executed = [line.strip() for line in _plan(connection, JANE.mbi).split("\n") if "(actual rows=" in line]
        assert executed == [
            "Limit (actual rows=1 loops=1)",
            "->  Append (actual rows=1 loops=1)",
            "->  Index Scan using beneficiary_pkey on beneficiary (actual rows=1 loops=1)",
        ]
        # An earlier MBI: the alias, then the record by primary key, in the same statement. With
        # 3,000 people the alias table is one page, which the planner reads whole; at 1,000,000 it
        # probes mbi_alias_pkey unforced (scripts/bench_store.py prints the plan). Forbidding the
        # whole-table read shows the index serves it.
        earlier = _plan(connection, "9EG4TE5MK71")
        assert "Index Scan using beneficiary_pkey on beneficiary b (actual rows=1 loops=1)" in earlier
        connection.execute("SET enable_seqscan = off")
        connection.execute("DEALLOCATE lookup_plan")
        connection.execute(f"PREPARE lookup_plan(text) AS {_LOOKUP.replace('%(mbi)s', '$1')}".encode())
        earlier = _plan(connection, "9EG4TE5MK71")
        assert "Seq Scan" not in earlier
        assert "Index Scan using mbi_alias_pkey on mbi_alias a (actual rows=1 loops=1)" in earlier
        assert "Index Scan using beneficiary_pkey on beneficiary b (actual rows=1 loops=1)" in earlier


def test_the_data_model(seeded: pg.PgSchema) -> None:
    with seeded.connect() as connection:
        columns = connection.execute(
            "SELECT table_name, column_name, data_type, collation_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name IN ('beneficiary', 'mbi_alias') ORDER BY 1, 2"
        ).fetchall()
        assert columns == [
            ("beneficiary", "doc", "bytea", None),
            ("beneficiary", "mbi", "text", "C"),
            ("mbi_alias", "mbi", "text", "C"),
            ("mbi_alias", "previous_mbi", "text", "C"),
        ]
        tables = {
            row[0] for row in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        }
        assert tables == {"beneficiary", "mbi_alias", "tally", "schema_version"}  # no *_seeding left
        indexes = {
            row[0] for row in connection.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
        }
        assert {"beneficiary_pkey", "mbi_alias_pkey"} <= indexes
        analyzed = connection.execute(
            "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'beneficiary' "
            "AND schemaname = current_schema()"
        ).fetchone()
        assert analyzed == (True,)
        assert connection.execute("SELECT value FROM tally").fetchone() == (3_000,)


def test_schemas_are_separate_stores(pg_database: pg.PgDatabase) -> None:
    schemas = [pg.fresh_schema(pg_database), pg.fresh_schema(pg_database)]
    first, second = (next(schema) for schema in schemas)
    try:
        with (
            _store_class().open(first.dsn, schema=first.name, create=True) as one,
            _store_class().open(second.dsn, schema=second.name, create=True) as other,
        ):
            one.write([JANE])
            assert one.lookup(JANE.mbi) == Lookup(JANE, via_previous_mbi=False)
            assert other.lookup(JANE.mbi) is None
            assert (one.count(), other.count()) == (1, 0)
    finally:
        for schema in schemas:
            next(schema, None)


# Faults: every one a StoreUnavailableError, within a bounded time, naming no patient data or password.


def test_an_unreachable_server_fails_at_once(pg_database: pg.PgDatabase) -> None:
    start = time.monotonic()
    with pytest.raises(StoreUnavailableError, match="refused") as caught:
        _store_class().open("postgresql://postgres:s3cret@127.0.0.1:1/hetsock")
    assert time.monotonic() - start < 2
    assert str(caught.value).startswith("postgresql://127.0.0.1:1/hetsock: ")
    assert "s3cret" not in str(caught.value)


def test_a_silent_server_fails_within_the_connect_timeout(pg_database: pg.PgDatabase) -> None:
    from hetsock.eligibility.store.postgres import CONNECT_TIMEOUT

    with socket.socket() as silent:  # accepts TCP connections (the kernel's backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        start = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="timeout"):
            _store_class().open(f"postgresql://postgres@127.0.0.1:{silent.getsockname()[1]}/hetsock")
        assert CONNECT_TIMEOUT - 0.5 < time.monotonic() - start < CONNECT_TIMEOUT + 2


def test_an_invalid_dsn_or_schema_is_refused_without_echo(pg_database: pg.PgDatabase) -> None:
    with pytest.raises(StoreUnavailableError, match="invalid PostgreSQL DSN") as caught:
        _store_class().open("host=db password=s3cret nonsense")
    assert "s3cret" not in str(caught.value)
    with pytest.raises(StoreUnavailableError, match="invalid schema name"):
        _store_class().open(pg_database.url(), schema="x; DROP TABLE y")


def test_no_password_in_the_name_or_repr(seeded: pg.PgSchema) -> None:
    dsn = seeded.dsn.replace("postgres@", "postgres:s3cret@")  # trust auth ignores it
    with _store_class().open(dsn, schema=seeded.name) as opened:
        assert opened.lookup(JANE.mbi) is not None
        assert "s3cret" not in repr(opened)
        assert "s3cret" not in opened.label
        assert (
            opened.label
            == f"postgresql://127.0.0.1:{seeded.database.port}/{seeded.database.name} (schema {seeded.name})"
        )


@pytest.fixture
def blocker(seeded: pg.PgSchema) -> Iterator[Any]:
    """A connection holding an exclusive lock on the beneficiary table until the test releases it."""
    with seeded.connect() as connection:
        connection.execute("BEGIN")
        connection.execute("LOCK TABLE beneficiary IN ACCESS EXCLUSIVE MODE")
        yield connection
        if connection.info.transaction_status != 0:
            connection.execute("ROLLBACK")


def test_the_statement_timeout_bounds_a_blocked_lookup(seeded: pg.PgSchema, blocker: Any) -> None:
    with _store_class().open(seeded.dsn, schema=seeded.name, statement_timeout=0.3) as opened:
        start = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="statement timeout") as caught:
            opened.lookup(JANE.mbi)
        assert 0.25 < time.monotonic() - start < 2
        assert JANE.mbi not in str(caught.value)
        blocker.execute("ROLLBACK")
        assert opened.lookup(JANE.mbi) == Lookup(JANE, via_previous_mbi=False)


def test_the_pool_timeout_bounds_waiting_for_a_connection(seeded: pg.PgSchema, blocker: Any) -> None:
    with _store_class().open(
        seeded.dsn, schema=seeded.name, min_size=1, max_size=1, pool_timeout=0.3, statement_timeout=10
    ) as opened:
        results: list[object] = []
        holder = threading.Thread(target=lambda: results.append(opened.lookup(JANE.mbi)))
        holder.start()  # takes the only connection and waits for the lock
        _wait_for(lambda: _lock_waiters(seeded) == 1)
        start = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="no database connection became available in time"):
            opened.lookup(fixtures.ROE_RICHARD.mbi)
        assert 0.25 < time.monotonic() - start < 2
        blocker.execute("ROLLBACK")
        holder.join(timeout=10)
        assert results == [Lookup(JANE, via_previous_mbi=False)]
        assert opened.lookup(fixtures.ROE_RICHARD.mbi) is not None


def test_ended_backends_are_replaced_without_failing_a_lookup(seeded: pg.PgSchema) -> None:
    with _store_class().open(seeded.dsn, schema=seeded.name, min_size=2, max_size=2) as opened:
        assert opened.lookup(JANE.mbi) is not None
        before = _store_backends(seeded)
        assert len(before) == 2
        with seeded.connect() as admin:  # the store's backends only: chosen first, then ended one by one
            ended = [admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() for pid in before]
        assert ended == [(True,), (True,)]
        for beneficiary in fixtures.BENEFICIARIES * 3:  # every lookup answers: broken connections are retried
            assert opened.lookup(beneficiary.mbi) == Lookup(beneficiary, via_previous_mbi=False)
        assert opened.count() == 3_000
        after = _store_backends(seeded)
        assert after
        assert not after & before  # new backends


def test_the_database_going_away_fails_fast_and_lookups_recover(seeded: pg.PgSchema) -> None:
    proxy = pg.TcpProxy(seeded.database.host, seeded.database.port)
    try:
        dsn = seeded.database.url(port=proxy.port)
        with _store_class().open(
            dsn, schema=seeded.name, min_size=1, max_size=2, pool_timeout=0.3, reconnect_timeout=1.0
        ) as opened:
            assert opened.lookup(JANE.mbi) == Lookup(JANE, via_previous_mbi=False)
            proxy.cut()  # the server vanishes: open connections drop, new ones are refused
            for _ in range(3):
                start = time.monotonic()
                with pytest.raises(StoreUnavailableError) as caught:
                    opened.lookup(JANE.mbi)
                assert time.monotonic() - start < 2  # fails within the pool timeout, no hang
                assert JANE.mbi not in str(caught.value)
            with pytest.raises(StoreUnavailableError):
                opened.count()
            proxy.restore()
            back = time.monotonic()
            while True:  # recovers by itself, no reopen
                try:
                    found = opened.lookup(JANE.mbi)
                    break
                except StoreUnavailableError:
                    assert time.monotonic() - back < 15, "lookups did not recover"
                    time.sleep(0.1)
            assert found == Lookup(JANE, via_previous_mbi=False)
            for beneficiary in fixtures.BENEFICIARIES:
                assert opened.lookup(beneficiary.mbi) == Lookup(beneficiary, via_previous_mbi=False)
    finally:
        proxy.close()


def test_a_failed_load_changes_nothing_and_names_no_patient_data(store: Any) -> None:
    rows = [store.encode(JANE.to_document()), store.encode(JANE.to_document())]  # the same MBI twice
    with pytest.raises(StoreUnavailableError, match="UniqueViolation") as caught:
        store.load(rows, replace=True)
    assert JANE.mbi not in str(caught.value)
    assert caught.value.__cause__ is None  # the driver's error (its DETAIL quotes the key) is not chained
    assert caught.value.__suppress_context__
    assert store.count() == 3_000
    assert store.lookup(JANE.mbi) == Lookup(JANE, via_previous_mbi=False)


def test_replacing_the_population_while_readers_read(seeded: pg.PgSchema, store: Any) -> None:
    old = list(generate_documents(3_000, 5))[-1]
    assert store.lookup(old["mbi"]) is not None  # prepared on the reader's connections
    failures: list[BaseException] = []
    reading = threading.Event()
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                assert store.lookup(JANE.mbi) == Lookup(JANE, via_previous_mbi=False)
            except BaseException as error:  # reported below
                failures.append(error)
                return
            reading.set()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        reading.wait(5)
        seed_postgres(seeded.dsn, 21_000, seed=6, replace=True, schema=seeded.name)
    finally:
        done.set()
        reader.join(10)
    assert failures == []
    new = list(generate_documents(21_000, 6))[-1]
    assert store.count() == 21_000
    found = store.lookup(new["mbi"])
    assert found is not None
    assert found.beneficiary.to_document() == new
    assert store.lookup(old["mbi"]) is None


# Selection: [store] dsn, --store URL, and no psycopg needed for SQLite.


def test_config_reads_the_dsn() -> None:
    assert Config().store.dsn == ""
    config = Config.from_dict({"store": {"dsn": " postgresql://h/db "}})
    assert config.store.dsn == "postgresql://h/db"
    assert "postgresql" not in repr(config.store)  # a DSN may hold a password
    with pytest.raises(ConfigError, match="dsn must be a str"):
        Config.from_dict({"store": {"dsn": 5}})
    assert StoreConfig().at("postgres://h/db").dsn == "postgres://h/db"
    assert StoreConfig(dsn="postgresql://h/db").at("x.sqlite3") == StoreConfig(path=Path("x.sqlite3"))


def test_the_config_dsn_selects_postgres(
    seeded: pg.PgSchema, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    opened = open_store(StoreConfig(dsn=seeded.url, path=tmp_path / "unused.sqlite3"))
    try:
        assert opened.blocking is True
        assert opened.count() == 3_000
    finally:
        opened.close()
    assert not (tmp_path / "unused.sqlite3").exists()
    config = tmp_path / "hetsock.toml"
    config.write_text(
        f'[store]\ndsn = "{seeded.url}"\n[eligibility]\nregistry = "{ROOT / "config" / "submitters.toml"}"\n'
    )
    assert main(["check", "--respond", "--config", str(config), str(DATA / "hets" / "specimen.270")]) == 0
    assert "EB*1**30^42^45^48^49^69^76^83^A5^A7^AG^BT^BU^BV*MA~" in capsys.readouterr().out
    sqlite_config = tmp_path / "sqlite.toml"
    sqlite_config.write_text(f'[eligibility]\nregistry = "{ROOT / "config" / "submitters.toml"}"\n')
    specimen = str(DATA / "hets" / "specimen.270")
    assert main(["check", "--respond", "--config", str(sqlite_config), "--store", seeded.url, specimen]) == 0
    assert "EB*1**30" in capsys.readouterr().out


def test_an_unseeded_database_is_refused_not_seeded(pg_schema: pg.PgSchema, tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailableError, match=r"not a hetsock store \(seed one with"):
        open_store(StoreConfig(dsn=pg_schema.url))
    config = tmp_path / "hetsock.toml"
    config.write_text(f'[store]\ndsn = "{pg_schema.url}"\n')
    assert main(["check", "--respond", "--config", str(config), str(DATA / "hets" / "specimen.270")]) == 2
    with pg_schema.connect() as connection:
        assert connection.execute("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()").fetchone() == (
            0,
        )


def test_sqlite_needs_no_psycopg(tmp_path: Path) -> None:
    program = f"""
import sys
sys.modules["psycopg"] = None  # any import of psycopg now fails
sys.modules["psycopg_pool"] = None
import hetsock.cli, hetsock.cli_seed, hetsock.pipeline
from hetsock.config import StoreConfig
from hetsock.eligibility.store import StoreUnavailableError, open_store
store = open_store(StoreConfig(path={str(tmp_path / "s.sqlite3")!r}, demo_beneficiaries=20))
assert store.count() == 20
store.close()
try:
    open_store(StoreConfig(dsn="postgresql://h/db"))
except StoreUnavailableError as error:
    assert "postgres extra" in str(error), error
else:
    raise AssertionError("no error")
"""
    subprocess.run([sys.executable, "-c", program], check=True, timeout=60)


def _wait_for(condition: Any, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def _lock_waiters(schema: pg.PgSchema) -> int:
    with schema.connect() as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'hetsock' AND wait_event_type = 'Lock'"
        ).fetchone()
    return int(row[0]) if row else 0


def _store_backends(schema: pg.PgSchema) -> set[int]:
    with schema.connect() as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'hetsock'"
        ).fetchall()
    return {int(row[0]) for row in rows}
