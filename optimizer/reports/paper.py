"""The report on paper (print and PDF): which sheets print, in what order, on how many pages.

Rules, applied to every sheet of a plan report after it is written (`print_report`):
- every sheet: landscape A4, one page wide, its header row repeated (`xl.print_setup`);
- the Summary: two pages, the metrics and the account on the first, the charts on the second
  (a page break below the account); no repeated header;
- helper sheets (`HIDDEN_SHEETS`, the chart series) are hidden, so they neither show nor print;
- the Log and the Input_* sheets come last; each Input_* sheet prints on one page, the Log its
  first `LOG_PRINT_ROWS` rows (warnings first), the footer saying how many rows it leaves out.
"""

from __future__ import annotations

import math

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from optimizer.reports.xl import print_setup

HIDDEN_SHEETS = ("ChartData",)
LOG_SHEET = "Log"
INPUT_PREFIX = "Input_"
LOG_PRINT_ROWS = 40
ROW_CM = 2.54 * 15 / 72  # a 15-point row, in cm


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


def summary_pages(ws: Worksheet, first_page_last_row: int) -> None:
    """Two pages: rows 1 to `first_page_last_row` (metrics and account), a page break, then
    the charts; one page wide, as tall as that makes it (LibreOffice ignores page breaks on a
    sheet fitted to a number of pages tall, so the height is left free)."""
    last_row = max(ws.max_row, first_page_last_row + 1)
    for chart in ws._charts:  # the print area reaches the bottom of the lowest chart
        anchor = chart.anchor
        top = (coordinate_to_tuple(anchor)[0] if isinstance(anchor, str)
               else anchor._from.row + 1)
        last_row = max(last_row, top + math.ceil(chart.height / ROW_CM))
    print_setup(ws, title_rows=None, pages_tall=0,
                print_area=f"A1:{get_column_letter(ws.max_column)}{last_row}")
    ws.row_breaks.append(Break(id=first_page_last_row))


def log_pages(ws: Worksheet) -> None:
    """The first `LOG_PRINT_ROWS` rows of the Log print; the footer counts the rest."""
    rows = ws.max_row
    if rows <= LOG_PRINT_ROWS:
        print_setup(ws, pages_tall=1)
        return
    print_setup(ws, pages_tall=1, print_area=f"A1:{get_column_letter(ws.max_column)}"
                f"{LOG_PRINT_ROWS}", note=f"first {LOG_PRINT_ROWS - 1} of {rows - 1} lines "
                "printed; the whole log is on this sheet")
