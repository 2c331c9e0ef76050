"""Building the pipeline's :class:`~hetsock.pipeline.Services` from the configuration.

One place decides what a server (or ``hetsock check --respond``) answers with: the registry file,
the store (the embedded SQLite demo store is created on first use), the X12 rules, the receiver
ID and the inquiry window. Raises :class:`~hetsock.registry.RegistryError` or
:class:`~hetsock.eligibility.store.base.StoreUnavailableError` when they cannot be loaded.
"""

from __future__ import annotations

from pathlib import Path

from hetsock.cli_seed import ensure_demo_store
from hetsock.config import Config
from hetsock.eligibility.decide import InquiryWindow
from hetsock.pipeline import Services
from hetsock.registry import Registry
from hetsock.x12.rules import Rules


def open_services(
    config: Config, *, rules: Rules | None = None, receiver_id: str | None = None, store_path: Path | None = None
) -> Services:
    """The services ``config`` describes; ``rules``, ``receiver_id`` and ``store_path`` override it."""
    registry = Registry.from_toml(config.eligibility.registry)
    store = ensure_demo_store(store_path or config.store.path, beneficiaries=config.store.demo_beneficiaries)
    window = InquiryWindow(config.eligibility.months_back, config.eligibility.months_forward)
    return Services(registry, store, rules or config.x12.rules(), receiver_id or config.x12.receiver_id, window)
