"""Which envelope and implementation rules apply: the HETS profile, or plain X12.

HETS adds rules of its own on top of X12 and 005010X279A1 (HETS-NOTES section 3): no
credentials in ISA01-ISA04, ``ZZ`` ID qualifiers, the receiver ID ``CMS`` in ISA08 and GS03,
GS02 equal to ISA06, and one inquiry per interchange (one GS, one ST, one 2100C subscriber, no
2000D dependent: a Medicare beneficiary is always the subscriber). ``Rules.x12()`` relaxes all
of them, so any well-formed 005010X279A1 270 passes; relaxing is configuration, not code.
"""

from __future__ import annotations

import attrs

#: ISA05/ISA07 interchange ID qualifiers defined by X12 (data element I05).
X12_ID_QUALIFIERS = frozenset(
    {"01", "14", "20", "27", "28", "29", "30", "33", "ZZ", "02", "04", "08", "09", "12", "13", "16"}
)


@attrs.frozen(cache_hash=True)
class Rules:
    """The rule set an interchange is checked against."""

    #: Receiver IDs (ISA08, trailing blanks removed) this system answers to; ``None``: any.
    receiver_ids: frozenset[str] | None = frozenset({"CMS"})
    #: Accepted ISA05/ISA07 qualifiers.
    id_qualifiers: frozenset[str] = frozenset({"ZZ"})
    #: Whether ISA01/ISA03 may carry authorization and security information (X12 allows it;
    #: HETS forbids credentials in the 270).
    allow_credentials: bool = False
    #: GS02 must equal ISA06 and GS03 must equal ISA08.
    group_ids_match_interchange: bool = True
    #: HETS: one GS, one ST, one 2000C/2100C subscriber and no 2000D dependent loop (and so the
    #: subscriber is the patient: 2110C, the EQ, is required).
    single_inquiry: bool = True
    #: Plain X12: TA1 segments may stand between ISA and the first GS (HETS takes none).
    ta1_before_groups: bool = False

    @classmethod
    def hets(cls, receiver_id: str = "CMS") -> Rules:
        """The HETS profile with ``receiver_id`` as ISA08/GS03."""
        return cls(receiver_ids=frozenset({receiver_id}))

    @classmethod
    def x12(cls) -> Rules:
        """Plain X12 and 005010X279A1, with every HETS-only rule relaxed."""
        return cls(
            receiver_ids=None,
            id_qualifiers=X12_ID_QUALIFIERS,
            allow_credentials=True,
            group_ids_match_interchange=False,
            single_inquiry=False,
            ta1_before_groups=True,
        )
