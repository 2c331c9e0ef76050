"""Shared test fixtures: the sample interchanges under tests/data."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def specimen() -> bytes:
    """CMS-style reference 270 (one line, * ^ | ~)."""
    return (DATA / "hets" / "specimen.270").read_bytes()
