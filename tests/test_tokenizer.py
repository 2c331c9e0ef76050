"""The tokenizer and writer are an exact inverse pair (``hetsock/x12/segments.py``).

Two directions are checked: every 005010 sample interchange in ``tests/data`` survives
tokenize -> write byte for byte (line breaks after terminators aside), and random segments in
random valid delimiters survive write -> tokenize. ``split_element``/``join_element`` are
checked the same way for repetitions and components.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hetsock.x12.isa import ISA_LENGTH, is_delimiter_character, read_isa_untrusted
from hetsock.x12.rules import Rules
from hetsock.x12.segments import (
    Delimiters,
    Segment,
    join_element,
    split_element,
    tokenize_untrusted,
    write_segments,
)

DATA = Path(__file__).parent / "data"

#: Every 005010 interchange among the samples: the HETS specimens and the peer corpus, less the
#: pyx12 files (004010, whose ISA11 is not a repetition separator) and the wrapped specimen
#: (not an interchange until the HETS wrapper is removed).
X12_FILES = sorted(
    path
    for path in (*DATA.glob("hets/*"), *DATA.glob("peers/*/*"))
    if path.suffix in {".270", ".271", ".edi", ".txt"} and path.parent.name != "pyx12"
)


def _file_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def test_the_corpus_is_found() -> None:
    assert len(X12_FILES) >= 14
    assert all(path.read_bytes()[:3] == b"ISA" for path in X12_FILES)


@pytest.mark.parametrize("path", X12_FILES, ids=_file_id)
def test_corpus_file_round_trips(path: Path) -> None:
    text = path.read_bytes().decode("latin-1")
    header = read_isa_untrusted(text, Rules.x12())
    d = header.delimiters
    segments = tokenize_untrusted(text, d)
    # Line breaks right after a terminator are not data: the writer does not restore them.
    expected = re.sub(re.escape(d.segment) + r"(?:\r\n|\r|\n)", d.segment, text)
    assert write_segments(segments, d) == expected
    assert [s.ordinal for s in segments] == list(range(len(segments)))
    assert segments[0].id == "ISA"
    assert segments[-1].id == "IEA"
    # The ISA as read from its fixed-width layout is the ISA the tokenizer found.
    assert segments[0] == header.segment()
    # Tokenizing what follows the ISA, as the envelope does, gives the same segments.
    assert tokenize_untrusted(text[ISA_LENGTH:], d, first_ordinal=1) == segments[1:]


def test_line_broken_specimen_matches_the_one_line_specimen() -> None:
    one_line = (DATA / "hets" / "specimen.270").read_bytes().decode("latin-1")
    lines = (DATA / "hets" / "specimen-lines.270").read_bytes().decode("latin-1")
    d = read_isa_untrusted(one_line, Rules.x12()).delimiters
    assert "\r\n" in lines
    assert tokenize_untrusted(lines, d) == tokenize_untrusted(one_line, d)
    assert write_segments(tokenize_untrusted(lines, d), d) == one_line


# --- random delimiters and values ------------------------------------------------------------

#: Characters that may be a delimiter: printable ASCII that is not a letter, digit or space.
DELIMITER_CHARACTERS = [chr(c) for c in range(0x21, 0x7F) if not chr(c).isalnum()]


@st.composite
def delimiter_sets(draw: st.DrawFn) -> Delimiters:
    """Four distinct valid delimiters; the segment terminator may also be CR or LF."""
    element, repetition, component = draw(
        st.lists(st.sampled_from(DELIMITER_CHARACTERS), min_size=3, max_size=3, unique=True)
    )
    terminator = draw(
        st.sampled_from([*DELIMITER_CHARACTERS, "\r", "\n"]).filter(lambda c: c not in (element, repetition, component))
    )
    d = Delimiters(element=element, repetition=repetition, component=component, segment=terminator)
    assert len(d.as_set()) == 4
    assert all(is_delimiter_character(c) for c in (element, repetition, component))
    assert is_delimiter_character(terminator, terminator=True)
    return d


def values_without(forbidden: frozenset[str], *, min_size: int = 0) -> st.SearchStrategy[str]:
    """Element text (any Latin-1 character) with none of ``forbidden`` and no line breaks."""
    return st.text(
        alphabet=st.characters(max_codepoint=0xFF, blacklist_characters="".join(forbidden | {"\r", "\n"})),
        min_size=min_size,
        max_size=12,
    )


@st.composite
def delimited_segments(draw: st.DrawFn) -> tuple[Delimiters, list[list[str]]]:
    """Valid delimiters and segments whose values avoid the element and segment delimiters."""
    d = draw(delimiter_sets())
    # Repetition and component separators are data to the tokenizer: allow them in values.
    value = values_without(frozenset({d.element, d.segment}))
    segment = st.lists(value, min_size=1, max_size=8)
    return d, draw(st.lists(segment, max_size=12))


@settings(deadline=None, max_examples=300)
@given(delimited_segments())
def test_write_then_tokenize_is_identity(case: tuple[Delimiters, list[list[str]]]) -> None:
    d, segments = case
    text = write_segments(segments, d)
    tokens = tokenize_untrusted(text, d)
    assert [s.elements for s in tokens] == segments
    assert [s.ordinal for s in tokens] == list(range(len(segments)))
    # And back again, from Segment objects this time.
    assert write_segments(tokens, d) == text


@settings(deadline=None, max_examples=200)
@given(delimited_segments(), st.data())
def test_line_breaks_after_terminators_are_dropped(
    case: tuple[Delimiters, list[list[str]]], data: st.DataObject
) -> None:
    d, segments = case
    breaks = [b for b in ("\r\n", "\r", "\n") if d.segment not in b]
    pieces = []
    for segment in segments:
        pieces.append(d.element.join(segment) + d.segment)
        if breaks:
            pieces.append(data.draw(st.sampled_from(["", *breaks])))
    broken = "".join(pieces)
    assert tokenize_untrusted(broken, d) == tokenize_untrusted(write_segments(segments, d), d)


@settings(deadline=None, max_examples=300)
@given(st.data())
def test_tokenize_then_write_is_identity_for_any_text(data: st.DataObject) -> None:
    """Any text without line breaks: writing the tokens gives it back, plus a final terminator
    when it did not end with one (a truncated interchange shows as an unterminated segment)."""
    d = data.draw(delimiter_sets())
    alphabet = st.sampled_from(sorted(d.as_set())) | st.characters(max_codepoint=0xFF, blacklist_characters="\r\n")
    text = data.draw(st.text(alphabet=alphabet, max_size=80))
    segments = tokenize_untrusted(text, d, first_ordinal=7)
    expected = text if text == "" or text.endswith(d.segment) else text + d.segment
    assert write_segments(segments, d) == expected
    assert [s.ordinal for s in segments] == list(range(7, 7 + len(segments)))
    assert all(len(s.elements) >= 1 for s in segments)


@st.composite
def nested_values(draw: st.DrawFn) -> tuple[Delimiters, list[list[str]]]:
    d = draw(delimiter_sets())
    part = values_without(frozenset({d.repetition, d.component}))
    return d, draw(st.lists(st.lists(part, min_size=1, max_size=5), min_size=1, max_size=5))


@settings(deadline=None, max_examples=300)
@given(nested_values())
def test_join_then_split_element_is_identity(case: tuple[Delimiters, list[list[str]]]) -> None:
    d, value = case
    raw = join_element(value, d)
    assert split_element(raw, d) == tuple(tuple(rep) for rep in value)
    assert join_element(split_element(raw, d), d) == raw


@settings(deadline=None, max_examples=300)
@given(st.data())
def test_split_then_join_element_is_identity(data: st.DataObject) -> None:
    d = data.draw(delimiter_sets())
    alphabet = st.sampled_from([d.repetition, d.component]) | st.characters(max_codepoint=0xFF)
    raw = data.draw(st.text(alphabet=alphabet, max_size=40))
    parts = split_element(raw, d)
    assert len(parts) == raw.count(d.repetition) + 1
    assert sum(len(rep) for rep in parts) == raw.count(d.repetition) + raw.count(d.component) + 1
    assert join_element(parts, d) == raw


def test_segment_shape() -> None:
    d = Delimiters(element="*", repetition="^", component=":", segment="~")
    (segment,) = tokenize_untrusted("EQ*30^1*HC:99213~", d)
    assert segment == Segment(0, ["EQ", "30^1", "HC:99213"])
    assert segment.get(2) == "HC:99213"
    assert segment.get(9) == ""
    assert split_element(segment.get(1), d) == (("30",), ("1",))
    assert split_element(segment.get(2), d) == (("HC", "99213"),)
    assert "99213" not in repr(segment)
