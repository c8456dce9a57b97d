"""`HighsRunner`: a Pyomo model in a persistent HiGHS instance (Pyomo's `highs` interface).

`solve` is the audited solve every method ends with; the column methods (`columns`,
`column_bounds`, `set_column_bounds`, `objective_coefficients`, `column_values`,
`load_column_values`, `set_start_columns`, `run_columns`) let a search change the model in place
and re-solve it quietly, in HiGHS's column order, without a rebuild. `HighsTwin` is a second
instance of the same columns, for a search run inside the runner's callbacks (`SearchHelper`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import highspy
import numpy as np
import pyomo.environ as pyo
from highspy.highs import HighsCallbackEvent
from pyomo.contrib.solver.common.results import SolutionStatus
from pyomo.contrib.solver.solvers.highs import Highs
from pyomo.core.base.var import VarData

from optimizer.solve.highs.meter import Meter, StopRule
from optimizer.solve.highs.run import RunResult, reset_thread_scheduler, run_result, threads_of
from optimizer.solve.options import EffortClock, SolverOptions
from optimizer.status import Status, Termination, has_plan, status_of


@dataclass
class SolveOutcome:
    """What one solver run produced: what plan exists (`status`) and why it stopped
    (`termination`). Objective and bound are in the model's units ($M); NaN when absent."""

    status: Status
    termination: Termination
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


class SearchHelper(Protocol):
    """A search that runs beside one HiGHS MIP search, inside its callbacks, and hands it
    better plans instead of stopping it (so no proven bound is lost).

    `check(effort, bound, objective)` is asked at each of HiGHS's limit checks (effort seconds
    since the run began, its own and the helper's; $M) and may run the helper's own solves on
    another HiGHS instance, charging their effort to the solve's clock; it answers whether to
    stop HiGHS. `improved(values, objective)` is told each new incumbent of HiGHS (column
    values, $M). `offer()` is asked whenever HiGHS takes user solutions: a better plan's column
    values, or None.
    """

    def check(self, effort: float, bound: float, objective: float) -> bool: ...

    def improved(self, values: np.ndarray, objective: float) -> None: ...

    def offer(self) -> np.ndarray | None: ...


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


