"""The solver options a solve runs with, as one frozen object built once per solve, and the
deterministic effort every solve stops on.

Effort. HiGHS with a fixed thread count and seed is deterministic until a clock stops it, so no
solve stops on the clock: each stops once it has spent its effort. Work is counted in HiGHS's
LP iterations and MIP limit checks (`optimizer.solve.highs.Meter`), the same in the same order
whatever the machine's load. The user still thinks in seconds: `time_limit` seconds are
`time_limit * WORK_PER_SECOND` work units (measured: benchmarks/effort.py). An "effort second"
is WORK_PER_SECOND work units; every hand-over inside the methods counts effort seconds
(`EffortClock`), never elapsed ones. The wall clock stays as a safety cap only (`time_cap`); a
run the cap stops is not reproducible and says so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from models.portfolio import Settings

# Work units (LP iterations and MIP checks, scaled by the model's size:
# `optimizer.solve.highs.Meter`) per second of one thread on this project's 2-core machine,
# measured per CPU second of HiGHS alone on the sample, 8x40 and 60x40 instances over whole
# runs (benchmarks/README.md, "Effort": 5,600 to 17,600; the sample 8,800).
WORK_PER_SECOND = 8000.0
# The wall-clock safety cap of a solve: TIME_CAP_FACTOR x its seconds + TIME_CAP_SLACK s. Far
# enough that a loaded machine still finishes on effort; a run stopped by it is not reproducible.
TIME_CAP_FACTOR = 5.0
TIME_CAP_SLACK = 30.0
MIN_WALL_SECONDS = 0.1  # a solve a deadline leaves no time still gets this long
# Every quiet HiGHS run costs at least this many effort seconds (model hand-over, presolve),
# so that a loop of tiny solves ends too.
RUN_OVERHEAD_SECONDS = 0.01


@dataclass(frozen=True)
class SolverOptions:
    """time_limit: seconds of solving, as effort (`effort_seconds`; the wall-clock cap is
    `time_cap`); mip_gap: relative gap (bound - NPV) / |NPV| at which a plan counts as optimal;
    threads: HiGHS threads (0: one, the deterministic default); seed: HiGHS's random seed (and
    the searches' own); effort: effort seconds, when given, in place of time_limit's (the
    wall-clock cap still follows time_limit); deadline: a wall-clock moment (`time.time()`)
    the solve must not run past, a whole run's total time (`optimizer.budget`): it lowers the
    safety cap, and a solve it stops is not reproducible, like one the cap stops."""

    time_limit: float
    mip_gap: float
    threads: int = 0
    seed: int = 0
    effort: float | None = None
    deadline: float | None = None

    @property
    def effort_seconds(self) -> float:
        """The solve's budget in effort seconds (WORK_PER_SECOND work units each)."""
        return float(self.time_limit if self.effort is None else self.effort)

    @property
    def time_cap(self) -> float:
        """The wall-clock safety cap (s) of a solve starting now: never the reason a normal
        run stops; no later than the `deadline`, if any."""
        cap = time_cap(max(self.time_limit, self.effort_seconds))
        if self.deadline is None:
            return cap
        return min(cap, max(MIN_WALL_SECONDS, self.deadline - time.time()))

    @classmethod
    def from_settings(cls, settings: Settings, *, time_limit: float | None = None,
                      mip_gap: float | None = None, threads: int | None = None,
                      seed: int | None = None, effort: float | None = None) -> SolverOptions:
        """The Portfolio's Settings (time_limit_s, mip_gap, threads, random_seed), each
        replaced by the caller's value when that is not None."""
        return cls(time_limit=float(settings.time_limit_s if time_limit is None else time_limit),
                   mip_gap=float(settings.mip_gap if mip_gap is None else mip_gap),
                   threads=int(settings.threads if threads is None else threads),
                   seed=int(settings.random_seed if seed is None else seed),
                   effort=None if effort is None else float(effort))

    def with_overrides(self, *, time_limit: float | None = None, mip_gap: float | None = None,
            threads: int | None = None, seed: int | None = None,
            deadline: float | None = None) -> SolverOptions:
        """A copy with the values given (not None) replaced. A new time_limit replaces the
        effort too (its seconds become the effort)."""
        if time_limit is None and mip_gap is None and threads is None and seed is None \
                and deadline is None:
            return self
        return SolverOptions(
            time_limit=self.time_limit if time_limit is None else float(time_limit),
            mip_gap=self.mip_gap if mip_gap is None else float(mip_gap),
            threads=self.threads if threads is None else int(threads),
            seed=self.seed if seed is None else int(seed),
            effort=self.effort if time_limit is None else None,
            deadline=self.deadline if deadline is None else float(deadline))


def time_cap(seconds: float) -> float:
    """The wall-clock safety cap of a solve given `seconds` of effort."""
    return TIME_CAP_FACTOR * float(seconds) + TIME_CAP_SLACK


@dataclass
class EffortClock:
    """The deterministic clock of one solve: effort seconds spent by its HiGHS runs so far.

    Every hand-over (the neighbourhood search's stall rule and its end, the decomposition's
    phases) reads `now()` where it would have read the wall clock. `capped` records that a
    run was stopped by its wall-clock cap: then what follows is not reproducible.
    """

    spent: float = 0.0
    capped: bool = False

    def now(self) -> float:
        """Effort seconds spent so far."""
        return self.spent

    def add(self, seconds: float) -> None:
        """Charge `seconds` of effort (a finished run's work)."""
        self.spent += max(0.0, float(seconds))

    def left(self, until: float) -> float:
        """Effort seconds left before `until` (may be negative)."""
        return until - self.spent
