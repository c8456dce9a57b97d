"""The robust plan's Excel workbook and text (from a `RobustPlan`; no Pyomo objects here).

Text: the Summary's rows (`summary_frame`, each sign stated in its note), the plain-language
account (`account_lines`) and the terminal's lines (`robust_text`); money in $M.

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

from models.quarters import add_quarters
from optimizer.inputs.template import save_workbook
from optimizer.money import money
from optimizer.reports.charts import chart_series, style_chart
from optimizer.reports.write import FIRST_STAGE_SHEET, check_target
from optimizer.reports.xl import BOLD, PERCENT, TITLE_FONT, WRAP, fit_widths, put, write_frame
from optimizer.robust.plan import SUMMARY_COLUMNS, RobustPlan
from optimizer.robust.recourse import KeyedStarts
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


# ---- the text: the Summary rows, the plain-language account, the terminal's lines ----------
def _money(x: float) -> str:
    """`$1,234.5M` (`optimizer.money`); an infinite value in words."""
    if x == -math.inf:
        return "-infinite (infeasible in some future)"
    if x == math.inf:
        return "infinite"
    return money(x)


def infinite_vss_reason(plan: RobustPlan) -> str | None:
    """Why the VSS is infinite (the deterministic first stage breaks a limit in some future,
    the robust one in none), in words shared by the console and the Summary; None when the
    VSS is finite."""
    if math.isfinite(plan.vss_musd):
        return None
    infeasible = int(sum(not r.has_plan for r in plan.deterministic_results))
    return (f"the deterministic first stage breaks a limit in {infeasible} of "
            f"{len(plan.deterministic_results)} futures, the robust one in none")


def summary_frame(plan: RobustPlan) -> pd.DataFrame:
    """The Summary rows (metric, value, unit, note); each sign is stated in its note."""
    def finite(x: float) -> float:
        return x if math.isfinite(x) else math.nan

    level = f"{plan.cvar_level:g}"
    infeasible = int(sum(not r.has_plan for r in plan.deterministic_results))
    vss_note = (f"RP - EEV: what committing the robust first stage instead of the deterministic "
                f"one adds (>= 0). Proven at least {_money(plan.vss_low_musd)} "
                f"(RP - EEV's upper bound): "
                + ("significant." if plan.vss_significant else
                   "NOT significant: smaller than the gaps that bound it."))
    significant: bool | None = plan.vss_significant
    significant_note = ("TRUE when RP exceeds the best the deterministic first stage can be "
                        "proven to reach")
    reason = infinite_vss_reason(plan)
    if reason is not None:
        vss_note = f"infinite (blank): {reason}."
        significant = None  # no gap to weigh an infinite value against: blank beside it
        significant_note = f"blank: the VSS is infinite ({reason})"
    rows = [
        ("objective_musd", finite(plan.objective_musd), "$M",
         f"RP: (1 - W) E[NPV] + W CVaR_{level}[NPV] of the robust first stage, W = "
         f"{plan.risk_weight:g}; proven bound {_money(plan.bound_musd)}"),
        ("bound_musd", finite(plan.bound_musd), "$M",
         "proven upper bound on the objective (the smaller of the extensive form's and "
         "wait-and-see's)"),
        ("expected_npv_musd", finite(plan.expected_npv_musd), "$M",
         "weighted mean NPV over the futures, robust first stage"),
        ("cvar_npv_musd", finite(plan.cvar_npv_musd), "$M",
         f"mean NPV of the worst {plan.cvar_level:.0%} of futures (CVaR, lower tail), robust "
         "first stage"),
        ("eev_musd", finite(plan.eev_musd), "$M",
         "the objective with the deterministic plan's first stage fixed, each future "
         f"re-optimised (<= RP); upper bound {_money(plan.eev_bound_musd)}"
         + (f"; infeasible in {infeasible} future(s): blank" if infeasible else "")),
        ("wait_and_see_musd", finite(plan.wait_and_see_musd), "$M",
         "the objective if each future were known in advance (perfect foresight, >= RP); "
         f"upper bound {_money(plan.wait_and_see_bound_musd)}"),
        ("vss_musd", plan.vss_musd if math.isfinite(plan.vss_musd) else math.nan, "$M",
         vss_note),
        ("vss_significant", significant, "", significant_note),
        ("evpi_musd", finite(plan.evpi_musd), "$M",
         f"WS - RP: what perfect foresight would add (>= 0); at most "
         f"{_money(plan.evpi_high_musd)}"),
        ("status", plan.status, "", "optimal: gap within mip_gap; feasible: gap stated"),
        ("mip_gap", plan.gap, "fraction", f"(bound - RP) / |RP|; requested "
         f"{plan.mip_gap_requested:g}"),
        ("scenarios", len(plan.scenarios), "futures", "weights normalised to sum to 1"),
        ("commit_quarters", plan.commit_quarters, "quarters",
         "starts in these first quarters are committed now, the same in every future"),
        ("risk_weight", plan.risk_weight, "", "W, the weight of CVaR in the objective"),
        ("cvar_level", plan.cvar_level, "share", "A, the tail share CVaR averages"),
        ("method", plan.method, "", "; ".join(
            ["extensive form in HiGHS, or scenario decomposition"]
            + [line.removeprefix("sitepivot: ").strip() for line in plan.log.splitlines()
               if line.startswith("sitepivot: ")])),
        ("time_limit_per_solve_s", plan.budget.per_solve_s, "s",
         "each solve's time limit, fixed before the run (" + plan.budget.describe() + ")"),
        ("total_time_s", plan.budget.total_s if plan.budget.total_s is not None else math.nan,
         "s", "the whole run's budget (--total-time; blank: none), reading and writing aside"),
        ("reproducible", plan.reproducible, "",
         "FALSE: the total time (wall clock) cut " + str(plan.capped) + " solve(s) short of "
         "their own budget, so the same command may give another answer; raise --total-time"
         if plan.capped else "TRUE as to the total time: every solve had its own budget, "
         "fixed up front"),
        *([("firmness_tolerance_musd", next(iter(plan.firmness.values()))["tolerance_musd"],
            "$M", "a first-stage start is firm when not making it costs the robust objective "
            "more than this (FirstStage: firmness); " + plan.firmness_phase)]
          if plan.firmness else []),
        ("deterministic_npv_musd", plan.deterministic.npv_musd, "$M",
         f"the deterministic plan's NPV on the base forecast ({plan.deterministic.status}, "
         f"gap {plan.deterministic.gap:.2%})"),
    ]
    if plan.out_of_sample is not None and len(plan.out_of_sample):
        o = plan.out_of_sample
        diff = o["robust_minus_deterministic_musd"]
        rows += [
            ("out_of_sample_draws", len(o), "draws", f"fresh draws, seed {o.attrs.get('seed')}"),
            ("out_of_sample_robust_mean_musd", _finite_mean(o["npv_robust_musd"]), "$M",
             "mean NPV of the robust first stage, recourse re-optimised (blank if infeasible "
             "in some draw)"),
            ("out_of_sample_robust_infeasible", int(np.isinf(o["npv_robust_musd"]).sum()
                                                    + o["npv_robust_musd"].isna().sum()),
             "draws", "draws in which the robust first stage breaks a limit (a future unlike "
             "any of the plan's scenarios)"),
            ("out_of_sample_deterministic_mean_musd", _finite_mean(o["npv_deterministic_musd"]),
             "$M", "mean NPV of the deterministic first stage (blank if infeasible in some "
             "draw)"),
            ("out_of_sample_deterministic_infeasible", int(np.isinf(
                o["npv_deterministic_musd"]).sum() + o["npv_deterministic_musd"].isna().sum()),
             "draws", "draws in which the deterministic first stage breaks a limit"),
            ("out_of_sample_robust_better_share", float((diff > 0).mean()), "share",
             "share of draws in which the robust first stage does better")]
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _finite_mean(values: pd.Series) -> float:
    v = values.to_numpy(float)
    return float(v.mean()) if np.isfinite(v).all() else math.nan


def _halls_started(starts: KeyedStarts) -> int:
    """Halls started in all by one future's answer (its positive starts by business key)."""
    return round(sum(v for key, v in starts if key[0] == "hall"))


