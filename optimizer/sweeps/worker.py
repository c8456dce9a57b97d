"""One sweep scenario, solved where it runs (a pool process, a Dask worker, or in-process).

`solve_scenario(setup, scenario)` is the task every executor runs. It never raises: a failure
becomes a row with status ``error`` and the message, so no scenario is ever dropped.

Re-use, not rebuild: each worker process keeps the Pyomo model it built for the sweep's base
portfolio (cached by the portfolio's content hash, `SweepSetup.token`, and by the model's
structure). For a scenario it recomputes the Economics (numpy), writes the new coefficients into
the model's mutable Params (values, capex rates, budget, AI demand, grid MW, halls per site),
pushes them to the persistent HiGHS instance, clears HiGHS's previous solution and basis (so the
answer does not depend on which scenarios this worker solved before, hence not on the executor),
gives the base plan as a MIP start and solves with one thread and a fixed seed. A scenario that
changes the structure (lead times; quarters gaining or losing a budget or a demand cap) gets a
model of its own, built once and cached too.

The fixed-plan answer values today's base plan under the scenario with numpy only (no solve):
the same hall, module and upgrade starts, mining re-dispatched optimally around them
(`greedy.dispatch_mining`), every limit of the scenario checked, the broken ones named.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from models.conversion import budget_rate_values, build_model
from models.decisions import Decisions
from models.economics import Economics, build_economics, evaluate, objective_npv
from models.portfolio import Portfolio
from models.quarters import add_quarters
from optimizer.budget import RunBudget, cut_short
from optimizer.inputs import schema
from optimizer.solve.audit import audited_solution
from optimizer.solve.frames import constraint_rows
from optimizer.solve.greedy import GreedyPlan, dispatch_mining, greedy_plan
from optimizer.solve.highs import HighsRunner
from optimizer.solve.options import SolverOptions
from optimizer.status import Status, Termination, has_plan
from optimizer.sweeps.scenarios import Scenario, apply_changes

MAX_MODELS = 4  # structures kept per worker (the base and a few lead-time variants)
BREACH_TOLERANCE = 1e-6  # relative; a limit exceeded by less is not a breach


@dataclass(frozen=True)
class BasePlan:
    """Today's plan keyed by business names and quarter index, so it can be laid on the
    candidates of any scenario (a lead-time change alters which starts exist)."""

    halls: tuple[tuple[str, str, int, int], ...]  # (site, option, tau, halls)
    modules: tuple[tuple[str, int, int], ...]  # (site, tau, modules)
    upgrades: tuple[tuple[str, int], ...]  # (site, tau)

    @classmethod
    def from_decisions(cls, econ: Economics, decisions: Decisions) -> BasePlan:
        p = econ.portfolio
        halls, modules, upgrades = decisions.halls, decisions.modules, decisions.upgrades
        s_names, o_names = p.site_names, p.option_names
        return cls(
            halls=tuple((s_names[econ.halls.site[c]], o_names[econ.halls.option[c]],
                         int(econ.halls.tau[c]), round(halls[c]))
                        for c in np.flatnonzero(halls > 0.5)),
            modules=tuple((s_names[econ.cooling.site[k]], int(econ.cooling.tau[k]),
                           round(modules[k])) for k in np.flatnonzero(modules > 0.5)),
            upgrades=tuple((s_names[econ.power.site[k]], int(econ.power.tau[k]))
                           for k in np.flatnonzero(upgrades > 0.5)))

    def decisions(self, econ: Economics) -> tuple[Decisions, list[str]]:
        """Units per candidate of `econ` (no mining), and the starts that have no candidate
        there."""
        start = econ.portfolio.settings.start_quarter
        at = econ.candidate_index().by_key  # business key -> (kind, candidate index)
        halls = np.zeros(len(econ.halls))
        missing: list[str] = []
        for site, option, tau, n in self.halls:
            found = at.get(("hall", site, option, tau))
            if found is None:
                missing.append(f"its {n} hall(s) of {option} at {site} started in "
                               f"{add_quarters(start, tau)} would not be online by the last "
                               "quarter")
            else:
                halls[found[1]] = n
        modules = np.zeros(len(econ.cooling))
        upgrades = np.zeros(len(econ.power))
        for units, kind, wanted in ((modules, "cooling", self.modules),
                                    (upgrades, "power", [(*u, 1) for u in self.upgrades])):
            for site, tau, n in wanted:
                found = at.get((kind, site, "", tau))
                if found is not None:
                    units[found[1]] = n
        return Decisions(halls, modules, upgrades, np.zeros_like(econ.mining_margin)), missing


@dataclass(frozen=True)
class SweepSetup:
    """What every task of one sweep shares; shipped to each worker once."""

    portfolio: Portfolio
    base: BasePlan | None  # None while the base itself is being solved
    solver: SolverOptions  # time limit, gap and seed of every solve; one thread
    token: str  # content hash of the base portfolio: the worker's model cache key
    reuse_models: bool = True  # False: build a fresh model per scenario (benchmarks only)
    # The whole run's wall-clock deadline (time.time()), a safety cap: a solve starting
    # closer to it than its own time limit gets only what is left (`optimizer.budget`).
    deadline: float | None = None


def portfolio_token(portfolio: Portfolio) -> str:
    """Content hash of a Portfolio (settings and frames), stable within one installation."""
    digest = hashlib.sha256()
    for part in (portfolio.settings, portfolio.sites, portfolio.options, portfolio.site_options,
                 portfolio.quarters, portfolio.commitments):
        digest.update(pickle.dumps(part, protocol=5))
    return digest.hexdigest()[:20]


# ---- the base plan under a scenario (numpy, no solve) -----------------------------------
@dataclass
class FixedPlan:
    npv: float
    feasible: bool
    note: str  # what the base plan breaks in this future ("" when nothing)
    plan: GreedyPlan  # its units, mining and valuation (also a MIP start)
    breaches: pd.DataFrame  # the limits it exceeds (plan_frames.constraint_rows rows)


def value_base_plan(econ: Economics, base: BasePlan) -> FixedPlan:
    """Today's plan valued under `econ`'s future: same starts, mining re-dispatched, limits
    checked. An infeasible base plan is still valued (its NPV as if it could be carried out),
    and `note` says what it breaks."""
    decisions, notes = base.decisions(econ)
    return value_decisions(econ, decisions, notes)


def value_decisions(econ: Economics, builds: Decisions, notes: list[str]) -> FixedPlan:
    """A plan's builds, valued and checked under `econ` with mining re-dispatched (see above);
    `notes` are problems found before (starts without a candidate)."""
    idle = econ.rules.usage(builds.with_mining(np.zeros_like(econ.mining_margin)))
    power_left = econ.rules.headroom(idle, "site_power")
    mining = dispatch_mining(econ, power_left)
    if mining is None:
        notes.append("the mining floor cannot be met around its halls")
        cap = np.minimum(econ.rules.limits.mining_mw[:, None], np.maximum(power_left, 0.0))
        mining = np.where(econ.mining_value > 0, cap, 0.0)
    decisions = builds.with_mining(mining)
    valuation = evaluate(econ, decisions)
    rows = constraint_rows(econ, econ.rules.usage(decisions))
    breach = rows["slack"] < -BREACH_TOLERANCE * np.maximum(1.0, rows["limit"].abs())
    for family, group in rows[breach].groupby("family", sort=False):
        first = group.iloc[0]
        more = f" and {len(group) - 1} more" if len(group) > 1 else ""
        notes.append(f"{family}: {first['constraint']} uses {first['used']:,.1f} of "
                     f"{first['limit']:,.1f}{more}")
    note = ("the base plan breaks this future: " + "; ".join(notes)) if notes else ""
    # The objective's NPV (the equity NPV under objective = equity_npv), like the re-solves.
    return FixedPlan(npv=objective_npv(econ, valuation), feasible=not notes, note=note,
                     plan=GreedyPlan(decisions, valuation),
                     breaches=rows[breach])


def best_start(econ: Economics, fixed: FixedPlan | None) -> GreedyPlan | None:
    """The MIP start: the base plan when it fits this future, else the greedy plan of this
    future (None when it has none). Repairing the base plan (dropping or delaying the halls of
    the limits it breaks) was tried and gave worse starts than the greedy plan on the sample."""
    if fixed is not None and fixed.feasible:
        return fixed.plan
    return greedy_plan(econ)


# ---- the model cache of one worker process -----------------------------------------------
def _structural(table: schema.Table, columns: Iterable[object]) -> list[str]:
    """The frame's columns whose value shapes the model (`schema.InputColumn.structural`; a column
    the contract does not describe counts as structural), in the frame's order."""
    out = []
    for name in columns:
        col = schema.find_column(table.sheet, str(name))
        if col is None or col.structural:
            out.append(str(name))
    return out


