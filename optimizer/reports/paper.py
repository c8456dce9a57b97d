"""The report on paper (print and PDF): which sheets print, in what order, on how many pages.

Rules, applied to every sheet of a plan report after it is written (`print_report`):
- every sheet: landscape A4, one page wide, its header row repeated (`xl.print_setup`); a long
  table narrow enough prints portrait at the same type size, on fewer pages
  (`portrait_if_narrow`);
- the Summary: two pages, the metrics and the account on the first, the charts on the second
  (a page break below the account); no repeated header;
- helper sheets (`HIDDEN_SHEETS`, the chart series) are hidden, so they neither show nor print;
- the Log and the Input_* sheets come last; each Input_* sheet prints on one page, the Log its
  first `LOG_PRINT_ROWS` rows (warnings first), the footer saying how many rows it leaves out;
- text never runs past the printed columns (LibreOffice widens the page for it): a long text
  in a table wraps in its cell, a note below a table wraps across the table's width
  (`wrap_long_text`).
"""

from __future__ import annotations

import math
from copy import copy

from openpyxl import Workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from optimizer.reports.xl import MARGIN_IN, ROWS_PER_PAGE, print_setup

HIDDEN_SHEETS = ("ChartData",)
LOG_SHEET = "Log"
INPUT_PREFIX = "Input_"
LOG_PRINT_ROWS = 40
ROW_CM = 2.54 * 15 / 72  # a 15-point row, in cm
A4_INCHES = (11.69, 8.27)  # landscape: width, height
FOOTER_PT = 12  # the footer's line, inside the bottom margin
# LibreOffice without Calibri (no Carlito font) draws text in DejaVu Sans, whose columns come
# out about 1.33 times wider (measured: the Summary fitted at 48% where Calibri needs 64%).
FONT_SLACK = 1.4


def _last_sheets(name: str) -> bool:
    return name == LOG_SHEET or name.startswith(INPUT_PREFIX)


def print_report(wb: Workbook, summary_break: int | None = None) -> None:
    """Page setup of every sheet of a report by the module rules; `summary_break` is the
    Summary's last row of page 1 (None: the Summary is set up as any other sheet)."""
    inputs = [ws for ws in wb.worksheets if ws.title.startswith(INPUT_PREFIX)]
    logs = [ws for ws in wb.worksheets if ws.title == LOG_SHEET]
    for ws in [*inputs, *logs]:  # last, in this order (a no-op for a report built so)
        wb.move_sheet(ws, offset=len(wb.worksheets) - 1 - wb.index(ws))
    for ws in wb.worksheets:
        if ws.title != "Summary":  # the Summary lays its text out itself
            wrap_long_text(ws)
        if ws.title in HIDDEN_SHEETS:
            ws.sheet_state = "hidden"
            print_setup(ws)
        elif ws.title == "Summary" and summary_break is not None:
            summary_pages(ws, summary_break)
        elif ws.title == LOG_SHEET:
            log_pages(ws)
        elif ws.title.startswith(INPUT_PREFIX):
            print_setup(ws, pages_tall=1)
        else:
            print_setup(ws)
            portrait_if_narrow(ws)


def portrait_if_narrow(ws: Worksheet) -> None:
    """A table longer than one page that is narrow enough prints on portrait pages: the same
    type size as landscape at `ROWS_PER_PAGE` rows a page (its width measured as in
    `summary_pages`, with `FONT_SLACK`), about 1.46 times the rows a page, so fewer pages
    (the sample's Capacity: 4 landscape pages, 3 portrait)."""
    rows = ws.max_row
    if rows <= ROWS_PER_PAGE:
        return
    short, long = (inches - 2 * MARGIN_IN for inches in sorted(A4_INCHES))
    scale = short * 72 / (ROWS_PER_PAGE * 15)  # landscape: ROWS_PER_PAGE rows of 15 points
    width = FONT_SLACK * sum(column_points(ws, c) for c in range(1, ws.max_column + 1))
    if width * scale > short * 72:
        return  # too wide for a portrait page at that size: landscape as set
    ws.page_setup.orientation = "portrait"
    ws.page_setup.fitToHeight = math.ceil(rows / math.floor(ROWS_PER_PAGE * long / short))


