"""The Excel report's workbook, built from a `Plan` (no Pyomo objects): every sheet in reading
order (`build_workbook`), the Summary sheet, the Input_* sheets and the Log.

Sheet order: Summary (metrics, narrative, charts), Decisions, Upgrades, Schedule, CashFlows,
Annual, SourcesUses, Sites, Capacity, Constraints, the explanations and Firmness when computed,
ChartData (the series behind the charts), Input_* (every input table as used, defaults applied),
Log. The sheets of what the plan does are made in `plan_sheets`, the money sheets in
`cash_sheets`, the charts and ChartData in `charts`, the explanations in `explanations` and the
Firmness sheets in `firmness`. Money in $M, power in MW, quarters as text labels.
"""

from __future__ import annotations

import math

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.worksheet.worksheet import Worksheet

from models.portfolio import Portfolio
from optimizer.plan import Plan
from optimizer.reports.cash_sheets import annual_sheet, cash_flows_sheet, sources_uses_sheet
from optimizer.reports.charts import add_charts, chart_data_sheet
from optimizer.reports.explanations import explanation_sheets
from optimizer.reports.firmness import firmness_sheets
from optimizer.reports.labels import label_for
from optimizer.reports.paper import print_report
from optimizer.reports.plan_sheets import (
    capacity_sheet,
    constraints_sheet,
    decisions_sheet,
    schedule_sheet,
    sites_sheet,
    upgrades_sheet,
)
from optimizer.reports.summary import headline_metrics, plan_narrative
from optimizer.reports.xl import (
    BOLD,
    COUNT,
    MONEY,
    MW,
    PERCENT,
    TEXT,
    TITLE_FONT,
    TOP,
    WRAP,
    add_table,
    fit_widths,
    format_for,
    put,
    write_frame,
    write_rows,
)

# Summary column widths (characters): metric, value, label, unit, note; then a gap and the
# account. The charts sit below both, on page 2, two by two (`add_charts`). Page 1 prints at
# one scale that fits its height, so a wide note column (fewer wrapped lines) prints larger:
# the sample's page 1 at 48 % with notes 70 wide, against 34 % at 40 (account 84).
SUMMARY_WIDTHS = {"A": 26, "B": 16, "C": 28, "D": 8, "E": 70, "F": 2}
ACCOUNT_COL, ACCOUNT_WIDTH = "G", 64
# Indented: clear of the right-aligned value before it.
LABEL = Alignment(horizontal="left", wrap_text=True, vertical="top", indent=1)


def build_workbook(plan: Plan) -> Workbook:
    """Every sheet of the report, in reading order."""
    wb = Workbook()
    summary = wb.active
    summary.title = "Summary"
    sheets: dict[str, Worksheet] = {"Summary": summary}
    for name in ("Decisions", "Upgrades", "Schedule", "CashFlows", "Annual", "SourcesUses",
                 "Sites", "Capacity", "Constraints", "ChartData"):
        sheets[name] = wb.create_sheet(name)
    decisions_sheet(sheets["Decisions"], plan)
    upgrades_sheet(sheets["Upgrades"], plan)
    schedule_sheet(sheets["Schedule"], plan)
    cash_rows = cash_flows_sheet(sheets["CashFlows"], plan)
    annual_sheet(sheets["Annual"], plan)
    sources_uses_sheet(sheets["SourcesUses"], plan)
    sites_sheet(sheets["Sites"], plan)
    capacity_sheet(sheets["Capacity"], plan)
    constraints_sheet(sheets["Constraints"], plan)
    explanation_sheets(wb, plan, before=sheets["ChartData"])
    firmness_sheets(wb, plan, before=sheets["ChartData"])
    chart_rows = chart_data_sheet(sheets["ChartData"], plan)
    input_sheets(wb, plan)
    log_sheet(wb.create_sheet("Log"), plan)
    last = summary_sheet(summary, plan)
    add_charts(summary, sheets["CashFlows"], cash_rows, sheets["ChartData"], chart_rows,
               top=last + 2)
    print_report(wb, summary_break=last)
    return wb


