"""The one module that talks to HiGHS: only here is highspy imported or Pyomo's solver internals
(`_solver_model`, `_pyomo_var_to_solver_var_map`) read.

Two doors:
- `HighsRunner`: a Pyomo model in a persistent HiGHS instance (Pyomo's `highs` interface). `solve`
  is the audited solve every method ends with; the column methods (`columns`, `column_bounds`,
  `set_column_bounds`, `objective_coefficients`, `column_values`, `load_column_values`,
  `set_start_columns`, `run_columns`) let a search change the model in place and re-solve it
  quietly, in HiGHS's column order, without a rebuild.
- `HighsModel`: a model given as arrays (the decomposition's pricing MILPs, master LP and MIP over
  columns), maximised, quiet.

Why it stopped and what solution exists are kept apart, in sitepivot's own words: a time-limited
run that has a plan is `feasible` with a gap, never `optimal`.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
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

from optimizer.solve.options import (
    RUN_OVERHEAD_SECONDS,
    WORK_PER_SECOND,
    EffortClock,
    SolverOptions,
    time_cap,
)
from optimizer.status import Status, Termination, has_plan, status_of

INF = highspy.kHighsInf  # HiGHS's infinity, for bounds and "no bound known"
# Threads of a solve whose options say 0: fixed, so that a plan does not depend on the machine's
# core count; one, as measured (benchmarks/README.md, "Threads": HiGHS 1.16 on two threads
# against one on the sample).
DEFAULT_THREADS = 1

# HiGHS's model status -> why the solver stopped, in sitepivot's words: the one map, read by
# every run (`HighsRunner.solve`, `HighsRunner.run_columns`, `HighsModel.run`). It gives the
# conditions Pyomo's interface derives from the same status, and adds HiGHS's interrupt (a
# `should_stop` stop or Ctrl-C), which Pyomo has no name for. Not listed (kNotset, kModelEmpty,
# kUnknown): unknown.
_S = highspy.HighsModelStatus
TERMINATION: dict[highspy.HighsModelStatus, Termination] = {
    _S.kOptimal: Termination.OPTIMAL,
    _S.kTimeLimit: Termination.TIME_LIMIT,
    _S.kIterationLimit: Termination.ITERATION_LIMIT,
    _S.kSolutionLimit: Termination.ITERATION_LIMIT,
    _S.kObjectiveBound: Termination.OBJECTIVE_LIMIT,
    _S.kObjectiveTarget: Termination.OBJECTIVE_LIMIT,
    _S.kInfeasible: Termination.INFEASIBLE,
    _S.kUnboundedOrInfeasible: Termination.INFEASIBLE_OR_UNBOUNDED,
    _S.kUnbounded: Termination.UNBOUNDED,
    _S.kInterrupt: Termination.INTERRUPTED,
    _S.kLoadError: Termination.ERROR,
    _S.kModelError: Termination.ERROR,
    _S.kPresolveError: Termination.ERROR,
    _S.kSolveError: Termination.ERROR,
    _S.kPostsolveError: Termination.ERROR,
    _S.kMemoryLimit: Termination.ERROR,
}


def termination_of(highs: highspy.Highs) -> Termination:
    """Why HiGHS's last run stopped (`TERMINATION`)."""
    return TERMINATION.get(highs.getModelStatus(), Termination.UNKNOWN)


def _lp_iterations(out: object, running_time: float, nodes: int) -> int | None:
    """The MIP's LP iterations so far, read from HiGHS's callback output, or None.

    HiGHS fills `mip_total_lp_iterations` in the callback output of every MIP check
    (`HighsCallbackOutput`, HiGHS 1.16), but highspy 1.16 does not expose that field. It is
    read here from the C++ struct behind the Python object (pybind11 keeps the struct's address
    just after the object's header; the field follows `mip_node_count`), and trusted only when
    the fields around it hold exactly what highspy reports for `running_time` and
    `mip_node_count`; otherwise None (the caller then counts checks).
    """
    if not _STRUCT_READABLE:
        return None
    try:
        base = ctypes.c_void_p.from_address(id(out) + _PYBIND_VALUE_OFFSET).value
        if not base:
            return None
        if ctypes.c_double.from_address(base + _RUNNING_TIME_OFFSET).value != running_time \
                or ctypes.c_int64.from_address(base + _NODE_COUNT_OFFSET).value != nodes:
            return None
        return int(ctypes.c_int64.from_address(base + _NODE_COUNT_OFFSET + 8).value)
    except (ValueError, OverflowError):
        return None


