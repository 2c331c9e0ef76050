"""Medicare Beneficiary Identifiers and National Provider Identifiers: format and check digit.

MBI (HETS-NOTES section 4): 11 characters; position 1 a digit 1-9; positions 2, 5, 8 and 9 a
letter; positions 4, 7, 10 and 11 a digit; positions 3 and 6 a letter or digit; the letters
S, L, O, I, B and Z never appear.

NPI: 10 digits whose last is the Luhn check digit over ``80840`` followed by the first nine.
"""

from __future__ import annotations

import functools
import re

MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"
_DIGITS = "0123456789"


def is_valid_mbi(value: str) -> bool:
    """Whether ``value`` has the MBI format (uppercase; no dashes)."""
    return _MBI_FORMAT.fullmatch(value) is not None


def _mbi_format() -> re.Pattern[str]:
    # The layout in the module header as one expression: a quarter of the cost of a Python loop
    # over the characters, and it runs for every inquiry. [0-9] is ASCII only, unlike \d.
    kinds = {"L": f"[{MBI_LETTERS}]", "D": "[0-9]", "E": f"[{MBI_LETTERS}0-9]"}  # letter, digit, either
    return re.compile("[1-9]" + "".join(kinds[kind] for kind in "LEDLEDLLDD"))  # positions 2 to 11


_MBI_FORMAT = _mbi_format()


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
