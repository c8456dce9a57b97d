"""Turn decisions and their valuation into the Plan's DataFrames (no Pyomo here).

Capacity and constraint rows are the rules' data layer evaluated for the decisions
(`models.rules.Rules.usage`), the same way for a solver's plan, a greedy plan or a plan read
back from a report; the constraint families' labels come from the model's registry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from models.conversion import FAMILY
from models.decisions import Decisions
from models.economics import Economics, Valuation, evaluate, mining_only
from models.metrics import Conversion, conversion_metrics, irr, payback, plan_metrics
from models.quarters import add_quarters
from models.rules import Usage
from optimizer.plan import (
    ANNUAL_COLUMNS,
    CAPACITY_COLUMNS,
    CASH_FLOW_COLUMNS,
    CONSTRAINT_COLUMNS,
    DECISION_COLUMNS,
    MINING_INCOME,
    UPGRADE_COLUMNS,
)

BINDING_TOLERANCE = 1e-6
CONVERSION_CASH_COLUMNS = ["mining_only_net_musd", "incremental_net_musd",
                           "incremental_irr_flow_musd"]


def plan_frames(econ: Economics, decisions: Decisions, valuation: Valuation) -> dict[str, Any]:
    """The DataFrame fields of a Plan (decisions, upgrades, cash flows, capacity, ...)."""
    portfolio = econ.portfolio
    labels = portfolio.quarter_labels
    site_names = portfolio.site_names
    usage = econ.rules.usage(decisions)
    conversion = conversion_of(econ, valuation)
    cash_flows = _cash_flows(valuation, labels, usage.budget_use, conversion)
    return {
        "decisions": decision_rows(econ, decisions.halls),
        "upgrades": upgrade_rows(econ, decisions.modules, decisions.upgrades),
        "cash_flows": cash_flows,
        "equity_npv_musd": valuation.equity_npv,
        "deal_metrics": deal_metrics(valuation, labels, conversion,
                                     converted=bool(decisions.halls.sum() > econ.fixed_halls.sum()
                                                    or decisions.modules.any()
                                                    or decisions.upgrades.any())),
        "annual": annual_frame(cash_flows),
        "beyond_horizon_sites": [
            name for name, npv, tv in zip(site_names, valuation.site_npv,
                                          valuation.discount[-1] * valuation.terminal_value,
                                          strict=True) if tv > 0.5 * npv and tv > 0],
        "terminal_value_musd": float(valuation.discount[-1] * valuation.terminal_value.sum()),
        "site_npv_musd": pd.Series(valuation.site_npv, index=pd.Index(site_names, name="site"),
                                   name="npv_musd"),
        "mining_mw": pd.DataFrame(decisions.mining, index=pd.Index(site_names, name="site"),
                                  columns=labels),
        "capacity": _capacity(usage, site_names, labels),
        "constraints": constraint_rows(econ, usage),
    }


def decision_rows(econ: Economics, halls: np.ndarray) -> pd.DataFrame:
    """The Decisions sheet's rows of `halls` (halls started per candidate, by `econ.halls`
    column): one row per start, with its capex, NPV, IRR and payback, in start order."""
    portfolio = econ.portfolio
    start = portfolio.settings.start_quarter
    rows = []
    for c in np.flatnonzero(halls > 0):
        s, o, n = int(econ.halls.site[c]), int(econ.halls.option[c]), float(halls[c])
        rows.append({
            "site": portfolio.site_names[s], "option": portfolio.option_names[o],
            "start_quarter": add_quarters(start, int(econ.halls.tau[c])), "halls": int(n),
            "it_mw": n * float(econ.rules.halls.it_mw[c]),
            "online_quarter": add_quarters(start, int(econ.halls.online[c])),
            "capex_musd": n * float(econ.halls.capex[c].sum()),
            "npv_musd": n * float(econ.halls.project_value[c]),
            **_start_metrics(econ, int(c), start)})
    frame = pd.DataFrame(rows, columns=DECISION_COLUMNS)
    return frame.sort_values(["start_quarter", "site", "option"], ignore_index=True)


def _start_metrics(econ: Economics, c: int, start: str) -> dict[str, Any]:
    """IRR (annual) and payback quarter of one start's own cash flows: its rent due and
    prepayment less opex, AI power, owner capex and the tax on its NOI less depreciation, with
    its terminal value in T-1 for the IRR (the mining it displaces is not charged to it)."""
    h = econ.halls
    noi = h.revenue[c] - h.opex[c] - h.ai_power[c]
    net = noi + h.prepayment[c] - h.capex[c] - econ.tax_rate * (noi - h.depreciation[c])
    with_tv = net.copy()
    with_tv[-1] += h.terminal[c]
    rate = irr(with_tv).annual
    back = payback(net)
    return {"irr": np.nan if rate is None else rate,
            "payback_quarter": None if back is None else add_quarters(start, back)}


def conversion_of(econ: Economics, valuation: Valuation) -> Conversion | None:
    """The plan's conversion metrics against the portfolio never converted
    (`models.economics.mining_only`); None if that plan cannot meet the mining floor."""
    base = mining_only(econ)
    if base is None:
        return None
    b = evaluate(econ, base)
    return conversion_metrics(valuation.net.sum(axis=0), valuation.equity_cash_flow.sum(axis=0),
                              float(valuation.terminal_value.sum()), b.net.sum(axis=0),
                              b.equity_cash_flow.sum(axis=0), float(b.terminal_value.sum()),
                              valuation.npv, b.npv)


# Appended to a contract metric left blank by the mining income in the plan's flows.
_SEE_CONVERSION = MINING_INCOME + ": the conversion's own {what} is {name}"


def deal_metrics(v: Valuation, labels: list[str], conversion: Conversion | None = None,
                 converted: bool = True) -> pd.DataFrame:
    """The Summary's deal metrics (`METRIC_NAMES`), one row each: metric, value, unit, note.
    A blank value (NaN, or None for a quarter) has its reason in the note; a contract metric
    blank while the plan's flows hold mining income points to its conversion metric.
    `converted`: whether the plan starts anything (else the conversion metrics are blank)."""
    npv = v.npv
    m = plan_metrics(v.net.sum(axis=0), v.equity_cash_flow.sum(axis=0),
                     float(v.terminal_value.sum()), v.discount, v.equity_npv, npv)

    def quarter(t: int | None) -> str | None:
        return None if t is None else labels[t]

    c = conversion if converted and bool(np.abs(v.mining_margin).sum() > 0) else None

    def see(note: str, blank: bool, what: str, name: str, has: object) -> str:
        """A blank contract metric whose conversion metric has a value: the mining income is
        what leaves it blank, so the note says where the conversion's own figure is."""
        return note + (_SEE_CONVERSION.format(what=what, name=name)
                       if blank and has is not None else "")

    rows = [
        ("project_irr", m.project_irr.annual, "per year",
         see(m.project_irr.note, m.project_irr.annual is None, "return", "conversion_irr",
             c and c.irr.annual)
         or "project net cash flows, terminal value in the last quarter"),
        ("equity_irr", m.equity_irr.annual, "per year",
         see(m.equity_irr.note, m.equity_irr.annual is None, "equity return",
             "conversion_equity_irr", c and c.equity_irr.annual)
         or "equity cash flows, terminal value in the last quarter"),
        ("equity_npv_musd", m.equity_npv_musd, "$M",
         "equity cash flows at equity_discount_rate, terminal value included"),
        ("moic", m.moic, "x", "" if m.moic is not None else "no negative equity cash flow"),
        ("payback_quarter", quarter(m.payback_quarter), "quarter",
         see(m.payback_note, m.payback_quarter is None, "payback",
             "conversion_payback_quarter", c and c.payback_quarter)
         or "cumulative project net cash flow back to >= 0 (TV excluded)"),
        ("discounted_payback_quarter", quarter(m.discounted_payback_quarter), "quarter",
         m.discounted_payback_note or "the same on discounted cash flows"),
        ("npv_beyond_horizon_share", m.npv_beyond_horizon_share, "fraction",
         "discounted terminal value / NPV"),
        *_conversion_rows(conversion, converted, quarter),
    ]
    frame = pd.DataFrame(rows, columns=["metric", "value", "unit", "note"])
    frame["value"] = [np.nan if x is None and u != "quarter" else
                      (float(x) if isinstance(x, (int, float, np.floating)) else x)
                      for x, u in zip(frame["value"], frame["unit"], strict=True)]
    return frame


