"""A short human summary of a validated portfolio (what `sitepivot validate` prints):
presentation only; validation (`optimizer.inputs.validation`) builds the Portfolio it reads.
Money through `optimizer.money`; MW with thousands separators."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.cash_flows import column as numeric_column
from models.portfolio import Portfolio
from optimizer.money import money


def describe_portfolio(portfolio: Portfolio) -> str:
    """A short human summary of a validated portfolio (for ``sitepivot validate``)."""
    s = portfolio.settings
    sites, options, q = portfolio.sites, portfolio.options, portfolio.quarters
    labels = portfolio.quarter_labels
    halls = int(sites["halls"].sum())
    it_mw = float((sites["halls"] * sites["hall_it_mw"]).sum())
    budget = q["budget_musd"]
    lines = [
        f"workbook: {portfolio.source or '(tables)'}",
        f"sha256: {portfolio.sha256 or '-'}",
        f"sites: {len(sites)} ({sites['grid_mw'].sum():,.0f} MW grid, "
        f"{sites['mining_mw'].sum():,.0f} MW mining)",
        f"convertible: {halls} halls, {it_mw:,.0f} MW IT",
        f"options: {len(options)} ({', '.join(map(str, options.index))})",
        f"horizon: {labels[0]}..{labels[-1]} ({s.horizon_quarters} quarters), "
        f"discount rate {s.discount_rate:.1%}",
    ]
    if budget.isna().all():
        lines.append("budget: no limit")
    else:
        unlimited = int(budget.isna().sum())
        per_year = ", ".join(f"{year}: {_budget_text(b)}" for year, b in
                             budget.groupby(q["quarter"].str[:4]))
        lines.append(f"budget: {money(budget.sum(), 0)} in total"
                     + (f" ({_quarters_text(unlimited)} without limit)" if unlimited else "")
                     + f"; per year ($M) {per_year}")
    deal = _deal_text(portfolio)
    if deal:
        lines.append(f"deal: {deal}")
    lines.append(f"commitments: {len(portfolio.commitments)}; scenarios: "
                 f"{portfolio.scenarios['scenario'].nunique()}")
    lines.append(f"warnings: {len(portfolio.warnings)}")
    return "\n".join(lines)


def _deal_text(portfolio: Portfolio) -> str:
    """The deal terms in a phrase ('' when every deal column is blank)."""
    s, o = portfolio.settings, portfolio.options
    parts = []
    terms = pd.Series(numeric_column(o, "lease_term_years", np.nan)).dropna()
    if len(terms):
        parts.append(f"lease terms on {len(terms)} of {len(o)} options "
                     f"({terms.min():g}-{terms.max():g} years)")
    shared = o.index[numeric_column(o, "tenant_capex_share", 0.0) > 0]
    if len(shared):
        parts.append("tenant-funded capex on " + ", ".join(map(str, shared)))
    prepaid = o.index[numeric_column(o, "prepaid_quarters", 0.0) > 0]
    if len(prepaid):
        parts.append("prepayments on " + ", ".join(map(str, prepaid)))
    equipment = o.index[numeric_column(o, "equipment_capex_musd_per_it_mw", 0.0) > 0]
    if len(equipment):
        parts.append("owner equipment on " + ", ".join(map(str, equipment)))
    credited = int((numeric_column(portfolio.sites, "flex_credit_usd_per_kw_year", 0.0) > 0).sum())
    if credited:
        parts.append(f"flex credits at {credited} site{'s' if credited != 1 else ''}")
    if s.debt_ltc > 0:
        parts.append(f"debt {s.debt_ltc:.0%} of capex at {s.debt_rate or 0:.2%} over "
                     f"{s.debt_tenor_years or 0:g} years")
    if s.equity_discount_rate is not None:
        parts.append(f"equity discounted at {s.equity_discount_rate:.1%}")
    if s.objective != "project_npv" or s.budget_basis != "capex":
        parts.append(f"objective {s.objective}, budget on {s.budget_basis}")
    if s.terminal_value == "contracted":
        parts.append("contracted terminal value")
    return "; ".join(parts)


def _quarters_text(n: int) -> str:
    return f"{n} quarter{'s' if n != 1 else ''}"


def _budget_text(budget: pd.Series) -> str:
    """A budget total, with how many quarters have no limit."""
    unlimited = int(budget.isna().sum())
    if unlimited == len(budget):
        return "no limit"
    text = f"{budget.sum():,.0f}"
    return text + (f" + no limit in {_quarters_text(unlimited)}" if unlimited else "")