def _either(first: StopRule | None, second: StopRule) -> StopRule:
    """A stop rule that asks `first` (if any), then `second`."""
    if first is None:
        return second
    rule: StopRule = first
    return lambda *a: rule(*a) or second(*a)


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
        highs = self._highs
        highs.clearSolver()
        # HiGHS keeps a `should_stop` interrupt set for every later run of this instance;
        # registering the callbacks again clears it.
        highs.enableCallbacks()
        self._start_given = False

    def set_start(self, values: list[tuple[pyo.Var, float]]) -> None:
        """Give HiGHS a starting plan (a MIP start); variables not given are left free."""
        cols = self.columns(var for var, _ in values)
        vals = np.array([float(value) for _, value in values], dtype=np.float64)
        known = cols >= 0
        if known.any():
            self.set_start_columns(vals[known], cols[known])

    def solve(self, options: SolverOptions | None = None, *, time_limit: float | None = None,
              mip_gap: float | None = None, threads: int | None = None, seed: int | None = None,
              should_stop: StopRule | None = None,
              on_progress: ProgressHook | None = None,
              clock: EffortClock | None = None,
              helper: SearchHelper | None = None,
              deadline: float | None = None) -> SolveOutcome:
        """Solve with `options`; check that the objective HiGHS reports is that of the plan it
        returns.

        `time_limit`, `mip_gap`, `threads`, `seed`, `deadline` (a wall-clock moment the run must
        not pass, `SolverOptions.deadline`): given (not None), each replaces that value of
        `options`; without `options`, time_limit and mip_gap are needed (threads and seed
        default to 0). The run stops on its effort (`options.effort_seconds`, `Meter`): the
        outcome's termination is then "effort_limit"; "time_limit" means the wall-clock safety
        cap stopped it (not reproducible). Its effort is charged to `clock`.

        `should_stop(effort seconds, bound, objective)` is asked as the MIP search runs (effort
        seconds since it began, the proven bound and the best plan's objective, $M); when it
        answers True the search stops and the outcome's termination is "interrupted".

        `helper`: a search run beside HiGHS inside its callbacks (`SearchHelper`), its plans
        handed to HiGHS as user solutions; its effort counts against the run's.

        `on_progress(seconds, bound, objective)` (same figures) is told of each improving plan
        and each line of HiGHS's MIP log (every few seconds); it must return quickly.

        HiGHS 1.16 can misreport the objective of a user-supplied start after presolve (seen:
        "MIP start solution is feasible in the reduced space" with a different value), and then
        stop at that start, calling it optimal. When the reported and the recomputed objective
        disagree after a MIP start, the solve is repeated without the start.
        """
        if on_progress is not None:
            return self._with_progress(on_progress, lambda: self.solve(
                options, time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed,
                should_stop=should_stop, clock=clock, helper=helper, deadline=deadline))
        if options is None:
            if time_limit is None or mip_gap is None:
                raise TypeError("solve needs SolverOptions or a time_limit and a mip_gap")
            options = SolverOptions(time_limit=time_limit, mip_gap=mip_gap)
        options = options.with_overrides(time_limit=time_limit, mip_gap=mip_gap,
                                         threads=threads, seed=seed, deadline=deadline)
        if helper is None:
            return self._solve_checked(options, should_stop, clock)
        return self._with_helper(helper, lambda: self._solve_checked(
            options, _either(should_stop, helper.check), clock))

    def _with_helper(self, helper: SearchHelper, run: Callable[[], SolveOutcome]
                     ) -> SolveOutcome:
        """`run()` with `helper` told of HiGHS's incumbents and asked for user solutions."""
        highs = self._highs

        def improved(event: HighsCallbackEvent) -> None:
            helper.improved(np.array(event.data_out.mip_solution, dtype=float),
                            float(event.data_out.objective_function_value))

        def offer(event: HighsCallbackEvent) -> None:
            values = helper.offer()
            if values is not None and event.data_in is not None:
                event.data_in.setSolution(np.asarray(values, dtype=np.float64))

        highs.cbMipImprovingSolution.subscribe(improved)
        highs.cbMipUserSolution.subscribe(offer)
        try:
            return run()
        finally:
            highs.cbMipImprovingSolution.unsubscribe(improved)
            highs.cbMipUserSolution.unsubscribe(offer)

    def _with_progress(self, hook: ProgressHook, run: Callable[[], SolveOutcome]
                       ) -> SolveOutcome:
        """`run()` with `hook` subscribed to HiGHS's improving-solution and MIP-log callbacks."""
        highs = self._highs

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

    def _solve_checked(self, options: SolverOptions, should_stop: StopRule | None,
                       clock: EffortClock | None) -> SolveOutcome:
        outcome = self._run(options, should_stop, clock)
        if self._start_given and has_plan(outcome.status) \
                and not self._objective_consistent(outcome.objective):
            self.clear()  # drops the start and the bad incumbent
            note = ("sitepivot: HiGHS misreported the objective of the MIP start "
                    f"({outcome.objective:.9g} reported, {self.model_objective():.9g} "
                    "actual); solved again without the start.\n")
            retry = self._run(options, should_stop, clock)
            retry.log = outcome.log + note + retry.log
            retry.seconds += outcome.seconds
            outcome = retry
        self._start_given = False
        if has_plan(outcome.status) and not self._objective_consistent(outcome.objective):
            outcome.status = Status.ERROR
            outcome.termination = Termination.INCONSISTENT_OBJECTIVE
        return outcome

    # ----------------------------------------------------------------- HiGHS's columns
    # A search changes the model in place and re-solves it, in HiGHS's column order: the
    # methods below. Bounds changed here are HiGHS's only (Pyomo's variables keep theirs), so
    # whoever changes them restores them before the next `solve`.

    @property
    def _highs(self) -> highspy.Highs:
        return self.solver._solver_model  # the highspy.Highs object behind Pyomo's interface

    def columns(self, variables: Iterable[VarData], *, free_only: bool = False) -> np.ndarray:
        """HiGHS column of each variable (int64), -1 for one HiGHS does not have (or, with
        `free_only`, one fixed in Pyomo)."""
        var_map = self.solver._pyomo_var_to_solver_var_map
        return np.array([-1 if free_only and var.fixed else var_map.get(id(var), -1)
                         for var in variables], dtype=np.int64)

    def column_count(self) -> int:
        return int(self._highs.getNumCol())

    def column_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) bounds of every column as HiGHS has them now."""
        lp = self._highs.getLp()
        return np.array(lp.col_lower_), np.array(lp.col_upper_)

    def set_column_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Change the bounds of columns `cols` in HiGHS only (nothing rebuilt)."""
        cols = np.asarray(cols, dtype=np.int32)
        self._highs.changeColsBounds(len(cols), cols, np.asarray(lower, dtype=float),
                                     np.asarray(upper, dtype=float))

    def objective_coefficients(self) -> tuple[np.ndarray, float]:
        """(cost per column, constant): the model's objective is cost . values + constant."""
        lp = self._highs.getLp()
        return np.array(lp.col_cost_), float(lp.offset_)

    def column_values(self) -> np.ndarray:
        """Column values of the plan loaded in the Pyomo model's variables (after a solve);
        0 for a variable without a value."""
        var_map = self.solver._pyomo_var_to_solver_var_map
        values = np.zeros(self.column_count())
        for var in self.model.component_data_objects(pyo.Var):
            col = var_map.get(id(var))
            if col is not None and var.value is not None:
                values[col] = var.value
        return values

    def load_column_values(self, values: np.ndarray) -> None:
        """Put column values into the Pyomo model's variables (fixed ones keep theirs)."""
        var_map = self.solver._pyomo_var_to_solver_var_map
        for var in self.model.component_data_objects(pyo.Var):
            col = var_map.get(id(var))
            if col is not None and not var.fixed:
                var.set_value(float(values[col]), skip_validation=True)

    def set_start_columns(self, values: np.ndarray, cols: np.ndarray | None = None) -> None:
        """A MIP start for the next `solve` or `run_columns`: `values` of columns `cols` (None:
        a complete plan, every column in order)."""
        cols = np.arange(len(values), dtype=np.int32) if cols is None \
            else np.asarray(cols, dtype=np.int32)
        self._highs.setSolution(len(cols), cols, np.asarray(values, dtype=np.float64))
        self._start_given = True

    def run_columns(self, *, time_limit: float, mip_gap: float, threads: int = 0,
                    seed: int = 0, clock: EffortClock | None = None) -> RunResult:
        """A quiet HiGHS run of the model as it is now (bounds changed in place included), from
        the start given by `set_start_columns` if any, within `time_limit` effort seconds
        (`Meter`, charged to `clock`); nothing is loaded into Pyomo and the objective is not
        checked (the caller values the columns itself). `threads` 0 leaves HiGHS's thread count
        as it is."""
        highs = self._highs
        for key, value in (("output_flag", False), ("log_to_console", False),
                           ("mip_rel_gap", float(mip_gap)), ("random_seed", int(seed))):
            highs.setOptionValue(key, value)
        if threads:
            highs.setOptionValue("threads", int(threads))
        self._start_given = False  # the start is used up by this run
        with Meter(highs, max(0.01, float(time_limit)), clock) as meter:
            status = highs.run()
        return run_result(highs, status, termination=meter.termination())

    def model_objective(self) -> float:
        """The Pyomo objective at the variables' current values ($M)."""
        objective = next(self.model.component_data_objects(pyo.Objective, active=True))
        return float(pyo.value(objective))

    def _objective_consistent(self, reported: float) -> bool:
        return bool(np.isclose(self.model_objective(), reported, rtol=1e-7, atol=1e-7))

    def _run(self, options: SolverOptions, should_stop: StopRule | None = None,
             clock: EffortClock | None = None) -> SolveOutcome:
        highs_options = {"random_seed": options.seed, "output_flag": True,
                         "log_to_console": True}
        threads = threads_of(options)
        # HiGHS keeps one thread scheduler per process; a different thread count needs a
        # fresh one, or the run stops with an error.
        reset_thread_scheduler()
        started = time.perf_counter()
        with Meter(self._highs, options.effort_seconds, clock, should_stop) as meter:
            results = self.solver.solve(
                self.model, time_limit=options.time_cap, rel_gap=options.mip_gap,
                threads=threads, load_solutions=False,
                raise_exception_on_nonoptimal_result=False, solver_options=highs_options,
                auto_updates=NO_AUTO_UPDATES)
        seconds = time.perf_counter() - started
        termination = meter.termination()
        solution = results.solution_status in (SolutionStatus.optimal, SolutionStatus.feasible)
        objective = (float(results.incumbent_objective)
                     if solution and results.incumbent_objective is not None else float("nan"))
        bound = (float(results.objective_bound) if results.objective_bound is not None
                 else float("nan"))
        if solution:
            results.solution_loader.load_vars()
        status = status_of(termination, solution)
        if status == Status.OPTIMAL and bound != bound:
            bound = objective
        return SolveOutcome(status=status, termination=termination, objective=objective,
                            bound=bound, gap=relative_gap(objective, bound), seconds=seconds,
                            log=results.solver_log or "")


class HighsTwin(HighsRunner):
    """A second HiGHS instance holding a copy of a runner's model, column for column: a search
    changes and runs it (the column methods, `run_columns`) while the runner's own HiGHS search
    is paused in a callback (`SearchHelper`). Its Pyomo model and column map are the runner's;
    it never loads values into them, nor runs the audited `solve`."""

    def __init__(self, runner: HighsRunner) -> None:
        self.model = runner.model
        self.solver = runner.solver  # its column map only
        self._start_given = False
        self._copy = highspy.Highs()
        self._copy.setOptionValue("output_flag", False)
        self._copy.passModel(runner._highs.getLp())

    @property
    def _highs(self) -> highspy.Highs:
        return self._copy
