"""The MILP's optimum equals the best plan found by trying every plan (tiny instances).

Each instance is small enough for `tests.reference.enumerate_best` (an independent, plain-Python
evaluator) to try every combination of hall starts, cooling modules and power upgrades. For each
we check three things: the optimizer's NPV equals the enumerated optimum; the reference values
the optimizer's own decisions at exactly `plan.npv_musd` (so the plan is feasible and its NPV is
computed by the same rules); and every cash-flow line of the plan matches the reference.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pyomo.environ as pyo
import pytest
from pyomo.repn import generate_standard_repn
from reference import (
    enumerate_best,
    evaluate_plan,
    make_portfolio,
    mismatches,
    option,
    site,
    tables_of,
)

from models.conversion import build_model
from models.economics import build_economics
from models.portfolio import Portfolio
from optimizer.solve.highs import HighsRunner
from optimizer.solve.optimize import optimize

REL = 1e-6
# A falling hashprice ($/PH/s/day) so that when to convert matters.
HASHPRICE = [60.0, 55.0, 50.0, 45.0, 42.0, 40.0, 38.0, 36.0, 34.0, 32.0, 30.0, 28.0]
AIR = {"capex_musd_per_it_mw": 1.0, "lead_quarters": 1, "lease_usd_per_kw_month": 120.0}
DLC = {"capex_musd_per_it_mw": 1.5, "lead_quarters": 2, "pue": 1.15,
       "lease_usd_per_kw_month": 170.0}


def budget_two_options() -> Portfolio:
    """One site, air (cheap, fast) vs dlc (dear, better lease); a per-quarter budget binds."""
    return make_portfolio(
        sites=[site("A", grid_mw=30.0, halls=2)],
        options=[option("air", **AIR), option("dlc", **DLC)],
        horizon=8, hashprice=HASHPRICE[:8],
        quarters={"budget_musd": [8, 8, 12, 12, None, None, 5, 5]})


def carryover_two_sites_tax_tv() -> Portfolio:
    """Two sites, budget with carryover (one blank quarter), one start a quarter, tax with a
    fractional depreciation life (5.2 quarters) and a terminal multiple."""
    return make_portfolio(
        sites=[site("A", grid_mw=30.0, halls=2),
               site("B", grid_mw=25.0, mining_mw=25.0, halls=1, efficiency_j_per_th=16.0,
                    power_cost_usd_per_mwh=30.0)],
        options=[option("dlc", capex_musd_per_it_mw=3.0, lead_quarters=2)],
        horizon=10, hashprice=HASHPRICE[:10],
        quarters={"budget_musd": [10, 10, 10, 10, 10, None, 10, 10, 10, 10],
                  "max_hall_starts": [1] * 10},
        budget_carryover=True, tax_rate=0.25, depreciation_years=1.3,
        terminal_value="multiple", terminal_multiple=3.0)


def upgrades_mid_gordon() -> Portfolio:
    """One site short of cooling and power: cooling modules (at most 2) and a power upgrade
    decide how many halls fit; mid-quarter discounting and a Gordon terminal value."""
    return make_portfolio(
        sites=[site("A", grid_mw=20.0, mining_mw=20.0, halls=3, cooling_mw=10.0,
                    cooling_module_mw=10.0, cooling_module_capex_musd=2.0,
                    cooling_lead_quarters=1, max_cooling_modules=2,
                    power_upgrade_mw=20.0, power_upgrade_capex_musd=6.0,
                    power_upgrade_lead_quarters=3)],
        options=[option("dlc", capex_musd_per_it_mw=2.0, lead_quarters=2)],
        horizon=8, hashprice=HASHPRICE[:8], discounting="mid", terminal_value="gordon",
        terminal_growth=0.02, discount_rate=0.12)


def upgrades_under_budget() -> Portfolio:
    """The same site with a $10M quarterly budget: a hall (10 a quarter) cannot be built
    alongside a cooling module (2) or the power upgrade (2 a quarter), so the upgrades' capex
    decides the timing."""
    portfolio = upgrades_mid_gordon()
    portfolio.quarters["budget_musd"] = 10.0
    return portfolio


def demand_floor_owner_pays_power() -> Portfolio:
    """Two sites; AI demand cap and a mining floor bind; the owner pays AI power (power index
    rising), lease escalates from a lease index at delivery, ramp and opex."""
    return make_portfolio(
        sites=[site("A", grid_mw=30.0, halls=2),
               site("B", grid_mw=30.0, halls=2, power_cost_usd_per_mwh=25.0, uptime=0.9)],
        options=[option("dlc", capex_musd_per_it_mw=0.8, lead_quarters=2, lease_escalator=0.05,
                        ramp_quarters=2, opex_usd_per_kw_month=10.0, power_passthrough=False,
                        lease_usd_per_kw_month=230.0)],
        horizon=9, hashprice=HASHPRICE[:9],
        quarters={"ai_demand_mw": [None, None, None, 10, 10, 20, 20, 30, 30],
                  "min_mining_mw": [None] * 5 + [25.0] * 4,
                  "power_index": [1, 1, 1.1, 1.1, 1.2, 1.2, 1.3, 1.3, 1.3],
                  "lease_index": [1, 1, 1, 1.05, 1.05, 1.1, 1.1, 1.1, 1.1]})


def commitments_site_options() -> Portfolio:
    """A committed start before the site's earliest_start, a not_before on one option, an
    option not allowed at a site, and capex/lease multipliers."""
    return make_portfolio(
        sites=[site("A", grid_mw=30.0, halls=2, earliest_start="2027Q3"),
               site("B", grid_mw=30.0, halls=2)],
        options=[option("air", capex_musd_per_it_mw=0.8, lead_quarters=1,
                        lease_usd_per_kw_month=150.0),
                 option("dlc", **DLC)],
        site_options=[{"site": "A", "option": "air", "allowed": False},
                      {"site": "B", "option": "dlc", "capex_multiplier": 1.2,
                       "lease_multiplier": 0.9}],
        commitments=[{"site": "A", "option": "dlc", "quarter": 1, "halls": 1, "action": "start"},
                     {"site": "B", "option": "air", "quarter": 3, "action": "not_before"}],
        horizon=8, hashprice=HASHPRICE[:8])


def three_sites_floor_tax() -> Portfolio:
    """Three one-hall sites, a mining floor that binds late, budget with carryover, tax, an
    excluded site and a later earliest_start."""
    return make_portfolio(
        sites=[site("A", grid_mw=15.0, mining_mw=15.0, halls=1),
               site("B", grid_mw=15.0, mining_mw=15.0, halls=1, efficiency_j_per_th=25.0),
               site("C", grid_mw=15.0, mining_mw=15.0, halls=1, power_cost_usd_per_mwh=55.0,
                    earliest_start="2027Q2")],
        options=[option("dlc", capex_musd_per_it_mw=0.8, lead_quarters=2, ramp_quarters=2)],
        horizon=8, hashprice=HASHPRICE[:8],
        quarters={"min_mining_mw": [None, None, None, 15, 15, 15, 25, 25],
                  "budget_musd": [12] * 8},
        budget_carryover=True, tax_rate=0.3, depreciation_years=2.0,
        commitments=[{"site": "C", "action": "exclude"}])


def hall_begun_before_plan() -> Portfolio:
    """A hall started in the quarter before the plan (a `start` commitment at 2026Q4): half its
    capex is sunk, it reserves power from quarter 0 and depreciates in full; a second hall and a
    cooling module are free choices. Negative mining margin in the last quarters."""
    return make_portfolio(
        sites=[site("A", grid_mw=30.0, halls=2, cooling_mw=10.0, cooling_module_mw=10.0,
                    cooling_module_capex_musd=3.0, cooling_lead_quarters=2,
                    max_cooling_modules=1)],
        options=[option("dlc", capex_musd_per_it_mw=1.5, lead_quarters=2, ramp_quarters=2)],
        horizon=8, hashprice=[50.0, 45.0, 40.0, 35.0, 30.0, 25.0, 18.0, 15.0],
        quarters={"lease_index": [1.0, 1.1, 1.1, 1.2, 1.2, 1.2, 1.2, 1.2]},
        tax_rate=0.2, depreciation_years=1.0,
        commitments=[{"site": "A", "option": "dlc", "quarter": "2026Q4", "halls": 1,
                      "action": "start"}])


def halls_online_before_plan() -> Portfolio:
    """Two halls begun before the plan: one (2026Q2, lead 2) online since 2026Q4, mid-ramp and
    escalating from its delivery; one (2026Q4) with half its capex left. Its lease index is
    that of the first quarter for the hall delivered before the plan (no earlier index row)."""
    return make_portfolio(
        sites=[site("A", grid_mw=40.0, mining_mw=30.0, halls=3, cooling_mw=30.0)],
        options=[option("dlc", capex_musd_per_it_mw=1.5, lead_quarters=2, ramp_quarters=3,
                        lease_escalator=0.04, opex_usd_per_kw_month=8.0,
                        power_passthrough=False)],
        horizon=7, hashprice=[55.0, 50.0, 45.0, 40.0, 35.0, 30.0, 25.0],
        quarters={"lease_index": [1.3, 1.0, 1.0, 1.0, 1.1, 1.1, 1.1],
                  "budget_musd": [None, 10, 10, 10, None, None, None]},
        tax_rate=0.2, depreciation_years=1.5, terminal_value="multiple", terminal_multiple=5.0,
        commitments=[{"site": "A", "option": "dlc", "quarter": "2026Q2", "halls": 1,
                      "action": "start"},
                     {"site": "A", "option": "dlc", "quarter": "2026Q4", "halls": 1,
                      "action": "start"}])


INSTANCES: dict[str, Callable[[], Portfolio]] = {
    f.__name__: f for f in (budget_two_options, carryover_two_sites_tax_tv, upgrades_mid_gordon,
                            upgrades_under_budget,
                            demand_floor_owner_pays_power, commitments_site_options,
                            three_sites_floor_tax, hall_begun_before_plan,
                            halls_online_before_plan)
}


@pytest.mark.parametrize("name", list(INSTANCES))
def test_optimizer_matches_enumeration(name: str) -> None:
    portfolio = INSTANCES[name]()
    best = enumerate_best(portfolio)
    assert best is not None, "every instance here has a feasible plan"
    plan = optimize(portfolio, time_limit=60, mip_gap=0.0)
    assert plan.status == "optimal"
    assert plan.npv_musd == pytest.approx(best.npv, rel=REL), (
        f"{name}: optimizer {plan.npv_musd} vs enumerated {best.npv}; best plan "
        f"{best.starts} {best.cooling_starts} {best.power_start}; optimizer plan\n"
        f"{plan.decisions}\n{plan.upgrades}")
    ev = evaluate_plan(plan)
    assert ev is not None, f"{name}: the optimizer's plan breaks a rule:\n{plan.decisions}"
    assert mismatches(plan, ev) == []


@pytest.mark.parametrize("name", list(INSTANCES))
def test_both_budget_formulations_reach_the_enumerated_optimum(name: str) -> None:
    """The budget rows over the start variables (the default) and over the
    cumulative variables (kept for benchmarks) describe the same plans: same optimum."""
    portfolio = INSTANCES[name]()
    best = enumerate_best(portfolio)
    assert best is not None
    econ = build_economics(portfolio)
    for budget_over_starts in (True, False):
        model = build_model(econ, budget_over_starts=budget_over_starts)
        outcome = HighsRunner(model).solve(time_limit=60, mip_gap=0.0)
        assert outcome.status == "optimal"
        assert outcome.objective == pytest.approx(best.npv, rel=REL), budget_over_starts


@pytest.mark.parametrize("name", ["budget_two_options", "upgrades_under_budget"])
def test_budget_rows_are_knapsacks(name: str) -> None:
    """Each budget row has positive coefficients on integer variables only (what lets HiGHS's
    cover cuts apply; see models/conversion.py `budget_expression`)."""
    model = build_model(build_economics(INSTANCES[name]()))
    terms = 0
    for row in model.capital_budget.values():
        repn = generate_standard_repn(row.body)
        terms += len(repn.linear_vars)
        assert all(v.is_integer() for v in repn.linear_vars)
        assert all(pyo.value(c) > 0 for c in repn.linear_coefs)
    assert terms > 0


@pytest.mark.parametrize("name", list(INSTANCES))
def test_instances_are_valid_input_unchanged_by_validation(name: str) -> None:
    """The factory's frames are what a workbook with the same values validates to."""
    from optimizer.inputs.validation import portfolio_from_tables

    portfolio = INSTANCES[name]()
    again = portfolio_from_tables(tables_of(portfolio))
    assert again.settings == portfolio.settings
    for frame in ("sites", "options", "site_options", "quarters", "commitments"):
        pd.testing.assert_frame_equal(getattr(again, frame), getattr(portfolio, frame),
                                      check_dtype=False, check_index_type=False)
