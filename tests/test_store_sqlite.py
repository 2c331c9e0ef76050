"""The SQLite beneficiary store and ``hetsock seed``, on real files (no mocks)."""

from __future__ import annotations

import argparse
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import attrs
import orjson
import pytest

from hetsock.cli_seed import (
    EXIT_OK,
    EXIT_REFUSED,
    StoreExistsError,
    add_seed_command,
    ensure_demo_store,
    seed_store,
)
from hetsock.eligibility import fixtures
from hetsock.eligibility.beneficiary import Beneficiary
from hetsock.eligibility.store import BeneficiaryStore, Lookup, StoreUnavailableError
from hetsock.eligibility.store.sqlite import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Migration,
    SqliteStore,
    apply_migrations,
)
from hetsock.eligibility.synth import generate_documents

UNKNOWN_MBI = "1AA0AA0AA00"  # valid format, on file nowhere


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3"


@pytest.fixture
def store(path: Path) -> Iterator[SqliteStore]:
    with SqliteStore.open(path, create=True) as opened:
        opened.write(fixtures.BENEFICIARIES)
        yield opened


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def test_the_store_satisfies_the_protocol(store: SqliteStore) -> None:
    protocol: BeneficiaryStore = store
    assert protocol.count() == len(fixtures.BENEFICIARIES)


@pytest.mark.parametrize("beneficiary", fixtures.BENEFICIARIES, ids=lambda b: b.last_name)
def test_every_fixture_is_found_by_its_mbi(store: SqliteStore, beneficiary: Beneficiary) -> None:
    assert store.lookup(beneficiary.mbi) == Lookup(beneficiary, via_previous_mbi=False)


def test_an_earlier_mbi_finds_the_current_record(store: SqliteStore) -> None:
    assert store.lookup("9EG4TE5MK71") == Lookup(fixtures.HOE_GEORGE, via_previous_mbi=True)
    assert fixtures.HOE_GEORGE.mbi == "8EG4TE5MK70"


@pytest.mark.parametrize("mbi", [UNKNOWN_MBI, "", "not an mbi", "1eg4te5mk73"])
def test_an_unknown_mbi_is_none(store: SqliteStore, mbi: str) -> None:
    assert store.lookup(mbi) is None


def test_count_and_rewrites(store: SqliteStore) -> None:
    assert store.count() == len(fixtures.BENEFICIARIES)
    assert store.write(fixtures.BENEFICIARIES) == len(fixtures.BENEFICIARIES)  # replaces, adds nobody
    assert store.count() == len(fixtures.BENEFICIARIES)
    moved = attrs.evolve(fixtures.DOE_JANE, last_name="DOE SMITH")
    store.write([moved.to_document()])  # documents are accepted too
    assert store.lookup(moved.mbi) == Lookup(moved, via_previous_mbi=False)
    assert store.count() == len(fixtures.BENEFICIARIES)


def test_a_changed_mbi_retires_the_old_row(store: SqliteStore) -> None:
    changed = attrs.evolve(fixtures.POE_MARY, mbi="3AA0AA0AA01", previous_mbis=(fixtures.POE_MARY.mbi,))
    store.write([changed], batch=1)
    assert store.count() == len(fixtures.BENEFICIARIES)
    assert store.lookup(fixtures.POE_MARY.mbi) == Lookup(changed, via_previous_mbi=True)
    assert store.lookup("3AA0AA0AA01") == Lookup(changed, via_previous_mbi=False)


