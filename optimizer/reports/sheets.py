"""The sheets and charts of the Excel report, built from a `Plan` (no Pyomo objects).

Sheet order: Summary (metrics, narrative, charts), Decisions, Upgrades, Schedule, CashFlows,
Sites, Capacity, Constraints, ChartData (the series behind the charts), Input_* (every input
table as used, defaults applied), Log. Money in $M, power in MW, quarters as text labels.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.chart import AreaChart, BarChart, LineChart, Reference, Series
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from models.portfolio import Portfolio
from optimizer.plan import (
    ANNUAL_COLUMNS,
    CAPACITY_COLUMNS,
    CASH_FLOW_COLUMNS,
    CONSTRAINT_COLUMNS,
    DECISION_COLUMNS,
    UPGRADE_COLUMNS,
    Plan,
)
from optimizer.reports.firmness import firmness_sheets, timing_band
from optimizer.reports.labels import label_for
from optimizer.reports.paper import print_report
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
    fill,
    fit_widths,
    format_for,
    label_heading,
    put,
    style_header,
    write_frame,
    write_rows,
)

# Schedule colours: mining amber, idle grey, building orange, hosting green.
COLOURS = {"mining": "FFE699", "idle": "D9D9D9", "building": "F4B183", "hosting": "A9D08E"}
# A constraint "nearly binds" when its slack is within this share of its limit (or ~0).
NEAR_BINDING = 0.01
# Summary column widths (characters): metric, value, label, unit, note; then a gap and the
# account. The charts sit below both, on page 2, two by two (`add_charts`).
SUMMARY_WIDTHS = {"A": 26, "B": 16, "C": 28, "D": 8, "E": 40, "F": 2}
ACCOUNT_COL, ACCOUNT_WIDTH = "G", 84
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


def decisions_sheet(ws: Worksheet, plan: Plan) -> None:
    """One row per start, columns exactly `DECISION_COLUMNS` (fed back as commitments)."""
    frame = plan.decisions.reindex(columns=DECISION_COLUMNS)
    frame = frame.sort_values(["start_quarter", "site", "option"]) if len(frame) else frame
    write_frame(ws, frame, "tDecisions", with_names=True)
    ws.freeze_panes = "A2"
    fit_widths(ws)


def upgrades_sheet(ws: Worksheet, plan: Plan) -> None:
    """One row per cooling-module batch or power upgrade, columns `UPGRADE_COLUMNS`."""
    write_frame(ws, plan.upgrades.reindex(columns=UPGRADE_COLUMNS), "tUpgrades",
                with_names=True)
    ws.freeze_panes = "A2"
    fit_widths(ws)


QUARTER_COL_WIDTH = 14  # characters, CashFlows' quarter column

# Schedule cell codes, short so that 40 quarters print one page wide (the legend says them).
SCHEDULE_CODES = {"mining": "M", "idle": "\u2013", "hosting": "H", "building": "B"}
SCHEDULE_WIDTH = 6.5  # characters, each quarter column
SCHEDULE_HEADER_PT = 56  # points, the row of quarter labels (written upwards)


def _schedule_cell(building: int, hosting: int, mining_mw: float) -> tuple[str, str]:
    """Code and colour key of one site-quarter: `H2 B1` (2 halls hosting, 1 building), `M`
    (mining), `–` (idle)."""
    parts = [f"{SCHEDULE_CODES['hosting']}{hosting}"] if hosting else []
    parts += [f"{SCHEDULE_CODES['building']}{building}"] if building else []
    if parts:
        return " ".join(parts), "hosting" if hosting else "building"
    key = "mining" if mining_mw > 1e-6 else "idle"
    return SCHEDULE_CODES[key], key


def schedule_sheet(ws: Worksheet, plan: Plan) -> None:
    """Site rows x quarter columns, each cell what the site does, coloured; mining MW below."""
    quarters = plan.portfolio.quarter_labels
    sites = plan.portfolio.site_names
    cols = ["halls_building", "halls_hosting", "mining_mw"]
    # A plain dict: pandas' .at on a MultiIndex costs ~0.5 ms a cell (1 s on 40 quarters).
    cap: dict[tuple[str, str], dict[str, float]] = (
        plan.capacity.set_index(["site", "quarter"])[cols].to_dict("index")
        if len(plan.capacity) else {})

    def at(site: str, q: str, col: str) -> float:
        value = cap.get((site, q), {}).get(col)
        return 0.0 if value is None or pd.isna(value) else float(value)

    header = ["site", *quarters]
    for j, name in enumerate(header, start=1):
        label_heading(style_header(put(ws.cell(1, j), name)))
    for i, site in enumerate(sites, start=2):
        put(ws.cell(i, 1), site)
        for j, q in enumerate(quarters, start=2):
            text, key = _schedule_cell(int(at(site, q, "halls_building")),
                                       int(at(site, q, "halls_hosting")),
                                       at(site, q, "mining_mw"))
            cell = put(ws.cell(i, j), text)
            cell.fill = fill(COLOURS[key])
    last = max(len(sites) + 1, 2)
    add_table(ws, "tSchedule", 1, 1, last, len(header), stripes=False)

    row = last + 2
    put(ws.cell(row, 1), "Legend").font = BOLD
    legend = {"mining": "M: miners running",
              "idle": "\u2013: no miners running (margin below zero, or none installed)",
              "building": "B3: 3 halls under construction",
              "hosting": "H2: 2 halls leased to AI tenants (H2 B1: and 1 more building)"}
    for key, meaning in legend.items():
        row += 1
        put(ws.cell(row, 1), key).fill = fill(COLOURS[key])
        put(ws.cell(row, 2), meaning)
    row = timing_band(ws, plan, row)
    row += 2
    put(ws.cell(row, 1), "Mining MW by site and quarter").font = TITLE_FONT
    top = row + 1
    rows = [[site, *(at(site, q, "mining_mw") for q in quarters)] for site in sites]
    last = write_rows(ws, top, 1, header, rows, [None] + [MW] * len(quarters))
    add_table(ws, "tScheduleMiningMW", top, 1, last, len(header))
    ws.freeze_panes = "B2"
    fit_widths(ws, rows=range(1, len(sites) + 2))
    for r in (1, top):  # quarter labels written upwards, columns narrow
        ws.row_dimensions[r].height = SCHEDULE_HEADER_PT
        for j in range(2, len(header) + 1):
            ws.cell(r, j).alignment = Alignment(text_rotation=90, horizontal="center")
    for j in range(2, len(header) + 1):
        ws.column_dimensions[get_column_letter(j)].width = SCHEDULE_WIDTH
        for i in range(2, len(sites) + 2):
            ws.cell(i, j).alignment = Alignment(horizontal="center", wrap_text=True)


def cash_flows_sheet(ws: Worksheet, plan: Plan) -> tuple[int, int]:
    """Quarter rows, the terminal value on its own row, a total row; return (first, last)
    quarter rows (what the charts plot)."""
    cf = plan.cash_flows.reindex(columns=CASH_FLOW_COLUMNS)
    money_cols = [c for c in CASH_FLOW_COLUMNS if c.endswith("_musd")]
    rows: list[list[object]] = [list(r) for r in cf.itertuples(index=False, name=None)]
    tv = plan.terminal_value_musd if np.isfinite(plan.terminal_value_musd) else 0.0
    df_last = float(cf["discount_factor"].iloc[-1]) if len(cf) else 1.0
    cum_last = float(cf["cumulative_discounted_musd"].iloc[-1]) if len(cf) else 0.0
    tv_row: dict[str, object] = dict.fromkeys(CASH_FLOW_COLUMNS)
    tv_row.update(quarter=f"terminal value ({plan.portfolio.settings.terminal_value})",
                  net_musd=tv / df_last if df_last else None, discount_factor=df_last,
                  discounted_musd=tv, cumulative_discounted_musd=cum_last + tv)
    if len(cf) and df_last:
        # The equity holders get the same terminal value, discounted at the equity rate.
        dfe_last = float(plan.equity_discount_factors[-1])
        tv_row.update(equity_cash_flow_musd=tv / df_last,
                      equity_discounted_musd=tv / df_last * dfe_last)
        last_q = cf.iloc[-1]
        if pd.notna(last_q["incremental_irr_flow_musd"]):  # the conversion's TV, for reading
            d_tv = float(last_q["incremental_irr_flow_musd"] - last_q["incremental_net_musd"])
            tv_row.update(incremental_net_musd=d_tv, mining_only_net_musd=tv / df_last - d_tv)
    rows.append([tv_row[c] for c in CASH_FLOW_COLUMNS])
    header = list(CASH_FLOW_COLUMNS)
    fmts = [TEXT if c == "quarter" else MONEY if c in money_cols else "0.0000" for c in header]
    last = write_rows(ws, 1, 1, header, rows, fmts)
    add_table(ws, "tCashFlows", 1, 1, last, len(header))
    total_row = last + 1
    put(ws.cell(total_row, 1), "total").font = BOLD
    for j, col in enumerate(header, start=1):
        if col in money_cols and col not in ("cumulative_discounted_musd",
                                             "debt_outstanding_musd"):
            values = [r[j - 1] for r in rows]
            amount = float(np.nansum([v for v in values if v is not None]))
            put(ws.cell(total_row, j), amount, MONEY).font = BOLD
    put(ws.cell(total_row + 2, 1), "Costs (opex, power, capex, tax) are positive amounts "
        "subtracted in net_musd. The discounted total is the plan's NPV; the equity discounted "
        "total is its equity NPV.")
    put(ws.cell(total_row + 3, 1), "Deal lines: tenant_funded_capex is the tenant's money "
        "(not in net); prepayment is in net (+ received, - rent it settles, - refund at the "
        "end; it sums to zero); equipment_capex is inside capex, flex_credit inside the mining "
        "margin; equity cash flow = net + debt draw - interest - principal + tax x interest.")
    put(ws.cell(total_row + 4, 1), "Conversion lines: mining_only_net is the portfolio never "
        "converted (no halls or upgrades, miners run where their margin is positive); "
        "incremental_net = net - mining_only_net; incremental_irr_flow is that with the "
        "incremental terminal value added in the last quarter: (1 + IRR() of its quarter rows)"
        " ^ 4 - 1 is conversion_irr on Summary.")
    ws.freeze_panes = "B2"
    fit_widths(ws, rows=range(1, total_row + 1))
    ws.column_dimensions["A"].width = QUARTER_COL_WIDTH  # the terminal value's label wraps
    ws.cell(last, 1).alignment = WRAP
    return 2, 1 + len(cf)


def annual_sheet(ws: Worksheet, plan: Plan) -> None:
    """One row per calendar year (`ANNUAL_COLUMNS`): revenue (mining margin + rent due),
    EBITDA, capex, project and equity cash flow, debt outstanding at the year's end."""
    frame = plan.annual if plan.annual is not None else pd.DataFrame(columns=ANNUAL_COLUMNS)
    last = write_frame(ws, frame.reindex(columns=ANNUAL_COLUMNS), "tAnnual")
    for row in range(2, last + 1):
        ws.cell(row, 1).number_format = "0"
    put(ws.cell(last + 2, 1), "Sums of the CashFlows quarters of each year (the terminal value "
        "is not in them); debt outstanding is at the end of the year's last quarter.")
    ws.freeze_panes = "B2"
    fit_widths(ws, rows=range(1, last + 1))


