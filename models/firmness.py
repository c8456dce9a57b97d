"""Rows and objectives for the firmness re-solves (math only, no I/O).

Every re-solve of `optimizer.replan.firmness` is the conversion MILP of `models.conversion`
with one of these additions, made on a freshly built model before it is handed to the solver:

- `forbid`: one start (a hall start (site, option, quarter), a cooling-module start or the
  power-upgrade start (site, quarter)) fixed to zero units.
- `add_npv_floor`: NPV >= floor ($M, the objective's NPV): only plans within the tolerance.
- `add_first_start_objective`: the site's first-start quarter, earliest or latest, as the
  objective. With y[t] = halls of the site started by quarter t (every option, halls begun
  before the plan included) and a binary b[t] per quarter t = 0..T-1:
    earliest: b[t] <= y[t], maximise sum_t b[t]  (b[t] = 1 exactly from the first start on);
    latest:   H * b[t] >= y[t], y[T-1] >= 1, maximise -sum_t b[t]  (H the site's halls).
  Either way the first start quarter is F = T - sum_t b[t].
- `add_difference_objective` (MGA, "modelling to generate alternatives"): maximise the
  hall-quarters in which a plan differs from every plan found so far. With n_hi[s, t] (n_lo)
  the most (fewest) halls any found plan has started at site s by quarter t:
    new[s, t]     = max(0, y[s, t] - n_hi[s, t])   halls no found plan had by then;
    dropped[s, t] = max(0, n_lo[s, t] - y[s, t])   halls every found plan had, this one not;
  each linearised with one binary per (s, t) where it can be positive. The objective adds
  `npv_weight` * NPV, with the weight chosen by the caller so that the whole NPV range it
  allows is worth less than one hall-quarter: among equally different plans, the best.

Hall-quarters are counted per site (the option of a hall does not count).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyomo.environ as pyo

from models.conversion import Expr, started_by
from models.robust import FirstKey, start_variables

Profile = np.ndarray  # (S, T) halls started by each quarter, per site (begun before the plan in)
StartValues = list[tuple[pyo.Var, float]]  # a MIP start for the added variables


def forbid(model: pyo.ConcreteModel, key: FirstKey, keep: float = 0.0) -> bool:
    """At most `keep` units (0: none; a commitment's halls) of the start `key` (kind, site,
    option, tau); False if the model has no such candidate (nothing is forbidden then)."""
    var = start_variables(model).get(key)
    if var is None:
        return False
    if keep > 0:
        var.setub(round(keep))
    else:
        var.fix(0)
    return True


def moved_start(start: dict[FirstKey, float], key: FirstKey, keep: float,
                candidates: Sequence[FirstKey]) -> dict[FirstKey, float]:
    """A MIP start for a re-solve forbidding `key` beyond `keep` units: the plan's starts
    `start` with the forbidden units moved one quarter: a hall later (its power and cooling are
    then needed later), an upgrade earlier (its capacity then counts sooner), or the other way
    when that candidate is not in `candidates`; dropped when neither is."""
    out = dict(start)
    kind, site, option, tau = key
    moved = out.get(key, 0.0) - keep
    out[key] = min(out.get(key, 0.0), keep)
    steps = (1, -1) if kind == "hall" else (-1, 1)
    for step in steps:
        other = (kind, site, option, tau + step)
        if other in candidates:
            out[other] = out.get(other, 0.0) + moved
            break
    return out


def site_halls_by(model: pyo.ConcreteModel, s: int, t: int) -> Expr:
    """Halls of every option started at site s by quarter t (an expression, or 0)."""
    return sum(started_by(model, p, t) for p in model.index.pairs_of_site.get(s, []))


def add_npv_floor(model: pyo.ConcreteModel, floor: float) -> None:
    """Constraint ``npv_floor``: the objective's NPV ($M) >= floor."""
    model.npv_floor = pyo.Constraint(expr=model.npv.expr >= float(floor))


def add_first_start_objective(model: pyo.ConcreteModel, s: int, latest: bool) -> None:
    """The objective of site s's earliest (latest) first-start quarter (module docstring):
    variables ``first_b[t]``, rows ``first_link[t]`` (and ``first_starts``), objective
    ``first_objective``; the NPV objective is deactivated."""
    horizon = model.econ.horizon
    halls = int(model.rules.limits.halls[s])
    model.first_b = pyo.Var(range(horizon), domain=pyo.Binary)
    if latest:
        model.first_link = pyo.Constraint(
            range(horizon), rule=lambda m, t: halls * m.first_b[t] >= site_halls_by(m, s, t))
        model.first_starts = pyo.Constraint(expr=site_halls_by(model, s, horizon - 1) >= 1)
    else:
        model.first_link = pyo.Constraint(
            range(horizon), rule=lambda m, t: m.first_b[t] <= site_halls_by(m, s, t))
    total = sum(model.first_b[t] for t in range(horizon))
    model.npv.deactivate()
    model.first_objective = pyo.Objective(expr=-total if latest else total, sense=pyo.maximize)


