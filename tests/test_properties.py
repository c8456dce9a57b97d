"""Random tiny portfolios: every plan the optimizer returns obeys every rule and is valued right.

For each drawn portfolio (1-2 sites, 1-2 options, 5-8 quarters, optional upgrades, budgets,
caps, floors, tax, terminal value, discounting), the plan is checked by the independent
reference (`tests/reference.py`): it breaks no rule, its NPV and cash flows are the
reference's, and when the instance is small enough to enumerate, its NPV is the optimum.
An `InfeasibleError` is accepted only if enumeration finds no plan either.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import (
    count_plans,
    enumerate_best,
    evaluate_plan,
    make_portfolio,
    mismatches,
    option,
    site,
)

from models.errors import InfeasibleError
from models.portfolio import Portfolio
from optimizer.solve.optimize import optimize

ENUMERATE_AT_MOST = 10_000  # plans; above this only feasibility and valuation are checked


def maybe(draw: st.DrawFn, value: st.SearchStrategy[Any], p_none: float = 0.6) -> Any:
    """None with about probability p_none, else a drawn value."""
    return None if draw(st.integers(0, 9)) < p_none * 10 else draw(value)


@st.composite
def portfolios(draw: st.DrawFn) -> Portfolio:
    horizon = draw(st.integers(5, 8))
    n_sites = draw(st.integers(1, 2))
    n_options = draw(st.integers(1, 2))
    sites = []
    for i in range(n_sites):
        grid = draw(st.sampled_from([10.0, 15.0, 20.0, 30.0]))
        row: dict[str, Any] = {
            "grid_mw": grid,
            "mining_mw": draw(st.sampled_from([0.5, 0.8, 1.0])) * grid,
            "efficiency_j_per_th": draw(st.sampled_from([16.0, 20.0, 25.0])),
            "power_cost_usd_per_mwh": draw(st.sampled_from([25.0, 40.0, 55.0])),
            "uptime": draw(st.sampled_from([1.0, 0.9])),
            "halls": draw(st.integers(1, 2)),
            "hall_it_mw": draw(st.sampled_from([5.0, 10.0])),
            "cooling_mw": draw(st.sampled_from([0.0, 10.0, 20.0, 40.0])),
            "earliest_start": f"2027Q{draw(st.integers(1, 3))}",
        }
        if draw(st.booleans()):
            row.update(cooling_module_mw=10.0,
                       cooling_module_capex_musd=draw(st.sampled_from([0.5, 2.0])),
                       cooling_lead_quarters=draw(st.integers(1, 2)), max_cooling_modules=1)
        if draw(st.booleans()):
            row.update(power_upgrade_mw=draw(st.sampled_from([5.0, 15.0])),
                       power_upgrade_capex_musd=draw(st.sampled_from([1.0, 3.0])),
                       power_upgrade_lead_quarters=draw(st.integers(1, 3)))
        sites.append(site("AB"[i], **row))
    options = [option(name,
                      capex_musd_per_it_mw=draw(st.sampled_from([0.5, 1.0, 2.0])),
                      lead_quarters=draw(st.integers(1, 2)),
                      pue=draw(st.sampled_from([1.1, 1.3])),
                      cooling_mw_per_it_mw=draw(st.sampled_from([0.5, 1.0])),
                      lease_usd_per_kw_month=draw(st.sampled_from([100.0, 150.0, 200.0])),
                      lease_escalator=draw(st.sampled_from([0.0, 0.03])),
                      ramp_quarters=draw(st.integers(1, 2)),
                      opex_usd_per_kw_month=draw(st.sampled_from([0.0, 10.0])),
                      power_passthrough=draw(st.booleans()))
               for name in ["air", "dlc"][:n_options]]
    site_options = []
    if n_options == 2 and draw(st.booleans()):
        site_options.append({"site": "A", "option": "dlc",
                             "allowed": draw(st.booleans()),
                             "lease_multiplier": draw(st.sampled_from([0.8, 1.2]))})
    per_q = st.lists(st.sampled_from([10.0, 20.0]), min_size=horizon, max_size=horizon)
    quarters: dict[str, Any] = {
        "budget_musd": maybe(draw, st.lists(st.sampled_from([None, 5.0, 10.0, 20.0]),
                                            min_size=horizon, max_size=horizon)),
        "ai_demand_mw": maybe(draw, per_q),
        "max_hall_starts": maybe(draw, st.just(1.0)),
        "min_mining_mw": maybe(draw, st.sampled_from([5.0, 10.0])),
        "power_index": maybe(draw, st.lists(st.sampled_from([0.8, 1.0, 1.2]), min_size=horizon,
                                            max_size=horizon), 0.5),
    }
    hashprice = draw(st.lists(st.sampled_from([20.0, 35.0, 50.0, 65.0]), min_size=horizon,
                              max_size=horizon))
    tv = draw(st.sampled_from(["none", "multiple", "gordon"]))
    return make_portfolio(
        sites=sites, options=options, horizon=horizon, hashprice=hashprice,
        quarters={k: v for k, v in quarters.items() if v is not None},
        site_options=site_options,
        discount_rate=draw(st.sampled_from([0.08, 0.12])),
        discounting=draw(st.sampled_from(["end", "mid"])),
        tax_rate=draw(st.sampled_from([0.0, 0.25])),
        depreciation_years=draw(st.sampled_from([1.0, 2.5])),
        budget_carryover=draw(st.booleans()),
        terminal_value=tv,
        terminal_multiple=4.0 if tv == "multiple" else None,
        terminal_growth=0.02 if tv == "gordon" else None)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(portfolios())
def test_every_plan_obeys_the_rules_and_is_valued_right(portfolio: Portfolio) -> None:
    small = count_plans(portfolio) <= ENUMERATE_AT_MOST
    best = enumerate_best(portfolio) if small else None
    try:
        plan = optimize(portfolio, time_limit=30, mip_gap=0.0)
    except InfeasibleError:
        assert small and best is None, "the optimizer says infeasible, enumeration disagrees"
        return
    ev = evaluate_plan(plan)
    assert ev is not None, f"plan breaks a rule:\n{plan.decisions}\n{plan.upgrades}"
    assert mismatches(plan, ev) == []
    if small:
        assert best is not None
        assert plan.status == "optimal"
        assert plan.npv_musd == pytest.approx(best.npv, rel=1e-6), (
            f"enumerated best {best.npv}: {best.starts} {best.cooling_starts} "
            f"{best.power_start}")


def without_deal_terms(portfolio: Portfolio) -> Portfolio:
    """The portfolio with every deal column back at its blank default (docs/economics.md: the
    economics are then unchanged), which is what the reference implementation values."""
    import dataclasses

    options = portfolio.options.copy()
    for column, default in (("lease_term_years", np.nan), ("renewal_probability", 1.0),
                            ("vacancy_quarters", 4), ("tenant_capex_share", 0.0),
                            ("prepaid_quarters", 0.0), ("equipment_capex_musd_per_it_mw", 0.0),
                            ("equipment_life_years", np.nan), ("opex_escalator", 0.0)):
        options[column] = default
    sites = portfolio.sites.assign(flex_credit_usd_per_kw_year=0.0,
                                   mining_opex_usd_per_mw_year=0.0,
                                   idle_power_value_usd_per_mw_year=0.0)
    settings = dataclasses.replace(
        portfolio.settings, terminal_value="multiple", debt_ltc=0.0, debt_rate=None,
        debt_tenor_years=None, equity_discount_rate=None, objective="project_npv",
        budget_basis="capex", min_dscr=None)
    # The budget was the owner's equity beside its debt: as a capex budget, scaled by
    # 1 / (1 - debt_ltc), it buys what it bought.
    ltc = float(portfolio.settings.debt_ltc or 0.0)
    quarters = portfolio.quarters.assign(
        budget_musd=portfolio.quarters["budget_musd"] / (1.0 - ltc)
        if portfolio.settings.budget_basis == "equity" else portfolio.quarters["budget_musd"])
    return portfolio.replace(options=options, sites=sites, settings=settings,
                             quarters=quarters)


def test_sample_workbook_plan_obeys_the_rules_and_is_valued_right() -> None:
    """The shipped sample (10 sites, 4 options, 40 quarters) with its deal terms left out (the
    reference knows the base economics; the deal terms are checked by hand in
    tests/test_deal_hand.py): whatever plan 10 s of solving gives, the reference finds it
    feasible and values it, line by line, at plan.npv_musd."""
    from pathlib import Path

    import optimizer

    sample = Path(__file__).resolve().parents[1] / "inputs" / "sample_portfolio.xlsx"
    portfolio = without_deal_terms(optimizer.load_portfolio(str(sample)))
    plan = optimize(portfolio, time_limit=10, mip_gap=1e-3)
    assert plan.status in ("optimal", "feasible")
    assert len(plan.decisions) > 0
    ev = evaluate_plan(plan)
    assert ev is not None, f"plan breaks a rule:\n{plan.decisions}\n{plan.upgrades}"
    assert mismatches(plan, ev) == []
