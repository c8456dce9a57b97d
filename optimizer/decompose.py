"""Dantzig-Wolfe decomposition of the conversion MILP by site (column generation).

Why: the sites of a portfolio are coupled only by a few portfolio rows per quarter (capital
budget, hall-start cap, AI demand cap, mining floor). Each site alone is a small MILP that HiGHS
solves in milliseconds; the coupled monolithic MILP has a weak LP relaxation and proves its gap
slowly. Here the coupling rows go to a *master* LP over complete site schedules (columns), and
each site's own rules stay in a *pricing* MILP built once per site with highspy.

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
- Primal: the restricted master as a MIP over the generated columns (binary lambda; mining
  re-dispatched optimally given the chosen halls, so a column is only its build decisions), run
  periodically and at the end; then, with time left and the gap not yet proven, the full MILP
  (all site blocks plus the coupling rows, built in highspy, not Pyomo) from the best plan as a
  MIP start. Its bound, if better, is kept too: the reported bound is min(Lagrangian, MILP).

Units: $M, MW, quarters. The plan comes back in the arrays `optimizer.solve` uses (units per
candidate of `econ.halls`, `econ.cooling`, `econ.power`, mining MW (S, T)), so it is valued by
`optimizer.economics.evaluate` and audited like the monolithic one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import pandas as pd

from optimizer.economics import Economics
from optimizer.solver import relative_gap

INF = highspy.kHighsInf
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
    time_limit | iteration_limit | infeasible. objective = NPV of the returned plan ($M, equal to
    sum(value * units) + sum(mining_value * mining)); bound = proven upper bound on the optimal
    NPV ($M); gap = (bound - objective) / |objective|.
    """

    status: str
    termination: str
    halls: np.ndarray
    modules: np.ndarray
    upgrades: np.ndarray
    mining: np.ndarray
    objective: float
    bound: float
    gap: float
    log: list[str]
    iterations: int
    seconds: float
    columns: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def _new_highs(threads: int = 1, seed: int = 0) -> highspy.Highs:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", max(1, int(threads)))
    h.setOptionValue("random_seed", int(seed))
    return h


def _pass_model(h: highspy.Highs, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                integer: np.ndarray, row_lower: np.ndarray, row_upper: np.ndarray,
                matrix: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    """Load a maximisation model given column-wise (CSC: starts, rows, values)."""
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(cost), len(row_lower)
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lower, upper
    lp.row_lower_, lp.row_upper_ = row_lower, row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = matrix
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = len(cost), len(row_lower)
    lp.sense_ = highspy.ObjSense.kMaximize
    if integer.any():
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                           for i in integer]
    h.passModel(lp)


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
        q = econ.portfolio.quarters
        horizon = econ.horizon
        budget = q["budget_musd"].to_numpy(float)
        budgeted = np.flatnonzero(np.isfinite(budget))
        # capex_map @ capex_t = budget-row activity.
        capex_map = np.zeros((len(budgeted), horizon))
        if econ.portfolio.settings.budget_carryover:
            for r in range(len(budgeted)):
                capex_map[r, budgeted[: r + 1]] = 1.0
            budget_rhs = np.cumsum(budget[budgeted])
        else:
            capex_map[np.arange(len(budgeted)), budgeted] = 1.0
            budget_rhs = budget[budgeted]
        starts_cap = q["max_hall_starts"].to_numpy(float)
        taus = set(econ.halls.tau[econ.halls.tau >= 0].tolist())
        self.start_quarters = np.array([t for t in range(horizon)
                                        if np.isfinite(starts_cap[t]) and t in taus], dtype=int)
        demand = q["ai_demand_mw"].to_numpy(float)
        self.demand_quarters = np.flatnonzero(np.isfinite(demand))
        floor = q["min_mining_mw"].to_numpy(float)
        self.floor_quarters = np.flatnonzero(np.isfinite(floor) & (floor > 0))
        self.capex_map = capex_map
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
        """Prices per quarter: $ capex, hall start, MW IT online, MW mined (added to value)."""
        horizon = self.horizon
        b, s, d = self.n_budget, len(self.start_quarters), len(self.demand_quarters)
        capex_price = self.capex_map.T @ pi[:b]
        start_price = np.zeros(horizon)
        start_price[self.start_quarters] = pi[b:b + s]
        it_price = np.zeros(horizon)
        it_price[self.demand_quarters] = pi[b + s:b + s + d]
        mining_price = np.zeros(horizon)
        mining_price[self.floor_quarters] = pi[b + s + d:]
        return capex_price, start_price, it_price, mining_price

    def activity(self, capex: np.ndarray, starts: np.ndarray, it_online: np.ndarray,
                 mining: np.ndarray) -> np.ndarray:
        """Use of every row by one schedule given per-quarter capex, starts, IT MW, mining."""
        return np.concatenate([self.capex_map @ capex, starts[self.start_quarters],
                               it_online[self.demand_quarters], -mining[self.floor_quarters]])