def account_lines(plan: RobustPlan) -> list[str]:
    """The plain-language account: commit these now (firm or open, when assessed); these
    wait; in bad futures..."""
    from optimizer.robust.firmness import firmness_lines

    k, start = plan.commit_quarters, plan.portfolio.settings.start_quarter
    last = add_quarters(start, k - 1)
    lines = [f"Commit now (starts {start}..{last}, the same in every future):"]
    d, u = plan.first_stage_decisions, plan.first_stage_upgrades
    lines += [f"  - {int(r.halls)} hall(s) of {r.option} at {r.site} in {r.start_quarter}"
              for r in d.itertuples()] or ["  - nothing: every start can wait"]
    lines += [f"  - {int(r.units)} {r.kind} upgrade(s) at {r.site} in {r.start_quarter}"
              for r in u.itertuples()]
    lines += firmness_lines(plan)
    det = plan.deterministic_decisions
    if not det.equals(d[det.columns]):  # the robust frame may add its firmness columns
        lines.append(f"The deterministic plan would commit {int(det['halls'].sum())} hall(s) "
                     f"in those quarters; the robust plan commits {int(d['halls'].sum())}.")
    waits = plan.stability
    lines.append("These wait and adapt to the future (share of futures started by the last "
                 "year):")
    last_col = waits.columns[-1]
    adapting = [f"  - {row.site}: started in {getattr(row, last_col):.0%} of futures"
                for row in waits.itertuples(index=False) if 0 < getattr(row, last_col) < 1]
    lines += adapting or ["  - none: each site is converted in every future or in none "
                          "(the timing of later starts still adapts; see Stability)"]
    scen = plan.scenarios.sort_values("npv_robust_musd")
    worst = scen.head(max(1, math.ceil(len(scen) * plan.cvar_level)))
    halls = {r.scenario: _halls_started(r.starts) for r in plan.robust_results}
    weights = plan.scenarios.set_index("scenario")["weight"]
    names = list(plan.scenarios["scenario"])
    mean_halls = (sum(weights[names[i]] * n for i, n in halls.items()) / weights.sum()
                  if halls else math.nan)
    lines.append(f"In the worst {len(worst)} of {len(scen)} futures (the CVaR tail), after "
                 f"the same commitments (on average {mean_halls:.1f} halls started in all):")
    for r in worst.itertuples():
        n = halls.get(names.index(r.scenario))
        does = "" if n is None else f"; the plan starts {n} hall(s) in all there"
        lines.append(f"  - {r.scenario}: NPV {money(r.npv_robust_musd, 0)}{does} "
                     f"({r.changes})")
    reason = infinite_vss_reason(plan)
    lines.append(f"Value of the stochastic solution (VSS) {_money(plan.vss_musd)}"
                 + (f" ({reason})" if reason is not None else
                    "" if plan.vss_significant else
                    " (not significant: within the solver gaps)")
                 + f"; value of perfect information (EVPI) {_money(plan.evpi_musd)}.")
    return lines


def robust_text(plan: RobustPlan) -> str:
    """A few lines for the terminal."""
    head = (f"robust plan ({plan.method}, {len(plan.scenarios)} futures, K = "
            f"{plan.commit_quarters}): {plan.status}, objective {_money(plan.objective_musd)}, "
            f"bound {_money(plan.bound_musd)}, gap {plan.gap:.2%}")
    lines = [head, plan.budget.describe()]
    if plan.capped:
        lines.append(f"warning: {plan.capped} solve(s) were cut short by the total time (wall "
                     "clock), not by their own budget: this run is not reproducible (raise "
                     "--total-time)")
    return "\n".join([*lines, *plan.account])

