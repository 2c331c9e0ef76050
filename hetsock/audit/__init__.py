"""The audit trail, CMS-style monitoring and enforcement (README, "Audit trail").

``record`` (the audit record, the MBI's keyed hash), ``database`` (the interface a database
implements), ``sqlite`` (the SQLite database), ``postgres`` (the PostgreSQL one),
``enforcement`` (the rules that suspend), ``report`` (the per-submitter report) are plain
Python; ``trail`` holds the trio tasks that write the trail off the request path and keep
suspensions applied.

:func:`open_audit_database` opens the database a configuration's ``[audit]`` section names:
PostgreSQL when ``dsn`` is set, else the SQLite file. Each backend is imported only when used,
so a deployment on SQLite runs without psycopg.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hetsock.audit.database import AuditDatabase
    from hetsock.config import Config

__all__ = ["open_audit_database"]


def open_audit_database(config: Config, *, create: bool = True) -> AuditDatabase:
    """The audit database ``config`` names: ``[audit] dsn`` (PostgreSQL) if set, else the SQLite
    file :attr:`Config.audit_path <hetsock.config.Config.audit_path>`; migrated to the current
    schema. ``create``: make it if there is none (else that is an error). Raises
    :class:`~hetsock.audit.database.AuditDatabaseError`, also when the ``postgres`` extra is missing.
    """
    from hetsock.audit.database import AuditDatabaseError

    if config.audit.dsn:
        try:
            from hetsock.audit.postgres import PostgresAuditDatabase
        except ImportError as error:
            raise AuditDatabaseError(
                f"a PostgreSQL audit database needs the postgres extra (pip install 'hetsock[postgres]'): {error}"
            ) from None
        return PostgresAuditDatabase.open(config.audit.dsn, create=create)
    from hetsock.audit.sqlite import SqliteAuditDatabase

    return SqliteAuditDatabase.open(config.audit_path, create=create)
