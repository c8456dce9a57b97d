"""Low-level helpers of the Excel report: safe cell values, Excel tables, formats, widths.

Safety rules (every value of the report goes through `put`):
- text is cleaned of control characters (tab becomes a space; line feeds are kept, everything
  else below U+0020, DEL and the C1 range is removed), since openpyxl refuses most of them and
  the rest only confuse readers;
- text that Excel or another spreadsheet could take for a formula (starting with ``=``, ``+``,
  ``-`` or ``@``) is stored as a string with the quote prefix, so the sheet XML holds no
  ``<f>`` element for it and Excel shows it as typed, even after the cell is edited;
- NaN, infinities and missing values are written as empty cells.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from optimizer.reports.labels import header_format, header_lines, header_width, is_header_format

# Number formats of the report.
MONEY = "#,##0.0"  # $M, one decimal
MW = "#,##0"
PERCENT = "0.00%"
COUNT = "#,##0"
FACTOR = "0.0000"
TEXT = "@"
# Booleans show TRUE / FALSE in Excel and LibreOffice alike (LibreOffice shows a boolean cell
# in the General format as 1 or 0).
BOOLEAN = '"TRUE";"TRUE";"FALSE"'

MAX_CELL_CHARS = 32_767  # Excel's limit on the text of one cell
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_FORMULA_START = ("=", "+", "-", "@")

# Header cells are styled explicitly too: Excel's table style does it, LibreOffice does not.
HEADER_FONT = Font(name="Calibri", bold=True, color="FFFFFF")
HEADER_FILL = PatternFill(start_color="1F4E78", end_color="1F4E78", fill_type="solid")
BOLD = Font(name="Calibri", bold=True)
TITLE_FONT = Font(name="Calibri", bold=True, size=13)
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
CENTRE = Alignment(horizontal="center")
INDENT = Alignment(horizontal="left", indent=1)


def clean_text(text: str) -> str:
    """`text` without control characters (a tab becomes a space, line feeds stay)."""
    return _CONTROL.sub("", text.replace("\t", " "))


def cell_value(value: object) -> object:
    """The value to store in a cell: Python numbers, bools, clean text, or None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        number = float(value)
        return number if math.isfinite(number) else None
    text = clean_text(value if isinstance(value, str) else str(value))
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS - 1] + "…"


def looks_like_formula(text: str) -> bool:
    """True for text a spreadsheet could evaluate (leading = + - @ after cleaning)."""
    return text.startswith(_FORMULA_START)


def put(cell: Cell, value: object, number_format: str | None = None) -> Cell:
    """Store `value` in `cell` safely (see the module docstring) with an optional format."""
    safe = cell_value(value)
    cell.value = safe
    if isinstance(safe, str):
        if looks_like_formula(safe):
            cell.data_type = "s"  # openpyxl took it for a formula on assignment
            cell.quotePrefix = True
    elif isinstance(safe, bool):
        cell.number_format = BOOLEAN
    elif number_format is not None and safe is not None:
        cell.number_format = number_format
    if number_format == TEXT and isinstance(safe, str):
        cell.number_format = TEXT
    return cell


def format_for(column: str) -> str | None:
    """Number format of a report column, from its name (units are in the names)."""
    name = column.lower()
    if "_per_" in name:  # a ratio (capex per IT MW, cooling MW per IT MW): as entered
        return None
    if name.endswith("_musd") or name in ("used_musd", "limit_musd"):
        return MONEY
    if name.endswith("_mw") or "_mw_" in name:
        return MW
    if name.endswith(("_share", "gap", "_rate", "irr")) or name == "uptime":
        return PERCENT
    if name == "discount_factor":
        return FACTOR
    if name in ("halls", "units") or name.startswith("halls_"):
        return COUNT
    if name.endswith("quarter") or name == "quarter":
        return TEXT
    return None


def label_heading(cell: Cell, with_name: bool = False, data_format: str | None = None
                  ) -> Cell:
    """Show the readable label of the column name in `cell` (the value stays the name; see
    `optimizer.reports.labels`), wrapped; with `with_name`, the name on a line below it.
    `data_format`: the column's number format (a share not shown as a percentage is labelled
    0-1, not %)."""
    if isinstance(cell.value, str):
        shown = data_format if data_format is not None else format_for(cell.value)
        percent = shown is not None and shown.endswith("%")
        fmt = header_format(cell.value, with_name, percent)
        if fmt is not None:
            cell.number_format = fmt
            cell.alignment = Alignment(wrap_text=True, vertical="bottom")
    return cell


def style_header(cell: Cell) -> Cell:
    """Bold white on dark blue."""
    cell.font = HEADER_FONT
    cell.fill = HEADER_FILL
    return cell


def write_rows(ws: Worksheet, top: int, left: int, header: Sequence[str],
               rows: Iterable[Sequence[object]], formats: Sequence[str | None],
               with_names: bool = False) -> int:
    """Write a header and rows from (top, left); return the last row written.

    Header cells hold the column names and show their readable labels (`label_heading`).
    """
    for j, name in enumerate(header):
        label_heading(style_header(put(ws.cell(top, left + j), name)), with_names,
                      (formats[j] or "General") if j < len(formats) else None)
    r = top
    for r, row in enumerate(rows, start=top + 1):
        for j, value in enumerate(row):
            cell = put(ws.cell(r, left + j), value, formats[j])
            if formats[j] == TEXT:  # quarters: centred, clear of the numbers either side
                cell.alignment = CENTRE
            elif isinstance(cell.value, str):  # clear of a number right-aligned before it
                cell.alignment = INDENT
    return r


