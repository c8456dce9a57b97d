"""Each constraint family, on its own, binds and changes the optimal plan the expected way.

The base case is one site (30 MW grid, 30 MW of miners, two 10 MW halls, 30 MW cooling), one
option dlc ($1M per IT MW, lead 2, PUE 1.25), 8 quarters of falling hashprice and a terminal
multiple of 4: unconstrained, both halls start at once (2027Q1). Each test tightens one rule
and asserts the decision that changes. Every plan is also checked against the independent
reference (`tests/reference.py`): it breaks no rule, it is valued at `plan.npv_musd`, and that
NPV is the enumerated optimum.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from reference import enumerate_best, evaluate_plan, make_portfolio, mismatches, option, site

from models.errors import InfeasibleError
from models.portfolio import Portfolio
from optimizer.plan import Plan
from optimizer.solve.optimize import optimize

HASHPRICE = [60.0, 55.0, 50.0, 45.0, 42.0, 40.0, 38.0, 36.0]
AIR = option("air", capex_musd_per_it_mw=0.8, lead_quarters=1, lease_usd_per_kw_month=120.0)
DLC = option("dlc", capex_musd_per_it_mw=1.0, lead_quarters=2, pue=1.15,
             lease_usd_per_kw_month=170.0)
UPGRADE_COOLING = {"cooling_mw": 0.0, "cooling_module_mw": 10.0,
                   "cooling_module_capex_musd": 0.5, "cooling_lead_quarters": 1}


def portfolio(site_values: dict[str, Any] | None = None,
              options: list[dict[str, Any]] | None = None, **values: Any) -> Portfolio:
    """The base case with some Sites values and some make_portfolio arguments changed."""
    row = {"grid_mw": 30.0, "mining_mw": 30.0, "halls": 2, **(site_values or {})}
    values.setdefault("hashprice", HASHPRICE)
    values.setdefault("terminal_value", "multiple")
    values.setdefault("terminal_multiple", 4.0)
    return make_portfolio(sites=[site("A", **row)],
                          options=options or [option("dlc", capex_musd_per_it_mw=1.0)],
                          horizon=8, **values)


def solve(p: Portfolio) -> Plan:
    """Optimize and check the plan against the reference and the enumerated optimum."""
    plan = optimize(p, time_limit=30, mip_gap=0.0)
    assert plan.status == "optimal"
    ev = evaluate_plan(plan)
    assert ev is not None, f"the plan breaks a rule:\n{plan.decisions}\n{plan.upgrades}"
    assert mismatches(plan, ev) == []
    best = enumerate_best(p)
    assert best is not None
    assert plan.npv_musd == pytest.approx(best.npv, rel=1e-6), (
        f"enumerated best {best.npv} with {best.starts} {best.cooling_starts} "
        f"{best.power_start}")
    return plan


def _units_by(frame: pd.DataFrame, kind: str, units: str) -> dict[tuple[str, str], int]:
    """{(kind, start quarter): units} summed over the rows of a plan frame."""
    return {key: int(n) for key, n in frame.groupby([kind, "start_quarter"])[units].sum().items()}


def starts(plan: Plan) -> dict[tuple[str, str], int]:
    """{(option, start quarter): halls} of a one-site plan."""
    return _units_by(plan.decisions, "option", "halls")


def upgrades(plan: Plan) -> dict[tuple[str, str], int]:
    """{(kind, start quarter): units}."""
    return _units_by(plan.upgrades, "kind", "units")


@pytest.fixture(scope="module")
def base_plan() -> Plan:
    return solve(portfolio())


def test_base_converts_both_halls_at_once(base_plan: Plan) -> None:
    assert starts(base_plan) == {("dlc", "2027Q1"): 2}
    assert len(base_plan.upgrades) == 0


def test_halls(base_plan: Plan) -> None:
    plan = solve(portfolio({"halls": 1}))
    assert starts(plan) == {("dlc", "2027Q1"): 1}


def test_power(base_plan: Plan) -> None:
    """20 MW of grid holds one hall (1.25 * 10 = 12.5 MW), not two (25 MW)."""
    plan = solve(portfolio({"grid_mw": 20.0}))
    assert starts(plan) == {("dlc", "2027Q1"): 1}
    assert list(plan.mining_mw.loc["A"]) == pytest.approx([7.5] * 8, abs=1e-6)


def test_cooling(base_plan: Plan) -> None:
    plan = solve(portfolio({"cooling_mw": 10.0}))
    assert starts(plan) == {("dlc", "2027Q1"): 1}


def test_cooling_modules_and_their_limit(base_plan: Plan) -> None:
    """No cooling of its own: each hall needs a 10 MW module online when the hall is."""
    two = solve(portfolio({**UPGRADE_COOLING, "max_cooling_modules": 2}))
    assert starts(two) == {("dlc", "2027Q1"): 2}
    assert upgrades(two) == {("cooling", "2027Q2"): 2}  # lead 1, online with the halls
    one = solve(portfolio({**UPGRADE_COOLING, "max_cooling_modules": 1}))
    assert starts(one) == {("dlc", "2027Q1"): 1}
    assert upgrades(one) == {("cooling", "2027Q2"): 1}


def test_power_upgrade_only_once() -> None:
    """15 MW grid + one 15 MW upgrade = 30 MW: two halls (25 MW), not three (37.5 MW) as a
    45 MW grid allows."""
    upgrade = {"grid_mw": 15.0, "mining_mw": 15.0, "halls": 3, "cooling_mw": 40.0,
               "power_upgrade_mw": 15.0, "power_upgrade_capex_musd": 1.0,
               "power_upgrade_lead_quarters": 1}
    plan = solve(portfolio(upgrade))
    assert starts(plan) == {("dlc", "2027Q1"): 1, ("dlc", "2027Q2"): 1}
    assert upgrades(plan) == {("power", "2027Q1"): 1}
    wide = solve(portfolio({**upgrade, "grid_mw": 45.0}))
    assert starts(wide) == {("dlc", "2027Q1"): 3}


def test_budget(base_plan: Plan) -> None:
    """$5M a quarter pays one hall's $5M quarterly capex: the second hall waits."""
    plan = solve(portfolio(quarters={"budget_musd": 5.0}))
    assert starts(plan) == {("dlc", "2027Q1"): 1, ("dlc", "2027Q3"): 1}
    assert max(plan.cash_flows["capex_musd"]) <= 5.0 + 1e-6