def _conversion_rows(c: Conversion | None, converted: bool,
                     quarter: Callable[[int | None], str | None]
                     ) -> list[tuple[str, object, str, str]]:
    """The rows of `CONVERSION_METRIC_NAMES`: the plan less the portfolio never converted."""
    if c is None or not converted:
        why = ("nothing converted: the plan is the portfolio kept mining" if c is not None else
               "no mining-only plan: the portfolio cannot meet the mining floor unconverted")
        return [("conversion_irr", None, "per year", why),
                ("conversion_equity_irr", None, "per year", why),
                ("conversion_payback_quarter", None, "quarter", why),
                ("conversion_npv_musd", None if c is None else c.npv_musd, "$M",
                 why if c is None else "NPV less the NPV of the portfolio never converted")]
    return [
        ("conversion_irr", c.irr.annual, "per year", c.irr.note or
         "project net less the portfolio never converted (mining only), incremental terminal "
         "value in the last quarter"),
        ("conversion_equity_irr", c.equity_irr.annual, "per year", c.equity_irr.note or
         "equity cash flows less those of the portfolio never converted (no debt)"),
        ("conversion_payback_quarter", quarter(c.payback_quarter), "quarter",
         c.payback_note or "cumulative incremental project net back to >= 0 (TV excluded)"),
        ("conversion_npv_musd", c.npv_musd, "$M",
         "NPV less the NPV of the portfolio never converted (mining only)"),
    ]


