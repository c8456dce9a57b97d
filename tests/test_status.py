"""Typed outcomes (optimizer/status.py, optimizer/solve/options.py) and the one map from
HiGHS's codes.

- The enums' values are the words the reports and tools read, and compare equal to them.
- `has_plan` is true exactly for optimal and feasible; `status_of` follows the stated rule for
  every termination, with and without a solution.
- Every HiGHS model status maps to a termination, the one Pyomo's interface derives from the
  same status (plus the interrupt Pyomo has no name for).
- A Plan turns the words it is given into members and refuses an unknown word.
- SolverOptions: the Settings, each replaced by a caller's value; frozen; the runner solves the
  same with the object as with the keywords, and refuses to guess a time limit.
"""

from __future__ import annotations

import dataclasses
import math

import highspy
import pytest
from plan_fixture import make_plan

from models.conversion import build_model
from models.economics import build_economics
from models.portfolio import Settings
from optimizer.solve.highs import TERMINATION, HighsRunner, termination_of
from optimizer.solve.options import SolverOptions
from optimizer.status import PLANNED, Status, Termination, has_plan, status_of

WORDS = ["optimal", "feasible", "infeasible", "no_solution", "error"]


def test_values_are_the_old_words() -> None:
    assert [s.value for s in Status] == WORDS
    for status, word in zip(Status, WORDS, strict=True):
        assert status == word and str(status) == word and f"{status}" == word
        assert Status(word) is status
    assert {t.value for t in Termination} >= {
        "optimal", "time_limit", "iteration_limit", "objective_limit", "interrupted",
        "infeasible", "infeasible_or_unbounded", "unbounded", "inconsistent_objective",
        "error", "unknown"}


def test_has_plan_exactly_for_optimal_and_feasible() -> None:
    assert {s for s in Status if has_plan(s)} == {Status.OPTIMAL, Status.FEASIBLE} == PLANNED
    for word in WORDS:
        assert has_plan(word) == (word in ("optimal", "feasible"))
    assert not has_plan("interrupted") and not has_plan("")


@pytest.mark.parametrize("termination", list(Termination))
def test_status_of_every_termination(termination: Termination) -> None:
    with_solution = status_of(termination, True)
    assert with_solution == (Status.OPTIMAL if termination == Termination.OPTIMAL
                             else Status.FEASIBLE)
    without = status_of(termination, False)
    if termination in (Termination.INFEASIBLE, Termination.INFEASIBLE_OR_UNBOUNDED):
        assert without == Status.INFEASIBLE
    elif termination in (Termination.ERROR, Termination.UNKNOWN):
        assert without == Status.ERROR
    else:
        assert without == Status.NO_SOLUTION


# HiGHS model status -> the word Pyomo's interface (pyomo.contrib.solver.solvers.highs) gives the
# same status, written out by hand; kInterrupt is sitepivot's own ("unknown" in Pyomo).
EXPECTED = {
    "kNotset": "unknown", "kLoadError": "error", "kModelError": "error",
    "kPresolveError": "error", "kSolveError": "error", "kPostsolveError": "error",
    "kModelEmpty": "unknown", "kOptimal": "optimal", "kInfeasible": "infeasible",
    "kUnboundedOrInfeasible": "infeasible_or_unbounded", "kUnbounded": "unbounded",
    "kObjectiveBound": "objective_limit", "kObjectiveTarget": "objective_limit",
    "kTimeLimit": "time_limit", "kIterationLimit": "iteration_limit",
    "kSolutionLimit": "iteration_limit", "kUnknown": "unknown", "kInterrupt": "interrupted",
    "kMemoryLimit": "error",
}


def test_every_highs_model_status_maps_once() -> None:
    names = [n for n in dir(highspy.HighsModelStatus)
             if n.startswith("k") and n != "kHighsInterrupt"]  # an alias of kInterrupt
    assert set(names) == set(EXPECTED)
    for name in names:
        status = getattr(highspy.HighsModelStatus, name)
        assert TERMINATION.get(status, Termination.UNKNOWN) == EXPECTED[name], name
    assert all(isinstance(t, Termination) for t in TERMINATION.values())


def test_termination_of_a_run() -> None:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.addVar(0.0, 1.0)
    h.changeColCost(0, -1.0)
    h.run()
    assert termination_of(h) == Termination.OPTIMAL
    h.changeColBounds(0, 2.0, 1.0)  # lower above upper
    h.run()
    assert termination_of(h) == Termination.INFEASIBLE


def test_a_plan_holds_members_and_refuses_unknown_words() -> None:
    plan = make_plan(status="feasible", termination="time_limit")
    assert plan.status is Status.FEASIBLE and plan.termination is Termination.TIME_LIMIT
    with pytest.raises(ValueError, match="optimised"):
        make_plan(status="optimised")
    with pytest.raises(ValueError, match="timeout"):
        make_plan(termination="timeout")


def test_solver_options_from_settings_and_overrides() -> None:
    settings = Settings(start_quarter="2027Q1", horizon_quarters=8, discount_rate=0.1,
                        mip_gap=0.002, time_limit_s=45.0, threads=3, random_seed=11)
    assert SolverOptions.from_settings(settings) == SolverOptions(45.0, 0.002, 3, 11)
    assert SolverOptions.from_settings(settings, time_limit=5, threads=0) \
        == SolverOptions(5.0, 0.002, 0, 11)
    assert SolverOptions.from_settings(settings, mip_gap=0.0, seed=0) \
        == SolverOptions(45.0, 0.0, 3, 0)
    options = SolverOptions(10.0, 0.01)
    assert (options.threads, options.seed) == (0, 0)
    assert options.with_overrides() is options
    assert options.with_overrides(seed=4, mip_gap=None) == SolverOptions(10.0, 0.01, 0, 4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.time_limit = 1.0  # type: ignore[misc]  # the point: it is frozen


def test_runner_solves_alike_with_options_or_keywords() -> None:
    from test_decompose import economics

    econ = economics("budget")
    by_object = HighsRunner(build_model(econ)).solve(SolverOptions(30, 0.0, threads=1, seed=2))
    by_keywords = HighsRunner(build_model(econ)).solve(time_limit=30, mip_gap=0.0, threads=1,
                                                        seed=2)
    overridden = HighsRunner(build_model(econ)).solve(SolverOptions(30, 0.5), mip_gap=0.0)
    for outcome in (by_object, by_keywords, overridden):
        assert outcome.status is Status.OPTIMAL and outcome.termination is Termination.OPTIMAL
        assert math.isclose(outcome.objective, by_object.objective, rel_tol=1e-9)
    with pytest.raises(TypeError):
        HighsRunner(build_model(build_economics(econ.portfolio))).solve(mip_gap=0.0)
