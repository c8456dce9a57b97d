"""Quarter labels: parsing (`2027Q1`, `2027-Q1`, `2027 Q1`), arithmetic and formatting."""

from __future__ import annotations

import re

_LABEL = re.compile(r"^\s*(\d{4})\s*[-_ ]?\s*[Qq]\s*([1-4])\s*$")


def parse_quarter(value: object) -> str | None:
    """Return the canonical label `YYYYQn` for a quarter written any accepted way, else None."""
    if value is None:
        return None
    match = _LABEL.match(str(value))
    if match is None:
        return None
    return f"{match.group(1)}Q{match.group(2)}"


def quarter_ordinal(label: str) -> int:
    """Quarters since year 0: consecutive quarters differ by 1."""
    year, q = label.split("Q")
    return int(year) * 4 + int(q) - 1


def quarter_label(ordinal: int) -> str:
    """Inverse of `quarter_ordinal`."""
    return f"{ordinal // 4}Q{ordinal % 4 + 1}"


def add_quarters(label: str, n: int) -> str:
    """The quarter `n` quarters after `label`."""
    return quarter_label(quarter_ordinal(label) + n)


def quarter_range(start: str, count: int) -> list[str]:
    """`count` consecutive quarter labels from `start`."""
    first = quarter_ordinal(start)
    return [quarter_label(first + i) for i in range(count)]