# The offsets below were read off highspy 1.16 (CPython's object header); on another version a
# read through them could touch the wrong memory, so only that version is read at all, and any
# other counts checks (a different effort scale: pyproject pins highspy to 1.16.x).
_STRUCT_READABLE = importlib.metadata.version("highspy").startswith("1.16.")
_PYBIND_VALUE_OFFSET = 16  # a pybind11 instance: PyObject header, then the value's address
_RUNNING_TIME_OFFSET = 16  # HighsCallbackOutput: Highs*, log type, running_time, ...
_NODE_COUNT_OFFSET = 48  # ... objective value, mip_node_count, mip_total_lp_iterations
ITERATIONS_PER_CHECK = 30  # LP iterations a check counts for when they cannot be read (the
# sample's average, benchmarks/effort.py)


def work_scale(rows: float) -> float:
    """Work units per LP iteration on a model of `rows` rows: (rows / 1000) ** 0.7 (at least
    0.1). An iteration costs more on a larger model; with this scale an effort second took
    about as long on the sample (2,322 rows), 8x40 (1,825) and 60x40 (12,727) instances
    (benchmarks/effort.py)."""
    return max(0.1, (max(1.0, float(rows)) / 1000.0) ** 0.7)


def _free_rows(highs: highspy.Highs) -> float:
    """The model's rows times the share of its columns that are free (lower < upper): a
    neighbourhood's MILP, most columns fixed, is a small model once presolved, and its LP
    iterations cost what a small model's do."""
    lp = highs.getLp()
    n = max(1, int(lp.num_col_))
    free = int(np.count_nonzero(np.asarray(lp.col_lower_) < np.asarray(lp.col_upper_)))
    return int(lp.num_row_) * max(free, 1) / n


class Meter:
    """Stops one HiGHS run once it has spent `effort` effort seconds, a deterministic point of
    the search; the wall clock (`time_cap`) is the run's safety cap only. Charges the run's work
    to `clock`.

    Work: the MIP's LP iterations plus one per limit check (HiGHS's `kCallbackMipInterrupt`,
    asked at fixed points of the search: each node, each root cut round, ...), times
    `work_scale` of the model's rows times its share of free columns (`_free_rows`);
    WORK_PER_SECOND units make an effort second (`optimizer.solve.options`).
    Both counts are the same in the same order whatever the machine's load, so the stop is too.
    An LP (no MIP checks) is charged its simplex iterations the same way.

    `rule(effort seconds since the run began, proven bound, best objective) -> stop?` is asked at
    each check too (a method's hand-over; it may run solves of its own, whose effort, charged to
    the clock, counts in the run's); a stop by it is "interrupted", by the budget
    "effort_limit", by the cap "time_limit" (and the clock is marked `capped`).
    """

    def __init__(self, highs: highspy.Highs, effort: float, clock: EffortClock | None = None,
                 rule: StopRule | None = None) -> None:
        self.highs, self.clock, self.rule = highs, clock, rule
        # the model as it will run: set `highs`'s bounds before the Meter is made
        self.effort = float(effort)
        self.scale = work_scale(_free_rows(highs))
        self.checks = 0
        self.iterations = 0  # the MIP's LP iterations at the last check
        self.began = 0.0  # the clock when the run began
        self.stopped_by = ""  # "effort" or "rule" when this meter stopped the run

    def own(self) -> float:
        """Effort seconds of this run's own work so far."""
        if self.checks:
            work = self.iterations + self.checks
        else:
            work = max(0, int(self.highs.getInfo().simplex_iteration_count))
        return work * self.scale / WORK_PER_SECOND

    def elapsed(self) -> float:
        """Effort seconds since the run began: its own work, and the effort of any run made
        inside its callbacks (a search beside it, `SearchHelper`), charged to the clock."""
        nested = self.clock.now() - self.began if self.clock is not None else 0.0
        return self.own() + nested

    def _check(self, event: HighsCallbackEvent) -> None:
        self.checks += 1
        if self.stopped_by:
            event.interrupt()
            return
        out = event.data_out
        iterations = _lp_iterations(out, out.running_time, out.mip_node_count)
        self.iterations = (max(self.iterations, iterations) if iterations is not None
                           else self.checks * ITERATIONS_PER_CHECK)
        if self.elapsed() >= self.effort:
            self.stopped_by = "effort"
        elif self.rule is not None and self.rule(self.elapsed(), out.mip_dual_bound,
                                                 out.mip_primal_bound):
            self.stopped_by = "rule"
        if self.stopped_by:
            event.interrupt()

    def __enter__(self) -> Meter:
        self.began = self.clock.now() if self.clock is not None else 0.0
        self.highs.setOptionValue("time_limit", time_cap(self.effort))
        self.highs.cbMipInterrupt.subscribe(self._check)
        return self

    def __exit__(self, *exc: object) -> None:
        self.highs.cbMipInterrupt.unsubscribe(self._check)
        # HiGHS keeps an interrupt set for every later run of this instance; registering the
        # callbacks again clears it.
        self.highs.enableCallbacks()
        if self.clock is not None:
            self.clock.add(self.spent())
            if self.highs.getModelStatus() == highspy.HighsModelStatus.kTimeLimit:
                self.clock.capped = True

    def spent(self) -> float:
        """Effort seconds this run spent, its own work (nested runs charged themselves)."""
        return self.own() + RUN_OVERHEAD_SECONDS

    def termination(self) -> Termination:
        """Why the run stopped, the meter's stops named."""
        if self.highs.getModelStatus() == highspy.HighsModelStatus.kInterrupt \
                and self.stopped_by == "effort":
            return Termination.EFFORT_LIMIT
        return termination_of(self.highs)


