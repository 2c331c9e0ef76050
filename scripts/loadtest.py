#!/usr/bin/env python3
"""Load-test a running hetsock server: the same as ``hetsock loadtest`` (see ``--help``).

python scripts/loadtest.py --connections 1000 --rate 500 --duration 60 --json report.json
"""

from __future__ import annotations

import sys

from hetsock.cli_loadtest import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
