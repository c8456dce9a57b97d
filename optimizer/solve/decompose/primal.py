"""Plans from the decomposition: the repair of the master LP (`Repair`), a plan assembled from one
schedule per site (`assemble`, mining dispatched, coupling rows checked) and the monolithic
model's polish (`Monolithic`: the site-neighbourhood search and the full model from a plan).
Units: $M, MW, quarters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from models.conversion import build_model
from models.decisions import Decisions
from optimizer.solve.decompose.formulation import Formulation, SiteColumn, csc
from optimizer.solve.greedy import dispatch_mining
from optimizer.solve.highs import DEFAULT_THREADS, INF, HighsModel, HighsRunner
from optimizer.solve.neighbourhood import search_sites
from optimizer.solve.options import EffortClock, SolverOptions
from optimizer.status import Termination


# --------------------------------------------------------------------------- repair heuristic
class Repair:
    """Site MILPs with the coupling rows as hard limits on what is left: the primal heuristic.

    Sites whose master LP solution is one whole column keep it; the others, one at a time
    (largest LP weight on one column first), get the schedule that maximises their priced
    value (value - pi . use) within the budget, starts and demand still left. Mining is
    re-dispatched at the end, which is where the mining floor is checked.
    """

    def __init__(self, prob: Formulation, clock: EffortClock | None = None) -> None:
        self.clock = EffortClock() if clock is None else clock  # charged every MILP's effort
        self.prob = prob
        self.models: dict[int, HighsModel] = {}
        coupling = prob.coupling
        self.keep = np.arange(len(coupling) - len(coupling.floor_quarters))  # not the floor

    def _model(self, s: int) -> HighsModel:
        if s not in self.models:
            prob, p = self.prob, self.prob.pricers[s]
            use = prob.coupling_matrix(s)[self.keep]
            use[:, :p.n_build] = p.times_d(use[:, :p.n_build])
            h = HighsModel(mip_rel_gap=1e-6, clock=self.clock)
            h.load(np.zeros(p.n), p.col_lower, p.col_upper, p.integer,
                   np.concatenate([p.row_lower, np.full(len(self.keep), -INF)]),
                   np.concatenate([p.row_upper, np.full(len(self.keep), INF)]),
                   csc(np.vstack([p.matrix, use])))
            self.models[s] = h
        return self.models[s]

    def run(self, pool: list[SiteColumn], lam: np.ndarray, pi: np.ndarray, deadline: float
            ) -> PlanArrays | None:
        """A plan from the master LP: sites whole in it keep their column, the others' MILPs
        (heaviest first) take what is left of the coupling rows; by `deadline` (effort seconds
        on `self.clock`)."""
        prob = self.prob
        left = prob.coupling.rhs[self.keep].copy()
        weight: dict[int, tuple[float, int]] = {}
        for j in np.flatnonzero(lam > 1e-9):
            s = pool[j].site
            if lam[j] > weight.get(s, (0.0, -1))[0]:
                weight[s] = (float(lam[j]), int(j))
        builds: list[np.ndarray | None] = [None] * prob.n_sites
        for s, (w, whole) in weight.items():
            if w >= 1.0 - 1e-6:
                builds[s] = pool[whole].x[:prob.pricers[s].n_build]
                left -= pool[whole].activity[self.keep]
        rest = sorted((s for s in range(prob.n_sites) if builds[s] is None),
                      key=lambda s: -weight.get(s, (0.0, -1))[0])
        costs = prob.costs(pi)
        for s in rest:
            p = prob.pricers[s]
            h = self._model(s)
            rows = np.arange(len(p.row_lower), len(p.row_lower) + len(self.keep), dtype=np.int32)
            h.set_row_bounds(rows, np.full(len(rows), -INF), np.maximum(left, 0.0) + 1e-9)
            h.set_costs(p.solver_costs(costs[s]))
            run = h.run(max(0.05, min(5.0, deadline - self.clock.now())))
            if run.values is None:
                return None
            v = run.values
            v[:p.n_build] = np.round(v[:p.n_build])
            x = p.from_solver(v)
            builds[s] = x[:p.n_build]
            left -= prob.column(s, x).activity[self.keep]
        return assemble(prob, [b for b in builds if b is not None]) \
            if all(b is not None for b in builds) else None



# --------------------------------------------------------------------------- the plan
@dataclass
class PlanArrays:
    decisions: Decisions
    npv: float  # $M, sum(value * units) + sum(mining_value * mining)


def assemble(prob: Formulation, builds: list[np.ndarray]) -> PlanArrays | None:
    """Plan arrays from one build vector per site; mining dispatched optimally (None if the
    coupling rows or the mining floor are not met)."""
    econ = prob.econ
    halls, modules = np.zeros(len(econ.halls)), np.zeros(len(econ.cooling))
    upgrades = np.zeros(len(econ.power))
    power_left = np.zeros((prob.n_sites, prob.horizon))
    for p, b in zip(prob.pricers, builds, strict=True):
        nh, nk = len(p.hall_idx), len(p.module_idx)
        halls[p.hall_idx] = b[:nh]
        modules[p.module_idx] = b[nh:nh + nk]
        upgrades[p.upgrade_idx] = b[nh + nk:p.n_build]
        power_left[p.site] = p.mining_room(b[:p.n_build])
    mining = dispatch_mining(econ, power_left)
    if mining is None:
        return None
    activity = np.zeros(len(prob.coupling))
    for p, b in zip(prob.pricers, builds, strict=True):
        x = np.concatenate([b[:p.n_build], mining[p.site]])
        activity += prob.column(p.site, x).activity
    if (activity > prob.coupling.rhs + 1e-6 * np.maximum(1.0, np.abs(prob.coupling.rhs))).any():
        return None
    npv = float(halls @ econ.halls.value + modules @ econ.cooling.value
                + upgrades @ econ.power.value + (mining * econ.mining_value).sum())
    return PlanArrays(Decisions(halls, modules, upgrades, mining), npv)


class Monolithic:
    """models/conversion.py built once in a `HighsRunner`: the primal polish.

    `search` runs the site-neighbourhood search (`optimizer.solve.neighbourhood.search_sites`)
    from a plan: a few sites' builds freed, every other site's fixed to the incumbent (mining
    free), each a small MILP with the strong monolithic formulation started from the
    incumbent, so it can only improve. `solve` with no sites fixed is the full model, whose
    proven bound is also kept.
    """

    def __init__(self, prob: Formulation, options: SolverOptions, clock: EffortClock) -> None:
        econ = prob.econ
        self.prob = prob
        self.clock = clock
        self.threads, self.seed = options.threads, options.seed
        self.model = m = build_model(econ)
        self.runner = runner = HighsRunner(self.model)
        self.cols = [runner.columns(m.halls_started[i] for i in range(len(econ.halls))),
                     runner.columns(m.modules_started[i] for i in range(len(econ.cooling))),
                     runner.columns(m.upgrade_started[i] for i in range(len(econ.power)))]
        self.sites = [econ.halls.site, econ.cooling.site, econ.power.site]
        lower, upper = runner.column_bounds()
        self.bounds = [(lower[np.maximum(c, 0)], upper[np.maximum(c, 0)]) for c in self.cols]
        self.mining_cols = runner.columns(m.mining_mw[s, t] for s in m.S for t in m.T)

    def solve(self, plan: PlanArrays, free: np.ndarray | None, time_limit: float, gap: float
              ) -> tuple[PlanArrays | None, float, Termination, np.ndarray | None]:
        """Re-optimise the builds of sites `free` (None: all) from `plan`: (plan, bound,
        termination, HiGHS column values of the plan found). The model's bounds are restored
        afterwards."""
        runner = self.runner
        d = plan.decisions
        values = [d.halls, d.modules, d.upgrades]
        try:
            for c, site, (lo, hi), v in zip(self.cols, self.sites, self.bounds, values,
                                            strict=True):
                ok = c >= 0
                fix = ok & ~(np.ones(len(c), bool) if free is None else np.isin(site, free))
                if ok.any():
                    runner.set_column_bounds(c[ok], np.where(fix, v, lo)[ok],
                                             np.where(fix, v, hi)[ok])
            start_cols = np.concatenate([c[c >= 0] for c in self.cols] + [self.mining_cols])
            start_vals = np.concatenate([v[c >= 0] for c, v in zip(self.cols, values,
                                                                   strict=True)]
                                        + [d.mining.ravel()])
            runner.set_start_columns(start_vals, start_cols)
            run = runner.run_columns(time_limit=time_limit, mip_gap=gap,
                                     threads=int(self.threads) or DEFAULT_THREADS,
                                     seed=self.seed, clock=self.clock)
        finally:
            for c, (lo, hi) in zip(self.cols, self.bounds, strict=True):
                ok = c >= 0
                if ok.any():
                    runner.set_column_bounds(c[ok], lo[ok], hi[ok])
        if run.values is None:
            return None, run.bound, run.termination, None
        return self.plan_of(run.values, plan), run.bound, run.termination, run.values

    def plan_of(self, x: np.ndarray, plan: PlanArrays) -> PlanArrays | None:
        """The plan in HiGHS column values `x` (builds without a column as in `plan`), mining
        dispatched (`_assemble`; None if it breaks a coupling row)."""
        d = plan.decisions
        units = [np.where(c >= 0, np.round(x[np.maximum(c, 0)]), v)
                 for c, v in zip(self.cols, (d.halls, d.modules, d.upgrades), strict=True)]
        found = Decisions(units[0], units[1], units[2], np.zeros(0))
        builds = [self.prob.site_vector(s, found, with_mining=False)
                  for s in range(self.prob.n_sites)]
        return assemble(self.prob, builds)

    def search(self, plan: PlanArrays, until: float, first: list[int],
               done: Callable[[float], bool], say: Callable[[str], None]
               ) -> PlanArrays | None:
        """The site-neighbourhood search from `plan`, the sites `first` freed first, until the
        effort clock reaches `until` or `done(NPV)`, its log told to `say`: the best plan found
        or None."""
        nothing_free = np.zeros(0, dtype=np.int64)
        fixed, _bound, why, values = self.solve(plan, nothing_free, self.clock.left(until),
                                                0.0)  # the plan in every HiGHS column
        if values is None or fixed is None:
            say(f"neighbourhood search: the plan has no columns ({why})")
            return None
        found = search_sites(self.runner, self.prob.econ, values, until=until, seed=self.seed,
                             threads=int(self.threads) or DEFAULT_THREADS, first=first,
                             done=done, say=say, clock=self.clock)
        return self.plan_of(found.values, plan)


