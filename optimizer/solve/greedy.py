"""The greedy baseline: how a spreadsheet team would choose, and a MIP start for HiGHS.

Rank every candidate hall start by its NPV net of the mining it displaces, per dollar of capex;
accept starts in that order while every constraint still holds, buying a cooling module or the
power upgrade just in time when a hall needs one and the budget allows. Commitments are placed
first. Mining is then dispatched optimally around the chosen halls. The optimizer's uplift over
this plan is what the MILP is worth to its users.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from models.economics import Economics, Valuation, evaluate


@dataclass
class GreedyPlan:
    halls: np.ndarray
    modules: np.ndarray
    upgrades: np.ndarray
    mining: np.ndarray
    valuation: Valuation

    def start_values(self, model: pyo.ConcreteModel) -> list[tuple[pyo.Var, float]]:
        """Every integer decision of the model set to this plan (a complete MIP start)."""
        values: list[tuple[pyo.Var, float]] = []
        for var, units in ((model.halls_started, self.halls),
                           (model.modules_started, self.modules),
                           (model.upgrade_started, self.upgrades)):
            values += [(var[i], float(units[i])) for i in var]
        values += [(var, float(self.mining[s, t])) for (s, t), var in model.mining_mw.items()]
        return values


def dispatch_mining(econ: Economics, power_left: np.ndarray) -> np.ndarray | None:
    """Best mining MW (S, T) given the power each site has left for miners.

    Each site mines its full capacity when its margin is positive; a portfolio mining floor is
    met with the highest-margin remaining capacity first (the LP optimum, since the after-tax
    value is linear). None if the floor cannot be met.
    """
    cap = np.minimum(econ.portfolio.sites["mining_mw"].to_numpy(float)[:, None],
                     np.maximum(power_left, 0.0))
    mining = np.where(econ.mining_value > 0, cap, 0.0)
    floor = econ.portfolio.quarters["min_mining_mw"].to_numpy(float)
    for t in np.flatnonzero(np.isfinite(floor)):
        short = floor[t] - mining[:, t].sum()
        for s in np.argsort(-econ.mining_value[:, t]):
            if short <= 1e-9:
                break
            extra = min(cap[s, t] - mining[s, t], short)
            mining[s, t] += extra
            short -= extra
        if short > 1e-6:
            return None
    return mining


def greedy_plan(econ: Economics) -> GreedyPlan | None:
    """The greedy plan, or None if even the commitments cannot be placed feasibly."""
    score = start_scores(econ)
    order = [int(c) for c in np.argsort(-score) if score[c] > 0]
    return finish(econ, fill(commitments_placed(econ), order))


def commitments_placed(econ: Economics) -> GreedyState:
    """A state with the commitments placed: past starts fixed, each in-horizon start given its
    best-valued option that fits (forced, and the state marked infeasible, if none fits)."""
    state, halls = GreedyState(econ), econ.halls
    for c in np.flatnonzero(econ.fixed_halls):
        state.place(c, int(econ.fixed_halls[c]), force=True)
    for site, option, t, n in committed_starts(econ):
        choices = [c for c in range(len(halls)) if halls.site[c] == site and halls.tau[c] == t
                   and (option is None or halls.option[c] == option)]
        choices.sort(key=lambda c: -halls.value[c])
        placed = any(state.place(c, n) for c in choices)
        if not placed and choices:
            state.place(choices[0], n, force=True)
    return state


def fill(state: GreedyState, order: list[int]) -> GreedyState:
    """Accept as many halls of each candidate, in `order`, as every constraint allows."""
    for c in order:
        while state.place(c, 1):
            pass
    return state


def finish(econ: Economics, state: GreedyState) -> GreedyPlan | None:
    """Dispatch mining around the state's decisions and value it; None if it breaks a limit."""
    mining = dispatch_mining(econ, state.power_left())
    if mining is None or not state.feasible:
        return None
    valuation = evaluate(econ, state.halls, state.modules, state.upgrades, mining)
    return GreedyPlan(state.halls, state.modules, state.upgrades, mining, valuation)


