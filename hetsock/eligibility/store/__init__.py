"""Beneficiary stores: the :class:`BeneficiaryStore` contract and its implementations.

``base`` holds the contract (:class:`BeneficiaryStore`, :class:`Lookup`,
:class:`StoreUnavailableError`); ``sqlite`` the SQLite store (:class:`SqliteStore`), imported
from its module so that a deployment that never uses SQLite never imports it.
"""

from hetsock.eligibility.store.base import BeneficiaryStore, Lookup, StoreUnavailableError

__all__ = ["BeneficiaryStore", "Lookup", "StoreUnavailableError"]