def wrap_long_text(ws: Worksheet) -> None:
    """Wrap every text longer than its column is wide: in its cell inside a table, across the
    tables' columns (merged) outside one; the row grows to the lines needed (15 points each,
    about 1.15 characters a unit of column width)."""
    tables = [range_boundaries(t.ref) for t in ws.tables.values()]
    right = max((t[2] for t in tables), default=ws.max_column)

    def width(first: int, last: int) -> float:
        return sum(ws.column_dimensions[get_column_letter(c)].width or 8.43
                   for c in range(first, last + 1))

    grown: set[int] = set()
    for row in ws.iter_rows():
        for cell in row:
            text = cell.value
            if not isinstance(text, str) or isinstance(cell, MergedCell):
                continue
            col, r = cell.column, cell.row
            inside = any(t[0] <= col <= t[2] and t[1] <= r <= t[3] for t in tables)
            last = col
            if not inside and col < right and all(
                    ws.cell(r, c).value is None for c in range(col + 1, right + 1)):
                last = right
            chars = width(col, last) * 1.15
            if len(text) <= chars:
                continue
            if last > col:
                ws.merge_cells(start_row=r, start_column=col, end_row=r, end_column=last)
            cell.alignment = Alignment(wrap_text=True, vertical="top",
                                       horizontal=cell.alignment.horizontal)
            # Lines counted in the wider font LibreOffice draws with, so that no row's text runs
            # into the next (Excel then shows a little space below).
            drawn = chars / FONT_SLACK
            lines = sum(max(1, math.ceil(len(part) / max(drawn - 1, 1)))
                        for part in text.split("\n"))
            if lines > 1:
                grown.add(r)
            ws.row_dimensions[r].height = max(ws.row_dimensions[r].height or 15.0, 15.0 * lines)
    for r in grown:  # a taller row reads from its top, as its wrapped text does
        for cell in ws[r]:
            if not isinstance(cell, MergedCell) and cell.alignment.vertical != "top":
                align = copy(cell.alignment)
                align.vertical = "top"
                cell.alignment = align


def summary_pages(ws: Worksheet, first_page_last_row: int) -> None:
    """Two pages: rows 1 to `first_page_last_row` (metrics and account), a page break, then
    the charts, at one fixed scale that fits the wider and the taller of the two.

    A fixed scale, because LibreOffice ignores page breaks on a sheet fitted to a number of
    pages tall, and a sheet fitted only to its width could run past page 1. The width is
    measured in Calibri (Excel's font) times `FONT_SLACK`, since LibreOffice without Calibri
    draws in a wider font: Excel then prints a little smaller than it could, never on three
    pages."""
    last_row = max(ws.max_row, first_page_last_row + 1)
    for chart in ws._charts:  # the print area reaches the bottom of the lowest chart
        anchor = chart.anchor
        top = (coordinate_to_tuple(anchor)[0] if isinstance(anchor, str)
               else anchor._from.row + 1)
        last_row = max(last_row, top + math.ceil(chart.height / ROW_CM))
    last_col = ws.max_column
    print_setup(ws, title_rows=None,
                print_area=f"A1:{get_column_letter(last_col)}{last_row}")
    width = FONT_SLACK * sum(column_points(ws, c) for c in range(1, last_col + 1))
    height = max(rows_points(ws, 1, first_page_last_row),
                 rows_points(ws, first_page_last_row + 1, last_row))
    page_w, page_h = printable_points()
    ws.sheet_properties.pageSetUpPr.fitToPage = False
    ws.page_setup.scale = max(10, min(100, math.floor(100 * min(page_w / width,
                                                                page_h / height))))
    ws.row_breaks.append(Break(id=first_page_last_row))


def column_points(ws: Worksheet, col: int) -> float:
    """Printed width of a column at 100% in Calibri 11: Excel's width in characters of 7
    pixels plus 5 pixels of padding, at 96 pixels an inch."""
    chars = ws.column_dimensions[get_column_letter(col)].width or 8.43
    return (chars * 7 + 5) * 0.75


def rows_points(ws: Worksheet, first: int, last: int) -> float:
    """Printed height of rows `first` to `last` at 100% (15 points a row unless set)."""
    return sum(ws.row_dimensions[r].height or 15.0 for r in range(first, last + 1))


def printable_points() -> tuple[float, float]:
    """Width and height of landscape A4 inside the margins, less the footer's room."""
    return (A4_INCHES[0] - 2 * MARGIN_IN) * 72, (A4_INCHES[1] - 2 * MARGIN_IN) * 72 - FOOTER_PT


def log_pages(ws: Worksheet) -> None:
    """The first `LOG_PRINT_ROWS` rows of the Log print; the footer counts the rest."""
    rows = ws.max_row
    if rows <= LOG_PRINT_ROWS:
        print_setup(ws, pages_tall=1)
        return
    print_setup(ws, pages_tall=1, print_area=f"A1:{get_column_letter(ws.max_column)}"
                f"{LOG_PRINT_ROWS}", note=f"first {LOG_PRINT_ROWS - 1} of {rows - 1} lines "
                "printed; the whole log is on this sheet")
