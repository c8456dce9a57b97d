"""`optimize()`: Portfolio -> economics -> MILP -> HiGHS -> audited Plan. The whole story."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
import pyomo.environ as pyo

from models.conversion import build_model
from models.decisions import Decisions
from models.economics import Economics, build_economics, objective_npv
from models.errors import InfeasibleError, NoSolutionError, SolverError, UsageError
from models.portfolio import Portfolio
from optimizer.plan import Plan
from optimizer.progress import Reporter, both, reporter, reporting
from optimizer.solve.audit import (  # noqa: F401  (AUDIT_TOLERANCE, audit: their old home)
    AUDIT_TOLERANCE,
    audit,
    audited_solution,
    integrality_slack,
    solution_decisions,
)
from optimizer.solve.frames import plan_frames
from optimizer.solve.greedy import GreedyPlan, greedy_plan
from optimizer.solve.highs import HighsRunner, ProgressHook, SolveOutcome, relative_gap, threads_of
from optimizer.solve.neighbourhood import Beside
from optimizer.solve.options import WORK_PER_SECOND, EffortClock, SolverOptions
from optimizer.status import Status, Termination, has_plan

# With this many sites or more, `method="auto"` decomposes by site (measured in
# benchmarks/README.md: the column-generation bound is tight when many sites share the budget;
# with a handful of lumpy sites only the monolithic branch-and-bound proves a small gap).
AUTO_DECOMPOSITION_SITES = 100
# Below AUTO_DECOMPOSITION_SITES `auto` runs "neighbourhood": HiGHS on the whole model and, only if
# its bound stalls, a neighbourhood search from its plan (`optimizer.solve.neighbourhood`).
# The hand-over depends on the effort since HiGHS began only (effort seconds, deterministic:
# `optimizer.solve.options`), never on the limit nor on the wall clock, so that a longer limit
# repeats a shorter run and then goes on: more time never gives a worse plan (a hand-over at a
# share of the limit made a 10 s run worse than a 5 s one: benchmarks/README.md).
HIGHS_SECONDS = 10.0  # HiGHS runs at least this many effort seconds before any search
STALL_CLOSED = 0.25  # stalled: the bound closed less than this share of the gap in the last
# half of the time so far
METHODS = ("auto", "monolithic", "neighbourhood", "decomposition")
NOT_REPRODUCIBLE = ("This plan is NOT reproducible: the wall-clock safety cap ({cap:.0f} s) "
                    "stopped the solver before its effort was spent (the machine was very "
                    "busy); the same workbook may give another plan. Rerun when the machine "
                    "is less busy, or with a smaller --time-limit.")


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
             with_greedy: bool = True, method: str = "auto",
             on_progress: ProgressHook | None = None, deadline: float | None = None,
             effort: float | None = None,
             progress: bool | str | Reporter | None = None) -> Plan:
    """Find the plan of highest NPV for a validated Portfolio.

    Arguments left None take the Portfolio's Settings. `method`: "monolithic" (the Pyomo MILP,
    the reference), "neighbourhood" (the same MILP; if its bound stalls after HIGHS_SECONDS, a
    search over neighbourhoods of sites from its plan, then the MILP again from the best plan),
    "decomposition" (Dantzig-Wolfe by site, `optimizer.solve.decompose`) or "auto" (`auto_method`).
    The Plan's `method` says what ran ("monolithic" when the search was not needed). A greedy
    plan (the spreadsheet way) is computed for comparison and used as a starting plan.
    Raises InfeasibleError (with an explanation), NoSolutionError (time limit, no plan) or
    SolverError. A plan stopped by its effort has status "feasible" and its gap stated.
    Every solve stops on its effort, never on the clock, so the same inputs and arguments give
    the same plan on any machine load (`optimizer.solve.options`): `time_limit` seconds are
    converted to effort seconds; `effort` (effort seconds), when given, replaces that
    conversion. The wall clock is a safety cap only: a plan it stopped says it is not
    reproducible (`Plan.reproducible`).
    `on_progress(seconds, bound, NPV)` is told of the solver's progress as it runs ($M; see
    `HighsRunner.solve`); `optimizer.progress.Console.solver` shows it. `deadline`: a
    wall-clock moment (`time.time()`, a whole run's total time) the solve must not run past;
    it never shortens the effort, it lowers the safety cap, so a plan it stops says it is not
    reproducible.
    `progress`: True shows on stderr what `sitepivot plan` shows while it solves (a bar on a
    terminal, plain lines in a notebook or a log), "bar"/"lines" that mode, a
    `optimizer.progress.Console` (or any Reporter) its own "solve" phase; None/False nothing.
    Bad arguments raise UsageError (`check_arguments`).
    """
    shown = reporter(progress)
    if shown is not None:
        budget = portfolio.settings.time_limit_s if time_limit is None else time_limit
        with reporting(shown, "solve", budget):
            return optimize(portfolio, time_limit=time_limit, mip_gap=mip_gap, threads=threads,
                            seed=seed, mip_start=mip_start, with_greedy=with_greedy,
                            method=method, on_progress=both(on_progress, shown.solver),
                            deadline=deadline, effort=effort)
    if method not in METHODS:
        raise UsageError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    settings = portfolio.settings
    check_arguments(settings.time_limit_s if time_limit is None else time_limit,
                    settings.mip_gap if mip_gap is None else mip_gap,
                    settings.threads if threads is None else threads,
                    settings.random_seed if seed is None else seed)
    if effort is not None:
        check_arguments(effort, 0.0, 0, 0)
    options = SolverOptions.from_settings(settings, time_limit=time_limit,
                                          mip_gap=mip_gap, threads=threads, seed=seed,
                                          effort=effort).with_overrides(deadline=deadline)
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
    if method == "decomposition" and (econ.rules.coverage is not None
                                      or econ.objective_constant != 0):
        # The covenant couples every site in every year, and the idle-power value puts a
        # constant in the objective; the decomposition's site pricing and master know neither
        # (its master prices the budget, demand, start and floor rows), so the whole model is
        # solved instead.
        why = ("min_dscr couples the sites in every year" if econ.rules.coverage is not None
               else "the idle-power value is not in the site decomposition")
        warnings.append(f"{why}: solved as one model (neighbourhood) instead of by site "
                        "decomposition.")
        method = "neighbourhood"
    trace: list[tuple[float, float, float]] = []  # (wall seconds, bound, NPV) as HiGHS goes
    solve_began = time.perf_counter()

    def record(seconds: float, bound: float, objective: float) -> None:
        trace.append((time.perf_counter() - solve_began, bound, objective))
        if on_progress is not None:
            on_progress(seconds, bound, objective)

    clock_of_effort = EffortClock()
    if method == "decomposition":
        solved = _decomposed(econ, options, greedy, timings, record, clock_of_effort)
    else:
        solved = _monolithic(econ, options, greedy, mip_start, timings,
                             search=method == "neighbourhood", on_progress=record,
                             clock=clock_of_effort)

    if has_plan(solved.status):  # the last word is the plan returned
        record(time.perf_counter() - solve_began, solved.bound, solved.objective)
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

    warnings += solver_warnings(solved.log)
    if clock_of_effort.capped:
        warnings.append(NOT_REPRODUCIBLE.format(cap=options.time_cap))
    valuation = audited_solution(econ, solved.objective, solved.decisions,
                                 solved.rounding).valuation
    frames = plan_frames(econ, solved.decisions, valuation)
    return Plan(
        portfolio=portfolio, status=solved.status,
        termination=solved.termination, npv_musd=valuation.npv,
        objective_musd=solved.objective, bound_musd=solved.bound, gap=solved.gap,
        mip_gap_requested=options.mip_gap, method=solved.method,
        recommended_method=auto_method(len(portfolio.sites), has_start=False),
        greedy_npv_musd=None if greedy is None else greedy.valuation.npv,
        greedy_objective_musd=None if greedy is None else objective_npv(econ, greedy.valuation),
        greedy_halls=None if greedy is None else round(float(greedy.decisions.halls.sum())),
        timings=timings, solver_log=solved.log, time_limit_s=options.time_limit,
        effort_s=options.effort_seconds, effort_spent_s=clock_of_effort.now(),
        work_units_per_effort_s=WORK_PER_SECOND,
        reproducible=not clock_of_effort.capped, solver_trace=trace,
        warnings=list(portfolio.warnings) + warnings, **frames)


def check_arguments(time_limit: float, mip_gap: float, threads: int, seed: int) -> None:
    """UsageError (as the CLI's options would give) unless time_limit > 0 (finite, seconds),
    0 <= mip_gap < 1, and threads and seed are whole numbers >= 0."""
    bad = []
    if not (isinstance(time_limit, Real) and math.isfinite(time_limit) and time_limit > 0):
        bad.append(f"time_limit must be a number of seconds > 0, not {time_limit!r}")
    if not (isinstance(mip_gap, Real) and 0 <= mip_gap < 1):
        bad.append(f"mip_gap must be a fraction >= 0 and < 1, not {mip_gap!r}")
    for name, value in (("threads", threads), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
            bad.append(f"{name} must be a whole number >= 0, not {value!r}")
    if bad:
        raise UsageError("; ".join(bad))


# What HiGHS's model warnings mean for the plan (the key is a phrase of HiGHS's message).
SOLVER_WARNING_MEANINGS = {
    "small costs": "some NPV coefficients are tiny beside the largest (HiGHS's cost range "
                   "{costs} $M per unit; e.g. a MW mined in a quarter whose margin is almost "
                   "zero): the solver may treat decisions worth that little as worth nothing, "
                   "so such a choice can go either way; the NPV is still recomputed from the "
                   "decisions and audited, so it is exact for the plan returned",
    "large costs": "some NPV coefficients are huge (HiGHS's cost range {costs} $M per unit): "
                   "check the inputs' units (a capex in $ instead of $M?); the NPV is "
                   "recomputed from the decisions and audited",
    "bounds": "some limits are huge or tiny (HiGHS's bound range {bounds}): check the inputs' "
              "units; the plan is audited against every constraint's cash flows",
    "matrix": "some constraint coefficients are huge or tiny (HiGHS's matrix range {matrix}): "
              "check the inputs' units; the plan is audited",
}


def solver_warnings(log: str) -> list[str]:
    """HiGHS's WARNING lines of a solve log, each once, with what it means for the plan (see
    SOLVER_WARNING_MEANINGS; other warnings are passed on as HiGHS words them)."""
    ranges = {}
    for key in ("Matrix", "Cost", "Bound", "RHS"):
        found = re.search(rf"^\s*{key}\s+(\[[^\]]*\])", log, re.MULTILINE)
        ranges[key.lower()] = found.group(1) if found else "not shown"
    ranges["costs"], ranges["bounds"] = ranges.pop("cost"), ranges.pop("bound")
    out = []
    for line in dict.fromkeys(ln.strip() for ln in log.splitlines()
                              if ln.strip().upper().startswith("WARNING")):
        meaning = next((text for phrase, text in SOLVER_WARNING_MEANINGS.items()
                        if phrase in line.lower()), "")
        text = f"Solver (HiGHS): {line.split(':', 1)[-1].strip()}"
        out.append(text + (f": {meaning.format(**ranges)}." if meaning else "."))
    return out


def auto_method(n_sites: int, has_start: bool) -> str:
    """The method `auto` runs for a portfolio of n_sites (measured in benchmarks/README.md)."""
    if n_sites >= AUTO_DECOMPOSITION_SITES and not has_start:
        return "decomposition"
    return "neighbourhood"


def _monolithic(econ: Economics, options: SolverOptions, greedy: GreedyPlan | None,
                mip_start: Plan | None, timings: dict[str, float], search: bool = False,
                on_progress: ProgressHook | None = None, clock: EffortClock | None = None
                ) -> Solved:
    """The whole MILP (models/conversion.py) in HiGHS, from the given or the greedy plan; with
    `search`, once HiGHS's bound stalls (`Stall`) the neighbourhood search runs beside it and
    hands it its better plans (`optimizer.solve.neighbourhood.Beside`): one HiGHS search from
    start to end, so its bound is never lost. All within `options.effort_seconds`, charged to
    `clock`."""

    clock = EffortClock() if clock is None else clock
    began = time.perf_counter()
    model = build_model(econ)
    runner = HighsRunner(model)
    timings["build"] = time.perf_counter() - began
    if mip_start is not None:
        runner.set_start(start_values_from_plan(model, econ, mip_start))
    elif greedy is not None:
        runner.set_start(greedy.start_values(model))
    started = time.perf_counter()
    helper = None
    if search:
        def better(objective: float) -> None:
            if on_progress is not None:
                on_progress(time.perf_counter() - started, float("nan"), objective)

        helper = Beside(runner, econ, budget=options.effort_seconds, clock=clock,
                        stall=Stall(options.time_limit), wait=HIGHS_SECONDS, seed=options.seed,
                        threads=threads_of(options), on_better=better)
    outcome = runner.solve(options, on_progress=on_progress, clock=clock, helper=helper)
    searched = helper is not None and helper.searches > 0
    if helper is not None and searched:
        outcome = _keep_best(runner, outcome, helper, options)
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
    """When HiGHS should hand over to the neighbourhood search: after HIGHS_SECONDS, once its
    bound has stalled, i.e. over the last half of the effort so far it closed less than
    STALL_CLOSED of the gap still open. `seconds` are effort seconds (deterministic). While
    the bound keeps moving HiGHS runs to the end, exactly as the monolithic method. The answer
    at `seconds` depends only on what HiGHS reported until then, not on `time_limit` (kept for
    the callers; a limit below HIGHS_SECONDS simply ends before any hand-over)."""

    time_limit: float
    bounds: list[tuple[float, float]] = field(default_factory=list)  # (seconds, bound) changes

    def __call__(self, seconds: float, bound: float, objective: float) -> bool:
        if not (math.isfinite(bound) and math.isfinite(objective)):
            return False
        if not self.bounds or bound != self.bounds[-1][1]:
            self.bounds.append((seconds, bound))
        if seconds < HIGHS_SECONDS:
            return False
        earlier = next((b for t, b in reversed(self.bounds) if t <= seconds / 2),
                       self.bounds[0][1])
        return abs(earlier - bound) < STALL_CLOSED * abs(bound - objective)


def _keep_best(runner: HighsRunner, outcome: SolveOutcome, helper: Beside,
               options: SolverOptions) -> SolveOutcome:
    """HiGHS's outcome with the search's log, and the search's best plan when HiGHS ended
    before taking it (its bound, on the same model, holds for every plan)."""
    outcome.log += "\n".join(helper.log) + "\n"
    best = helper.best
    if best is None or not has_plan(outcome.status) or best.objective <= outcome.objective:
        return outcome
    runner.load_column_values(best.values)
    objective = runner.model_objective()
    gap = relative_gap(objective, outcome.bound)
    proven = gap <= options.mip_gap + 1e-9
    outcome.log += f"sitepivot: the search's best plan {objective:.6f} kept\n"
    return SolveOutcome(status=Status.OPTIMAL if proven else Status.FEASIBLE,
                        termination=Termination.OPTIMAL if proven else outcome.termination,
                        objective=objective, bound=outcome.bound, gap=gap, log=outcome.log,
                        seconds=outcome.seconds)


def _decomposed(econ: Economics, options: SolverOptions, greedy: GreedyPlan | None,
                timings: dict[str, float], on_progress: ProgressHook | None = None,
                clock: EffortClock | None = None) -> Solved:
    """Dantzig-Wolfe by site (`optimizer.solve.decompose`), from the greedy plan if any."""
    from optimizer.solve.decompose import solve_decomposed

    result = solve_decomposed(econ, options, greedy=greedy, on_progress=on_progress,
                              clock=clock)
    timings["build"] = result.timings.get("build", 0.0)
    timings["solve"] = result.seconds - timings["build"]
    planned = has_plan(result.status)
    return Solved(status=result.status, termination=result.termination,
                  objective=result.objective, bound=result.bound, gap=result.gap,
                  log="\n".join(result.log),
                  decisions=result.decisions if planned else None,
                  method="decomposition")


def start_values_from_plan(model: pyo.ConcreteModel, econ: Economics, plan: Plan
                           ) -> list[tuple[pyo.Var, float]]:
    """A MIP start from an earlier Plan's decisions (starts missing from this model dropped)."""
    at = econ.candidate_index().by_key  # business key -> (kind, candidate index)
    units = np.zeros(len(econ.halls))
    for row in plan.decisions.itertuples(index=False):
        found = at.get(("hall", row.site, row.option, econ.portfolio.t_of(row.start_quarter)))
        if found is not None:
            units[found[1]] = float(row.halls)
    return [(model.halls_started[c], float(units[c])) for c in model.H]
