"""One re-solve of a plan's own MILP (`models.conversion`) under the rows and objective of
`models.firmness`, started from the plan (`Task` -> `Resolved`): a forbidden start, one end of a
site's timing window, or an alternative (`optimizer.replan.firmness` has the rules).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from models.conversion import build_model
from models.decisions import Decisions
from models.economics import Economics
from models.firmness import (
    Profile,
    add_difference_objective,
    add_first_start_objective,
    add_npv_floor,
    difference_values,
    first_start_values,
    forbid,
    moved_start,
    profile_of,
)
from models.robust import FirstKey, start_variables
from optimizer.solve.audit import audited_solution
from optimizer.solve.highs import HighsRunner
from optimizer.solve.options import SolverOptions
from optimizer.status import Status, Termination, has_plan


@dataclass(frozen=True)
class Task:
    """One re-solve: `kind` forbid (`key`), earliest / latest (`site`), or alternative
    (`found`: the profiles of the plans found so far). `time_limit`: its solver's, seconds."""

    kind: str
    time_limit: float
    key: FirstKey | None = None
    keep: float = 0.0  # forbid: units of `key` still allowed (the committed halls)
    site: int = -1
    found: tuple[Profile, ...] = ()
    start: dict[FirstKey, float] | None = None  # alternative: its MIP start (None: the plan)
    profile: Profile | None = None  # and that start's halls by quarter


@dataclass(frozen=True)
class Shared:
    """What every re-solve needs: the plan's economics, its starts by key (the MIP start) and
    profile, the NPV floor and the MGA's NPV weight ($M), the solver options."""

    econ: Economics
    start: dict[FirstKey, float]
    profile: Profile
    floor: float
    npv_weight: float
    options: SolverOptions


@dataclass
class Resolved:
    """What a re-solve found: its objective and proven bound (in its objective's units), the
    objective's NPV of its plan ($M, NaN without a plan) and, for alternatives, its decisions."""

    status: Status
    termination: Termination
    objective: float = math.nan
    bound: float = math.nan
    npv: float = math.nan
    decisions: Decisions | None = None
    error: str = ""

    @property
    def planned(self) -> bool:
        return has_plan(self.status)


RESTRICTED_SHARE = 0.25  # of a window re-solve's limit, its first stage (the site alone free)


def start_of(econ: Economics, decisions: Decisions) -> dict[FirstKey, float]:
    """A plan's starts in quarters >= 0 by business key (as `models.robust.start_variables`)."""
    sites, options = econ.portfolio.site_names, econ.portfolio.option_names
    out: dict[FirstKey, float] = {}
    for c in np.flatnonzero(decisions.halls > 0.5):
        tau = int(econ.halls.tau[c])
        if tau >= 0:
            key = ("hall", sites[econ.halls.site[c]], options[econ.halls.option[c]], tau)
            out[key] = out.get(key, 0.0) + float(round(decisions.halls[c]))
    for kind, starts, units in (("cooling", econ.cooling, decisions.modules),
                                ("power", econ.power, decisions.upgrades)):
        for k in np.flatnonzero(units > 0.5):
            out[(kind, sites[starts.site[k]], "", int(starts.tau[k]))] = float(round(units[k]))
    return out


def profile_of_decisions(econ: Economics, decisions: Decisions) -> Profile:
    """Halls started by each quarter per site (S, T) of a plan's decisions."""
    return profile_of(econ.rules.n_sites, econ.horizon, econ.halls.site.tolist(),
                      econ.halls.tau.tolist(), decisions.halls.tolist())


def resolve(shared: Shared, task: Task) -> Resolved:
    """One re-solve (`Task`). A window re-solve first solves with only its site's starts free
    (the others as in the plan: a small MIP whose plan is within the tolerance too), then the
    whole model from that plan; its bound is the whole model's."""
    if task.kind not in ("earliest", "latest"):
        return _solve(shared, task, task.time_limit, task.start or shared.start,
                      task.profile if task.profile is not None else shared.profile)
    first = _solve(shared, task, RESTRICTED_SHARE * task.time_limit, shared.start,
                   shared.profile, only_site=task.site)
    if first.decisions is None:
        return _solve(shared, task, task.time_limit, shared.start, shared.profile)
    whole = _solve(shared, task, (1 - RESTRICTED_SHARE) * task.time_limit,
                   start_of(shared.econ, first.decisions),
                   profile_of_decisions(shared.econ, first.decisions))
    if not whole.planned or whole.objective < first.objective:
        whole.status = first.status if not whole.planned else whole.status
        whole.objective, whole.npv, whole.decisions = first.objective, first.npv, first.decisions
    return whole


def _solve(shared: Shared, task: Task, time_limit: float, start: dict[FirstKey, float],
           profile: Profile, only_site: int | None = None) -> Resolved:
    """Build the MILP, add the task's rows and objective, start it from `start` (`profile`:
    its halls by quarter), solve it within `time_limit`; with `only_site`, every start of the
    other sites fixed as in `start` (and then the bound is the restricted model's)."""
    model = build_model(shared.econ)
    starts = start_variables(model)
    start = dict(start)
    extra: list[tuple[pyo.Var, float]] = []
    if task.kind == "forbid":
        assert task.key is not None
        forbid(model, task.key, task.keep)
        start = moved_start(start, task.key, task.keep, list(starts))
    elif task.kind in ("earliest", "latest"):
        add_npv_floor(model, shared.floor)
        add_first_start_objective(model, task.site, latest=task.kind == "latest")
        extra = first_start_values(model, profile, task.site)
    elif task.kind == "alternative":
        add_npv_floor(model, shared.floor)
        add_difference_objective(model, task.found, shared.npv_weight)
        extra = difference_values(model, profile)
    else:
        raise ValueError(f"unknown re-solve {task.kind!r}")
    if only_site is not None:
        site = shared.econ.portfolio.site_names[only_site]
        for key, var in starts.items():
            if key[1] != site:
                var.fix(start.get(key, 0.0))
    runner = HighsRunner(model)
    runner.set_start([(var, start.get(key, 0.0)) for key, var in starts.items()] + extra)
    outcome = runner.solve(shared.options.with_overrides(time_limit=time_limit))
    out = Resolved(status=outcome.status, termination=outcome.termination,
                   objective=outcome.objective, bound=outcome.bound)
    if has_plan(outcome.status):
        # The model's NPV (its objective may be another), audited against the decisions' own
        # cash flows; the re-solve keeps the solver's value, as it always has.
        out.npv = float(pyo.value(model.npv.expr))
        solution = audited_solution(shared.econ, out.npv, model)
        if task.kind != "forbid":
            out.decisions = solution.decisions
    return out


def failed(task: Task, error: BaseException) -> Resolved:
    """What a re-solve that raised `error` reports: an error, not an exception (the phase
    goes on without it)."""
    return Resolved(status=Status.ERROR, termination=Termination.ERROR,
                    error=f"{type(error).__name__}: {error}")