def committed_starts(econ: Economics) -> list[tuple[int, int | None, int, int]]:
    portfolio = econ.portfolio
    sites = {n: i for i, n in enumerate(portfolio.sites.index)}
    options = {n: j for j, n in enumerate(portfolio.options.index)}
    out = []
    for row in portfolio.commitments.itertuples(index=False):
        if row.action == "start" and portfolio.t_of(row.quarter) >= 0:
            opt = None if row.option is None or pd.isna(row.option) else options[row.option]
            out.append((sites[row.site], opt, portfolio.t_of(row.quarter), int(row.halls)))
    return out


def start_scores(econ: Economics) -> np.ndarray:
    """NPV per $ of capex of one hall, net of the after-tax mining margin its power displaces."""
    halls = econ.halls
    sites, options = econ.portfolio.sites, econ.portfolio.options
    grid_mw = (options["pue"].to_numpy(float)[halls.option]
               * sites["hall_it_mw"].to_numpy(float)[halls.site])
    t = np.arange(econ.horizon)[None, :]
    displaced = np.where(t >= halls.tau[:, None],
                         np.maximum(econ.mining_value[halls.site], 0.0), 0.0).sum(axis=1)
    net = halls.value - grid_mw * displaced
    capex = econ.hall_capex[halls.site, halls.option]
    if halls.budget_use is not halls.capex or halls.tenant_capex.any() or (
            halls.equipment_capex.any()):  # deal terms: what the budget pays
        capex = halls.budget_use.sum(axis=1)
    capex = np.maximum(capex, 1e-9)
    return np.where(net > 0, net / capex, -1.0)


