"""Dantzig-Wolfe decomposition of the conversion MILP by site (column generation).

Why: the sites of a portfolio are coupled only by a few portfolio rows per quarter (capital
budget, hall-start cap, AI demand cap, mining floor). Each site alone is a small MILP that HiGHS
solves in milliseconds; the coupled monolithic MILP has a weak LP relaxation and proves its gap
slowly. Here the coupling rows go to a *master* LP over complete site schedules (columns), and
each site's own rules stay in a *pricing* MILP built once per site in HiGHS.

- Column = one site schedule: halls per candidate start (`econ.halls` rows of the site), cooling
  modules, the power upgrade and mining MW per quarter, with its NPV (`value`, $M) and its use of
  each coupling row (capex per budget row, hall starts, IT MW online, mining MW).
- Pricing (one per site, built once): exactly that site's rows of `models/conversion.py`: halls
  per site, power, cooling, module limit, upgrade at most once, eligibility (only the site's
  candidates exist), start commitments and fixed past starts. Each iteration only changes its
  objective to the reduced costs  value - pi . (coupling use)  under the master duals pi.
- Master LP: max sum value_j lambda_j  s.t. coupling rows (<=, mining floor written as
  -mining <= -floor so every dual is >= 0), sum_j in s lambda_j = 1 per site, lambda >= 0;
  each coupling row has an artificial slack at a large penalty so the master is always feasible.
- Bound: for ANY pi >= 0 the Lagrangian  L(pi) = pi . b + sum_s max_{x in X_s} (c - pi A_s) x
  is an upper bound on the optimal NPV (each site's max taken as its pricing MILP's proven dual
  bound). Every round prices every site, so every round yields a valid bound; the best is kept.
  Duals are smoothed (Wentges): prices pi = a pi_best + (1 - a) pi_master.
- Primal plans, best kept: the greedy plan; the pricing schedules of a round taken together;
  a repair of the master LP (`Repair`: whole columns kept, the other sites re-solved one by
  one with the coupling rows as hard limits on what is left); the restricted master as a MIP
  over the generated columns (mining re-dispatched given the builds); a dive with column
  generation (fix the largest fractional column, re-price, repeat); then, with time left, a
  neighbourhood search on the monolithic model (`Monolithic.search`: the search of the
  "neighbourhood" method, `optimizer.solve.neighbourhood`; a few sites' builds freed, the rest
  fixed to the incumbent, the sites fractional in the master LP first) and the monolithic model
  itself from the best plan, whose proven bound also counts: the reported bound is
  min(Lagrangian, monolithic).
- Measured (benchmarks/README.md): with hundreds of sites the Lagrangian bound is within a few
  hundredths of a percent of the optimum and the MIP over columns finds a plan proving the
  target fast; with a handful of sites the lumpy halls leave the master LP several percent
  above the optimum, and only the monolithic branch-and-bound can prove a tight gap.

Units: $M, MW, quarters. Every coefficient of the pricers and the coupling rows is read from the
rules' data layer (`econ.rules`, `models.rules`), the one the monolithic model is built from.
The plan comes back as `models.decisions.Decisions` (units per candidate of `econ.halls`,
`econ.cooling`, `econ.power`, mining MW (S, T)), so it is valued by
`models.economics.evaluate` and audited like the monolithic one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from models.conversion import build_model
from models.decisions import Decisions
from models.economics import Economics, objective_npv
from models.rules import Commitment
from optimizer.solve.greedy import GreedyPlan, dispatch_mining, greedy_plan
from optimizer.solve.highs import (
    DEFAULT_THREADS,
    INF,
    HighsModel,
    HighsRunner,
    ProgressHook,
    RunResult,
    relative_gap,
    reset_thread_scheduler,
)
from optimizer.solve.neighbourhood import search_sites
from optimizer.solve.options import EffortClock, SolverOptions
from optimizer.solve.status import Status, Termination

ARTIFICIAL_PENALTY = 1e6  # $M per unit of coupling-row violation in the master (phase 1)
RC_TOLERANCE = 1e-7  # a column enters the master if its reduced cost exceeds this ($M)
GAP_TOLERANCE = 1e-9  # relative; a gap this small is a proof (rounding of NPV sums)
PRICING_GAP = 1e-9  # relative gap of each pricing MILP (its proven bound is used anyway)


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


def _csc(dense: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column-wise sparse arrays of a dense (rows, cols) matrix."""
    cols, rows = np.nonzero(dense.T)
    starts = np.searchsorted(cols, np.arange(dense.shape[1] + 1)).astype(np.int32)
    return starts, rows.astype(np.int32), dense[rows, cols].astype(float)


