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
it. Nothing is cached: each request is checked and looked up afresh.

The extension is optional: built by ``pip install`` when a C compiler and Python's headers are
there (``setup.py``), skipped otherwise, and the server then answers everything in Python, more
slowly. ``HETSOCK_NATIVE=0`` in the environment turns it off (for measuring, or to rule it out).
``tests/test_native.py`` holds the two paths to the same bytes.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from hetsock.eligibility.decide import InquiryWindow
from hetsock.eligibility.identifiers import is_valid_mbi, is_valid_npi
from hetsock.eligibility.reply271 import _service_type_lists
from hetsock.eligibility.store.base import BeneficiaryStore, StoreUnavailableError
from hetsock.registry import Registry
from hetsock.x12.dates import ccyymmdd
from hetsock.x12.fastpath import _SERVICE_TYPES, _prepared
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
NPI_QUALIFIER, MEMBER_QUALIFIER, START, END = 15, 21, 25, 26


def answer(
    message: bytes,
    rules: Rules,
    registry: Registry,
    store: BeneficiaryStore,
    peer_address: str | None,
    now: dt.datetime,
    control: ControlNumbers,
    window: InquiryWindow,
) -> tuple[bytes, tuple[Any, ...]] | None:
    """The 271 and the scanned 270's values, or ``None`` for the Python path to answer."""
    if _native is None or not rules.single_inquiry or rules.allow_credentials:  # takes_fast_interchange
        return None
    text = message if isinstance(message, str) else message.decode("latin-1")  # envelope.decode
    if len(text) < ISA_LENGTH or text[:3] != "ISA":
        return None
    # ISA04's separator, ISA11, ISA16 and the terminator: the delimiters in the order
    # Delimiters holds them (element, repetition, component, segment).
    chars = text[3] + text[82] + text[104] + text[105]
    prepared = _prepared(chars, rules)
    if prepared is None or prepared[1].fullmatch(text) is None:
        return None
    scanned = _native.scan(text, chars, rules.group_ids_match_interchange, _SERVICE_TYPES)
    if scanned is None:
        return None
    submitter = registry.get(scanned[SUBMITTER])
    if (
        submitter is None
        or not submitter.active
        or not submitter.allows_address(peer_address)
        or scanned[5] not in submitter.usage
        or not submitter.is_linked(scanned[NPI])
    ):
        return None
    # The rules that need no record, before the lookup (render() checks them again): a request
    # they reject costs the Python path's store read only (a network round trip on PostgreSQL).
    first_allowed, last_allowed = window.bounds(now.date())
    start, end = scanned[START] or ccyymmdd(now), scanned[END] or ccyymmdd(now)
    if (
        scanned[NPI_QUALIFIER] != "XX"
        or not is_valid_npi(scanned[NPI])
        or scanned[MEMBER_QUALIFIER] != "MI"
        or not is_valid_mbi(scanned[MEMBER_ID])
        or end > last_allowed
        or start < first_allowed
    ):
        return None
    try:
        found = store.lookup_document(scanned[MEMBER_ID])
    except StoreUnavailableError:
        return None
    if found is None or found[1]:  # not found, or found through an earlier MBI
        return None
    part_a, part_b = _service_type_lists(chars[1])
    q_sender, q_receiver = scanned[2], scanned[3]
    params = (
        now,
        control.interchange,
        control.group,
        control.transaction,
        first_allowed,
        last_allowed,
        q_sender if q_sender in X12_ID_QUALIFIERS else "ZZ",  # the request's ISA05: the reply's ISA07
        q_receiver if q_receiver in X12_ID_QUALIFIERS else "ZZ",  # its ISA07: the reply's ISA05
        chars,
        part_a,
        part_b,
    )
    payload = _native.render(scanned, found[0], params)
    if payload is None:
        return None
    return payload, scanned
