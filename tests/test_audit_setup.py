"""Opening a worker's audit trail on a fresh machine: missing directories are made (a PostgreSQL
store leaves no ``data/`` directory behind for the default key and database paths)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hetsock.audit.database import PAIR_INDEX, AuditDatabaseError
from hetsock.config import AuditConfig, Config, EnforcementConfig
from hetsock.server.operations import prepare


def test_prepare_makes_the_directories_it_needs(tmp_path: Path) -> None:
    audit = AuditConfig(path=tmp_path / "a" / "b" / "audit.sqlite3", secret_file=tmp_path / "c" / "audit.key")
    operations = prepare(Config(audit=audit))
    try:
        assert (tmp_path / "a" / "b" / "audit.sqlite3").exists()
        assert (tmp_path / "c" / "audit.key").stat().st_mode & 0o777 == 0o600
    finally:
        operations.close()


def test_a_directory_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    audit = AuditConfig(path=blocker / "audit.sqlite3", secret_file=tmp_path / "audit.key")
    with pytest.raises(AuditDatabaseError, match="cannot create its directory"):
        prepare(Config(audit=audit))


@pytest.mark.parametrize("enforcing", [False, True])
def test_the_pair_index_is_made_where_enforcement_is_on(
    tmp_path: Path, enforcing: bool, caplog: pytest.LogCaptureFixture
) -> None:
    audit = AuditConfig(path=tmp_path / "audit.sqlite3", secret_file=tmp_path / "audit.key")
    config = Config(audit=audit, enforcement=EnforcementConfig(enabled=enforcing))
    for _ in range(2):  # the second start finds it made
        prepare(config).close()
    with sqlite3.connect(tmp_path / "audit.sqlite3") as connection:
        made = connection.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (PAIR_INDEX,)).fetchone()
    connection.close()
    assert (made is not None) is enforcing
    created = [r for r in caplog.records if r.getMessage() == "audit-pair-index-created"]
    assert len(created) == (1 if enforcing else 0)
