"""`optimize()`: Portfolio -> economics -> MILP -> HiGHS -> audited Plan. The whole story."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo

from models.conversion import build_model
from models.decisions import Decisions
from models.economics import Economics, build_economics, evaluate, objective_npv
from models.errors import InfeasibleError, NoSolutionError, SolverError, UsageError
from models.portfolio import Portfolio
from optimizer.plan import Plan
from optimizer.solve.frames import plan_frames
from optimizer.solve.greedy import GreedyPlan, greedy_plan
from optimizer.solve.highs import HighsRunner, SolveOutcome, relative_gap
from optimizer.solve.options import SolverOptions
from optimizer.solve.status import Status, Termination, has_plan

AUDIT_TOLERANCE = 1e-6  # relative; the recomputed NPV must equal the solver's objective


# With this many sites or more, `method="auto"` decomposes by site (measured in
# benchmarks/README.md: the column-generation bound is tight when many sites share the budget;
# with a handful of lumpy sites only the monolithic branch-and-bound proves a small gap).
AUTO_DECOMPOSITION_SITES = 100
# Below AUTO_DECOMPOSITION_SITES `auto` runs "neighbourhood": HiGHS on the whole model and, only if
# its bound stalls, a neighbourhood search from its plan (`optimizer.solve.neighbourhood`).
HIGHS_SHARE = 0.5  # HiGHS runs at least this share of the time limit before any search
LAST_SWITCH = 0.8  # ... and after this share it runs to the end: too little time left to search
STALL_CLOSED = 0.25  # stalled: the bound closed less than this share of the gap in the last
# half of the time so far
METHODS = ("auto", "monolithic", "neighbourhood", "decomposition")


@dataclass
class Solved:
    """What either method returns, before valuation: decisions, objective, proof, log."""

    status: Status
    termination: Termination
    objective: float
    bound: float
    gap: float
    log: str
    decisions: Decisions | None
    rounding: float = 0.0  # objective change from rounding near-integer values
    method: str = "monolithic"  # what ran: "neighbourhood" only if the search did


def optimize(portfolio: Portfolio, *, time_limit: float | None = None,
             mip_gap: float | None = None, threads: int | None = None,
             seed: int | None = None, mip_start: Plan | None = None,
             with_greedy: bool = True, method: str = "auto") -> Plan:
    """Find the plan of highest NPV for a validated Portfolio.

    Arguments left None take the Portfolio's Settings. `method`: "monolithic" (the Pyomo MILP,
    the reference), "neighbourhood" (the same MILP; if its bound stalls after half the time, a
    search over neighbourhoods of sites from its plan, then the MILP again from the best plan),
    "decomposition" (Dantzig-Wolfe by site, `optimizer.solve.decompose`) or "auto" (`auto_method`).
    The Plan's `method` says what ran ("monolithic" when the search was not needed). A greedy
    plan (the spreadsheet way) is computed for comparison and used as a starting plan.
    Raises InfeasibleError (with an explanation), NoSolutionError (time limit, no plan) or
    SolverError. A plan stopped by the time limit has status "feasible" and its gap stated.
    """
    if method not in METHODS:
        raise UsageError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    options = SolverOptions.from_settings(portfolio.settings, time_limit=time_limit,
                                          mip_gap=mip_gap, threads=threads, seed=seed)
    timings: dict[str, float] = {"read": portfolio.read_seconds}
    clock = time.perf_counter()
    econ = build_economics(portfolio)
    timings["economics"] = time.perf_counter() - clock

    greedy: GreedyPlan | None = None
    warnings: list[str] = []
    if with_greedy:
        clock = time.perf_counter()
        greedy = greedy_plan(econ)
        timings["greedy"] = time.perf_counter() - clock
        if greedy is None:
            warnings.append("The greedy ranking found no feasible plan to compare with.")
    if method == "auto":
        method = auto_method(len(portfolio.sites), mip_start is not None)
    if method == "decomposition":
        solved = _decomposed(econ, options, greedy, timings)
    else:
        solved = _monolithic(econ, options, greedy, mip_start, timings,
                             search=method == "neighbourhood")

    if solved.status == Status.INFEASIBLE:
        from optimizer.solve.explain import explain_infeasibility

        raise InfeasibleError("No plan satisfies every constraint. The smallest changes that "
                              "would make one possible:", explain_infeasibility(econ))
    if solved.status == Status.NO_SOLUTION or solved.decisions is None:
        raise NoSolutionError(
            f"No feasible plan was found within the time limit ({solved.termination}); "
            "raise --time-limit or relax the constraints.")
    if solved.status == Status.ERROR:
        raise SolverError(f"The solver stopped with '{solved.termination}':\n"
                          f"{solved.log[-2000:]}")

    valuation = evaluate(econ, solved.decisions)
    audit(objective_npv(econ, valuation), solved.objective, solved.rounding)
    frames = plan_frames(econ, solved.decisions, valuation)
    return Plan(
        portfolio=portfolio, status=solved.status,
        termination=solved.termination, npv_musd=valuation.npv,
        objective_musd=solved.objective, bound_musd=solved.bound, gap=solved.gap,
        mip_gap_requested=options.mip_gap, method=solved.method,
        greedy_npv_musd=None if greedy is None else greedy.valuation.npv,
        timings=timings, solver_log=solved.log,
        warnings=list(portfolio.warnings) + warnings, **frames)


def auto_method(n_sites: int, has_start: bool) -> str:
    """The method `auto` runs for a portfolio of n_sites (measured in benchmarks/README.md)."""
    if n_sites >= AUTO_DECOMPOSITION_SITES and not has_start:
        return "decomposition"
    return "neighbourhood"


def _monolithic(econ: Economics, options: SolverOptions, greedy: GreedyPlan | None,
                mip_start: Plan | None, timings: dict[str, float], search: bool = False
                ) -> Solved:
    """The whole MILP (models/conversion.py) in HiGHS, from the given or the greedy plan; with
    `search`, HiGHS stops once its bound stalls (`Stall`) and `_search_from` takes over."""
    clock = time.perf_counter()
    model = build_model(econ)
    runner = HighsRunner(model)
    timings["build"] = time.perf_counter() - clock
    if mip_start is not None:
        runner.set_start(start_values_from_plan(model, econ, mip_start))
    elif greedy is not None:
        runner.set_start(greedy.start_values(model))
    started = time.perf_counter()
    outcome = runner.solve(options, should_stop=Stall(options.time_limit) if search else None)
    searched = search and outcome.termination == Termination.INTERRUPTED
    if searched:
        outcome = _search_from(runner, econ, outcome, until=started + options.time_limit,
                               options=options)
    timings["solve"] = time.perf_counter() - started
    planned = has_plan(outcome.status)
    return Solved(status=outcome.status, termination=outcome.termination,
                  objective=outcome.objective, bound=outcome.bound, gap=outcome.gap,
                  log=outcome.log,
                  decisions=solution_decisions(model, econ) if planned else None,
                  rounding=integrality_slack(model) if planned else 0.0,
                  method="neighbourhood" if searched else "monolithic")


@dataclass
class Stall:
    """When HiGHS should hand over to the neighbourhood search: after HIGHS_SHARE of the time
    limit (and before LAST_SWITCH of it), once its bound has stalled, i.e. over the last half of
    the time so far it closed less than STALL_CLOSED of the gap still open. While the bound
    keeps moving HiGHS runs to the end, exactly as the monolithic method."""

    time_limit: float
    bounds: list[tuple[float, float]] = field(default_factory=list)  # (seconds, bound) changes

    def __call__(self, seconds: float, bound: float, objective: float) -> bool:
        if not (math.isfinite(bound) and math.isfinite(objective)):
            return False
        if not self.bounds or bound != self.bounds[-1][1]:
            self.bounds.append((seconds, bound))
        if not HIGHS_SHARE * self.time_limit <= seconds <= LAST_SWITCH * self.time_limit:
            return False
        earlier = next((b for t, b in reversed(self.bounds) if t <= seconds / 2),
                       self.bounds[0][1])
        return abs(earlier - bound) < STALL_CLOSED * abs(bound - objective)


def _search_from(runner: HighsRunner, econ: Economics, first: SolveOutcome, *, until: float,
                 options: SolverOptions) -> SolveOutcome:
    """Neighbourhood search from HiGHS's plan, then HiGHS on the whole model from the best plan
    with the time left (`until`, not `options.time_limit`). Both HiGHS runs prove bounds on the
    same model: the smaller is kept.
    """
    from optimizer.solve.neighbourhood import search_sites

    started = time.perf_counter()
    found = search_sites(runner, econ, runner.column_values(), until=until, seed=options.seed,
                         threads=options.threads)
    log = first.log + "\n".join(found.log) + "\n"
    bound, termination = first.bound, Termination.TIME_LIMIT
    left = until - time.perf_counter()
    final = None
    if left >= 1.0:
        runner.set_start_columns(found.values)
        final = runner.solve(options.with_overrides(time_limit=left))
        log += final.log
        if has_plan(final.status) and final.bound == final.bound:  # not NaN
            bound = min(bound, final.bound)
    if final is None or not has_plan(final.status) or final.objective < found.objective:
        runner.load_column_values(found.values)
    objective = runner.model_objective()
    gap = relative_gap(objective, bound)
    proven = gap <= options.mip_gap + 1e-9  # rounding of the NPV sums is no gap
    if final is not None and final.termination not in (Termination.OPTIMAL,
                                                       Termination.TIME_LIMIT) and not proven:
        termination = final.termination
    return SolveOutcome(status=Status.OPTIMAL if proven else Status.FEASIBLE,
                        termination=Termination.OPTIMAL if proven else termination,
                        objective=objective,
                        bound=bound, gap=gap, log=log,
                        seconds=first.seconds + time.perf_counter() - started)


def _decomposed(econ: Economics, options: SolverOptions, greedy: GreedyPlan | None,
                timings: dict[str, float]) -> Solved:
    """Dantzig-Wolfe by site (`optimizer.solve.decompose`), from the greedy plan if any."""
    from optimizer.solve.decompose import solve_decomposed

    result = solve_decomposed(econ, options, greedy=greedy)
    timings["build"] = result.timings.get("build", 0.0)
    timings["solve"] = result.seconds - timings["build"]
    planned = has_plan(result.status)
    return Solved(status=result.status, termination=result.termination,
                  objective=result.objective, bound=result.bound, gap=result.gap,
                  log="\n".join(result.log),
                  decisions=result.decisions if planned else None,
                  method="decomposition")


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
