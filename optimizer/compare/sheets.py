"""The compare workbook (`sitepivot compare`): NPV bridge with a waterfall chart, decision and
input changes. Written through `optimizer.reports.xl` (safe cells, Excel tables, formats) and
saved atomically (`optimizer.reports.write.save_atomically`), never over either report.

Sheets: Summary (the two NPVs, the change, halls kept/moved/added/dropped, how the bridge is
built), Bridge (the bars, the waterfall chart, the step solves), DecisionChanges (hall by hall),
SiteChanges (per site and option), InputChanges (every input cell that differs, with its family).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference, Series
from openpyxl.worksheet.worksheet import Worksheet

from optimizer.compare.compare import Comparison, change_counts
from optimizer.compare.inputs import FAMILIES
from optimizer.money import money
from optimizer.reports.charts import nice_step
from optimizer.reports.write import check_target, save_atomically
from optimizer.reports.xl import (
    BOLD,
    COUNT,
    MONEY,
    PERCENT,
    TITLE_FONT,
    WRAP,
    add_table,
    fit_widths,
    print_setup,
    put,
    write_frame,
    write_rows,
)

# Waterfall colours: increase green, decrease red, the two totals blue.
GREEN, RED, BLUE = "70AD47", "C00000", "4472C4"
WATERFALL_COLUMNS = ["bar", "base", "increase", "decrease", "total", "increase_below_zero",
                     "decrease_below_zero"]


def waterfall_series(bars: pd.DataFrame) -> pd.DataFrame:
    """Stacked-column series drawing `bars` (columns bar, kind, value_musd) as a waterfall.

    `base` is drawn invisible. A step spanning [lo, hi] of the running total sits on `base` =
    lo when the span is above zero, hangs from `base` = hi when it is below zero, and when it
    crosses zero is drawn as two parts from zero (up to hi, down to lo): Excel stacks positive
    and negative values of a category separately, so this is exact in every case. Start and end
    bars are `total`.
    """
    rows, running = [], 0.0
    for bar, kind, value in zip(bars["bar"], bars["kind"], bars["value_musd"], strict=True):
        row = dict.fromkeys(WATERFALL_COLUMNS[1:], 0.0)
        row["bar"] = bar
        if kind in ("start", "end"):
            row["total"] = value
            running = value
        else:
            lo, hi = sorted((running, running + value))
            running += value
            up, down = ("increase", "increase_below_zero") if value >= 0 else (
                "decrease", "decrease_below_zero")
            if lo >= 0:
                row["base"], row[up] = lo, hi - lo
            elif hi <= 0:
                row["base"], row[down] = hi, lo - hi
            else:
                row[up], row[down] = hi, lo
        rows.append(row)
    return pd.DataFrame(rows, columns=WATERFALL_COLUMNS)


def axis_floor(running: list[float]) -> float:
    """Where the value axis of the waterfall starts: 0, unless every running total is positive
    and the steps span less than a third of the lowest one; then a round value below the
    lowest total by half the span (so the steps fill the chart instead of a sliver at the
    top)."""
    lo, hi = min(running), max(running)
    if lo <= 0 or hi - lo >= lo / 3:
        return 0.0
    step = nice_step(max(hi - lo, 1e-9) / 4)
    return max(0.0, math.floor((lo - (hi - lo) / 2) / step) * step)


def write_compare_report(comparison: Comparison, path: Path, *, force: bool = False) -> None:
    """Write the compare workbook to `path` atomically; never onto either report."""
    path = Path(path)
    check_target(path, [comparison.old.path, comparison.new.path], force)
    save_atomically(build_compare_workbook(comparison), path)


def build_compare_workbook(comparison: Comparison) -> Workbook:
    wb = Workbook()
    summary = wb.active
    summary.title = "Summary"
    _summary(summary, comparison)
    _bridge(wb.create_sheet("Bridge"), comparison)
    for name, frame, table in (("DecisionChanges", comparison.changes, "tDecisionChanges"),
                               ("SiteChanges", comparison.sites, "tSiteChanges"),
                               ("InputChanges", comparison.inputs, "tInputChanges")):
        ws = wb.create_sheet(name)
        write_frame(ws, frame.astype(object), table,
                    formats={"shift_quarters": COUNT, "old_value": None, "new_value": None})
        ws.freeze_panes = "A2"
        fit_widths(ws)
    for ws in wb.worksheets:
        print_setup(ws)
    return wb


def _summary(ws: Worksheet, c: Comparison) -> None:
    b = c.bridge
    counts = change_counts(c.changes)
    rows: list[tuple[str, object, str, str]] = [
        ("old_report", str(c.old.path), "", f"planned from {c.old.portfolio.quarter_labels[0]}"),
        ("new_report", str(c.new.path), "", f"planned from {c.new.portfolio.quarter_labels[0]}"),
        ("old_npv_musd", b.old_npv, "$M", "the old report's NPV"),
        ("new_npv_musd", b.new_npv, "$M", "the new report's NPV"),
        ("npv_change_musd", b.new_npv - b.old_npv, "$M", "new less old; the bridge's bars add "
         "up to it"),
        ("old_inputs_resolved_musd", b.old_resolved, "$M", "the old inputs re-solved: where the "
         "family steps start"),
        ("new_inputs_resolved_musd", b.new_resolved, "$M", "the new inputs re-solved: where the "
         "family steps end"),
        ("re_solve_difference_musd", b.residual, "$M", "what the steps do not explain (solver "
         "tolerance and time limits of the re-solves)"),
        *[(f"halls_{k.replace(' ', '_')}", v, "halls", "") for k, v in counts.items()],
        ("inputs_changed", len(c.inputs), "cells", "see InputChanges"),
        ("time_limit_s", c.time_limit, "s", "per re-solve (blank: each workbook's Settings)"),
        ("mip_gap", c.mip_gap, "fraction", "per re-solve (blank: each workbook's Settings)"),
        ("created_utc", datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"), "", ""),
    ]
    formats = {"$M": MONEY, "halls": COUNT, "cells": COUNT, "fraction": PERCENT, "s": "0.0"}
    last = write_rows(ws, 1, 1, ["metric", "value", "unit", "note"], rows,
                      [None, None, None, None])
    for r, (_m, value, unit, _n) in enumerate(rows, start=2):
        if unit in formats and isinstance(value, int | float):
            ws.cell(r, 2).number_format = formats[unit]
    add_table(ws, "tCompareSummary", 1, 1, last, 4)
    row = last + 2
    put(ws.cell(row, 1), "How the NPV bridge is built").font = TITLE_FONT
    lines = [
        "The input families are moved from the old inputs to the new one at a time, in this "
        "fixed order, and the plan is re-solved after each (MIP start: the previous step's "
        "plan). A bar is the NPV after its step less the NPV before it.",
        *[f"{i}. {f.name}: {f.meaning}." for i, f in enumerate(FAMILIES, start=1)],
        "Horizon shift: quarters both horizons cover keep their values until their own family "
        "moves; quarters only the new horizon covers arrive whole with the horizon step; "
        "quarters only the old one covers are dropped there.",
        "A family whose inputs did not change has a zero bar. A step whose inputs are invalid "
        "or infeasible on their own is merged with the next family (one bar, both names).",
        "The re-solve difference is the old and new reports' NPVs less the re-solves of their "
        "own inputs: with it, the bars add up to the NPV change exactly.",
        "The attribution depends on the order (as any one-at-a-time attribution does).",
        "A bar whose re-solves stopped at their time limit is not a proven figure: "
        "at_least_musd and at_most_musd give what it can be (each re-solve's best NPV lies "
        "between its plan and its proven bound); blank when both re-solves are optimal.",
        *([c.bridge.precision_note()] if c.bridge.precision_note() else []),
    ]
    for line in lines:
        row += 1
        put(ws.cell(row, 1), line).alignment = WRAP
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=4)
        ws.row_dimensions[row].height = 15 * max(1, -(-len(line) // 130))
    for col, width in {"A": 28, "B": 40, "C": 8, "D": 60}.items():
        ws.column_dimensions[col].width = width
    ws.cell(2, 1).font = BOLD
    ws.freeze_panes = "A2"


def _bridge(ws: Worksheet, c: Comparison) -> None:
    """The bars (with the running total), the chart series beside them, the chart, and the
    step solves below."""
    bars = c.bridge.bars()
    running, totals = 0.0, []
    for kind, value in zip(bars["kind"], bars["value_musd"], strict=True):
        running = value if kind in ("start", "end") else running + value
        totals.append(running)
    bars["running_total_musd"] = totals
    last = write_frame(ws, bars, "tBridge")
    n = len(bars)
    total_row = last + 1
    put(ws.cell(total_row, 1), "sum of the steps and the re-solve difference").font = BOLD
    put(ws.cell(total_row, 3), float(bars["value_musd"].iloc[1:-1].sum()), MONEY).font = BOLD

    series = waterfall_series(bars)
    left = len(bars.columns) + 2  # one blank column between the two tables
    s_last = write_frame(ws, series, "tBridgeChartSeries", left=left,
                         formats={c: MONEY for c in WATERFALL_COLUMNS[1:]})
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.gapWidth = 60
    chart.title = "NPV bridge, old plan to new plan ($M)"
    colours = {"base": None, "increase": GREEN, "decrease": RED, "total": BLUE,
               "increase_below_zero": GREEN, "decrease_below_zero": RED}
    for j, name in enumerate(WATERFALL_COLUMNS[1:], start=left + 1):
        s = Series(Reference(ws, min_col=j, min_row=2, max_row=s_last), title=name)
        colour = colours[name]
        if colour is None:  # the invisible base the visible bars stand on
            s.graphicalProperties.noFill = True
            s.graphicalProperties.line.noFill = True
        else:
            s.graphicalProperties.solidFill = colour
            s.graphicalProperties.line.solidFill = colour
        chart.series.append(s)
    chart.set_categories(Reference(ws, min_col=left, min_row=2, max_row=1 + n))
    chart.y_axis.title = "$M"
    chart.y_axis.number_format = "#,##0"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.x_axis.tickLblPos = "low"
    chart.legend = None
    chart.width, chart.height = 24, 10
    floor = axis_floor(totals)
    if floor > 0:  # steps small beside the NPV: start the axis above zero so they show
        chart.y_axis.scaling.min = floor
        put(ws.cell(total_row + 2, 1), f"The chart's value axis starts at {money(floor, 0)} so "
            "that the steps show; the two NPV columns are cut.")
    ws.add_chart(chart, f"A{total_row + 3}")

    top = total_row + 25
    put(ws.cell(top - 1, 1), "The solves behind the bars").font = TITLE_FONT
    steps = c.bridge.steps.astype(object)
    write_frame(ws, steps, "tBridgeSteps", top=top,
                formats={"gap": PERCENT, "solve_seconds": "0.0"})
    ws.freeze_panes = "A2"
    fit_widths(ws, hi=50)
