"""HiGHS's effort, counted: `Meter` stops one run once it has spent its effort seconds, a
deterministic point of the search, and charges the run's work to an `EffortClock`.

Effort is read from HiGHS's MIP callbacks (its LP iterations and limit checks), so the same
model stops at the same point whatever the machine's load.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
from collections.abc import Callable

import highspy
import numpy as np
from highspy.highs import HighsCallbackEvent

from optimizer.solve.highs.run import termination_of
from optimizer.solve.options import RUN_OVERHEAD_SECONDS, WORK_PER_SECOND, EffortClock, time_cap
from optimizer.status import Termination

# (seconds since the MIP search began, proven bound, best objective) -> stop now?
StopRule = Callable[[float, float, float], bool]


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
