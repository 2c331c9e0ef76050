"""Tokenizer and writer for X12: an exact inverse pair.

Theory of operation
-------------------
An interchange is text in four delimiters taken from its ISA header (see ``isa.py``): the segment
terminator ends a segment, the element separator splits a segment into elements (element 0 is the
segment ID), the repetition separator splits an element into repetitions, and the component
separator splits a repetition into components.

``tokenize_untrusted`` splits on the segment terminator and element separator only; repetitions and
components are split on demand (``split_element``), since most elements have neither and splitting
them all would cost more than the whole check of a 270. Positions are indices: a segment's
``ordinal`` counts from 0 at the ISA, element ``n`` is ``elements[n]`` (so ``NM109`` is
``elements[9]``), repetitions and components count from 1 as in the IK4 position composite.

CR, LF or CRLF right after a segment terminator are line breaks, not data, and are dropped (unless
the terminator is itself CR or LF). ``write_segments(tokenize_untrusted(x)) == x`` holds for every
interchange with no such line breaks; with them, equality holds once they are removed.

Tokenizing never fails: any text gives segments. Judging them is the envelope and validator's job.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

#: Characters X12 allows in data (the 005010 basic and extended character sets). Used to decide
#: which characters may serve as delimiters and which element values hold an invalid character.
X12_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !\"&'()*+,-./:;?=abcdefghijklmnopqrstuvwxyz%@[]_{}\\|<>~^#$`"
)


@attrs.frozen
class Delimiters:
    """The four delimiters of an interchange, as read from its ISA header."""

    element: str
    repetition: str
    component: str
    segment: str

    def as_set(self) -> frozenset[str]:
        return frozenset((self.element, self.repetition, self.component, self.segment))


#: The delimiters of CMS's samples, used for replies when a request's own cannot be used.
DEFAULT_DELIMITERS = Delimiters(element="*", repetition="^", component="|", segment="~")


class Segment:
    """One segment: its ordinal in the interchange (ISA is 0) and its raw elements.

    ``elements[0]`` is the segment ID, ``elements[n]`` the n-th data element (``NM109`` is
    ``elements[9]``). Values are raw text: repetitions and components are still joined.
    A plain ``__slots__`` class rather than attrs: a 270 makes a few dozen of these per request.
    """

    __slots__ = ("elements", "ordinal")

    def __init__(self, ordinal: int, elements: list[str]) -> None:
        self.ordinal = ordinal
        self.elements = elements

    @property
    def id(self) -> str:
        return self.elements[0]

    def get(self, position: int) -> str:
        """The raw value of element ``position`` (1-based), or ``""`` when absent."""
        elements = self.elements
        return elements[position] if position < len(elements) else ""

    def __repr__(self) -> str:
        # Values may be patient data: show only the shape.
        return f"Segment(ordinal={self.ordinal}, id={self.id!r}, elements={len(self.elements) - 1})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Segment):
            return NotImplemented
        return self.ordinal == other.ordinal and self.elements == other.elements

    __hash__ = None  # type: ignore[assignment]


def _line_break_characters(segment_terminator: str) -> str:
    return "".join(c for c in "\r\n" if c != segment_terminator)


def tokenize_untrusted(text: str, delimiters: Delimiters, *, first_ordinal: int = 0) -> list[Segment]:
    """Split ``text`` into segments and elements. Never raises; linear in ``len(text)``.

    A final empty piece after the last terminator (or only line breaks there) is not a segment.
    Any other text after the last terminator becomes a last segment, so a caller can tell a
    truncated interchange from a complete one.
    """
    pieces = text.split(delimiters.segment)
    breaks = _line_break_characters(delimiters.segment)
    if breaks and (("\n" in text and "\n" in breaks) or ("\r" in text and "\r" in breaks)):
        pieces = [piece.lstrip(breaks) for piece in pieces]
    if pieces and pieces[-1] == "":
        pieces.pop()
    separator = delimiters.element
    return [Segment(ordinal, piece.split(separator)) for ordinal, piece in enumerate(pieces, start=first_ordinal)]


def write_segments(segments: Iterable[Segment | Sequence[str]], delimiters: Delimiters) -> str:
    """Render segments (or plain element lists) with ``delimiters``: the inverse of tokenizing."""
    separator = delimiters.element
    terminator = delimiters.segment
    return "".join(separator.join(s.elements if isinstance(s, Segment) else s) + terminator for s in segments)


def split_element(raw: str, delimiters: Delimiters) -> tuple[tuple[str, ...], ...]:
    """An element's repetitions, each a tuple of its components."""
    component = delimiters.component
    return tuple(tuple(rep.split(component)) for rep in raw.split(delimiters.repetition))


def join_element(value: Sequence[Sequence[str]], delimiters: Delimiters) -> str:
    """The inverse of :func:`split_element`."""
    component = delimiters.component
    return delimiters.repetition.join(component.join(rep) for rep in value)
