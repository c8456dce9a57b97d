"""The methods that choose the robust first stage, behind one interface (`FirstStageMethod`).

Each method is called with one `MethodContext` (the futures, the objective, what the run
already knows: the deterministic first stage, EEV and wait-and-see, and the sub-problem
runner) and returns a `MethodAnswer`: the first stage, its result in every future, its own
bound and a log. Each stops once its plan is within mip_gap of the proven bound
(wait-and-see's, or the extensive form's own if lower), as a MIP stops at its gap:

- ``extensive``: the two-stage MILP of `models.robust.build_extensive` in HiGHS, started from
  the EEV solutions (the deterministic plan) when they are feasible in every future, else from
  the common core (`common_core`: the first-stage starts every wait-and-see plan makes)
  evaluated in every future, when that is; its first stage is then evaluated in every future
  (recourse re-optimised, started from the extensive form's answer);
- ``decomposition``: scenario sub-problems only (pool or Dask): the deterministic first stage,
  then the most frequent wait-and-see first stages and the common core are each evaluated in
  every future and the best is kept. No home-made bound: the bound is wait-and-see's;
- ``ph``: progressive hedging (mpi-sppy, `optimizer.robust.ph`) proposes the candidates,
  evaluated as the decomposition's.

Every number is in $M.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pyomo.environ as pyo

from models.economics import Economics
from models.errors import NoSolutionError, SolverError
from models.robust import (
    FirstKey,
    build_extensive,
    first_stage_variables,
    objective_value,
    start_variables,
)
from optimizer.budget import cut_short
from optimizer.robust.futures import Future
from optimizer.robust.recourse import KeyedStarts, RecourseResult
from optimizer.robust.subproblems import SubproblemRunner, frozen_first_stage, values_of
from optimizer.solve.audit import audit, audited_solution
from optimizer.solve.highs import HighsRunner, relative_gap
from optimizer.status import Status, has_plan

MAX_CANDIDATES = 4  # wait-and-see first stages evaluated by the decomposition (besides det.)
Frozen = tuple[tuple[FirstKey, float], ...]  # a first stage, hashable (`frozen_first_stage`)


@dataclass
class MethodContext:
    """What every method is given: the robust problem and what the run knows so far."""

    cases: Sequence[Future]  # the futures, in order
    econs: list[Economics]  # each future's economics (same order)
    weights: np.ndarray  # each future's weight, summing to 1
    commit_quarters: int  # K: starts in quarters 0 <= tau < K are the first stage
    risk_weight: float  # W: objective (1 - W) E[NPV] + W CVaR
    cvar_level: float  # A: CVaR's tail share
    runner: SubproblemRunner  # runs the scenario sub-problems (settings, bar, store)
    det_first: dict[FirstKey, float]  # the deterministic plan's first stage
    det_start: KeyedStarts  # the deterministic plan's starts (a MIP start)
    eev: list[RecourseResult]  # the deterministic first stage in every future
    wait_and_see: list[RecourseResult]  # every future solved alone
    ws_bound: float = math.inf  # wait-and-see's bound on the robust objective

    def score(self, results: Sequence[RecourseResult]) -> float:
        """The robust objective of one first stage's results: -inf unless it has a plan in
        every future."""
        values = values_of(results)
        if np.isnan(values).any() or np.isinf(values).any():
            return -math.inf
        return objective_value(values, self.weights, self.risk_weight, self.cvar_level)


@dataclass(frozen=True)
class MethodAnswer:
    """A method's robust first stage, its result in every future, the method's own bound on
    the robust objective (NaN: none) and its log."""

    first: dict[FirstKey, float]
    results: list[RecourseResult]
    bound: float
    log: str


class FirstStageMethod(Protocol):
    """A way to choose the robust first stage (see the module docstring)."""

    def __call__(self, context: MethodContext) -> MethodAnswer: ...


def common_core(ws: Sequence[RecourseResult]) -> dict[FirstKey, float]:
    """The first-stage starts every future's own plan makes: per key, the fewest units any
    wait-and-see plan starts (less capex and power than each of them; the recourse may still
    need what a dropped start provided)."""
    firsts = [dict(r.first_stage) for r in ws]
    keys = set.intersection(*(set(f) for f in firsts)) if firsts else set()
    return {key: min(f[key] for f in firsts) for key in keys}


# ---- the extensive form ------------------------------------------------------------------
def extensive(context: MethodContext) -> MethodAnswer:
    """Solve the extensive form from the EEV solutions when each future has one (else from the
    common core's, evaluated in every future first), then evaluate its first stage in every
    future (recourse re-optimised from the extensive form's own recourse). HiGHS stops at
    mip_gap against the lower of its own bound and wait-and-see's: the evaluation can only
    raise the plan's value, so the gap then holds for the answer."""
    runner, cases = context.runner, context.cases
    start_from = context.eev
    if not all(r.has_plan for r in context.eev):
        # The deterministic first stage breaks a limit in some future: start from the
        # starts every future's own plan makes (if that holds in every future).
        runner.bar.set_description("common first stage")
        runner.bar.total += len(cases)
        core = common_core(context.wait_and_see)
        start_from = runner.run([
            runner.task(f"common {i + 1}", i, c.portfolio, core, context.wait_and_see[i].starts)
            for i, c in enumerate(cases)])
    runner.bar.set_description("extensive form")
    first, npvs, starts, bound, log, capped = runner.remember(
        "extensive form", lambda: _solve_extensive(context, start_from))
    runner.capped += capped
    tasks = [runner.task(f"robust {i + 1}", i, c.portfolio, first,
                         tuple((key, v) for key, v in sorted(starts[i].items()) if v > 0.5))
             for i, c in enumerate(cases)]
    evaluated = runner.run(tasks)
    for i, result in enumerate(evaluated):  # keep the extensive form's recourse if better
        if not result.has_plan or result.npv < npvs[i] - 1e-9:
            evaluated[i] = RecourseResult(
                result.label, i, "feasible", "extensive_form", npvs[i],
                max(npvs[i], result.bound if result.has_plan else math.inf), math.nan,
                result.seconds, tuple((key, v) for key, v in sorted(starts[i].items())
                                      if v > 0.5), frozen_first_stage(first),
                message="the extensive form's recourse (better than the re-solve)")
    return MethodAnswer(first, evaluated, bound, log)


def _solve_extensive(context: MethodContext, eev: list[RecourseResult]
                     ) -> tuple[dict[FirstKey, float], list[float], list[dict[FirstKey, float]],
                                float, str, bool]:
    """The extensive form's solve (see `extensive`), started from `eev` (one solution per
    future sharing a first stage) when each has a plan: its first stage, each future's NPV and
    starts, its bound, its log and whether the whole run's deadline cut it short."""
    k = context.commit_quarters
    start = [dict(r.starts) for r in eev] if all(r.has_plan for r in eev) else None
    model, outcome, capped = extensive_outcome(
        context.econs, context.weights, k, context.risk_weight, context.cvar_level, start,
        context.runner, context.ws_bound)
    if outcome.status == Status.INFEASIBLE:
        raise NoSolutionError("No first stage is feasible in every future: each future has a "
                              "plan of its own, but none shares the starts of the first "
                              f"{k} quarter(s). Lower --commit-quarters or relax the "
                              "constraints.")
    if not has_plan(outcome.status):
        raise NoSolutionError(f"The extensive form found no plan within the time limit "
                              f"({outcome.termination}); raise --time-limit or use "
                              "--method decomposition.")
    first, npvs, starts = extensive_answer(model, context.econs, context.weights, k,
                                           context.risk_weight, context.cvar_level, outcome)
    return (first, npvs, starts, outcome.bound, outcome.log,
            cut_short(capped, outcome.termination))


def extensive_outcome(econs: list[Economics], weights: np.ndarray, k: int, risk_weight: float,
                      cvar_level: float, start: Sequence[dict[FirstKey, float]] | None,
                      runner: SubproblemRunner, ws_bound: float,
                      forbidden: tuple[FirstKey, float] | None = None
                      ) -> tuple[pyo.ConcreteModel, Any, bool]:
    """Build the extensive form (with `forbidden` = (key, units kept): that start forbidden
    beyond those units in every future, `models.firmness.forbid`), start it from `start`
    (each future's starts by key, sharing a first stage; None: no start) and solve it within
    the run's per-solve budget, stopping within mip_gap of the lower of its bound and
    `ws_bound`. Returns the model, the outcome and whether the run's deadline capped it."""
    from models.firmness import forbid

    model = build_extensive(econs, weights, k, risk_weight, cvar_level)
    if forbidden is not None:
        for block in model.scenario_models:
            forbid(block, *forbidden)
    highs = HighsRunner(model)
    if start is not None:
        values: list[tuple[pyo.Var, float]] = []
        for block, wanted in zip(model.scenario_models, start, strict=True):
            values += [(var, float(wanted.get(key, 0.0)))
                       for key, var in start_variables(block).items() if not var.fixed]
        first = start[0]
        values += [(model.first[j], first.get(key, 0.0)) for j, key in enumerate(model.first_keys)]
        highs.set_start(values)

    def proven(seconds: float, bound: float, objective: float) -> bool:
        """Show the progress on the bar; stop once the plan is within mip_gap of the lower
        of the two bounds."""
        best = min(bound, ws_bound)
        if not (math.isfinite(best) and math.isfinite(objective)):
            return False
        gap = relative_gap(objective, best)
        runner.bar.set_postfix_str(f"{seconds:.0f}/{runner.time_limit:.0f} s, gap {gap:.2%}")
        return gap <= runner.mip_gap

    limit, capped = runner.budget.limit_now()
    outcome = highs.solve(time_limit=min(limit, runner.time_limit), mip_gap=runner.mip_gap,
                          threads=1, seed=runner.seed, should_stop=proven,
                          deadline=runner.budget.deadline)
    return model, outcome, capped


def extensive_answer(model: pyo.ConcreteModel, econs: list[Economics], weights: np.ndarray,
                     k: int, risk_weight: float, cvar_level: float, outcome: Any
                     ) -> tuple[dict[FirstKey, float], list[float], list[dict[FirstKey, float]]]:
    """A solved extensive form's first stage, each future's NPV (recomputed from the decisions
    and audited against the solver's, `optimizer.solve.audit`) and each future's starts;
    SolverError when an audit fails."""
    npvs, starts = [], []
    rounding = 0.0
    for block, econ in zip(model.scenario_models, econs, strict=True):
        # The objective's NPV: the equity NPV under objective = equity_npv.
        solution = audited_solution(econ, float(pyo.value(block.npv.expr)), block,
                                    what="a future's NPV", source="the extensive form's")
        npvs.append(solution.npv)
        rounding += solution.rounding
        starts.append({key: float(round(var.value or 0.0))
                       for key, var in start_variables(block).items()})
    # CVaR's eta may be short of its best value in a time-limited solve: the exact CVaR of
    # the same NPVs can only be higher (with W = 0 the two are equal). No future's NPV moves
    # the objective by more than its own, so the futures' rounding bounds the objective's.
    audit(objective_value(npvs, weights, risk_weight, cvar_level), outcome.objective, rounding,
          at_least=risk_weight != 0, what="the robust objective", source="the solver's")
    first = {key: starts[0][key] for key in first_stage_variables(model.scenario_models[0], k)
             if starts[0].get(key, 0) > 0.5}
    for i in range(len(model.scenario_models)):  # nonanticipativity, checked
        mine = {key: v for key, v in starts[i].items() if key[3] < k and v > 0.5}
        if mine != first:
            raise SolverError(f"the first stage of future {i + 1} differs from future 1's")
    return first, npvs, starts


# ---- the decomposition -------------------------------------------------------------------
def decomposition(context: MethodContext) -> MethodAnswer:
    """Scenario sub-problems only: the deterministic first stage (its EEV results), the
    MAX_CANDIDATES most frequent wait-and-see first stages and their common core (when it is
    none of those) are each evaluated in every future (recourse re-optimised); the best by the
    robust objective is the plan. No bound of its own (NaN): the run's bound is
    wait-and-see's."""
    context.runner.bar.set_description("decomposition")
    ws = context.wait_and_see
    counts: dict[Frozen, list[int]] = {}
    for r in ws:
        counts.setdefault(r.first_stage, []).append(r.scenario)
    det_key = frozen_first_stage(context.det_first)
    weights = context.weights
    ranked = sorted((key for key in counts if key != det_key),
                    key=lambda key: (-sum(weights[i] for i in counts[key]), counts[key][0]))
    chosen = [(key, ws[counts[key][0]].starts) for key in ranked[:MAX_CANDIDATES]]
    core = frozen_first_stage(common_core(ws))
    if core not in counts and core != det_key:
        chosen.append((core, ws[0].starts))
    return best_candidate(context, chosen)


def best_candidate(context: MethodContext, chosen: Sequence[tuple[Frozen, KeyedStarts]],
                   log: str = "") -> MethodAnswer:
    """Evaluate each candidate first stage (with a MIP start for its recourse) in every future
    and keep the best by the robust objective; the deterministic one is already evaluated
    (EEV). The search stops, as a MIP stops at its gap, once the best is within mip_gap of
    wait-and-see's bound. Returns it, its results, NaN (no bound of its own) and `log` with a
    line saying how many candidates were evaluated."""
    runner, cases, score = context.runner, context.cases, context.score
    det_key = frozen_first_stage(context.det_first)
    candidates: list[tuple[Frozen, list[RecourseResult]]] = [(det_key, context.eev)]
    chosen = [(key, start) for key, start in chosen if key != det_key]
    runner.bar.total += len(chosen) * len(cases)
    best = score(context.eev)
    for j, (key, start) in enumerate(chosen):
        if math.isfinite(best) and relative_gap(best, context.ws_bound) <= runner.mip_gap:
            runner.bar.total -= (len(chosen) - j) * len(cases)
            break
        first = dict(key)
        tasks = [runner.task(f"candidate {len(candidates)} future {i + 1}", i, c.portfolio,
                             first, start) for i, c in enumerate(cases)]
        candidates.append((key, runner.run(tasks)))
        best = max(best, score(candidates[-1][1]))
    log += (f"sitepivot: {len(candidates)} of {len(chosen) + 1} candidate first stage(s) "
            "evaluated in every future (the deterministic one first); "
            + ("the search stopped within mip_gap of the wait-and-see bound.\n"
               if len(candidates) <= len(chosen) else "all of them.\n"))

    key, results = max(candidates, key=lambda item: score(item[1]))
    if score(results) == -math.inf:
        raise NoSolutionError("The decomposition found no first stage feasible in every future "
                              "among its candidates (the deterministic plan's and those of the "
                              "futures solved alone, or PH's); try --method extensive.")
    return MethodAnswer(dict(key), results, math.nan, log)


def progressive_hedging(context: MethodContext) -> MethodAnswer:
    """PH (mpi-sppy, `optimizer.robust.ph`) proposes first stages; each is evaluated in every
    future like the decomposition's candidates and the best is kept."""
    from optimizer.robust.ph import ph_candidates

    runner = context.runner
    runner.bar.set_description("progressive hedging")
    proposed, log = runner.remember("progressive hedging", lambda: ph_candidates(
        context.econs, context.weights, context.commit_quarters, context.risk_weight,
        context.cvar_level, time_limit=runner.time_limit, mip_gap=runner.mip_gap,
        bar=runner.bar))
    chosen = [(key, context.det_start) for key in proposed[:MAX_CANDIDATES]]
    return best_candidate(context, chosen, log)


# Each method by its --method name ("auto" picks one of them: `optimizer.robust.robust`).
FIRST_STAGE_METHODS: dict[str, FirstStageMethod] = {
    "extensive": extensive, "decomposition": decomposition, "ph": progressive_hedging}
