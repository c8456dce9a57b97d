"""The sheets of what the plan does, where and when: Decisions, Upgrades, Schedule, Sites,
Capacity and Constraints, each built from the `Plan`'s frames (no Pyomo objects). Money in $M,
power in MW, quarters as text labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from optimizer.plan import (
    CAPACITY_COLUMNS,
    CONSTRAINT_COLUMNS,
    DECISION_COLUMNS,
    UPGRADE_COLUMNS,
    Plan,
)
from optimizer.reports.firmness import timing_band
from optimizer.reports.xl import (
    BOLD,
    COUNT,
    MONEY,
    MW,
    TEXT,
    TITLE_FONT,
    add_table,
    fill,
    fit_widths,
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
