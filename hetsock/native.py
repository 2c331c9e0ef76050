"""The accepted-270 path in C (``hetsock/_native.c``): the common inquiry answered without the
object model, or ``None`` and the Python path answers.

:func:`hetsock.pipeline.respond` asks this first. It answers only a HETS-profile 270 that the
interchange expression (``fastpath``) matches, whose segments are the usual ones (ST BHT HL NM1
TRN DMG DTP EQ SE), from an authorized submitter and a provider linked to it, about a
beneficiary found under their current MBI whose last name, suffix, first name (if sent) and
birth date (if sent) are exactly the stored ones, with delimiters the reply keeps: the 271 with
eligibility and benefits, byte for byte what the Python path writes. Everything else (every
TA1, 999, AAA and proprietary reply, every name the matcher would have to normalize, an earlier
MBI, a store that fails, an unusual record) declines, and the Python path, the reference, decides
it. The store's document is read as stored (``lookup_encoded``: the orjson bytes), by a strict reader
in the C code instead of ``orjson.loads``; a document it does not take is declined, and decoded here
for the Python path. Nothing is cached: each request is checked and looked up afresh. A decline (:class:`Declined`)
carries what was learned, so the Python path neither tries the interchange expression again
nor reads the store again for the same MBI.

The extension is optional: built by ``pip install`` when a C compiler and Python's headers are
there (``setup.py``), skipped otherwise, and the server then answers everything in Python, more
slowly. ``HETSOCK_NATIVE=0`` in the environment turns it off (for measuring, or to rule it out).
``tests/test_native.py`` holds the two paths to the same bytes.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import attrs

from hetsock.eligibility.decide import InquiryWindow, rejection_before_lookup
from hetsock.eligibility.reply271 import service_type_lists
from hetsock.eligibility.store.base import BeneficiaryStore, StoreUnavailableError, decoded
from hetsock.registry import Registry, authorized
from hetsock.x12.dates import ccyymmdd
from hetsock.x12.fastpath import prepared_interchange
from hetsock.x12.grammar270 import SERVICE_TYPES as SERVICE_TYPE_SET
from hetsock.x12.isa import ISA_LENGTH
from hetsock.x12.rules import X12_ID_QUALIFIERS, Rules
from hetsock.x12.writer import ControlNumbers

_native: Any
try:
    from hetsock import _native  # type: ignore[attr-defined,no-redef]
except ImportError:  # not built: no compiler at install time
    _native = None

#: Whether the C path is built and not turned off.
ENABLED = _native is not None and os.environ.get("HETSOCK_NATIVE", "1") != "0"

#: The fields of a scanned 270 that a Reply records (indexes into :func:`answer`'s tuple).
SUBMITTER, INTERCHANGE_CONTROL, REFERENCE, NPI, MEMBER_ID, TRACES, SERVICE_TYPES = 0, 4, 8, 16, 22, 27, 28
#: Other fields of the scanned tuple (see ``scan`` in _native.c).
USAGE, NPI_QUALIFIER, MEMBER_QUALIFIER, START, END = 5, 15, 21, 25, 26


@attrs.frozen
class Declined:
    """The C path left the request to the Python path; what it learned on the way, so that path
    need not learn it again."""

    #: Whether the whole-interchange expression matched (``None``: not tried).
    matched: bool | None = None
    #: The MBI the store was read for (``None``: not read) and what was found.
    mbi: str | None = attrs.field(default=None, repr=False)
    found: tuple[dict[str, Any], bool] | None = attrs.field(default=None, repr=False)


NOT_TRIED = Declined()
NOT_MATCHED = Declined(matched=False)
MATCHED = Declined(matched=True)


def answer(
    message: bytes,
    rules: Rules,
    registry: Registry,
    store: BeneficiaryStore,
    peer_address: str | None,
    now: dt.datetime,
    control: ControlNumbers,
    window: InquiryWindow,
) -> tuple[bytes, tuple[Any, ...]] | Declined:
    """The 271 and the scanned 270's values, or :class:`Declined` for the Python path to answer."""
    if _native is None or not rules.single_inquiry or rules.allow_credentials:  # takes_fast_interchange
        return NOT_TRIED
    text = message if isinstance(message, str) else message.decode("latin-1")  # envelope.decode
    if len(text) < ISA_LENGTH or text[:3] != "ISA":
        return NOT_TRIED
    # ISA04's separator, ISA11, ISA16 and the terminator: the delimiters in the order
    # Delimiters holds them (element, repetition, component, segment).
    chars = text[3] + text[82] + text[104] + text[105]
    prepared = prepared_interchange(chars, rules)
    if prepared is None or prepared[1].fullmatch(text) is None:
        return NOT_MATCHED
    scanned = _native.scan(text, chars, rules.group_ids_match_interchange, SERVICE_TYPE_SET)
    if scanned is None:
        return MATCHED
    submitter = registry.get(scanned[SUBMITTER])
    if submitter is None or not authorized(submitter, peer_address, scanned[USAGE]):
        return MATCHED  # the Python path answers SBY00502
    # The rules that need no record, before the store is read (render() checks them again): a
    # request they reject then costs no store read here (a round trip on PostgreSQL).
    today = ccyymmdd(now)
    bounds = window.bounds(now.date())
    early = rejection_before_lookup(
        scanned[NPI_QUALIFIER],
        scanned[NPI],
        submitter,
        scanned[MEMBER_QUALIFIER],
        scanned[MEMBER_ID],
        scanned[START] or today,
        scanned[END] or today,
        bounds,
    )
    if early is not None:
        return MATCHED
    mbi = scanned[MEMBER_ID]
    try:
        found = store.lookup_encoded(mbi)
    except StoreUnavailableError:
        return MATCHED
    if found is None or found[1]:  # not found, or found through an earlier MBI
        return _declined_after_read(mbi, found, store)
    part_a, part_b = service_type_lists(chars[1])
    q_sender, q_receiver = scanned[2], scanned[3]
    params = (
        now,
        control.interchange,
        control.group,
        control.transaction,
        bounds[0],  # the first and last allowed day
        bounds[1],
        q_sender if q_sender in X12_ID_QUALIFIERS else "ZZ",  # the request's ISA05: the reply's ISA07
        q_receiver if q_receiver in X12_ID_QUALIFIERS else "ZZ",  # its ISA07: the reply's ISA05
        chars,
        part_a,
        part_b,
    )
    payload = _native.render(scanned, found[0], params)
    if payload is None:
        return _declined_after_read(mbi, found, store)
    return payload, scanned


def _declined_after_read(mbi: str, found: tuple[bytes, bool] | None, store: BeneficiaryStore) -> Declined:
    """A decline after the store was read: the document decoded for the Python path (which then
    does not read it again), or, if it does not decode, nothing learned (the Python path reads
    it again and answers the store fault, AAA 42)."""
    try:
        return Declined(True, mbi, decoded(found, store.describe()))
    except StoreUnavailableError:
        return MATCHED
