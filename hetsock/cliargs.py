"""Argument types shared by the commands: argparse refuses a bad value with exit 2 and a message
naming the option (never a traceback)."""

from __future__ import annotations

import argparse
import math


def port(text: str) -> int:
    """A TCP port to connect to, 1 to 65535."""
    return _whole(text, 1, 65535, "must be a port number, 1 to 65535")


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
    return _whole(text, 1, None, "must be a whole number above 0")


def _whole(text: str, low: int, high: int | None, message: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(message) from None
    if value < low or (high is not None and value > high):
        raise argparse.ArgumentTypeError(message)
    return value


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError("must be a finite number")
    return value
