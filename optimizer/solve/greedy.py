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
import pyomo.environ as pyo

from models.decisions import Decisions
from models.economics import (
    Economics,
    Valuation,
    dispatch_mining,
    evaluate,
    hall_net_values,
)


@dataclass
class GreedyPlan:
    decisions: Decisions
    valuation: Valuation

    def start_values(self, model: pyo.ConcreteModel) -> list[tuple[pyo.Var, float]]:
        """Every integer decision of the model set to this plan (a complete MIP start)."""
        d = self.decisions
        values: list[tuple[pyo.Var, float]] = []
        for var, units in ((model.halls_started, d.halls),
                           (model.modules_started, d.modules),
                           (model.upgrade_started, d.upgrades)):
            values += [(var[i], float(units[i])) for i in var]
        values += [(var, float(d.mining[s, t])) for (s, t), var in model.mining_mw.items()]
        return values


def greedy_plan(econ: Economics) -> GreedyPlan | None:
    """The greedy plan, or None if even the commitments cannot be placed feasibly."""
    score = start_scores(econ)
    # Halls begun before the plan are fixed at their committed number: never add to them.
    order = [int(c) for c in np.argsort(-score) if score[c] > 0 and econ.halls.tau[c] >= 0]
    return finish(econ, fill(commitments_placed(econ), order))


def commitments_placed(econ: Economics) -> GreedyState:
    """A state with the commitments placed: past starts fixed, each in-horizon start given its
    best-valued option that fits (forced, and the state marked infeasible, if none fits)."""
    state, halls = GreedyState(econ), econ.halls
    for c in np.flatnonzero(econ.fixed_halls):
        state.place(int(c), int(econ.fixed_halls[c]), force=True)
    for row in econ.rules.commitments:
        n = row.halls
        choices = sorted(row.candidates.tolist(), key=lambda c: -halls.value[c])
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
    decisions = Decisions(state.halls, state.modules, state.upgrades, mining)
    valuation = evaluate(econ, decisions)
    if not covenant_holds(econ, decisions, valuation):
        return None
    return GreedyPlan(decisions, valuation)


def covenant_holds(econ: Economics, decisions: Decisions, valuation: Valuation) -> bool:
    """The debt service coverage covenant (Settings min_dscr) in every calendar year of a
    plan, the layer's rows (`Rules.rows`): CFADS_y >= min_dscr x debt service_y, to within
    1e-7 of the year's quarterly |CFADS| by the valuation (True without a covenant)."""
    rules = econ.rules
    cov = rules.coverage
    if cov is None:
        return True
    scale = np.maximum(1.0, cov.by_year(np.abs(valuation.cfads.sum(axis=0))))
    return rules.rows(rules.usage(decisions))["debt_service_coverage"].holds(1e-7 * scale)


def start_scores(econ: Economics) -> np.ndarray:
    """NPV per $ of capex of one hall, net of the mining it displaces
    (`models.economics.hall_net_values`, the definition Why-not reads too)."""
    halls = econ.halls
    net = hall_net_values(econ)
    capex = econ.hall_capex[halls.site, halls.option]
    budget = econ.rules.halls.budget
    if budget is not halls.capex or halls.tenant_capex.any() or (
            halls.equipment_capex.any()):  # deal terms: per $ of what the budget pays
        capex = budget.sum(axis=1)
    capex = np.maximum(capex, 1e-9)
    return np.where(net > 0, net / capex, -1.0)