def annual_frame(cash_flows: pd.DataFrame) -> pd.DataFrame:
    """One row per calendar year of the plan: revenue (mining margin + rent due), EBITDA
    (that less AI opex and power), capex, project and equity cash flow, and debt outstanding
    at the end of the year's last quarter in the plan."""
    cf = cash_flows
    year = cf["quarter"].str[:4].astype(int)
    revenue = cf["mining_margin_musd"] + cf["ai_revenue_musd"]
    frame = pd.DataFrame({
        "year": year, "revenue_musd": revenue,
        "ebitda_musd": revenue - cf["ai_opex_musd"] - cf["ai_power_musd"],
        "capex_musd": cf["capex_musd"], "project_cash_flow_musd": cf["net_musd"],
        "equity_cash_flow_musd": cf["equity_cash_flow_musd"],
        "debt_outstanding_musd": cf["debt_outstanding_musd"]})
    sums = frame.groupby("year", sort=True).agg(
        {c: ("last" if c == "debt_outstanding_musd" else "sum") for c in ANNUAL_COLUMNS[1:]})
    return sums.reset_index()[ANNUAL_COLUMNS]


def upgrade_rows(econ: Economics, modules: np.ndarray, upgrades: np.ndarray) -> pd.DataFrame:
    """The Upgrades sheet's rows: cooling modules and power upgrades started, per candidate
    (`econ.cooling` and `econ.power` columns), with their capex."""
    portfolio = econ.portfolio
    start = portfolio.settings.start_quarter
    rows = []
    for kind, starts, units, rule in (("cooling", econ.cooling, modules, econ.rules.modules),
                                      ("power", econ.power, upgrades, econ.rules.upgrades)):
        for k in np.flatnonzero(units > 0):
            s, n = int(starts.site[k]), float(units[k])
            rows.append({
                "site": portfolio.site_names[s], "kind": kind,
                "start_quarter": add_quarters(start, int(starts.tau[k])), "units": int(n),
                "mw": n * float(rule.mw[k]),
                "online_quarter": add_quarters(start, int(starts.online[k])),
                "capex_musd": n * float(starts.capex[k].sum())})
    frame = pd.DataFrame(rows, columns=UPGRADE_COLUMNS)
    return frame.sort_values(["start_quarter", "site", "kind"], ignore_index=True)


def _cash_flows(v: Valuation, labels: list[str], budget_use: np.ndarray,
                conversion: Conversion | None = None) -> pd.DataFrame:
    net = v.net.sum(axis=0)
    discounted = net * v.discount
    equity = v.equity_cash_flow.sum(axis=0)
    frame = pd.DataFrame({
        "quarter": labels,
        "mining_margin_musd": v.mining_margin.sum(axis=0),
        "ai_revenue_musd": v.ai_revenue.sum(axis=0),
        "ai_opex_musd": v.ai_opex.sum(axis=0),
        "ai_power_musd": v.ai_power.sum(axis=0),
        "capex_musd": v.capex.sum(axis=0),
        "depreciation_musd": v.depreciation.sum(axis=0),
        "tax_musd": v.tax.sum(axis=0),
        "net_musd": net,
        "discount_factor": v.discount,
        "discounted_musd": discounted,
        "cumulative_discounted_musd": np.cumsum(discounted),
        "tenant_funded_capex_musd": v.tenant_capex.sum(axis=0),
        "prepayment_musd": v.prepayment.sum(axis=0),
        "equipment_capex_musd": v.equipment_capex.sum(axis=0),
        "flex_credit_musd": v.flex_credit.sum(axis=0),
        "debt_draw_musd": v.debt_draw.sum(axis=0),
        "interest_musd": v.interest.sum(axis=0),
        "principal_musd": v.principal.sum(axis=0),
        "debt_outstanding_musd": v.debt_balance.sum(axis=0),
        "equity_cash_flow_musd": equity,
        "equity_discounted_musd": equity * v.equity_discount,
    })
    if conversion is None:
        frame[CONVERSION_CASH_COLUMNS] = np.nan
    else:
        irr_flow = conversion.incremental_net.copy()
        irr_flow[-1] += conversion.incremental_terminal
        frame["mining_only_net_musd"] = conversion.mining_only_net
        frame["incremental_net_musd"] = conversion.incremental_net
        frame["incremental_irr_flow_musd"] = irr_flow
    frame["budget_use_musd"] = budget_use
    return frame[CASH_FLOW_COLUMNS]


