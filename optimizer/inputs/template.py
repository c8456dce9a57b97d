"""Writing input workbooks: the documented template and any portfolio given as tables.

Everything here is driven by `optimizer.inputs.schema`: sheet order, column order, the comment on
each header cell (unit, required or default, allowed values, meaning) and the dropdowns of choice
and bool columns. Nothing restates a column list by hand.

Layout of a written workbook (the workbook contract of the README):
- one sheet per table, in the order of `schema.TABLES`, header in row 1 (bold, frozen), one
  record per row; numbers are written as numbers, booleans as TRUE/FALSE, quarters as text;
- `Settings` has two columns, ``key`` and ``value``, one row per key; its comments sit on the
  key cells and its dropdowns on the value cells of choice/bool keys;
- annotation columns that validation ignores (``note``, ``source``, ...) may follow a sheet's
  contract columns;
- extra sheets (e.g. ``Sources``) follow, plain (bold frozen header, fitted widths).

Files are written atomically (a temporary file in the target folder, then `os.replace`), and an
existing file is replaced only with ``force``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from models.quarters import quarter_range
from optimizer.files import check_target, save_atomically
from optimizer.inputs import schema
from optimizer.inputs.cells import ANNOTATION_COLUMNS

# Dropdowns cover this many data rows (beyond the written ones) so that rows a user adds get them.
DROPDOWN_ROWS = 1000
# Column widths in Excel character units: never narrower than MIN_WIDTH nor wider than MAX_WIDTH.
MIN_WIDTH = 8
MAX_WIDTH = 48
COMMENT_AUTHOR = "sitepivot"
BOOL_CHOICES = ("TRUE", "FALSE")
SETTINGS_HEADER = ("key", "value")


def write_workbook(tables: Mapping[str, pd.DataFrame], path: Path, *, force: bool = False,
                   extra_sheets: Mapping[str, pd.DataFrame] | None = None) -> None:
    """Write contract sheets (and any extra sheets after them) to the .xlsx file ``path``.

    ``tables`` maps sheet names of `schema.TABLES` to frames; the Settings frame has columns
    ``key`` and ``value`` (one row per key). A frame's columns must be columns of its sheet,
    written in schema order, or annotation columns (``note``, ``source``...), written after
    them as given. Missing values (None, NaN) become blank cells.

    Raises `UsageError` if ``path`` exists and ``force`` is false, if its folder does not exist,
    or if the file cannot be written; `ValueError` for a sheet, column or Settings key that is
    not in the schema (a programming error, not a user one). Nothing is written on error.
    """
    workbook = build_workbook(tables, extra_sheets)
    save_workbook(workbook, Path(path), force=force)


def write_template(path: Path, force: bool = False) -> None:
    """Write the documented template to ``path``: every sheet and column, example rows.

    Each table gets one row built from the schema's ``example`` values; Settings one row per
    key; Quarters one row per quarter of the example horizon (the example horizon is short so
    the template stays readable, and the two must agree). The template validates as written.
    """
    save_workbook(build_workbook(template_tables()), Path(path), force=force)


def template_tables() -> dict[str, pd.DataFrame]:
    """The template's tables, from the schema's ``example`` values (see `write_template`).

    Settings carries a ``note`` column saying that its horizon and the Quarters rows agree.
    """
    settings = schema.SETTINGS
    start = settings.column("start_quarter").example
    horizon = int(settings.column("horizon_quarters").example)
    notes = {"horizon_quarters": f"{horizon} quarters here, one Quarters row each: change "
                                 "both together (every quarter needs its Quarters row)."}
    tables: dict[str, pd.DataFrame] = {
        settings.sheet: pd.DataFrame(
            {"key": list(settings.names), "value": [c.example for c in settings.columns],
             "note": [notes.get(name) for name in settings.names]},
            dtype=object),
    }
    for table in schema.TABLES:
        if table is settings:
            continue
        row = {c.name: c.example for c in table.columns}
        rows = [row]
        if table is schema.QUARTERS:
            rows = [dict(row, quarter=label) for label in quarter_range(start, horizon)]
        tables[table.sheet] = pd.DataFrame(rows, columns=list(table.names), dtype=object)
    return tables


def build_workbook(tables: Mapping[str, pd.DataFrame],
                   extra_sheets: Mapping[str, pd.DataFrame] | None = None) -> Workbook:
    """The openpyxl workbook of `write_workbook`, not yet saved."""
    by_sheet = {table.sheet: table for table in schema.TABLES}
    unknown = [name for name in tables if name not in by_sheet]
    if unknown:
        raise ValueError(f"not sheets of the workbook contract: {unknown}; "
                         f"expected some of {list(by_sheet)}")
    clashes = [name for name in (extra_sheets or {}) if name in by_sheet]
    if clashes:
        raise ValueError(f"extra sheets may not reuse contract sheet names: {clashes}")

    workbook = Workbook()
    workbook.remove(workbook.active)
    for table in schema.TABLES:
        if table.sheet not in tables:
            continue
        sheet = workbook.create_sheet(table.sheet)
        if table is schema.SETTINGS:
            _write_settings(sheet, tables[table.sheet])
        else:
            _write_table(sheet, table, tables[table.sheet])
    for name, frame in (extra_sheets or {}).items():
        _write_plain(workbook.create_sheet(name), frame)
    return workbook


def save_workbook(workbook: Workbook, path: Path, *, force: bool = False) -> None:
    """Save atomically: a temporary file in the target folder, then `os.replace` onto ``path``."""
    check_target(path, [], force, what="workbook", choose="choose another path")
    save_atomically(workbook, path)


def header_comment(column: schema.InputColumn) -> str:
    """The text of a header cell's comment: meaning, unit, required/default, allowed values and
    the typical range (outside it a value is accepted with a warning)."""
    if column.required:
        need = "Required."
    elif column.default is None:
        need = "Optional; blank = no limit / not given."
    else:
        need = f"Optional; blank = {_show(column.default)}."
    lines = [column.name, column.meaning, f"Unit: {column.unit or '-'}", need,
             f"Allowed: {column.expectation()}"
             f"{'; ' + column.typical_text() if column.typical else ''}."]
    return "\n".join(lines)


# --- writers ------------------------------------------------------------------------------------

def _write_table(sheet: Worksheet, table: schema.Table, frame: pd.DataFrame) -> None:
    """One contract table: documented header, typed cells, dropdowns, frozen header."""
    notes = _annotations(table.sheet, frame, table.names)
    columns = [c for c in table.columns if c.name in frame.columns]
    sheet.append([c.name for c in columns] + notes)
    for record in frame[[c.name for c in columns] + notes].itertuples(index=False):
        sheet.append([_typed(col, value) for col, value in zip(columns, record, strict=False)]
                     + [_plain(value) for value in record[len(columns):]])
    for j, col in enumerate(columns, start=1):
        sheet.cell(row=1, column=j).comment = _comment(header_comment(col))
        choices = _dropdown_choices(col)
        if choices:
            letter = get_column_letter(j)
            last = max(len(frame), 1) + 1 + DROPDOWN_ROWS
            _add_dropdown(sheet, col, choices, f"{letter}2:{letter}{last}")
    _finish(sheet)


def _write_settings(sheet: Worksheet, frame: pd.DataFrame) -> None:
    """Settings as ``key``/``value`` rows; comment on each key, dropdown on choice/bool values."""
    if list(frame.columns[:2]) != list(SETTINGS_HEADER):
        raise ValueError(f"Settings: expected columns {list(SETTINGS_HEADER)} first, "
                         f"got {list(frame.columns)}")
    notes = _annotations("Settings", frame, SETTINGS_HEADER)
    sheet.append([*SETTINGS_HEADER, *notes])
    sheet["A1"].comment = _comment("key\nA setting's name; one row per setting.")
    sheet["B1"].comment = _comment("value\nThe setting's value; see the comment on each key "
                                   "for its unit, default and allowed values.")
    for i, (key, value, *rest) in enumerate(
            frame[[*SETTINGS_HEADER, *notes]].itertuples(index=False), start=2):
        if key not in schema.SETTINGS.names:
            raise ValueError(f"Settings: unknown key {key!r}")
        col = schema.SETTINGS.column(key)
        sheet.append([key, _typed(col, value), *(_plain(v) for v in rest)])
        sheet.cell(row=i, column=1).comment = _comment(header_comment(col))
        choices = _dropdown_choices(col)
        if choices:
            _add_dropdown(sheet, col, choices, f"B{i}")
    _finish(sheet)


def _annotations(sheet: str, frame: pd.DataFrame, names: tuple[str, ...]) -> list[str]:
    """The frame's annotation columns (after its contract ones); anything else is an error."""
    notes = [str(c) for c in frame.columns if c not in names]
    unknown = [c for c in notes if c.strip().lower() not in ANNOTATION_COLUMNS]
    if unknown:
        raise ValueError(f"{sheet}: not columns of the sheet: {unknown} (annotation columns "
                         f"allowed: {sorted(ANNOTATION_COLUMNS)})")
    return notes


