"""The decomposition's formulation, derived from the rules' row layer: no rule is written here.

Every row of the monolithic model (`models.conversion.FAMILIES`) is either one site's own row
(`SITE_FAMILIES`) or a portfolio row that couples the sites (`COUPLING_FAMILIES`); the
covenant, which couples every site in every year, is not decomposed (`optimize` refuses it).
`Rules.linear_rows` turns a family's rows (`models.rows`, the one place each rule's arithmetic
is written, which the Pyomo model is tested against row by row) into coefficients over a set
of variables; here the variables are one site's: halls per candidate, cooling modules per
candidate, the power upgrade per candidate and MW mined per quarter, read from the site's
rules alone (`Rules.for_site`). So:

- `SitePricer` is the site's rows of `SITE_FAMILIES` as a MILP (rows every plan meets
  dropped), loaded once into HiGHS; only its costs change.
- `Coupling` is the portfolio's rows of `COUPLING_FAMILIES` in  activity <= rhs  form (the
  mining floor, a >= row, negated so that every dual is >= 0), rows no plan can break dropped;
  `Formulation.coupling_matrix(s)` is site s's coefficients in them, and a schedule's use
  (`SiteColumn.activity`) is that matrix times the schedule.

Units: $M, MW, quarters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.decisions import Decisions
from models.economics import Economics
from models.rows import LinearRows
from models.rules import Rules
from optimizer.solve.highs import INF, HighsModel, RunResult
from optimizer.status import Termination

# Each site's own rows, in the order its pricing MILP has them.
SITE_FAMILIES = ("site_power", "site_cooling", "halls_per_site", "cooling_module_limit",
                 "power_upgrade_once", "start_commitments")
# The rows that couple the sites: the master's rows, in its order (the mining floor last).
COUPLING_FAMILIES = ("capital_budget", "hall_starts_cap", "ai_demand_cap", "mining_floor")
# Couples every site in every year: not decomposed.
NOT_DECOMPOSED = ("debt_service_coverage",)

PRICING_GAP = 1e-9  # relative gap of each pricing MILP (its proven bound is used anyway)


def csc(dense: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column-wise sparse arrays of a dense (rows, cols) matrix."""
    cols, rows = np.nonzero(dense.T)
    starts = np.searchsorted(cols, np.arange(dense.shape[1] + 1)).astype(np.int32)
    return starts, rows.astype(np.int32), dense[rows, cols].astype(float)


def site_directions(site_rules: Rules) -> Decisions:
    """One unit plan per variable of a site (its rules alone, `Rules.for_site`): each hall
    candidate, module candidate and upgrade candidate, then MW mined in each quarter."""
    nh, nk, nu = len(site_rules.halls), len(site_rules.modules), len(site_rules.upgrades)
    eye = np.eye(nh + nk + nu + site_rules.horizon)
    return Decisions(eye[:nh], eye[nh:nh + nk], eye[nh + nk:nh + nk + nu],
                     eye[nh + nk + nu:][None, :, :])


# --------------------------------------------------------------------------- coupling rows
class Coupling:
    """The portfolio rows (`COUPLING_FAMILIES`), all written as  activity <= rhs  (duals >= 0).

    Rows in order: budget (one per budgeted quarter; with carryover the cumulative form), hall
    starts per capped quarter, AI IT MW online per capped quarter, mining floor (-mining <=
    -floor) per floored quarter; each only where some plan could break it.
    """

    def __init__(self, rules: Rules, per_site: list[LinearRows]) -> None:
        empty = rules.linear_rows(COUPLING_FAMILIES, rules.zero_plan(0))
        # A row every site's coefficients keep within its bound at any plan is left out (a
        # capped quarter in which no hall can start or be online, a mining floor of 0), as the
        # monolithic model leaves it out.
        slack = np.logical_and.reduce([rows.always_hold() for rows in per_site]) \
            if per_site else np.ones(len(empty), bool)
        self.keep = np.flatnonzero(~slack)
        rows = empty.take(self.keep)
        _, self.rhs = rows.as_upper()
        self.family = rows.family
        self.keys = rows.keys  # the quarter of each row
        self.labels = [f"{f} t={t}" for f, t in zip(rows.family, rows.keys, strict=True)]
        floor = np.array([f == "mining_floor" for f in rows.family], bool)
        self.floor_quarters = np.array(rows.keys, dtype=int)[floor] if floor.any() \
            else np.zeros(0, dtype=int)
        self.n_floor = int(floor.sum())
        if floor.any() and not floor[-len(self.floor_quarters):].all():
            raise AssertionError("the mining floor rows must come last")

    def __len__(self) -> int:
        return len(self.rhs)

    def site_matrix(self, per_site: LinearRows) -> np.ndarray:
        """(R, n) a site's coefficients in the kept rows, each as  activity <= rhs."""
        matrix, _ = per_site.take(self.keep).as_upper()
        return matrix