def sources_uses_sheet(ws: Worksheet, plan: Plan) -> None:
    """One row per line, one column per calendar year and `total` (docs/economics.md,
    "Sources and uses"); total sources = total uses in every column."""
    frame = plan.sources_uses if plan.sources_uses is not None else pd.DataFrame(
        {"line": []})
    last = write_frame(ws, frame, "tSourcesUses",
                       formats={c: MONEY for c in frame.columns if c != "line"})
    put(ws.cell(last + 2, 1), "Uses: hall capex gross (the owner's and the tenant-funded share; "
        "equipment apart), cooling modules, power upgrades, equipment. Sources: tenant funding, "
        "debt draws, equity (owner capex less debt draws). Memo: prepayments received (inside "
        "net on CashFlows, not a source of capex here) and CFADS.")
    ws.freeze_panes = "B2"
    fit_widths(ws, rows=range(1, last + 1))


def sites_sheet(ws: Worksheet, plan: Plan) -> None:
    """Per site: MW, halls converted of those available, options used, first start, NPV and
    the power and cooling headroom in the last quarter."""
    pf, dec = plan.portfolio, plan.decisions
    end = plan.portfolio.quarter_labels[-1]
    cap_end = plan.capacity[plan.capacity["quarter"] == end].set_index("site")
    rows = []
    for site in pf.site_names:
        s = pf.sites.loc[site]
        mine = dec[dec["site"] == site]
        converted = int(mine["halls"].sum()) if len(mine) else 0
        c = cap_end.loc[site] if site in cap_end.index else None
        rows.append({
            "site": site, "region": s["region"], "grid_mw": s["grid_mw"],
            "mining_mw": s["mining_mw"], "halls_available": int(s["halls"]),
            "halls_converted": converted,
            "halls_converted_share": converted / s["halls"] if s["halls"] else None,
            "it_mw_converted": float(mine["it_mw"].sum()) if len(mine) else 0.0,
            "options_used": ", ".join(sorted(mine["option"].unique())) if len(mine) else "",
            "first_start": min(mine["start_quarter"]) if len(mine) else "",
            "npv_musd": plan.site_npv_musd.get(site, np.nan),
            "power_headroom_end_mw": (c["power_available_mw"] - c["power_used_mw"])
            if c is not None else None,
            "cooling_headroom_end_mw": (c["cooling_available_mw"] - c["cooling_used_mw"])
            if c is not None else None,
        })
    frame = pd.DataFrame(rows)
    if plan.site_returns is not None:  # the site less itself never converted
        returns = plan.site_returns.reindex(pf.site_names)
        for col in returns.columns:
            frame[col] = returns[col].to_numpy()
    last = write_frame(ws, frame, "tSites", formats={"first_start": TEXT})
    total = last + 1
    put(ws.cell(total, 1), "total").font = BOLD
    for j, col in enumerate(frame.columns, start=1):
        if col in ("grid_mw", "mining_mw", "halls_available", "halls_converted",
                   "it_mw_converted", "npv_musd"):
            fmt = MONEY if col == "npv_musd" else COUNT
            put(ws.cell(total, j), float(frame[col].sum()), fmt).font = BOLD
    # Site NPVs may or may not carry each site's share of the terminal value: say which.
    site_sum, npv = float(frame["npv_musd"].sum()), plan.npv_musd
    if np.isfinite(npv) and abs(site_sum - npv) <= 1e-6 * max(1.0, abs(npv)):
        put(ws.cell(total + 2, 1), "Site NPVs include each site's terminal value; they sum to "
            "the plan's NPV.")
    else:
        put(ws.cell(total + 1, 1), "terminal value (not by site)")
        put(ws.cell(total + 1, frame.columns.get_loc("npv_musd") + 1), plan.terminal_value_musd,
            MONEY)
    ws.freeze_panes = "B2"
    fit_widths(ws, rows=range(1, total + 1))


