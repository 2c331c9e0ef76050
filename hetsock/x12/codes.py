"""X12 acknowledgment codes as documented enums.

Each member's value is the code as it goes on the wire; the ``#:`` comment says what it means
in our words. Code lists: TA105 (interchange note code, data element I18), IK304 (segment syntax
error, 620), IK403 (element syntax error, 621), IK502 (transaction set syntax error, 718) and
AK905 (functional group syntax error, 716), as used by 005010 TA1 and 005010X231A1 999.
"""

from __future__ import annotations

import enum


class Ta1Note(enum.StrEnum):
    """TA105: why an interchange envelope was rejected."""

    #: No error (never sent: HETS sends no positive TA1).
    NO_ERROR = "000"
    #: ISA13 and IEA02 differ; the ISA13 value is the one acknowledged.
    CONTROL_NUMBER_MISMATCH = "001"
    #: ISA12 names a control version we do not support (for example 00401).
    VERSION_NOT_SUPPORTED = "003"
    #: The segment terminator is invalid (a letter, digit, or shared with another delimiter).
    INVALID_SEGMENT_TERMINATOR = "004"
    #: ISA05 is not an accepted sender ID qualifier.
    INVALID_SENDER_QUALIFIER = "005"
    #: ISA06 is blank or malformed.
    INVALID_SENDER_ID = "006"
    #: ISA07 is not an accepted receiver ID qualifier.
    INVALID_RECEIVER_QUALIFIER = "007"
    #: ISA08 is blank or malformed (starts with a blank, or an invalid character).
    INVALID_RECEIVER_ID = "008"
    #: ISA08 is well formed but not this system's receiver ID ("Unknown Interchange Receiver ID").
    UNKNOWN_RECEIVER_ID = "009"
    #: ISA01 is not ``00`` (no authorization information is accepted).
    INVALID_AUTHORIZATION_QUALIFIER = "010"
    #: ISA02 is not blank.
    INVALID_AUTHORIZATION_VALUE = "011"
    #: ISA03 is not ``00`` (no security information is accepted).
    INVALID_SECURITY_QUALIFIER = "012"
    #: ISA04 is not blank.
    INVALID_SECURITY_VALUE = "013"
    #: ISA09 is not a real date YYMMDD.
    INVALID_DATE = "014"
    #: ISA10 is not a real time HHMM.
    INVALID_TIME = "015"
    #: ISA11, the repetition separator, is invalid (the 4010 standards identifier's place).
    INVALID_STANDARDS_IDENTIFIER = "016"
    #: ISA12 is not a control version number at all.
    INVALID_VERSION_ID = "017"
    #: ISA13 is not nine digits.
    INVALID_CONTROL_NUMBER = "018"
    #: ISA14 is not ``0`` or ``1``.
    INVALID_ACKNOWLEDGMENT_REQUESTED = "019"
    #: ISA15 is not ``P`` or ``T``.
    INVALID_TEST_INDICATOR = "020"
    #: IEA01 is not the number of functional groups.
    INVALID_NUMBER_OF_GROUPS = "021"
    #: The ISA is not 106 characters of 16 fixed-width elements.
    INVALID_CONTROL_STRUCTURE = "022"
    #: The interchange ends before its IEA (or before a whole ISA).
    PREMATURE_END = "023"
    #: The content between ISA and IEA is not a valid group structure (GS/GE).
    INVALID_CONTENT = "024"
    #: ISA element separator (position 4) is invalid.
    INVALID_ELEMENT_SEPARATOR = "026"
    #: ISA16, the component separator, is invalid.
    INVALID_COMPONENT_SEPARATOR = "027"