def reset_thread_scheduler() -> None:
    """Start HiGHS's thread scheduler afresh. HiGHS keeps one per process; a run with a different
    thread count than the one that started it stops with an error."""
    highspy.Highs.resetGlobalScheduler(True)


@dataclass
class RunResult:
    """One quiet HiGHS run (`HighsModel.run`, `HighsRunner.run_columns`), in HiGHS's columns.

    failed: the run returned an error or left no valid information (then nothing it says is
    proof). termination: sitepivot's word for HiGHS's model status. values: column values of the
    best solution, None if there is none. objective: its objective ($M; NaN without one). bound:
    HiGHS's MIP dual bound (for an LP, meaningless). duals: row duals when asked for; then
    `values` too are HiGHS's last iterate even when it is not feasible (an LP's final basis).
    """

    failed: bool
    termination: Termination
    values: np.ndarray | None
    objective: float
    bound: float
    duals: np.ndarray | None = None

    @property
    def optimal(self) -> bool:
        return self.termination == Termination.OPTIMAL


def _run_result(highs: highspy.Highs, run_status: highspy.HighsStatus, duals: bool = False,
                termination: Termination | None = None) -> RunResult:
    info = highs.getInfo()
    termination = termination_of(highs) if termination is None else termination
    failed = run_status == highspy.HighsStatus.kError or not info.valid
    has_solution = info.primal_solution_status == 2  # 0 none, 1 infeasible, 2 feasible
    values = row_duals = None
    if has_solution or duals:
        solution = highs.getSolution()
        values = np.array(solution.col_value)
        if duals:
            row_duals = np.array(solution.row_dual)
    return RunResult(failed=failed, termination=termination, values=values,
                     objective=float(info.objective_function_value) if has_solution or duals
                     else float("nan"),
                     bound=float(info.mip_dual_bound), duals=row_duals)


def threads_of(options: SolverOptions) -> int:
    """HiGHS's thread count for `options`: 0 (the default) means DEFAULT_THREADS, a fixed count,
    so that a solve is the same on any machine (HiGHS's own default follows the core count)."""
    return int(options.threads) or DEFAULT_THREADS


