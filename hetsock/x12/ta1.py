"""The TA1 interchange acknowledgment: rejection only (TA104 ``R``), as HETS sends it.

TA101-TA103 echo the rejected interchange's ISA13, ISA09 and ISA10 where they could be read and
are well formed; otherwise TA101 is ``000000000`` and TA102/TA103 are the reply's own date and
time. The reply goes from the receiver the request named (or the configured one, if ISA08 could
not be read) back to the sender (``ZZ``/``UNKNOWN`` if ISA05/ISA06 could not be read), in the
request's delimiters when they were valid, else the CMS ones.
"""

from __future__ import annotations

import datetime as dt

from hetsock.x12.codes import Ta1Note
from hetsock.x12.isa import IsaHeader, is_delimiter_character, is_digits, is_hhmm, is_yymmdd
from hetsock.x12.rules import X12_ID_QUALIFIERS
from hetsock.x12.segments import DEFAULT_DELIMITERS, Delimiters
from hetsock.x12.writer import ControlNumbers, Party, echo, render_interchange


def reply_delimiters(header: IsaHeader | None) -> Delimiters:
    """The request's delimiters if they form a valid set, else CMS's."""
    if header is None:
        return DEFAULT_DELIMITERS
    d = header.delimiters
    roles = (d.element, d.repetition, d.component)
    if (
        len(d.as_set()) == 4
        and all(is_delimiter_character(c) for c in roles)
        and is_delimiter_character(d.segment, terminator=True)
        # ISA11 is checked as text too (isa.py): a control character there is not valid.
        and d.repetition.isprintable()
    ):
        return d
    return DEFAULT_DELIMITERS


def reply_parties(header: IsaHeader | None, receiver_id: str, d: Delimiters) -> tuple[Party, Party]:
    """(sender, receiver) of a reply to ``header``: the request's ends swapped."""
    if header is None:
        return Party("ZZ", receiver_id), Party("ZZ", "UNKNOWN")

    # The reply must pass X12's own ISA checks: an I05 qualifier, and IDs that do not start
    # with a blank (a request's ISA05 ``00`` or ISA06 `` X`` is echoed as ``ZZ``/``X``).
    def qualifier(value: str) -> str:
        return value if value in X12_ID_QUALIFIERS else "ZZ"

    sender = Party(qualifier(header[7]), echo(header.receiver_id.lstrip(" "), d, receiver_id)[:15])
    receiver = Party(qualifier(header[5]), echo(header.sender_id.lstrip(" "), d, "UNKNOWN")[:15])
    return sender, receiver


def render_ta1(
    header: IsaHeader | None,
    note: Ta1Note,
    *,
    now: dt.datetime,
    control: ControlNumbers,
    receiver_id: str = "CMS",
) -> str:
    """A TA1 rejecting the interchange ``header`` came from, with note ``note``."""
    d = reply_delimiters(header)
    sender, receiver = reply_parties(header, receiver_id, d)
    ta101 = "000000000"
    ta102, ta103 = now.strftime("%y%m%d"), now.strftime("%H%M")
    usage = "P"
    if header is not None:
        if len(header[13]) == 9 and is_digits(header[13]):
            ta101 = header[13]
        if is_yymmdd(header[9]):
            ta102 = header[9]
        if is_hhmm(header[10]):
            ta103 = header[10]
        if header.usage in ("P", "T"):
            usage = header.usage
    return render_interchange(
        sender=sender,
        receiver=receiver,
        usage=usage,
        now=now,
        control=control,
        delimiters=d,
        interchange_segments=[["TA1", ta101, ta102, ta103, "R", note.value]],
    )