def test_lookup_queries_are_primary_key_searches(store: SqliteStore, path: Path) -> None:
    from hetsock.eligibility.store import sqlite as module

    connection = _raw(path)
    for query in (module._SELECT_CURRENT, module._SELECT_BY_PREVIOUS):
        plan = " / ".join(row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {query}", ("X",)))
        assert "SCAN" not in plan
        assert plan.count("USING PRIMARY KEY") == plan.count("SEARCH") >= 1
    connection.close()


def test_reopening_keeps_everything(path: Path, store: SqliteStore) -> None:
    store.close()
    with SqliteStore.open(path, read_only=True) as reopened:
        assert reopened.count() == len(fixtures.BENEFICIARIES)
        for beneficiary in fixtures.BENEFICIARIES:
            assert reopened.lookup(beneficiary.mbi) == Lookup(beneficiary, via_previous_mbi=False)
        with pytest.raises(StoreUnavailableError, match="read-only"):
            reopened.write(fixtures.BENEFICIARIES)


def test_file_settings_and_schema_version(path: Path, store: SqliteStore) -> None:
    connection = _raw(path)
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rows = connection.execute("SELECT version, description, applied FROM schema_version").fetchall()
    assert [(version, description) for version, description, _ in rows] == [
        (m.version, m.description) for m in MIGRATIONS
    ]
    assert rows[-1][0] == SCHEMA_VERSION
    assert all(len(applied) == 20 and applied.endswith("Z") for _, _, applied in rows)
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"beneficiary", "mbi_alias", "schema_version"} <= tables
    connection.close()


def test_migrations_are_idempotent_and_append_only(path: Path, store: SqliteStore) -> None:
    store.close()
    for _ in range(2):
        SqliteStore.open(path).close()
    connection = _raw(path)
    assert connection.execute("SELECT count(*) FROM schema_version").fetchone()[0] == len(MIGRATIONS)
    assert apply_migrations(connection) == ()
    later = (*MIGRATIONS, Migration(len(MIGRATIONS) + 1, "a later step", ("CREATE TABLE later(x)",)))
    assert apply_migrations(connection, later) == (len(MIGRATIONS) + 1,)
    assert apply_migrations(connection, later) == ()
    with pytest.raises(ValueError, match="numbered"):
        apply_migrations(connection, later[1:])
    connection.close()
    with pytest.raises(StoreUnavailableError, match="newer"):  # written by a later hetsock
        SqliteStore.open(path)
    with pytest.raises(StoreUnavailableError, match="schema version"):
        SqliteStore.open(path, read_only=True)


def test_a_failed_migration_changes_nothing(path: Path, store: SqliteStore) -> None:
    store.close()
    connection = _raw(path)
    broken = (*MIGRATIONS, Migration(len(MIGRATIONS) + 1, "broken", ("CREATE TABLE half(x)", "NOT SQL")))
    with pytest.raises(sqlite3.OperationalError):
        apply_migrations(connection, broken)
    assert connection.execute("SELECT max(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    assert connection.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half'").fetchone()[0] == 0
    connection.close()


# Failures. open() raises StoreUnavailableError for a missing file, a file that is not SQLite or
# not a hetsock store, a lock held past the busy timeout, or an unknown schema version; lookup()
# raises it for pages or documents that do not read, and on a closed store.


def test_a_missing_file_is_unavailable_at_open_and_not_created(path: Path) -> None:
    for read_only in (False, True):
        with pytest.raises(StoreUnavailableError, match="unable to open"):
            SqliteStore.open(path, read_only=read_only)
    assert not path.exists()
    with pytest.raises(ValueError, match="read-only"):
        SqliteStore.open(path, create=True, read_only=True)


def test_a_file_that_is_not_a_store_is_unavailable_at_open(path: Path) -> None:
    path.write_bytes(b"this is not an SQLite database, just bytes\n" * 200)
    for read_only in (False, True):
        with pytest.raises(StoreUnavailableError, match="not a database"):
            SqliteStore.open(path, read_only=read_only)
    path.unlink()
    other = _raw(path)
    other.execute("CREATE TABLE unrelated(x)")
    other.close()
    for create in (False, True):
        with pytest.raises(StoreUnavailableError, match="not a hetsock store"):
            SqliteStore.open(path, create=create)
    with pytest.raises(StoreUnavailableError, match="not a hetsock store"):
        SqliteStore.open(path, read_only=True)


def test_an_empty_file_becomes_a_store_only_when_asked(path: Path) -> None:
    path.touch()
    with pytest.raises(StoreUnavailableError, match="not a hetsock store"):
        SqliteStore.open(path)
    with SqliteStore.open(path, create=True) as created:
        assert created.count() == 0
        assert created.lookup(fixtures.DOE_JANE.mbi) is None


