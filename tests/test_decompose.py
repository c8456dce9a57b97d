"""The Dantzig-Wolfe decomposition (optimizer/solve/decompose/) against the monolithic MILP.

Small seeded instances from `benchmarks.generate.make_tables` (2-4 sites, 8-12 quarters, a
binding quarterly budget, the hall-start and AI-demand caps), varied one rule at a time: budget
carryover, a tight start cap, a mining floor, start commitments (one in the plan, one begun
before it). On each:
- run to gap 0, the decomposition's NPV equals the monolithic optimum (mip_gap 0) within 1e-6;
- its bound is never below that optimum, also when stopped early (iteration or time limit,
  no final monolithic polish), and its plan is feasible and valued at its objective;
- the reduced costs the pricers see are value - pi . (coupling-row use) for any duals pi;
- on random plans its coupling rows and each site's own rows equal the rules layer's rows
  (`Rules.rows`, from the plan's usage), and every family of the model is one of the two or
  refused.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from benchmarks.generate import make_tables
from models.conversion import FAMILIES
from models.decisions import Decisions
from models.economics import Economics, build_economics, evaluate
from models.rows import Rows
from optimizer.inputs.validation import portfolio_from_tables
from optimizer.solve.decompose import Formulation, solve_decomposed
from optimizer.solve.decompose.formulation import (
    COUPLING_FAMILIES,
    NOT_DECOMPOSED,
    SITE_FAMILIES,
    site_directions,
)
from optimizer.solve.optimize import optimize

Tables = dict[str, pd.DataFrame]


def carryover(t: Tables) -> None:
    t["Settings"].loc[len(t["Settings"])] = ["budget_carryover", True]


def tight_caps(t: Tables) -> None:
    q = t["Quarters"]
    q["max_hall_starts"] = 1
    q["ai_demand_mw"] = q["ai_demand_mw"] * 0.6


def mining_floor(t: Tables) -> None:
    total = float(t["Sites"]["mining_mw"].sum())
    t["Quarters"]["min_mining_mw"] = [0.8 * total if k % 3 == 0 else None
                                      for k in range(len(t["Quarters"]))]


def commitments(t: Tables, site: int = 1) -> None:
    """One hall of any option in 2027Q4 and one air_hpc hall begun in 2026Q4 (before the
    plan), both at `site`."""
    name = t["Sites"]["site"].tolist()[site]
    rows = pd.DataFrame({"site": [name, name], "option": [None, "air_hpc"],
                         "quarter": ["2027Q4", "2026Q4"], "halls": [1, 1],
                         "action": ["start", "start"]})
    t["Commitments"] = pd.concat([t["Commitments"], rows], ignore_index=True)


def no_change(t: Tables) -> None:
    del t


CASES: dict[str, tuple[int, int, int, Callable[[Tables], None]]] = {
    "budget": (3, 10, 2, no_change),
    "carryover": (3, 10, 3, carryover),
    "start_and_demand_caps": (4, 8, 4, tight_caps),
    "mining_floor": (2, 12, 5, mining_floor),
    "commitments": (3, 10, 6, commitments),
}


def economics(name: str) -> Economics:
    n_sites, horizon, seed, change = CASES[name]
    tables = make_tables(n_sites, horizon, seed)
    change(tables)
    return build_economics(portfolio_from_tables(tables))


_OPTIMA: dict[str, float] = {}


def optimum(name: str) -> float:
    """The monolithic model's proven optimum (mip_gap 0), cached per case."""
    if name not in _OPTIMA:
        plan = optimize(economics(name).portfolio, time_limit=30, mip_gap=0.0, threads=1)
        assert plan.status == "optimal"
        _OPTIMA[name] = plan.npv_musd
    return _OPTIMA[name]


def check_plan(econ: Economics, decisions: Decisions, objective: float) -> None:
    """The plan holds every row of the rules layer (`Rules.rows`: each constraint family, the
    budget by its use and the hall-start cap included), to 1e-6 of each row's limit, and is
    valued at the reported objective."""
    assert evaluate(econ, decisions).npv == pytest.approx(objective, rel=1e-9)
    for family, rows in econ.rules.rows(econ.rules.usage(decisions)).items():
        tolerance = 1e-6 * np.maximum(1.0, np.abs(rows.limit))
        assert rows.holds(tolerance), (family, {k: v for k, v in rows.excess().items() if v > 0})


@pytest.mark.parametrize("name", list(CASES))
def test_gap_zero_finds_the_monolithic_optimum(name: str) -> None:
    econ = economics(name)
    result = solve_decomposed(econ, time_limit=20, mip_gap=0.0, threads=1, seed=0)
    best = optimum(name)
    assert result.status == "optimal", "\n".join(result.log)
    assert result.objective == pytest.approx(best, rel=1e-6)
    assert result.bound >= best * (1 - 1e-6) - 1e-6
    assert result.gap <= 1e-6
    check_plan(econ, result.decisions, result.objective)


