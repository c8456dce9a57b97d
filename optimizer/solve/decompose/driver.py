"""The decomposition's driver: column generation with a Lagrangian bound, then the primal phases
(repair, MIP over columns, dive, neighbourhood search, monolithic polish); see the package
docstring. Every phase counts effort seconds, never the wall clock."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from models.decisions import Decisions
from models.economics import Economics, objective_npv
from optimizer.solve.decompose.formulation import Formulation, SiteColumn
from optimizer.solve.decompose.master import Master, column_mip
from optimizer.solve.decompose.primal import Monolithic, PlanArrays, Repair, assemble
from optimizer.solve.greedy import GreedyPlan, greedy_plan
from optimizer.solve.highs import INF, ProgressHook, relative_gap, reset_thread_scheduler
from optimizer.solve.options import EffortClock, SolverOptions
from optimizer.status import Status, Termination

RC_TOLERANCE = 1e-7  # a column enters the master if its reduced cost exceeds this ($M)
GAP_TOLERANCE = 1e-9  # relative; a gap this small is a proof (rounding of NPV sums)


@dataclass
class DecomposedResult:
    """What `solve_decomposed` produced.

    status: optimal (gap <= requested) | feasible (a plan, gap larger) | infeasible (a site's
    own rules and commitments admit no schedule, or no plan meets the coupling rows and the
    full MILP proved it) | no_solution (no plan found in time). termination: optimal |
    effort_limit | time_limit (the wall-clock safety cap: not reproducible) | iteration_limit |
    infeasible. objective = NPV of the returned plan ($M, equal to
    sum(value * units) + sum(mining_value * mining)); bound = proven upper bound on the optimal
    NPV ($M); gap = (bound - objective) / |objective|.
    """

    status: Status
    termination: Termination
    decisions: Decisions  # all zero when there is no plan
    objective: float
    bound: float
    gap: float
    log: list[str]
    iterations: int
    seconds: float
    columns: int = 0
    timings: dict[str, float] = field(default_factory=dict)




# --------------------------------------------------------------------------- driver
def solve_decomposed(econ: Economics, options: SolverOptions | None = None, *,
                     time_limit: float | None = None, mip_gap: float | None = None,
                     threads: int | None = None, seed: int | None = None,
                     max_iterations: int = 10_000,
                     smoothing: float = 0.5, polish: bool = True, use_greedy: bool = True,
                     greedy: GreedyPlan | None = None,
                     on_progress: ProgressHook | None = None,
                     clock: EffortClock | None = None) -> DecomposedResult:
    """Decompose by site, generate columns, then polish; see the module docstring.

    Phases, each stopping as soon as the proven gap (bound - NPV) / |NPV| <= mip_gap:
    1. column generation until the master LP is within mip_gap / 3 of the Lagrangian bound, no
       column improves, `max_iterations` rounds, or half the time is spent; the pricing
       schedules and a repair of the master LP are tried as plans along the way, and the
       restricted master is solved as a MIP over the columns at the end;
    2. (`polish`) neighbourhood search with the monolithic model: a few sites freed at a time
       (those fractional in the master LP first), for 60% of the time left;
    3. (`polish`) the monolithic model from the best plan for the rest; its bound counts too.
    `options` (default: 60 s, gap 1e-3, threads 0, seed 0), each of `time_limit`, `mip_gap`,
    `threads`, `seed` given (not None) replacing its value.
    `threads` is for the MIP over columns (at least 1) and the monolithic model (0 = HiGHS's
    default); pricing and the master LP run single-threaded. `greedy`: the greedy plan if the
    caller has it already (else it is computed here when `use_greedy`). `on_progress(seconds,
    bound, NPV)` is told of each better plan and each better bound. Every phase is measured in
    effort seconds on `clock` (`optimizer.solve.options`; a fresh one if None), never on the
    wall clock, so the same inputs give the same plan on any machine load.
    """
    # HiGHS keeps one thread scheduler per process; the single-threaded pricers fail to run
    # if an earlier solve in this process started it with more threads.
    reset_thread_scheduler()
    options = (options or SolverOptions(time_limit=60.0, mip_gap=1e-3)).with_overrides(
        time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed)
    run = Decomposition(econ, options, smoothing, EffortClock() if clock is None else clock)
    run.on_progress = on_progress
    return run.solve(max_iterations, polish, use_greedy, greedy)


class Decomposition:
    """State of one decomposition run: columns, master, incumbent, bound, log."""

    def __init__(self, econ: Economics, options: SolverOptions, smoothing: float,
                 effort: EffortClock) -> None:
        self.clock = time.perf_counter()  # for the timings only
        self.effort = effort  # every decision's clock (effort seconds)
        self.started = effort.now()
        self.deadline = self.started + options.effort_seconds
        self.options = options
        self.mip_gap, self.threads, self.seed = options.mip_gap, options.threads, options.seed
        self.smoothing = smoothing
        self.log: list[str] = []
        self.timings: dict[str, float] = {}
        self.econ = econ
        self.prob = Formulation(econ)
        for p in self.prob.pricers:
            p.highs.clock = effort
        self.timings["build"] = time.perf_counter() - self.clock
        self.master = Master(self.prob.coupling, self.prob.n_sites)
        self.master.highs.clock = effort
        self.repair = Repair(self.prob, effort)
        self.pool: list[SiteColumn] = []
        self.seen: set[tuple[int, bytes]] = set()
        self.best: PlanArrays | None = None
        self.best_columns: list[int] | None = None
        self.bound = INF
        self.on_progress: ProgressHook | None = None
        self.iterations = 0
        self.lam = np.zeros(0)
        self.pi_master = np.zeros(len(self.prob.coupling))
        self.say(f"built {self.prob.n_sites} site pricers, {len(self.prob.coupling)} coupling "
                 "rows")

    # ----------------------------------------------------------------- bookkeeping
    def say(self, message: str) -> None:
        # effort seconds (deterministic), so that the log is the same on any machine load
        self.log.append(f"{self.effort.now() - self.started:8.2f}e  {message}")

    def left(self) -> float:
        """Effort seconds left; none once the wall-clock `SolverOptions.deadline` (a whole
        run's total time) has passed, which marks the run not reproducible."""
        wall = self.options.deadline
        if wall is not None and time.time() >= wall:
            self.effort.capped = True
            return 0.0
        return self.deadline - self.effort.now()

    def gap(self) -> float:
        return relative_gap(self.best.npv, self.bound) if self.best is not None else INF

    def proven(self) -> bool:
        return self.gap() <= self.mip_gap + GAP_TOLERANCE

    def add(self, col: SiteColumn) -> int:
        key = (col.site, np.round(col.x, 6).tobytes())
        if key in self.seen:
            return 0
        self.seen.add(key)
        self.pool.append(col)
        self.master.add(col)
        return 1

    def offer(self, plan: PlanArrays | None, source: str) -> None:
        if plan is not None and (self.best is None or plan.npv > self.best.npv + 1e-9):
            self.best = plan
            self.best_columns = None
            for p in self.prob.pricers:  # the plan's own schedules enter the pool
                self.add(self.prob.column(p.site, self.prob.site_vector(p.site, plan.decisions)))
            self.say(f"incumbent {plan.npv:,.4f} from {source}")
            self.tell()

    def lower_bound_to(self, value: float, source: str) -> None:
        if np.isfinite(value) and value < self.bound:
            self.bound = value
            self.say(f"bound {value:,.4f} from {source}")
            self.tell()

    def tell(self) -> None:
        if self.on_progress is not None:
            self.on_progress(time.perf_counter() - self.clock, self.bound,
                             self.best.npv if self.best is not None else float("nan"))

    # ----------------------------------------------------------------- phases
    def seeds(self, use_greedy: bool, greedy: GreedyPlan | None) -> None:
        """Idle schedules (mining only; all-out mining too if there is a floor), greedy."""
        prob = self.prob
        for s in range(prob.n_sites):
            for full in (False, True) if len(prob.coupling.floor_quarters) else (False,):
                x = prob.idle(s, full)
                if x is not None:
                    self.add(prob.column(s, x))
        if use_greedy:
            g = greedy if greedy is not None else greedy_plan(self.econ)
            if g is not None:
                self.offer(PlanArrays(g.decisions, objective_npv(self.econ, g.valuation)),
                           "greedy")

    def lagrangian(self, pi: np.ndarray) -> tuple[float, int, bool]:
        """Price every site at pi: (L(pi), columns added, a site has no schedule at all)."""
        prob = self.prob
        total = float(pi @ prob.coupling.rhs)
        added = 0
        per_site = max(0.2, self.left() / max(1, prob.n_sites))
        builds = []
        for p, c in zip(prob.pricers, prob.costs(pi), strict=True):
            ub, x = p.price(c, per_site)
            if x is None and ub == -INF:
                return -INF, added, True
            total += ub
            if x is not None:
                added += self.add(prob.column(p.site, x))
                builds.append(x[:p.n_build])
        if len(builds) == prob.n_sites:  # the priced schedules may together be a plan
            self.offer(assemble(prob, builds), "the pricing schedules")
        return total, added, False

    def generate(self, max_iterations: int, until: float) -> str:
        """Phase 1. Returns why it stopped: optimal | converged | iteration_limit |
        time_limit | infeasible."""
        pi_center = np.zeros(len(self.prob.coupling))
        repair = self.repair
        while True:
            obj, self.pi_master, _mu, self.lam, art = self.master.solve()
            alpha = self.smoothing if self.iterations > 0 else 0.0  # Wentges smoothing
            pi = alpha * pi_center + (1.0 - alpha) * self.pi_master
            value, added, infeasible = self.lagrangian(pi)
            self.iterations += 1
            if infeasible:
                return "infeasible"
            if value < self.bound:
                self.bound, pi_center = value, pi
            if added == 0 and alpha > 0:  # mis-pricing: price at the master's own duals
                value, added, _ = self.lagrangian(self.pi_master)
                if value < self.bound:
                    self.bound, pi_center = value, self.pi_master
            lp_gap = relative_gap(obj, self.bound) if art < 1e-9 else INF
            self.say(f"round {self.iterations:3d}: master {obj:,.4f} (artificial {art:.3g}), "
                     f"bound {self.bound:,.4f}, LP gap {lp_gap:.3%}, +{added} columns, "
                     f"pool {len(self.pool)}")
            if self.proven():
                return "optimal"
            if added == 0 or lp_gap <= self.mip_gap / 3:
                return "converged"
            if self.iterations >= max_iterations:
                return "iteration_limit"
            if self.effort.now() >= until or self.left() <= 0:
                return "effort_limit"
            if self.iterations % 5 == 0:
                self.offer(repair.run(self.pool, self.lam, self.pi_master, self.deadline),
                           "repair of the master LP")

    def dive(self, until: float) -> None:
        """Diving with column generation: fix the master's largest fractional column to 1,
        re-price the sites not yet fixed (a few rounds), repeat until the master LP is
        integral; that plan is offered. Bounds are restored afterwards."""
        prob, master = self.prob, self.master
        fixed: list[int] = []
        fixed_sites: set[int] = set()
        forbidden: list[int] = []
        last: int | None = None
        feasible = (self.lam, self.pi_master)  # the last master LP solution before a fix
        try:
            while self.effort.now() < until and self.left() > 0:
                _obj, pi, mu, lam, art = master.solve()
                if art > 1e-6:  # the last fractional column fixed was one too many
                    if last is None or len(forbidden) >= 3:
                        self.say(f"dive: infeasible after fixing {len(fixed)} sites; repair")
                        self.offer(self.repair.run(self.pool, feasible[0], feasible[1],
                                                   until), "repair of the dive")
                        return
                    fixed.remove(last)
                    fixed_sites.discard(self.pool[last].site)
                    master.set_weight_bounds(last, 0.0, 0.0)
                    forbidden.append(last)
                    last = None
                    continue
                for _ in range(2):
                    costs = prob.costs(pi)
                    added = 0
                    for p in prob.pricers:
                        if p.site in fixed_sites:
                            continue
                        _ub, x = p.price(costs[p.site], max(0.2, until - self.effort.now()))
                        if x is not None and costs[p.site] @ x - mu[p.site] > RC_TOLERANCE:
                            added += self.add(prob.column(p.site, x))
                    if not added or self.effort.now() >= until:
                        break
                    _obj, pi, mu, lam, art = master.solve()
                feasible = (lam, pi)
                fractional = np.flatnonzero((lam > 1e-6) & (lam < 1 - 1e-6))
                if not len(fractional):
                    chosen = sorted(np.flatnonzero(lam > 0.5), key=lambda j: self.pool[j].site)
                    plan = assemble(prob, [self.pool[j].x[:prob.pricers[self.pool[j].site]
                                                           .n_build] for j in chosen])
                    self.offer(plan, f"dive ({len(fixed)} columns fixed)")
                    return
                # Fix the largest fractional column and every column already (nearly) whole.
                last = int(fractional[np.argmax(lam[fractional])])
                picks = {last}
                picks.update(int(j) for j in np.flatnonzero(lam >= 1 - 1e-6)
                             if self.pool[j].site not in fixed_sites)
                for j in picks:
                    master.set_weight_bounds(j, 1.0, INF)
                    fixed.append(j)
                    fixed_sites.add(self.pool[j].site)
        finally:
            for j in fixed + forbidden:
                master.set_weight_bounds(j, 0.0, INF)

    def column_mip(self, time_limit: float) -> None:
        _obj, self.pi_master, _mu, self.lam, _art = self.master.solve()
        self.offer(self.repair.run(self.pool, self.lam, self.pi_master, self.deadline),
                   "repair of the master LP")
        chosen, mip_obj, _ = column_mip(self.prob, self.pool, self.best_columns, time_limit,
                                         self.mip_gap / 4, self.threads, self.seed,
                                         self.effort)
        if chosen is not None:
            plan = assemble(self.prob, [self.pool[j].x[:self.prob.pricers[self.pool[j].site]
                                                        .n_build] for j in chosen])
            self.offer(plan, f"MIP over {len(self.pool)} columns ({mip_obj:,.4f})")

    def neighbourhoods(self, mono: Monolithic, until: float) -> None:
        """Phase 2: the site-neighbourhood search from the best plan, the sites fractional in
        the master LP freed first; it stops once the plan proves the gap."""
        if self.best is None:
            return
        fractional = sorted({self.pool[j].site for j in np.flatnonzero(
            (self.lam > 1e-6) & (self.lam < 1 - 1e-6))}) if len(self.lam) else []

        def done(npv: float) -> bool:
            return relative_gap(npv, self.bound) <= self.mip_gap + GAP_TOLERANCE

        plan = mono.search(self.best, until, fractional, done,
                           lambda line: self.say(line.removeprefix("sitepivot: ")))
        self.offer(plan, "the neighbourhood search")

    # ----------------------------------------------------------------- driver
    def solve(self, max_iterations: int, polish: bool, use_greedy: bool,
              greedy: GreedyPlan | None = None) -> DecomposedResult:
        prob = self.prob
        if any(not p.feasible for p in prob.pricers):
            self.say("a start commitment has no candidate start; no plan exists")
            return self.result(Termination.INFEASIBLE)
        self.seeds(use_greedy, greedy)
        self.timings["seeds"] = time.perf_counter() - self.clock
        budget_end = self.started + 0.5 * (self.deadline - self.started)
        why = self.generate(max_iterations, budget_end if polish else self.deadline)
        if why == "infeasible":
            self.say("a site's own rules and commitments admit no schedule; no plan exists")
            return self.result(Termination.INFEASIBLE)
        # The MIP over the columns (good when many sites are whole in the LP), a dive that
        # adds the columns a rounding needs, then the MIP over all columns again.
        if not self.proven() and self.left() > 0:
            self.column_mip(min(self.left(), max(1.0, 0.15 * self.left())))
        if not self.proven() and self.left() > 0:
            self.dive(self.effort.now() + 0.3 * self.left())
            if not self.proven() and self.left() > 0:
                self.column_mip(min(self.left(), max(1.0, 0.15 * self.left())))
        self.timings["column_generation"] = time.perf_counter() - self.clock
        # The Pyomo build takes ~0.05 s a site: not worth starting without time to use it.
        if polish and not self.proven() and why != "iteration_limit" and \
                self.left() > max(2.0, 0.1 * prob.n_sites):
            mono = Monolithic(prob, self.options, self.effort)
            self.timings["monolithic_build"] = time.perf_counter() - self.clock
            if self.best is not None:
                self.neighbourhoods(mono, self.effort.now() + 0.6 * self.left())
            if not self.proven() and self.left() > 0.5 and self.best is not None:
                self.say(f"monolithic model from the best plan for {self.left():.1f} effort s")
                plan, bound, status, _ = mono.solve(self.best, None, self.left(), self.mip_gap)
                self.offer(plan, f"monolithic model ({status})")
                self.lower_bound_to(bound, f"monolithic model ({status})")
        termination = Termination.OPTIMAL if self.proven() else (
            Termination.ITERATION_LIMIT if why == "iteration_limit" else
            Termination.TIME_LIMIT if self.effort.capped else Termination.EFFORT_LIMIT)
        return self.result(termination)

    def result(self, termination: Termination) -> DecomposedResult:
        econ = self.econ
        self.timings["total"] = seconds = time.perf_counter() - self.clock
        best = self.best
        if best is None or termination == Termination.INFEASIBLE:
            status = (Status.INFEASIBLE if termination == Termination.INFEASIBLE
                      else Status.NO_SOLUTION)
            return DecomposedResult(
                status=status, termination=termination,
                decisions=Decisions(np.zeros(len(econ.halls)), np.zeros(len(econ.cooling)),
                                    np.zeros(len(econ.power)), np.zeros_like(econ.mining_value)),
                objective=float("nan"),
                bound=float("nan") if termination == Termination.INFEASIBLE else self.bound,
                gap=float("nan"), log=self.log, iterations=self.iterations, seconds=seconds,
                columns=len(self.pool), timings=self.timings)
        gap = self.gap()
        self.say(f"done: NPV {best.npv:,.4f}, bound {self.bound:,.4f}, gap {gap:.4%} "
                 f"({termination})")
        return DecomposedResult(
            status=Status.OPTIMAL if termination == Termination.OPTIMAL else Status.FEASIBLE,
            termination=termination, decisions=best.decisions, objective=best.npv,
            bound=max(self.bound, best.npv) if gap <= GAP_TOLERANCE else self.bound, gap=gap,
            log=self.log, iterations=self.iterations, seconds=seconds, columns=len(self.pool),
            timings=self.timings)
