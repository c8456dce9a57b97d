"""Turn decision arrays and their valuation into the Plan's DataFrames (no Pyomo here).

Capacity and constraint rows are recomputed from the decisions with numpy, the same way for a
solver's plan, a greedy plan or a plan read back from a report.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from models.economics import Economics, Starts, Valuation
from models.metrics import irr, payback, plan_metrics
from models.quarters import add_quarters
from optimizer.plan import (
    ANNUAL_COLUMNS,
    CAPACITY_COLUMNS,
    CASH_FLOW_COLUMNS,
    CONSTRAINT_COLUMNS,
    DECISION_COLUMNS,
    UPGRADE_COLUMNS,
)

BINDING_TOLERANCE = 1e-6


def _cumulative_by_site(econ: Economics, starts: Starts, units: np.ndarray,
                        weight: np.ndarray, delay: np.ndarray) -> np.ndarray:
    """(S, T): sum of units * weight of starts with start quarter + delay <= t."""
    horizon = econ.horizon
    out = np.zeros((len(econ.portfolio.sites), horizon + 1))
    when = starts.tau + delay
    chosen = units > 0
    if chosen.any():
        np.add.at(out, (starts.site[chosen], np.clip(when[chosen], 0, horizon)),
                  (units * weight)[chosen])
    return np.cumsum(out, axis=1)[:, :horizon]


def site_usage(econ: Economics, halls: np.ndarray, modules: np.ndarray, upgrades: np.ndarray,
               mining: np.ndarray) -> dict[str, np.ndarray]:
    """(S, T) arrays of every capacity quantity of a plan, by the rules of models/conversion."""
    portfolio = econ.portfolio
    sites, options = portfolio.sites, portfolio.options
    hall_mw = sites["hall_it_mw"].to_numpy(float)[econ.halls.site]
    pue = options["pue"].to_numpy(float)[econ.halls.option]
    cool = options["cooling_mw_per_it_mw"].to_numpy(float)[econ.halls.option]
    lead = econ.halls.online - econ.halls.tau
    zero = np.zeros(len(econ.halls), dtype=int)
    ones = np.ones(len(econ.halls))
    started = _cumulative_by_site(econ, econ.halls, halls, ones, zero)
    online = _cumulative_by_site(econ, econ.halls, halls, ones, lead)
    reserved = _cumulative_by_site(econ, econ.halls, halls, pue * hall_mw, zero)
    cooling_need = _cumulative_by_site(econ, econ.halls, halls, cool * hall_mw, lead)
    it_online = _cumulative_by_site(econ, econ.halls, halls, hall_mw, lead)
    module_mw = sites["cooling_module_mw"].fillna(0).to_numpy(float)[econ.cooling.site]
    upgrade_mw = sites["power_upgrade_mw"].fillna(0).to_numpy(float)[econ.power.site]
    added_cooling = _cumulative_by_site(econ, econ.cooling, modules, module_mw,
                                        econ.cooling.online - econ.cooling.tau)
    added_power = _cumulative_by_site(econ, econ.power, upgrades, upgrade_mw,
                                      econ.power.online - econ.power.tau)
    return {
        "halls_started": started, "halls_online": online,
        "power_used": mining + reserved,
        "power_available": sites["grid_mw"].to_numpy(float)[:, None] + added_power,
        "cooling_used": cooling_need,
        "cooling_available": sites["cooling_mw"].to_numpy(float)[:, None] + added_cooling,
        "ai_it_online": it_online, "mining": mining,
    }


def plan_frames(econ: Economics, halls: np.ndarray, modules: np.ndarray, upgrades: np.ndarray,
                mining: np.ndarray, valuation: Valuation) -> dict[str, Any]:
    """The DataFrame fields of a Plan (decisions, upgrades, cash flows, capacity, ...)."""
    portfolio = econ.portfolio
    labels = portfolio.quarter_labels
    site_names = portfolio.site_names
    usage = site_usage(econ, halls, modules, upgrades, mining)
    cash_flows = _cash_flows(valuation, labels)
    return {
        "decisions": _decisions(econ, halls),
        "upgrades": _upgrades(econ, modules, upgrades),
        "cash_flows": cash_flows,
        "equity_npv_musd": valuation.equity_npv,
        "deal_metrics": deal_metrics(valuation, labels),
        "annual": annual_frame(cash_flows),
        "beyond_horizon_sites": [
            name for name, npv, tv in zip(site_names, valuation.site_npv,
                                          valuation.discount[-1] * valuation.terminal_value,
                                          strict=True) if tv > 0.5 * npv and tv > 0],
        "terminal_value_musd": float(valuation.discount[-1] * valuation.terminal_value.sum()),
        "site_npv_musd": pd.Series(valuation.site_npv, index=pd.Index(site_names, name="site"),
                                   name="npv_musd"),
        "mining_mw": pd.DataFrame(mining, index=pd.Index(site_names, name="site"),
                                  columns=labels),
        "capacity": _capacity(usage, site_names, labels),
        "constraints": constraint_rows(econ, usage, halls, valuation),
    }


def _decisions(econ: Economics, halls: np.ndarray) -> pd.DataFrame:
    portfolio = econ.portfolio
    start = portfolio.settings.start_quarter
    hall_mw = portfolio.sites["hall_it_mw"].to_numpy(float)
    rows = []
    for c in np.flatnonzero(halls > 0):
        s, o, n = int(econ.halls.site[c]), int(econ.halls.option[c]), float(halls[c])
        rows.append({
            "site": portfolio.site_names[s], "option": portfolio.option_names[o],
            "start_quarter": add_quarters(start, int(econ.halls.tau[c])), "halls": int(n),
            "it_mw": n * hall_mw[s],
            "online_quarter": add_quarters(start, int(econ.halls.online[c])),
            "capex_musd": n * float(econ.halls.capex[c].sum()),
            "npv_musd": n * float(econ.halls.project_value[c]),
            **_start_metrics(econ, c, start)})
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


def deal_metrics(v: Valuation, labels: list[str]) -> pd.DataFrame:
    """The Summary's deal metrics (`METRIC_NAMES`), one row each: metric, value, unit, note.
    A blank value (NaN, or None for a quarter) has its reason in the note."""
    npv = v.npv
    m = plan_metrics(v.net.sum(axis=0), v.equity_cash_flow.sum(axis=0),
                     float(v.terminal_value.sum()), v.discount, v.equity_npv, npv)

    def quarter(t: int | None) -> str | None:
        return None if t is None else labels[t]

    rows = [
        ("project_irr", m.project_irr.annual, "per year",
         m.project_irr.note or "project net cash flows, terminal value in the last quarter"),
        ("equity_irr", m.equity_irr.annual, "per year",
         m.equity_irr.note or "equity cash flows, terminal value in the last quarter"),
        ("equity_npv_musd", m.equity_npv_musd, "$M",
         "equity cash flows at equity_discount_rate, terminal value included"),
        ("moic", m.moic, "x", "" if m.moic is not None else "no negative equity cash flow"),
        ("payback_quarter", quarter(m.payback_quarter), "quarter",
         m.payback_note or "cumulative project net cash flow back to >= 0 (TV excluded)"),
        ("discounted_payback_quarter", quarter(m.discounted_payback_quarter), "quarter",
         m.discounted_payback_note or "the same on discounted cash flows"),
        ("npv_beyond_horizon_share", m.npv_beyond_horizon_share, "fraction",
         "discounted terminal value / NPV"),
    ]
    frame = pd.DataFrame(rows, columns=["metric", "value", "unit", "note"])
    frame["value"] = [np.nan if x is None and u != "quarter" else
                      (float(x) if isinstance(x, (int, float, np.floating)) else x)
                      for x, u in zip(frame["value"], frame["unit"], strict=True)]
    return frame


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


def _upgrades(econ: Economics, modules: np.ndarray, upgrades: np.ndarray) -> pd.DataFrame:
    portfolio = econ.portfolio
    start = portfolio.settings.start_quarter
    sites = portfolio.sites
    rows = []
    for kind, starts, units, mw_col in (("cooling", econ.cooling, modules, "cooling_module_mw"),
                                        ("power", econ.power, upgrades, "power_upgrade_mw")):
        for k in np.flatnonzero(units > 0):
            s, n = int(starts.site[k]), float(units[k])
            rows.append({
                "site": portfolio.site_names[s], "kind": kind,
                "start_quarter": add_quarters(start, int(starts.tau[k])), "units": int(n),
                "mw": n * float(sites[mw_col].iloc[s]),
                "online_quarter": add_quarters(start, int(starts.online[k])),
                "capex_musd": n * float(starts.capex[k].sum())})
    frame = pd.DataFrame(rows, columns=UPGRADE_COLUMNS)
    return frame.sort_values(["start_quarter", "site", "kind"], ignore_index=True)


def _cash_flows(v: Valuation, labels: list[str]) -> pd.DataFrame:
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
    return frame[CASH_FLOW_COLUMNS]


def _capacity(usage: dict[str, np.ndarray], sites: list[str], labels: list[str]
              ) -> pd.DataFrame:
    n_sites, horizon = usage["mining"].shape
    frame = pd.DataFrame({
        "site": np.repeat(sites, horizon),
        "quarter": np.tile(labels, n_sites),
        "mining_mw": usage["mining"].ravel(),
        "ai_it_mw_online": usage["ai_it_online"].ravel(),
        "halls_building": (usage["halls_started"] - usage["halls_online"]).ravel().round(),
        "halls_hosting": usage["halls_online"].ravel().round(),
        "power_used_mw": usage["power_used"].ravel(),
        "power_available_mw": usage["power_available"].ravel(),
        "cooling_used_mw": usage["cooling_used"].ravel(),
        "cooling_available_mw": usage["cooling_available"].ravel(),
    })
    frame[["halls_building", "halls_hosting"]] = frame[
        ["halls_building", "halls_hosting"]].astype(int)
    return frame[CAPACITY_COLUMNS]


def constraint_rows(econ: Economics, usage: dict[str, np.ndarray], halls: np.ndarray,
                    valuation: Valuation) -> pd.DataFrame:
    """Every limit of the model with the plan's use of it, in business words."""
    portfolio = econ.portfolio
    labels = portfolio.quarter_labels
    names = portfolio.site_names
    quarters = portfolio.quarters
    rows: list[dict[str, Any]] = []
    # Halls are lumpy: a limit binds when its slack cannot take one more unit of the smallest
    # thing that uses it (the cheapest hall-quarter of capex, the smallest hall's MW, ...).
    steps = _smallest_steps(econ)

    def add(constraint: str, family: str, site: str, quarter: str, used: float, limit: float,
            sense: str = "<=", step: float = 0.0) -> None:
        slack = limit - used if sense == "<=" else used - limit
        tight = slack <= BINDING_TOLERANCE * max(1.0, abs(limit)) or slack < step - 1e-9
        rows.append({"constraint": constraint, "family": family, "site": site,
                     "quarter": quarter, "used": used, "limit": limit, "slack": slack,
                     "binding": bool(tight)})

    max_halls = portfolio.sites["halls"].to_numpy(float)
    for s, site in enumerate(names):
        add(f"Halls at {site}", "halls", site, "", float(usage["halls_started"][s, -1]),
            max_halls[s], step=1.0)
        for t, q in enumerate(labels):
            add(f"Power at {site} in {q}", "power", site, q, float(usage["power_used"][s, t]),
                float(usage["power_available"][s, t]))
            if usage["cooling_used"][s, t] > 0:
                add(f"Cooling at {site} in {q}", "cooling", site, q,
                    float(usage["cooling_used"][s, t]), float(usage["cooling_available"][s, t]),
                    step=float(steps["cooling"][s]))
    capex = valuation.capex.sum(axis=0)
    budget = quarters["budget_musd"].to_numpy(float)
    carry = portfolio.settings.budget_carryover
    spent = limit = 0.0
    for t, q in enumerate(labels):
        if np.isfinite(budget[t]):
            if carry:
                spent, limit = spent + capex[t], limit + budget[t]
                add(f"Budget to date in {q}", "budget", "", q, spent, limit,
                    step=steps["budget"])
            else:
                add(f"Budget in {q}", "budget", "", q, float(capex[t]), float(budget[t]),
                    step=steps["budget"])
    it_online = usage["ai_it_online"].sum(axis=0)
    mining = usage["mining"].sum(axis=0)
    starts = np.zeros(econ.horizon)
    live = (halls > 0) & (econ.halls.tau >= 0)
    np.add.at(starts, econ.halls.tau[live], halls[live])
    for column, family, title, used, sense, step in (
            ("ai_demand_mw", "AI demand", "AI IT MW online", it_online, "<=", steps["it_mw"]),
            ("max_hall_starts", "hall starts", "Hall starts", starts, "<=", 1.0),
            ("min_mining_mw", "mining floor", "Mining floor", mining, ">=", 0.0)):
        cap = quarters[column].to_numpy(float)
        for t, q in enumerate(labels):
            if np.isfinite(cap[t]):
                add(f"{title} in {q}", family, "", q, float(used[t]), float(cap[t]), sense,
                    step)
    return pd.DataFrame(rows, columns=CONSTRAINT_COLUMNS)


def _smallest_steps(econ: Economics) -> dict[str, Any]:
    """The smallest indivisible use of each lumpy limit: a quarter of the cheapest hall's
    capex (budget), the smallest hall's IT MW (AI demand), each site's smallest hall cooling."""
    halls = econ.halls
    if not len(halls):
        return {"budget": 0.0, "it_mw": 0.0, "cooling": np.zeros(len(econ.portfolio.sites))}
    sites, options = econ.portfolio.sites, econ.portfolio.options
    lead = (halls.online - halls.tau).astype(float)
    hall_mw = sites["hall_it_mw"].to_numpy(float)
    cooling = options["cooling_mw_per_it_mw"].to_numpy(float)[halls.option] * hall_mw[halls.site]
    by_site = np.full(len(sites), np.inf)
    np.minimum.at(by_site, halls.site, cooling)
    return {"budget": float((econ.hall_capex[halls.site, halls.option] / lead).min()),
            "it_mw": float(hall_mw[np.unique(halls.site)].min()),
            "cooling": np.where(np.isfinite(by_site), by_site, 0.0)}