def capacity_sheet(ws: Worksheet, plan: Plan) -> None:
    """`plan.capacity` as it is: per site and quarter, power and cooling used vs available."""
    write_frame(ws, plan.capacity.reindex(columns=CAPACITY_COLUMNS), "tCapacity")
    ws.freeze_panes = "C2"
    fit_widths(ws)


# Why a constraint is listed (the `binds_because` column of the Constraints sheet).
AT_LIMIT = f"at its limit (slack within {NEAR_BINDING:.0%} of it)"
LUMPY = "no room for one more hall (slack below the smallest use)"


def binding_constraints(plan: Plan) -> pd.DataFrame:
    """Constraints that bind, each with why (`binds_because`), by two rules:
    - at the limit: slack within `NEAR_BINDING` of the limit (or ~0);
    - lumpy: the model's `binding` flag with more slack than that, i.e. too little to take one
      more of the smallest unit that uses the limit (`optimizer.solve.frames`): 45 MW of
      cooling left where the smallest hall needs 60 MW binds, though 55 of 100 MW are used.
    """
    c = plan.constraints.reindex(columns=CONSTRAINT_COLUMNS)
    if not len(c):
        return c.assign(binds_because=pd.Series(dtype=object))
    slack = pd.to_numeric(c["slack"], errors="coerce").abs()
    limit = pd.to_numeric(c["limit"], errors="coerce").abs().fillna(0.0)
    near = slack <= 1e-6 + NEAR_BINDING * limit
    flagged = c["binding"].fillna(False).astype(bool)
    keep = c[flagged | near].assign(binds_because=np.where(near[flagged | near], AT_LIMIT,
                                                          LUMPY))
    return keep.sort_values(["family", "quarter", "site"], na_position="first")