class GreedyState:
    """Decisions taken so far and the resources they use, updated incrementally."""

    def __init__(self, econ: Economics) -> None:
        self.econ = econ
        self.rules = rules = econ.rules
        lim = rules.limits
        n_sites, horizon = econ.mining_margin.shape
        self.halls = np.zeros(len(econ.halls))
        self.modules = np.zeros(len(econ.cooling))
        self.upgrades = np.zeros(len(econ.power))
        self.feasible = True
        self.halls_used = np.zeros(n_sites)
        self.modules_used = np.zeros(n_sites)
        self.upgraded = np.zeros(n_sites, dtype=bool)
        self.reserved = np.zeros((n_sites, horizon))
        self.power_available = np.repeat(lim.grid_mw[:, None], horizon, 1)
        self.cooling_need = np.zeros((n_sites, horizon))
        self.cooling_available = np.repeat(lim.cooling_mw[:, None], horizon, 1)
        self.budget_use = np.zeros(horizon)
        self.starts = np.zeros(horizon)
        self.it_online = np.zeros(horizon)
        self.modules_by_site = _by_site(rules.modules.site, n_sites)
        self.upgrades_by_site = _by_site(rules.upgrades.site, n_sites)

    def power_left(self) -> np.ndarray:
        return self.power_available - self.reserved

    def _ok(self, s: int) -> bool:
        """All constraints after a change at site s: the site rows of s, then the budget and
        quarterly caps as the rules layer writes them (`Limits.budget_rows`, `quarter_rows`),
        then the mining floor by dispatching mining; the covenant is checked on the finished
        plan (`covenant_holds`)."""
        lim = self.rules.limits
        if self.halls_used[s] > lim.halls[s] + 1e-9:
            return False
        if self.modules_used[s] > lim.max_modules[s] + 1e-9:
            return False
        if (self.reserved[s] > self.power_available[s] + 1e-9).any():
            return False
        if (self.cooling_need[s] > self.cooling_available[s] + 1e-9).any():
            return False
        portfolio_rows = (lim.budget_rows(self.budget_use),  # the layer's rows
                          lim.quarter_rows(lim.ai_demand_mw, self.it_online, "<="),
                          lim.quarter_rows(lim.max_hall_starts, self.starts, "<="))
        if not all(rows.holds(1e-9) for rows in portfolio_rows):
            return False
        return not (np.isfinite(lim.min_mining_mw).any()
                    and dispatch_mining(self.econ, self.power_left()) is None)

    def _apply_hall(self, c: int, n: float) -> None:
        h = self.rules.halls
        s, tau, q0 = int(h.site[c]), int(h.tau[c]), int(h.online[c])
        self.halls[c] += n
        self.halls_used[s] += n
        self.reserved[s, max(int(h.grid_from[c]), 0):] += n * h.grid_mw[c]
        self.cooling_need[s, max(q0, 0):] += n * h.cooling_mw[c]
        self.it_online[max(q0, 0):] += n * h.it_mw[c]
        self.budget_use += n * h.budget[c]
        if tau >= 0:
            self.starts[tau] += n

    def _apply_module(self, k: int, n: float) -> None:
        st = self.rules.modules
        s = int(st.site[k])
        self.modules[k] += n
        self.modules_used[s] += n
        self.cooling_available[s, int(st.online[k]):] += n * st.mw[k]
        self.budget_use += n * st.budget[k]

    def _apply_upgrade(self, k: int, n: float) -> None:
        st = self.rules.upgrades
        s = int(st.site[k])
        self.upgrades[k] += n
        self.upgraded[s] = n > 0
        self.power_available[s, int(st.online[k]):] += n * st.mw[k]
        self.budget_use += n * st.budget[k]

    def place(self, c: int, n: int, force: bool = False) -> bool:
        """Add n halls of candidate c (with just-in-time upgrades) if all constraints hold."""
        s = int(self.rules.halls.site[c])
        upgrades, modules = self.rules.upgrades, self.rules.modules
        self._apply_hall(c, n)
        added: list[tuple[str, int, float]] = []
        short = self.reserved[s] - self.power_available[s]
        if short.max() > 1e-9 and not self.upgraded[s]:
            first_short = int(np.argmax(short > 1e-9))
            ks = [k for k in self.upgrades_by_site[s] if upgrades.online[k] <= first_short]
            if ks:
                k = max(ks, key=lambda k: upgrades.tau[k])
                self._apply_upgrade(k, 1)
                added.append(("upgrade", k, 1))
        short = self.cooling_need[s] - self.cooling_available[s]
        module_mw = float(self.rules.modules.site_mw[s])
        if short.max() > 1e-9 and module_mw > 0:
            first_short = int(np.argmax(short > 1e-9))
            ks = [k for k in self.modules_by_site[s] if modules.online[k] <= first_short]
            if ks:
                k = max(ks, key=lambda k: modules.tau[k])
                n_mod = float(np.ceil(short.max() / module_mw - 1e-9))
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
