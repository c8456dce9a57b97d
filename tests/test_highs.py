"""The HiGHS boundary (optimizer/solve/highs/): the array model and the runner's column methods.

- `HighsModel`: a tiny MILP loaded from arrays, and the same model built row by row and column
  by column, reach the optimum found by enumerating every integer point; new costs, bounds, row
  limits and a MIP start change the answer as they should; an infeasible model says so and has
  no values; an LP's row duals are the ones worked out by hand.
- `HighsRunner`: each variable's column, the bounds and objective HiGHS holds, column values to
  and from the Pyomo model, bounds changed in HiGHS only, and a quiet `run_columns` that loads
  nothing into Pyomo; `solve` afterwards still gives the audited optimum.
- The site-neighbourhood search stops at once when the caller says the plan is good enough.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pyomo.environ as pyo
import pytest

from optimizer.solve.highs import INF, HighsModel, HighsRunner, RunResult

# max 5a + 4b + 3c  s.t.  2a + 3b + c <= 5,  4a + b + 2c <= 11,  3a + 4b + 2c <= 8;
# a, b, c integer in 0..3.
COST = np.array([5.0, 4.0, 3.0])
ROWS = np.array([[2.0, 3.0, 1.0], [4.0, 1.0, 2.0], [3.0, 4.0, 2.0]])
RHS = np.array([5.0, 11.0, 8.0])
UPPER = np.full(3, 3.0)


def csc(dense: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cols, rows = np.nonzero(dense.T)
    starts = np.searchsorted(cols, np.arange(dense.shape[1] + 1)).astype(np.int32)
    return starts, rows.astype(np.int32), dense[rows, cols].astype(float)


def enumerate_best(cost: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                   rhs: np.ndarray) -> tuple[float, np.ndarray | None]:
    best, arg = -np.inf, None
    ranges = [range(int(lo), int(hi) + 1) for lo, hi in zip(lower, upper, strict=True)]
    for point in itertools.product(*ranges):
        x = np.array(point, dtype=float)
        if (ROWS @ x <= rhs + 1e-9).all() and cost @ x > best:
            best, arg = float(cost @ x), x
    return best, arg


def loaded(cost: np.ndarray = COST, rhs: np.ndarray = RHS) -> HighsModel:
    model = HighsModel(mip_rel_gap=0.0)
    model.load(cost, np.zeros(3), UPPER, np.ones(3, dtype=bool), np.full(3, -INF), rhs,
               csc(ROWS))
    return model


def check_optimal(run: RunResult, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                  rhs: np.ndarray) -> None:
    best, _ = enumerate_best(cost, lower, upper, rhs)
    assert not run.failed and run.optimal and run.termination == "optimal"
    assert run.values is not None
    assert run.objective == pytest.approx(best, abs=1e-9)
    assert float(cost @ run.values) == pytest.approx(best, abs=1e-9)
    assert run.bound == pytest.approx(best, abs=1e-6)
    assert (ROWS @ run.values <= rhs + 1e-9).all()
    assert (run.values >= lower - 1e-9).all() and (run.values <= upper + 1e-9).all()


def test_array_model_reaches_the_enumerated_optimum() -> None:
    model = loaded()
    check_optimal(model.run(), COST, np.zeros(3), UPPER, RHS)


def test_the_same_model_built_by_rows_and_columns() -> None:
    model = HighsModel(mip_rel_gap=0.0)
    model.add_rows(np.full(3, -INF), RHS)
    for j in range(3):
        model.add_column(COST[j], 0.0, UPPER[j], np.arange(3), ROWS[:, j])
    run = model.run()  # no integrality: the LP relaxation, at least the integer optimum
    best, _ = enumerate_best(COST, np.zeros(3), UPPER, RHS)
    assert run.optimal and run.objective >= best - 1e-9
    assert (ROWS @ run.values <= RHS + 1e-9).all()


def test_costs_bounds_rows_and_start_change_the_answer() -> None:
    model = loaded()
    model.run()
    cost = np.array([1.0, 6.0, 2.0])
    model.set_costs(cost)
    check_optimal(model.run(), cost, np.zeros(3), UPPER, RHS)
    lower, upper = np.array([1.0, 0.0, 0.0]), np.array([3.0, 0.0, 3.0])
    model.set_column_bounds(np.array([0, 1]), lower[:2], upper[:2])
    check_optimal(model.run(), cost, lower, upper, RHS)
    rhs = np.array([5.0, 6.0, 8.0])
    model.set_row_bounds(np.array([1]), np.array([-INF]), rhs[1:2])
    check_optimal(model.run(), cost, lower, upper, rhs)
    model.clear_solution()
    model.set_start(np.array([1.0, 0.0, 0.0]))  # a feasible start: the optimum is still found
    check_optimal(model.run(time_limit=10), cost, lower, upper, rhs)


def test_an_infeasible_model_says_so_and_has_no_values() -> None:
    model = loaded()
    model.set_column_bounds(np.array([0]), np.array([3.0]), np.array([3.0]))  # 2*3 > 5
    run = model.run()
    assert run.termination == "infeasible" and not run.optimal
    assert run.values is None and np.isnan(run.objective)


def test_lp_duals_worked_out_by_hand() -> None:
    """max x + y s.t. x + 2y <= 4, 3x + y <= 6: optimum x = 8/5, y = 6/5, objective 14/5;
    duals solve [1 3; 2 1] u = (1, 1): u = (2/5, 1/5)."""
    model = HighsModel()
    rows = np.array([[1.0, 2.0], [3.0, 1.0]])
    model.load(np.ones(2), np.zeros(2), np.full(2, INF), np.zeros(2, dtype=bool),
               np.full(2, -INF), np.array([4.0, 6.0]), csc(rows))
    run = model.run(duals=True)
    assert run.optimal and run.objective == pytest.approx(14 / 5)
    assert run.values == pytest.approx([8 / 5, 6 / 5])
    assert run.duals is not None and run.duals == pytest.approx([2 / 5, 1 / 5])


def pyomo_model() -> pyo.ConcreteModel:
    """The tiny MILP above in Pyomo, plus a fixed variable and an objective constant of 7."""
    m = pyo.ConcreteModel()
    m.J = pyo.RangeSet(0, 2)
    m.x = pyo.Var(m.J, domain=pyo.NonNegativeIntegers, bounds=(0, 3))
    m.fixed = pyo.Var(bounds=(0, 5))
    m.fixed.fix(2.0)
    m.rows = pyo.Constraint(pyo.RangeSet(0, 2), rule=lambda m, i: sum(
        float(ROWS[i, j]) * m.x[j] for j in m.J) + 0.0 * m.fixed <= float(RHS[i]))
    m.obj = pyo.Objective(expr=sum(float(COST[j]) * m.x[j] for j in m.J) + m.fixed + 5.0,
                          sense=pyo.maximize)
    return m


def test_runner_columns_bounds_objective_and_values() -> None:
    m = pyomo_model()
    runner = HighsRunner(m)
    cols = runner.columns(m.x[j] for j in m.J)
    assert sorted(cols.tolist()) == sorted(set(cols.tolist())) and (cols >= 0).all()
    assert runner.columns([m.x[0], m.fixed], free_only=True)[1] == -1
    lower, upper = runner.column_bounds()
    assert lower[cols] == pytest.approx(np.zeros(3)) and upper[cols] == pytest.approx(UPPER)
    outcome = runner.solve(time_limit=10, mip_gap=0.0, threads=1)
    best, _ = enumerate_best(COST, np.zeros(3), UPPER, RHS)
    assert outcome.status == "optimal" and outcome.objective == pytest.approx(best + 7.0)
    values = runner.column_values()
    cost, offset = runner.objective_coefficients()
    assert float(cost @ values) + offset == pytest.approx(runner.model_objective())
    assert values[cols] == pytest.approx([pyo.value(m.x[j]) for j in m.J])
    # Round trip: other values into Pyomo, read back in column order.
    other = values.copy()
    other[cols] = [1.0, 0.0, 2.0]
    runner.load_column_values(other)
    assert [pyo.value(m.x[j]) for j in m.J] == pytest.approx([1.0, 0.0, 2.0])
    assert pyo.value(m.fixed) == pytest.approx(2.0)  # fixed variables keep their value
    assert runner.column_values()[cols] == pytest.approx([1.0, 0.0, 2.0])


def test_run_columns_changes_highs_only_and_loads_nothing() -> None:
    m = pyomo_model()
    runner = HighsRunner(m)
    cols = runner.columns(m.x[j] for j in m.J)
    lower, upper = runner.column_bounds()
    runner.set_column_bounds(cols[:1], np.array([2.0]), np.array([2.0]))  # a = 2 in HiGHS
    runner.set_start_columns(np.array([2.0, 0.0, 0.0]), cols)
    run = runner.run_columns(time_limit=10, mip_gap=0.0, threads=1, seed=0)
    best, _ = enumerate_best(COST, np.array([2.0, 0.0, 0.0]), np.array([2.0, 3.0, 3.0]), RHS)
    assert run.optimal and run.values is not None
    assert run.values[cols[0]] == pytest.approx(2.0)
    cost, offset = runner.objective_coefficients()
    assert float(cost @ run.values) + offset == pytest.approx(best + 7.0)
    assert all(m.x[j].value is None for j in m.J)  # nothing loaded into Pyomo
    assert m.x[0].lb == 0 and m.x[0].ub == 3  # Pyomo's bounds untouched
    runner.set_column_bounds(cols, lower[cols], upper[cols])
    outcome = runner.solve(time_limit=10, mip_gap=0.0, threads=1)
    unrestricted, _ = enumerate_best(COST, np.zeros(3), UPPER, RHS)
    assert outcome.status == "optimal"
    assert outcome.objective == pytest.approx(unrestricted + 7.0)
    assert outcome.objective == pytest.approx(runner.model_objective())


def test_search_stops_at_once_when_the_plan_is_good_enough() -> None:
    from test_neighbourhood import case, runner_at_greedy

    from optimizer.solve.neighbourhood import search_sites

    econ, _ = case("6x12")
    runner, start = runner_at_greedy(econ)
    asked: list[float] = []

    def done(objective: float) -> bool:
        asked.append(objective)
        return True

    found = search_sites(runner, econ, start, until=time.perf_counter() + 30, seed=0,
                         threads=1, first=[2, 3], done=done)
    assert found.neighbourhoods == 0 and found.improvements == 0
    assert np.array_equal(found.values, start)
    cost, offset = runner.objective_coefficients()
    assert asked == [pytest.approx(float(cost @ start) + offset)]


def test_search_frees_the_first_sites_first() -> None:
    """With `first`, the first neighbourhood frees those sites (then others, up to its size),
    and the search still only improves the plan."""
    from test_neighbourhood import case, plan_of, runner_at_greedy

    from optimizer.solve.neighbourhood import build_columns, search_sites

    econ, best = case("6x12")
    runner, start = runner_at_greedy(econ)
    start_npv = plan_of(runner, econ, start).objective
    col_site = {int(c): int(s) for cols, sites in build_columns(runner, econ)
                for c, s in zip(cols, sites, strict=True)}
    freed: list[set[int]] = []
    change = runner.set_column_bounds

    def spy(cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        freed.append({col_site[int(c)] for c, lo, hi in zip(cols, lower, upper, strict=True)
                      if lo != hi})
        change(cols, lower, upper)

    runner.set_column_bounds = spy  # type: ignore[method-assign]  # a spy on one instance
    found = search_sites(runner, econ, start, until=time.perf_counter() + 30, seed=0,
                         threads=1, first=[4])
    assert 4 in freed[0] and len(freed[0]) == 3  # 6 sites: neighbourhoods of 3 at most
    assert start_npv - 1e-9 <= found.objective <= best * (1 + 1e-9) + 1e-9
    assert plan_of(runner, econ, found.values).objective == pytest.approx(found.objective)


def test_only_the_boundary_touches_highspy_or_pyomo_solver_internals() -> None:
    """No module outside the package optimizer/solve/highs/ imports highspy or reads Pyomo's
    private solver attributes (issue 12, "one boundary with HiGHS"); among the tests, only the
    boundary's own (this file, and test_status.py, which checks the map from every HiGHS model
    status)."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    names = ("_solver_model", "_pyomo_var_to_solver_var_map", "import highspy", "from highspy")
    found = sorted({str(path.relative_to(root))
                    for folder in ("optimizer", "models", "benchmarks", "tests", "inputs")
                    for path in (root / folder).rglob("*.py")
                    if any(name in path.read_text(encoding="utf-8") for name in names)})
    outside = [path for path in found if not path.startswith("optimizer/solve/highs/")]
    assert outside == ["tests/test_highs.py", "tests/test_status.py"]
    assert "optimizer/solve/highs/runner.py" in found  # the check reads the package