class SegmentError(enum.StrEnum):
    """IK304: what is wrong with a segment."""

    #: A segment ID that no X12 transaction uses (or no ID at all).
    UNRECOGNIZED_SEGMENT_ID = "1"
    #: A segment of the 270 where the 270 does not allow it.
    UNEXPECTED_SEGMENT = "2"
    #: A required segment is missing.
    REQUIRED_SEGMENT_MISSING = "3"
    #: A loop repeats more often than allowed.
    LOOP_OVER_MAXIMUM = "4"
    #: A segment repeats more often than allowed.
    SEGMENT_OVER_MAXIMUM_USE = "5"
    #: A segment defined in X12 but not part of the 270.
    NOT_IN_TRANSACTION_SET = "6"
    #: A segment of this loop out of order.
    NOT_IN_PROPER_SEQUENCE = "7"
    #: The segment's elements have errors (reported in IK4).
    ELEMENT_ERRORS = "8"
    #: A segment the implementation guide (or the HETS profile) marks "not used".
    IMPLEMENTATION_NOT_USED = "I4"
    #: An implementation-dependent segment is missing.
    IMPLEMENTATION_DEPENDENT_MISSING = "I6"
    #: A loop occurs fewer times than the implementation requires.
    IMPLEMENTATION_LOOP_UNDER_MINIMUM = "I7"


class ElementError(enum.StrEnum):
    """IK403: what is wrong with a data element."""

    #: A mandatory or required element is empty.
    REQUIRED_MISSING = "1"
    #: An element required by a syntax rule (paired, conditional) is missing.
    CONDITIONAL_REQUIRED_MISSING = "2"
    #: More elements than the segment defines.
    TOO_MANY_ELEMENTS = "3"
    #: Shorter than the element's minimum length.
    TOO_SHORT = "4"
    #: Longer than the element's maximum length.
    TOO_LONG = "5"
    #: A character outside the X12 character set, or wrong for the data type.
    INVALID_CHARACTER = "6"
    #: A code value not in the element's code list.
    INVALID_CODE_VALUE = "7"
    #: Not a real date (or a date range whose end precedes its start).
    INVALID_DATE = "8"
    #: Not a real time.
    INVALID_TIME = "9"
    #: An element excluded by a syntax rule is present.
    EXCLUSION_VIOLATED = "10"
    #: More repetitions than the element allows.
    TOO_MANY_REPETITIONS = "12"
    #: More components than the composite defines.
    TOO_MANY_COMPONENTS = "13"
    #: An element the implementation guide marks "not used" is present.
    IMPLEMENTATION_NOT_USED = "I10"
    #: A code value valid in X12 but not used by the implementation guide.
    CODE_NOT_USED_IN_IMPLEMENTATION = "I6"


class TransactionSetError(enum.StrEnum):
    """IK502: why a transaction set was rejected."""

    #: ST01 names a transaction set this group does not carry (not 270).
    NOT_SUPPORTED = "1"
    #: No SE before the GE.
    TRAILER_MISSING = "2"
    #: ST02 and SE02 differ.
    CONTROL_NUMBER_MISMATCH = "3"
    #: SE01 is not the number of segments from ST to SE.
    SEGMENT_COUNT_MISMATCH = "4"
    #: One or more segments in error (see IK3).
    SEGMENTS_IN_ERROR = "5"
    #: ST01 missing or invalid.
    INVALID_TRANSACTION_SET_ID = "6"
    #: ST02 missing or invalid.
    INVALID_CONTROL_NUMBER = "7"
    #: ST03 names another implementation convention, or HETS's one-inquiry rule is broken.
    IMPLEMENTATION_CONVENTION_NOT_SUPPORTED = "I6"


class GroupError(enum.StrEnum):
    """AK905: why a functional group was rejected."""

    #: GS01 is not ``HS``.
    NOT_SUPPORTED = "1"
    #: GS08 is not ``005010X279A1`` (or its pre-errata alias).
    VERSION_NOT_SUPPORTED = "2"
    #: No GE before the IEA.
    TRAILER_MISSING = "3"
    #: GS06 and GE02 differ.
    CONTROL_NUMBER_MISMATCH = "4"
    #: GE01 is not the number of transaction sets.
    TRANSACTION_SET_COUNT_MISMATCH = "5"
    #: GS06 is not a number.
    INVALID_CONTROL_NUMBER = "6"
