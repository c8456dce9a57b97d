"""Reading cells: one sheet as read (`SheetData`, with where each cell came from), blank cells,
and one cell's value by its column's kind and bounds (`coerce_cell`).

Rules (see `optimizer.inputs.schema` for the kinds): numbers, integers and booleans are coerced
through pydantic's lax rules ("3.5" -> 3.5, 3.0 -> 3 but 3.5 is not an integer, yes/no/TRUE/1 ->
bool; TRUE in a number column is an error, not 1); quarters through
`models.quarters.parse_quarter`; choices case-insensitive (the nearest suggested); a number
outside the column's bounds is an error, with a hint when a fraction was typed as a percentage.
A cell outside the column's typical range, or a date in a quarter column, is read with a
warning (`reading_note`). Names (sheets, columns, keys) are matched trimmed and case-insensitive
(`norm_name`), the nearest suggested (`suggest`, `resembling`).
"""

from __future__ import annotations

import difflib
import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import Field, TypeAdapter, ValidationError

from models.errors import InputProblem
from models.quarters import date_of, parse_quarter, quarter_hint
from optimizer.inputs.schema import InputColumn, Table

# Lax pydantic coercion: "3.5" -> 3.5, 3.0 -> 3 (3.5 rejected), yes/no/TRUE/1 -> bool.
_FLOAT: TypeAdapter[float] = TypeAdapter(Annotated[float, Field(allow_inf_nan=False)])
_INT = TypeAdapter(int)
_BOOL = TypeAdapter(bool)

# Extra columns people add to document their figures; ignored without a warning.
ANNOTATION_COLUMNS = frozenset({"note", "notes", "comment", "comments", "source", "sources",
                                "description", "unit", "units", "meaning"})

BAD = object()  # a cell already reported as a problem: its checks downstream are skipped


@dataclass(frozen=True)
class Unreadable:
    """A cell the reader could not give a value for (e.g. a formula without a saved result,
    or a merged cell). The reader reports it; validation treats the cell as bad, silently."""

    reason: str


@dataclass
class SheetData:
    """One sheet as read, and where each of its cells came from.

    ``frame`` holds the raw values with the header as written (not yet normalised).
    ``rows`` is the spreadsheet row number of each frame row (default 2, 3, ...: header in
    row 1); ``letters`` the column letter of each frame column (default A, B, ... in frame
    order). With ``csv_file`` set, cells are named ``file.csv row N`` instead of ``Sheet!D7``.
    """

    name: str
    frame: pd.DataFrame
    rows: list[int] | None = None
    letters: list[str] | None = None
    csv_file: str | None = None
    header_row: int = 1

    def __post_init__(self) -> None:
        if self.rows is None:
            self.rows = [self.header_row + 1 + i for i in range(len(self.frame))]
        if self.letters is None:
            self.letters = [column_letter(i + 1) for i in range(self.frame.shape[1])]

    @functools.cached_property
    def cells(self) -> list[list[Any]]:
        """The raw values, row by row (plain lists: much faster than row-wise pandas)."""
        return self.frame.to_numpy(dtype=object).tolist()

    @property
    def label(self) -> str:
        return self.csv_file or self.name

    def problem(self, row: int | None, col_pos: int | None, column: str, value: object,
                expected: str) -> InputProblem:
        """An InputProblem located at a cell (row = spreadsheet row, None for the whole sheet)."""
        if row is None:
            return InputProblem(self.label, "", column, value, expected)
        if self.csv_file is not None or col_pos is None:
            return InputProblem(f"{self.label} row {row}", "", column, value, expected)
        assert self.letters is not None
        return InputProblem(self.label, f"{self.letters[col_pos]}{row}", column, value, expected)

    def cell_name(self, row: int, col_pos: int | None) -> str:
        """How a cell is named inside a message (``Sites!D7`` or ``sites.csv row 7``)."""
        if self.csv_file is not None or col_pos is None:
            return f"{self.label} row {row}"
        assert self.letters is not None
        return f"{self.label}!{self.letters[col_pos]}{row}"