def constraints_sheet(ws: Worksheet, plan: Plan) -> None:
    """The limits that shape the plan, in business words, with their slack and why each binds."""
    frame = binding_constraints(plan)
    fmts = {"used": "#,##0.0", "limit": "#,##0.0", "slack": "#,##0.0"}
    last = write_frame(ws, frame, "tConstraints", formats=fmts)
    at_limit = int((frame["binds_because"] == AT_LIMIT).sum()) if len(frame) else 0
    note = (f"{len(frame)} of {len(plan.constraints)} constraints bind: {at_limit} at their limit"
            f" (slack within {NEAR_BINDING:.0%} of it), {len(frame) - at_limit} with slack too "
            "small for one more unit that uses them (halls are lumpy: a site's cooling binds "
            "when what is left cannot cool one more hall). Relaxing one of them could raise "
            "the NPV.")
    put(ws.cell(last + 2, 1), note)
    ws.freeze_panes = "B2"
    fit_widths(ws, rows=range(1, last + 1))


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


def axis_labels(quarters: list[str]) -> list[str]:
    """The charts' quarter axis labels: the year at each first quarter (and the first quarter
    in full when the horizon starts later in a year), blank elsewhere, so that 40 quarters
    read as 10 years (LibreOffice ignores an axis's label step)."""
    return [q[:4] if q.endswith("Q1") else q if i == 0 else "" for i, q in enumerate(quarters)]


