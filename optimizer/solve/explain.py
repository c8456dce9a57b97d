"""Why no plan exists, in business words: re-solve an elastic copy of the model.

Every business constraint (budget, site power and cooling, halls, caps, the mining floor,
committed starts) gets a non-negative slack; the elastic model minimises the total slack, so the
slacks it needs are the smallest changes that would make a plan possible. Definitions of the
cumulative variables stay hard: they are bookkeeping, not business limits.
"""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from models.cash_flows import Starts
from models.conversion import FAMILIES, FAMILY, build_model
from models.economics import Economics
from optimizer.money import money
from optimizer.solve.highs import HighsRunner
from optimizer.solve.options import SolverOptions
from optimizer.status import has_plan

# A Pyomo constraint index as the relaxed rows give it: a quarter or a site (int), a commitment's
# position, or (site, quarter) for the site rows. Pyomo ships no types; the component decides.
Key = Any

# Business limits (the registry's `relax_first` families) are relaxed first; commitments stay
# hard so the answer says which resource the commitments lack. Only if that cannot help are the
# commitments relaxed too.
RESOURCE_FAMILIES = tuple(f.component for f in FAMILIES if f.relax_first)
ALL_FAMILIES = tuple(f.component for f in FAMILIES)


def explain_infeasibility(econ: Economics, time_limit: float = 60.0) -> list[str]:
    """The smallest changes (by total slack) that would let a plan exist, one line each."""
    lines = _elastic(econ, RESOURCE_FAMILIES, time_limit)
    if lines is None:
        lines = _elastic(econ, ALL_FAMILIES, time_limit)
    if lines is None:
        return ["No relaxation of the business constraints helps: the data itself is "
                "contradictory (check commitments against lead times and the horizon)."]
    return lines or ["The solver reported infeasibility but the elastic model needs no change; "
                     "this suggests numerical trouble: please report the workbook."]


def _elastic(econ: Economics, families: tuple[str, ...], time_limit: float
             ) -> list[str] | None:
    """Minimise the total slack on `families`; None if even that model has no solution."""
    model = build_model(econ)
    model.npv.deactivate()
    relaxed: list[tuple[str, object, pyo.Var]] = []
    model.elastic = pyo.Block()
    for component in families:
        con = getattr(model, component, None)
        if con is None:
            continue
        for key, data in con.items():
            slack = pyo.Var(domain=pyo.NonNegativeReals)
            name = f"{component}_{len(relaxed)}"
            model.elastic.add_component(f"slack_{name}", slack)
            if data.upper is not None:
                model.elastic.add_component(
                    f"c_{name}", pyo.Constraint(expr=data.body - slack <= data.upper))
            else:
                model.elastic.add_component(
                    f"c_{name}", pyo.Constraint(expr=data.body + slack >= data.lower))
            data.deactivate()
            relaxed.append((component, key, slack))
    model.total_slack = pyo.Objective(expr=sum(s for _c, _k, s in relaxed), sense=pyo.minimize)
    outcome = HighsRunner(model).solve(SolverOptions(time_limit=time_limit, mip_gap=1e-6))
    if not has_plan(outcome.status):
        return None
    needed = [(component, key, float(pyo.value(slack))) for component, key, slack in relaxed
              if pyo.value(slack) is not None and pyo.value(slack) > 1e-6]
    return [_describe(econ, component, key, amount, last)
            for component, key, amount, last in _runs(needed)]


def _runs(needed: list[tuple[str, Key, float]]) -> list[tuple[str, Key, float, int]]:
    """Merge a site's power or cooling shortfall of the same size in consecutive quarters into
    one line (first key, amount, last quarter), so a missing 27.5 MW reads once, not per quarter.
    """
    out: list[tuple[str, Key, float, int]] = []
    for component, key, amount in needed:
        if component in ("site_power", "site_cooling") and out:
            prev_component, prev_key, prev_amount, prev_last = out[-1]
            s, t = key
            if (prev_component == component and prev_key[0] == s
                    and prev_last == t - 1 and abs(prev_amount - amount) <= 1e-6):
                out[-1] = (component, prev_key, prev_amount, t)
                continue
        last = key[1] if component in ("site_power", "site_cooling") else -1
        out.append((component, key, amount, last))
    return out


