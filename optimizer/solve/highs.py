"""The one module that talks to HiGHS (in-process, through Pyomo's persistent `highs` interface).

Why it stopped and what solution exists are kept apart, in sitepivot's own words: a time-limited
run that has a plan is `feasible` with a gap, never `optimal`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import highspy
import numpy as np
import pyomo.environ as pyo
from highspy.highs import HighsCallbackEvent
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

# HiGHS/Pyomo termination -> sitepivot's termination word (why the solver stopped).
TERMINATION = {
    TerminationCondition.convergenceCriteriaSatisfied: "optimal",
    TerminationCondition.maxTimeLimit: "time_limit",
    TerminationCondition.iterationLimit: "iteration_limit",
    TerminationCondition.objectiveLimit: "objective_limit",
    TerminationCondition.provenInfeasible: "infeasible",
    TerminationCondition.locallyInfeasible: "infeasible",
    TerminationCondition.infeasibleOrUnbounded: "infeasible_or_unbounded",
    TerminationCondition.unbounded: "unbounded",
    TerminationCondition.interrupted: "interrupted",
    TerminationCondition.error: "error",
    TerminationCondition.unknown: "unknown",
}


@dataclass
class SolveOutcome:
    """What one solver run produced. `status`: optimal | feasible | infeasible | no_solution |
    error. Objective and bound are in the model's units ($M); NaN when absent."""

    status: str
    termination: str
    objective: float
    bound: float
    gap: float
    seconds: float
    log: str


def relative_gap(objective: float, bound: float) -> float:
    """(bound - objective) / max(|objective|, 1e-9) for a maximisation; 0 if bound <= objective."""
    if objective != objective or bound != bound:  # NaN
        return float("nan")
    return max(0.0, bound - objective) / max(abs(objective), 1e-9)


# (seconds since the MIP search began, proven bound, best objective) -> stop now?
StopRule = Callable[[float, float, float], bool]
# (seconds since the MIP search began, proven bound, best objective) -> None: progress to show
ProgressHook = Callable[[float, float, float], None]


def _not_kinterrupt(record: logging.LogRecord) -> bool:
    return "kInterrupt" not in record.getMessage()


# Pyomo's HiGHS interface does not know HiGHS's "interrupted" status and logs a warning for it;
# `HighsRunner._run` reads that status itself (a `should_stop` stop is one by design), so the
# warning would only alarm the user.
logging.getLogger("pyomo.contrib.solver.solvers.highs").addFilter(_not_kinterrupt)


# Solves never re-scan the model on their own: a re-scan modifies the HiGHS model, which
# discards a MIP start given just before. Changes are pushed by `HighsRunner.push_changes`.
NO_AUTO_UPDATES = {key: False for key in (
    "check_for_new_or_removed_constraints", "check_for_new_or_removed_vars",
    "check_for_new_or_removed_params", "check_for_new_objective", "update_constraints",
    "update_vars", "update_parameters", "update_named_expressions", "update_objective")}