def column_letter(index: int) -> str:
    """Excel column letter of a 1-based column index (1 -> A, 27 -> AA)."""
    letters = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def is_blank(value: object) -> bool:
    """True for an empty cell: None, NaN/NA/NaT, or text of spaces only."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, float | np.floating):
        return math.isnan(float(value))
    return False


def _plain(value: object) -> object:
    """numpy scalars -> Python scalars, so pydantic sees ordinary values."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def coerce_cell(value: object, col: InputColumn) -> tuple[object, str | None]:
    """Convert one non-blank cell by its column's kind and check its bounds.

    Returns ``(typed_value, None)`` or ``(None, what was expected)``.
    """
    value = _plain(value)
    if isinstance(value, str):
        value = value.strip()
    expected = f"expected {col.expectation()}"
    kind = col.kind
    try:
        if kind == "text":
            if isinstance(value, bool):
                return None, expected
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            return str(value), None
        if kind == "choice":
            text = str(value).lower()
            if text in col.choices:
                return text, None
            near = difflib.get_close_matches(text, col.choices, n=1)
            return None, expected + (f" (did you mean {near[0]}?)" if near else "")
        if kind == "quarter":
            label = parse_quarter(value)
            hint = quarter_hint(value)
            return (label, None) if label is not None else (
                None, expected + (f" (did you mean {hint}?)" if hint else ""))
        if kind == "bool":
            return _BOOL.validate_python(value), None
        if isinstance(value, bool):  # TRUE in a number column is a mistake, not 1
            return None, expected
        if kind == "integer":
            number: float | int = _INT.validate_python(
                _FLOAT.validate_python(value) if isinstance(value, str) else value)
        else:
            number = _FLOAT.validate_python(value)
    except ValidationError:
        return None, expected
    if not _within(number, col):
        return None, expected + _percent_hint(number, col)
    return number, None


def _within(number: float, col: InputColumn) -> bool:
    """`number` within the column's bounds (ge/le inclusive, gt/lt exclusive)."""
    return not ((col.ge is not None and number < col.ge)
                or (col.gt is not None and number <= col.gt)
                or (col.le is not None and number > col.le)
                or (col.lt is not None and number >= col.lt))


def _percent_hint(number: float, col: InputColumn) -> str:
    """` (did you mean 0.12? ...)` for a rate or share (unit `fraction` or `per year`, at most
    1) typed as a whole percentage (12 for 12%), when the hundredth is allowed; else ""."""
    upper = col.le if col.le is not None else col.lt
    if col.unit not in ("fraction", "per year") or upper is None or upper > 1 or number <= 1:
        return ""
    fraction = number / 100
    if not _within(fraction, col):
        return ""
    return (f" (did you mean {fraction:g}? {col.name} is a fraction: {number:g}% is "
            f"{fraction:g})")


def reading_note(raw: object, value: object, col: InputColumn) -> str | None:
    """A warning's words when a valid cell was read as something it does not spell: a date
    in a quarter column (read as the calendar quarter it falls in), or a value outside the
    column's typical range (`InputColumn.atypical`); else None."""
    if col.kind == "quarter" and date_of(raw) is not None:
        return (f"a date, read as {value} (the calendar quarter it falls in); write {value} to "
                "say so")
    if col.kind in ("number", "integer") and isinstance(value, int | float) \
            and not isinstance(value, bool):
        return col.atypical(float(value))
    return None


def suggest(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the nearest candidate (case-insensitive), else ""."""
    by_lower = {c.lower(): c for c in candidates}
    near = difflib.get_close_matches(word.lower(), list(by_lower), n=1)
    return f" (did you mean {by_lower[near[0]]!r}?)" if near else ""


def resembling(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate `name` most likely was meant by: one that begins the other (at least 3
    characters: `power_cost` for `power_cost_usd_per_mwh`), else difflib's nearest (ratio at
    least 0.6); None when none is near."""
    names = list(candidates)
    starts = [c for c in names if min(len(c), len(name)) >= 3
              and (name.startswith(c) or c.startswith(name))]
    if starts:
        return max(starts, key=lambda c: difflib.SequenceMatcher(None, name, c).ratio())
    near = difflib.get_close_matches(name, names, n=1)
    return near[0] if near else None


def norm_name(name: object) -> str:
    return "" if is_blank(name) else str(name).strip().lower()


@dataclass
class SheetRecords:
    """A table after cell coercion: one dict per non-empty row, plus where each came from (a
    problem is located at its cell)."""

    sheet: SheetData | None
    table: Table
    records: list[dict[str, Any]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # spreadsheet row of each record
    positions: dict[str, int] = field(default_factory=dict)  # column -> frame position
    # column -> (record, raw cell, quarter) of each date read as a quarter
    dates: dict[str, list[tuple[int, object, str]]] = field(default_factory=dict)

    def problem(self, i: int, column: str, value: object, expected: str) -> InputProblem:
        assert self.sheet is not None
        return self.sheet.problem(self.rows[i], self.positions.get(column), column, value,
                                  expected)

    def cell_name(self, i: int, column: str) -> str:
        assert self.sheet is not None
        return self.sheet.cell_name(self.rows[i], self.positions.get(column))

    def ok(self, i: int, column: str) -> bool:
        """The cell holds a valid, non-blank value."""
        value = self.records[i][column]
        return value is not BAD and value is not None and not (
            isinstance(value, float) and math.isnan(value))