def summary_sheet(ws: Worksheet, plan: Plan) -> int:
    """Headline metrics as a table (`metric`, `value`, `label`, `unit`, `note`: the metric keys
    in column A, readable labels after the values), the account ("What the plan says") beside
    it in column G; return the last row of the two (the charts go below, on page 2)."""
    unit_formats = {"$M": MONEY, "fraction": PERCENT, "MW": MW, "MW IT": MW, "halls": COUNT,
                    "per year": PERCENT, "x": '0.00"x"',
                    "s": "0.00", "quarters": COUNT}
    metrics = headline_metrics(plan)
    rows = [(m.metric, m.value, label_for(m.metric), m.unit, m.note) for m in metrics]
    write_rows(ws, 1, 1, ["metric", "value", "label", "unit", "note"], rows,
               [None, None, None, None, None])
    heights = [15.0]  # points, row 1 on
    for i, m in enumerate(metrics, start=2):
        fmt = unit_formats.get(m.unit)
        value = ws.cell(i, 2)
        if fmt is not None and isinstance(value.value, int | float):
            value.number_format = fmt
        lines = 1
        for col, letter in ((1, "A"), (2, "B"), (3, "C"), (4, "D"), (5, "E")):
            cell = ws.cell(i, col)
            cell.alignment = TOP
            if isinstance(cell.value, str) and col in (2, 3, 5):
                cell.alignment = LABEL if col == 3 else WRAP
                lines = max(lines, _wrapped_lines(cell.value, SUMMARY_WIDTHS[letter] - 1))
        heights.append(15.0 * lines)
        ws.row_dimensions[i].height = heights[-1]
    last = len(metrics) + 1
    add_table(ws, "tSummary", 1, 1, last, 5)
    for letter in ("A", "B"):  # the headline numbers stand out
        ws[f"{letter}2"].font = BOLD
    for letter, width in SUMMARY_WIDTHS.items():
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    return _account(ws, plan_narrative(plan), heights)


def _wrapped_lines(text: str, width: float) -> int:
    """Lines `text` takes wrapped in a column `width` characters wide (a proportional font
    fits about 1.15 characters a width unit)."""
    chars = max(1, int(width * 1.15) - 1)
    return sum(max(1, math.ceil(len(part) / chars)) for part in text.split("\n"))


def _account(ws: Worksheet, lines: list[str], heights: list[float]) -> int:
    """The account, one sentence a block of merged rows in column `ACCOUNT_COL`, each block as
    many rows as its wrapped text needs (rows keep the heights the metrics gave them, 15
    points below them); return the last row used."""
    col = ACCOUNT_COL
    put(ws[f"{col}1"], "What the plan says").font = TITLE_FONT
    ws.column_dimensions[col].width = ACCOUNT_WIDTH
    row = 2
    for line in lines:
        need = 15.0 * _wrapped_lines(line, ACCOUNT_WIDTH)
        first, have = row, 0.0
        while have < need - 1e-9:
            have += heights[row - 1] if row <= len(heights) else 15.0
            row += 1
        put(ws[f"{col}{first}"], line).alignment = WRAP
        if row - 1 > first:
            ws.merge_cells(f"{col}{first}:{col}{row - 1}")
    return max(len(heights), row - 1)


def input_tables(pf: Portfolio) -> dict[str, pd.DataFrame]:
    """Every Portfolio table as used (defaults applied), as flat frames: the `Input_*` sheets.

    `optimizer.compare.inputs.read_report_inputs` reads these sheets back into a Portfolio.
    """
    settings = pd.DataFrame({"key": list(vars(pf.settings)),
                             "value": [v for v in vars(pf.settings).values()]})
    quarters = pf.quarters.reset_index(drop=True)
    return {
        "Settings": settings,
        "Sites": pf.sites.reset_index(),
        "Options": pf.options.reset_index(),
        "SiteOptions": pf.site_options.reset_index(),
        "Quarters": quarters,
        "Commitments": pf.commitments.reset_index(drop=True),
    }


def input_sheets(wb: Workbook, plan: Plan) -> None:
    """One sheet per input table, prefixed `Input_`, each an Excel table."""
    for name, frame in input_tables(plan.portfolio).items():
        ws = wb.create_sheet(f"Input_{name}")
        # As entered: General for every number (10.5 stays 10.5), quarters as text.
        formats = {c: TEXT if format_for(c) == TEXT else None for c in frame.columns}
        write_frame(ws, frame.astype(object), f"tInput{name}", formats=formats)
        ws.freeze_panes = "B2"
        fit_widths(ws)


def log_sheet(ws: Worksheet, plan: Plan) -> None:
    """Warnings (of the input and of the solve), then the solver log, one line a row."""
    warnings = list(dict.fromkeys([*plan.portfolio.warnings, *plan.warnings]))
    rows = [("warning", w) for w in warnings]
    rows += [("solver", line) for line in plan.solver_log.splitlines()]
    last = write_rows(ws, 1, 1, ["source", "message"], rows, [None, None])
    add_table(ws, "tLog", 1, 1, last, 2)
    ws.freeze_panes = "A2"
    fit_widths(ws, hi=120)
