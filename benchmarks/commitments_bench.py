"""Validation time against the size of the Commitments sheet: n starts at one site and n
not_before rows there that do not bind them (the not_before quarter is before the starts'), for
doubling n. Linear checks take about twice as long per doubling; a scan of every row for each
start, about four times.

    PYTHONPATH=. python -m benchmarks.commitments_bench            # n = 1000, 2000, 4000
    PYTHONPATH=. python -m benchmarks.commitments_bench --sizes 500 1000
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

import pandas as pd

from models.errors import InputError
from optimizer.inputs.validation import portfolio_from_tables

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support import tiny_tables  # the tests' small valid workbook


def tables(n: int) -> dict[str, pd.DataFrame]:
    """The tiny workbook with n starts of dlc at Alpha in 2027Q2 and n not_befores 2027Q1."""
    out = tiny_tables()
    rows = ([("Alpha", "dlc", "2027Q2", 1, "start")] * n
            + [("Alpha", None, "2027Q1", None, "not_before")] * n)
    out["Commitments"] = pd.DataFrame(rows, columns=["site", "option", "quarter", "halls",
                                                     "action"])
    return out


def seconds(n: int) -> float:
    """Seconds to validate `tables(n)` (the starts total more halls than Alpha has: an error,
    reported once, like any workbook with a problem)."""
    frames = tables(n)
    start = time.perf_counter()
    with contextlib.suppress(InputError):
        portfolio_from_tables(frames)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000])
    args = parser.parse_args()
    previous = None
    for n in args.sizes:
        took = seconds(n)
        ratio = f", x{took / previous:.1f} the previous" if previous else ""
        print(f"n = {n}: {took:.3f} s{ratio}")
        previous = took


if __name__ == "__main__":
    main()