def _capped(col: schema.InputColumn) -> bool:
    """An optional Quarters cap whose blank means "no limit" and whose value is a Param: only
    which quarters have it shapes the model (e.g. budget_musd, ai_demand_mw)."""
    return not col.required and col.default is None and not col.structural


def structure_key(econ: Economics) -> str:
    """Hash of everything that shapes the model (not its mutable Params): candidates, lead
    times, capacities, which quarters have a budget or demand cap, the other caps, commitments.
    Two scenarios with the same key share one built model."""
    p = econ.portfolio
    digest = hashlib.sha256()
    for arr in (econ.halls.site, econ.halls.option, econ.halls.tau, econ.fixed_halls,
                econ.cooling.site, econ.cooling.tau, econ.power.site, econ.power.tau):
        digest.update(np.ascontiguousarray(arr, dtype=np.int64).tobytes())
    rules = econ.rules
    for kind in (rules.halls, rules.modules, rules.upgrades):  # which budget Params exist
        digest.update(kind.budget_rate.pattern())
    q = p.quarters
    frames = (p.sites[_structural(schema.SITES, p.sites.columns)],
              p.options[_structural(schema.OPTIONS, p.options.columns)],
              q[[c.name for c in schema.QUARTERS.columns if _capped(c)]].notna(),
              q[_structural(schema.QUARTERS, q.columns)], p.commitments)
    for frame in frames:  # by values, not by pickle (its bytes depend on the memory layout)
        for column in frame.columns:
            digest.update(str(column).encode())
            digest.update(pd.util.hash_pandas_object(frame[column], index=True)
                          .to_numpy().tobytes())
    digest.update(repr([getattr(p.settings, c.name) for c in schema.SETTINGS.columns
                        if c.structural]).encode())
    # The covenant's rows and the idle-power constant are written as numbers, not Params: a
    # scenario that moves them gets its own model.
    digest.update(repr(econ.objective_constant).encode())
    cov = rules.coverage
    if cov is not None:
        for arr in (cov.hall, cov.modules, cov.upgrades, cov.mining, cov.base):
            digest.update(np.ascontiguousarray(arr, dtype=float).tobytes())
    return digest.hexdigest()


