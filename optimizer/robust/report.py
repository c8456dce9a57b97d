"""The robust plan's Excel workbook (from a `RobustPlan`; no Pyomo objects here).

Sheets:
- ``Summary``: the account in plain language, then the metrics (`RobustPlan.summary`);
- ``FirstStage``: what to commit now, in the Decisions columns (with each start's firmness
  across the futures, `optimizer.robust.firmness`, in the last columns; a table from A1, which
  ``sitepivot plan --commitments-from`` reads) and the Upgrades columns below; the
  deterministic plan's first stage to the right, for comparison;
- ``Scenarios``: one row per future (`RobustPlan.scenarios`);
- ``Stability``: the weighted share of futures in which each site has started by each year;
- ``Distribution``: mean, P10/P50/P90 and CVaR of NPV under each first stage with their
  bounds, and a native histogram chart, robust against deterministic;
- ``OutOfSample``: both first stages on fresh draws (when run).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.worksheet.worksheet import Worksheet

from optimizer.inputs.template import save_workbook
from optimizer.reports.charts import chart_series, style_chart
from optimizer.reports.write import FIRST_STAGE_SHEET, check_target
from optimizer.reports.xl import BOLD, PERCENT, TITLE_FONT, WRAP, fit_widths, put, write_frame
from optimizer.robust.robust import RobustPlan
from optimizer.sweeps.report import shade_shares

HISTOGRAM_BINS = 12


def write_robust_report(plan: RobustPlan, path: Path, *, force: bool = False) -> None:
    """Write the robust workbook to `path` (.xlsx), atomically; never onto the input."""
    path = Path(path)
    source = plan.portfolio.source
    check_target(path, [Path(source)] if source and Path(source).exists() else [], force)
    save_workbook(build_robust_workbook(plan), path, force=True)


def build_robust_workbook(plan: RobustPlan) -> Workbook:
    """The workbook (not saved); sheets as in the module docstring."""
    wb = Workbook()
    _summary(wb.active, plan)
    wb.active.title = "Summary"
    _first_stage(wb.create_sheet(FIRST_STAGE_SHEET), plan)
    ws = wb.create_sheet("Scenarios")
    last = write_frame(ws, plan.scenarios, "tScenarios",
                       formats={"weight": PERCENT, "gap_robust": PERCENT,
                                "gap_deterministic": PERCENT, "gap_wait_and_see": PERCENT,
                                "first_stage_halls": "#,##0"})
    put(ws.cell(last + 2, 1), "NPV of each future ($M) under the robust first stage, the "
        "deterministic plan's first stage and perfect foresight, each with the later starts and "
        "mining re-optimised for that future. A blank NPV with status infeasible: that first "
        "stage breaks a limit of that future. first_stage_halls is the same in every row: the "
        "first stage is shared.").alignment = WRAP
    ws.freeze_panes = "B2"
    fit_widths(ws, rows=range(1, last + 1))
    _stability(wb.create_sheet("Stability"), plan)
    _distribution(wb.create_sheet("Distribution"), plan)
    if plan.out_of_sample is not None:
        ws = wb.create_sheet("OutOfSample")
        frame = plan.out_of_sample.replace([np.inf, -np.inf], np.nan)
        last = write_frame(ws, frame, "tOutOfSample",
                           formats={"gap_robust": PERCENT, "gap_deterministic": PERCENT})
        put(ws.cell(last + 2, 1), f"Fresh Monte Carlo draws (seed "
            f"{plan.out_of_sample.attrs.get('seed')}), not used to choose the plan; both first "
            "stages carried out with the later starts re-optimised. A blank NPV: infeasible "
            "(status).").alignment = WRAP
        ws.freeze_panes = "B2"
        fit_widths(ws, rows=range(1, last + 1))
    return wb


def _summary(ws: Worksheet, plan: RobustPlan) -> None:
    put(ws.cell(1, 1), "Robust plan: commit now what holds up across futures").font = TITLE_FONT
    row = 3
    for line in plan.account:
        put(ws.cell(row, 1), line).alignment = WRAP
        row += 1
    row += 1
    formats = {"mip_gap": PERCENT, "out_of_sample_robust_better_share": PERCENT}
    put(ws.cell(row, 1), "Metrics").font = BOLD
    frame = plan.summary.copy()
    top = row + 1
    last = write_frame(ws, frame[["metric", "value", "unit", "note"]], "tSummary", top=top,
                       formats={"value": None})
    for r in range(top + 1, last + 1):
        metric = ws.cell(r, 1).value
        value = ws.cell(r, 2).value
        if isinstance(value, float):
            ws.cell(r, 2).number_format = formats.get(metric, "#,##0.0###")
    ws.column_dimensions["A"].width = 38
    ws.column_dimensions["B"].width = 16
    ws.column_dimensions["C"].width = 10
    ws.column_dimensions["D"].width = 100


def _first_stage(ws: Worksheet, plan: RobustPlan) -> None:
    last = write_frame(ws, plan.first_stage_decisions, "tFirstStage")
    top = last + 3
    put(ws.cell(top - 1, 1), "Cooling modules and power upgrades to commit now").font = BOLD
    end = write_frame(ws, plan.first_stage_upgrades, "tFirstStageUpgrades", top=top)
    note = end + 2
    put(ws.cell(note, 1), f"Starts in the first {plan.commit_quarters} quarter(s), the same in "
        "every future. capex_musd and npv_musd are weighted means over the futures. "
        "sitepivot plan --commitments-from this workbook locks the hall starts above that lie "
        "before the new workbook's start quarter.").alignment = WRAP
    if plan.firmness is not None:
        put(ws.cell(note + 1, 1), "firmness: the cost to the robust objective (across the "
            "futures) of not making the start, from a re-solve of the robust problem without "
            "it: at least npv_cost_at_least_musd, at most npv_cost_at_most_musd. firm: even "
            "the least is more than tolerance_musd, so every first stage within the tolerance "
            "makes it; open: another first stage about as good does without it (or the "
            "re-solve could not tell: proven FALSE). " + plan.firmness_phase + "."
            ).alignment = WRAP
    left = len(plan.first_stage_decisions.columns) + 2
    det_top = 2
    put(ws.cell(det_top - 1, left), "The deterministic plan's first stage, for comparison").font \
        = BOLD
    det_last = write_frame(ws, plan.deterministic_decisions, "tDeterministicFirstStage",
                           top=det_top, left=left)
    write_frame(ws, plan.deterministic_upgrades, "tDeterministicUpgrades", top=det_last + 3,
                left=left)
    fit_widths(ws, rows=range(1, max(end, det_last) + 1))


def _stability(ws: Worksheet, plan: RobustPlan) -> None:
    table = plan.stability
    last = write_frame(ws, table, "tStability",
                       formats={c: PERCENT for c in table.columns if c != "site"})
    put(ws.cell(last + 2, 1), "Weighted share of the futures in which the robust plan has "
        "started converting the site (a first hall started) by the end of each year. 1 = in "
        "every future; 0 = in none; in between: the start waits for what the future "
        "brings.").alignment = WRAP
    shade_shares(ws, table, last)


def _distribution(ws: Worksheet, plan: RobustPlan) -> None:
    frame = plan.distribution.replace([np.inf, -np.inf], np.nan)
    last = write_frame(ws, frame, "tDistribution")
    put(ws.cell(last + 2, 1), "value_musd: the measure of the futures' NPVs; bound_musd: the "
        "same measure of each future's proven upper bound; gap_musd: the difference. Blank: "
        "that first stage is infeasible in some future.").alignment = WRAP
    scen = plan.scenarios
    rob = scen["npv_robust_musd"].to_numpy(float)
    det = scen["npv_deterministic_musd"].to_numpy(float)
    weights = scen["weight"].to_numpy(float)
    values = np.concatenate([rob[np.isfinite(rob)], det[np.isfinite(det)]])
    top = last + 5
    put(ws.cell(top - 1, 1), "NPV distribution over the futures (weighted share per bin)").font \
        = BOLD
    if not len(values):
        return
    lo, hi = float(values.min()), float(values.max())
    if math.isclose(lo, hi):
        lo, hi = lo - 1.0, hi + 1.0
    edges = np.linspace(lo, hi, HISTOGRAM_BINS + 1)
    ok_r, ok_d = np.isfinite(rob), np.isfinite(det)
    hist_r, _ = np.histogram(rob[ok_r], bins=edges, weights=weights[ok_r])
    hist_d, _ = np.histogram(det[ok_d], bins=edges, weights=weights[ok_d])
    table = pd.DataFrame({"bin_from_musd": edges[:-1], "bin_to_musd": edges[1:],
                          "bin": [f"{a:,.0f}-{b:,.0f}" for a, b in itertools.pairwise(edges)],
                          "robust_share": hist_r, "deterministic_share": hist_d})
    end = write_frame(ws, table, "tHistogram", top=top,
                      formats={"robust_share": PERCENT, "deterministic_share": PERCENT})
    infeasible = float(weights[~ok_d].sum())
    if infeasible > 0:
        put(ws.cell(end + 2, 1), f"The deterministic first stage is infeasible in futures of "
            f"weight {infeasible:.0%} (not in the chart).")
    chart = BarChart()
    chart.type = "col"
    chart.gapWidth = 30
    chart.title = "NPV over the futures: robust vs deterministic first stage"
    chart_series(chart, ws, 4, (top + 1, end), "robust", "2E75B6")
    chart_series(chart, ws, 5, (top + 1, end), "deterministic", "C55A11")
    chart.set_categories(Reference(ws, min_col=3, min_row=top + 1, max_row=end))
    style_chart(chart, "share of futures")
    chart.y_axis.number_format = "0%"
    chart.x_axis.title = "NPV ($M)"
    chart.height, chart.width = 9, 22
    ws.add_chart(chart, f"H{top}")
    fit_widths(ws)