def test_progress_hook_is_told_and_changes_nothing() -> None:
    """`on_progress` hears of the MIP search (improving plans, log lines) with the figures
    the solve ends with, beside a `should_stop` that never stops; the answer is the same as
    without either, and a later solve of the instance hears nothing."""
    from test_neighbourhood import case

    from models.conversion import build_model
    from optimizer.solve.options import SolverOptions

    econ, best = case("10x12")
    options = SolverOptions(30, 0.0, threads=1, seed=0)
    plain = HighsRunner(build_model(econ)).solve(options)
    runner = HighsRunner(build_model(econ))
    heard: list[tuple[float, float, float]] = []
    asked: list[float] = []

    def never(seconds: float, bound: float, objective: float) -> bool:
        asked.append(seconds)
        return False

    outcome = runner.solve(options, on_progress=lambda *figures: heard.append(figures),
                           should_stop=never)
    assert outcome.status == "optimal" and outcome.objective == pytest.approx(best, rel=1e-9)
    assert outcome.objective == pytest.approx(plain.objective, rel=1e-9)
    assert heard and asked
    seconds = [s for s, _, _ in heard]
    assert seconds == sorted(seconds) and seconds[-1] <= outcome.seconds + 1e-6
    plans = [objective for _, _, objective in heard if np.isfinite(objective)]
    assert plans and max(plans) == pytest.approx(best, rel=1e-6)
    assert all(bound >= objective - 1e-6 * abs(objective)
               for _, bound, objective in heard if np.isfinite(bound) and np.isfinite(objective))
    count = len(heard)
    runner.clear()
    runner.solve(options)
    assert len(heard) == count  # unsubscribed
