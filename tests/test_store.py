"""The beneficiary store contract, on every backend: SQLite (a file) and PostgreSQL (a schema).

Real databases, no mocks. Each test runs once per backend (``[sqlite]``, ``[postgres]``); the
PostgreSQL runs skip without a server, or fail with HETSOCK_REQUIRE_POSTGRES=1 (see pg.py).
What only one backend has (a file's WAL and locks; a server's pool, timeouts and query plans)
is tested in test_store_sqlite.py and test_store_postgres.py.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Iterator
from pathlib import Path

import attrs
import orjson
import pytest
from stores import Backend, PostgresBackend, SqliteBackend, WritableStore

from hetsock.cli_seed import EXIT_OK, EXIT_REFUSED, StoreExistsError, add_seed_command
from hetsock.eligibility import fixtures
from hetsock.eligibility.beneficiary import Beneficiary
from hetsock.eligibility.store import BeneficiaryStore, Lookup, StoreUnavailableError
from hetsock.eligibility.synth import generate_documents

UNKNOWN_MBI = "1AA0AA0AA00"  # valid format, on file nowhere


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return SqliteBackend(tmp_path / "store.sqlite3")
    return PostgresBackend(request.getfixturevalue("pg_schema"))


@pytest.fixture
def store(backend: Backend) -> Iterator[WritableStore]:
    with backend.open(create=True) as opened:
        opened.write(fixtures.BENEFICIARIES)
        yield opened


def test_the_store_satisfies_the_protocol(store: WritableStore) -> None:
    protocol: BeneficiaryStore = store
    assert protocol.count() == len(fixtures.BENEFICIARIES)
    assert isinstance(protocol.blocking, bool)


@pytest.mark.parametrize("beneficiary", fixtures.BENEFICIARIES, ids=lambda b: b.last_name)
def test_every_fixture_is_found_by_its_mbi(store: WritableStore, beneficiary: Beneficiary) -> None:
    assert store.lookup(beneficiary.mbi) == Lookup(beneficiary, via_previous_mbi=False)


def test_an_earlier_mbi_finds_the_current_record(store: WritableStore) -> None:
    assert store.lookup("9EG4TE5MK71") == Lookup(fixtures.HOE_GEORGE, via_previous_mbi=True)
    assert fixtures.HOE_GEORGE.mbi == "8EG4TE5MK70"


@pytest.mark.parametrize("mbi", [UNKNOWN_MBI, "", "not an mbi", "1eg4te5mk73", "1EG4TE5MK73 ", "x" * 1000])
def test_an_unknown_mbi_is_none(store: WritableStore, mbi: str) -> None:
    assert store.lookup(mbi) is None


def test_count_and_rewrites(store: WritableStore) -> None:
    assert store.count() == len(fixtures.BENEFICIARIES)
    assert store.write(fixtures.BENEFICIARIES) == len(fixtures.BENEFICIARIES)  # replaces, adds nobody
    assert store.count() == len(fixtures.BENEFICIARIES)
    moved = attrs.evolve(fixtures.DOE_JANE, last_name="DOE SMITH")
    store.write([moved.to_document()])  # documents are accepted too
    assert store.lookup(moved.mbi) == Lookup(moved, via_previous_mbi=False)
    assert store.count() == len(fixtures.BENEFICIARIES)


def test_a_changed_mbi_retires_the_old_row(store: WritableStore) -> None:
    changed = attrs.evolve(fixtures.POE_MARY, mbi="3AA0AA0AA01", previous_mbis=(fixtures.POE_MARY.mbi,))
    store.write([changed], batch=1)
    assert store.count() == len(fixtures.BENEFICIARIES)
    assert store.lookup(fixtures.POE_MARY.mbi) == Lookup(changed, via_previous_mbi=True)
    assert store.lookup("3AA0AA0AA01") == Lookup(changed, via_previous_mbi=False)


def test_reopening_keeps_everything(backend: Backend, store: WritableStore) -> None:
    store.close()
    with backend.open(read_only=True) as reopened:
        assert reopened.count() == len(fixtures.BENEFICIARIES)
        for beneficiary in fixtures.BENEFICIARIES:
            assert reopened.lookup(beneficiary.mbi) == Lookup(beneficiary, via_previous_mbi=False)
        with pytest.raises(StoreUnavailableError, match="read-only"):
            reopened.write(fixtures.BENEFICIARIES)


def test_documents_are_filed_as_encoded(backend: Backend, store: WritableStore) -> None:
    content = dict(row for row in backend.content() if isinstance(row[1], bytes))
    for beneficiary in fixtures.BENEFICIARIES:
        assert bytes(content[beneficiary.mbi]) == orjson.dumps(beneficiary.to_document())


def test_the_stored_bytes_are_what_lookups_decode(store: WritableStore) -> None:
    """lookup_encoded (what the C path reads) gives the filed bytes, under the current and an
    earlier MBI; lookup_document is their decoding."""
    for beneficiary in fixtures.BENEFICIARIES:
        assert store.lookup_encoded(beneficiary.mbi) == (orjson.dumps(beneficiary.to_document()), False)
        assert store.lookup_document(beneficiary.mbi) == (beneficiary.to_document(), False)
    found = store.lookup_encoded("9EG4TE5MK71")  # HOE_GEORGE's earlier MBI
    assert found == (orjson.dumps(fixtures.HOE_GEORGE.to_document()), True)
    assert store.lookup_encoded(UNKNOWN_MBI) is None
    assert store.lookup_document(UNKNOWN_MBI) is None


# Schema versions: recorded, applied once, append-only; a newer store is refused.


def test_the_schema_version_is_recorded(backend: Backend, store: WritableStore) -> None:
    connection = backend.raw()
    try:
        rows = connection.execute("SELECT version, description FROM schema_version ORDER BY version").fetchall()
    finally:
        connection.close()
    migrations = backend.module.MIGRATIONS
    assert [tuple(row) for row in rows] == [(m.version, m.description) for m in migrations]
    assert rows[-1][0] == backend.module.SCHEMA_VERSION


def test_migrations_are_idempotent_and_append_only(backend: Backend, store: WritableStore) -> None:
    store.close()
    for _ in range(2):
        backend.open().close()
    module = backend.module
    assert backend.scalar("SELECT count(*) FROM schema_version") == len(module.MIGRATIONS)
    connection = backend.raw()
    try:
        assert module.apply_migrations(connection) == ()
        later = (
            *module.MIGRATIONS,
            module.Migration(len(module.MIGRATIONS) + 1, "a later step", ("CREATE TABLE later(x integer)",)),
        )
        assert module.apply_migrations(connection, later) == (len(module.MIGRATIONS) + 1,)
        assert module.apply_migrations(connection, later) == ()
        with pytest.raises(ValueError, match="numbered"):
            module.apply_migrations(connection, later[1:])
    finally:
        connection.close()
    with pytest.raises(StoreUnavailableError, match="newer"):  # written by a later hetsock
        backend.open()
    with pytest.raises(StoreUnavailableError, match="schema version"):
        backend.open(read_only=True)


def test_a_failed_migration_changes_nothing(backend: Backend, store: WritableStore) -> None:
    store.close()
    module = backend.module
    broken = (
        *module.MIGRATIONS,
        module.Migration(len(module.MIGRATIONS) + 1, "broken", ("CREATE TABLE half(x integer)", "NOT SQL")),
    )
    connection = backend.raw()
    try:
        with pytest.raises(backend.driver_error):
            module.apply_migrations(connection, broken)
    finally:
        connection.close()
    assert backend.scalar("SELECT max(version) FROM schema_version") == module.SCHEMA_VERSION
    with pytest.raises(backend.driver_error):
        backend.scalar("SELECT count(*) FROM half")
    with backend.open() as reopened:
        assert reopened.count() == len(fixtures.BENEFICIARIES)


# Not a store: an empty location only becomes one when asked; one holding other tables never does.


def test_an_empty_location_is_a_store_only_when_created(backend: Backend) -> None:
    for read_only in (False, True):
        with pytest.raises(StoreUnavailableError):
            backend.open(read_only=read_only)
    with pytest.raises(ValueError, match="read-only"):
        backend.open(create=True, read_only=True)
    with backend.open(create=True) as created:
        assert created.count() == 0
        assert created.lookup(fixtures.DOE_JANE.mbi) is None


def test_a_location_holding_other_tables_is_not_a_store(backend: Backend) -> None:
    backend.add_unrelated_table()
    for create in (False, True):
        with pytest.raises(StoreUnavailableError, match="not a hetsock store"):
            backend.open(create=create)
    with pytest.raises(StoreUnavailableError, match="not a hetsock store"):
        backend.open(read_only=True)


# Failures at lookup: a document that does not decode, a closed store. Never patient data in the message.


def test_a_corrupt_document_is_unavailable_at_lookup(backend: Backend, store: WritableStore) -> None:
    backend.set_document(fixtures.DOE_JANE.mbi, b"{not json")
    backend.set_document(fixtures.POE_MARY.mbi, b'{"v": 1}')
    for beneficiary in (fixtures.DOE_JANE, fixtures.POE_MARY):
        with pytest.raises(StoreUnavailableError, match="does not decode") as caught:
            store.lookup(beneficiary.mbi)
        assert beneficiary.mbi not in str(caught.value)
        assert beneficiary.last_name not in str(caught.value)
    assert store.lookup(fixtures.ROE_RICHARD.mbi) is not None


def test_a_closed_store_is_unavailable(store: WritableStore) -> None:
    store.close()
    store.close()  # harmless
    with pytest.raises(StoreUnavailableError, match="closed"):
        store.lookup(fixtures.DOE_JANE.mbi)
    with pytest.raises(StoreUnavailableError, match="closed"):
        store.count()
    with pytest.raises(StoreUnavailableError, match="closed"):
        store.write(fixtures.BENEFICIARIES)


# Concurrency: readers see committed data while a write transaction is open, and never wait.


def test_readers_do_not_wait_for_an_open_write_transaction(backend: Backend, store: WritableStore) -> None:
    newcomer = attrs.evolve(fixtures.DOE_JANE, mbi="1AA0AA0AA02", first_name="JUNE")
    reader = backend.open(read_only=True, timeout=0.01 if backend.name == "sqlite" else 2.0)  # fails if it waits
    try:
        with backend.write_transaction() as writer:
            writer.put(newcomer.mbi, orjson.dumps(newcomer.to_document()))
            writer.put(fixtures.DOE_JANE.mbi, b"{}")
            for looking in (reader, store):
                assert looking.lookup(newcomer.mbi) is None  # not committed yet
                assert looking.lookup(fixtures.DOE_JANE.mbi) == Lookup(fixtures.DOE_JANE, via_previous_mbi=False)
            writer.rollback()
        with backend.write_transaction() as writer:  # the store's writer now waits for this one
            store_writes = threading.Thread(target=store.write, args=([newcomer],))
            store_writes.start()
            assert reader.lookup(fixtures.ROE_RICHARD.mbi) is not None
            assert store.lookup(newcomer.mbi) is None
            writer.commit()
        store_writes.join(timeout=10)
        assert not store_writes.is_alive()
        backend.advance(1.0)  # another process's commit: visible once the reader's snapshot ends
        assert reader.lookup(newcomer.mbi) == Lookup(newcomer, via_previous_mbi=False)  # committed: visible
        assert store.count() == len(fixtures.BENEFICIARIES) + 1
    finally:
        reader.close()


def test_lookups_from_many_threads(store: WritableStore) -> None:
    failures: list[BaseException] = []

    def look() -> None:
        try:
            for _ in range(20):
                for beneficiary in fixtures.BENEFICIARIES:
                    found = store.lookup(beneficiary.mbi)
                    assert found is not None
                    assert found.beneficiary == beneficiary
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=look) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


# Seeding: the synthetic population in a store, and ``hetsock seed``.


def test_a_seeded_store_holds_the_population(backend: Backend) -> None:
    report = backend.seed(3_000, seed=5)
    assert report.beneficiaries == 3_000
    assert report.rate > 0
    documents = list(generate_documents(3_000, 5))
    with backend.open(read_only=True) as seeded:
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


def test_worker_processes_build_the_same_content(backend: Backend) -> None:
    backend.seed(21_000, seed=3, workers=0)
    serial = backend.content()
    backend.seed(21_000, seed=3, workers=2, replace=True)
    assert backend.content() == serial
    assert len(serial) > 21_000  # the aliases too


def test_seeding_refuses_a_populated_store_unless_replacing(backend: Backend) -> None:
    backend.seed(20)
    with pytest.raises(StoreExistsError, match="already holds 20"):
        backend.seed(30)
    with backend.open() as kept:
        assert kept.count() == 20
    assert backend.seed(30, replace=True).beneficiaries == 30
    with backend.open() as replaced:
        assert replaced.count() == 30


def test_seeding_an_existing_empty_store_needs_no_replace(backend: Backend) -> None:
    backend.open(create=True).close()
    assert backend.seed(25).beneficiaries == 25


def test_the_seed_command(backend: Backend, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="hetsock")
    add_seed_command(parser.add_subparsers(dest="command", required=True))

    def run(*argv: str) -> int:
        args = parser.parse_args(["seed", *argv])
        status: int = args.handler(args)
        return status

    assert run("--beneficiaries", "500", "--seed", "9", "--store", backend.target) == EXIT_OK
    out = capsys.readouterr().out
    assert "seeded 500 beneficiaries" in out
    assert "per second" in out
    assert run("--beneficiaries", "600", "--store", backend.target) == EXIT_REFUSED
    assert "--replace" in capsys.readouterr().err
    assert run("--beneficiaries", "600", "--store", backend.target, "--replace") == EXIT_OK
    with backend.open(read_only=True) as seeded:
        assert seeded.count() == 600
    assert parser.parse_args(["seed", "--beneficiaries", "1"]).store == "data/hetsock.sqlite3"
