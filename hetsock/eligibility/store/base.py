"""The beneficiary store contract: what the eligibility core asks of any database.

A store answers one question per inquiry: *who is the beneficiary with this MBI?* The answer
is a :class:`Lookup` (the record, and whether the MBI asked for was an earlier one that now maps
to the current MBI) or ``None`` (no such beneficiary). Everything else a 271 reports is in the
record, so one inquiry costs one read.

Failure is one exception, :class:`StoreUnavailableError`: the store cannot be read at all (file
missing, not a store, corrupt, locked past its timeout, closed). It means "try again later"
(HETS-NOTES section 5: a proprietary error, or AAA 42 *unable to respond at current time* in
2100A), never "no such beneficiary": a lookup that reads the store and finds nothing returns
``None``.

Implementations: :mod:`hetsock.eligibility.store.sqlite` (SQLite, one file) and
:mod:`hetsock.eligibility.store.postgres` (PostgreSQL, a connection pool). Both file the same
bytes per beneficiary: the orjson serialization of :meth:`Beneficiary.to_document`
(:func:`encode_document`), so one generator feeds either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import attrs
import orjson

from hetsock.eligibility.beneficiary import Beneficiary

#: A document ready to file: current MBI, the orjson-serialized document, its earlier MBIs.
EncodedDocument = tuple[str, bytes, Sequence[str]]


def encode_document(document: dict[str, Any]) -> EncodedDocument:
    """A document as every store files it: ``(mbi, orjson bytes, earlier MBIs)``. Pure and
    picklable, so documents can be encoded in other processes."""
    return document["mbi"], orjson.dumps(document), document.get("prev", ())


class StoreUnavailableError(Exception):
    """The store cannot be read: missing, not a hetsock store, corrupt, locked too long, or closed.

    The message names the store (file, or database without credentials) and the fault; it never
    holds patient data."""


class StoreExistsError(Exception):
    """Seeding refused: the destination already holds beneficiaries (or something that is not a
    store), and replacing was not asked for."""


@attrs.frozen
class Lookup:
    """A beneficiary found by MBI."""

    beneficiary: Beneficiary
    #: True when the MBI asked for was an earlier one (``Beneficiary.previous_mbis``) that now
    #: maps to ``beneficiary.mbi``.
    via_previous_mbi: bool


def decode_document(data: bytes | str, where: str) -> dict[str, Any]:
    """A stored document read back (``where`` names the store in the error). One that is not a
    JSON object raises :class:`StoreUnavailableError`."""
    try:
        document = orjson.loads(data)
    except ValueError as error:  # orjson.JSONDecodeError is a ValueError
        raise StoreUnavailableError(f"{where}: a document does not decode ({type(error).__name__})") from None
    if not isinstance(document, dict):
        raise StoreUnavailableError(f"{where}: a document does not decode (not an object)")
    return document


def decoded(found: tuple[bytes, bool] | None, where: str) -> tuple[dict[str, Any], bool] | None:
    """What ``lookup_encoded`` found, its document decoded (:func:`decode_document`): what
    ``lookup_document`` returns. Raises :class:`StoreUnavailableError`."""
    return None if found is None else (decode_document(found[0], where), found[1])


def lookup_of(found: tuple[dict[str, Any], bool] | None, where: str) -> Lookup | None:
    """What ``lookup_document`` found as a :class:`Lookup` (the record built from the document).
    A document that does not make a record raises :class:`StoreUnavailableError`."""
    if found is None:
        return None
    document, via_previous = found
    try:
        beneficiary = Beneficiary.from_document(document)
    except (ValueError, KeyError, TypeError) as error:
        raise StoreUnavailableError(f"{where}: a document does not decode ({type(error).__name__})") from None
    return Lookup(beneficiary, via_previous)


class BeneficiaryStore(Protocol):
    """Read access to the beneficiaries, keyed by MBI.

    ``blocking`` says how the server may call :meth:`lookup`: ``False`` for a store whose reads
    take microseconds and never wait on a network (SQLite on a local file), so the server calls
    ``respond()`` on its event loop; ``True`` for a store whose reads may wait (PostgreSQL), so
    the server runs ``respond()`` in a worker thread and the event loop keeps serving.
    """

    blocking: bool

    def lookup(self, mbi: str) -> Lookup | None:
        """The beneficiary whose current MBI is ``mbi``, else the one an earlier MBI ``mbi`` maps
        to (``via_previous_mbi=True``), else ``None``. Raises :class:`StoreUnavailableError`."""
        ...

    def lookup_document(self, mbi: str) -> tuple[dict[str, Any], bool] | None:
        """What :meth:`lookup` finds, as the stored document (``Beneficiary.to_document``) and
        ``via_previous_mbi``, without building the record. Raises :class:`StoreUnavailableError`."""
        ...

    def lookup_encoded(self, mbi: str) -> tuple[bytes, bool] | None:
        """What :meth:`lookup_document` finds, as the stored bytes (orjson's, not decoded: the C
        path reads them itself) and ``via_previous_mbi``. Raises :class:`StoreUnavailableError`."""
        ...

    def describe(self) -> str:
        """Which store this is, for log lines (``sqlite:<path>``); never credentials."""
        ...

    def count(self) -> int:
        """How many beneficiaries the store holds. Raises :class:`StoreUnavailableError`."""
        ...

    def close(self) -> None:
        """Release the store's resources; later calls raise :class:`StoreUnavailableError`.
        Closing twice is harmless."""
        ...