# --------------------------------------------------------------------------- pricing
class SitePricer:
    """One site's MILP (its rows of `SITE_FAMILIES`, `Rules.linear_rows`), built once; only
    costs change.

    Variables in order: halls per candidate (integer; fixed past starts fixed), cooling modules
    per candidate (integer), power upgrade per candidate (binary), mining MW per quarter.
    """

    def __init__(self, econ: Economics, s: int, site_rules: Rules, own: LinearRows) -> None:
        rules = econ.rules
        lim = site_rules.limits
        horizon = econ.horizon
        self.site = s
        self.horizon = horizon
        self.hall_idx = np.flatnonzero(rules.halls.site == s)
        self.module_idx = np.flatnonzero(rules.modules.site == s)
        self.upgrade_idx = np.flatnonzero(rules.upgrades.site == s)
        nh, nk, nu = len(self.hall_idx), len(self.module_idx), len(self.upgrade_idx)
        self.n_build = nh + nk + nu
        n = self.n_build + horizon
        self.n = n
        max_halls = int(lim.halls[0])
        max_modules = int(lim.max_modules[0])
        self.mining_cap = float(lim.mining_mw[0])
        # The power rows, one a quarter: their builds' part (reserved MW less upgrade MW) and
        # their bound (the grid), what the mining room is read from.
        power = np.array(own.family) == "site_power"
        self.power_build = own.matrix[power, :self.n_build]
        self.power_bound = own.upper[power]
        # A start commitment with no candidate left can never be met: the site has no schedule.
        self.feasible = not own.never_hold().any()
        rows = own.take(~own.always_hold() & ~own.never_hold())
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
        group = np.concatenate([site_rules.halls.option, np.full(nk, -1), np.full(nu, -2)])
        first = np.r_[True, group[1:] != group[:-1]] if self.n_build else np.zeros(0, bool)
        self.group_first = first
        self.chained = ~first[1:]  # candidate j+1 is in the same group as j
        d = np.eye(self.n_build)
        prev = np.flatnonzero(~first)
        d[prev, prev - 1] = -1.0
        matrix = np.vstack([np.hstack([self.times_d(rows.matrix[:, :self.n_build]),
                                       rows.matrix[:, self.n_build:]]),
                            np.hstack([d, np.zeros((self.n_build, horizon))])])
        self.row_lower = np.concatenate([np.where(np.isfinite(rows.lower), rows.lower, -INF),
                                         x_lower])
        self.row_upper = np.concatenate([np.where(np.isfinite(rows.upper), rows.upper, INF),
                                         x_upper])
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
                        self.row_lower, self.row_upper, csc(matrix))
        self.last: np.ndarray | None = None  # last solution, in the solver's (S) variables

    def mining_room(self, builds: np.ndarray) -> np.ndarray:
        """(T,) MW of the grid the builds leave for mining: the power rows' slack at no
        mining."""
        return self.power_bound - self.power_build @ builds

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
            # claiming optimality (see optimizer/solve/highs/runner.py): its bound would then
            # be invalid.
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
class SiteColumn:
    """One site schedule: a column of the master."""

    site: int
    x: np.ndarray  # pricer variable values (build units then mining)
    value: float  # NPV of the schedule, $M (mining as in x)
    build_value: float  # NPV of the build decisions only
    activity: np.ndarray  # (R,) coupling-row use
    mine_cap: np.ndarray  # (T,) MW the site can mine given these builds