# --------------------------------------------------------------------------- coupling rows
class Coupling:
    """The portfolio rows, all written as  activity <= rhs  (duals >= 0).

    Rows in order: budget (one per budgeted quarter; with carryover the cumulative form), hall
    starts per capped quarter, AI IT MW online per capped quarter, mining floor (-mining <=
    -floor) per quarter with a positive floor.
    """

    def __init__(self, econ: Economics) -> None:
        lim, halls = econ.rules.limits, econ.rules.halls
        horizon = econ.horizon
        budget = lim.budget
        budgeted = lim.budgeted
        # budget_map @ (budget use by quarter) = budget-row activity.
        budget_map = np.zeros((len(budgeted), horizon))
        if lim.budget_carryover:
            for r in range(len(budgeted)):
                budget_map[r, budgeted[: r + 1]] = 1.0
            budget_rhs = np.cumsum(budget[budgeted])
        else:
            budget_map[np.arange(len(budgeted)), budgeted] = 1.0
            budget_rhs = budget[budgeted]
        starts_cap = lim.max_hall_starts
        taus = set(halls.tau[halls.tau >= 0].tolist())
        self.start_quarters = np.array([t for t in range(horizon)
                                        if np.isfinite(starts_cap[t]) and t in taus], dtype=int)
        demand = lim.ai_demand_mw
        self.demand_quarters = np.flatnonzero(np.isfinite(demand))
        floor = lim.min_mining_mw
        self.floor_quarters = np.flatnonzero(np.isfinite(floor) & (floor > 0))
        self.budget_map = budget_map
        self.budget_quarters = budgeted
        self.n_budget = len(budgeted)
        self.rhs = np.concatenate([
            budget_rhs, np.floor(starts_cap[self.start_quarters] + 1e-9),
            demand[self.demand_quarters], -floor[self.floor_quarters]])
        self.labels = ([f"budget t={t}" for t in budgeted]
                       + [f"hall starts t={t}" for t in self.start_quarters]
                       + [f"AI demand t={t}" for t in self.demand_quarters]
                       + [f"mining floor t={t}" for t in self.floor_quarters])
        self.horizon = horizon

    def __len__(self) -> int:
        return len(self.rhs)

    def split(self, pi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Prices per quarter: $ of budget use, hall start, MW IT online, MW mined (added to
        value)."""
        horizon = self.horizon
        b, s, d = self.n_budget, len(self.start_quarters), len(self.demand_quarters)
        budget_price = self.budget_map.T @ pi[:b]
        start_price = np.zeros(horizon)
        start_price[self.start_quarters] = pi[b:b + s]
        it_price = np.zeros(horizon)
        it_price[self.demand_quarters] = pi[b + s:b + s + d]
        mining_price = np.zeros(horizon)
        mining_price[self.floor_quarters] = pi[b + s + d:]
        return budget_price, start_price, it_price, mining_price

    def activity(self, budget_use: np.ndarray, starts: np.ndarray, it_online: np.ndarray,
                 mining: np.ndarray) -> np.ndarray:
        """Use of every row by one schedule given per-quarter budget use, starts, IT MW online
        and mining."""
        return np.concatenate([self.budget_map @ budget_use, starts[self.start_quarters],
                               it_online[self.demand_quarters], -mining[self.floor_quarters]])


# --------------------------------------------------------------------------- pricing
class SitePricer:
    """One site's MILP (its rows of models/conversion.py, from the rules' data layer), built
    once; only costs change.

    Variables in order: halls per candidate (integer; fixed past starts fixed), cooling modules
    per candidate (integer), power upgrade per candidate (binary), mining MW per quarter.
    """

    def __init__(self, econ: Economics, s: int, commitments: list[Commitment]) -> None:
        rules = econ.rules
        lim, halls = rules.limits, rules.halls
        horizon = econ.horizon
        self.site = s
        self.horizon = horizon
        self.hall_idx = np.flatnonzero(halls.site == s)
        self.module_idx = np.flatnonzero(rules.modules.site == s)
        self.upgrade_idx = np.flatnonzero(rules.upgrades.site == s)
        nh, nk, nu = len(self.hall_idx), len(self.module_idx), len(self.upgrade_idx)
        self.n_build = nh + nk + nu
        n = self.n_build + horizon
        self.n = n
        max_halls = int(lim.halls[s])
        max_modules = int(lim.max_modules[s])
        self.mining_cap = float(lim.mining_mw[s])
        self.grid = float(lim.grid_mw[s])
        t = np.arange(horizon)[:, None]
        hall_from = halls.grid_from[self.hall_idx]
        hall_on = halls.online[self.hall_idx]
        hall_opt = halls.option[self.hall_idx]
        mod_on = rules.modules.online[self.module_idx]
        upg_on = rules.upgrades.online[self.upgrade_idx]

        # Power rows (every quarter): mining + reserved - upgrade MW online <= grid.
        power = np.zeros((horizon, n))
        power[:, :nh] = (hall_from[None, :] <= t) * halls.grid_mw[self.hall_idx][None, :]
        power[:, nh + nk:nh + nk + nu] = (-rules.upgrades.mw[self.upgrade_idx][None, :]
                                           * (upg_on[None, :] <= t))
        self.power_build = power[:, :self.n_build].copy()  # reserved - upgrades, for mining cap
        power[:, self.n_build:] = np.eye(horizon)
        # Cooling rows (quarters in which a hall needing cooling can be online).
        cooling = np.zeros((horizon, n))
        cooling[:, :nh] = (hall_on[None, :] <= t) * halls.cooling_mw[self.hall_idx][None, :]
        cooling[:, nh:nh + nk] = (-rules.modules.mw[self.module_idx][None, :]
                                  * (mod_on[None, :] <= t))
        cooling_rows = np.flatnonzero((cooling[:, :nh] > 0).any(axis=1))
        rows = [power, cooling[cooling_rows]]
        lower = [np.full(horizon, -INF), np.full(len(cooling_rows), -INF)]
        upper = [np.full(horizon, self.grid),
                 np.full(len(cooling_rows), float(lim.cooling_mw[s]))]

        def single(cols: slice, lo: float, hi: float) -> None:
            r = np.zeros((1, n))
            r[0, cols] = 1.0
            rows.append(r)
            lower.append(np.array([lo]))
            upper.append(np.array([hi]))

        if nh:
            single(slice(0, nh), -INF, max_halls)
        if nk:
            single(slice(nh, nh + nk), -INF, max_modules)
        if nu:
            single(slice(nh + nk, nh + nk + nu), -INF, 1.0)
        self.feasible = True
        position = {int(c): i for i, c in enumerate(self.hall_idx)}
        for commitment in commitments:
            if not len(commitment.candidates):
                self.feasible = False
                continue
            r = np.zeros((1, n))
            r[0, [position[int(c)] for c in commitment.candidates]] = 1.0
            rows.append(r)
            lower.append(np.array([float(commitment.halls)]))
            upper.append(np.array([INF]))
        x_matrix = np.vstack(rows)
        x_lower = np.zeros(self.n_build)
        x_upper = np.concatenate([np.full(nh, float(max_halls)), np.full(nk, float(max_modules)),
                                  np.ones(nu)])
        fixed = econ.fixed_halls[self.hall_idx]
        x_lower[:nh] = np.where(fixed > 0, fixed, 0.0)
        x_upper[:nh] = np.where(fixed > 0, fixed, x_upper[:nh])
        # Solve in cumulative variables: S = units of a group (a hall option, the modules, the
        # upgrade) started at its candidate quarters up to this one, x = D S. The rows "started
        # by t" then touch one S per group instead of every earlier start: a sparse model that
        # HiGHS solves several times faster than the same rows in x.
        group = np.concatenate([hall_opt, np.full(nk, -1), np.full(nu, -2)])
        first = np.r_[True, group[1:] != group[:-1]] if self.n_build else np.zeros(0, bool)
        self.group_first = first
        self.chained = ~first[1:]  # candidate j+1 is in the same group as j
        d = np.eye(self.n_build)
        prev = np.flatnonzero(~first)
        d[prev, prev - 1] = -1.0
        matrix = np.vstack([np.hstack([self.times_d(x_matrix[:, :self.n_build]),
                                       x_matrix[:, self.n_build:]]),
                            np.hstack([d, np.zeros((self.n_build, horizon))])])
        self.row_lower = np.concatenate([*lower, x_lower])
        self.row_upper = np.concatenate([*upper, x_upper])
        s_upper = np.concatenate([np.full(nh, float(max_halls)), np.full(nk, float(max_modules)),
                                  np.ones(nu)])
        self.col_lower = np.zeros(n)
        self.col_upper = np.concatenate([s_upper, np.full(horizon, self.mining_cap)])
        self.integer = np.zeros(n, dtype=bool)
        self.integer[:self.n_build] = True
        self.matrix = matrix
        # presolve off: measured ~2x faster on these MILPs.
        self.highs = HighsModel(mip_rel_gap=PRICING_GAP, mip_abs_gap=1e-9, presolve="off")
        self.highs.load(np.zeros(n), self.col_lower, self.col_upper, self.integer,
                        self.row_lower, self.row_upper, _csc(matrix))
        self.last: np.ndarray | None = None  # last solution, in the solver's (S) variables

    def to_solver(self, x: np.ndarray) -> np.ndarray:
        """A schedule (x: units per candidate, mining) in the solver's variables (S, mining)."""
        out = x.copy()
        groups = np.cumsum(self.group_first) - 1
        for g in np.unique(groups):
            members = np.flatnonzero(groups == g)
            out[members] = np.cumsum(x[members])
        return out

    def times_d(self, a: np.ndarray) -> np.ndarray:
        """a @ D for x = D S (column j of the result: a_j - a_{j+1} if j+1 is in j's group);
        done by slicing, not a matmul, which a shared machine's BLAS threads make slow."""
        out = a.copy()
        out[:, :-1] -= a[:, 1:] * self.chained[None, :]
        out[np.abs(out) < 1e-12] = 0.0
        return out

    def from_solver(self, v: np.ndarray) -> np.ndarray:
        """x = D S: units per candidate from the cumulative variables (mining unchanged)."""
        out = v.copy()
        if self.n_build > 1:
            out[1:self.n_build] -= v[:self.n_build - 1] * self.chained
        return out

    def solver_costs(self, costs: np.ndarray) -> np.ndarray:
        """D^T c: the objective of the cumulative variables."""
        out = costs.copy()
        if self.n_build > 1:
            out[:self.n_build - 1] -= costs[1:self.n_build] * self.chained
        return out

    @staticmethod
    def _consistent(run: RunResult, solver_costs: np.ndarray) -> bool:
        """The objective HiGHS reports is that of the solution it returns (or it has none)."""
        if run.values is None:
            return True
        value = float(solver_costs @ run.values)
        return abs(value - run.objective) <= 1e-7 * max(1.0, abs(run.objective))

    def price(self, costs: np.ndarray, time_limit: float) -> tuple[float, np.ndarray | None]:
        """Maximise costs . x over the site's schedules: (proven upper bound, best schedule).

        The bound is the MILP's dual bound (the optimum when solved); +inf if none is known.
        """
        h = self.highs
        solver_costs = self.solver_costs(costs)
        h.set_costs(solver_costs)
        limit = max(0.05, float(time_limit))
        started = self.last is not None
        if self.last is not None:
            h.set_start(self.last)
        run = h.run(limit)
        if started and not self._consistent(run, solver_costs):
            # HiGHS 1.16 can misreport a MIP start's objective after presolve and stop there
            # claiming optimality (see optimizer/solve/highs.py): its bound would then be invalid.
            h.clear_solution()
            self.last = None
            run = h.run(limit)
        if run.failed:
            return INF, None  # no proof from a failed run: the bound stays unknown
        if run.termination == Termination.INFEASIBLE:
            self.feasible = False
            return -INF, None
        x = None
        if run.values is not None:  # feasible
            v = run.values
            v[:self.n_build] = np.round(v[:self.n_build])
            self.last = v
            x = self.from_solver(v)
        if run.optimal:
            bound = max(run.bound, float(costs @ x)) if x is not None else run.bound
            if not np.isfinite(bound) and x is not None:
                bound = float(costs @ x)
        else:
            bound = run.bound
            if not np.isfinite(bound):
                bound = INF
        return bound, x


