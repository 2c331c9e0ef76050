"""Argument types shared by the commands: argparse refuses a bad value with exit 2 and a message
naming the option (never a traceback)."""

from __future__ import annotations

import argparse
import math


def port(text: str) -> int:
    """A TCP port to connect to, 1 to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a port number, 1 to 65535") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be a port number, 1 to 65535")
    return value


def positive_number(text: str) -> float:
    """A finite number above 0 (seconds, a rate)."""
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a number above 0")
    return value


def non_negative_number(text: str) -> float:
    """A finite number, 0 or more."""
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be a number, 0 or more")
    return value


def positive_integer(text: str) -> int:
    """A whole number above 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number above 0") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be a whole number above 0")
    return value


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError("must be a finite number")
    return value
