"""A transaction set's grammar as one object: what ``validate.py``'s walk is driven by.

The loops, segments and elements themselves are data in ``grammar270.py`` (the 270) and
``grammar271.py`` (the 271); a :class:`TransactionGrammar` adds what the walk needs around them:
the ST01 and GS01 it takes, the header and trailer segments, the HL hierarchy, which levels must
occur, which segment IDs the set uses anywhere, and the accepted ST03/GS08 versions.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from hetsock.x12 import grammar270
from hetsock.x12.grammar270 import LoopSpec, SegmentSpec


@attrs.frozen(eq=False)
class TransactionGrammar:
    """One implementation guide's transaction set, as the validator walks it."""

    #: ST01, e.g. "270".
    set_id: str
    #: GS01 of the functional group that carries it, e.g. "HS".
    functional_id: str
    #: The header segments (ST, BHT) and the trailer (SE).
    st: SegmentSpec
    bht: SegmentSpec
    se: SegmentSpec
    #: HL03 hierarchical level code -> the 2000 loop it opens, and the level its parent must be.
    hierarchy: Mapping[str, tuple[LoopSpec, str | None]]
    #: Levels that must occur at least once (a missing one is IK304 3 on HL).
    required_levels: tuple[str, ...]
    #: Every segment ID the set uses anywhere (an out-of-place one is "unexpected", IK304 2).
    segment_ids: frozenset[str]
    #: Other X12 segment IDs: defined by X12, not used by this set (IK304 6).
    other_segment_ids: frozenset[str]
    #: Accepted ST03 and GS08 values.
    versions: frozenset[str]
    #: Loops whose findings carry the subscriber's business unit (the 999's CTX, TRN02).
    business_unit_loops: frozenset[str]
    #: Whether the HETS one-inquiry rules (``Rules.single_inquiry``) apply to this set at all.
    single_inquiry: bool = False
    #: Situational loops required under the one-inquiry rules (a missing one is IK304 I6).
    single_inquiry_required_loops: frozenset[str] = frozenset()
    #: Whether ``fastpath.fast_accept`` (the 270 as one expression) may accept the set.
    fast_path: bool = False
    #: The level whose HL spec reports an HL whose HL03 names no level.
    fallback_level: str = "22"


GRAMMAR_270 = TransactionGrammar(
    set_id="270",
    functional_id="HS",
    st=grammar270.ST,
    bht=grammar270.BHT,
    se=grammar270.SE,
    hierarchy=grammar270.HIERARCHY,
    required_levels=("20", "21", "22"),
    segment_ids=grammar270.SEGMENT_IDS_270,
    other_segment_ids=grammar270.OTHER_X12_SEGMENT_IDS,
    versions=grammar270.ACCEPTED_VERSIONS,
    business_unit_loops=frozenset({"2000C", "2100C", "2110C", "2000D", "2100D", "2110D"}),
    single_inquiry=True,
    single_inquiry_required_loops=grammar270.SINGLE_INQUIRY_REQUIRED_LOOPS,
    fast_path=True,
)