class HighsRunner:
    """A persistent HiGHS instance for one Pyomo model: re-solves after parameter changes
    without a rebuild, accepts a MIP start.

    After changing mutable Params or fixing/unfixing variables, call `push_changes()` before
    `set_start()` and `solve()`.
    """

    def __init__(self, model: pyo.ConcreteModel) -> None:
        self.model = model
        self.solver = Highs()
        self.solver.set_instance(model)
        self._start_given = False

    def push_changes(self) -> None:
        """Send changed Params, bounds and fixed variables to HiGHS (no rebuild)."""
        self.solver.update()

    def clear(self) -> None:
        """Forget the previous solution and any MIP start (the model stays loaded)."""
        highs = self.solver._solver_model
        highs.clearSolver()
        # HiGHS keeps a `should_stop` interrupt set for every later run of this instance;
        # registering the callbacks again clears it.
        highs.enableCallbacks()
        self._start_given = False

    def set_start(self, values: list[tuple[pyo.Var, float]]) -> None:
        """Give HiGHS a starting plan (a MIP start); variables not given are left free."""
        highs = self.solver._solver_model  # the highspy.Highs object behind the interface
        var_map = self.solver._pyomo_var_to_solver_var_map
        cols, vals = [], []
        for var, value in values:
            col = var_map.get(id(var))
            if col is not None:
                cols.append(int(col))
                vals.append(float(value))
        if cols:
            highs.setSolution(len(cols), np.array(cols, dtype=np.int32),
                              np.array(vals, dtype=np.float64))
            self._start_given = True

    def solve(self, *, time_limit: float, mip_gap: float, threads: int = 0, seed: int = 0,
              should_stop: StopRule | None = None,
              on_progress: ProgressHook | None = None) -> SolveOutcome:
        """Solve; check that the objective HiGHS reports is that of the plan it returns.

        `should_stop(seconds, bound, objective)` is asked as the MIP search runs (seconds since
        it began, the proven bound and the best plan's objective, $M); when it answers True the
        search stops and the outcome's termination is "interrupted".

        `on_progress(seconds, bound, objective)` (same figures) is told of each improving plan
        and each line of HiGHS's MIP log (every few seconds); it must return quickly.

        HiGHS 1.16 can misreport the objective of a user-supplied start after presolve (seen:
        "MIP start solution is feasible in the reduced space" with a different value), and then
        stop at that start, calling it optimal. When the reported and the recomputed objective
        disagree after a MIP start, the solve is repeated without the start.
        """
        if on_progress is not None:
            return self._with_progress(on_progress, lambda: self.solve(
                time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed,
                should_stop=should_stop))
        if should_stop is None:
            return self._solve_checked(time_limit, mip_gap, threads, seed)
        highs = self.solver._solver_model
        rule: StopRule = should_stop

        def ask(event: HighsCallbackEvent) -> None:
            out = event.data_out
            if rule(out.running_time, out.mip_dual_bound, out.mip_primal_bound):
                event.interrupt()

        highs.cbMipInterrupt.subscribe(ask)
        try:
            return self._solve_checked(time_limit, mip_gap, threads, seed)
        finally:
            highs.cbMipInterrupt.unsubscribe(ask)
            highs.enableCallbacks()  # clears the interrupt flag (see `clear`)

    def _with_progress(self, hook: ProgressHook, run: Callable[[], SolveOutcome]
                       ) -> SolveOutcome:
        """`run()` with `hook` subscribed to HiGHS's improving-solution and MIP-log callbacks."""
        highs = self.solver._solver_model

        def tell(event: HighsCallbackEvent) -> None:
            out = event.data_out
            hook(out.running_time, out.mip_dual_bound, out.mip_primal_bound)

        highs.cbMipImprovingSolution.subscribe(tell)
        highs.cbMipLogging.subscribe(tell)
        try:
            return run()
        finally:
            highs.cbMipImprovingSolution.unsubscribe(tell)
            highs.cbMipLogging.unsubscribe(tell)

    def _solve_checked(self, time_limit: float, mip_gap: float, threads: int, seed: int
                       ) -> SolveOutcome:
        outcome = self._run(time_limit, mip_gap, threads, seed)
        if self._start_given and outcome.status in ("optimal", "feasible") \
                and not self._objective_consistent(outcome.objective):
            self.clear()  # drops the start and the bad incumbent
            note = ("sitepivot: HiGHS misreported the objective of the MIP start "
                    f"({outcome.objective:.9g} reported, {self.model_objective():.9g} "
                    "actual); solved again without the start.\n")
            retry = self._run(time_limit, mip_gap, threads, seed)
            retry.log = outcome.log + note + retry.log
            retry.seconds += outcome.seconds
            outcome = retry
        self._start_given = False
        if outcome.status in ("optimal", "feasible") \
                and not self._objective_consistent(outcome.objective):
            outcome.status = "error"
            outcome.termination = "inconsistent_objective"
        return outcome

    def set_start_columns(self, values: np.ndarray) -> None:
        """Give HiGHS a complete starting plan as values of its columns, in column order."""
        highs = self.solver._solver_model
        highs.setSolution(len(values), np.arange(len(values), dtype=np.int32),
                          np.asarray(values, dtype=np.float64))
        self._start_given = True

    def model_objective(self) -> float:
        """The Pyomo objective at the variables' current values ($M)."""
        objective = next(self.model.component_data_objects(pyo.Objective, active=True))
        return float(pyo.value(objective))

    def _objective_consistent(self, reported: float) -> bool:
        return bool(np.isclose(self.model_objective(), reported, rtol=1e-7, atol=1e-7))

    def _run(self, time_limit: float, mip_gap: float, threads: int, seed: int
             ) -> SolveOutcome:
        options = {"random_seed": int(seed), "output_flag": True, "log_to_console": True}
        if threads:
            # HiGHS keeps one thread scheduler per process; a different thread count needs a
            # fresh one, or the run stops with an error.
            highspy.Highs.resetGlobalScheduler(True)
        started = time.perf_counter()
        results = self.solver.solve(
            self.model, time_limit=float(time_limit), rel_gap=float(mip_gap),
            threads=int(threads) if threads else None, load_solutions=False,
            raise_exception_on_nonoptimal_result=False, solver_options=options,
            auto_updates=NO_AUTO_UPDATES)
        seconds = time.perf_counter() - started
        termination = TERMINATION.get(results.termination_condition, "unknown")
        if self.solver._solver_model.getModelStatus() == highspy.HighsModelStatus.kInterrupt:
            termination = "interrupted"  # Pyomo has no name for it (a stop rule or Ctrl-C)
        has_plan = results.solution_status in (SolutionStatus.optimal, SolutionStatus.feasible)
        objective = (float(results.incumbent_objective)
                     if has_plan and results.incumbent_objective is not None else float("nan"))
        bound = (float(results.objective_bound) if results.objective_bound is not None
                 else float("nan"))
        if has_plan:
            results.solution_loader.load_vars()
            status = "optimal" if termination == "optimal" else "feasible"
        elif termination in ("infeasible", "infeasible_or_unbounded"):
            status = "infeasible"
        elif termination in ("error", "unknown"):
            status = "error"
        else:
            status = "no_solution"
        if status == "optimal" and bound != bound:
            bound = objective
        return SolveOutcome(status=status, termination=termination, objective=objective,
                            bound=bound, gap=relative_gap(objective, bound), seconds=seconds,
                            log=results.solver_log or "")
