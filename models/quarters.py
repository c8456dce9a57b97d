"""Quarter labels: parsing, arithmetic and formatting.

Read as the quarter they name (stored `YYYYQn`), any case, spaces or `-`, `_`, `/` between the
parts: `2027Q1`, `2027-Q1`, `2027 Q1`; the quarter first, `Q1 2027`, `Q1-2027`, `1Q2027`; and a
date (an Excel date cell, or ISO text `2027-02-15`), read as the calendar quarter it falls in.
A two-digit year (`Q3 28`, `3Q28`, `28Q3`) is not read (its century would be a guess): see
`quarter_hint`, which suggests the label.
"""

from __future__ import annotations

import datetime as dt
import re

_SEP = r"\s*[-_/' ]?\s*"
_LABEL = re.compile(rf"^\s*(?P<year>\d{{4}}){_SEP}[Qq]\s*(?P<q>[1-4])\s*$")
_QUARTER_FIRST = re.compile(rf"^\s*(?:[Qq]\s*(?P<q>[1-4])|(?P<q2>[1-4])\s*[Qq]){_SEP}"
                            rf"(?P<year>\d{{4}})\s*$")
_TWO_DIGIT = re.compile(rf"^\s*(?:(?:[Qq]\s*(?P<q>[1-4])|(?P<q2>[1-4])\s*[Qq]){_SEP}"
                        rf"(?P<year>\d{{2}})|(?P<year2>\d{{2}}){_SEP}[Qq]\s*(?P<q3>[1-4]))\s*$")
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?\s*$")


def date_of(value: object) -> dt.date | None:
    """The date a cell holds: a date or datetime (an Excel date cell, a pandas Timestamp) or
    ISO text `2027-07-01` (a time of day allowed); else None."""
    if isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    if isinstance(value, str) and (match := _ISO_DATE.match(value)):
        try:
            return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            return None
    return None


def parse_quarter(value: object) -> str | None:
    """Return the canonical label `YYYYQn` for a quarter written any accepted way (see the
    module docstring), else None."""
    if value is None:
        return None
    day = date_of(value)
    if day is not None:
        return f"{day.year}Q{(day.month - 1) // 3 + 1}"
    text = str(value)
    match = _LABEL.match(text) or _QUARTER_FIRST.match(text)
    if match is None:
        return None
    return f"{match.group('year')}Q{match.groupdict().get('q') or match.group('q2')}"


def quarter_hint(value: object) -> str | None:
    """The label a value not read as a quarter most likely means: `Q3 28`, `3Q28` or `28Q3`
    -> `2028Q3` (a two-digit year taken as 20yy); else None."""
    match = _TWO_DIGIT.match(str(value)) if isinstance(value, str) else None
    if match is None:
        return None
    year = match.group("year") or match.group("year2")
    quarter = match.group("q") or match.group("q2") or match.group("q3")
    return f"20{year}Q{quarter}"


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
