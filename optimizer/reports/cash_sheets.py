"""The money sheets of the report: CashFlows (quarter rows, the terminal value, totals), Annual
(calendar years) and SourcesUses, built from the `Plan`'s frames (no Pyomo objects). Money in
$M.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from openpyxl.worksheet.worksheet import Worksheet

from optimizer.plan import ANNUAL_COLUMNS, CASH_FLOW_COLUMNS, Plan
from optimizer.reports.xl import (
    BOLD,
    MONEY,
    TEXT,
    WRAP,
    add_table,
    fit_widths,
    put,
    write_frame,
    write_rows,
)

QUARTER_COL_WIDTH = 14  # characters, CashFlows' quarter column


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