class HighsModel:
    """A HiGHS model given as arrays, maximised, with HiGHS's output off.

    `threads` (at least 1) and `seed` are HiGHS's options; `options` any others
    (`mip_rel_gap=1e-6`, `presolve="off"`, ...). Bounds of +-INF are free.
    """

    def __init__(self, *, threads: int = 1, seed: int = 0, clock: EffortClock | None = None,
                 **options: float | int | str | bool) -> None:
        self.clock = clock  # charged each run's effort (None: not counted)
        self._highs = highspy.Highs()
        self._highs.setOptionValue("output_flag", False)
        self._highs.setOptionValue("threads", max(1, int(threads)))
        self._highs.setOptionValue("random_seed", int(seed))
        for name, value in options.items():
            self._highs.setOptionValue(name, value)
        self._highs.changeObjectiveSense(highspy.ObjSense.kMaximize)

    def set_option(self, name: str, value: float | int | str | bool) -> None:
        self._highs.setOptionValue(name, value)

    def load(self, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray, integer: np.ndarray,
             row_lower: np.ndarray, row_upper: np.ndarray,
             matrix: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        """Replace the model: max cost . x, lower <= x <= upper (x integer where `integer`),
        row_lower <= A x <= row_upper with A given column-wise (CSC: starts, rows, values)."""
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = len(cost), len(row_lower)
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lower, upper
        lp.row_lower_, lp.row_upper_ = row_lower, row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = matrix
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = len(cost), len(row_lower)
        lp.sense_ = highspy.ObjSense.kMaximize
        if integer.any():
            lp.integrality_ = [highspy.HighsVarType.kInteger if i
                               else highspy.HighsVarType.kContinuous for i in integer]
        self._highs.passModel(lp)

    def add_rows(self, lower: np.ndarray, upper: np.ndarray) -> None:
        """Append empty rows lower <= . <= upper (columns added later fill them)."""
        self._highs.addRows(len(lower), lower, upper, 0, np.zeros(len(lower), dtype=np.int32),
                            np.zeros(0, dtype=np.int32), np.zeros(0))

    def add_column(self, cost: float, lower: float, upper: float, rows: np.ndarray,
                   values: np.ndarray) -> None:
        """Append one column with its nonzeros `values` in `rows`."""
        self._highs.addCol(float(cost), float(lower), float(upper), len(rows),
                           np.asarray(rows, dtype=np.int32), np.asarray(values, dtype=float))

    def set_costs(self, cost: np.ndarray) -> None:
        """New objective coefficients of every column."""
        n = len(cost)
        self._highs.changeColsCost(n, np.arange(n, dtype=np.int32),
                                   np.asarray(cost, dtype=float))

    def set_column_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        cols = np.asarray(cols, dtype=np.int32)
        self._highs.changeColsBounds(len(cols), cols,
                                     np.broadcast_to(np.asarray(lower, float), cols.shape),
                                     np.broadcast_to(np.asarray(upper, float), cols.shape))

    def set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int32)
        change = self._highs.changeRowsBounds  # type: ignore[attr-defined]  # not in the stubs
        change(len(rows), rows, np.asarray(lower, float), np.asarray(upper, float))

    def set_start(self, values: np.ndarray, cols: np.ndarray | None = None) -> None:
        """A MIP start for the next run: `values` of columns `cols` (None: all, in order)."""
        cols = np.arange(len(values), dtype=np.int32) if cols is None \
            else np.asarray(cols, dtype=np.int32)
        self._highs.setSolution(len(cols), cols, np.asarray(values, dtype=np.float64))

    def clear_solution(self) -> None:
        """Forget the last solution, basis and MIP start (the model stays)."""
        self._highs.clearSolver()

    def run(self, time_limit: float | None = None, *, duals: bool = False) -> RunResult:
        """Solve within `time_limit` effort seconds if given (`Meter`; a MIP stops on its
        work, the wall clock is its safety cap); `duals`: also return the row duals."""
        if time_limit is None:
            self._highs.setOptionValue("time_limit", INF)
            status = self._highs.run()
            if self.clock is not None:
                self.clock.add(Meter(self._highs, 0.0).spent())
            return _run_result(self._highs, status, duals)
        with Meter(self._highs, time_limit, self.clock) as meter:
            status = self._highs.run()
        return _run_result(self._highs, status, duals, meter.termination())


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


# (seconds since the MIP search began, proven bound, best objective) -> stop now?
StopRule = Callable[[float, float, float], bool]


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
              helper: SearchHelper | None = None) -> SolveOutcome:
        """Solve with `options`; check that the objective HiGHS reports is that of the plan it
        returns.

        `time_limit`, `mip_gap`, `threads`, `seed`: given (not None), each replaces that value
        of `options`; without `options`, time_limit and mip_gap are needed (threads and seed
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
                should_stop=should_stop, clock=clock, helper=helper))
        if options is None:
            if time_limit is None or mip_gap is None:
                raise TypeError("solve needs SolverOptions or a time_limit and a mip_gap")
            options = SolverOptions(time_limit=time_limit, mip_gap=mip_gap)
        options = options.with_overrides(time_limit=time_limit, mip_gap=mip_gap,
                                         threads=threads, seed=seed)
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
        return _run_result(highs, status, termination=meter.termination())

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