def chart_data_sheet(ws: Worksheet, plan: Plan) -> tuple[int, int]:
    """Portfolio totals by quarter behind the charts; return (first, last) data rows."""
    quarters = plan.portfolio.quarter_labels
    cap = plan.capacity
    cols = ["mining_mw", "ai_it_mw_online", "power_used_mw"]
    by_q = (cap.groupby("quarter")[cols].sum() if len(cap) else pd.DataFrame(columns=cols))
    by_q = by_q.reindex(quarters).fillna(0.0)
    capex = plan.cash_flows.set_index("quarter")["capex_musd"].reindex(quarters).fillna(0.0)
    budget = plan.portfolio.quarters.set_index("quarter")["budget_musd"].reindex(quarters)
    use = plan.cash_flows.set_index("quarter")["budget_use_musd"].reindex(quarters).fillna(0.0)
    frame = pd.DataFrame({"quarter": quarters, "mining_mw": by_q["mining_mw"].to_numpy(),
                          "ai_it_mw_online": by_q["ai_it_mw_online"].to_numpy(),
                          "capex_musd": capex.to_numpy(), "budget_musd": budget.to_numpy(),
                          "budget_use_musd": use.to_numpy(),
                          "ai_grid_mw": (by_q["power_used_mw"] - by_q["mining_mw"]).to_numpy(),
                          "axis_label": axis_labels(quarters)})
    last = write_frame(ws, frame, "tChartData")
    put(ws.cell(last + 2, 1), "Series of the Summary charts (portfolio totals; a blank budget "
        "means no limit in that quarter; budget use is what counts against the budget: "
        f"budget_basis = {plan.portfolio.settings.budget_basis}; ai_grid_mw is the grid power "
        "the AI halls reserve, built or building: power used less mining; axis_label, the "
        "charts' quarter labels, one a year).")
    ws.freeze_panes = "B2"
    fit_widths(ws, rows=range(1, last + 1))
    return 2, 1 + len(quarters)