class Formulation:
    """Everything computed once: each site's rules, rows and pricer, the coupling rows and
    each site's coefficients in them, the objective per variable."""

    def __init__(self, econ: Economics) -> None:
        self.econ = econ
        self.rules = rules = econ.rules
        self.n_sites = rules.n_sites
        self.horizon = econ.horizon
        own: list[LinearRows] = []
        shared: list[LinearRows] = []
        site_rules = [rules.for_site(s) for s in range(self.n_sites)]
        for one in site_rules:
            rows = one.linear_rows(SITE_FAMILIES + COUPLING_FAMILIES, site_directions(one))
            mine = np.isin(rows.family, SITE_FAMILIES)
            own.append(rows.take(mine))
            shared.append(rows.take(~mine))
        self.coupling = Coupling(rules, shared)
        self.site_coupling = [self.coupling.site_matrix(rows) for rows in shared]
        self.pricers = [SitePricer(econ, s, site_rules[s], own[s])
                        for s in range(self.n_sites)]
        self.mining_value = econ.mining_value
        self.floor_mask = np.zeros(self.horizon, dtype=bool)
        self.floor_mask[self.coupling.floor_quarters] = True
        self.values = [np.concatenate([econ.halls.value[p.hall_idx],
                                       econ.cooling.value[p.module_idx],
                                       econ.power.value[p.upgrade_idx],
                                       self.mining_value[p.site]]) for p in self.pricers]

    def costs(self, pi: np.ndarray) -> list[np.ndarray]:
        """Reduced objective of every pricer under duals pi: value - pi . (coupling use)."""
        return [value - pi @ use for value, use in zip(self.values, self.site_coupling,
                                                        strict=True)]

    def column(self, s: int, x: np.ndarray) -> SiteColumn:
        """Site s's schedule x (pricer variables) as a master column."""
        p = self.pricers[s]
        build_value = float(self.values[s][:p.n_build] @ x[:p.n_build])
        value = build_value + float(x[p.n_build:] @ self.mining_value[s])
        power_left = p.mining_room(x[:p.n_build])
        mine_cap = np.clip(np.minimum(p.mining_cap, power_left), 0.0, None)
        return SiteColumn(site=s, x=x, value=value, build_value=build_value,
                          activity=self.site_coupling[s] @ x, mine_cap=mine_cap)

    def coupling_matrix(self, s: int) -> np.ndarray:
        """(R, n) use of the coupling rows per unit of each of the site's pricer variables."""
        return self.site_coupling[s]

    def idle(self, s: int, full: bool) -> np.ndarray | None:
        """The schedule without builds (None if the site has commitments or fixed halls):
        mining where its margin is positive, or everywhere (`full`, for a mining floor)."""
        p = self.pricers[s]
        if (p.row_lower[p.row_lower > -INF] > 0).any():
            return None
        x = np.zeros(p.n)
        cap = np.minimum(p.mining_cap, p.power_bound)
        x[p.n_build:] = cap if full else np.where(self.mining_value[s] > 0, cap, 0.0)
        return x

    def site_vector(self, s: int, plan: Decisions, with_mining: bool = True) -> np.ndarray:
        """Site s's schedule in a plan: its pricer variables (or only the builds)."""
        p = self.pricers[s]
        nh, nk = len(p.hall_idx), len(p.module_idx)
        x = np.zeros(p.n if with_mining else p.n_build)
        x[:nh] = plan.halls[p.hall_idx]
        x[nh:nh + nk] = plan.modules[p.module_idx]
        x[nh + nk:p.n_build] = plan.upgrades[p.upgrade_idx]
        if with_mining:
            x[p.n_build:] = plan.mining[p.site]
        return x
