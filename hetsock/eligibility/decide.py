"""Business rules: from an accepted 270, its submitter and the store to a 271's substance.

Pure: no I/O but the store lookup the caller passes in, no clock but the ``today`` passed in.
The checks run in this order, the first failure deciding the AAA (AAA03) and its loop:

=====  =====  ==========================================================================
loop   AAA03  when
=====  =====  ==========================================================================
2100B  43     the provider ID is not an NPI (NM108 not ``XX``) or fails its check digit
2100B  41     the NPI is not linked to the submitter (the Submitter/NPI relationship)
2100C  72     the member ID is not an MBI (NM108 not ``MI``, or the MBI format is wrong)
2100C  63     the date of service ends after the window (default: 4 months after today)
2100C  62     the date of service starts before the window (default: 12 months before today)
2100A  42     the beneficiary store cannot be read
2100C  75     no beneficiary has that MBI (current or earlier) -- our pick between 72 and 75
2100C  73     the last name does not match, the first name is sent and does not match, or
              neither a first name nor a birth date is sent
2100C  60     the birth date (as sent, else as stored) follows the date of service
2100C  71     the birth date is sent and does not match
=====  =====  ==========================================================================

Names match the way HETS stores them: case-insensitive, with hyphens, apostrophes, periods and
spaces removed before comparing, and a suffix (JR, SR, II, III, IV) as the last word of the
last name or in NM107. A suffix sent or stored on one side only is tolerated; suffixes on both
sides must agree (``SR`` sent for a ``JR`` on record is AAA 73). A suffix joined to the name
(``DOEJR``) is not read as one: it matches only a name and suffix that read the same joined. AAA04 is ``C`` (correct
and resubmit), or ``R`` (resubmission allowed) for 42. No date of service means today.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from collections.abc import Callable

import attrs

from hetsock.eligibility.beneficiary import Beneficiary
from hetsock.eligibility.identifiers import is_valid_mbi, is_valid_npi
from hetsock.eligibility.inquiry import Inquiry
from hetsock.eligibility.store.base import StoreUnavailableError
from hetsock.registry import Submitter
from hetsock.x12.dates import ccyymmdd

_SUFFIXES = ("JR", "SR", "II", "III", "IV")
_DROPPED = str.maketrans("", "", "-'. ,")


@attrs.frozen
class InquiryWindow:
    """How far back and forward of the day received a date of service may be."""

    months_back: int = 12
    months_forward: int = 4

    def bounds(self, today: dt.date) -> tuple[str, str]:
        """(first, last) allowed days as CCYYMMDD."""
        return _bounds(today, self.months_back, self.months_forward)


@functools.lru_cache(maxsize=8)
def _bounds(today: dt.date, back: int, forward: int) -> tuple[str, str]:
    return ccyymmdd(_shift(today, -back)), ccyymmdd(_shift(today, forward))


def _shift(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@attrs.frozen
class Rejection:
    """A business rejection: the AAA and the loop it goes in."""

    loop: str  #: 2100A, 2100B or 2100C
    reason: str  #: AAA03
    follow_up: str = "C"  #: AAA04


@attrs.frozen
class Eligible:
    """A beneficiary found and matched: the 271 reports their coverage for the dates of service."""

    beneficiary: Beneficiary
    via_previous_mbi: bool
    service_start: str
    service_end: str
    #: The record's name is not the one sent (:func:`name_corrected`): the 271 says so with INS.
    name_corrected: bool = False


Outcome = Eligible | Rejection

#: A lookup: MBI -> (beneficiary, found through an earlier MBI) or None; may raise StoreUnavailableError.
LookupFn = Callable[[str], "tuple[Beneficiary, bool] | None"]


def normalize_name(name: str) -> str:
    """A name as HETS compares it: upper case, no hyphens, apostrophes, periods or spaces."""
    return name.upper().translate(_DROPPED)


def _name_forms(last: str, suffix: str) -> set[tuple[str, str]]:
    """The (name, suffix) readings of a last name and its NM107 suffix, normalized: the suffix may
    be NM107, the last word of the last name, or joined to it; ``""`` when there is none."""
    suffix = normalize_name(suffix)
    words = last.upper().replace("-", " ").split()
    if not suffix and len(words) > 1 and words[-1].rstrip(".") in _SUFFIXES:
        last, suffix = " ".join(words[:-1]), words[-1].rstrip(".")
    base = normalize_name(last)
    return {(base, suffix), (base + suffix, "")} if suffix else {(base, "")}


def names_match(sent_last: str, sent_suffix: str, stored_last: str, stored_suffix: str) -> bool:
    """Whether a sent last name (and suffix) matches a stored one, by HETS's rules: the names
    equal once normalized, and the suffixes too unless one side has none (JR is not SR)."""
    if (sent_last == stored_last or normalize_name(sent_last) == normalize_name(stored_last)) and (
        not sent_suffix or not stored_suffix or normalize_name(sent_suffix) == normalize_name(stored_suffix)
    ):
        return True  # the common cases, decided without the forms
    return any(
        name == other_name and (not suffix or not other_suffix or suffix == other_suffix)
        for name, suffix in _name_forms(sent_last, sent_suffix)
        for other_name, other_suffix in _name_forms(stored_last, stored_suffix)
    )


def name_corrected(sent_last: str, sent_suffix: str, stored_last: str, stored_suffix: str) -> bool:
    """Whether the name a 271 returns (the record's) is not the matched name sent: the last name
    with its suffix differs once normalized (a suffix added or dropped; case, hyphens, spaces and
    where the suffix sits are not a correction). The first name, when sent, matched normalized."""
    if sent_last == stored_last and sent_suffix == stored_suffix:
        return False
    return normalize_name(sent_last + sent_suffix) != normalize_name(stored_last + stored_suffix)


def rejection_before_lookup(
    npi_qualifier: str,
    npi: str,
    submitter: Submitter,
    member_qualifier: str,
    member_id: str,
    start: str,
    end: str,
    bounds: tuple[str, str],
) -> Rejection | None:
    """The rules of the table above that need no record (43, 41, 72, 63, 62), in that order:
    the first that fails, or ``None``. ``start``/``end``: the dates of service (CCYYMMDD);
    ``bounds``: the window's first and last day. The C path (``hetsock/native.py``) asks it too,
    before it reads the store."""
    if npi_qualifier != "XX" or not is_valid_npi(npi):
        return Rejection("2100B", "43")
    if not submitter.is_linked(npi):
        return Rejection("2100B", "41")
    if member_qualifier != "MI" or not is_valid_mbi(member_id):
        return Rejection("2100C", "72")
    if end > bounds[1]:
        return Rejection("2100C", "63")
    if start < bounds[0]:
        return Rejection("2100C", "62")
    return None


def decide(
    inquiry: Inquiry,
    submitter: Submitter,
    lookup: LookupFn,
    *,
    today: dt.date,
    window: InquiryWindow,
) -> Outcome:
    """Apply the rules in the module header to an accepted inquiry."""
    provider, person = inquiry.receiver, inquiry.subscriber
    if inquiry.service_dates is None:
        start = end = ccyymmdd(today)
    else:
        start, end = ccyymmdd(inquiry.service_dates[0]), ccyymmdd(inquiry.service_dates[1])
    bounds = window.bounds(today)
    early = rejection_before_lookup(
        provider.id_qualifier, provider.id, submitter, person.id_qualifier, person.member_id, start, end, bounds
    )
    if early is not None:
        return early
    try:
        found = lookup(person.member_id)
    except StoreUnavailableError:
        return Rejection("2100A", "42", "R")
    if found is None:
        return Rejection("2100C", "75")
    beneficiary, via_previous = found
    if not names_match(person.last_name, person.suffix, beneficiary.last_name, beneficiary.suffix):
        return Rejection("2100C", "73")
    sent_birth = ccyymmdd(person.birth_date) if person.birth_date else ""
    if not person.first_name and not sent_birth:
        return Rejection("2100C", "73")
    first = person.first_name  # sent exactly as stored (the usual case): equal once normalized too
    if first and first != beneficiary.first_name and normalize_name(first) != normalize_name(beneficiary.first_name):
        return Rejection("2100C", "73")
    if (sent_birth or beneficiary.birth_date) > start:
        return Rejection("2100C", "60")
    if sent_birth and sent_birth != beneficiary.birth_date:
        return Rejection("2100C", "71")
    corrected = name_corrected(person.last_name, person.suffix, beneficiary.last_name, beneficiary.suffix)
    return Eligible(beneficiary, via_previous, start, end, corrected)
