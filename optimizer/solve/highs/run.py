"""What every HiGHS run shares: HiGHS's infinity, its model statuses in sitepivot's words, the
thread count a solve runs on, and the result of one quiet run (`RunResult`).

Why it stopped and what solution exists are kept apart, in sitepivot's own words: a time-limited
run that has a plan is `feasible` with a gap, never `optimal`.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from optimizer.solve.options import SolverOptions
from optimizer.status import Termination

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


def run_result(highs: highspy.Highs, run_status: highspy.HighsStatus, duals: bool = False,
               termination: Termination | None = None) -> RunResult:
    """The `RunResult` of HiGHS's last run, which returned `run_status`; `termination` given (a
    `Meter`'s) stands for HiGHS's own."""
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
