"""One scenario sub-problem, solved where it runs (in-process, a pool process or a Dask worker).

`solve_recourse(task)` builds the scenario's conversion model (`models.conversion.build_model`),
optionally fixes its first stage (`models.robust.fix_first_stage`), gives a MIP start if any,
solves with HiGHS (`optimizer.solve.highs.HighsRunner`, one thread, fixed seed) and audits the
answer: the NPV recomputed from the decisions with `models.economics.evaluate` must equal the
solver's objective. It never raises: a failure is a result with status ``error`` and the
message, so no scenario is ever dropped. `run_tasks` runs many, in this process, on a process
pool or on Dask (`optimizer.parallel`), each with one HiGHS thread and a fixed seed, so the
results do not depend on where they ran (unless a time limit binds).

- wait-and-see (perfect foresight): ``first_stage=None``, every start free;
- a first stage fixed (the deterministic plan's: EEV; the robust one; a candidate): the
  recourse, i.e. the later starts and the mining, re-optimised for that scenario;
- one start forbidden (`RecourseTask.forbid`), the rest free or fixed as above: the robust
  firmness re-solves (`optimizer.robust.firmness`).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.conversion import build_model
from models.economics import build_economics
from models.firmness import forbid
from models.portfolio import Portfolio
from models.robust import FirstKey, first_stage_variables, fix_first_stage, start_variables
from optimizer.budget import RunBudget, cut_short
from optimizer.checkpoint import ResultStore
from optimizer.parallel import run_all
from optimizer.solve.audit import audited_solution
from optimizer.solve.highs import HighsRunner
from optimizer.status import Status, has_plan

# Every positive start of an answer, by business key (site, option, start quarter): matched
# across futures by key, never by position (`models.robust`).
KeyedStarts = tuple[tuple[FirstKey, float], ...]


@dataclass(frozen=True)
class RecourseTask:
    """One solve: a scenario's portfolio, the first stage to fix (None: free) and a start."""

    label: str  # what the result is for, e.g. "eev 3" (kept in the result)
    scenario: int
    portfolio: Portfolio
    commit_quarters: int
    first_stage: tuple[tuple[FirstKey, float], ...] | None
    time_limit: float
    mip_gap: float
    seed: int = 0
    start: KeyedStarts = ()  # a MIP start: starts by key (all quarters); others start at 0
    # The whole run's wall-clock deadline (time.time()), a safety cap: a solve starting
    # closer to it than `time_limit` gets only what is left (`optimizer.budget`).
    deadline: float | None = None
    # A start forbidden beyond some units ((key, units kept)), every other start as above: the
    # firmness re-solves' wait-and-see bound (`models.firmness.forbid`).
    forbid: tuple[FirstKey, float] | None = None


@dataclass
class RecourseResult:
    """What one solve produced. Money in $M; NaN when absent."""

    label: str
    scenario: int
    status: str  # optimal | feasible | infeasible | no_solution | error
    termination: str  # a Termination, or robust's own: missing_start, extensive_form
    npv: float  # recomputed from the decisions (audited against the solver)
    bound: float  # proven upper bound on this sub-problem's NPV
    gap: float
    seconds: float
    starts: KeyedStarts = ()  # every positive start of the answer
    first_stage: KeyedStarts = ()  # its starts in quarters < K
    message: str = ""
    missing: tuple[FirstKey, ...] = field(default=())  # fixed starts absent in this scenario
    capped: bool = False  # the whole run's deadline cut the solve short: not reproducible

    @property
    def has_plan(self) -> bool:
        return has_plan(self.status)


def solve_recourse(task: RecourseTask) -> RecourseResult:
    """Solve one scenario sub-problem (see the module docstring); never raises."""
    started = time.perf_counter()
    try:
        return _solve(task, started)
    except Exception as err:  # a failure is a row, not a crash of the whole robust run
        return RecourseResult(task.label, task.scenario, "error", "error", np.nan, np.nan,
                              np.nan, time.perf_counter() - started,
                              message=f"{type(err).__name__}: {err}\n"
                              f"{traceback.format_exc(limit=3)}"[:2000])


