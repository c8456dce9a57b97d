"""A whole-run time budget split into per-solve budgets, up front and deterministically.

`sitepivot sweep` and `sitepivot robust` run many solves. ``--time-limit S`` is each solve's
limit; ``--total-time T`` is the whole run's. With T, each solve's budget is fixed before the
run starts, from T, the number of solves and the number of parallel slots only (`split_total`),
never from the time left as the run goes: the same command on the same inputs gives each solve
the same budget, so its results do not depend on how busy the machine was (solves that stop on
a deterministic measure of work stay reproducible).

The split. The solves run in `waves`: rounds in which each slot (a worker process, a Dask
worker thread, or this process) runs one solve; a phase of n solves on p slots takes
ceil(n / p) waves. Each solve gets

    per solve = ((T - reserve) * SOLVE_SHARE - overhead) / waves

capped by ``--time-limit`` when that is given too, where reserve is START_RESERVE_S when a
process pool must be started (else 0) and overhead is the time spent around the solves
(building and updating each model, valuing and auditing its answer), estimated from the
model's size (`solve_overhead_s`: a fixed formula, not a measurement, so the split stays the
same on any machine load). Reading the workbook and writing the report come on top of T.

Safety cap. The run also has a wall-clock deadline, T seconds from its start: a solve that
would run past it gets only the time left (at least `MIN_CAPPED_S`), and every solve's
wall-clock cap is the deadline (`SolverOptions.deadline`), so a loaded machine cannot carry the
run past T. A solve cut so is "capped": its result depends on the machine's speed, and the run
says on the console and in its workbook that it is not reproducible.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from models.errors import UsageError

START_RESERVE_S = 3.0  # seconds of T kept for starting worker processes (spawn, imports)
SOLVE_SHARE = 0.9  # share of the rest given to the solves and their overhead (10% margin)
# Time around one solve (economics, model build or update, HiGHS set-up, valuing and auditing
# the answer): measured 0.87-0.94 s on the sample's 1,273 integer columns (2-core VM,
# 2026-12-02): about 0.1 s plus 0.7 ms per integer column.
OVERHEAD_BASE_S = 0.1
OVERHEAD_S_PER_COLUMN = 0.0007
MIN_SOLVE_S = 0.5  # a split leaving a solve less than this is refused (raise T)
MIN_CAPPED_S = 0.1  # a solve capped by the deadline still gets this long


@dataclass(frozen=True)
class RunBudget:
    """Each solve's budget and the whole run's (seconds).

    per_solve_s: every solve's time limit, fixed up front; total_s: the whole run's budget
    (None: no whole-run budget, each solve has `per_solve_s`); waves and slots: how the split
    counted (see the module docstring); deadline: the wall-clock moment (``time.time()``) by
    which the run's solves end, None without a total."""

    per_solve_s: float
    total_s: float | None = None
    waves: int = 1
    slots: int = 1
    deadline: float | None = None

    def limit_now(self) -> tuple[float, bool]:
        """The limit of a solve starting now, and whether the deadline cut it (capped)."""
        if self.deadline is None:
            return self.per_solve_s, False
        left = self.deadline - time.time()
        if left >= self.per_solve_s:
            return self.per_solve_s, False
        return max(MIN_CAPPED_S, left), True

    def describe(self) -> str:
        """One line for the console and the workbook: which budget is which."""
        if self.total_s is None:
            return f"time limit {self.per_solve_s:g} s per solve (no whole-run budget)"
        return (f"total time {self.total_s:g} s for the whole run: {self.per_solve_s:.3g} s per "
                f"solve, fixed up front ({self.waves} wave(s) of solves on {self.slots} "
                "slot(s))")


# Terminations that do not depend on when a solve was stopped: the gap proven, infeasibility.
SETTLED = frozenset({"optimal", "infeasible", "infeasible_or_unbounded"})


def cut_short(capped: bool, termination: str) -> bool:
    """Whether the whole run's deadline cut a solve short: it stopped it (a solve's wall-clock
    cap is never later than the deadline, `SolverOptions.deadline`: "time_limit"), or it
    lowered the solve's limit (`capped`) and the solve ended unsettled (`SETTLED`)."""
    return str(termination) == "time_limit" or (capped and str(termination) not in SETTLED)


def solve_overhead_s(columns: int) -> float:
    """Estimated seconds around one solve of a model with `columns` integer columns (see
    OVERHEAD_S_PER_COLUMN): deterministic, from the size only."""
    return OVERHEAD_BASE_S + OVERHEAD_S_PER_COLUMN * max(0, int(columns))


def waves(solves: int, slots: int) -> int:
    """Rounds needed to run `solves` solves on `slots` parallel slots: ceil(solves / slots)."""
    return math.ceil(max(0, solves) / max(1, slots))


def split_total(total_s: float | None, wave_count: int, slots: int, time_limit: float, *,
                overhead_s: float = 0.0, reserve_s: float = 0.0) -> RunBudget:
    """The budget of each solve (see the module docstring): `time_limit` alone without a
    total; with `total_s`, ((total_s - reserve_s) * SOLVE_SHARE - overhead_s) / `wave_count`,
    capped by `time_limit` (`overhead_s`: the estimated time around the solves of all waves).
    UsageError when the total leaves a solve less than MIN_SOLVE_S."""
    if total_s is None:
        return RunBudget(per_solve_s=float(time_limit))
    if not (math.isfinite(total_s) and total_s > 0):
        raise UsageError(f"--total-time must be a number of seconds > 0, not {total_s!r}")
    count = max(1, int(wave_count))
    per = ((float(total_s) - reserve_s) * SOLVE_SHARE - overhead_s) / count
    if per < MIN_SOLVE_S:
        least = reserve_s + (MIN_SOLVE_S * count + overhead_s) / SOLVE_SHARE
        raise UsageError(f"--total-time {total_s:g} s leaves {max(per, 0.0):.2f} s per solve "
                         f"for {count} wave(s) of solves on {slots} slot(s); give at least "
                         f"{math.ceil(least)} s, fewer draws or more workers")
    return RunBudget(per_solve_s=min(per, float(time_limit)), total_s=float(total_s),
                     waves=count, slots=max(1, int(slots)),
                     deadline=time.time() + float(total_s))
