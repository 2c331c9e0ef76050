"""Building the pipeline's :class:`~hetsock.pipeline.Services` from the configuration.

One place decides what a server (or ``hetsock check --respond``) answers with: the registry file,
the store (:func:`~hetsock.eligibility.store.open_store`: PostgreSQL when ``[store] dsn`` is set,
else the embedded SQLite store, created with the demo population on first use), the X12 rules,
the receiver ID and the inquiry window. Raises :class:`~hetsock.registry.RegistryError` or
:class:`~hetsock.eligibility.store.base.StoreUnavailableError` when they cannot be loaded.
"""

from __future__ import annotations

from pathlib import Path

from hetsock.config import Config
from hetsock.eligibility.decide import InquiryWindow
from hetsock.eligibility.store import StoreUnavailableError, is_postgres_dsn, open_store
from hetsock.pipeline import Services
from hetsock.registry import Registry
from hetsock.x12.rules import Rules


def open_services(
    config: Config, *, rules: Rules | None = None, receiver_id: str | None = None, store_target: str | None = None
) -> Services:
    """The services ``config`` describes; ``rules``, ``receiver_id`` and ``store_target`` (a
    ``--store`` option: a SQLite file or a ``postgresql://`` URL) override it. A store named by
    ``store_target`` must exist: only the configuration's own path gets the demo store created
    (a misspelt ``--store`` is an error, not a new store of 100,000 people)."""
    if store_target and not is_postgres_dsn(store_target) and not Path(store_target).is_file():
        raise StoreUnavailableError(f"{store_target}: no such store (make one with hetsock seed --store PATH)")
    registry = Registry.from_toml(config.eligibility.registry)
    settings = config.store.at(store_target) if store_target else config.store
    store = open_store(settings, pool_size=config.server.store_threads)
    window = InquiryWindow(config.eligibility.months_back, config.eligibility.months_forward)
    return Services(registry, store, rules or config.x12.rules(), receiver_id or config.x12.receiver_id, window)
