"""The fast accept path never disagrees with the full walk.

``fastpath.fast_accept`` may only say "valid" when ``validate``'s walk finds nothing, and must
tag every segment with the loop ID the walk gives. Checked on every sample 270 and on
hypothesis mutations of them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hetsock.x12 import check, validate
from hetsock.x12.check import Accepted, Rejected, check_270
from hetsock.x12.codes import Ta1Note
from hetsock.x12.envelope import NotAnInterchangeError, read_interchange_untrusted
from hetsock.x12.fastpath import accept_interchange_fast, fast_accept
from hetsock.x12.isa import EnvelopeError
from hetsock.x12.rules import Rules
from hetsock.x12.validate import validate_transaction_set
from hetsock.x12.writer import ControlNumbers

DATA = Path(__file__).parent / "data"
SAMPLES = [
    *sorted((DATA / "hets").glob("*.270")),
    *sorted(p for p in (DATA / "peers").glob("*/*") if "270" in p.name and "4010" not in p.name),
]


def _agree(text: str, rules: Rules) -> bool | None:
    """Whether fast and slow agree; None when the text is not a readable interchange."""
    try:
        interchange = read_interchange_untrusted(text, rules)
    except (EnvelopeError, NotAnInterchangeError):
        return None
    d = interchange.header.delimiters
    for group in interchange.groups:
        for ts in group.transaction_sets:
            fast = fast_accept(ts.segments, d, rules.single_inquiry) if ts.has_trailer else None
            slow = validate_transaction_set(ts, d, rules, clean_text=False)
            if fast is None:
                continue
            if not slow.report.accepted:
                return False
            if [(loop, s.ordinal) for loop, s in fast] != [(loop, s.ordinal) for loop, s in slow.loops]:
                return False
    return True


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_samples_take_the_fast_path_and_agree(path: Path) -> None:
    rules = Rules.hets() if path.parent.name == "hets" else Rules.x12()
    text = path.read_bytes().decode("latin-1")
    interchange = read_interchange_untrusted(text, rules)
    ts = interchange.groups[0].transaction_sets[0]
    assert fast_accept(ts.segments, interchange.header.delimiters, rules.single_inquiry) is not None
    assert _agree(text, rules) is True


_VALUES = st.sampled_from(
    [
        "",
        "30",
        "ZZ",
        "1",
        "0",
        "2",
        "20",
        "21",
        "22",
        "23",
        "D8",
        "RD8",
        "20260230",
        "20261122-20261121",
        "20261122",
        "XX",
        "MI",
        "IL",
        "1P",
        "PR",
        "HC|80061",
        "30^47",
        "A" * 61,
        "-1",
        "1.5",
        "291",
        "102",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sample=st.sampled_from(SAMPLES),
    segment_index=st.integers(min_value=1, max_value=30),
    element_index=st.integers(min_value=1, max_value=12),
    value=_VALUES,
    action=st.sampled_from(["replace", "delete", "duplicate", "extra"]),
)
def test_mutations_never_make_fast_accept_what_the_walk_rejects(
    sample: Path, segment_index: int, element_index: int, value: str, action: str
) -> None:
    rules = Rules.hets() if sample.parent.name == "hets" else Rules.x12()
    text = sample.read_bytes().decode("latin-1").replace("\r\n", "").replace("\n", "")
    terminator = text[105]
    separator = text[3]
    segments = text.split(terminator)
    index = segment_index % (len(segments) - 2) + 1  # never the ISA
    elements = segments[index].split(separator)
    if action == "replace":
        elements[element_index % len(elements) or 1] = value
        segments[index] = separator.join(elements)
    elif action == "delete":
        del segments[index]
    elif action == "duplicate":
        segments.insert(index, segments[index])
    else:
        segments[index] = separator.join([*elements, value])
    assert _agree(terminator.join(segments), rules) is not False


# --- the whole-interchange fast lane (HETS profile) ------------------------------------------

NOW = dt.datetime(2026, 11, 22, 7, 35)


def _same_decision(data: bytes, rules: Rules) -> None:
    """The fast lanes (whole interchange, and per set) and the walk alone (``fast=False``, which
    bypasses every fast check) decide alike, to the byte of a rejection's reply."""
    fast = check_270(data, rules=rules, now=NOW, control=ControlNumbers(1))
    full = check_270(data, rules=rules, now=NOW, control=ControlNumbers(1), fast=False)
    assert type(fast) is type(full)
    if isinstance(fast, Accepted):
        assert isinstance(full, Accepted)
        assert fast.inquiry == full.inquiry
        assert fast.header == full.header
        assert fast.report == full.report
    elif isinstance(fast, Rejected):
        assert isinstance(full, Rejected)
        assert (fast.kind, fast.note, fast.reply) == (full.kind, full.note, full.reply)