def _write_plain(sheet: Worksheet, frame: pd.DataFrame) -> None:
    """A sheet outside the contract (e.g. Sources): header and values as given."""
    sheet.append([str(c) for c in frame.columns])
    for record in frame.itertuples(index=False):
        sheet.append([_plain(value) for value in record])
    _finish(sheet)


def _finish(sheet: Worksheet) -> None:
    """Bold frozen header and column widths fitted to the longest value (within limits)."""
    sheet.freeze_panes = "A2"
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for j, cells in enumerate(sheet.iter_cols(values_only=True), start=1):
        longest = max((len(_show(v)) for v in cells if v is not None), default=0)
        width = min(max(longest + 2, MIN_WIDTH), MAX_WIDTH)
        sheet.column_dimensions[get_column_letter(j)].width = width


def _comment(text: str) -> Comment:
    """A comment sized to show its text without the reader resizing it (sizes in points)."""
    lines = sum(1 + len(line) // 45 for line in text.splitlines())
    comment = Comment(text, COMMENT_AUTHOR)
    comment.width = 300
    comment.height = max(60, 15 * lines + 10)
    return comment


def _dropdown_choices(column: schema.InputColumn) -> tuple[str, ...]:
    if column.kind == "choice":
        return column.choices
    if column.kind == "bool":
        return BOOL_CHOICES
    return ()


def _add_dropdown(sheet: Worksheet, column: schema.InputColumn, choices: tuple[str, ...],
                  ref: str) -> None:
    validation = DataValidation(type="list", formula1='"' + ",".join(choices) + '"',
                                allow_blank=not column.required, showErrorMessage=True,
                                errorTitle=column.name, error=f"Expected {column.expectation()}.")
    validation.add(ref)
    sheet.add_data_validation(validation)


# --- cell values --------------------------------------------------------------------------------

def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def _plain(value: Any) -> Any:
    """A Python value openpyxl writes natively: numpy scalars unwrapped, missing as None."""
    if _is_missing(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _typed(column: schema.InputColumn, value: Any) -> Any:
    """The cell value for a column: numbers as numbers (whole numbers as int), bools as bools.

    A value that does not fit its kind is written as given, so that validation reports it with
    its cell rather than this writer hiding it.
    """
    value = _plain(value)
    if value is None or isinstance(value, bool):
        return value
    if column.kind in ("number", "integer"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return value
        if column.kind == "integer" or isinstance(value, int):
            return int(number) if number.is_integer() else number
        return number
    return value


def _show(value: Any) -> str:
    """How a value reads in a comment or for width fitting (booleans as Excel shows them)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
