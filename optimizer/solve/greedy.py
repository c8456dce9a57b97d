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
    rows = rules.rows(rules.usage(decisions), families=("debt_service_coverage",))
    return rows["debt_service_coverage"].holds(1e-7 * scale)


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


# The families the greedy keeps by its rows after each change; the mining floor is kept by
# dispatching mining, the covenant on the finished plan, the commitments by placing them first.
# The budget first: it breaks most often, and the check stops at the first broken family.
CHECKED = ("capital_budget", "halls_per_site", "site_power", "site_cooling",
           "cooling_module_limit", "power_upgrade_once", "hall_starts_cap", "ai_demand_cap")


class GreedyState:
    """Decisions taken so far and the rules layer's usage of them (`models.rules.Usage`),
    updated one start at a time by the layer (`Rules.add_units`): the fields the `CHECKED`
    families' rows read; halls online, capex, mining (dispatched around the halls at the
    end), commitments and the covenant stay as for the empty plan."""

    def __init__(self, econ: Economics) -> None:
        self.econ = econ
        self.rules = rules = econ.rules
        n_sites = rules.n_sites
        self.halls = np.zeros(len(econ.halls))
        self.modules = np.zeros(len(econ.cooling))
        self.upgrades = np.zeros(len(econ.power))
        self.feasible = True

        self.usage = rules.empty_usage()
        self.modules_by_site = _by_site(rules.modules.site, n_sites)
        self.upgrades_by_site = _by_site(rules.upgrades.site, n_sites)

    def power_left(self) -> np.ndarray:
        """(S, T) grid MW left for mining around the halls (`Rules.headroom`, nothing mined)."""
        return self.rules.headroom(self.usage, "site_power")

    def _ok(self, s: int) -> bool:
        """All constraints after a change at site s: the rules layer's rows (`Rules.rows`) of
        the `CHECKED` families, the per-site ones at s, each held to 1e-9; then the mining
        floor by dispatching mining (the covenant is checked on the finished plan,
        `covenant_holds`)."""
        if self.rules.first_broken(self.usage, CHECKED, sites=[s], tolerance=1e-9):
            return False
        return not (np.isfinite(self.rules.limits.min_mining_mw).any()
                    and dispatch_mining(self.econ, self.power_left()) is None)

    def _apply_hall(self, c: int, n: float) -> None:
        self.halls[c] += n
        self.rules.add_units(self.usage, "hall", c, n)

    def _apply_module(self, k: int, n: float) -> None:
        self.modules[k] += n
        self.rules.add_units(self.usage, "module", k, n)

    def _apply_upgrade(self, k: int, n: float) -> None:
        self.upgrades[k] += n
        self.rules.add_units(self.usage, "upgrade", k, n)

    def place(self, c: int, n: int, force: bool = False) -> bool:
        """Add n halls of candidate c (with just-in-time upgrades) if all constraints hold."""
        s = int(self.rules.halls.site[c])
        upgrades, modules = self.rules.upgrades, self.rules.modules
        self._apply_hall(c, n)
        added: list[tuple[str, int, float]] = []
        u = self.usage
        short = -self.rules.headroom(u, "site_power", [s])[0]
        if short.max() > 1e-9 and not u.upgrades[s] > 0:
            first_short = int(np.argmax(short > 1e-9))
            ks = [k for k in self.upgrades_by_site[s] if upgrades.online[k] <= first_short]
            if ks:
                k = max(ks, key=lambda k: upgrades.tau[k])
                self._apply_upgrade(k, 1)
                added.append(("upgrade", k, 1))
        short = -self.rules.headroom(u, "site_cooling", [s])[0]
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
        self._apply_hall(c, -n)
        return False


def _by_site(site_of: np.ndarray, n_sites: int) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in range(n_sites)]
    for k, s in enumerate(site_of.tolist()):
        out[s].append(k)
    return out
