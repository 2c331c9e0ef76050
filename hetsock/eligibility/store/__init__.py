"""Beneficiary stores: the :class:`BeneficiaryStore` contract, its implementations, and the choice.

``base`` holds the contract (:class:`BeneficiaryStore`, :class:`Lookup`,
:class:`StoreUnavailableError`); ``sqlite`` the SQLite store (:class:`SqliteStore`) and
``postgres`` the PostgreSQL one (:class:`PostgresStore`), each imported from its module only when
used, so a deployment that never uses one never imports it (and runs without psycopg installed).

:func:`open_store` opens the store a configuration's ``[store]`` section names: PostgreSQL when
``dsn`` is set, else the SQLite file at ``path``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hetsock.eligibility.store.base import BeneficiaryStore, Lookup, StoreUnavailableError

if TYPE_CHECKING:
    from hetsock.config import StoreConfig
    from hetsock.eligibility.store.postgres import PostgresStore

__all__ = ["BeneficiaryStore", "Lookup", "StoreUnavailableError", "is_postgres_dsn", "open_store", "postgres_store"]

#: What a PostgreSQL store's location starts with on the command line (``--store``).
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_dsn(target: str) -> bool:
    """Whether a store location (``--store``) is a PostgreSQL URL rather than a SQLite file."""
    return target.startswith(POSTGRES_SCHEMES)


def postgres_store() -> type[PostgresStore]:
    """The :class:`~hetsock.eligibility.store.postgres.PostgresStore` class, imported now.
    Raises :class:`StoreUnavailableError` if psycopg is not installed (the ``postgres`` extra)."""
    try:
        from hetsock.eligibility.store.postgres import PostgresStore
    except ImportError as error:
        raise StoreUnavailableError(
            f"a PostgreSQL store needs the postgres extra (pip install 'hetsock[postgres]'): {error}"
        ) from None
    return PostgresStore


def open_store(settings: StoreConfig, *, pool_size: int = 8) -> BeneficiaryStore:
    """The store ``settings`` (a configuration's ``[store]`` section) names, open for lookups.

    ``dsn`` set: the PostgreSQL store there, opened read-write (pending migrations applied); it
    must exist already (``hetsock seed --store URL``): the server never seeds a database. Else the
    SQLite file at ``path``, created with ``demo_beneficiaries`` synthetic people if missing.
    ``pool_size``: PostgreSQL connections at most (the server passes its ``store_threads``, one
    per lookup in progress). Raises :class:`StoreUnavailableError`.
    """
    if settings.dsn:
        return postgres_store().open(settings.dsn, max_size=pool_size)
    from hetsock.cli_seed import ensure_demo_store  # imports the SQLite store and the generator

    return ensure_demo_store(settings.path, beneficiaries=settings.demo_beneficiaries)
