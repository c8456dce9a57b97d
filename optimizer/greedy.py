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

from optimizer.economics import Economics, Valuation, evaluate
from optimizer.plan_frames import site_usage


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
    state = _State(econ)
    halls = econ.halls
    # Commitments first: past starts are fixed; each in-horizon start gets its best option.
    for c in np.flatnonzero(econ.fixed_halls):
        state.place(c, int(econ.fixed_halls[c]), force=True)
    for site, option, t, n in _committed_starts(econ):
        choices = [c for c in range(len(halls)) if halls.site[c] == site and halls.tau[c] == t
                   and (option is None or halls.option[c] == option)]
        choices.sort(key=lambda c: -halls.value[c])
        placed = any(state.place(c, n) for c in choices)
        if not placed and choices:
            state.place(choices[0], n, force=True)
    score = _scores(econ)
    for c in np.argsort(-score):
        if score[c] <= 0:
            break
        while state.place(c, 1):
            pass
    mining = dispatch_mining(econ, state.power_left())
    if mining is None or not state.feasible:
        return None
    valuation = evaluate(econ, state.halls, state.modules, state.upgrades, mining)
    return GreedyPlan(state.halls, state.modules, state.upgrades, mining, valuation)


def _committed_starts(econ: Economics) -> list[tuple[int, int | None, int, int]]:
    portfolio = econ.portfolio
    sites = {n: i for i, n in enumerate(portfolio.sites.index)}
    options = {n: j for j, n in enumerate(portfolio.options.index)}
    out = []
    for row in portfolio.commitments.itertuples(index=False):
        if row.action == "start" and portfolio.t_of(row.quarter) >= 0:
            opt = None if row.option is None or pd.isna(row.option) else options[row.option]
            out.append((sites[row.site], opt, portfolio.t_of(row.quarter), int(row.halls)))
    return out


def _scores(econ: Economics) -> np.ndarray:
    """NPV per $ of capex of one hall, net of the after-tax mining margin its power displaces."""
    halls = econ.halls
    sites, options = econ.portfolio.sites, econ.portfolio.options
    grid_mw = (options["pue"].to_numpy(float)[halls.option]
               * sites["hall_it_mw"].to_numpy(float)[halls.site])
    t = np.arange(econ.horizon)[None, :]
    displaced = np.where(t >= halls.tau[:, None],
                         np.maximum(econ.mining_value[halls.site], 0.0), 0.0).sum(axis=1)
    net = halls.value - grid_mw * displaced
    capex = np.maximum(econ.hall_capex[halls.site, halls.option], 1e-9)
    return np.where(net > 0, net / capex, -1.0)


class _State:
    """Decisions taken so far and the resources they use."""

    def __init__(self, econ: Economics) -> None:
        self.econ = econ
        self.halls = np.zeros(len(econ.halls))
        self.modules = np.zeros(len(econ.cooling))
        self.upgrades = np.zeros(len(econ.power))
        self.feasible = True
        q = econ.portfolio.quarters
        self.budget = q["budget_musd"].to_numpy(float)
        self.max_starts = q["max_hall_starts"].to_numpy(float)
        self.demand = q["ai_demand_mw"].to_numpy(float)
        self.floor = q["min_mining_mw"].to_numpy(float)

    def _usage(self) -> dict[str, np.ndarray]:
        zero = np.zeros_like(self.econ.mining_margin)
        return site_usage(self.econ, self.halls, self.modules, self.upgrades, zero)

    def power_left(self) -> np.ndarray:
        u = self._usage()
        return u["power_available"] - u["power_used"]

    def _ok(self) -> bool:
        econ = self.econ
        u = self._usage()
        sites = econ.portfolio.sites
        if (u["halls_started"][:, -1] > sites["halls"].to_numpy(float) + 1e-9).any():
            return False
        if (u["power_used"] > u["power_available"] + 1e-9).any():
            return False
        if (u["cooling_used"] > u["cooling_available"] + 1e-9).any():
            return False
        capex = sum((st.capex * units[:, None]).sum(axis=0) for st, units in
                    ((econ.halls, self.halls), (econ.cooling, self.modules),
                     (econ.power, self.upgrades)))
        has = np.isfinite(self.budget)
        if econ.portfolio.settings.budget_carryover:
            if (np.cumsum(capex[has]) > np.cumsum(self.budget[has]) + 1e-9).any():
                return False
        elif (capex[has] > self.budget[has] + 1e-9).any():
            return False
        it = u["ai_it_online"].sum(axis=0)
        if (it[np.isfinite(self.demand)] > self.demand[np.isfinite(self.demand)] + 1e-9).any():
            return False
        starts = np.zeros(econ.horizon)
        live = econ.halls.tau >= 0
        np.add.at(starts, econ.halls.tau[live], self.halls[live])
        cap = np.isfinite(self.max_starts)
        if (starts[cap] > self.max_starts[cap] + 1e-9).any():
            return False
        return not (np.isfinite(self.floor).any()
                    and dispatch_mining(econ, u["power_available"] - u["power_used"]) is None)

    def place(self, c: int, n: int, force: bool = False) -> bool:
        """Add n halls of candidate c (with just-in-time upgrades) if all constraints hold."""
        saved = (self.halls.copy(), self.modules.copy(), self.upgrades.copy())
        self.halls[c] += n
        self._add_upgrades_for(c)
        if self._ok():
            return True
        if force:
            self.feasible = False
            return True
        self.halls, self.modules, self.upgrades = saved
        return False

    def _add_upgrades_for(self, c: int) -> None:
        econ = self.econ
        s, tau, q0 = int(econ.halls.site[c]), int(econ.halls.tau[c]), int(econ.halls.online[c])
        u = self._usage()
        short_power = (u["power_used"][s] - u["power_available"][s]).max()
        if short_power > 1e-9:
            ks = [k for k in range(len(econ.power)) if econ.power.site[k] == s
                  and econ.power.online[k] <= max(tau, 0)]
            if ks and not self.upgrades[[k for k in range(len(econ.power))
                                         if econ.power.site[k] == s]].any():
                self.upgrades[max(ks, key=lambda k: econ.power.tau[k])] = 1
        u = self._usage()
        short_cooling = (u["cooling_used"][s] - u["cooling_available"][s]).max()
        if short_cooling > 1e-9:
            ks = [k for k in range(len(econ.cooling)) if econ.cooling.site[k] == s
                  and econ.cooling.online[k] <= q0]
            if ks:
                module_mw = float(econ.portfolio.sites["cooling_module_mw"].iloc[s])
                self.modules[max(ks, key=lambda k: econ.cooling.tau[k])] += np.ceil(
                    short_cooling / module_mw - 1e-9)
