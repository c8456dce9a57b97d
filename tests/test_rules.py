"""The rules' data layer (models/rules.py) is the model: for random plans, feasible or not, every
row of the Pyomo model evaluated at the plan equals what `Rules.rows` says of it.

Portfolios are drawn as in test_properties (1-2 sites and options, upgrades, budgets with and
without carryover, caps, floors), with optional start commitments in the plan and before it.
Plans are random units per candidate (often breaking limits) and random mining. Each family
of the registry is compared row by row: body - bound in the model against used - limit in the
layer (`Rules.rows`), the covenant's rows also against the plan's valuation; the cumulative
definitions hold at the plan's cumulative values; the objective equals `evaluate`'s NPV; the
rows' matrix form (`Rules.linear_rows`, which the decomposition's site and coupling rows are
built from) gives each plan's rows. A family added to the registry without rows in the layer
fails.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from reference import tables_of
from support import tiny_tables
from test_properties import portfolios

from benchmarks.generate import make_tables
from models.conversion import FAMILIES, build_model, markdown
from models.decisions import Decisions
from models.economics import Economics, build_economics, evaluate
from models.errors import InputError
from models.portfolio import Portfolio
from models.rules import Rules, Usage, offset_table
from optimizer.inputs.validation import portfolio_from_tables
from optimizer.solve.greedy import greedy_plan

RowExcess = dict[Any, float]  # {row key: how far past its limit the row is (<= 0: it holds)}


def _layer_rows(rules: Rules, u: Usage) -> dict[str, RowExcess]:
    """Per family, {row key: used - limit for <=, limit - used for >=} (<= 0 when the row
    holds), from the layer only (`Rules.rows`)."""
    return {name: rows.excess() for name, rows in rules.rows(u).items()}


def _coverage_rows(econ: Economics, d: Decisions) -> RowExcess:
    """{year index: k DS_y - CFADS_y} from the plan's valuation (not from the covenant's
    coefficients): <= 0 when the covenant holds; no rows without min_dscr."""
    cov = econ.rules.coverage
    if cov is None:
        return {}
    v = evaluate(econ, d)
    cfads, service = v.cfads.sum(axis=0), v.debt_service.sum(axis=0)
    return {y: cov.min_dscr * service[cov.year_of == y].sum() - cfads[cov.year_of == y].sum()
            for y in range(len(cov.years))}


def _model_rows(con: pyo.Constraint) -> RowExcess:
    """{row key: body - upper} for <= rows, {key: lower - body} for >= rows, at the values."""
    out: RowExcess = {}
    for key, row in con.items():
        body = pyo.value(row.body)
        out[key] = (body - pyo.value(row.upper) if row.has_ub()
                    else pyo.value(row.lower) - body)
    return out


def _set_plan(m: pyo.ConcreteModel, econ: Economics, d: Decisions) -> None:
    """Every variable of the model at the plan, cumulative ones by their definitions."""
    rules, idx = econ.rules, m.index
    for var, units in ((m.halls_started, d.halls), (m.modules_started, d.modules),
                       (m.upgrade_started, d.upgrades)):
        for i in var:
            var[i].set_value(float(units[i]), skip_validation=True)
    for (s, t), var in m.mining_mw.items():
        var.set_value(float(d.mining[s, t]), skip_validation=True)
    for (p, t), var in m.started_by.items():
        mine = (rules.halls.pair == p) & (rules.halls.tau <= t)
        var.set_value(float(d.halls[mine].sum()), skip_validation=True)
    for cum, kind, units in ((m.modules_by, rules.modules, d.modules),
                             (m.upgrade_by, rules.upgrades, d.upgrades)):
        for (s, t), var in cum.items():
            mine = (kind.site == s) & (kind.tau <= t)
            var.set_value(float(units[mine].sum()), skip_validation=True)
    if hasattr(m, "spend_to_date"):
        use = rules.usage(d).budget_use
        for t, var in m.spend_to_date.items():
            var.set_value(float(use[[u for u in m.spend_to_date if u <= t]].sum()),
                          skip_validation=True)
    assert idx.pairs == rules.pairs


@st.composite
def cases(draw: st.DrawFn) -> tuple[Portfolio, int]:
    """A portfolio (with optional commitments) and a seed for the random plans."""
    portfolio = draw(portfolios())
    if draw(st.booleans()):  # the covenant, with debt, idle power and mining opex
        sites = portfolio.sites.copy()
        sites["idle_power_value_usd_per_mw_year"] = draw(st.sampled_from([0.0, 40_000.0]))
        sites["mining_opex_usd_per_mw_year"] = draw(st.sampled_from([0.0, 90_000.0]))
        settings_ = dataclasses.replace(
            portfolio.settings, min_dscr=draw(st.sampled_from([0.5, 1.3])),
            debt_ltc=draw(st.sampled_from([0.0, 0.6])), debt_rate=0.08, debt_tenor_years=1.0)
        portfolio = portfolio.replace(sites=sites, settings=settings_)
    option = portfolio.option_names[0]
    rows = []
    if draw(st.booleans()):
        rows.append({"site": "A", "option": draw(st.sampled_from([option, None])),
                     "quarter": portfolio.quarter_labels[draw(st.integers(0, 1))],
                     "halls": 1, "action": "start"})
    if draw(st.booleans()):  # a hall begun before the plan
        rows.append({"site": portfolio.site_names[-1], "option": option, "quarter": "2026Q4",
                     "halls": 1, "action": "start"})
    if rows:
        tables = tables_of(portfolio)
        tables["Commitments"] = pd.DataFrame(rows, dtype=object)
        try:
            portfolio = portfolio_from_tables(tables)
        except InputError:
            assume(False)
    return portfolio, draw(st.integers(0, 2**31 - 1))


def random_plans(econ: Economics, seed: int, n: int) -> list[Decisions]:
    """Random units per candidate (sparse; often past the limits) and random mining."""
    rng = np.random.default_rng(seed)
    rules = econ.rules
    plans = []
    for _ in range(n):
        def units(size: int, high: int) -> np.ndarray:
            return np.where(rng.random(size) < 0.3, rng.integers(0, high + 1, size), 0)

        halls = units(len(rules.halls), 2).astype(float)
        fixed = econ.fixed_halls > 0
        halls[fixed] = econ.fixed_halls[fixed]
        mining = rng.random(econ.mining_margin.shape) * rules.limits.mining_mw[:, None]
        plans.append(Decisions(halls, units(len(rules.modules), 2).astype(float),
                               units(len(rules.upgrades), 1).astype(float), mining))
    plans.append(Decisions(np.where(econ.fixed_halls > 0, econ.fixed_halls, 0.0),
                           np.zeros(len(rules.modules)), np.zeros(len(rules.upgrades)),
                           np.zeros_like(econ.mining_margin)))
    return plans


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.filter_too_much])
@given(cases())
def test_layer_usage_equals_every_pyomo_row(case: tuple[Portfolio, int]) -> None:
    portfolio, seed = case
    econ = build_economics(portfolio)
    model = build_model(econ)
    families = {f.component for f in FAMILIES}
    for d in random_plans(econ, seed, 4):
        _set_plan(model, econ, d)
        layer = _layer_rows(econ.rules, econ.rules.usage(d))
        valued = _coverage_rows(econ, d)  # the covenant's rows by the valuation, too
        assert set(valued) == set(layer["debt_service_coverage"])
        for y, short in valued.items():
            assert layer["debt_service_coverage"][y] == pytest.approx(short, abs=1e-9)
        assert set(layer) == families, "a registry family has no layer counterpart here"
        for component in families:
            rows = _model_rows(getattr(model, component))
            for key, value in rows.items():
                assert value == pytest.approx(layer[component][key], abs=1e-9), (component, key)
            for key in set(layer[component]) - set(rows):  # rows the model leaves out ...
                assert layer[component][key] <= 1e-9, (component, key)  # ... always hold
        for name in ("started_by_definition", "modules_by_definition",
                     "upgrade_by_definition", "spend_to_date_definition"):
            for row in getattr(model, name, {}).values() if hasattr(model, name) else []:
                assert pyo.value(row.body) == pytest.approx(pyo.value(row.upper), abs=1e-9)
        assert pyo.value(model.npv) == pytest.approx(evaluate(econ, d).npv, rel=1e-9, abs=1e-9)
    _check_linear_rows(econ, random_plans(econ, seed, 4))


def _check_linear_rows(econ: Economics, plans: list[Decisions]) -> None:
    """`Rules.linear_rows` with the plans as directions: row i's coefficient on plan j, less
    its bound, is plan j's excess in `Rules.rows` (its sign flipped for a >= row), for every
    row of every family: the matrix form is the rows, not a second writing of them."""
    rules = econ.rules
    stacked = Decisions(*(np.stack([getattr(d, f) for d in plans], axis=-1)
                          for f in ("halls", "modules", "upgrades", "mining")))
    families = [f.component for f in FAMILIES]
    linear = rules.linear_rows(families, stacked)
    for j, d in enumerate(plans):
        layer = rules.rows(rules.usage(d))
        excess = [layer[f].excess()[k] for f, k in zip(linear.family, linear.keys, strict=True)]
        mine = np.where(np.isfinite(linear.upper), linear.matrix[:, j] - linear.upper,
                        linear.lower - linear.matrix[:, j])
        np.testing.assert_allclose(mine, excess, rtol=1e-9, atol=1e-9)


def test_budget_use_that_depends_on_more_than_the_offset_is_refused() -> None:
    """The per-(group, offset) budget coefficients are only valid if every candidate of a group
    spends the same shifted row; the layer asserts it when built."""
    group, tau = np.array([0, 0]), np.array([0, 1])
    good = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    assert offset_table(group, tau, good, 1, "x").rate.tolist() == [[1.0, 1.0, 0.0]]
    bad = np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 1.0]])
    with pytest.raises(AssertionError, match="not a function of its group"):
        offset_table(group, tau, bad, 1, "x")


def test_budget_rows_read_the_layer() -> None:
    """Each budget coefficient of the model is the layer's per-offset rate: capex / lead in
    each building quarter of a hall (tiny portfolio: dlc lead 4, air lead 2)."""
    econ = build_economics(portfolio_from_tables(tiny_tables()))
    model = build_model(econ)
    rules = econ.rules
    for name, kind in (("hall_budget_rate", rules.halls), ("module_budget_rate", rules.modules),
                       ("upgrade_budget_rate", rules.upgrades)):
        table = kind.budget_rate.rate
        entries = dict(getattr(model, name).items())
        assert entries and len(entries) == int((table > 0).sum())
        for (g, d), param in entries.items():
            assert pyo.value(param) == table[g, d] > 0
    for p, (s, o) in enumerate(rules.pairs):
        lead = int(econ.portfolio.options["lead_quarters"].iloc[o])
        assert rules.pair_lead[p] == lead
        assert rules.halls.budget_rate.offsets(p) == list(range(lead))[::-1]
        assert rules.halls.budget_rate.rate[p].sum() == pytest.approx(econ.hall_capex[s, o])


def test_markdown_lists_every_family() -> None:
    text = markdown()
    for family in FAMILIES:
        assert f"`{family.component}`" in text and f"`{family.builder.__name__}`" in text


def test_negative_budget_use_is_refused() -> None:
    """Budget rows must stay knapsacks over the start variables (positive coefficients)."""
    with pytest.raises(AssertionError, match="negative"):
        offset_table(np.array([0]), np.array([0]), np.array([[1.0, -0.5]]), 1, "x")


def test_budget_rows_by_hand() -> None:
    """Budget 10, blank, 5, 5 against a use of 12, 100, 1, 2 ($M): per quarter the first row is
    2 over and the blank quarter has no row; carried over, the use to date 12, 13, 15 meets
    the budget to date 10, 15, 20 (2 over, then 2 and 5 under)."""
    econ = build_economics(portfolio_from_tables(tiny_tables()))
    budget = np.array([10.0, np.nan, 5.0, 5.0])
    use = np.array([12.0, 100.0, 1.0, 2.0])
    for carry, excess, window in ((False, {0: 2.0, 2: -4.0, 3: -3.0}, [3]),
                                  (True, {0: 2.0, 2: -2.0, 3: -5.0}, [0, 2, 3])):
        lim = dataclasses.replace(econ.rules.limits, budget=budget, budget_carryover=carry)
        rows = lim.budget_rows(use)
        assert rows.excess() == pytest.approx(excess)
        assert not rows.holds() and rows.holds(2.0)
        assert lim.budget_quarters(3) == window


def _generated(carryover: bool, seed: int) -> Portfolio:
    """A generated portfolio (3 sites, 10 quarters) with a binding quarterly budget, caps at
    60% of their level, optionally the budget carried over."""
    tables = make_tables(3, 10, seed)
    q = tables["Quarters"]
    q["max_hall_starts"] = 1
    q["ai_demand_mw"] = q["ai_demand_mw"] * 0.6
    if carryover:
        tables["Settings"].loc[len(tables["Settings"])] = ["budget_carryover", True]
    return portfolio_from_tables(tables)


@pytest.mark.parametrize(("carryover", "seed"), [(False, 2), (True, 3), (False, 4), (True, 5)])
def test_greedy_plans_hold_every_row_of_the_layer(carryover: bool, seed: int) -> None:
    """The greedy's feasibility test reads the layer's rows: the plan it returns holds every
    family's rows (to 1e-6 of each limit; the covenant's to 1e-6 of the year's quarterly
    |CFADS|, the scale the greedy's own check uses), mining dispatched; and the budget binds
    (within one quarter's use of a hall) in some quarter, so the test sees the budget rows."""
    econ = build_economics(_generated(carryover, seed))
    plan = greedy_plan(econ)
    assert plan is not None
    rows = econ.rules.rows(econ.rules.usage(plan.decisions))
    cov = econ.rules.coverage
    for name, family in rows.items():
        scale = np.maximum(1.0, np.abs(family.limit))
        if name == "debt_service_coverage" and cov is not None:
            scale = np.maximum(scale, cov.by_year(np.abs(plan.valuation.cfads.sum(axis=0))))
        assert family.holds(1e-6 * scale), (name, family.excess())
    rate = econ.rules.halls.budget_rate.rate
    assert (rows["capital_budget"].slack < rate[rate > 0].max()).any()


@pytest.mark.parametrize("seed", [2, 7])
def test_adding_units_one_at_a_time_gives_the_plans_usage(seed: int) -> None:
    """`Rules.add_units`, the greedy's update, adds up to `Rules.usage` of the whole plan on
    every field it keeps, units added and taken away in random order."""
    econ = build_economics(portfolio_from_tables(make_tables(4, 12, seed)))
    rules = econ.rules
    rng = np.random.default_rng(seed)
    u = rules.empty_usage()
    plan = rules.zero_plan()
    for _ in range(60):
        kind = str(rng.choice(["hall", "module", "upgrade"]))
        units = {"hall": plan.halls, "module": plan.modules, "upgrade": plan.upgrades}[kind]
        if not len(units):
            continue
        k, n = int(rng.integers(len(units))), float(rng.choice([1.0, 2.0, -1.0]))
        units[k] += n
        rules.add_units(u, kind, k, n)
    want = rules.usage(plan)
    for field in ("halls_started", "reserved_mw", "power_available", "cooling_used",
                  "cooling_available", "ai_it_online", "modules", "upgrades", "budget_use",
                  "hall_starts"):
        np.testing.assert_allclose(getattr(u, field), getattr(want, field), atol=1e-9,
                                   err_msg=field)