def add_table(ws: Worksheet, name: str, top: int, left: int, bottom: int, width: int,
              stripes: bool = True) -> Table:
    """An Excel table (filterable, styled) over a header row and at least one data row."""
    bottom = max(bottom, top + 1)  # Excel wants a data row, even an empty one
    ref = f"{get_column_letter(left)}{top}:{get_column_letter(left + width - 1)}{bottom}"
    table = Table(displayName=name, ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=stripes)
    ws.add_table(table)
    return table


def write_frame(ws: Worksheet, frame: pd.DataFrame, name: str, top: int = 1, left: int = 1,
                formats: Mapping[str, str | None] | None = None, stripes: bool = True,
                with_names: bool = False) -> int:
    """Write `frame` (its columns, no index) as an Excel table named `name`; return last row.

    Formats come from the column names (`format_for`) unless given in `formats`; headers show
    their labels (with the names below them under `with_names`).
    """
    header = [str(c) for c in frame.columns]
    fmts = [(formats or {}).get(c, format_for(c)) for c in header]
    rows = frame.itertuples(index=False, name=None)
    last = write_rows(ws, top, left, header, rows, fmts, with_names)
    add_table(ws, name, top, left, last, len(header), stripes)
    return max(last, top + 1)


def _display_width(value: object, number_format: str) -> int:
    if value is None:
        return 0
    if is_header_format(number_format):
        return header_width(number_format, str(value))
    if isinstance(value, bool):
        return 5
    if isinstance(value, int | float):
        if number_format == PERCENT:
            return len(f"{value * 100:.2f}%")
        if number_format in (MONEY, MW, COUNT):
            decimals = 1 if number_format == MONEY else 0
            return len(f"{value:,.{decimals}f}")
        if number_format == FACTOR:
            return 6
        return min(len(f"{value:.6g}"), 12)
    return max((len(part) for part in str(value).split("\n")), default=0)


# Past this many rows, fit_widths measures an even sample of them (widths are cosmetic; on a
# 100-site plan measuring every cell cost a fifth of the report's time).
MEASURED_ROWS = 1500


def fit_widths(ws: Worksheet, rows: range | None = None, lo: int = 6, hi: int = 60,
               filter_pad: int = 3) -> None:
    """Set each column's width to its longest shown value (header + filter arrow), in [lo, hi].

    `rows` limits the rows measured (e.g. to leave long narrative lines out); long sheets are
    measured on the first rows and an even sample of the rest.
    """
    rows = rows or range(1, ws.max_row + 1)
    stride = max(1, len(rows) // MEASURED_ROWS)
    picked = [r for i, r in enumerate(rows) if i < 50 or i % stride == 0]
    widths: dict[int, int] = {}
    last_col = ws.max_column  # computed once: openpyxl scans every cell for it
    for r in picked:
        for cell in next(ws.iter_rows(min_row=r, max_row=r, max_col=last_col)):
            if cell.value is None:
                continue
            w = _display_width(cell.value, cell.number_format)
            if cell.font is not None and cell.font.b:
                # headers carry the filter button (a wrapped label has room beside its
                # shorter lines)
                w += 1 if is_header_format(cell.number_format) else filter_pad
            widths[cell.column] = max(widths.get(cell.column, 0), w)
    for col, w in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = max(lo, min(hi, w + 2))
    fit_header_heights(ws, picked[:50])


def fit_header_heights(ws: Worksheet, rows: Iterable[int]) -> None:
    """Make each of `rows` holding labelled headers tall enough for its wrapped labels
    (15 points a line)."""
    for r in rows:
        lines = 1
        for cell in ws[r]:
            fmt = cell.number_format
            if cell.value is None or not is_header_format(fmt):
                continue
            width = int(ws.column_dimensions[get_column_letter(cell.column)].width or 9) - 2
            lines = max(lines, len(header_lines(fmt, max(width, 1))))
        if lines > 1:
            ws.row_dimensions[r].height = max(ws.row_dimensions[r].height or 15, 15 * lines)


def fill(hex_rgb: str) -> PatternFill:
    return PatternFill(start_color=hex_rgb, end_color=hex_rgb, fill_type="solid")


# Page setup (print and PDF). A long table prints at least this many rows a page (smaller
# type rather than a stack of pages); landscape A4 holds about 34 rows of 15 points at 100%.
ROWS_PER_PAGE = 110
MARGIN_IN = 0.4  # left, right, top and bottom margins, inches


def print_setup(ws: Worksheet, title_rows: str | None = "1:1", print_area: str | None = None,
                pages_tall: int | None = None, note: str = "") -> None:
    """Print (and PDF) `ws` on landscape A4 pages, one page wide.

    Rules: `title_rows` (the header row) repeat at the top of every page; the height is
    `pages_tall` pages, or by default one page per `ROWS_PER_PAGE` rows printed (0, no limit,
    when the rows fit anyway); `print_area` limits what prints; the footer names the sheet,
    the page and `note` (e.g. what the print area leaves out).
    """
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    margins = ws.page_margins
    margins.left = margins.right = margins.top = margins.bottom = MARGIN_IN
    margins.header = margins.footer = MARGIN_IN / 2
    if title_rows:
        ws.print_title_rows = title_rows
    if print_area:
        ws.print_area = print_area
    rows = _printed_rows(ws, print_area)
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = (pages_tall if pages_tall is not None
                                 else math.ceil(rows / ROWS_PER_PAGE) if rows > 34 else 0)
    ws.oddFooter.center.text = "&A, page &P of &N" + (f": {note.replace('&', '&&')}"
                                                       if note else "")
    ws.oddFooter.center.size = 8


def _printed_rows(ws: Worksheet, print_area: str | None) -> int:
    if print_area:
        _, top, _, bottom = range_boundaries(print_area.split(",")[0].replace("$", ""))
        return (bottom or ws.max_row) - (top or 1) + 1
    return ws.max_row