def _solve(task: RecourseTask, started: float) -> RecourseResult:
    econ = build_economics(task.portfolio)
    model = build_model(econ)
    missing: list[FirstKey] = []
    if task.first_stage is not None:
        missing = fix_first_stage(model, task.commit_quarters, dict(task.first_stage))
        if missing:
            return RecourseResult(task.label, task.scenario, "infeasible", "missing_start",
                                  -np.inf, -np.inf, np.nan, time.perf_counter() - started,
                                  message="the first stage holds starts this scenario has no "
                                  "candidate for (they would not be online by the last "
                                  "quarter): " + ", ".join(map(str, missing)),
                                  missing=tuple(missing))
    if task.forbid is not None:
        forbid(model, *task.forbid)
    runner = HighsRunner(model)
    if task.start:
        wanted = dict(task.start)
        runner.set_start([(var, float(wanted.get(key, 0.0)))
                          for key, var in start_variables(model).items() if not var.fixed])
    limit, capped = RunBudget(task.time_limit, deadline=task.deadline).limit_now()
    outcome = runner.solve(time_limit=limit, mip_gap=task.mip_gap, threads=1, seed=task.seed,
                           deadline=task.deadline)
    capped = cut_short(capped, outcome.termination)
    seconds = time.perf_counter() - started
    if not has_plan(outcome.status):
        npv = -np.inf if outcome.status == Status.INFEASIBLE else np.nan
        return RecourseResult(task.label, task.scenario, outcome.status, outcome.termination,
                              npv, npv, np.nan, seconds, message=outcome.log[-1500:]
                              if outcome.status == "error" else "", capped=capped)
    # The equity NPV under objective = equity_npv.
    npv = audited_solution(econ, outcome.objective, model).npv
    values = {key: round(var.value or 0.0) for key, var in start_variables(model).items()}
    starts = tuple((k, float(v)) for k, v in sorted(values.items()) if v > 0)
    firsts = set(first_stage_variables(model, task.commit_quarters))
    return RecourseResult(task.label, task.scenario, outcome.status, outcome.termination,
                          npv, float(np.fmax(outcome.bound, npv)), outcome.gap,
                          seconds,
                          starts=starts, first_stage=tuple(s for s in starts if s[0] in firsts),
                          capped=capped)


def run_tasks(tasks: Sequence[RecourseTask], *, workers: int = 1,
              dask_address: str | None = None, bar: Any = None,
              store: ResultStore | None = None) -> list[RecourseResult]:
    """Solve every task (in this process, on `workers` processes or on the Dask scheduler at
    `dask_address`); results in task order. `bar` (`optimizer.progress.Counter`) is advanced
    per finished task. `store` keeps each result but a failure as it completes, and gives back
    those it holds (`optimizer.checkpoint`)."""
    results: list[RecourseResult | None] = [None] * len(tasks)

    def record(i: int, result: RecourseResult) -> None:
        results[i] = result
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(f"{result.label}: {result.status}", refresh=False)

    run_all(_solve_task, None, tasks, record=record, failed=_lost, workers=workers,
            dask_address=dask_address, store=store, keep=lambda r: r.status != "error")
    return [r for r in results if r is not None]


def _solve_task(_: None, task: RecourseTask) -> RecourseResult:
    return solve_recourse(task)  # each task carries its portfolio: nothing is shared


def _lost(task: RecourseTask, err: BaseException) -> RecourseResult:
    """The result of a task that died outside `solve_recourse` (a lost worker...)."""
    nan = float("nan")
    return RecourseResult(task.label, task.scenario, "error", "error", nan, nan, nan, nan,
                          message=f"{type(err).__name__}: {err}"[:2000])