def _commitments_at(econ: Economics, site: str) -> str:
    """The start commitments at a site, as a phrase ("" if none)."""
    c = econ.portfolio.commitments
    rows = c[(c["action"] == "start") & (c["site"] == site)]
    parts = [f"start {int(r.halls)} hall(s) of "
             f"{r.option if isinstance(r.option, str) else 'any option'} in {r.quarter}"
             for r in rows.itertuples(index=False)]
    return ("Commitment(s) at " + site + " (" + "; ".join(parts) + "): ") if parts else ""


def _earliest_online(econ: Economics, starts: Starts, s: int) -> str:
    """When the first unit of an upgrade could count at site s, in words."""
    online = [int(o) for site, o in zip(starts.site, starts.online, strict=True)
              if site == s]
    if not online:
        return "the site has no such upgrade"
    return f"the earliest upgrade could count from {econ.portfolio.quarter_labels[min(online)]}"


def _describe(econ: Economics, component: str, key: Key, amount: float, last: int = -1
              ) -> str:
    """One business sentence for a constraint that must move by `amount` (site rows: in each
    quarter from the key's to `last`)."""
    portfolio = econ.portfolio
    labels = portfolio.quarter_labels
    sites = portfolio.site_names
    unit = FAMILY[component].unit if component in FAMILY else ""

    def site_q(k: Key) -> tuple[str, str]:
        s, t = k
        span = labels[t] if last <= t else f"{labels[t]} to {labels[last]}"
        return sites[s], span

    if component in ("site_power", "site_cooling"):
        site, q = site_q(key)
        s = sites.index(site)
        power = component == "site_power"
        what = ("grid power is needed than is available (grid_mw" if power else
                "cooling is needed than the site can have (cooling_mw")
        column = "grid_mw" if power else "cooling_mw"
        upgrades = econ.power if power else econ.cooling
        return (f"{_commitments_at(econ, site)}{'Power' if power else 'Cooling'} at {site} in "
                f"{q}: {amount:,.1f} {unit} more {what} "
                f"{portfolio.sites[column].iloc[s]:,.0f} MW; "
                f"{_earliest_online(econ, upgrades, s)}).")
    if component == "capital_budget":
        return (f"Budget in {labels[key]}: committed spending exceeds the budget by "
                f"{money(amount)} (raise budget_musd, or set budget_carryover).")
    if component == "ai_demand_cap":
        return (f"AI demand in {labels[key]}: {amount:,.1f} {unit} more than tenants will "
                "lease (ai_demand_mw) would be online.")
    if component == "mining_floor":
        return (f"Mining floor in {labels[key]}: the portfolio can mine {amount:,.1f} {unit} "
                "less than min_mining_mw.")
    if component == "start_commitments":
        rows = portfolio.commitments[portfolio.commitments["action"] == "start"]
        row = rows[rows["quarter"].map(portfolio.t_of) >= 0].iloc[int(key)]
        what = row["option"] if isinstance(row["option"], str) else "any option"
        return (f"Commitment: start {int(row['halls'])} hall(s) of {what} at {row['site']} in "
                f"{row['quarter']} cannot be honoured; {amount:,.0f} fewer hall(s) would fit.")
    if component == "halls_per_site":
        return f"Halls at {sites[key]}: {amount:,.0f} more halls than the site has are committed."
    if component == "debt_service_coverage" and econ.rules.coverage is not None:
        cov = econ.rules.coverage
        return (f"Debt service coverage in {cov.years[int(key)]}: CFADS falls "
                f"{amount:,.1f} {unit} short of min_dscr ({cov.min_dscr:g}) x debt service "
                "(lower min_dscr or debt_ltc, or lengthen debt_tenor_years).")
    if component == "hall_starts_cap":
        return (f"Hall starts in {labels[key]}: {amount:,.0f} more starts than max_hall_starts "
                "are committed.")
    return f"{component}[{key}] must move by {amount:,.2f} {unit}."
