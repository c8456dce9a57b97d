"""The report's Firmness and Alternatives sheets and the Schedule's timing bands (from the
Plan's frames made by `optimizer.replan.firmness`; no Pyomo objects).

- Firmness: the commit-now starts (firm, open or committed, with what not making each costs),
  then each site's first-start window.
- Alternatives: first their starts in Decisions' columns with an `alternative` column in front
  (the sheet's first table: `--commitments-from REPORT --from-alternative N` reads it), then
  each alternative's NPV, its gap to the best and what it does differently.
- Schedule: on each site's row, the quarters its first start can move within are underlined
  with a blue band (solid where found in a plan within the tolerance, dashed where only the
  re-solve's bound allows it).
"""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.styles import Border, Side
from openpyxl.worksheet.worksheet import Worksheet

from optimizer.plan import Plan
from optimizer.reports.xl import MONEY, PERCENT, TITLE_FONT, fit_widths, put, write_frame

ALTERNATIVES_SHEET = "Alternatives"
BAND_COLOUR = "2F5597"
FOUND = Side(style="thick", color=BAND_COLOUR)
BOUND = Side(style="dashed", color=BAND_COLOUR)

FIRMNESS_NOTE = ("Firm: every plan within the tolerance of this plan's NPV makes this start "
                 "(not making it costs more than the tolerance). Open: a plan within the "
                 "tolerance does without it, or the re-solve could not prove either (proven "
                 "FALSE: the note gives the range). Costs are in the objective's NPV, $M.")
WINDOW_NOTE = ("Each site's first start among plans within the tolerance: earliest and latest "
               "found; 'no sooner than' and 'no later than' are what the re-solves' bounds "
               "prove (equal when proven). The Schedule draws the window as a blue band.")
ALTERNATIVES_NOTE = ("Plans within the tolerance that differ most, in hall-quarters, from this "
                     "plan and from each other (modelling to generate alternatives). Feed one "
                     "to next quarter's run: sitepivot plan NEW.xlsx --commitments-from THIS.xlsx "
                     "--from-alternative N.")


def firmness_sheets(wb: Workbook, plan: Plan, before: Worksheet) -> None:
    """The Firmness and Alternatives sheets, each where its frames exist, before `before`."""
    at = wb.sheetnames.index(before.title)
    if plan.firmness is not None and plan.timing_windows is not None:
        ws = wb.create_sheet("Firmness", index=at)
        at += 1
        put(ws.cell(1, 1), "Commit now").font = TITLE_FONT
        last = write_frame(ws, plan.firmness.astype(object), "tFirmness", top=2,
                           formats={"units": None, "proven": None})
        put(ws.cell(last + 1, 1), FIRMNESS_NOTE)
        top = last + 3
        put(ws.cell(top, 1), "Timing windows (first start)").font = TITLE_FONT
        last = write_frame(ws, plan.timing_windows.astype(object), "tTimingWindows",
                           top=top + 1)
        put(ws.cell(last + 1, 1), WINDOW_NOTE)
        ws.freeze_panes = "A3"
        fit_widths(ws, hi=60)
    if plan.alternatives is not None and plan.alternative_decisions is not None:
        ws = wb.create_sheet(ALTERNATIVES_SHEET, index=at)
        last = write_frame(ws, plan.alternative_decisions.astype(object), "tAlternatives")
        top = last + 2
        put(ws.cell(top, 1), "The alternatives").font = TITLE_FONT
        last = write_frame(ws, plan.alternatives.astype(object), "tAlternativesSummary",
                           top=top + 1, formats={"npv_musd": MONEY, "vs_plan_musd": MONEY,
                                                 "gap_to_best": PERCENT})
        put(ws.cell(last + 1, 1), ALTERNATIVES_NOTE)
        ws.freeze_panes = "A2"
        fit_widths(ws, hi=80)


def timing_band(ws: Worksheet, plan: Plan, legend_row: int) -> int:
    """Underline each site's first-start window on the Schedule grid (sites in rows 2..,
    quarters in columns 2..); a legend line at `legend_row` + 1. Returns the last row used."""
    w = plan.timing_windows
    if w is None or not len(w):
        return legend_row
    sites = plan.portfolio.site_names
    t_of = plan.portfolio.t_of
    for r in w.itertuples(index=False):
        row = sites.index(r.site) + 2
        found = range(t_of(r.earliest_first_start), t_of(r.latest_first_start) + 1)
        for t in range(t_of(r.earliest_no_sooner_than), t_of(r.latest_no_later_than) + 1):
            cell = ws.cell(row, t + 2)
            cell.border = Border(left=cell.border.left, right=cell.border.right,
                                 top=cell.border.top, bottom=FOUND if t in found else BOUND)
    row = legend_row + 1
    put(ws.cell(row, 1), "blue band")
    ws.cell(row, 1).border = Border(bottom=FOUND)
    put(ws.cell(row, 2), "quarters the site's first start can move within among plans within "
        "the tolerance (Firmness sheet); dashed: not ruled out by the re-solve's bound")
    return row