def test_a_lock_held_past_the_timeout_is_unavailable_at_open(path: Path, store: SqliteStore) -> None:
    store.close()
    holder = _raw(path)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        for read_only in (False, True):
            with pytest.raises(StoreUnavailableError, match="locked"):
                SqliteStore.open(path, read_only=read_only, busy_timeout=0.05)
    finally:
        holder.execute("COMMIT")
        holder.close()


def test_corrupt_pages_are_unavailable_at_lookup(path: Path, store: SqliteStore) -> None:
    store.close()  # checkpoints everything into the file
    with SqliteStore.open(path, read_only=True) as reopened:
        with path.open("r+b") as raw:  # overwrite every page after the first
            raw.seek(8192)
            raw.write(b"\xff" * (path.stat().st_size - 8192))
        with pytest.raises(StoreUnavailableError, match="malformed") as caught:
            reopened.lookup(fixtures.DOE_JANE.mbi)
        assert fixtures.DOE_JANE.mbi not in str(caught.value)


def test_a_corrupt_document_is_unavailable_at_lookup(path: Path, store: SqliteStore) -> None:
    connection = _raw(path)
    connection.execute("UPDATE beneficiary SET doc = ? WHERE mbi = ?", (b"{not json", fixtures.DOE_JANE.mbi))
    connection.execute("UPDATE beneficiary SET doc = ? WHERE mbi = ?", (b'{"v": 1}', fixtures.POE_MARY.mbi))
    connection.close()
    for beneficiary in (fixtures.DOE_JANE, fixtures.POE_MARY):
        with pytest.raises(StoreUnavailableError, match="does not decode") as caught:
            store.lookup(beneficiary.mbi)
        assert beneficiary.mbi not in str(caught.value)
    assert store.lookup(fixtures.ROE_RICHARD.mbi) is not None


def test_a_closed_store_is_unavailable(store: SqliteStore) -> None:
    store.close()
    store.close()  # harmless
    with pytest.raises(StoreUnavailableError, match="closed"):
        store.lookup(fixtures.DOE_JANE.mbi)
    with pytest.raises(StoreUnavailableError, match="closed"):
        store.count()
    with pytest.raises(StoreUnavailableError, match="closed"):
        store.write(fixtures.BENEFICIARIES)


# Concurrency (WAL): readers see committed data while a write transaction is open, and never wait.


def test_readers_do_not_wait_for_an_open_write_transaction(path: Path, store: SqliteStore) -> None:
    newcomer = attrs.evolve(fixtures.DOE_JANE, mbi="1AA0AA0AA02", first_name="JUNE")
    reader = SqliteStore.open(path, read_only=True, busy_timeout=0.01)  # would fail if it had to wait
    writer = _raw(path)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(
            "INSERT INTO beneficiary(mbi, doc) VALUES (?, ?)", (newcomer.mbi, orjson.dumps(newcomer.to_document()))
        )
        writer.execute("UPDATE beneficiary SET doc = ? WHERE mbi = ?", (b"{}", fixtures.DOE_JANE.mbi))
        for looking in (reader, store):
            assert looking.lookup(newcomer.mbi) is None  # not committed yet
            assert looking.lookup(fixtures.DOE_JANE.mbi) == Lookup(fixtures.DOE_JANE, via_previous_mbi=False)
        writer.execute("ROLLBACK")
        store_writes = threading.Thread(target=store.write, args=([newcomer],))
        writer.execute("BEGIN IMMEDIATE")  # the store's writer now waits for this one
        store_writes.start()
        assert reader.lookup(fixtures.ROE_RICHARD.mbi) is not None
        writer.execute("COMMIT")
        store_writes.join(timeout=10)
        assert reader.lookup(newcomer.mbi) == Lookup(newcomer, via_previous_mbi=False)  # committed: visible
    finally:
        writer.close()
        reader.close()


