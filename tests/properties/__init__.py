"""Property-based input tests: inputs generated from every action's input schema.

Default run: a small derandomized subset. Full run (>= 10,000 generated cases):
    .venv/bin/python -m tests.properties
"""

from __future__ import annotations

import os
from collections import Counter

FULL = os.environ.get("SOARPACK_FULL") == "1"
# Generated cases run, by kind ("valid" / "invalid"); read by `python -m tests.properties`.
CASES: Counter[str] = Counter()