def test_fast_false_bypasses_every_fast_check(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a fast check ran with fast=False")

    monkeypatch.setattr(validate, "fast_accept", refuse)
    monkeypatch.setattr(check, "accept_interchange_fast", refuse)
    text = (DATA / "hets" / "specimen.270").read_bytes()
    for rules in (Rules.hets(), Rules.x12()):
        decision = check_270(text, rules=rules, now=NOW, control=ControlNumbers(1), fast=False)
        assert isinstance(decision, Accepted)


@pytest.mark.parametrize("name", ["specimen.270", "specimen-many-eq.270"])
def test_hets_samples_take_the_interchange_fast_lane(name: str) -> None:
    text = (DATA / "hets" / name).read_text("latin-1")
    assert accept_interchange_fast(text, Rules.hets()) is not None
    _same_decision(text.encode("latin-1"), Rules.hets())


_PROFILES = {
    "hets": Rules.hets(),
    "hets-relaxed-ids": attrs.evolve(Rules.hets(), receiver_ids=None, group_ids_match_interchange=False),
    "x12": Rules.x12(),
}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(["specimen.270", "specimen-many-eq.270"]),
    position=st.integers(min_value=0, max_value=600),
    replacement=st.sampled_from(
        [
            *("", "*", "~", "^", "|", "0", "1", "9", "A", "Z", " ", "\x00", "\x01", "\r\n", "\n", "\t"),
            *("-", "?", "**", "~~", "ZZ*", "\xe9", "30", "EQ*30~", "~\n"),
        ]
    ),
    length=st.integers(min_value=0, max_value=3),
    profile=st.sampled_from(sorted(_PROFILES)),
)
@example(name="specimen.270", position=35, replacement="~", length=1, profile="hets")  # ISA06's first character
@example(name="specimen.270", position=35, replacement="\x01", length=1, profile="hets-relaxed-ids")
@example(name="specimen.270", position=320, replacement="\n", length=0, profile="hets")  # inside an element
def test_fast_lane_decides_exactly_as_the_full_path(
    name: str, position: int, replacement: str, length: int, profile: str
) -> None:
    text = (DATA / "hets" / name).read_text("latin-1")
    position %= len(text)
    mutated = text[:position] + replacement + text[position + length :]
    _same_decision(mutated.encode("latin-1"), _PROFILES[profile])


# --- ISA06 and ISA08 in the fast lane's expression ------------------------------------------

SPECIMEN = (DATA / "hets" / "specimen.270").read_text("latin-1")


def test_isa06_starting_with_the_terminator_gets_a_ta1_not_an_exception() -> None:
    mutated = SPECIMEN.replace("*DEMO0001       *", "*~EMO0001       *", 1)
    assert accept_interchange_fast(mutated, Rules.hets()) is None
    decision = check_270(mutated, rules=Rules.hets(), now=NOW, control=ControlNumbers(1))
    assert isinstance(decision, Rejected)
    assert decision.kind == "TA1"
    assert decision.note is Ta1Note.INVALID_SENDER_ID  # a delimiter in ISA06 is not data
    _same_decision(mutated.encode("latin-1"), Rules.hets())


@pytest.mark.parametrize("first", ["\x01", "\xe9", "\t", " "])
def test_isa06_first_character_outside_x12_is_not_taken_by_the_fast_lane(first: str) -> None:
    rules = attrs.evolve(Rules.hets(), group_ids_match_interchange=False)
    mutated = SPECIMEN.replace("*DEMO0001       *", f"*{first}EMO0001       *", 1)
    assert accept_interchange_fast(mutated, rules) is None
    _same_decision(mutated.encode("latin-1"), rules)


@pytest.mark.parametrize("first", ["\x01", "~", " "])
def test_isa08_first_character_outside_x12_is_not_taken_by_the_fast_lane(first: str) -> None:
    rules = attrs.evolve(Rules.hets(), receiver_ids=None, group_ids_match_interchange=False)
    mutated = SPECIMEN.replace("*CMS            *", f"*{first}MS            *", 1)
    assert accept_interchange_fast(mutated, rules) is None
    _same_decision(mutated.encode("latin-1"), rules)