def test_budget_just_short() -> None:
    """$4.99M a quarter is just short of a hall's $5M quarterly capex: nothing is built."""
    plan = solve(portfolio(quarters={"budget_musd": 4.99}))
    assert starts(plan) == {}
    assert list(plan.cash_flows["capex_musd"]) == pytest.approx([0.0] * 8, abs=1e-9)


def test_budget_carryover() -> None:
    """$3M a quarter pays no $5M capex quarter; saved up, it pays two halls later."""
    plan = solve(portfolio(quarters={"budget_musd": 3.0}))
    assert starts(plan) == {}
    carried = solve(portfolio(quarters={"budget_musd": 3.0}, budget_carryover=True))
    assert starts(carried) == {("dlc", "2027Q3"): 1, ("dlc", "2028Q2"): 1}
    cumulative = carried.cash_flows["capex_musd"].cumsum()
    assert all(cumulative <= [3.0 * (t + 1) + 1e-6 for t in range(8)])


def test_hall_starts_cap(base_plan: Plan) -> None:
    plan = solve(portfolio(quarters={"max_hall_starts": 1}))
    assert starts(plan) == {("dlc", "2027Q1"): 1, ("dlc", "2027Q2"): 1}


def test_ai_demand_cap(base_plan: Plan) -> None:
    plan = solve(portfolio(quarters={"ai_demand_mw": 10.0}))
    assert starts(plan) == {("dlc", "2027Q1"): 1}


def test_mining_floor(base_plan: Plan) -> None:
    """Two halls would leave 5 MW of miners; a 15 MW floor keeps one hall's worth mining."""
    plan = solve(portfolio(quarters={"min_mining_mw": 15.0}))
    assert starts(plan) == {("dlc", "2027Q1"): 1}
    assert all(plan.mining_mw.loc["A"] >= 15.0 - 1e-6)


