"""The two-stage stochastic MILP (math only, no I/O): one conversion model per scenario, the
first-stage starts shared by all of them, and the risk measure.

First stage: every start (halls, cooling modules, power upgrade) in quarters 0 <= t < K. It is
decided now, before the future is known, so it must be the same in every scenario. Second stage,
per scenario: the starts in quarters >= K and the mining dispatch of every quarter; every
constraint of `models.conversion` holds in every scenario.

Starts are matched across scenarios by business key, never by position, because scenarios that
change lead times have other candidate lists:

    FirstKey = (kind, site, option, tau), kind in {"hall", "cooling", "power"}, option "" for
    the upgrades, tau the start quarter index.

The extensive form (`build_extensive`) holds each scenario's `build_model` as a block named
``scenario_<i>``, one continuous variable ``first[j]`` per first-stage key and the
nonanticipativity equalities ``scenario_i.<start>[c] == first[j]`` (a key that some scenario
lacks, e.g. a hall that a longer lead time would finish too late, is fixed to 0 there: it cannot
be committed to in a future where it does not exist).

Objective ($M), with scenario weights p_i (summing to 1), risk weight W in [0, 1] and tail share
A in (0, 1]:

    (1 - W) * sum_i p_i NPV_i + W * CVaR_A(NPV),
    CVaR_A(NPV) = max_eta  eta - (1 / A) * sum_i p_i * max(0, eta - NPV_i)   (Rockafellar-Uryasev)

CVaR_A is the weighted mean NPV of the worst A share of futures (the lower tail: NPV is a gain).
It is modelled with S + 1 continuous variables, ``eta`` and ``shortfall[i] >= eta - NPV_i``,
added only when W > 0. `cvar` computes the same number exactly from a vector of NPVs, which
is how the solver's objective is audited.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyomo.environ as pyo

from models.conversion import build_model
from models.economics import Economics, StartKey

Floats = Sequence[float] | np.ndarray  # one number per future (values, weights)

FirstKey = StartKey  # (kind, site, option or "", tau): `models.economics.StartKey`
KINDS = ("hall", "cooling", "power")


def start_variables(model: pyo.ConcreteModel) -> dict[FirstKey, pyo.Var]:
    """Every free start variable of a conversion model, by business key (all quarters >= 0;
    halls begun before the plan are fixed by commitments and left out)."""
    econ: Economics = model.econ
    variables = {"hall": model.halls_started, "cooling": model.modules_started,
                 "power": model.upgrade_started}
    return {key: variables[kind][i]
            for key, (kind, i) in econ.candidate_index().by_key.items() if key[3] >= 0}


def first_stage_variables(model: pyo.ConcreteModel, commit_quarters: int
                          ) -> dict[FirstKey, pyo.Var]:
    """The start variables of quarters 0 <= tau < commit_quarters, by business key."""
    return {k: v for k, v in start_variables(model).items() if k[3] < commit_quarters}


def fix_first_stage(model: pyo.ConcreteModel, commit_quarters: int,
                    first: dict[FirstKey, float]) -> list[FirstKey]:
    """Fix the model's first-stage starts to `first` (keys absent from `first` are fixed to 0).
    Returns the keys of `first` with a positive value that the model has no candidate for:
    such a first stage cannot be carried out in this scenario (the caller reports it)."""
    variables = first_stage_variables(model, commit_quarters)
    for key, var in variables.items():
        var.fix(float(round(first.get(key, 0.0))))
    return sorted(k for k, v in first.items() if v > 0.5 and k not in variables)


def build_extensive(econs: Sequence[Economics], weights: Floats, commit_quarters: int,
                    risk_weight: float = 0.0, cvar_level: float = 0.1) -> pyo.ConcreteModel:
    """The extensive form of the two-stage problem (see the module docstring).

    Attributes set on the returned model: ``scenario_models`` (the blocks, in order),
    ``first_keys`` (the keys of ``first``), ``weights`` (numpy, normalised to sum to 1),
    ``risk_weight``, ``cvar_level``, ``commit_quarters``.
    """
    p = np.asarray(weights, dtype=float)
    if len(econs) == 0 or len(p) != len(econs) or (p < 0).any() or p.sum() <= 0:
        raise ValueError("need one non-negative weight per scenario, not all zero")
    if not 0.0 <= risk_weight <= 1.0 or not 0.0 < cvar_level <= 1.0:
        raise ValueError("risk_weight must be in [0, 1] and cvar_level in (0, 1]")
    p = p / p.sum()
    m = pyo.ConcreteModel(name="sitepivot_robust")
    blocks: list[pyo.ConcreteModel] = []
    firsts: list[dict[FirstKey, pyo.Var]] = []
    for i, econ in enumerate(econs):
        sub = build_model(econ)
        sub.npv.deactivate()  # its expression is used in the robust objective below
        m.add_component(f"scenario_{i}", sub)
        blocks.append(sub)
        firsts.append(first_stage_variables(sub, commit_quarters))
    keys = sorted(set().union(*firsts))
    m.scenario_models = blocks
    m.first_keys = keys
    m.weights = p
    m.risk_weight = float(risk_weight)
    m.cvar_level = float(cvar_level)
    m.commit_quarters = int(commit_quarters)
    m.J = pyo.RangeSet(0, len(keys) - 1) if keys else pyo.Set(initialize=[])
    m.first = pyo.Var(m.J, domain=pyo.NonNegativeReals)
    pairs = [(i, j) for i in range(len(blocks)) for j in range(len(keys))]

    def nonanticipativity(_m: pyo.ConcreteModel, i: int, j: int) -> object:
        var = firsts[i].get(keys[j])
        return (var if var is not None else 0) == m.first[j]

    m.nonanticipativity = pyo.Constraint(pairs, rule=nonanticipativity)
    m.I = pyo.RangeSet(0, len(blocks) - 1)
    m.scenario_npv = pyo.Expression(m.I, rule=lambda _m, i: blocks[i].npv.expr)
    expected = sum(float(p[i]) * m.scenario_npv[i] for i in m.I)
    if risk_weight > 0:
        m.eta = pyo.Var(domain=pyo.Reals)  # the NPV level below which the tail lies (VaR)
        m.shortfall = pyo.Var(m.I, domain=pyo.NonNegativeReals)
        m.tail = pyo.Constraint(m.I, rule=lambda _m, i: m.shortfall[i]
                                >= m.eta - m.scenario_npv[i])
        m.cvar = pyo.Expression(expr=m.eta - sum(float(p[i]) * m.shortfall[i] for i in m.I)
                                / cvar_level)
        objective = (1.0 - risk_weight) * expected + risk_weight * m.cvar
    else:
        objective = expected
    m.objective = pyo.Objective(expr=objective, sense=pyo.maximize)
    return m


def cvar(values: Floats, weights: Floats, level: float) -> float:
    """CVaR_level of the lower tail: the weighted mean of the worst `level` share of values
    (a scenario on the boundary counts in part). Equals the Rockafellar-Uryasev maximum."""
    v = np.asarray(values, dtype=float)
    p = np.asarray(weights, dtype=float)
    p = p / p.sum()
    order = np.argsort(v, kind="stable")
    v, p = v[order], p[order]
    before = np.concatenate([[0.0], np.cumsum(p)[:-1]])
    take = np.clip(level - before, 0.0, p)
    used = take > 0  # an infeasible future (-inf) outside the tail does not count
    return float(take[used] @ v[used] / level)


def objective_value(values: Floats, weights: Floats, risk_weight: float,
                    cvar_level: float) -> float:
    """(1 - W) * E[values] + W * CVaR_A(values), weights normalised to sum to 1."""
    v = np.asarray(values, dtype=float)
    p = np.asarray(weights, dtype=float)
    p = p / p.sum()
    expected = float(p @ v)
    if risk_weight == 0:
        return expected
    return (1.0 - risk_weight) * expected + risk_weight * cvar(v, p, cvar_level)


def quantile(values: Floats, weights: Floats, q: float) -> float:
    """The weighted q-quantile (inverse of the weighted CDF, the lower value at a tie): the
    smallest value v with P(NPV <= v) >= q. Equal weights and q = 0.5 give the lower median."""
    v = np.asarray(values, dtype=float)
    p = np.asarray(weights, dtype=float)
    p = p / p.sum()
    order = np.argsort(v, kind="stable")
    cdf = np.cumsum(p[order])
    i = int(np.searchsorted(cdf, q - 1e-12, side="left"))
    return float(v[order][min(i, len(v) - 1)])
