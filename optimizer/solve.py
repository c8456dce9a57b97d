"""`optimize()`: Portfolio -> economics -> MILP -> HiGHS -> audited Plan. The whole story."""

from __future__ import annotations

import time

import numpy as np
import pyomo.environ as pyo

from models.conversion import build_model
from optimizer.economics import Economics, Valuation, build_economics, evaluate
from optimizer.errors import InfeasibleError, NoSolutionError, SolverError
from optimizer.plan import Plan
from optimizer.plan_frames import plan_frames
from optimizer.portfolio import Portfolio
from optimizer.solver import HighsRunner

AUDIT_TOLERANCE = 1e-6  # relative; the recomputed NPV must equal the solver's objective


def optimize(portfolio: Portfolio, *, time_limit: float | None = None,
             mip_gap: float | None = None, threads: int | None = None,
             seed: int | None = None, mip_start: Plan | None = None,
             with_greedy: bool = True) -> Plan:
    """Find the plan of highest NPV for a validated Portfolio.

    Arguments left None take the Portfolio's Settings. A greedy plan (the spreadsheet way) is
    computed for comparison and, unless `mip_start` is given, handed to HiGHS as a MIP start.
    Raises InfeasibleError (with an explanation), NoSolutionError (time limit, no plan) or
    SolverError. A plan stopped by the time limit has status "feasible" and its gap stated.
    """
    settings = portfolio.settings
    timings: dict[str, float] = {"read": portfolio.read_seconds}
    clock = time.perf_counter()
    econ = build_economics(portfolio)
    timings["economics"] = time.perf_counter() - clock

    clock = time.perf_counter()
    model = build_model(econ)
    runner = HighsRunner(model)
    timings["build"] = time.perf_counter() - clock

    greedy: Valuation | None = None
    warnings: list[str] = []
    if with_greedy:
        from optimizer.greedy import greedy_plan

        clock = time.perf_counter()
        greedy_units = greedy_plan(econ)
        timings["greedy"] = time.perf_counter() - clock
        if greedy_units is not None:
            greedy = greedy_units.valuation
            if mip_start is None:
                runner.set_start(greedy_units.start_values(model))
        else:
            warnings.append("The greedy ranking found no feasible plan to compare with.")
    if mip_start is not None:
        runner.set_start(start_values_from_plan(model, econ, mip_start))

    mip_gap = settings.mip_gap if mip_gap is None else mip_gap
    outcome = runner.solve(
        time_limit=settings.time_limit_s if time_limit is None else time_limit,
        mip_gap=mip_gap,
        threads=settings.threads if threads is None else threads,
        seed=settings.random_seed if seed is None else seed)
    timings["solve"] = outcome.seconds

    if outcome.status == "infeasible":
        from optimizer.explain import explain_infeasibility

        raise InfeasibleError("No plan satisfies every constraint. The smallest changes that "
                              "would make one possible:", explain_infeasibility(econ))
    if outcome.status == "no_solution":
        raise NoSolutionError(
            f"HiGHS found no feasible plan within the time limit ({outcome.termination}); "
            "raise --time-limit or relax the constraints.")
    if outcome.status == "error":
        raise SolverError(f"HiGHS stopped with '{outcome.termination}':\n{outcome.log[-2000:]}")

    units = solution_units(model, econ)
    valuation = evaluate(econ, *units)
    audit(valuation.npv, outcome.objective, integrality_slack(model))
    frames = plan_frames(econ, *units, valuation)
    return Plan(
        portfolio=portfolio, status=outcome.status,  # type: ignore[arg-type]
        termination=outcome.termination, npv_musd=valuation.npv,
        objective_musd=outcome.objective, bound_musd=outcome.bound, gap=outcome.gap,
        mip_gap_requested=mip_gap, method="monolithic",
        greedy_npv_musd=None if greedy is None else greedy.npv,
        timings=timings, solver_log=outcome.log,
        warnings=list(portfolio.warnings) + warnings, **frames)


def audit(recomputed: float, objective: float, rounding: float = 0.0) -> None:
    """Fail loudly unless the NPV recomputed from the decisions equals the solver's objective.

    `rounding` is the objective change from rounding the solver's integer values (HiGHS accepts
    0.999999 as 1); the comparison allows exactly that on top of the 1e-6 relative tolerance.
    """
    allowed = AUDIT_TOLERANCE * max(1.0, abs(objective)) + rounding
    if not abs(recomputed - objective) <= allowed:
        raise SolverError(f"Self-audit failed: NPV recomputed from the decisions is "
                          f"{recomputed:.9f} $M but the solver's objective is {objective:.9f} $M.")


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


def solution_units(model: pyo.ConcreteModel, econ: Economics
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Decision values read from the solved model: halls, modules, upgrades (rounded to the
    integers they are) and mining MW (S, T)."""
    halls = np.array([round(pyo.value(model.halls_started[c])) for c in model.H], dtype=float)
    modules = np.array([round(pyo.value(model.modules_started[k])) for k in model.K],
                       dtype=float)
    upgrades = np.array([round(pyo.value(model.upgrade_started[k])) for k in model.P],
                        dtype=float)
    mining = np.array([[pyo.value(model.mining_mw[s, t]) for t in model.T] for s in model.S])
    mining = mining.reshape(len(model.S), econ.horizon)
    return halls, modules, upgrades, mining


def start_values_from_plan(model: pyo.ConcreteModel, econ: Economics, plan: Plan
                           ) -> list[tuple[pyo.Var, float]]:
    """A MIP start from an earlier Plan's decisions (starts missing from this model dropped)."""
    portfolio = econ.portfolio
    sites = {n: i for i, n in enumerate(portfolio.sites.index)}
    options = {n: j for j, n in enumerate(portfolio.options.index)}
    lookup = {(int(s), int(o), int(t)): c for c, (s, o, t) in
              enumerate(zip(econ.halls.site, econ.halls.option, econ.halls.tau, strict=True))}
    units = np.zeros(len(econ.halls))
    for row in plan.decisions.itertuples(index=False):
        if row.site in sites and row.option in options:
            key = (sites[row.site], options[row.option], portfolio.t_of(row.start_quarter))
            if key in lookup:
                units[lookup[key]] = float(row.halls)
    return [(model.halls_started[c], float(units[c])) for c in model.H]