class GreedyState:
    """Decisions taken so far and the resources they use, updated incrementally."""

    def __init__(self, econ: Economics) -> None:
        self.econ = econ
        portfolio = econ.portfolio
        sites, options, q = portfolio.sites, portfolio.options, portfolio.quarters
        n_sites, horizon = econ.mining_margin.shape
        self.halls = np.zeros(len(econ.halls))
        self.modules = np.zeros(len(econ.cooling))
        self.upgrades = np.zeros(len(econ.power))
        self.feasible = True
        self.budget = q["budget_musd"].to_numpy(float)
        self.max_starts = q["max_hall_starts"].to_numpy(float)
        self.demand = q["ai_demand_mw"].to_numpy(float)
        self.floor = q["min_mining_mw"].to_numpy(float)
        self.max_halls = sites["halls"].to_numpy(float)
        self.max_modules = sites["max_cooling_modules"].fillna(0).to_numpy(float)
        self.module_mw = sites["cooling_module_mw"].fillna(0).to_numpy(float)
        self.upgrade_mw = sites["power_upgrade_mw"].fillna(0).to_numpy(float)
        hall_mw = sites["hall_it_mw"].to_numpy(float)[econ.halls.site]
        self.hall_power = options["pue"].to_numpy(float)[econ.halls.option] * hall_mw
        self.hall_cooling = (options["cooling_mw_per_it_mw"].to_numpy(float)[econ.halls.option]
                             * hall_mw)
        self.hall_it = hall_mw
        self.halls_used = np.zeros(n_sites)
        self.modules_used = np.zeros(n_sites)
        self.upgraded = np.zeros(n_sites, dtype=bool)
        self.reserved = np.zeros((n_sites, horizon))
        self.power_available = np.repeat(sites["grid_mw"].to_numpy(float)[:, None], horizon, 1)
        self.cooling_need = np.zeros((n_sites, horizon))
        self.cooling_available = np.repeat(sites["cooling_mw"].to_numpy(float)[:, None],
                                           horizon, 1)
        self.capex = np.zeros(horizon)
        self.starts = np.zeros(horizon)
        self.it_online = np.zeros(horizon)
        self.modules_by_site = _by_site(econ.cooling.site, n_sites)
        self.upgrades_by_site = _by_site(econ.power.site, n_sites)

    def power_left(self) -> np.ndarray:
        return self.power_available - self.reserved

    def _budget_ok(self) -> bool:
        has = np.isfinite(self.budget)
        if self.econ.portfolio.settings.budget_carryover:
            return bool((np.cumsum(self.capex[has]) <= np.cumsum(self.budget[has]) + 1e-9).all())
        return bool((self.capex[has] <= self.budget[has] + 1e-9).all())

    def _ok(self, s: int) -> bool:
        """All constraints after a change at site s (site rows of s plus portfolio rows)."""
        if self.halls_used[s] > self.max_halls[s] + 1e-9:
            return False
        if self.modules_used[s] > self.max_modules[s] + 1e-9:
            return False
        if (self.reserved[s] > self.power_available[s] + 1e-9).any():
            return False
        if (self.cooling_need[s] > self.cooling_available[s] + 1e-9).any():
            return False
        if not self._budget_ok():
            return False
        cap = np.isfinite(self.demand)
        if (self.it_online[cap] > self.demand[cap] + 1e-9).any():
            return False
        cap = np.isfinite(self.max_starts)
        if (self.starts[cap] > self.max_starts[cap] + 1e-9).any():
            return False
        return not (np.isfinite(self.floor).any()
                    and dispatch_mining(self.econ, self.power_left()) is None)

    def _apply_hall(self, c: int, n: float) -> None:
        econ = self.econ
        s, tau, q0 = int(econ.halls.site[c]), int(econ.halls.tau[c]), int(econ.halls.online[c])
        self.halls[c] += n
        self.halls_used[s] += n
        self.reserved[s, max(tau, 0):] += n * self.hall_power[c]
        self.cooling_need[s, q0:] += n * self.hall_cooling[c]
        self.it_online[q0:] += n * self.hall_it[c]
        self.capex += n * econ.halls.budget_use[c]
        if tau >= 0:
            self.starts[tau] += n

    def _apply_module(self, k: int, n: float) -> None:
        st = self.econ.cooling
        s = int(st.site[k])
        self.modules[k] += n
        self.modules_used[s] += n
        self.cooling_available[s, int(st.online[k]):] += n * self.module_mw[s]
        self.capex += n * st.budget_use[k]

    def _apply_upgrade(self, k: int, n: float) -> None:
        st = self.econ.power
        s = int(st.site[k])
        self.upgrades[k] += n
        self.upgraded[s] = n > 0
        self.power_available[s, int(st.online[k]):] += n * self.upgrade_mw[s]
        self.capex += n * st.budget_use[k]

    def place(self, c: int, n: int, force: bool = False) -> bool:
        """Add n halls of candidate c (with just-in-time upgrades) if all constraints hold."""
        econ = self.econ
        s = int(econ.halls.site[c])
        self._apply_hall(c, n)
        added: list[tuple[str, int, float]] = []
        short = self.reserved[s] - self.power_available[s]
        if short.max() > 1e-9 and not self.upgraded[s]:
            first_short = int(np.argmax(short > 1e-9))
            ks = [k for k in self.upgrades_by_site[s] if econ.power.online[k] <= first_short]
            if ks:
                k = max(ks, key=lambda k: econ.power.tau[k])
                self._apply_upgrade(k, 1)
                added.append(("upgrade", k, 1))
        short = self.cooling_need[s] - self.cooling_available[s]
        if short.max() > 1e-9 and self.module_mw[s] > 0:
            first_short = int(np.argmax(short > 1e-9))
            ks = [k for k in self.modules_by_site[s] if econ.cooling.online[k] <= first_short]
            if ks:
                k = max(ks, key=lambda k: econ.cooling.tau[k])
                n_mod = float(np.ceil(short.max() / self.module_mw[s] - 1e-9))
                self._apply_module(k, n_mod)
                added.append(("module", k, n_mod))
        if self._ok(s):
            return True
        if force:
            self.feasible = False
            return True
        for kind, k, units in added:
            (self._apply_upgrade if kind == "upgrade" else self._apply_module)(k, -units)
        if any(kind == "upgrade" for kind, _k, _u in added):
            self.upgraded[s] = False
        self._apply_hall(c, -n)
        return False


def _by_site(site_of: np.ndarray, n_sites: int) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in range(n_sites)]
    for k, s in enumerate(site_of.tolist()):
        out[s].append(k)
    return out
