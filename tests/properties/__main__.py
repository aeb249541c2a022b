"""Full property run: `python -m tests.properties`; prints the generated case count."""

from __future__ import annotations

import os
import sys
import time

import pytest


def main() -> int:
    os.environ["SOARPACK_FULL"] = "1"
    import tests.properties as package
    from tests.properties import CASES

    # The package was imported (and read the environment) before this module ran.
    package.FULL = True

    started = time.perf_counter()
    code = pytest.main(["-q", "-p", "no:cacheprovider", "tests/properties", *sys.argv[1:]])
    total = sum(CASES.values())
    print(
        f"property cases: {total} ({CASES['valid']} valid, {CASES['invalid']} invalid) "
        f"in {time.perf_counter() - started:.0f} s"
    )
    if code == 0 and total < 10_000:
        print("fewer than 10,000 cases: the full run is not full")
        return 1
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
