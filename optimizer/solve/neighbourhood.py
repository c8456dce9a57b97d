"""Site neighbourhood search on the whole model: better plans once HiGHS's bound has stalled.

Why: on capital-rationed portfolios of a few dozen sites HiGHS proves its root bound within
seconds and then hardly moves it (60 sites: about 0.01% from minute 2 to minute 25), while its
own heuristics find better plans only slowly. Re-optimising a few sites at a time, with every
other site's builds fixed to the best plan, is a small MILP HiGHS solves in seconds with the
same strong formulation, and it can re-balance the quarterly budget between the sites it frees.

How: the HiGHS model behind a `HighsRunner` is changed in place (column bounds only, nothing
rebuilt; the runner's column methods). A neighbourhood fixes the hall starts, cooling modules
and power upgrade of every site outside it to the incumbent's values (mining stays free
everywhere) and is solved from the incumbent as a MIP start, so its result is never worse. The
bound proven on the whole model stays valid for every plan found this way; this search proves
nothing itself. The model's bounds are restored before returning.

Neighbourhood size adapts: a neighbourhood solved to optimality grows the next by two sites (up
to half the portfolio), one stopped by its time limit shrinks it by two (at least two sites).

The one site-neighbourhood search: the "neighbourhood" method runs it from HiGHS's plan
(`optimizer.solve.optimize`), the decomposition from its best plan, the sites fractional in its
master LP first (`optimizer.solve.decompose`). Its constants are the measured ones
(benchmarks/README.md, "The neighbourhood search").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from models.economics import Economics
from optimizer.solve.highs import HighsRunner
from optimizer.solve.options import EffortClock

NEIGHBOURHOOD_SECONDS = 10.0  # effort limit of one neighbourhood's MILP (effort seconds)
NEIGHBOURHOOD_GAP = 1e-4  # relative gap at which a neighbourhood counts as solved
MAX_FIRST_SIZE = 10  # sites freed by the first neighbourhood (at most half the portfolio)
QUIET_PASSES = 2  # stop after this many passes over all sites without a better plan
IMPROVEMENT = 1e-7  # relative; smaller objective gains are noise, not a better plan
MIN_SEARCH_SECONDS = 2.0  # a search beside HiGHS starts only with more effort seconds left
SEARCH_SHARE = 1 / 3  # of the effort left, what one search beside HiGHS may take


@dataclass
class SearchResult:
    """The best plan found: HiGHS column values, its objective ($M) and what was tried."""

    values: np.ndarray
    objective: float
    neighbourhoods: int = 0
    improvements: int = 0
    log: list[str] = field(default_factory=list)


def build_columns(runner: HighsRunner, econ: Economics) -> list[tuple[np.ndarray, np.ndarray]]:
    """(HiGHS column, site) of every free build decision: hall starts, modules, upgrades.

    Variables fixed in Pyomo (halls begun before the plan) have no column to free and are left
    out.
    """
    model = runner.model
    groups = []
    for var, sites in ((model.halls_started, econ.halls.site),
                       (model.modules_started, econ.cooling.site),
                       (model.upgrade_started, econ.power.site)):
        cols = runner.columns((var[i] for i in range(len(sites))), free_only=True)
        keep = cols >= 0
        groups.append((cols[keep], np.asarray(sites, dtype=np.int64)[keep]))
    return groups


def search_sites(runner: HighsRunner, econ: Economics, values: np.ndarray, *, until: float,
                 seed: int = 0, threads: int = 1, first: Sequence[int] = (),
                 done: Callable[[float], bool] | None = None,
                 say: Callable[[str], None] | None = None,
                 on_better: Callable[[float], None] | None = None,
                 clock: EffortClock | None = None) -> SearchResult:
    """Improve the plan given as HiGHS column `values` until `clock` (effort seconds, charged
    with every neighbourhood's run; a fresh clock if None) reaches `until`, QUIET_PASSES passes
    over the sites find nothing better, or `done(objective)` says the best plan is good enough
    (a caller holding a proven bound). Deterministic: nothing here reads the wall clock.

    `first`: sites to free before the others in the first pass (in a seeded random order, as
    the rest). `say`: told each line of the log as it happens (the result's `log` has them all).
    `on_better(objective)` is told of each better plan ($M), for progress.
    """
    def note(line: str) -> None:
        best.log.append(line)
        if say is not None:
            say(line)

    cost, offset = runner.objective_coefficients()
    lower, upper = runner.column_bounds()
    groups = build_columns(runner, econ)
    cols = np.concatenate([c for c, _ in groups]).astype(np.int32)
    col_site = np.concatenate([s for _, s in groups])
    n_sites = len(econ.portfolio.sites)
    best = SearchResult(values=values.copy(), objective=float(cost @ values) + offset)
    rng = np.random.default_rng(seed)
    largest = max(2, n_sites // 2)  # larger neighbourhoods are nearly the whole model again
    size = min(MAX_FIRST_SIZE, largest)
    order: list[int] = []
    if len(first):
        ahead = sorted(set(int(s) for s in first))
        order = [int(s) for s in rng.permutation(ahead)] + [
            int(s) for s in rng.permutation([s for s in range(n_sites) if s not in set(ahead)])]
    quiet_sites = 0
    clock = EffortClock() if clock is None else clock
    try:
        while clock.left(until) > 0.1 and quiet_sites < QUIET_PASSES * n_sites \
                and not (done is not None and done(best.objective)):
            if len(order) < size:
                order += rng.permutation(n_sites).tolist()
            free, order = np.array(order[:size]), order[size:]
            fixed = ~np.isin(col_site, free)
            at = np.round(best.values[cols])
            runner.set_column_bounds(cols, np.where(fixed, at, lower[cols]),
                                     np.where(fixed, at, upper[cols]))
            runner.set_start_columns(best.values)
            run = runner.run_columns(
                time_limit=min(NEIGHBOURHOOD_SECONDS, clock.left(until)),
                mip_gap=NEIGHBOURHOOD_GAP, threads=threads, seed=seed, clock=clock)
            best.neighbourhoods += 1
            if run.values is not None:
                objective = float(cost @ run.values) + offset
                if objective > best.objective + IMPROVEMENT * max(1.0, abs(best.objective)):
                    note(f"sitepivot: neighbourhood of {len(free)} sites: "
                         f"{best.objective:.6f} -> {objective:.6f}")
                    best.values, best.objective = run.values, objective
                    best.improvements += 1
                    if on_better is not None:
                        on_better(objective)
                    quiet_sites = 0
                else:
                    quiet_sites += len(free)
            else:
                quiet_sites += len(free)
            size = min(largest, size + 2) if run.optimal else max(2, size - 2)
    finally:
        runner.set_column_bounds(cols, lower[cols], upper[cols])
    note(f"sitepivot: neighbourhood search: {best.neighbourhoods} neighbourhoods, "
         f"{best.improvements} better plans, best {best.objective:.6f}")
    return best


def current_values(runner: HighsRunner) -> np.ndarray:
    """HiGHS column values of the plan loaded in the Pyomo model (after a solve)."""
    return runner.column_values()


def load_values(runner: HighsRunner, values: np.ndarray) -> None:
    """Put HiGHS column values into the Pyomo model's variables (fixed ones keep theirs)."""
    runner.load_column_values(values)


class Beside:
    """The neighbourhood search run beside HiGHS's own MIP search (`HighsRunner.solve`'s
    `helper`): HiGHS is never stopped nor restarted, so its proven bound is never lost.

    At HiGHS's limit checks (deterministic points of its search), once `stall(HiGHS's own
    effort, bound, objective)` says its bound has stalled and HiGHS has run long enough since
    the last search, `search_sites` runs on a copy of the model (`HighsTwin`) from HiGHS's
    incumbent, for SEARCH_SHARE of the effort left of the run's `budget` (effort seconds; at
    least `wait`, at most what is left), charged to `clock`; a better plan it finds is handed to
    HiGHS at its next user-solution query. HiGHS then runs on, on its own, for twice as long as
    that search took (at least `wait`) before the next search may start: when its bound is
    stalled, HiGHS's tree keeps about two thirds of the effort.

    A search's length depends on the budget, so a longer run does not repeat a shorter one up to
    its end. Tried (benchmarks/README.md, "Effort"): a share of HiGHS's own effort so far, which
    would; at equal effort it ended behind HiGHS alone on the sample's gap.
    """

    def __init__(self, runner: HighsRunner, econ: Economics, *, budget: float,
                 clock: EffortClock, stall: Callable[[float, float, float], bool],
                 wait: float, seed: int = 0, threads: int = 1,
                 on_better: Callable[[float], None] | None = None) -> None:
        self.runner, self.econ, self.budget, self.clock = runner, econ, budget, clock
        self.stall, self.wait, self.seed, self.threads = stall, wait, seed, threads
        self.on_better = on_better
        self.twin: HighsRunner | None = None
        self.incumbent: np.ndarray | None = None
        self.objective = -np.inf
        self.pending: np.ndarray | None = None
        self.best: SearchResult | None = None  # the best plan any search found
        self.next_search = 0.0  # HiGHS's own effort seconds before which no search starts
        self.searched = 0.0  # effort seconds the searches have spent
        self.searches = 0
        self.log: list[str] = []

    def improved(self, values: np.ndarray, objective: float) -> None:
        if objective > self.objective:
            self.incumbent, self.objective = values, objective

    def offer(self) -> np.ndarray | None:
        values, self.pending = self.pending, None
        return values

    def check(self, effort: float, bound: float, objective: float) -> bool:
        own = effort - self.searched  # HiGHS's own effort: its bound moves only then
        stalled = self.stall(own, bound, objective)  # told every check: it keeps a history
        left = self.budget - effort
        if not stalled or own < self.next_search or self.incumbent is None \
                or left <= MIN_SEARCH_SECONDS:
            return False
        from optimizer.solve.highs import HighsTwin

        if self.twin is None:
            self.twin = HighsTwin(self.runner)
        began = self.clock.now()
        budget = min(left, max(self.wait, SEARCH_SHARE * left))
        self.searches += 1
        found = search_sites(self.twin, self.econ, self.incumbent, until=began + budget,
                             seed=self.seed + self.searches - 1, threads=self.threads,
                             on_better=self.on_better, clock=self.clock)
        self.log += [f"sitepivot: search {self.searches} beside HiGHS at {effort:.1f} effort s "
                     f"(HiGHS's incumbent {self.objective:.6f}):", *found.log]
        if found.improvements and found.objective > self.objective:
            self.pending = found.values
            if self.best is None or found.objective > self.best.objective:
                self.best = found
        spent = self.clock.now() - began
        self.searched += spent
        self.next_search = own + max(self.wait, 2.0 * spent)
        return False
