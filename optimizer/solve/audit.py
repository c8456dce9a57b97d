"""A solver's solution -> audited decisions and NPV: the one self-audit every solve ends with.

Rule: the decisions are read from the solved model (integers rounded to the whole numbers they
are), their cash flows recomputed by `models.economics.evaluate` (the reports' own arithmetic,
not the solver's), and the objective's NPV of those cash flows must equal the solver's value
within AUDIT_TOLERANCE relative (of max(1, |solver's value|), in $M) plus the objective change
from the rounding. Anything else fails loudly (SolverError): a plan is never reported from
numbers the model and the reports disagree on.

Used by `optimize` (a Plan), the sweeps' worker and the robust scenario sub-problems (a row's
NPV), the robust extensive form (each future's NPV, then the robust objective) and the replan
firmness re-solves. The audit only checks: it never changes which plan is returned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from models.decisions import Decisions
from models.economics import Economics, Valuation, evaluate, objective_npv
from models.errors import SolverError
from optimizer.money import money

AUDIT_TOLERANCE = 1e-6  # relative; the recomputed NPV must equal the solver's objective


@dataclass(frozen=True)
class AuditedSolution:
    """A solution whose NPV has passed the self-audit."""

    decisions: Decisions  # what to start and mine (integers rounded)
    valuation: Valuation  # its cash flows, recomputed from the decisions
    npv: float  # the objective's NPV of those cash flows ($M; the equity NPV under
    # objective = equity_npv), equal to the solver's within the audit's allowance
    rounding: float  # $M the rounding of the solver's integer values may move the NPV


def audited_solution(econ: Economics, solver_npv: float,
                     solution: pyo.ConcreteModel | Decisions, rounding: float = 0.0, *,
                     what: str = "NPV", source: str = "the solver's objective"
                     ) -> AuditedSolution:
    """Read, value and audit one solution of `econ`'s conversion model (module docstring).

    `solution`: the solved model (its decisions and rounding are read from it), or decisions
    already read (a decomposition's) with their `rounding` ($M, the objective change from
    rounding the solver's integer values). `solver_npv`: the solver's value of the objective's
    NPV ($M). `what`/`source` name both sides in the SolverError."""
    if isinstance(solution, Decisions):
        decisions = solution
    else:
        decisions = solution_decisions(solution, econ)
        rounding = integrality_slack(solution)
    valuation = evaluate(econ, decisions)
    npv = objective_npv(econ, valuation)
    audit(npv, solver_npv, rounding, what=what, source=source)
    return AuditedSolution(decisions, valuation, npv, rounding)


def audit(recomputed: float, objective: float, rounding: float = 0.0, *,
          at_least: bool = False, what: str = "NPV",
          source: str = "the solver's objective") -> None:
    """Fail loudly unless the value recomputed from the decisions equals the solver's
    objective: within AUDIT_TOLERANCE x max(1, |objective|) plus `rounding` (the objective
    change from rounding the solver's integer values; HiGHS accepts 0.999999 as 1).
    `at_least`: only a recomputed value below the solver's fails (a CVaR's eta short of its
    best value in a time-limited solve makes the solver's value too low, never too high)."""
    allowed = AUDIT_TOLERANCE * max(1.0, abs(objective)) + rounding
    short = recomputed < objective - allowed
    if short or (not at_least and not abs(recomputed - objective) <= allowed):
        raise SolverError(f"Self-audit failed: {what} recomputed from the decisions is "
                          f"{money(recomputed, 9)} but {source} is {money(objective, 9)}.")


def integrality_slack(model: pyo.ConcreteModel) -> float:
    """Sum of |objective coefficient| x |value - nearest integer| over the integer decisions."""
    total = 0.0
    for var, coef in ((model.halls_started, model.hall_value),
                      (model.modules_started, model.module_value),
                      (model.upgrade_started, model.upgrade_value)):
        for i, v in var.items():
            value = v.value or 0.0
            total += abs(pyo.value(coef[i])) * abs(value - round(value))
    return total


def solution_decisions(model: pyo.ConcreteModel, econ: Economics) -> Decisions:
    """Decision values read from the solved model: halls, modules, upgrades (rounded to the
    integers they are) and mining MW (S, T)."""
    halls = np.array([round(pyo.value(model.halls_started[c])) for c in model.H], dtype=float)
    modules = np.array([round(pyo.value(model.modules_started[k])) for k in model.K],
                       dtype=float)
    upgrades = np.array([round(pyo.value(model.upgrade_started[k])) for k in model.P],
                        dtype=float)
    mining = np.array([[pyo.value(model.mining_mw[s, t]) for t in model.T] for s in model.S])
    mining = mining.reshape(len(model.S), econ.horizon)
    return Decisions(halls, modules, upgrades, mining)