def _capacity(usage: Usage, sites: list[str], labels: list[str]) -> pd.DataFrame:
    n_sites, horizon = usage.mining.shape
    frame = pd.DataFrame({
        "site": np.repeat(sites, horizon),
        "quarter": np.tile(labels, n_sites),
        "mining_mw": usage.mining.ravel(),
        "ai_it_mw_online": usage.ai_it_online.ravel(),
        "halls_building": (usage.halls_started - usage.halls_online).ravel().round(),
        "halls_hosting": usage.halls_online.ravel().round(),
        "power_used_mw": usage.power_used.ravel(),
        "power_available_mw": usage.power_available.ravel(),
        "cooling_used_mw": usage.cooling_used.ravel(),
        "cooling_available_mw": usage.cooling_available.ravel(),
    })
    frame[["halls_building", "halls_hosting"]] = frame[
        ["halls_building", "halls_hosting"]].astype(int)
    return frame[CAPACITY_COLUMNS]


def constraint_rows(econ: Economics, usage: Usage) -> pd.DataFrame:
    """Every limit of the model with the plan's use of it, in business words; each row's
    family is its constraint family's label in the model's registry (`models.conversion`)."""
    portfolio = econ.portfolio
    labels = portfolio.quarter_labels
    names = portfolio.site_names
    limits = econ.rules.limits
    rows: list[dict[str, Any]] = []
    # Halls are lumpy: a limit binds when its slack cannot take one more unit of the smallest
    # thing that uses it (the cheapest hall-quarter of budget, the smallest hall's MW, ...).
    steps = _smallest_steps(econ)

    def add(component: str, constraint: str, site: str, quarter: str, used: float,
            limit: float, sense: str = "<=", step: float = 0.0) -> None:
        slack = limit - used if sense == "<=" else used - limit
        tight = slack <= BINDING_TOLERANCE * max(1.0, abs(limit)) or slack < step - 1e-9
        rows.append({"constraint": constraint, "family": FAMILY[component].label,
                     "site": site, "quarter": quarter, "used": used, "limit": limit,
                     "slack": slack, "binding": bool(tight)})

    for s, site in enumerate(names):
        add("halls_per_site", f"Halls at {site}", site, "",
            float(usage.halls_started[s, -1]), float(limits.halls[s]), step=1.0)
        for t, q in enumerate(labels):
            add("site_power", f"Power at {site} in {q}", site, q, float(usage.power_used[s, t]),
                float(usage.power_available[s, t]))
            if usage.cooling_used[s, t] > 0:
                add("site_cooling", f"Cooling at {site} in {q}", site, q,
                    float(usage.cooling_used[s, t]), float(usage.cooling_available[s, t]),
                    step=float(steps["cooling"][s]))
    spent = limit = 0.0
    for t, q in enumerate(labels):
        if np.isfinite(limits.budget[t]):
            if limits.budget_carryover:
                spent, limit = spent + usage.budget_use[t], limit + limits.budget[t]
                add("capital_budget", f"Budget to date in {q}", "", q, spent, limit,
                    step=steps["budget"])
            else:
                add("capital_budget", f"Budget in {q}", "", q, float(usage.budget_use[t]),
                    float(limits.budget[t]), step=steps["budget"])
    it_online = usage.ai_it_online.sum(axis=0)
    mining = usage.mining.sum(axis=0)
    for component, cap, title, used, sense, step in (
            ("ai_demand_cap", limits.ai_demand_mw, "AI IT MW online", it_online, "<=",
             steps["it_mw"]),
            ("hall_starts_cap", limits.max_hall_starts, "Hall starts", usage.hall_starts, "<=",
             1.0),
            ("mining_floor", limits.min_mining_mw, "Mining floor", mining, ">=", 0.0)):
        for t, q in enumerate(labels):
            if np.isfinite(cap[t]):
                add(component, f"{title} in {q}", "", q, float(used[t]), float(cap[t]), sense,
                    step)
    return pd.DataFrame(rows, columns=CONSTRAINT_COLUMNS)


def _smallest_steps(econ: Economics) -> dict[str, Any]:
    """The smallest indivisible use of each lumpy limit: the smallest budget use of one hall in
    one quarter (budget), the smallest hall's IT MW (AI demand), each site's smallest hall
    cooling."""
    halls = econ.rules.halls
    n_sites = econ.rules.n_sites
    if not len(halls):
        return {"budget": 0.0, "it_mw": 0.0, "cooling": np.zeros(n_sites)}
    by_site = np.full(n_sites, np.inf)
    np.minimum.at(by_site, halls.site, halls.cooling_mw)
    rate = halls.budget_rate.rate
    return {"budget": float(rate[rate > 0].min()) if (rate > 0).any() else 0.0,
            "it_mw": float(halls.it_mw.min()),
            "cooling": np.where(np.isfinite(by_site), by_site, 0.0)}