def chart_series(chart: BarChart | LineChart | AreaChart, ws: Worksheet, col: int,
                 rows: tuple[int, int], label: str, colour: str) -> None:
    """Add one series (a column's rows) under a reader's label and colour."""
    series = Series(Reference(ws, min_col=col, min_row=rows[0], max_row=rows[1]), title=label)
    series.graphicalProperties.solidFill = colour
    series.graphicalProperties.line.solidFill = colour
    if isinstance(chart, LineChart):
        series.smooth = False  # LibreOffice draws openpyxl's lines smoothed unless told
        series.graphicalProperties.line.width = 28575  # 2.25 pt
    chart.series.append(series)


def style_chart(chart: BarChart | LineChart | AreaChart, axis_title: str) -> None:
    chart.y_axis.title = axis_title
    chart.y_axis.number_format = "#,##0"
    # openpyxl >= 3.1 marks axes deleted unless told otherwise; Excel then hides them.
    chart.x_axis.delete = False
    chart.y_axis.delete = False


def add_charts(ws: Worksheet, cash: Worksheet, cash_rows: tuple[int, int], data: Worksheet,
               data_rows: tuple[int, int], top: int = 2) -> None:
    """Four native charts on the Summary sheet, two by two from row `top` (below the metrics
    and the account: nothing runs under them), each `CHART_CM` in size.

    Net cash flow (columns) with cumulative discounted NPV (line, secondary axis, zero levels
    aligned) from CashFlows; grid MW of mining and of the AI halls (stacked area: both are
    grid MW, summing to the grid power used) and budget use vs budget (columns + line: what
    the budget limits against it; capex itself is on CashFlows) from ChartData; equity cash
    flow with debt outstanding from CashFlows. Quarter axes are labelled by year.
    """
    second = top + CHART_ROWS + 1
    for row in range(top, second + CHART_ROWS + 1):  # rows of the height the anchors assume
        ws.row_dimensions[row].height = 15
    anchors = [f"A{top}", f"{CHART_RIGHT_COL}{top}", f"A{second}", f"{CHART_RIGHT_COL}{second}"]
    col = {c: i for i, c in enumerate(CASH_FLOW_COLUMNS, start=1)}
    bars = BarChart()
    bars.title = "Net cash flow and cumulative discounted NPV, before terminal value ($M)"
    chart_series(bars, cash, col["net_musd"], cash_rows, "net cash flow", "4472C4")
    quarters = Reference(data, min_col=8, min_row=data_rows[0], max_row=data_rows[1])
    bars.set_categories(quarters)
    style_chart(bars, "net cash flow, $M")
    bars.x_axis.tickLblPos = "low"  # quarter labels below the negative bars, not across them
    line = LineChart()
    chart_series(line, cash, col["cumulative_discounted_musd"], cash_rows,
            "cumulative discounted (right axis)", "C00000")
    style_chart(line, "cumulative discounted, $M")
    line.y_axis.axId = 200
    line.y_axis.crosses = "max"
    _align_zero(bars, line, cash.cell, cash_rows, col["net_musd"],
                col["cumulative_discounted_musd"])
    bars += line
    _place(ws, bars, anchors[0])

    area = AreaChart()
    area.grouping = "stacked"  # both series are grid MW: the stack is the grid power used
    area.title = "Grid power used: mining vs AI halls (MW, portfolio)"
    chart_series(area, data, 2, data_rows, "mining (grid MW)", "FFC000")
    chart_series(area, data, 7, data_rows, "AI halls (grid MW reserved)", "70AD47")
    area.set_categories(quarters)
    style_chart(area, "grid MW")
    _place(ws, area, anchors[1])

    capex = BarChart()
    # Budget use, not capex, is what the budget limits: under budget_basis = equity only the
    # equity share counts, and capex set against the budget would look like an overspend.
    capex.title = "Budget use by quarter against the capital budget ($M)"
    chart_series(capex, data, 6, data_rows, "budget use", "ED7D31")
    capex.set_categories(quarters)
    style_chart(capex, "$M")
    budget = LineChart()
    chart_series(budget, data, 5, data_rows, "budget", "404040")
    style_chart(budget, "$M")
    capex += budget
    _place(ws, capex, anchors[2])

    equity = BarChart()
    equity.title = "Equity cash flow and debt outstanding by quarter ($M)"
    chart_series(equity, cash, col["equity_cash_flow_musd"], cash_rows, "equity cash flow",
                 "5B9BD5")
    equity.set_categories(quarters)
    style_chart(equity, "equity cash flow, $M")
    equity.x_axis.tickLblPos = "low"
    debt = LineChart()
    chart_series(debt, cash, col["debt_outstanding_musd"], cash_rows,
                 "debt outstanding (right axis)", "7030A0")
    style_chart(debt, "debt outstanding, $M")
    debt.y_axis.axId = 300
    debt.y_axis.crosses = "max"
    equity += debt
    _place(ws, equity, anchors[3])