def write_coefficients(model: pyo.ConcreteModel, econ: Economics) -> None:
    """Put a scenario's coefficients into a built model of the same structure (no rebuild),
    all read from the scenario's rules layer (`econ.rules`) and economics."""
    rules = econ.rules
    model.hall_value.store_values(dict(enumerate(econ.halls.value.tolist())))
    model.module_value.store_values(dict(enumerate(econ.cooling.value.tolist())))
    model.upgrade_value.store_values(dict(enumerate(econ.power.value.tolist())))
    model.mining_value.store_values({(s, t): float(v) for (s, t), v in
                                     np.ndenumerate(econ.mining_value)})
    for name, values in budget_rate_values(rules, model.budget_over_starts).items():
        getattr(model, name).store_values(values)
    budget = rules.limits.budget
    model.budget.store_values({t: float(budget[t]) for t in model.budget})
    demand = rules.limits.ai_demand_mw
    model.ai_demand.store_values({t: float(demand[t]) for t in model.ai_demand})
    model.grid_mw.store_values(dict(enumerate(rules.limits.grid_mw.tolist())))
    halls = rules.limits.halls
    model.site_halls.store_values({s: int(halls[s]) for s in model.site_halls})
    for c, s in enumerate(econ.halls.site.tolist()):
        if not model.halls_started[c].fixed:
            model.halls_started[c].setub(int(halls[s]))
    model.econ = econ  # the constraint builders' view, kept in step for any later reader
    model.rules = rules


class _WorkerModels:
    """Built models of one base portfolio in this process, by structure (LRU)."""

    def __init__(self) -> None:
        self.models: OrderedDict[str, tuple[pyo.ConcreteModel, HighsRunner]] = OrderedDict()

    def model_for(self, econ: Economics, reuse: bool) -> tuple[pyo.ConcreteModel, HighsRunner]:
        key = structure_key(econ)
        if reuse and key in self.models:
            self.models.move_to_end(key)
            model, runner = self.models[key]
            write_coefficients(model, econ)
            runner.push_changes()
            STATS["updates"] += 1
            return model, runner
        model = build_model(econ)
        runner = HighsRunner(model)
        STATS["builds"] += 1
        if reuse:
            self.models[key] = (model, runner)
            while len(self.models) > MAX_MODELS:
                self.models.popitem(last=False)
        return model, runner


_CACHE: OrderedDict[str, _WorkerModels] = OrderedDict()  # token -> models (2 bases at most)
_LOCK = threading.Lock()  # one solve at a time per process: HiGHS keeps one thread scheduler
STATS = {"builds": 0, "updates": 0}  # per process, for benchmarks


def _models(token: str) -> _WorkerModels:
    if token not in _CACHE:
        _CACHE[token] = _WorkerModels()
        while len(_CACHE) > 2:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(token)
    return _CACHE[token]


