"""The neighbourhood search (optimizer/solve/neighbourhood.py) and the method built on it.

On the small seeded cases of test_decompose (budget, carry-over, start and demand caps, mining
floor, commitments with a hall begun before the plan) and three larger generated portfolios on
which the greedy plan falls short of the optimum, starting from the greedy plan: the search only
ever improves the plan (and does improve it on those three); every plan it returns obeys the
portfolio rows and is valued at the objective it reports; it leaves the model as it found it;
and the method that hands its plan back to HiGHS ends at the monolithic optimum with a valid
bound. Also: when the stall rule hands over, that a stopped HiGHS run leaves the next one
alone, and that the plan names the method that ran.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from test_decompose import CASES, check_plan, economics, optimum

from benchmarks.generate import make_tables
from models.conversion import build_model
from models.economics import Economics, build_economics, evaluate
from optimizer.inputs.validation import portfolio_from_tables
from optimizer.solve.greedy import greedy_plan
from optimizer.solve.highs import HighsRunner
from optimizer.solve.neighbourhood import Beside, current_values, load_values, search_sites
from optimizer.solve.optimize import (
    HIGHS_SECONDS,
    Stall,
    auto_method,
    optimize,
    solution_decisions,
)
from optimizer.solve.options import EffortClock

# (sites, quarters, generator seed): the greedy plan is 8.1%, 2.1% and 0.6% below the optimum.
GREEDY_SHORT = {"6x12": (6, 12, 1), "6x16": (6, 16, 4), "10x12": (10, 12, 5)}
NAMES = list(CASES) + list(GREEDY_SHORT)


_OPTIMA: dict[str, float] = {}


def case(name: str) -> tuple[Economics, float]:
    """The economics of a named case and its proven optimum (monolithic, mip_gap 0; cached)."""
    if name in CASES:
        return economics(name), optimum(name)
    n_sites, horizon, seed = GREEDY_SHORT[name]
    econ = build_economics(portfolio_from_tables(make_tables(n_sites, horizon, seed)))
    if name not in _OPTIMA:
        plan = optimize(econ.portfolio, time_limit=30, mip_gap=0.0, threads=1,
                        method="monolithic")
        assert plan.status == "optimal"
        _OPTIMA[name] = plan.npv_musd
    return econ, _OPTIMA[name]


def runner_at_greedy(econ: Economics) -> tuple[HighsRunner, np.ndarray]:
    """The model in HiGHS, and the greedy plan as HiGHS column values (builds fixed to the
    greedy plan for one solve, which only dispatches mining; then freed again)."""
    model = build_model(econ)
    runner = HighsRunner(model)
    greedy = greedy_plan(econ)
    assert greedy is not None
    builds = [(var, value) for var, value in greedy.start_values(model)
              if var.parent_component() is not model.mining_mw and not var.fixed]
    for var, value in builds:
        var.fix(round(value))
    runner.push_changes()
    outcome = runner.solve(time_limit=30, mip_gap=0.0, threads=1)
    assert outcome.status == "optimal"
    values = current_values(runner)
    for var, _ in builds:
        var.unfix()
    runner.push_changes()
    return runner, values


def plan_of(runner: HighsRunner, econ: Economics, values: np.ndarray) -> SimpleNamespace:
    load_values(runner, values)
    return SimpleNamespace(decisions=solution_decisions(runner.model, econ),
                           objective=runner.model_objective())


@pytest.mark.parametrize("name", NAMES)
def test_search_improves_the_greedy_plan_and_keeps_it_feasible(name: str) -> None:
    econ, best = case(name)
    runner, start = runner_at_greedy(econ)
    start_npv = plan_of(runner, econ, start).objective
    found = search_sites(runner, econ, start, until=30, seed=0, threads=1)
    assert found.objective >= start_npv - 1e-9
    assert found.objective <= best * (1 + 1e-9) + 1e-9
    if name in GREEDY_SHORT:
        assert found.improvements >= 1 and found.objective > start_npv * (1 + 1e-4)
    plan = plan_of(runner, econ, found.values)
    assert plan.objective == pytest.approx(found.objective, rel=1e-9)
    check_plan(econ, plan.decisions, plan.objective)  # every row holds; NPV = objective
    assert evaluate(econ, plan.decisions).npv \
        == pytest.approx(found.objective, rel=1e-9)


def test_search_leaves_the_model_as_it_found_it() -> None:
    econ = economics("commitments")
    runner, start = runner_at_greedy(econ)
    lower, upper = runner.column_bounds()  # as HiGHS has them (the boundary's public view)
    search_sites(runner, econ, start, until=30, seed=0, threads=1)
    lower_after, upper_after = runner.column_bounds()
    assert np.array_equal(lower, lower_after)
    assert np.array_equal(upper, upper_after)
    assert runner.solve(time_limit=30, mip_gap=0.0, threads=1).objective \
        == pytest.approx(optimum("commitments"), rel=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_search_beside_highs_hands_it_better_plans_and_keeps_one_search(name: str) -> None:
    """`Beside`, as the neighbourhood method runs it: HiGHS is never stopped; the search runs
    inside its callbacks from its incumbent (here from the first check on: always "stalled")
    and its better plans are handed to HiGHS, which ends with at least the best of them, a
    valid bound and the optimum."""
    econ, best = case(name)
    runner, start = runner_at_greedy(econ)
    runner.set_start_columns(start)
    clock = EffortClock()
    helper = Beside(runner, econ, budget=30, clock=clock, stall=lambda *_: True, wait=0.5,
                    seed=0, threads=1)
    outcome = runner.solve(time_limit=30, mip_gap=0.0, threads=1, clock=clock, helper=helper)
    if name in GREEDY_SHORT:  # the small cases are proven before any check has a plan
        assert helper.searches >= 1
    assert outcome.status == "optimal" and outcome.termination == "optimal"
    assert outcome.objective == pytest.approx(best, rel=1e-6)
    assert outcome.bound >= best * (1 - 1e-6) - 1e-6
    if helper.best is not None:  # HiGHS took the search's plan, or has a better one
        assert outcome.objective >= helper.best.objective - 1e-6 * max(1.0, abs(best))
    plan = plan_of(runner, econ, current_values(runner))
    check_plan(econ, plan.decisions, plan.objective)


@pytest.mark.parametrize(("sites", "has_start", "method"), [
    (1, False, "neighbourhood"), (99, False, "neighbourhood"), (100, False, "decomposition"),
    (100, True, "neighbourhood")])
def test_auto_method_by_portfolio_size(sites: int, has_start: bool, method: str) -> None:
    assert auto_method(sites, has_start) == method


def feed(rule: Stall, points: list[tuple[float, float, float]]) -> list[bool]:
    return [rule(*point) for point in points]


def test_stall_hands_over_once_the_bound_stops_moving() -> None:
    """Plan at 90: a bound stuck at 110 from 10 s on stalls at 20 s (it has not moved for the
    last half of the time so far), whatever the time limit."""
    points = [(float(t), 120.0 if t < 10 else 110.0, 90.0) for t in range(1, 60)]
    for limit in (30.0, 100.0, 1000.0):
        assert feed(Stall(limit), points).index(True) == 19  # t = 20 s


def test_stall_lets_a_moving_bound_run() -> None:
    """The bound closes a fifth of the gap every 5 s: HiGHS keeps going to the end."""
    points, bound = [], 200.0
    for t in range(1, 100):
        bound -= (bound - 100.0) * 0.2 if t % 5 == 0 else 0.0
        points.append((float(t), bound, 100.0))
    assert not any(feed(Stall(100.0), points))


def test_stall_never_before_highs_seconds_nor_without_a_plan_and_never_by_the_limit() -> None:
    """A bound stuck from the start hands over at HIGHS_SECONDS, not before, and the answers do
    not depend on the time limit: a longer run repeats a shorter one up to its end, so more
    time never gives a worse plan."""
    stuck = [(float(t), 110.0, 90.0) for t in range(1, 100)]
    answers = feed(Stall(100.0), stuck)
    assert not any(answers[:int(HIGHS_SECONDS) - 1]) and answers[int(HIGHS_SECONDS) - 1]
    assert all(feed(Stall(limit), stuck) == answers for limit in (12.0, 60.0, 600.0))
    assert not any(feed(Stall(100.0), [(float(t), 110.0, float("-inf")) for t in range(1, 100)]))


def test_a_stopped_solve_does_not_stop_the_next_one(caplog: pytest.LogCaptureFixture) -> None:
    """HiGHS keeps its interrupt flag across runs of one instance; the runner clears it. The
    stop asked for is no warning to the user."""
    econ, _ = case("10x12")
    runner = HighsRunner(build_model(econ))
    stopped = runner.solve(time_limit=30, mip_gap=0.0, threads=1,
                           should_stop=lambda seconds, bound, objective: objective > -1e30)
    assert stopped.termination == "interrupted" and stopped.status == "feasible"
    assert not [r for r in caplog.records if "kInterrupt" in r.getMessage()]
    again = runner.solve(time_limit=30, mip_gap=0.0, threads=1)
    assert again.termination == "optimal"


def test_the_plan_names_the_method_that_ran() -> None:
    """A portfolio HiGHS proves at once never reaches the search: its plan says monolithic."""
    econ, best = case("budget")
    plan = optimize(econ.portfolio, time_limit=30, mip_gap=0.0, threads=1,
                    method="neighbourhood")
    assert plan.method == "monolithic" and plan.status == "optimal"
    assert plan.npv_musd == pytest.approx(best, rel=1e-6)