# --------------------------------------------------------------------------- pricing
class SitePricer:
    """One site's MILP (its rows of models/conversion.py), built once; only costs change.

    Variables in order: halls per candidate (integer; fixed past starts fixed), cooling modules
    per candidate (integer), power upgrade per candidate (binary), mining MW per quarter.
    """

    def __init__(self, econ: Economics, s: int, commitments: list[tuple[np.ndarray, int]]
                 ) -> None:
        sites, options = econ.portfolio.sites, econ.portfolio.options
        horizon = econ.horizon
        self.site = s
        self.horizon = horizon
        self.hall_idx = np.flatnonzero(econ.halls.site == s)
        self.module_idx = np.flatnonzero(econ.cooling.site == s)
        self.upgrade_idx = np.flatnonzero(econ.power.site == s)
        nh, nk, nu = len(self.hall_idx), len(self.module_idx), len(self.upgrade_idx)
        self.n_build = nh + nk + nu
        n = self.n_build + horizon
        self.n = n
        row = sites.iloc[s]
        h_mw = float(row["hall_it_mw"])
        max_halls = int(row["halls"])
        max_modules = int(0 if pd.isna(row["max_cooling_modules"]) else row["max_cooling_modules"])
        module_mw = float(0 if pd.isna(row["cooling_module_mw"]) else row["cooling_module_mw"])
        upgrade_mw = float(0 if pd.isna(row["power_upgrade_mw"]) else row["power_upgrade_mw"])
        self.mining_cap = float(row["mining_mw"])
        self.grid = float(row["grid_mw"])
        t = np.arange(horizon)[:, None]
        hall_tau = econ.halls.tau[self.hall_idx]
        hall_on = econ.halls.online[self.hall_idx]
        hall_opt = econ.halls.option[self.hall_idx]
        pue = options["pue"].to_numpy(float)[hall_opt]
        cool = options["cooling_mw_per_it_mw"].to_numpy(float)[hall_opt]
        mod_on = econ.cooling.online[self.module_idx]
        upg_on = econ.power.online[self.upgrade_idx]

        # Power rows (every quarter): mining + reserved - upgrade MW online <= grid.
        power = np.zeros((horizon, n))
        power[:, :nh] = (hall_tau[None, :] <= t) * (pue * h_mw)[None, :]
        power[:, nh + nk:nh + nk + nu] = -upgrade_mw * (upg_on[None, :] <= t)
        self.power_build = power[:, :self.n_build].copy()  # reserved - upgrades, for mining cap
        power[:, self.n_build:] = np.eye(horizon)
        # Cooling rows (quarters in which a hall needing cooling can be online).
        cooling = np.zeros((horizon, n))
        cooling[:, :nh] = (hall_on[None, :] <= t) * (cool * h_mw)[None, :]
        cooling[:, nh:nh + nk] = -module_mw * (mod_on[None, :] <= t)
        cooling_rows = np.flatnonzero((cooling[:, :nh] > 0).any(axis=1))
        rows = [power, cooling[cooling_rows]]
        lower = [np.full(horizon, -INF), np.full(len(cooling_rows), -INF)]
        upper = [np.full(horizon, self.grid),
                 np.full(len(cooling_rows), float(row["cooling_mw"]))]

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
        for match, halls in commitments:  # match: positions in hall_idx
            if not len(match):
                self.feasible = False
                continue
            r = np.zeros((1, n))
            r[0, match] = 1.0
            rows.append(r)
            lower.append(np.array([float(halls)]))
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
        d = np.eye(self.n_build)
        prev = np.flatnonzero(~first)
        d[prev, prev - 1] = -1.0
        self.D = d
        self.group_first = first
        s_rows = x_matrix[:, :self.n_build] @ d
        s_rows[np.abs(s_rows) < 1e-12] = 0.0
        matrix = np.vstack([np.hstack([s_rows, x_matrix[:, self.n_build:]]),
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
        self.highs = _new_highs()
        self.highs.setOptionValue("mip_rel_gap", PRICING_GAP)
        self.highs.setOptionValue("mip_abs_gap", 1e-9)
        _pass_model(self.highs, np.zeros(n), self.col_lower, self.col_upper, self.integer,
                    self.row_lower, self.row_upper, _csc(matrix))
        self.all_cols = np.arange(n, dtype=np.int32)
        self.last: np.ndarray | None = None  # last solution, in the solver's (S) variables

    def to_solver(self, x: np.ndarray) -> np.ndarray:
        """A schedule (x: units per candidate, mining) in the solver's variables (S, mining)."""
        out = x.copy()
        groups = np.cumsum(self.group_first) - 1
        for g in np.unique(groups):
            members = np.flatnonzero(groups == g)
            out[members] = np.cumsum(x[members])
        return out

    def from_solver(self, v: np.ndarray) -> np.ndarray:
        out = v.copy()
        out[:self.n_build] = self.D @ v[:self.n_build]
        return out

    def solver_costs(self, costs: np.ndarray) -> np.ndarray:
        out = costs.copy()
        out[:self.n_build] = self.D.T @ costs[:self.n_build]
        return out

    def price(self, costs: np.ndarray, time_limit: float) -> tuple[float, np.ndarray | None]:
        """Maximise costs . x over the site's schedules: (proven upper bound, best schedule).

        The bound is the MILP's dual bound (the optimum when solved); +inf if none is known.
        """
        h = self.highs
        h.changeColsCost(self.n, self.all_cols, self.solver_costs(costs))
        h.setOptionValue("time_limit", max(0.05, float(time_limit)))
        if self.last is not None:
            h.setSolution(self.n, self.all_cols, self.last)
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            self.feasible = False
            return -INF, None
        info = h.getInfo()
        x = None
        if info.primal_solution_status == 2:  # feasible
            v = np.array(h.getSolution().col_value)
            v[:self.n_build] = np.round(v[:self.n_build])
            self.last = v
            x = self.from_solver(v)
        if status == highspy.HighsModelStatus.kOptimal:
            bound = max(float(info.mip_dual_bound), float(costs @ x)) \
                if x is not None else float(info.mip_dual_bound)
            if not np.isfinite(bound) and x is not None:
                bound = float(costs @ x)
        else:
            bound = float(info.mip_dual_bound)
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
        sites = econ.portfolio.sites
        self.n_sites = len(sites)
        self.horizon = econ.horizon
        commitments = _site_commitments(econ)
        self.pricers = [SitePricer(econ, s, commitments.get(s, [])) for s in range(self.n_sites)]
        hall_mw = sites["hall_it_mw"].to_numpy(float)
        self.hall_it = hall_mw[econ.halls.site]
        self.mining_value = econ.mining_value
        self.floor_mask = np.zeros(self.horizon, dtype=bool)
        self.floor_mask[self.coupling.floor_quarters] = True

    def costs(self, pi: np.ndarray) -> list[np.ndarray]:
        """Reduced objective of every pricer under duals pi (vectorised over all candidates)."""
        econ = self.econ
        capex_price, start_price, it_price, mining_price = self.coupling.split(pi)
        it_after = np.cumsum(it_price[::-1])[::-1]  # price of being online from t to the end
        halls = econ.halls
        hall_cost = (halls.value - halls.capex @ capex_price
                     - np.where(halls.tau >= 0, start_price[np.clip(halls.tau, 0, None)], 0.0)
                     - self.hall_it * it_after[np.clip(halls.online, 0, self.horizon - 1)])
        module_cost = econ.cooling.value - econ.cooling.capex @ capex_price
        upgrade_cost = econ.power.value - econ.power.capex @ capex_price
        mining_cost = self.mining_value + mining_price[None, :]
        return [np.concatenate([hall_cost[p.hall_idx], module_cost[p.module_idx],
                                upgrade_cost[p.upgrade_idx], mining_cost[p.site]])
                for p in self.pricers]

    def column(self, s: int, x: np.ndarray) -> Column:
        econ, p = self.econ, self.pricers[s]
        nh, nk = len(p.hall_idx), len(p.module_idx)
        hx, kx, ux = x[:nh], x[nh:nh + nk], x[nh + nk:p.n_build]
        mining = x[p.n_build:]
        capex = (hx @ econ.halls.capex[p.hall_idx] + kx @ econ.cooling.capex[p.module_idx]
                 + ux @ econ.power.capex[p.upgrade_idx])
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
                      activity=self.coupling.activity(capex, starts, it_online, mining),
                      mine_cap=mine_cap)

    def coupling_matrix(self, s: int) -> np.ndarray:
        """(R, n) use of the coupling rows per unit of each of the site's pricer variables."""
        econ, p, horizon = self.econ, self.pricers[s], self.horizon
        t = np.arange(horizon)[None, :]
        capex = np.vstack([econ.halls.capex[p.hall_idx], econ.cooling.capex[p.module_idx],
                           econ.power.capex[p.upgrade_idx], np.zeros((horizon, horizon))])
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
        return np.vstack([c.capex_map @ capex.T, starts.T[c.start_quarters],
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


def _site_commitments(econ: Economics) -> dict[int, list[tuple[np.ndarray, int]]]:
    """Start commitments in the plan (quarter >= 0) as (positions in the site's hall
    candidates, halls) per site; the same matching as models/conversion.py."""
    portfolio = econ.portfolio
    site_pos = {n: i for i, n in enumerate(portfolio.sites.index)}
    option_pos = {n: j for j, n in enumerate(portfolio.options.index)}
    out: dict[int, list[tuple[np.ndarray, int]]] = {}
    for row in portfolio.commitments.itertuples(index=False):
        if row.action != "start":
            continue
        t = portfolio.t_of(row.quarter)
        if t < 0:
            continue
        s = site_pos[row.site]
        idx = np.flatnonzero(econ.halls.site == s)
        ok = econ.halls.tau[idx] == t
        if not (row.option is None or pd.isna(row.option)):
            ok &= econ.halls.option[idx] == option_pos[row.option]
        out.setdefault(s, []).append((np.flatnonzero(ok), int(row.halls)))
    return out


# --------------------------------------------------------------------------- master
class Master:
    """The restricted master LP in highspy; columns are appended, the basis warm-starts."""

    def __init__(self, coupling: Coupling, n_sites: int) -> None:
        self.r = len(coupling)
        self.n_sites = n_sites
        h = _new_highs()
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        m = self.r + n_sites
        lower = np.concatenate([np.full(self.r, -INF), np.ones(n_sites)])
        upper = np.concatenate([coupling.rhs, np.ones(n_sites)])
        h.addRows(m, lower, upper, 0, np.zeros(m, dtype=np.int32), np.zeros(0, dtype=np.int32),
                  np.zeros(0))
        for i in range(self.r):  # artificial slack of each coupling row
            h.addCol(-ARTIFICIAL_PENALTY, 0.0, INF, 1, np.array([i], dtype=np.int32),
                     np.array([-1.0]))
        self.highs = h
        self.n_artificial = self.r
        self.columns: list[Column] = []

    def add(self, col: Column) -> None:
        nz = np.flatnonzero(np.abs(col.activity) > 1e-12)
        idx = np.concatenate([nz, [self.r + col.site]]).astype(np.int32)
        vals = np.concatenate([col.activity[nz], [1.0]])
        self.highs.addCol(col.value, 0.0, INF, len(idx), idx, vals)
        self.columns.append(col)

    def solve(self) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, float]:
        """(objective, pi (R), mu (S), lambda per column, artificial total)."""
        h = self.highs
        h.run()
        sol = h.getSolution()
        duals = np.array(sol.row_dual)
        values = np.array(sol.col_value)
        obj = float(h.getInfo().objective_function_value)
        pi = np.clip(duals[:self.r], 0.0, None)
        return (obj, pi, duals[self.r:], values[self.n_artificial:],
                float(values[:self.n_artificial].sum()))


# --------------------------------------------------------------------------- column MIP
def _column_mip(prob: Problem, pool: list[Column], incumbent: list[int] | None,
                time_limit: float, gap: float, threads: int, seed: int
                ) -> tuple[list[int] | None, float, float]:
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
    h = _new_highs(threads, seed)
    h.setOptionValue("time_limit", max(0.1, float(time_limit)))
    h.setOptionValue("mip_rel_gap", float(gap))
    _pass_model(h, np.array(cost), np.zeros(n_cols), upper, integer, row_lower, row_upper, matrix)
    if incumbent is not None:
        h.setSolution(len(incumbent), np.array(incumbent, dtype=np.int32),
                      np.ones(len(incumbent)))
    h.run()
    info = h.getInfo()
    if info.primal_solution_status != 2:
        return None, -INF, float(info.mip_dual_bound)
    lam = np.array(h.getSolution().col_value)[:n_lambda]
    chosen = [-1] * n_sites
    for j in np.flatnonzero(lam > 0.5):
        chosen[pool[j].site] = int(j)
    return chosen, float(info.objective_function_value), float(info.mip_dual_bound)


# --------------------------------------------------------------------------- the plan
@dataclass
class PlanArrays:
    halls: np.ndarray
    modules: np.ndarray
    upgrades: np.ndarray
    mining: np.ndarray
    npv: float


def _assemble(prob: Problem, builds: list[np.ndarray]) -> PlanArrays | None:
    """Plan arrays from one build vector per site; mining dispatched optimally (None if the
    coupling rows or the mining floor are not met)."""
    from optimizer.greedy import dispatch_mining

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
    return PlanArrays(halls, modules, upgrades, mining, npv)


def _polish(prob: Problem, start: PlanArrays | None, time_limit: float, gap: float,
            threads: int, seed: int) -> tuple[PlanArrays | None, float, str]:
    """The monolithic model (models/conversion.py) from the best plan as a MIP start.
    Returns (its plan re-dispatched, or None; its proven bound; its termination)."""
    from models.conversion import build_model
    from optimizer.greedy import GreedyPlan
    from optimizer.solve import solution_units
    from optimizer.solver import HighsRunner

    model = build_model(prob.econ)
    runner = HighsRunner(model)
    if start is not None:
        runner.set_start(GreedyPlan(start.halls, start.modules, start.upgrades, start.mining,
                                    None).start_values(model))  # type: ignore[arg-type]
    outcome = runner.solve(time_limit=max(0.5, time_limit), mip_gap=gap, threads=threads,
                           seed=seed)
    if outcome.status not in ("optimal", "feasible"):
        return None, outcome.bound, outcome.termination
    halls, modules, upgrades, _mining = solution_units(model, prob.econ)
    plan = PlanArrays(halls, modules, upgrades, np.zeros(0), 0.0)
    builds = [_site_vector(prob, p, plan, with_mining=False) for p in prob.pricers]
    return _assemble(prob, builds), outcome.bound, outcome.termination


def _site_vector(prob: Problem, p: SitePricer, plan: PlanArrays, with_mining: bool = True
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
def solve_decomposed(econ: Economics, *, time_limit: float = 60.0, mip_gap: float = 1e-3,
                     threads: int = 0, seed: int = 0, max_iterations: int = 10_000,
                     smoothing: float = 0.5, polish: bool = True, use_greedy: bool = True,
                     mip_every: int = 5) -> DecomposedResult:
    """Column generation by site; see the module docstring. Stops when the proven gap
    (bound - NPV) / |NPV| <= mip_gap, at `time_limit` seconds or after `max_iterations` rounds
    of pricing. `threads` (0 = HiGHS default) is used by the MIPs over columns and the final
    full MILP; pricing MILPs run single-threaded.
    """
    clock = time.perf_counter()
    deadline = clock + float(time_limit)
    log: list[str] = []
    timings: dict[str, float] = {}

    def say(message: str) -> None:
        log.append(f"{time.perf_counter() - clock:8.2f}s  {message}")

    prob = Problem(econ)
    timings["build"] = time.perf_counter() - clock
    say(f"built {prob.n_sites} site pricers, {len(prob.coupling)} coupling rows")
    empty = DecomposedResult(
        status="infeasible", termination="infeasible", halls=np.zeros(len(econ.halls)),
        modules=np.zeros(len(econ.cooling)), upgrades=np.zeros(len(econ.power)),
        mining=np.zeros_like(econ.mining_value), objective=float("nan"), bound=float("nan"),
        gap=float("nan"), log=log, iterations=0, seconds=0.0, timings=timings)
    bad = [p.site for p in prob.pricers if not p.feasible]
    if bad:
        say(f"sites {bad}: a start commitment has no candidate; no plan exists")
        empty.seconds = time.perf_counter() - clock
        return empty

    master = Master(prob.coupling, prob.n_sites)
    pool: list[Column] = []
    seen: set[tuple[int, bytes]] = set()

    def add(col: Column) -> int:
        key = (col.site, np.round(col.x, 6).tobytes())
        if key in seen:
            return 0
        seen.add(key)
        pool.append(col)
        master.add(col)
        return 1

    best: PlanArrays | None = None
    best_columns: list[int] | None = None

    def offer(plan: PlanArrays | None, source: str) -> None:
        nonlocal best, best_columns
        if plan is not None and (best is None or plan.npv > best.npv + 1e-9):
            best = plan
            best_columns = None
            for p in prob.pricers:  # the plan's own schedules enter the pool
                add(prob.column(p.site, _site_vector(prob, p, plan)))
            say(f"incumbent {plan.npv:,.4f} from {source}")

    # Seeds: idle schedules, the greedy plan, each site's best schedule at zero duals.
    for s in range(prob.n_sites):
        for full in (False, True) if len(prob.coupling.floor_quarters) else (False,):
            x = prob.idle(s, full)
            if x is not None:
                add(prob.column(s, x))
    if use_greedy:
        from optimizer.greedy import greedy_plan

        g = greedy_plan(econ)
        if g is not None:
            offer(PlanArrays(g.halls, g.modules, g.upgrades, g.mining, g.valuation.npv),
                  "greedy")
    timings["seeds"] = time.perf_counter() - clock

    bound = INF
    r = len(prob.coupling)
    pi_center = np.zeros(r)
    pi_master = np.zeros(r)
    iterations = 0
    termination = "time_limit"
    last_mip_iteration = -1

    def lagrangian(pi: np.ndarray) -> tuple[float, int, bool]:
        """Price every site at pi: (L(pi), columns added, infeasible site seen)."""
        costs = prob.costs(pi)
        total = float(pi @ prob.coupling.rhs)
        added = 0
        per_site = max(0.2, (deadline - time.perf_counter()) / max(1, prob.n_sites))
        builds = []
        for p, c in zip(prob.pricers, costs, strict=True):
            ub, x = p.price(c, per_site)
            if x is None and ub == -INF:
                return -INF, added, True
            total += ub
            if x is not None:
                added += add(prob.column(p.site, x))
                builds.append(x[:p.n_build])
        if len(builds) == prob.n_sites:  # the priced schedules may together be a plan
            offer(_assemble(prob, builds), "the pricing schedules")
        return total, added, False

    while True:
        obj, pi_master, _mu, _lam, art = master.solve()
        # Smoothed prices (Wentges); the first round prices at the master's duals.
        alpha = smoothing if iterations > 0 else 0.0
        pi = alpha * pi_center + (1.0 - alpha) * pi_master
        value, added, infeasible = lagrangian(pi)
        iterations += 1
        if infeasible:
            say("a site's rules admit no schedule; no plan exists")
            empty.seconds = time.perf_counter() - clock
            empty.iterations = iterations
            return empty
        if value < bound:
            bound, pi_center = value, pi
        if added == 0 and alpha > 0:
            # Mis-pricing: nothing new at the smoothed prices; price at the master's own.
            value, added, _ = lagrangian(pi_master)
            if value < bound:
                bound, pi_center = value, pi_master
        lp_gap = relative_gap(obj, bound) if art < 1e-9 else float("inf")
        say(f"round {iterations:3d}: master {obj:,.4f} (artificial {art:.3g}), bound "
            f"{bound:,.4f}, LP gap {lp_gap:.3%}, +{added} columns, pool {len(pool)}")
        stalled = added == 0 or lp_gap <= mip_gap / 4
        if (stalled or iterations - last_mip_iteration >= mip_every) and \
                time.perf_counter() < deadline:
            last_mip_iteration = iterations
            remaining = deadline - time.perf_counter()
            chosen, mip_obj, _ = _column_mip(prob, pool, best_columns, min(remaining, max(
                1.0, 0.25 * remaining)), mip_gap / 4, threads, seed)
            if chosen is not None:
                plan = _assemble(prob, [pool[j].x[:prob.pricers[pool[j].site].n_build]
                                        for j in chosen])
                offer(plan, f"MIP over {len(pool)} columns ({mip_obj:,.4f})")
                if best is not None and plan is not None and plan.npv >= best.npv - 1e-9:
                    best_columns = chosen
        gap = relative_gap(best.npv, bound) if best is not None else float("inf")
        if gap <= mip_gap + GAP_TOLERANCE:
            termination = "optimal"
            break
        if stalled and added == 0:
            break  # the LP has converged; the rest is integrality
        if iterations >= max_iterations:
            termination = "iteration_limit"
            break
        if time.perf_counter() >= deadline:
            break
    timings["column_generation"] = time.perf_counter() - clock

    gap = relative_gap(best.npv, bound) if best is not None else float("inf")
    if termination != "optimal" and polish and time.perf_counter() < deadline - 0.5:
        say(f"monolithic MILP from the best plan for {deadline - time.perf_counter():.1f}s")
        plan, milp_bound, status = _polish(prob, best, deadline - time.perf_counter(),
                                           mip_gap, threads, seed)
        offer(plan, f"monolithic MILP ({status})")
        if np.isfinite(milp_bound):
            bound = min(bound, milp_bound)
        gap = relative_gap(best.npv, bound) if best is not None else float("inf")
        if gap <= mip_gap + GAP_TOLERANCE:
            termination = "optimal"
        elif status == "infeasible":
            termination = "infeasible"
    timings["total"] = time.perf_counter() - clock
    if best is None:
        status = "infeasible" if termination == "infeasible" else "no_solution"
        empty.status, empty.termination = status, termination
        empty.bound, empty.iterations, empty.seconds = bound, iterations, timings["total"]
        return empty
    say(f"done: NPV {best.npv:,.4f}, bound {bound:,.4f}, gap {gap:.4%} ({termination})")
    return DecomposedResult(
        status="optimal" if termination == "optimal" else "feasible", termination=termination,
        halls=best.halls, modules=best.modules, upgrades=best.upgrades, mining=best.mining,
        objective=best.npv, bound=max(bound, best.npv) if gap <= 1e-12 else bound, gap=gap,
        log=log, iterations=iterations, seconds=timings["total"], columns=len(pool),
        timings=timings)