def test_mining_floor_runs_miners_at_a_loss() -> None:
    """At $15/PH/s/day the margin is negative (750 < 960 $/MW-day): miners idle unless a
    floor makes them run."""
    idle = solve(portfolio({"halls": 0}, hashprice=15.0))
    assert list(idle.mining_mw.loc["A"]) == pytest.approx([0.0] * 8, abs=1e-6)
    assert idle.npv_musd == pytest.approx(0.0, abs=1e-6)
    floored = solve(portfolio({"halls": 0}, hashprice=15.0, quarters={"min_mining_mw": 10.0}))
    assert list(floored.mining_mw.loc["A"]) == pytest.approx([10.0] * 8, abs=1e-6)
    loss = 10 * 91.3125 * (15 * 1000 / 20 - 24 * 40) / 1e6
    assert list(floored.cash_flows["mining_margin_musd"]) == pytest.approx([loss] * 8)


def test_commitment_start(base_plan: Plan) -> None:
    plan = solve(portfolio(commitments=[{"site": "A", "option": "dlc", "quarter": "2028Q1",
                                         "halls": 1, "action": "start"}]))
    assert starts(plan) == {("dlc", "2027Q1"): 1, ("dlc", "2028Q1"): 1}


def test_commitment_not_before(base_plan: Plan) -> None:
    plan = solve(portfolio(commitments=[{"site": "A", "quarter": "2027Q3",
                                         "action": "not_before"}]))
    assert starts(plan) == {("dlc", "2027Q3"): 2}


def test_earliest_start(base_plan: Plan) -> None:
    plan = solve(portfolio({"earliest_start": "2027Q4"}))
    assert starts(plan) == {("dlc", "2027Q4"): 2}


@pytest.fixture(scope="module")
def two_option_plan() -> Plan:
    return solve(portfolio(options=[AIR, DLC]))


def test_two_options_base(two_option_plan: Plan) -> None:
    assert starts(two_option_plan) == {("dlc", "2027Q1"): 2}


def test_commitment_exclude_option(two_option_plan: Plan) -> None:
    plan = solve(portfolio(options=[AIR, DLC],
                           commitments=[{"site": "A", "option": "dlc", "action": "exclude"}]))
    assert starts(plan) == {("air", "2027Q1"): 2}


def test_commitment_exclude_site(two_option_plan: Plan) -> None:
    plan = solve(portfolio(options=[AIR, DLC], commitments=[{"site": "A", "action": "exclude"}]))
    assert starts(plan) == {}
    assert list(plan.mining_mw.loc["A"]) == pytest.approx([30.0] * 8, abs=1e-6)


def test_site_options_not_allowed(two_option_plan: Plan) -> None:
    plan = solve(portfolio(options=[AIR, DLC],
                           site_options=[{"site": "A", "option": "dlc", "allowed": False}]))
    assert starts(plan) == {("air", "2027Q1"): 2}


def test_site_options_lease_multiplier(two_option_plan: Plan) -> None:
    plan = solve(portfolio(options=[AIR, DLC],
                           site_options=[{"site": "A", "option": "dlc",
                                          "lease_multiplier": 0.6}]))
    assert starts(plan) == {("air", "2027Q1"): 2}


def test_site_options_capex_multiplier(two_option_plan: Plan) -> None:
    plan = solve(portfolio(options=[AIR, DLC],
                           site_options=[{"site": "A", "option": "dlc",
                                          "capex_multiplier": 8.0}]))
    assert starts(plan) == {("air", "2027Q1"): 2}


def test_infeasible_floor_is_explained() -> None:
    """A 40 MW mining floor with 30 MW of miners: no plan; the reference agrees."""
    p = portfolio(quarters={"min_mining_mw": 40.0})
    assert enumerate_best(p) is None
    with pytest.raises(InfeasibleError) as err:
        optimize(p, time_limit=30, mip_gap=0.0)
    assert err.value.explanation, "an infeasible plan must say what to change"
