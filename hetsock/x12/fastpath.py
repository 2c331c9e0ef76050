"""A fast accept path: the whole 005010X279A1 270 as one regular expression.

Theory of operation
-------------------
The 270's grammar (loops, segment order, repeat counts, element counts, lengths, data types and
most code lists) is regular, so :func:`transaction_pattern` compiles it, once per delimiter set
and profile, into one expression over the text of an ST ... SE. A transaction set whose text
matches, and whose few non-regular facts also hold, is valid:

* real dates (BHT04, DMG02 with D8, DTP03 with D8 or RD8) and RD8 ranges in order;
* the HL hierarchy: HL01 counting from 1, HL02 naming the latest HL of the parent level, HL04
  saying truly whether children follow;
* the X12 syntax rules (paired, conditional, exclusion elements);
* code lists too long to spell in the expression (EQ01 service types) and R digit counts;
* SE01 the segment count, SE02 equal to ST02, ST03 the 270 guide.

The non-regular facts are checked in one pass that also tags each segment with its loop ID, as
the walk would. Under one inquiry per interchange (the HETS profile) the expression spells out
the three HL segments, so that pass checks the hierarchy only for plain X12. The fast path only
ever answers "valid"; anything else, including text with a character outside the X12 set, goes
to the full walk in ``validate.py``, which finds and names every fault.
``tests/test_fastpath.py`` checks the two never disagree.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from hetsock.x12.dates import is_real_date, is_real_range
from hetsock.x12.grammar270 import (
    ACCEPTED_VERSIONS,
    BHT,
    HIERARCHY,
    LOOP_2000A,
    LOOP_2000B,
    LOOP_2000C,
    LOOP_2000D,
    NOT_USED,
    REQUIRED,
    SE,
    SERVICE_TYPES,
    SINGLE_INQUIRY_REQUIRED_LOOPS,
    ST,
    ElementSpec,
    LoopSpec,
    SegmentSpec,
)
from hetsock.x12.isa import ISA_LENGTH, is_delimiter_character, is_yymmdd
from hetsock.x12.rules import Rules
from hetsock.x12.segments import X12_CHARACTERS, Delimiters, Segment

#: Transaction sets longer than this skip the fast path (a 270 is a few dozen segments).
MAX_FAST_SEGMENTS = 400

#: Code lists longer than this are matched loosely by the expression and checked in Python.
_MAX_SPELLED_CODES = 40

_LEVEL_LETTER = {"20": "A", "21": "B", "22": "C", "23": "D"}


def _optional(pattern: str) -> str:
    """``pattern`` or nothing: ``(?:pattern|)``, the same language as ``(?:pattern)?`` (the
    pattern tried first, then nothing), which ``re`` runs as a branch instead of a repeat of zero
    to one: the whole-interchange match of specimen.270 in two thirds of the time (3.2 to 2.1 us)."""
    return f"(?:{pattern}|)"


def _repeated(body: str, low: int, high: int) -> str:
    """``body`` from ``low`` to ``high`` times; once (no repeat at all) or optional spelled as such."""
    if (low, high) == (1, 1):
        return f"(?:{body})"
    if (low, high) == (0, 1):
        return _optional(body)
    return f"(?:{body}){{{low},{high}}}"


def _sequence(forms: list[tuple[str, str]], separator: str) -> str:
    """Elements (usage, pattern) joined by ``separator``, as they follow a segment ID (each with
    its separator before it): required up to the last required one, then an optional nested
    tail, so trailing empty elements may be left off."""

    def form(usage: str, pattern: str) -> str:
        if usage == NOT_USED:
            return ""
        return pattern if usage == REQUIRED else _optional(pattern)

    last_required = max((i for i, (usage, _) in enumerate(forms, start=1) if usage == REQUIRED), default=0)
    head = "".join(separator + form(u, p) for u, p in forms[:last_required])
    tail = ""
    for usage, pattern in reversed(forms[last_required:]):
        tail = _optional(f"{separator}{form(usage, pattern)}{tail}")
    return head + tail


def _simple_pattern(spec: ElementSpec, any_char: str) -> str:
    kind = spec.kind
    if kind == "ID" and spec.codes is not None and len(spec.codes) <= _MAX_SPELLED_CODES:
        return "(?:" + "|".join(re.escape(c) for c in sorted(spec.codes, key=len, reverse=True)) + ")"
    if kind in ("ID", "AN"):
        return f"{any_char}{{{spec.minimum},{spec.maximum}}}"
    if kind == "DT":
        return "[0-9]{8}"
    if kind == "TM":
        return "(?:[01][0-9]|2[0-3])[0-5][0-9]" + _optional("[0-5][0-9]" + _optional("[0-9]{1,2}"))
    if kind == "N0":
        return f"-?[0-9]{{{spec.minimum},{spec.maximum}}}"
    return r"-?(?:[0-9]+" + _optional(r"\.[0-9]*") + r"|\.[0-9]+)"  # R: digit count checked in Python


def _element_pattern(spec: ElementSpec, d: Delimiters, any_char: str) -> str:
    if spec.kind == "C":
        if not spec.components:  # a composite the guide does not use: its pattern is never used
            return ""
        forms = [(c.usage, _simple_pattern(c, any_char)) for c in spec.components]
        first_usage, first = forms[0]
        rest = _sequence(forms[1:], re.escape(d.component))
        return first + rest if first_usage == REQUIRED else _optional(first) + rest
    single = _simple_pattern(spec, any_char)
    if spec.repeats > 1:
        return f"{single}(?:{re.escape(d.repetition)}{single}){{0,{spec.repeats - 1}}}"
    return single


def _segment_pattern(spec: SegmentSpec, d: Delimiters, any_char: str) -> str:
    forms = [(e.usage, _element_pattern(e, d, any_char)) for e in spec.elements]
    return re.escape(spec.id) + _sequence(forms, re.escape(d.element)) + re.escape(d.segment)


def _loop_pattern(loop: LoopSpec, d: Delimiters, any_char: str, required: frozenset[str] = frozenset()) -> str:
    """``loop`` as an expression; ``required``: IDs of situational loops required here."""
    parts = []
    for index, item in enumerate(loop.items):
        if isinstance(item, LoopSpec):
            body, high = _loop_pattern(item, d, any_char, required), item.max_repeat
        else:
            body, high = _segment_pattern(item, d, any_char), item.max_use
        if index == 0:
            parts.append(body)
        else:
            low = 1 if item.usage == REQUIRED or (isinstance(item, LoopSpec) and item.id in required) else 0
            parts.append(_repeated(body, low, high))
    return "".join(parts)


@functools.lru_cache(maxsize=64)
def allowed_characters(d: Delimiters) -> frozenset[str]:
    """The X12 character set plus the delimiters: a "clean" interchange's alphabet (line breaks
    between segments aside: see :func:`is_clean_text`)."""
    return X12_CHARACTERS.union((d.element, d.repetition, d.component, d.segment))


@functools.lru_cache(maxsize=64)
def _line_breaks_after_terminator(d: Delimiters) -> re.Pattern[str] | None:
    breaks = "".join(c for c in "\r\n" if c != d.segment)
    return re.compile(re.escape(d.segment) + "[" + re.escape(breaks) + "]+") if breaks else None


def is_clean_text(text: str, d: Delimiters) -> bool:
    """Whether ``text`` holds only X12 characters and the delimiters ``d``, apart from line breaks
    (CR, LF) right after a segment terminator, which the tokenizer drops as not data. A line
    break anywhere else is inside an element: an invalid character, as a TAB is."""
    allowed = allowed_characters(d)
    if allowed.issuperset(text):
        return True
    pattern = _line_breaks_after_terminator(d)
    if pattern is None or ("\r" not in text and "\n" not in text):
        return False
    terminator = d.segment  # a function, not a template: a backslash terminator is no escape
    return allowed.issuperset(pattern.sub(lambda _: terminator, text))


def _any_char(d: Delimiters) -> str:
    """One data character: any X12 character that is not a delimiter (so a match also proves
    the text holds nothing outside the X12 set)."""
    delimiters = {d.element, d.repetition, d.component, d.segment}
    return "[" + "".join(re.escape(c) for c in sorted(X12_CHARACTERS - delimiters)) + "]"


@functools.lru_cache(maxsize=32)
def transaction_pattern(d: Delimiters, single_inquiry: bool) -> re.Pattern[str]:
    """The compiled expression for a whole ST ... SE in delimiters ``d``."""
    return re.compile(_transaction_source(d, single_inquiry))


#: Under one inquiry per interchange (no 2000D) the HL segments can only be these.
_SINGLE_INQUIRY_HL = {"2000A": ("1", "", "20", "1"), "2000B": ("2", "1", "21", "1"), "2000C": ("3", "2", "22", "0")}


def _transaction_source(d: Delimiters, single_inquiry: bool) -> str:
    any_char = _any_char(d)
    required = SINGLE_INQUIRY_REQUIRED_LOOPS if single_inquiry else frozenset()
    a, b, c, dependent = (
        _loop_pattern(loop, d, any_char, required) for loop in (LOOP_2000A, LOOP_2000B, LOOP_2000C, LOOP_2000D)
    )
    if single_inquiry:
        # HL01 counts from 1, HL02 names the parent and 2000C has no child: spell them out, so
        # the walk-free check below need not look at the hierarchy again.
        a, b, c = (
            re.escape(d.element.join(("HL", *_SINGLE_INQUIRY_HL[loop.id])) + d.segment)
            + source[len(_segment_pattern(loop.trigger, d, any_char)) :]
            for loop, source in ((LOOP_2000A, a), (LOOP_2000B, b), (LOOP_2000C, c))
        )
    body = a + b + c if single_inquiry else f"(?:{a}(?:{b}(?:{c}(?:{dependent})*)+)+)+"
    header = _segment_pattern(ST, d, any_char) + _segment_pattern(BHT, d, any_char)
    return header + body + _segment_pattern(SE, d, any_char)


#: EQ01's service type codes (too many to spell in the expression).


def _present(e: list[str], position: int) -> bool:
    return position < len(e) and e[position] != ""


def _date_ok(qualifier: str, value: str) -> bool:
    if qualifier == "D8":
        return is_real_date(value)
    if qualifier == "RD8":
        return is_real_range(value)
    return True


# The non-regular facts of one segment the expression matched (the rules of grammar270), one
# function per segment ID, looked up once per segment (a dict, not a chain of comparisons: this
# runs for most segments of every 270).


def _nm1_facts(e: list[str], d: Delimiters) -> bool:  # P0809 (NM110-NM112 not used: C1110, C1203 hold)
    n = len(e)  # _present(e, 8) == _present(e, 9), spelled out: three NM1s in every 270
    return (n > 8 and e[8] != "") == (n > 9 and e[9] != "")


def _dmg_facts(e: list[str], d: Delimiters) -> bool:  # P0102 and the D8 date (DMG10/DMG11 not used)
    n = len(e)  # _present spelled out, as in _nm1_facts: a DMG in most 270s
    has_format, has_date = n > 1 and e[1] != "", n > 2 and e[2] != ""
    return has_format == has_date and (not has_date or _date_ok(e[1], e[2]))


def _dtp_facts(e: list[str], d: Delimiters) -> bool:
    return _date_ok(e[2], e[3])


def _eq_facts(e: list[str], d: Delimiters) -> bool:  # R0102 and the service type codes
    n = len(e)  # _present spelled out, as in _nm1_facts: an EQ in every 270
    if n > 1 and e[1] != "":
        return SERVICE_TYPES.issuperset(e[1].split(d.repetition))
    return n > 2 and e[2] != ""


def _n4_facts(e: list[str], d: Delimiters) -> bool:  # E0207, C0704 (N405/N406 not used: C0605 holds)
    return not (_present(e, 7) and (_present(e, 2) or not _present(e, 4)))


def _prv_facts(e: list[str], d: Delimiters) -> bool:  # P0203
    return _present(e, 2) == _present(e, 3)


def _amt_facts(e: list[str], d: Delimiters) -> bool:  # R: at most 18 digits
    return sum(c.isdigit() for c in e[2]) <= 18


def _bht_facts(e: list[str], d: Delimiters) -> bool:
    return is_real_date(e[4])


_FACTS: dict[str, Callable[[list[str], Delimiters], bool]] = {
    "NM1": _nm1_facts,
    "DMG": _dmg_facts,
    "DTP": _dtp_facts,
    "EQ": _eq_facts,
    "N4": _n4_facts,
    "PRV": _prv_facts,
    "AMT": _amt_facts,
    "BHT": _bht_facts,
}


def fast_accept(segments: list[Segment], d: Delimiters, single_inquiry: bool) -> list[tuple[str, Segment]] | None:
    """The loop-tagged segments when the set is certainly valid; ``None`` when the walk must judge.

    Takes the segments of one ST ... SE (SE included) whose interchange text holds only X12
    characters and its delimiters.
    """
    if len(segments) > MAX_FAST_SEGMENTS or segments[-1].elements[0] != "SE":
        return None
    separator = d.element
    text = d.segment.join([separator.join(s.elements) for s in segments]) + d.segment
    if transaction_pattern(d, single_inquiry).fullmatch(text) is None:
        return None
    tagged = _tag_and_check([s.elements for s in segments], d, hierarchy_spelled=single_inquiry)
    if tagged is None:
        return None
    return [(loop, segment) for (loop, _), segment in zip(tagged, segments, strict=True)]


#: HL03 level code -> the IDs of that level's 2000, 2100 and 2110 loops.
_LOOP_IDS = {level: ("2000" + letter, "2100" + letter, "2110" + letter) for level, letter in _LEVEL_LETTER.items()}
#: Segments outside every loop (loop ID "").
_OUTSIDE_LOOPS = frozenset({"ST", "BHT", "SE"})


def _tag_and_check(
    sets: list[list[str]], d: Delimiters, *, hierarchy_spelled: bool
) -> list[tuple[str, list[str]]] | None:
    """Each segment's elements with its loop ID, or ``None`` when a non-regular fact fails
    (takes the ST ... SE element lists).

    ``hierarchy_spelled``: the expression spelled out every HL (one inquiry: ``HL*1**20*1``,
    ``HL*2*1*21*1``, ``HL*3*2*22*0``), so HL01, HL02 and HL04 hold and need no check here.
    """
    st, se = sets[0], sets[-1]
    if st[3] not in ACCEPTED_VERSIONS or se[2] != st[2] or int(se[1]) != len(sets):
        return None
    tagged: list[tuple[str, list[str]]] = []
    outside, facts = _OUTSIDE_LOOPS, _FACTS
    loop_2000 = loop_2100 = loop_2110 = current = ""
    hl_count = 0
    latest: dict[str, str] = {}
    child_codes: dict[str, str] = {}
    parents: set[str] = set()
    for e in sets:
        segment_id = e[0]
        if segment_id == "HL":
            level = e[3]
            if not hierarchy_spelled:
                hl_count += 1
                if e[1] != str(hl_count):
                    return None
                parent_level = HIERARCHY[level][1]
                if parent_level is not None and e[2] != latest.get(parent_level):
                    return None
                latest[level] = e[1]
                child_codes[e[1]] = e[4]
                parents.add(e[2])
            loop_2000, loop_2100, loop_2110 = _LOOP_IDS[level]
            current = loop_2000
            tagged.append((loop_2000, e))
            continue
        if segment_id in outside:
            loop = ""
        elif segment_id == "TRN":
            loop = loop_2000
        elif segment_id == "NM1":
            loop = current = loop_2100
        elif segment_id == "EQ":
            loop = current = loop_2110
        else:
            loop = current
        check = facts.get(segment_id)
        if check is not None and not check(e, d):
            return None
        tagged.append((loop, e))
    if child_codes and any((code == "1") != (hl_id in parents) for hl_id, code in child_codes.items()):
        return None
    return tagged


# --- the whole interchange, for the HETS profile ------------------------------------------


def takes_fast_interchange(rules: Rules) -> bool:
    """Whether :func:`accept_interchange_fast` can judge under ``rules`` (one inquiry, no credentials)."""
    return rules.single_inquiry and not rules.allow_credentials


@functools.lru_cache(maxsize=64)
def _interchange_pattern(d: Delimiters, rules: Rules) -> re.Pattern[str]:
    e, t = re.escape(d.element), re.escape(d.segment)
    any_char = _any_char(d)
    qualifiers = "(?:" + "|".join(re.escape(q) for q in sorted(rules.id_qualifiers)) + ")"
    # ISA06 and ISA08: 15 X12 data characters, the first not a blank (a negated class such as
    # ``[^ *]`` would also take the terminator, a control character or non-ASCII text).
    party_id = f"(?! ){any_char}{{15}}"
    if rules.receiver_ids is None:
        receiver = party_id
    else:
        receiver = "(?:" + "|".join(re.escape(r.ljust(15)) for r in sorted(rules.receiver_ids) if len(r) <= 15) + ")"
    hhmm = "(?:[01][0-9]|2[0-3])[0-5][0-9]"  # a real time: isa.is_hhmm, spelled out
    time = hhmm + _optional("[0-5][0-9]" + _optional("[0-9]{1,2}"))
    versions = "(?:" + "|".join(re.escape(v) for v in sorted(ACCEPTED_VERSIONS, key=len, reverse=True)) + ")"
    isa = (
        f"ISA{e}00{e} {{10}}{e}00{e} {{10}}{e}{qualifiers}{e}{party_id}"
        f"{e}{qualifiers}{e}{receiver}{e}[0-9]{{6}}{e}{hhmm}{e}{re.escape(d.repetition)}{e}00501{e}"
        f"[0-9]{{9}}{e}[01]{e}[PT]{e}{re.escape(d.component)}{t}"
    )
    gs = f"GS{e}HS{e}{any_char}{{2,15}}{e}{any_char}{{2,15}}{e}[0-9]{{8}}{e}{time}{e}[0-9]{{1,9}}{e}X{e}{versions}{t}"
    trailer = f"GE{e}1{e}[0-9]{{1,9}}{t}IEA{e}1{e}[0-9]{{9}}{t}"
    return re.compile(isa + gs + _transaction_source(d, True) + trailer)


#: (the four delimiter characters, rules) -> (delimiters, expression), or None when the
#: characters are not a valid delimiter set. Bounded: at most 256 entries, then cleared.
_PREPARED: dict[tuple[str, Rules], tuple[Delimiters, re.Pattern[str]] | None] = {}


def prepared_interchange(chars: str, rules: Rules) -> tuple[Delimiters, re.Pattern[str]] | None:
    """The delimiters and the whole-interchange expression for ``chars`` (ISA04's separator,
    ISA11, ISA16 and the terminator, in that order) under ``rules``; ``None`` when the four do
    not make a delimiter set. Cached (see :data:`_PREPARED`)."""
    key = (chars, rules)
    try:  # one lookup (the entry may be None, so no .get)
        return _PREPARED[key]
    except KeyError:
        pass
    d = Delimiters(chars[0], chars[1], chars[2], chars[3])
    # ISA11 is also one of the ISA's text elements, so it must be printable (isa.py).
    valid = len(set(chars)) == 4 and all(is_delimiter_character(c) for c in chars) and chars[1].isprintable()
    entry = (d, _interchange_pattern(d, rules)) if valid else None
    if len(_PREPARED) >= 256:
        _PREPARED.clear()
    _PREPARED[key] = entry
    return entry


def accept_interchange_fast(
    text: str, rules: Rules, *, matched: bool = False
) -> tuple[list[str], list[str], list[tuple[str, list[str]]], Delimiters] | None:
    """A whole HETS interchange judged in one expression and one pass.

    Returns the ISA elements, the GS elements, the transaction set's segments (as element
    lists, each with its loop ID) and the delimiters when the interchange is certainly a valid
    270 under ``rules``; ``None`` when the full path must judge (including every fault, every
    line break between segments and every character outside the X12 set). Requires
    :func:`takes_fast_interchange`. ``matched``: the caller has already matched ``text`` against
    this expression (:func:`prepared_interchange`), so it is not matched again.
    """
    if len(text) < ISA_LENGTH or text[:3] != "ISA":
        return None
    prepared = prepared_interchange(text[3] + text[82] + text[104] + text[105], rules)
    if prepared is None:
        return None
    d, pattern = prepared
    if not matched and pattern.fullmatch(text) is None:  # also proves every data character is an X12 one
        return None
    separator = d.element
    # Every segment split at once (the expression proved the shape); the last piece is the
    # empty one after IEA's terminator.
    segments = [piece.split(separator) for piece in text.split(d.segment)]
    if len(segments) < 6:  # never index past what the expression matched (a configured ID may hold a delimiter)
        return None
    isa, gs, ge, iea = segments[0], segments[1], segments[-3], segments[-2]
    if not (
        len(isa) == 17
        and len(gs) == 9
        and len(ge) == 3
        and len(iea) == 3
        and is_yymmdd(isa[9])  # (ISA10 is a real time: the expression says so)
        and iea[2] == isa[13]
        and gs[6] == ge[2]
        and is_real_date(gs[4])
        and (not rules.group_ids_match_interchange or (gs[2] == isa[6].rstrip(" ") and gs[3] == isa[8].rstrip(" ")))
    ):
        return None
    sets = segments[2:-3]
    if len(sets) > MAX_FAST_SEGMENTS:
        return None
    tagged = _tag_and_check(sets, d, hierarchy_spelled=True)
    if tagged is None:
        return None
    return isa, gs, tagged, d