# ---- the task ------------------------------------------------------------------------------
# A row whose solve the wall-clock safety cap stopped (every other stops on its effort and is
# the same on any machine load: `optimizer.solve.options`).
NOT_REPRODUCIBLE_ROW = ("not reproducible: the wall-clock safety cap stopped this solve before "
                        "its effort was spent")


def solve_scenario(setup: SweepSetup, scenario: Scenario) -> dict[str, Any]:
    """Re-optimize one scenario and value the base plan under it; a result row (never raises).

    Row keys: scenario, npv_reoptimized_musd, npv_base_plan_musd, regret_musd,
    halls_converted, base_plan_feasible, status, gap, seconds, message, decisions (tuples
    (site, option, start quarter, halls) of the re-optimized plan) and, for the base solve,
    ``base_plan`` (a BasePlan).
    """
    started = time.perf_counter()
    row: dict[str, Any] = {"scenario": scenario.name, "npv_reoptimized_musd": np.nan,
                           "npv_base_plan_musd": np.nan, "regret_musd": np.nan,
                           "halls_converted": np.nan, "base_plan_feasible": None,
                           "status": "error", "gap": np.nan, "message": "", "decisions": ()}
    try:
        with _LOCK:
            _solve_into(row, setup, scenario)
    except Exception as err:  # a failed scenario is a row, never a lost scenario
        row.update(status="error", message=f"{type(err).__name__}: {err}"[:2000])
    row["seconds"] = time.perf_counter() - started
    return row


def _solve_into(row: dict[str, Any], setup: SweepSetup, scenario: Scenario) -> None:
    portfolio = apply_changes(setup.portfolio, scenario.changes)
    econ = build_economics(portfolio)
    fixed = value_base_plan(econ, setup.base) if setup.base is not None else None
    model, runner = _models(setup.token).model_for(econ, setup.reuse_models)
    runner.clear()
    start = best_start(econ, fixed)
    if start is not None:
        runner.set_start(start.start_values(model))
    limit, capped = RunBudget(setup.solver.time_limit, deadline=setup.deadline).limit_now()
    outcome = runner.solve(setup.solver.with_overrides(time_limit=limit,
                                                       deadline=setup.deadline))
    row.update(status=outcome.status, gap=outcome.gap, solve_seconds=outcome.seconds)
    messages: list[str] = []
    if cut_short(capped, outcome.termination) and setup.deadline is not None:
        row["capped"] = True
        messages.append("stopped by the whole run's total time: not reproducible (limit "
                        f"{limit:.3g} s, its own {setup.solver.time_limit:.3g} s)")
    elif outcome.termination == Termination.TIME_LIMIT:
        messages.append(NOT_REPRODUCIBLE_ROW)
    if has_plan(outcome.status):
        solution = audited_solution(econ, outcome.objective, model)
        decisions = solution.decisions
        npv, halls = solution.npv, decisions.halls
        if fixed is not None and fixed.feasible and fixed.npv > npv + 1e-6 * max(1.0, abs(npv)):
            # The solver stopped (gap, time) below the start it was given: the base plan is
            # the best plan found for this future.
            npv, halls = fixed.npv, fixed.plan.decisions.halls
            messages.append("the base plan is the best plan found for this future")
        row.update(npv_reoptimized_musd=npv, halls_converted=round(float(halls.sum())),
                   decisions=_decisions(econ, halls))
        if setup.base is None:  # the base solve: its own plan, valued the numpy way
            row["base_plan"] = BasePlan.from_decisions(econ, decisions)
            fixed = value_base_plan(econ, row["base_plan"])
    elif outcome.status == Status.INFEASIBLE:
        messages.append("no plan satisfies every constraint in this future")
    else:
        messages.append(f"HiGHS stopped with {outcome.termination} and no plan")
    if fixed is not None:
        row.update(npv_base_plan_musd=fixed.npv, base_plan_feasible=fixed.feasible)
        if fixed.note:
            messages.append(fixed.note)
        if fixed.feasible and np.isfinite(row["npv_reoptimized_musd"]):
            row["regret_musd"] = row["npv_reoptimized_musd"] - fixed.npv
    row["message"] = "; ".join(messages)


def _decisions(econ: Economics, halls: np.ndarray) -> tuple[tuple[str, str, str, int], ...]:
    p = econ.portfolio
    start = p.settings.start_quarter
    return tuple((p.site_names[econ.halls.site[c]], p.option_names[econ.halls.option[c]],
                  add_quarters(start, int(econ.halls.tau[c])), round(halls[c]))
                 for c in np.flatnonzero(halls > 0.5))
