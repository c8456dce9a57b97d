"""The Excel workbook of a sweep, from `run_sweep`'s results table.

Sheets: Summary (what was swept, the base, counts, how to read it), Results (one row per
scenario), Tornado (tornado sweeps: swing per driver, sorted, with a native bar chart), Marginal
values (marginal sweeps: NPV gained per unit of each resource), Distribution (Monte Carlo: P10,
P50, P90 and a histogram chart), Decision stability (site x year: the share of scenarios whose
re-optimized plan has started converting the site by the end of that year, colour scale).

Cells go through the report's safe writers (`optimizer.reports.xl`); the file is refused onto an
input or an existing file without force (`report.check_target`) and saved atomically
(`template.save_workbook`).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from optimizer.inputs.template import save_workbook
from optimizer.reports.charts import chart_series, style_chart
from optimizer.reports.write import check_target
from optimizer.reports.xl import (
    BOLD,
    PERCENT,
    TITLE_FONT,
    WRAP,
    fit_widths,
    print_setup,
    put,
    write_frame,
)
from optimizer.status import PLANNED

HISTOGRAM_BINS = 20
RESULT_SHEET_COLUMNS = [
    "scenario", "kind", "changes", "npv_reoptimized_musd", "npv_base_plan_musd", "regret_musd",
    "npv_change_musd", "halls_converted", "base_plan_feasible", "status", "gap", "seconds",
    "message"]


def write_sweep_report(results: pd.DataFrame, path: Path, *, force: bool = False) -> None:
    """Write the sweep workbook to `path` (.xlsx), atomically; never onto the input workbook."""
    path = Path(path)
    source = results.attrs.get("source") or ""
    check_target(path, [Path(source)] if source else [], force)
    save_workbook(build_sweep_workbook(results), path, force=True)


def build_sweep_workbook(results: pd.DataFrame) -> Workbook:
    """The workbook (not saved); sheets as in the module docstring, those that apply."""
    wb = Workbook()
    summary = wb.active
    summary.title = "Summary"
    _summary(summary, results)
    _results_sheet(wb.create_sheet("Results"), results)
    if (results["kind"] == "tornado").any():
        _tornado(wb.create_sheet("Tornado"), results)
    if (results["kind"] == "marginal").any():
        _marginal(wb.create_sheet("Marginal values"), results)
    if (results["kind"] == "monte_carlo").any():
        _distribution(wb.create_sheet("Distribution"), results)
    _stability(wb.create_sheet("Decision stability"), results)
    for ws in wb.worksheets:
        print_setup(ws)
    return wb


def _summary(ws: Worksheet, results: pd.DataFrame) -> None:
    a = results.attrs
    planned = results["status"].isin(PLANNED)
    regret = results["regret_musd"]
    lines: list[tuple[str, object, str | None]] = [
        ("Sweep", a.get("kind", ""), None),
        ("Workbook", a.get("source", ""), None),
        ("Scenarios", len(results), "#,##0"),
        ("With a plan", int(planned.sum()), "#,##0"),
        ("Failed / infeasible / not run", int((~planned).sum()), "#,##0"),
        ("Base NPV, re-optimized ($M)", a.get("base_npv_musd", np.nan), "#,##0.0"),
        ("Largest regret ($M)", float(regret.max()) if regret.notna().any() else None,
         "#,##0.0"),
        ("Base plan infeasible in (scenarios)",
         int((results["base_plan_feasible"] == False).sum()),  # noqa: E712 (None = unknown)
         "#,##0"),
        ("MIP gap", a.get("mip_gap", np.nan), PERCENT),
        ("Random seed", a.get("seed", ""), None),
        ("Interrupted", bool(a.get("interrupted", False)), None),
        ("Time limit per solve (s)", a.get("time_limit_s", np.nan), "0.0"),
        ("Total time of the run (s)", a.get("total_time_s"), "0.0"),
        ("Time budget", a.get("budget", ""), None),
        ("Reproducible", _reproducible(a), None),
    ]
    put(ws.cell(1, 1), "Sensitivity sweep", None).font = TITLE_FONT
    for r, (label, value, fmt) in enumerate(lines, start=3):
        put(ws.cell(r, 1), label).font = BOLD
        put(ws.cell(r, 2), value, fmt)
    notes = [
        "How to read it:",
        "npv_reoptimized_musd: the best plan found for that future (re-solved).",
        "npv_base_plan_musd: today's base plan carried out in that future, mining re-dispatched.",
        "regret_musd: re-optimized minus base plan, what committing to today's plan costs in "
        "that future (blank when the base plan breaks a limit of that future; the message says "
        "which).",
        "npv_change_musd: re-optimized NPV minus the base's.",
        "Each solve stops within the MIP gap above: an NPV, a regret or a change smaller than "
        "the gap times the NPV is within solver tolerance (a regret of 0 means the solver found "
        "nothing better than today's plan within that tolerance).",
    ]
    top = len(lines) + 4
    for r, text in enumerate(notes, start=top):
        cell = put(ws.cell(r, 1), text)
        cell.alignment = WRAP
        if r == top:
            cell.font = BOLD
    ws.column_dimensions["A"].width = 36
    ws.column_dimensions["B"].width = 48


def _reproducible(attrs: dict) -> str:
    """Whether the same command gives this workbook again: not when the whole run's total
    time (a wall-clock cap) cut solves short of their own budget."""
    capped = int(attrs.get("capped", 0) or 0)
    if capped:
        return (f"NO: {capped} solve(s) were cut short by the total time (wall clock); raise "
                "--total-time")
    return ("yes as to the total time: every solve had its own budget, fixed up front (a "
            "solve stopped by a wall-clock time limit, status feasible, still depends on the "
            "machine's speed)")


def _results_sheet(ws: Worksheet, results: pd.DataFrame) -> None:
    frame = results[RESULT_SHEET_COLUMNS]
    write_frame(ws, frame, "tResults", formats={"seconds": "0.0"})
    ws.freeze_panes = "B2"
    fit_widths(ws)
    for col in ("C", "M"):  # changes, message: long text
        ws.column_dimensions[col].width = 60


def tornado_table(results: pd.DataFrame) -> pd.DataFrame:
    """Per driver: NPV at its low and high level, their change from the base and the swing
    (|high - low|), sorted by swing, largest first."""
    base = float(results.attrs.get("base_npv_musd", results["npv_reoptimized_musd"].iloc[0]))
    rows = []
    tor = results[results["kind"] == "tornado"]
    for driver, group in tor.groupby("driver", sort=False):
        by = {r.level: r for r in group.itertuples(index=False)}
        low, high = by.get("low"), by.get("high")
        npv_low = low.npv_reoptimized_musd if low is not None else np.nan
        npv_high = high.npv_reoptimized_musd if high is not None else np.nan
        rows.append({
            "driver": driver,
            "low": low.changes if low is not None else "",
            "high": high.changes if high is not None else "",
            "npv_low_musd": npv_low, "npv_high_musd": npv_high,
            "low_change_musd": npv_low - base, "high_change_musd": npv_high - base,
            "swing_musd": abs(npv_high - npv_low)})
    frame = pd.DataFrame(rows, columns=["driver", "low", "high", "npv_low_musd",
                                        "npv_high_musd", "low_change_musd", "high_change_musd",
                                        "swing_musd"])
    return frame.sort_values("swing_musd", ascending=False, na_position="last",
                             ignore_index=True)


def _tornado(ws: Worksheet, results: pd.DataFrame) -> None:
    table = tornado_table(results)
    last = write_frame(ws, table, "tTornado")
    ws.freeze_panes = "B2"
    fit_widths(ws)
    chart = BarChart()
    chart.type = "bar"  # horizontal bars
    chart.grouping = "clustered"
    chart.overlap = 100
    chart.title = "NPV change from the base by driver ($M), largest swing on top"
    rows = (2, max(last, 2))
    chart_series(chart, ws, 6, rows, "low level", "C00000")
    chart_series(chart, ws, 7, rows, "high level", "2E75B6")
    chart.set_categories(Reference(ws, min_col=1, min_row=rows[0], max_row=rows[1]))
    style_chart(chart, "NPV change ($M)")
    chart.x_axis.scaling.orientation = "maxMin"  # first (largest swing) row at the top
    chart.y_axis.crosses = "max"  # and the $M axis stays at the bottom
    chart.x_axis.tickLblPos = "low"  # driver names left of the negative bars
    chart.height, chart.width = 9 + 0.6 * len(table), 22
    ws.add_chart(chart, f"A{last + 3}")


def _marginal(ws: Worksheet, results: pd.DataFrame) -> None:
    rows = results[results["kind"] == "marginal"]
    frame = pd.DataFrame({
        "resource": rows["resource"], "units_added": rows["units"],
        "npv_gain_musd": rows["npv_change_musd"],
        "value_per_unit_musd": rows["value_per_unit_musd"],
        "status": rows["status"], "message": rows["message"]})
    frame = frame.sort_values("npv_gain_musd", ascending=False, na_position="last",
                              ignore_index=True)
    last = write_frame(ws, frame, "tMarginal", formats={"units_added": "#,##0.0",
                                                        "value_per_unit_musd": "#,##0.000"})
    put(ws.cell(last + 2, 1), "npv_gain_musd: re-optimized NPV with one more unit of the "
        "resource minus the base's (a budget unit is $M spread over the year's budgeted "
        "quarters; a grid unit is MW; a hall is one hall). value_per_unit_musd = gain / "
        "units_added. Gains below the MIP gap times the NPV are within solver tolerance.")
    ws.freeze_panes = "B2"
    fit_widths(ws, rows=range(1, last + 1))


def distribution_stats(results: pd.DataFrame) -> pd.DataFrame:
    """P10/P50/P90, mean, min, max of re-optimized NPV, base-plan NPV and regret over the
    Monte Carlo draws that have a value."""
    draws = results[results["kind"] == "monte_carlo"]
    out = {}
    for column in ("npv_reoptimized_musd", "npv_base_plan_musd", "regret_musd"):
        v = draws[column].dropna().to_numpy(float)
        out[column] = ({"draws": len(v), "p10": np.percentile(v, 10),
                        "p50": np.percentile(v, 50), "p90": np.percentile(v, 90),
                        "mean": v.mean(), "min": v.min(), "max": v.max()} if len(v)
                       else {"draws": 0})
    frame = pd.DataFrame(out).T.reindex(columns=["draws", "p10", "p50", "p90", "mean", "min",
                                                 "max"])
    frame.index.name = "measure"
    return frame.reset_index()


def _distribution(ws: Worksheet, results: pd.DataFrame) -> None:
    stats = distribution_stats(results)
    money = {c: "#,##0.0" for c in ("p10", "p50", "p90", "mean", "min", "max")}
    last = write_frame(ws, stats, "tDistribution", formats={"draws": "#,##0", **money})
    values = results.loc[results["kind"] == "monte_carlo",
                         "npv_reoptimized_musd"].dropna().to_numpy(float)
    top = last + 3
    put(ws.cell(top - 1, 1), "Histogram of the re-optimized NPV over the draws").font = BOLD
    if len(values):
        counts, edges = np.histogram(values, bins=HISTOGRAM_BINS)
        hist = pd.DataFrame({"bin_from_musd": edges[:-1], "bin_to_musd": edges[1:],
                             "bin": [f"{a:,.0f}-{b:,.0f}" for a, b in
                                     itertools.pairwise(edges)],
                             "draws": counts})
        end = write_frame(ws, hist, "tHistogram", top=top, formats={"draws": "#,##0"})
        chart = BarChart()
        chart.type = "col"
        chart.gapWidth = 10
        chart.title = "Re-optimized NPV over the Monte Carlo draws"
        chart_series(chart, ws, 4, (top + 1, end), "draws", "2E75B6")
        chart.set_categories(Reference(ws, min_col=3, min_row=top + 1, max_row=end))
        style_chart(chart, "draws")
        chart.x_axis.title = "NPV ($M)"
        chart.legend = None
        chart.height, chart.width = 9, 22
        ws.add_chart(chart, f"F{top}")
    fit_widths(ws)


def stability_table(results: pd.DataFrame) -> pd.DataFrame:
    """Site x year: share of the scenarios with a plan whose re-optimized plan has started a
    hall at the site by the end of that year (starts before the plan count from the start)."""
    sites = list(results.attrs.get("sites", []))
    years = sorted({q[:4] for q in results.attrs.get("quarters", [])})
    planned = results.loc[results["status"].isin(PLANNED), "scenario"].tolist()
    first: dict[tuple[str, str], str] = {}
    for scenario, site, _option, quarter, _halls in results.attrs.get("decisions", []):
        key = (scenario, site)
        if key not in first or quarter < first[key]:
            first[key] = quarter
    share = np.zeros((len(sites), len(years)))
    for i, site in enumerate(sites):
        for j, year in enumerate(years):
            started = sum(1 for s in planned if (s, site) in first and first[(s, site)][:4] <= year)
            share[i, j] = started / len(planned) if planned else np.nan
    frame = pd.DataFrame(share, columns=[f"by_{y}_share" for y in years])
    frame.insert(0, "site", sites)
    return frame


def _stability(ws: Worksheet, results: pd.DataFrame) -> None:
    table = stability_table(results)
    last = write_frame(ws, table, "tStability")
    n_planned = int(results["status"].isin(PLANNED).sum())
    put(ws.cell(last + 2, 1), f"Share of the {n_planned} scenarios with a plan in which the "
        "site has started converting (a first hall started) by the end of each year. "
        "1 = in every future; 0 = in none.")
    shade_shares(ws, table, last)


def shade_shares(ws: Worksheet, table: pd.DataFrame, last: int) -> None:
    """A Stability sheet's finish: shares 0..1 shaded white to green (columns B on, rows 2 to
    `last`), the site column frozen, widths fitted (the sweep's and the robust plan's)."""
    if len(table.columns) > 1 and len(table):
        ref = f"B2:{get_column_letter(len(table.columns))}{last}"
        ws.conditional_formatting.add(ref, ColorScaleRule(
            start_type="num", start_value=0, start_color="FFFFFF",
            end_type="num", end_value=1, end_color="63BE7B"))
    ws.freeze_panes = "B2"
    fit_widths(ws, rows=range(1, last + 1))