# --------------------------------------------------------------------------- columns
@dataclass
class Column:
    site: int
    x: np.ndarray  # pricer variable values (build units then mining)
    value: float  # NPV of the schedule, $M (mining as in x)
    build_value: float  # NPV of the build decisions only
    activity: np.ndarray  # (R,) coupling-row use
    mine_cap: np.ndarray  # (T,) MW the site can mine given these builds


class Problem:
    """Everything computed once: coupling rows, per-site pricers and coefficient arrays."""

    def __init__(self, econ: Economics) -> None:
        self.econ = econ
        self.coupling = Coupling(econ)
        self.rules = rules = econ.rules
        self.n_sites = rules.n_sites
        self.horizon = econ.horizon
        self.pricers = [SitePricer(econ, s, [c for c in rules.commitments if c.site == s])
                        for s in range(self.n_sites)]
        self.hall_it = rules.halls.it_mw
        self.mining_value = econ.mining_value
        self.floor_mask = np.zeros(self.horizon, dtype=bool)
        self.floor_mask[self.coupling.floor_quarters] = True

    def costs(self, pi: np.ndarray) -> list[np.ndarray]:
        """Reduced objective of every pricer under duals pi (vectorised over all candidates)."""
        econ = self.econ
        budget_price, start_price, it_price, mining_price = self.coupling.split(pi)
        it_after = np.cumsum(it_price[::-1])[::-1]  # price of being online from t to the end
        halls, rules = econ.halls, self.rules
        hall_cost = (halls.value - rules.halls.budget @ budget_price
                     - np.where(halls.tau >= 0, start_price[np.clip(halls.tau, 0, None)], 0.0)
                     - self.hall_it * it_after[np.clip(halls.online, 0, self.horizon - 1)])
        module_cost = econ.cooling.value - rules.modules.budget @ budget_price
        upgrade_cost = econ.power.value - rules.upgrades.budget @ budget_price
        mining_cost = self.mining_value + mining_price[None, :]
        return [np.concatenate([hall_cost[p.hall_idx], module_cost[p.module_idx],
                                upgrade_cost[p.upgrade_idx], mining_cost[p.site]])
                for p in self.pricers]

    def column(self, s: int, x: np.ndarray) -> Column:
        econ, p = self.econ, self.pricers[s]
        nh, nk = len(p.hall_idx), len(p.module_idx)
        hx, kx, ux = x[:nh], x[nh:nh + nk], x[nh + nk:p.n_build]
        mining = x[p.n_build:]
        rules = self.rules
        budget_use = (hx @ rules.halls.budget[p.hall_idx] + kx @ rules.modules.budget[p.module_idx]
                      + ux @ rules.upgrades.budget[p.upgrade_idx])
        taus = econ.halls.tau[p.hall_idx]
        starts = np.zeros(self.horizon)
        ok = taus >= 0
        np.add.at(starts, taus[ok], hx[ok])
        it_new = np.zeros(self.horizon + 1)
        np.add.at(it_new, np.clip(econ.halls.online[p.hall_idx], 0, self.horizon),
                  hx * self.hall_it[p.hall_idx])
        it_online = np.cumsum(it_new)[:self.horizon]
        build_value = float(hx @ econ.halls.value[p.hall_idx] + kx @ econ.cooling.value[
            p.module_idx] + ux @ econ.power.value[p.upgrade_idx])
        value = build_value + float(mining @ self.mining_value[s])
        power_left = p.grid - p.power_build @ x[:p.n_build]
        mine_cap = np.clip(np.minimum(p.mining_cap, power_left), 0.0, None)
        return Column(site=s, x=x, value=value, build_value=build_value,
                      activity=self.coupling.activity(budget_use, starts, it_online, mining),
                      mine_cap=mine_cap)

    def coupling_matrix(self, s: int) -> np.ndarray:
        """(R, n) use of the coupling rows per unit of each of the site's pricer variables."""
        econ, p, horizon = self.econ, self.pricers[s], self.horizon
        t = np.arange(horizon)[None, :]
        rules = self.rules
        budget_use = np.vstack([rules.halls.budget[p.hall_idx], rules.modules.budget[p.module_idx],
                                rules.upgrades.budget[p.upgrade_idx], np.zeros((horizon, horizon))])
        taus = np.concatenate([econ.halls.tau[p.hall_idx],
                               np.full(p.n - len(p.hall_idx), -1)])
        starts = (taus[:, None] == t).astype(float)
        online = np.concatenate([econ.halls.online[p.hall_idx],
                                 np.full(p.n - len(p.hall_idx), horizon)])
        it_mw = np.concatenate([self.hall_it[p.hall_idx], np.zeros(p.n - len(p.hall_idx))])
        it_online = (online[:, None] <= t) * it_mw[:, None]
        mining = np.zeros((p.n, horizon))
        mining[p.n_build:] = np.eye(horizon)
        c = self.coupling
        return np.vstack([c.budget_map @ budget_use.T, starts.T[c.start_quarters],
                          it_online.T[c.demand_quarters], -mining.T[c.floor_quarters]])

    def idle(self, s: int, full: bool) -> np.ndarray | None:
        """The schedule without builds (None if the site has commitments or fixed halls):
        mining where its margin is positive, or everywhere (`full`, for a mining floor)."""
        p = self.pricers[s]
        if (p.row_lower[p.row_lower > -INF] > 0).any():
            return None
        x = np.zeros(p.n)
        cap = min(p.mining_cap, p.grid)
        x[p.n_build:] = cap if full else np.where(self.mining_value[s] > 0, cap, 0.0)
        return x