def nice_step(raw: float) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^k at least `raw` (a readable axis step)."""
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= raw * (1 - 1e-12):
            return m * power
    return 10 * power


def axis_scales(ranges: list[tuple[float, float]], intervals: int = 8
                ) -> list[tuple[float, float, float]]:
    """(min, max, step) for each (lo, hi) so that every axis puts zero on the same gridline.

    Each axis gets `intervals` steps, k of them above zero (the same k for all axes), with a
    readable step; k is chosen to waste the least height.
    """
    spans = [(min(lo, 0.0), max(hi, 0.0)) for lo, hi in ranges]
    best: tuple[float, list[tuple[float, float, float]]] | None = None
    for k in range(intervals, -1, -1):  # on a tie, prefer room above zero
        scales, waste = [], 0.0
        for lo, hi in spans:
            if (hi > 0 and k == 0) or (lo < 0 and k == intervals):
                break
            need = max(hi / k if k else 0.0, -lo / (intervals - k) if k < intervals else 0.0)
            step = nice_step(need)
            scales.append((-(intervals - k) * step, k * step, step))
            waste += 1 - (hi - lo) / (intervals * step) if hi > lo else 0.0
        else:
            if best is None or waste < best[0]:
                best = (waste, scales)
    return best[1] if best else [(0.0, 1.0, 0.125) for _ in ranges]


def _align_zero(bars: BarChart, line: LineChart, cell: Callable[[int, int], Cell],
                rows: tuple[int, int], bar_col: int, line_col: int) -> None:
    """Put the zero of the secondary (line) axis level with the zero of the bars' axis."""
    def span(col: int) -> tuple[float, float]:
        values = [cell(r, col).value for r in range(rows[0], rows[1] + 1)]
        numbers = [v for v in values if isinstance(v, int | float)]
        return (min(numbers, default=0.0), max(numbers, default=0.0))

    for chart, (lo, hi, step) in zip((bars, line), axis_scales([span(bar_col), span(line_col)]),
                                     strict=True):
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = lo, hi
        chart.y_axis.majorUnit = step


# Summary charts: size (cm), rows each takes (15-point rows), the column of the right-hand pair.
CHART_CM = (15.5, 13.0)  # fits columns F:G (16 cm in Calibri, wider in other fonts)
CHART_ROWS = 25
CHART_RIGHT_COL = "F"
QUARTER_LABEL_STEP = 4  # a tick mark a year on the charts' axes (labels: `axis_labels`)


def _place(ws: Worksheet, chart: BarChart | AreaChart, anchor: str) -> None:
    chart.width, chart.height = CHART_CM
    chart.legend.position = "b"
    chart.x_axis.tickMarkSkip = QUARTER_LABEL_STEP
    ws.add_chart(chart, anchor)


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
