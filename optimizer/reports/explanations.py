"""The sheets explaining a plan: Changes (against a baseline), WhyNot and Timing, each written
where `optimizer.replan.replan` computed its frame (no Pyomo objects).
"""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from optimizer.plan import Plan
from optimizer.reports.xl import COUNT, MONEY, fit_widths, put, write_frame

# Optional sheets explaining the plan (computed by `optimizer.replan.replan`; absent when not
# computed):
# sheet name, Plan field, Excel table name, a note under the table.
EXPLANATION_SHEETS = (
    ("Changes", "baseline_changes", "tChanges",
     "Each hall of the baseline plan matched with this plan: kept, moved earlier or later, added "
     "or dropped, per site and option; starts begun before the start quarter are locked."),
    ("WhyNot", "why_not", "tWhyNot",
     "Why each site converting nothing does so. best_hall_npv_musd: its best single hall alone, "
     "net of the mining it displaces and the upgrades it needs. Forcing that hall in a re-solve "
     "costs between npv_lost_at_least_musd (this plan's NPV less the forced solve's proven "
     "bound) and npv_lost_at_most_musd (this plan's NPV less the forced plan's); npv_lost_musd, "
     "the point, only when the forced re-solve is proven optimal. NPVs are the objective's "
     "(the equity NPV under objective = equity_npv)."),
    ("Timing", "timing_value", "tTiming",
     "What choosing the timing is worth: this plan beside converting every profitable hall as "
     "early as possible, and beside never converting. NPVs are the objective's (the equity NPV "
     "under objective = equity_npv)."),
)


def explanation_sheets(wb: Workbook, plan: Plan, before: Worksheet) -> None:
    """The Changes (with a baseline), WhyNot and Timing sheets, each where its frame exists,
    placed before the sheet `before`. Changes starts with the NPV against the baseline."""
    for name, attr, table, note in EXPLANATION_SHEETS:
        frame = getattr(plan, attr, None)
        if frame is None:
            continue
        ws = wb.create_sheet(name, index=wb.sheetnames.index(before.title))
        top = 1
        if name == "Changes" and plan.baseline_metrics is not None:
            metrics = plan.baseline_metrics
            last = write_frame(ws, metrics.astype(object), "tChangesNPV")
            for r, unit in enumerate(metrics["unit"], start=2):
                if unit == "$M":
                    ws.cell(r, 2).number_format = MONEY
            top = last + 3
        formats = {"value": None, "shift_quarters": COUNT, "halls_converted": COUNT}
        last = write_frame(ws, frame.astype(object), table, top=top, formats=formats)
        put(ws.cell(last + 2, 1), note)
        ws.freeze_panes = ws.cell(top + 1, 1) if top == 1 else None
        fit_widths(ws, rows=range(1, last + 1), hi=80)
