"""What only the SQLite store has: a file (WAL, locks, pages, a missing or foreign file), and
``hetsock seed`` building it aside and moving it into place. Real files, no mocks.

The contract every store keeps (lookups, aliases, count, writes, schema versions, seeding) runs
on SQLite and PostgreSQL alike in test_store.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from hetsock.cli_seed import StoreExistsError, ensure_demo_store, seed_store
from hetsock.eligibility import fixtures
from hetsock.eligibility.beneficiary import Beneficiary
from hetsock.eligibility.store import Lookup, StoreUnavailableError
from hetsock.eligibility.store.sqlite import MIGRATIONS, SCHEMA_VERSION, SqliteStore


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


def test_lookup_queries_are_primary_key_searches(store: SqliteStore, path: Path) -> None:
    from hetsock.eligibility.store import sqlite as module

    connection = _raw(path)
    for query in (module._SELECT_CURRENT, module._SELECT_BY_PREVIOUS):
        plan = " / ".join(row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {query}", ("X",)))
        assert "SCAN" not in plan
        assert plan.count("USING PRIMARY KEY") == plan.count("SEARCH") >= 1
    connection.close()


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


# Seeding a file: built aside, moved into place, never over a file that is not a store.


# Snapshots: a reader keeps one read transaction for SNAPSHOT_SECONDS (module header).


def _renamed(first_name: str) -> Beneficiary:
    return attrs.evolve(fixtures.DOE_JANE, first_name=first_name)


def _first_name(store: SqliteStore) -> str:
    """The first name the store holds for the fixture DOE_JANE."""
    found = store.lookup(fixtures.DOE_JANE.mbi)
    assert found is not None
    return found.beneficiary.first_name


def test_a_reader_keeps_its_snapshot_for_a_second_then_sees_other_writers(path: Path, store: SqliteStore) -> None:
    now = [100.0]
    reader = SqliteStore.open(path, read_only=True, clock=lambda: now[0])
    try:
        assert _first_name(reader) == fixtures.DOE_JANE.first_name
        store.write([_renamed("JUNE")])  # another store object: another process, in effect
        now[0] += 0.999
        assert _first_name(reader) == fixtures.DOE_JANE.first_name
        assert reader.count() == len(fixtures.BENEFICIARIES)
        now[0] += 0.001  # the snapshot is a second old: the next lookup takes a fresh one
        assert _first_name(reader) == "JUNE"
    finally:
        reader.close()


def test_a_store_sees_its_own_writes_at_once(path: Path) -> None:
    with SqliteStore.open(path, create=True, clock=lambda: 0.0) as store:  # the clock never moves
        store.write(fixtures.BENEFICIARIES)
        assert store.count() == len(fixtures.BENEFICIARIES)
        store.write([_renamed("JUNE")])
        assert _first_name(store) == "JUNE"


def test_snapshot_seconds_zero_reads_every_commit(path: Path, store: SqliteStore) -> None:
    with SqliteStore.open(path, read_only=True, snapshot_seconds=0.0, clock=lambda: 0.0) as reader:
        assert reader.lookup(fixtures.DOE_JANE.mbi) is not None
        store.write([_renamed("JUNE")])
        assert _first_name(reader) == "JUNE"


def test_a_held_snapshot_does_not_stop_writers_and_the_checkpoint_catches_up(path: Path, store: SqliteStore) -> None:
    def checkpoint() -> tuple[int, int]:
        connection = _raw(path)
        try:
            _, log, done = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            connection.close()
        return log, done

    now = [0.0]
    with SqliteStore.open(path, read_only=True, clock=lambda: now[0]) as reader:
        assert reader.lookup(fixtures.DOE_JANE.mbi) is not None  # holds its snapshot from here
        for n in range(3):
            store.write([_renamed(f"JUNE{n}")])  # not blocked by the reader
        log, done = checkpoint()
        assert done < log  # the frames after the reader's snapshot stay in the WAL meanwhile
        now[0] += 1.0
        assert _first_name(reader) == "JUNE2"  # the old snapshot is let go
        log, done = checkpoint()
        assert done == log  # the new snapshot is of the latest commit: the WAL is copied back whole


def test_seeding_leaves_only_the_store(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "dir" / "demo.sqlite3"  # missing directories are created
    assert seed_store(target, 300, seed=5).where == str(target)
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary or WAL files left
    assert seed_store(target, 400, replace=True).beneficiaries == 400
    assert [p.name for p in target.parent.iterdir()] == [target.name]


def test_seeding_never_overwrites_a_file_that_is_not_a_store(path: Path) -> None:
    path.write_bytes(b"precious notes")
    with pytest.raises(StoreExistsError, match="not a usable store"):
        seed_store(path, 30)
    assert path.read_bytes() == b"precious notes"
    assert seed_store(path, 30, replace=True).beneficiaries == 30


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


def test_a_document_filed_as_text_reads_as_its_bytes_and_a_number_is_a_fault(path: Path) -> None:
    import orjson

    with SqliteStore.open(path, create=True) as store:
        store.write([fixtures.DOE_JANE, fixtures.POE_MARY])
    document = orjson.dumps(fixtures.DOE_JANE.to_document())
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE beneficiary SET doc = ? WHERE mbi = ?", (document.decode(), fixtures.DOE_JANE.mbi))
        connection.execute("UPDATE beneficiary SET doc = 5 WHERE mbi = ?", (fixtures.POE_MARY.mbi,))
    connection.close()
    with SqliteStore.open(path, read_only=True) as store:
        assert store.lookup_encoded(fixtures.DOE_JANE.mbi) == (document, False)
        assert store.lookup(fixtures.DOE_JANE.mbi) == Lookup(fixtures.DOE_JANE, via_previous_mbi=False)
        with pytest.raises(StoreUnavailableError, match="does not decode") as caught:
            store.lookup(fixtures.POE_MARY.mbi)
        assert fixtures.POE_MARY.last_name not in str(caught.value)