# --------------------------------------------------------------------------- master
class Master:
    """The restricted master LP in highspy; columns are appended, the basis warm-starts."""

    def __init__(self, coupling: Coupling, n_sites: int) -> None:
        self.r = len(coupling)
        self.n_sites = n_sites
        h = HighsModel()
        h.add_rows(np.concatenate([np.full(self.r, -INF), np.ones(n_sites)]),
                   np.concatenate([coupling.rhs, np.ones(n_sites)]))
        for i in range(self.r):  # artificial slack of each coupling row
            h.add_column(-ARTIFICIAL_PENALTY, 0.0, INF, np.array([i]), np.array([-1.0]))
        self.highs = h
        self.n_artificial = self.r
        self.columns: list[Column] = []

    def add(self, col: Column) -> None:
        nz = np.flatnonzero(np.abs(col.activity) > 1e-12)
        idx = np.concatenate([nz, [self.r + col.site]]).astype(np.int32)
        vals = np.concatenate([col.activity[nz], [1.0]])
        self.highs.add_column(col.value, 0.0, INF, idx, vals)
        self.columns.append(col)

    def solve(self) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, float]:
        """(objective, pi (R), mu (S), lambda per column, artificial total)."""
        run = self.highs.run(duals=True)
        # The artificial slacks keep the coupling rows feasible; a site without any column
        # leaves its convexity row unmet, and these are then HiGHS's last iterate, until the
        # site's pricing gives it a column or finds it has none.
        assert run.values is not None and run.duals is not None  # always given with duals
        duals, values = run.duals, run.values
        pi = np.clip(duals[:self.r], 0.0, None)
        return (run.objective, pi, duals[self.r:], values[self.n_artificial:],
                float(values[:self.n_artificial].sum()))

    def set_weight_bounds(self, j: int, lower: float, upper: float) -> None:
        """Bounds of pool column j's weight lambda_j (the dive fixes and forbids columns)."""
        self.highs.set_column_bounds(np.array([self.n_artificial + j]), np.array([lower]),
                                     np.array([upper]))


