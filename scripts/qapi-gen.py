#!/usr/bin/env python3
"""Generate C code from a QAPI schema.  See docs/qapi.md."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from qapi.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