@pytest.mark.parametrize("name", ["budget", "carryover", "mining_floor", "commitments"])
@pytest.mark.parametrize("rounds", [1, 2, 4])
def test_bound_is_valid_when_stopped_early(name: str, rounds: int) -> None:
    econ = economics(name)
    result = solve_decomposed(econ, time_limit=20, mip_gap=0.0, threads=1, max_iterations=rounds,
                              polish=False)
    best = optimum(name)
    assert result.bound >= best * (1 - 1e-6) - 1e-6, "\n".join(result.log)
    if result.status in ("optimal", "feasible"):
        assert result.objective <= best * (1 + 1e-6) + 1e-6
        check_plan(econ, result.decisions, result.objective)
    if result.termination != "optimal":
        assert result.iterations == rounds or result.termination == "effort_limit"


def test_bound_is_valid_at_a_tiny_time_limit() -> None:
    econ = economics("start_and_demand_caps")
    result = solve_decomposed(econ, time_limit=0.01, mip_gap=0.0, threads=1)
    assert result.bound >= optimum("start_and_demand_caps") * (1 - 1e-6) - 1e-6
    assert result.termination in ("effort_limit", "optimal")


def test_without_coupling_the_decomposition_alone_is_exact() -> None:
    """No budget and no caps: each site alone is the answer, proven in the first round."""
    tables = make_tables(3, 10, 7)
    q = tables["Quarters"]
    q["budget_musd"] = None
    q["ai_demand_mw"] = None
    q["max_hall_starts"] = None
    econ = build_economics(portfolio_from_tables(tables))
    result = solve_decomposed(econ, time_limit=20, mip_gap=0.0, polish=False)
    plan = optimize(econ.portfolio, time_limit=30, mip_gap=0.0, threads=1)
    assert result.status == "optimal"
    assert result.iterations == 1
    assert result.objective == pytest.approx(plan.npv_musd, rel=1e-9)


@pytest.mark.parametrize("name", ["carryover", "mining_floor", "start_and_demand_caps"])
def test_reduced_costs_are_value_minus_priced_coupling_use(name: str) -> None:
    """Each pricer variable's reduced cost under random duals is its NPV per unit (the
    economics' value of the candidate, or the mining value of the quarter) less pi . (the
    coupling rows' use by one unit of it), that use read off the rules layer's rows of the
    one-unit plan (`Rules.rows`, not the matrix the pricers use); columns' values likewise."""
    econ = economics(name)
    prob, rules = Formulation(econ), econ.rules
    c = prob.coupling
    rng = np.random.default_rng(1)
    pi = rng.uniform(0.0, 2.0, len(c))
    sign = {f: -1.0 if f == "mining_floor" else 1.0 for f in c.family}
    for p, costs in zip(prob.pricers, prob.costs(pi), strict=True):
        nh, nk = len(p.hall_idx), len(p.module_idx)
        for j in rng.choice(p.n, size=min(p.n, 12), replace=False):
            plan = rules.zero_plan()
            if j < nh:
                plan.halls[p.hall_idx[j]], value = 1.0, econ.halls.value[p.hall_idx[j]]
            elif j < nh + nk:
                k = p.module_idx[j - nh]
                plan.modules[k], value = 1.0, econ.cooling.value[k]
            elif j < p.n_build:
                k = p.upgrade_idx[j - nh - nk]
                plan.upgrades[k], value = 1.0, econ.power.value[k]
            else:
                t = j - p.n_build
                plan.mining[p.site, t], value = 1.0, econ.mining_value[p.site, t]
            layer = rules.rows(rules.usage(plan))
            use = np.array([sign[f] * dict(zip(layer[f].keys, layer[f].used, strict=True))[k]
                            for f, k in zip(c.family, c.keys, strict=True)])
            assert costs[j] == pytest.approx(value - pi @ use, rel=1e-12, abs=1e-9)
        x = rng.integers(0, 2, p.n).astype(float)
        column = prob.column(p.site, x)
        assert column.value == pytest.approx(float(costs @ x + pi @ column.activity),
                                             rel=1e-12, abs=1e-9)


def test_a_site_that_cannot_meet_its_commitments_makes_it_infeasible() -> None:
    """Site001 of seed 6 has no cooling and no modules: a committed hall cannot run there."""
    tables = make_tables(3, 10, 6)
    commitments(tables, site=0)
    econ = build_economics(portfolio_from_tables(tables))
    result = solve_decomposed(econ, time_limit=10, mip_gap=0.0)
    assert (result.status, result.termination) == ("infeasible", "infeasible")
    assert "admit no schedule" in result.log[-1]


def test_exact_after_a_multithreaded_solve_in_the_same_process() -> None:
    """Regression: HiGHS keeps one thread scheduler per process. After a solve with threads=0
    (HiGHS starts 2 threads here) the single-threaded pricers failed to run, and their stale
    dual bounds made a wrong plan look optimal (623.3 reported against an optimum of 672.1)."""
    econ = economics("budget")
    optimize(econ.portfolio, threads=0, method="monolithic")  # starts the multi-thread scheduler
    result = solve_decomposed(econ, time_limit=20, mip_gap=0.0, threads=1, seed=0)
    assert result.objective == pytest.approx(optimum("budget"), rel=1e-6)
    assert result.bound >= optimum("budget") - 1e-6