# --------------------------------------------------------------------------- repair heuristic
class Repair:
    """Site MILPs with the coupling rows as hard limits on what is left: the primal heuristic.

    Sites whose master LP solution is one whole column keep it; the others, one at a time
    (largest LP weight on one column first), get the schedule that maximises their priced
    value (value - pi . use) within the budget, starts and demand still left. Mining is
    re-dispatched at the end, which is where the mining floor is checked.
    """

    def __init__(self, prob: Problem, clock: EffortClock | None = None) -> None:
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
                   _csc(np.vstack([p.matrix, use])))
            self.models[s] = h
        return self.models[s]

    def run(self, pool: list[Column], lam: np.ndarray, pi: np.ndarray, deadline: float
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
        return _assemble(prob, [b for b in builds if b is not None]) \
            if all(b is not None for b in builds) else None


# --------------------------------------------------------------------------- column MIP
def _column_mip(prob: Problem, pool: list[Column], incumbent: list[int] | None,
                time_limit: float, gap: float, threads: int, seed: int,
                clock: EffortClock | None = None) -> tuple[list[int] | None, float, float]:
    """Best choice of one pool column per site meeting the coupling rows (mining re-chosen
    within each column's power room). Returns (chosen pool positions, objective, bound)."""
    coupling = prob.coupling
    floors = coupling.floor_quarters
    r_keep = len(coupling) - len(floors)  # budget, start and demand rows
    n_sites, nf = prob.n_sites, len(floors)
    # Rows: kept coupling rows, floor rows (S-sum of mining >= floor), link rows
    # (mining[s, t] <= sum lambda mine_cap), convexity rows.
    mv = prob.mining_value
    starts, index, value, cost = [0], [], [], []
    positive = np.where(prob.floor_mask[None, :], 0.0, np.clip(mv, 0.0, None))
    for col in pool:
        a = col.activity[:r_keep]
        nz = np.flatnonzero(np.abs(a) > 1e-12)
        link = r_keep + nf + col.site * nf + np.arange(nf)
        index += [nz, link, [r_keep + nf + n_sites * nf + col.site]]
        value += [a[nz], -col.mine_cap[floors], [1.0]]
        starts.append(starts[-1] + len(nz) + nf + 1)
        cost.append(col.build_value + float(positive[col.site] @ col.mine_cap))
    for s in range(n_sites):  # mining variables of floor quarters
        for i, t in enumerate(floors):
            index += [[r_keep + i, r_keep + nf + s * nf + i]]
            value += [[1.0, 1.0]]
            starts.append(starts[-1] + 2)
            cost.append(float(mv[s, t]))
    n_lambda = len(pool)
    n_cols = n_lambda + n_sites * nf
    row_lower = np.concatenate([np.full(r_keep, -INF), -coupling.rhs[r_keep:],
                                np.full(n_sites * nf, -INF), np.ones(n_sites)])
    row_upper = np.concatenate([coupling.rhs[:r_keep], np.full(nf, INF),
                                np.zeros(n_sites * nf), np.ones(n_sites)])
    mining_cap = np.array([p.mining_cap for p in prob.pricers])
    upper = np.concatenate([np.ones(n_lambda), np.repeat(mining_cap, nf)])
    integer = np.concatenate([np.ones(n_lambda, dtype=bool), np.zeros(n_sites * nf, dtype=bool)])
    matrix = (np.array(starts, dtype=np.int32),
              np.concatenate([np.asarray(i, dtype=np.int32) for i in index]),
              np.concatenate([np.asarray(v, dtype=float) for v in value]))
    h = HighsModel(threads=threads or DEFAULT_THREADS, seed=seed, mip_rel_gap=float(gap),
                   clock=clock)
    h.load(np.array(cost), np.zeros(n_cols), upper, integer, row_lower, row_upper, matrix)
    if incumbent is not None:
        h.set_start(np.ones(len(incumbent)), np.array(incumbent))
    run = h.run(max(0.1, float(time_limit)))
    if run.values is None:
        return None, -INF, run.bound
    lam = run.values[:n_lambda]
    chosen = [-1] * n_sites
    for j in np.flatnonzero(lam > 0.5):
        chosen[pool[j].site] = int(j)
    return chosen, run.objective, run.bound


# --------------------------------------------------------------------------- the plan
@dataclass
class PlanArrays:
    decisions: Decisions
    npv: float  # $M, sum(value * units) + sum(mining_value * mining)


def _assemble(prob: Problem, builds: list[np.ndarray]) -> PlanArrays | None:
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
        power_left[p.site] = p.grid - p.power_build @ b[:p.n_build]
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

    def __init__(self, prob: Problem, options: SolverOptions, clock: EffortClock) -> None:
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
        builds = [_site_vector(self.prob, p, found, with_mining=False) for p in self.prob.pricers]
        return _assemble(self.prob, builds)

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


def _site_vector(prob: Problem, p: SitePricer, plan: Decisions, with_mining: bool = True
                 ) -> np.ndarray:
    """Site p's schedule in a plan: its pricer variables (or only the builds)."""
    nh, nk = len(p.hall_idx), len(p.module_idx)
    x = np.zeros(p.n if with_mining else p.n_build)
    x[:nh] = plan.halls[p.hall_idx]
    x[nh:nh + nk] = plan.modules[p.module_idx]
    x[nh + nk:p.n_build] = plan.upgrades[p.upgrade_idx]
    if with_mining:
        x[p.n_build:] = plan.mining[p.site]
    return x


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
    run = _Run(econ, options, smoothing, EffortClock() if clock is None else clock)
    run.on_progress = on_progress
    return run.solve(max_iterations, polish, use_greedy, greedy)


class _Run:
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
        self.prob = Problem(econ)
        for p in self.prob.pricers:
            p.highs.clock = effort
        self.timings["build"] = time.perf_counter() - self.clock
        self.master = Master(self.prob.coupling, self.prob.n_sites)
        self.master.highs.clock = effort
        self.repair = Repair(self.prob, effort)
        self.pool: list[Column] = []
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
        """Effort seconds left."""
        return self.deadline - self.effort.now()

    def gap(self) -> float:
        return relative_gap(self.best.npv, self.bound) if self.best is not None else INF

    def proven(self) -> bool:
        return self.gap() <= self.mip_gap + GAP_TOLERANCE

    def add(self, col: Column) -> int:
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
                self.add(self.prob.column(p.site, _site_vector(self.prob, p, plan.decisions)))
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
            self.offer(_assemble(prob, builds), "the pricing schedules")
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
            if self.effort.now() >= until:
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
            while self.effort.now() < until:
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
                    plan = _assemble(prob, [self.pool[j].x[:prob.pricers[self.pool[j].site]
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
        chosen, mip_obj, _ = _column_mip(self.prob, self.pool, self.best_columns, time_limit,
                                         self.mip_gap / 4, self.threads, self.seed,
                                         self.effort)
        if chosen is not None:
            plan = _assemble(self.prob, [self.pool[j].x[:self.prob.pricers[self.pool[j].site]
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
