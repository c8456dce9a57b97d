"""What the parts of one robust run share: the sub-problem runner and the first-stage helpers.

`SubproblemRunner` builds each scenario sub-problem (`optimizer.robust.recourse.RecourseTask`)
with the run's settings, runs them (in process, on a pool or on Dask) and keeps each finished
solve in the run's store. First stages are dicts by business key (`models.robust.FirstKey`),
units as values; `frozen_first_stage` is their hashable, sorted form (positive units only).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from models.errors import SolverError
from models.portfolio import Portfolio
from models.robust import FirstKey, objective_value
from optimizer.budget import RunBudget
from optimizer.checkpoint import ResultStore
from optimizer.plan import Plan
from optimizer.robust.recourse import KeyedStarts, RecourseResult, RecourseTask, run_tasks

T = TypeVar("T")


@dataclass
class SubproblemRunner:
    """Runs the scenario sub-problems of one robust run: the settings they all share (K, each
    solve's time limit, gap, seed), where they run (workers, Dask), the progress bar, the
    run's budget and store, and how many solves its deadline cut short."""

    commit_quarters: int
    time_limit: float
    mip_gap: float
    seed: int
    workers: int
    dask_address: str | None
    bar: Any
    budget: RunBudget = field(default_factory=lambda: RunBudget(math.inf))
    store: ResultStore | None = None
    capped: int = 0  # solves the whole run's deadline cut short (not reproducible)

    def task(self, label: str, i: int, portfolio: Portfolio,
             first: dict[FirstKey, float] | None, start: KeyedStarts = ()) -> RecourseTask:
        """Solve `portfolio` (future `i`) with `first` fixed (None: free), started from
        `start`, within this run's settings."""
        return RecourseTask(label, i, portfolio, self.commit_quarters,
                            None if first is None else frozen_first_stage(first),
                            self.time_limit, self.mip_gap, self.seed, start,
                            deadline=self.budget.deadline)

    def remember(self, what: str, compute: Callable[[], T]) -> T:
        """`compute()`, or its result kept by an interrupted run of this one (`store`)."""
        return compute() if self.store is None else self.store.remember(what, compute)

    def run(self, tasks: Sequence[RecourseTask]) -> list[RecourseResult]:
        """Solve every task (results in task order); SolverError if any failed."""
        results = run_tasks(tasks, workers=self.workers, dask_address=self.dask_address,
                            bar=self.bar, store=self.store)
        self.capped += sum(r.capped for r in results)
        errors = [r for r in results if r.status == "error"]
        if errors:
            raise SolverError(f"{len(errors)} scenario sub-problem(s) failed; the first, "
                              f"{errors[0].label}: {errors[0].message}")
        return results


def plan_first_stage(plan: Plan, commit_quarters: int) -> dict[FirstKey, float]:
    """A Plan's starts in quarters 0 <= tau < K, by business key."""
    p = plan.portfolio
    out: dict[FirstKey, float] = {}
    for row in plan.decisions.itertuples(index=False):
        tau = p.t_of(row.start_quarter)
        if 0 <= tau < commit_quarters:
            key = ("hall", row.site, row.option, tau)
            out[key] = out.get(key, 0.0) + float(row.halls)
    for row in plan.upgrades.itertuples(index=False):
        tau = p.t_of(row.start_quarter)
        if 0 <= tau < commit_quarters:
            key = (row.kind, row.site, "", tau)
            out[key] = out.get(key, 0.0) + float(row.units)
    return out


def plan_starts(plan: Plan) -> KeyedStarts:
    """Every start of a Plan in quarters >= 0, by business key (a MIP start)."""
    return tuple(sorted(plan_first_stage(plan, 10**9).items()))


def frozen_first_stage(first: dict[FirstKey, float]) -> tuple[tuple[FirstKey, float], ...]:
    """A first stage's positive starts, sorted: hashable, and equal for equal first stages."""
    return tuple(sorted((k, float(v)) for k, v in first.items() if v > 0.5))


def values_of(results: Sequence[RecourseResult], attr: str = "npv") -> np.ndarray:
    """Each future's `attr` (npv or bound, $M): -inf where infeasible, NaN where unknown."""
    return np.array([getattr(r, attr) if r.has_plan or r.status == "infeasible" else np.nan
                     for r in results], dtype=float)


def robust_objective(values: np.ndarray, weights: np.ndarray, risk_weight: float,
                     cvar_level: float) -> float:
    """The robust objective of per-future values: -inf if infeasible in some future, +inf if
    some future is unbounded (a bound without a proof), NaN if a value is missing."""
    if (values == -math.inf).any():
        return -math.inf
    if (values == math.inf).any():
        return math.inf
    return objective_value(values, weights, risk_weight, cvar_level)