def test_lookups_from_many_threads(store: SqliteStore) -> None:
    failures: list[BaseException] = []

    def look() -> None:
        try:
            for _ in range(50):
                for beneficiary in fixtures.BENEFICIARIES:
                    found = store.lookup(beneficiary.mbi)
                    assert found is not None
                    assert found.beneficiary == beneficiary
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=look) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


# Seeding: the synthetic population in a store, and ``hetsock seed``.


def test_a_seeded_store_holds_the_population(path: Path) -> None:
    report = seed_store(path, 3_000, seed=5)
    assert report.beneficiaries == 3_000
    assert report.rate > 0
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary or WAL files left
    documents = list(generate_documents(3_000, 5))
    with SqliteStore.open(path, read_only=True) as seeded:
        assert seeded.count() == 3_000
        for doc in documents[::97]:
            found = seeded.lookup(doc["mbi"])
            assert found is not None
            assert found.beneficiary.to_document() == doc
        for doc in documents:
            for earlier in doc.get("prev", ()):
                found = seeded.lookup(earlier)
                assert found is not None
                assert found.via_previous_mbi
                assert found.beneficiary.mbi == doc["mbi"]


def test_worker_processes_build_the_same_file_content(tmp_path: Path) -> None:
    serial, parallel = tmp_path / "serial.sqlite3", tmp_path / "parallel.sqlite3"
    seed_store(serial, 21_000, seed=3, workers=0)
    seed_store(parallel, 21_000, seed=3, workers=2)

    def content(path: Path) -> list[tuple[str, bytes]]:
        connection = _raw(path)
        rows = connection.execute("SELECT mbi, doc FROM beneficiary ORDER BY mbi").fetchall()
        rows += connection.execute("SELECT previous_mbi, mbi FROM mbi_alias ORDER BY 1").fetchall()
        connection.close()
        return rows

    assert content(serial) == content(parallel)


def test_seeding_refuses_a_populated_store_unless_replacing(path: Path) -> None:
    seed_store(path, 20)
    with pytest.raises(StoreExistsError, match="already holds 20"):
        seed_store(path, 30)
    assert seed_store(path, 30, replace=True).beneficiaries == 30
    with SqliteStore.open(path) as replaced:
        assert replaced.count() == 30
    path.write_bytes(b"precious notes")
    with pytest.raises(StoreExistsError, match="not a usable store"):
        seed_store(path, 30)
    assert path.read_bytes() == b"precious notes"


def test_the_seed_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="hetsock")
    add_seed_command(parser.add_subparsers(dest="command", required=True))
    target = tmp_path / "nested" / "dir" / "demo.sqlite3"

    def run(*argv: str) -> int:
        args = parser.parse_args(["seed", *argv])
        status: int = args.handler(args)
        return status

    assert run("--beneficiaries", "500", "--seed", "9", "--store", str(target)) == EXIT_OK
    out = capsys.readouterr().out
    assert "seeded 500 beneficiaries" in out
    assert "per second" in out
    assert run("--beneficiaries", "600", "--store", str(target)) == EXIT_REFUSED
    assert "--replace" in capsys.readouterr().err
    assert run("--beneficiaries", "600", "--store", str(target), "--replace") == EXIT_OK
    with SqliteStore.open(target, read_only=True) as seeded:
        assert seeded.count() == 600
    assert parser.parse_args(["seed", "--beneficiaries", "1"]).store == Path("data/hetsock.sqlite3")


def test_ensure_demo_store_seeds_once(path: Path) -> None:
    with ensure_demo_store(path, beneficiaries=200, seed=1) as first:
        assert first.count() == 200
        assert first.lookup(fixtures.DOE_JANE.mbi) == Lookup(fixtures.DOE_JANE, via_previous_mbi=False)
        first.write([attrs.evolve(fixtures.DOE_JANE, first_name="JOAN")])
    with ensure_demo_store(path, beneficiaries=500, seed=2) as again:  # exists: opened, not reseeded
        assert again.count() == 200
        found = again.lookup(fixtures.DOE_JANE.mbi)
        assert found is not None
        assert found.beneficiary.first_name == "JOAN"
