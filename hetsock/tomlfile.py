"""Reading a TOML file, with faults reported as the caller's own error type."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


def read_toml(path: Path, error: type[Exception]) -> dict[str, Any]:
    """The parsed file; raises ``error`` naming the path and the fault (unreadable, not TOML)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as fault:
        raise error(f"{path}: cannot read: {fault.strerror or fault}") from fault
    except tomllib.TOMLDecodeError as fault:
        raise error(f"{path}: not valid TOML: {fault}") from fault