def first_start_values(model: pyo.ConcreteModel, profile: Profile, s: int) -> StartValues:
    """MIP-start values of ``first_b`` for a plan with halls-started-by `profile` (S, T)."""
    return [(model.first_b[t], float(min(1.0, profile[s, t]))) for t in model.first_b]


def first_start_quarter(horizon: int, quarters_started: float) -> int:
    """F = T - sum_t b[t]: the first-start quarter of a plan started in that many quarters."""
    return horizon - round(quarters_started)


def add_difference_objective(model: pyo.ConcreteModel, found: Sequence[Profile],
                             npv_weight: float) -> None:
    """The MGA objective (module docstring) against the `found` plans' profiles (S, T):
    variables ``diff_new``, ``diff_dropped`` and their binaries, objective ``diff_objective``;
    the NPV objective is deactivated."""
    hi = np.max(np.stack(found), axis=0)
    lo = np.min(np.stack(found), axis=0)
    halls = model.rules.limits.halls
    horizon = model.econ.horizon
    cells = [(s, t) for s in model.index.pairs_of_site for t in range(horizon)]
    new_cells = [(s, t) for s, t in cells if hi[s, t] < halls[s]]
    drop_cells = [(s, t) for s, t in cells if lo[s, t] > 0]
    model.diff_new = pyo.Var(new_cells, domain=pyo.NonNegativeReals)
    model.diff_new_on = pyo.Var(new_cells, domain=pyo.Binary)
    model.diff_dropped = pyo.Var(drop_cells, domain=pyo.NonNegativeReals)
    model.diff_dropped_on = pyo.Var(drop_cells, domain=pyo.Binary)

    # new <= y - n_hi * on, new <= (H - n_hi) * on: new = max(0, y - n_hi) at the optimum.
    model.diff_new_at_most = pyo.Constraint(
        new_cells, rule=lambda m, s, t: m.diff_new[s, t]
        <= site_halls_by(m, s, t) - float(hi[s, t]) * m.diff_new_on[s, t])
    model.diff_new_if_on = pyo.Constraint(
        new_cells, rule=lambda m, s, t: m.diff_new[s, t]
        <= float(halls[s] - hi[s, t]) * m.diff_new_on[s, t])
    # dropped <= n_lo - y + H * (1 - on), dropped <= n_lo * on.
    model.diff_dropped_at_most = pyo.Constraint(
        drop_cells, rule=lambda m, s, t: m.diff_dropped[s, t] + site_halls_by(m, s, t)
        <= float(lo[s, t]) + float(halls[s]) * (1 - m.diff_dropped_on[s, t]))
    model.diff_dropped_if_on = pyo.Constraint(
        drop_cells, rule=lambda m, s, t: m.diff_dropped[s, t]
        <= float(lo[s, t]) * m.diff_dropped_on[s, t])
    model.diff_hi, model.diff_lo = hi, lo
    model.npv.deactivate()
    model.diff_objective = pyo.Objective(
        expr=sum(model.diff_new[c] for c in new_cells)
        + sum(model.diff_dropped[c] for c in drop_cells) + float(npv_weight) * model.npv.expr,
        sense=pyo.maximize)


def difference_values(model: pyo.ConcreteModel, profile: Profile) -> StartValues:
    """MIP-start values of the MGA variables for a plan with halls-started-by `profile`."""
    hi, lo = model.diff_hi, model.diff_lo
    out: StartValues = []
    for s, t in model.diff_new:
        new = max(0.0, float(profile[s, t] - hi[s, t]))
        out += [(model.diff_new[s, t], new), (model.diff_new_on[s, t], float(new > 0))]
    for s, t in model.diff_dropped:
        dropped = max(0.0, float(lo[s, t] - profile[s, t]))
        out += [(model.diff_dropped[s, t], dropped),
                (model.diff_dropped_on[s, t], float(dropped > 0))]
    return out


def hall_quarters_different(profile: Profile, found: Sequence[Profile]) -> int:
    """The MGA count of `profile` against `found` (halls new or dropped, summed over cells)."""
    hi = np.max(np.stack(found), axis=0)
    lo = np.min(np.stack(found), axis=0)
    return round(float(np.maximum(0, profile - hi).sum() + np.maximum(0, lo - profile).sum()))



def profile_of(n_sites: int, horizon: int, sites: Sequence[int], taus: Sequence[int],
               units: Sequence[float]) -> Profile:
    """(S, T) halls started by each quarter per site, from starts given as site index, start
    quarter and halls (halls begun before the plan count from quarter 0)."""
    out = np.zeros((n_sites, horizon))
    for s, tau, n in zip(sites, taus, units, strict=True):
        if n > 0.5 and tau < horizon:
            out[int(s), max(0, int(tau)):] += round(float(n))
    return out
