"""Medicare Beneficiary Identifiers and National Provider Identifiers: format and check digit.

MBI (HETS-NOTES section 4): 11 characters; position 1 a digit 1-9; positions 2, 5, 8 and 9 a
letter; positions 4, 7, 10 and 11 a digit; positions 3 and 6 a letter or digit; the letters
S, L, O, I, B and Z never appear.

NPI: 10 digits whose last is the Luhn check digit over ``80840`` followed by the first nine.
"""

from __future__ import annotations

import functools

MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"
_DIGITS = "0123456789"
_LETTER_POSITIONS = frozenset({1, 4, 7, 8})  # 0-based
_DIGIT_POSITIONS = frozenset({3, 6, 9, 10})
_EITHER_POSITIONS = frozenset({2, 5})
_LETTER_SET = frozenset(MBI_LETTERS)
_DIGIT_SET = frozenset(_DIGITS)
_EITHER_SET = _LETTER_SET | _DIGIT_SET


def is_valid_mbi(value: str) -> bool:
    """Whether ``value`` has the MBI format (uppercase; no dashes)."""
    if len(value) != 11 or value[0] not in "123456789":
        return False
    for index in range(1, 11):
        char = value[index]
        if index in _LETTER_POSITIONS:
            if char not in _LETTER_SET:
                return False
        elif index in _DIGIT_POSITIONS:
            if char not in _DIGIT_SET:
                return False
        elif char not in _EITHER_SET:
            return False
    return True


def mbi_from_number(number: int) -> str:
    """A valid MBI for each integer in [0, 9 * 20 * 30 * 10 * 20 * 30 * 10 * 20 * 20 * 10 * 10):
    a bijection, so a seeded population has distinct, reproducible MBIs."""
    either = MBI_LETTERS + _DIGITS
    layout = (
        "123456789",
        MBI_LETTERS,
        either,
        _DIGITS,
        MBI_LETTERS,
        either,
        _DIGITS,
        MBI_LETTERS,
        MBI_LETTERS,
        _DIGITS,
        _DIGITS,
    )
    chars = []
    for alphabet in reversed(layout):
        number, index = divmod(number, len(alphabet))
        chars.append(alphabet[index])
    return "".join(reversed(chars))


def npi_check_digit(first_nine: str) -> str:
    """The Luhn check digit of an NPI's first nine digits (with the 80840 prefix)."""
    total = 0
    for index, char in enumerate(reversed("80840" + first_nine)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


@functools.lru_cache(maxsize=65536)
def is_valid_npi(value: str) -> bool:
    """Ten ASCII digits whose last is the Luhn check digit (cached: NPIs repeat; not patient data)."""
    return len(value) == 10 and value.isascii() and value.isdigit() and npi_check_digit(value[:9]) == value[9]


def npi_from_number(number: int) -> str:
    """A valid NPI built from a nine-digit number (first digit 1 or 2, as real NPIs)."""
    first_nine = f"{1 + number % 2}{number // 2 % 10**8:08d}"
    return first_nine + npi_check_digit(first_nine)