def _random_plan(econ: Economics, prob: Formulation, rng: np.random.Generator
                 ) -> tuple[Decisions, list[np.ndarray]]:
    """A random plan (0-2 units per candidate, mining up to each site's miners) and each
    site's schedule in it (its pricer variables)."""
    rules = econ.rules
    halls, modules = np.zeros(len(rules.halls)), np.zeros(len(rules.modules))
    upgrades, mining = np.zeros(len(rules.upgrades)), np.zeros(econ.mining_margin.shape)
    schedules = []
    for p in prob.pricers:
        x = np.concatenate([rng.integers(0, 3, p.n_build).astype(float),
                            rng.random(econ.horizon) * p.mining_cap])
        nh, nk = len(p.hall_idx), len(p.module_idx)
        halls[p.hall_idx], modules[p.module_idx] = x[:nh], x[nh:nh + nk]
        upgrades[p.upgrade_idx], mining[p.site] = x[nh + nk:p.n_build], x[p.n_build:]
        schedules.append(x)
    return Decisions(halls, modules, upgrades, mining), schedules


@pytest.mark.parametrize("name", list(CASES))
def test_coupling_rows_are_the_layers_rows(name: str) -> None:
    """On random plans, the decomposition's coupling rows (the sum of the sites' column
    activities, and the right-hand sides) are the rules layer's rows (`Rules.rows`, computed
    from the plan's usage, not from any matrix): budget (cumulative with carryover), hall
    starts, AI IT MW online, mining (negated, as <= rows), each where some plan could break
    it; every row left out holds for every plan."""
    econ = economics(name)
    prob, rules = Formulation(econ), econ.rules
    c = prob.coupling
    rng = np.random.default_rng(3)
    for _ in range(5):
        plan, schedules = _random_plan(econ, prob, rng)
        activity = sum(prob.column(s, x).activity for s, x in enumerate(schedules))
        layer = rules.rows(rules.usage(plan))
        sign = np.array([-1.0 if layer[f].sense == ">=" else 1.0 for f in c.family])

        def of(field: str, layer: dict[str, Rows] = layer) -> np.ndarray:
            return np.array([dict(zip(layer[f].keys, getattr(layer[f], field), strict=True))[k]
                             for f, k in zip(c.family, c.keys, strict=True)])

        np.testing.assert_allclose(activity, sign * of("used"), rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(c.rhs, sign * of("limit"), rtol=1e-12, atol=1e-9)
        kept = set(zip(c.family, c.keys, strict=True))
        for family in COUPLING_FAMILIES:
            rows = layer[family]
            left_out = [i for i, k in enumerate(rows.keys) if (family, k) not in kept]
            # Rows left out have no use at all, or (the mining floor of 0) always hold.
            assert (rows.slack[left_out] >= 0).all() if family == "mining_floor" \
                else not rows.used[left_out].any(), family


@pytest.mark.parametrize("name", list(CASES))
def test_site_rows_are_the_layers_rows(name: str) -> None:
    """On random plans, each pricer's rows (in its own variables, before the x = D S change)
    give the rules layer's per-site rows: power, cooling, halls, modules, the upgrade and the
    start commitments, at every site."""
    econ = economics(name)
    prob, rules = Formulation(econ), econ.rules
    rng = np.random.default_rng(4)
    for _ in range(3):
        plan, schedules = _random_plan(econ, prob, rng)
        layer = rules.rows(rules.usage(plan))
        for p, x in zip(prob.pricers, schedules, strict=True):
            site = rules.for_site(p.site)
            own = site.linear_rows(SITE_FAMILIES, site_directions(site))
            activity = own.matrix @ x
            for family in SITE_FAMILIES:
                at = np.array(own.family) == family
                rows = layer[family]
                keys = [k for k in rows.keys if _of_site(family, k, p.site, rules)]
                want = np.array([rows.excess()[k] for k in keys])
                bound = np.where(np.isfinite(own.upper[at]), own.upper[at], own.lower[at])
                got = (activity[at] - bound) * (1.0 if rows.sense == "<=" else -1.0)
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9, err_msg=family)


def _of_site(family: str, key: object, s: int, rules: object) -> bool:
    """Whether the layer's row `key` of `family` is site s's."""
    if family == "start_commitments":
        return rules.commitments[int(key)].site == s  # type: ignore[attr-defined]
    return (key[0] if isinstance(key, tuple) else key) == s


def test_every_model_row_is_decomposed_or_refused() -> None:
    """Each constraint family of the model is a site's own, a coupling one, or refused."""
    names = [f.component for f in FAMILIES]
    assert sorted(names) == sorted(SITE_FAMILIES + COUPLING_FAMILIES + NOT_DECOMPOSED)
