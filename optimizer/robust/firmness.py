"""Firmness of the robust plan's first stage: which of the starts it commits now the robust
objective depends on, evaluated across the futures.

The rule and its words are those of a plan's Firmness sheet (`optimizer.replan.firmness`,
`label_start`), with the robust objective in place of the NPV: RP = (1 - W) E[NPV] + W
CVaR_A[NPV] over the futures (W = 0: the expected NPV), in $M.

Tolerance. tol = `firmness_tolerance` x |RP| (Settings `firmness_tolerance`, default the larger
of the robust plan's gap and 0.5%: `tolerance_of`).

For each start of the robust first stage (a hall start (site, option, quarter), a cooling-module
or power-upgrade start, quarters < K) that the workbook's Commitments do not require in full,
the start is forbidden (beyond its committed halls) in the first stage of every future and the
robust problem re-solved with the run's method:
- ``extensive``: the extensive form with the start forbidden in every future
  (`extensive_outcome`), started from the robust plan's solutions with the forbidden units moved
  one quarter (`models.firmness.moved_start`); its value is its audited objective, its bound
  HiGHS's;
- ``decomposition`` (and ``ph``, whose candidates come from a decomposition too): the robust
  first stage with the start moved one quarter is evaluated in every future (recourse
  re-optimised, started from the robust plan's) - a value; and each future is solved alone with
  the start forbidden (its wait-and-see problem without it) - the objective of their proven
  bounds bounds every first stage without it (each future's NPV is at most its own bound, and
  the objective is monotone). A future with no plan at all without the start makes the start
  firm: no first stage without it holds in every future.
Not making the start then costs at least RP less the re-solve's bound (or the robust plan's
bound, if lower), at most RP less the re-solve's value: `firm` when the least exceeds tol
(every first stage within the tolerance makes it), `open` when the most is within it, `open`
(not proven) otherwise.

Time. The phase is stated and its budget fixed up front: with the run's --total-time T, a share
FIRMNESS_SHARE of T (`optimizer.robust.robust.run_budget` splits the rest among the other
solves) is split among the re-solves from their count alone (`phase_split`): re-solves that
would get less than `optimizer.budget.MIN_SOLVE_S` are dropped, from the last (their rows say
so); each re-solve's limit is at most the run's per-solve limit (`RunBudget.per_solve_s`).
Without T each re-solve has the per-solve --time-limit, as every other solve of the run. The
extensive re-solves run one after another in this process; the decomposition's sub-problems on
the run's slots (pool or Dask).

Checkpoint. The decomposition's sub-problems are `RecourseTask`s (with `forbid`) and go through
the run's store like every other; each extensive re-solve is kept whole under its start's key
(`ResultStore.remember`), so `--resume` re-runs none that finished.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from models.economics import Economics
from models.firmness import moved_start
from models.robust import FirstKey, objective_value
from optimizer.budget import MIN_SOLVE_S, SOLVE_SHARE, solve_overhead_s, waves
from optimizer.money import money
from optimizer.replan.firmness import tolerance_of
from optimizer.replan.firmness_tables import committed_halls, label_start
from optimizer.replan.firmness_words import start_words
from optimizer.replan.resolve import Resolved
from optimizer.robust.recourse import RecourseResult, RecourseTask, run_tasks
from optimizer.solve.highs import relative_gap
from optimizer.status import Status, Termination, has_plan

if TYPE_CHECKING:
    from optimizer.robust.methods import MethodContext
    from optimizer.robust.plan import RobustPlan

FIRMNESS_SHARE = 0.25  # of a robust run's --total-time, the firmness phase's budget
FIRMNESS_COLUMNS = ["firmness", "proven", "npv_cost_musd", "npv_cost_at_least_musd",
                    "npv_cost_at_most_musd", "tolerance_musd", "firmness_note"]


def phase_split(keys: int, budget_s: float | None, per_solve_s: float, rounds_per_key: int,
                overhead_per_key_s: float) -> tuple[int, float]:
    """(re-solves kept, each one's time limit in seconds) of the firmness phase: without a
    budget, every one at `per_solve_s`; with `budget_s`, each kept re-solve (`rounds_per_key`
    rounds of solves, `overhead_per_key_s` seconds around them) gets (SOLVE_SHARE x budget -
    kept x overhead) / (kept x rounds), at most `per_solve_s`, and the last are dropped while
    that is below MIN_SOLVE_S. From the counts only, never from the clock."""
    if budget_s is None:
        return keys, per_solve_s
    rounds = max(1, rounds_per_key)
    while keys > 0:
        limit = (SOLVE_SHARE * budget_s - keys * overhead_per_key_s) / (keys * rounds)
        if limit >= MIN_SOLVE_S:
            return keys, min(limit, per_solve_s)
        keys -= 1
    return 0, 0.0


def commit_now(plan: RobustPlan) -> list[FirstKey]:
    """The robust first stage's starts, by quarter, site, kind and option (the sheet's order)."""
    return sorted(plan.first_stage, key=lambda k: (k[3], k[1], k[0], k[2]))


def assess_first_stage(plan: RobustPlan, context: MethodContext, budget_s: float | None,
                       tolerance: float | None = None) -> RobustPlan:
    """The firmness of each start of `plan`'s first stage (module docstring), added to its
    first-stage frames (FIRMNESS_COLUMNS) and kept as `plan.firmness` (by key) and
    `plan.firmness_phase` (the phase, stated). Returns the plan."""
    keys = commit_now(plan)
    measured = [k for k in keys if committed_halls(plan, k) < plan.first_stage[k]]
    n, econ = len(context.cases), context.econs[0]
    runner = context.runner
    columns = len(econ.halls) + len(econ.cooling) + len(econ.power)
    extensive = plan.method == "extensive"
    if extensive:
        rounds, overhead = 1, n * solve_overhead_s(columns)
    else:
        rounds = waves(2 * n, runner.budget.slots if budget_s is not None else 1)
        overhead = rounds * solve_overhead_s(columns)
    kept, limit = phase_split(len(measured), budget_s, runner.time_limit, rounds, overhead)
    how = ("the extensive form" if extensive else "the start moved in every future, and each "
           "future alone without it")
    if not measured:
        plan.firmness_phase = ("firmness of the first stage: nothing to re-solve ("
                               + ("every start of it is committed)" if keys else
                                  "it starts nothing)"))
    else:
        plan.firmness_phase = (
            f"firmness of the first stage: {kept} re-solve(s) of the robust problem ({how}) "
            f"of at most {limit:.3g} s"
            + (f" each, within {budget_s:.3g} s of the total time (a {FIRMNESS_SHARE:.0%} "
               "share)" if budget_s is not None else " each (the per-solve time limit)")
            + (f"; {len(measured) - kept} not measured (the phase's budget)"
               if kept < len(measured) else ""))
    results: dict[tuple[str, object], Resolved] = {}
    bar = runner.bar
    bar.set_description("firmness")
    bar.total += kept * (1 if extensive else 2 * n)
    saved = runner.time_limit
    runner.time_limit = limit
    try:
        for key in measured[:kept]:
            keep = committed_halls(plan, key)
            resolve = _extensive if extensive else _decomposed
            results[("forbid", key)] = resolve(plan, key, keep, context)
    finally:
        runner.time_limit = saved
    tol = tolerance_of(plan, tolerance) * max(abs(plan.objective_musd), 1e-9)
    rows = {key: label_start(plan.first_stage[key], committed_halls(plan, key),
                             results.get(("forbid", key)), plan.objective_musd,
                             plan.bound_musd, tol) for key in keys}
    plan.firmness = rows
    plan.first_stage_decisions = _with_columns(plan, plan.first_stage_decisions, rows, "hall")
    plan.first_stage_upgrades = _with_columns(plan, plan.first_stage_upgrades, rows, None)
    return plan


def _with_columns(plan: RobustPlan, frame: pd.DataFrame, rows: dict[FirstKey, dict],
                  kind: str | None) -> pd.DataFrame:
    """`frame` (FirstStage's hall rows, or its upgrade rows) with FIRMNESS_COLUMNS added."""
    t_of = plan.portfolio.t_of
    out = frame.copy()
    keys = [("hall", r.site, r.option, t_of(r.start_quarter)) if kind == "hall" else
            (r.kind, r.site, "", t_of(r.start_quarter)) for r in frame.itertuples(index=False)]
    for column in FIRMNESS_COLUMNS:
        source = "note" if column == "firmness_note" else column
        values = [rows.get(k, {}).get(source) for k in keys]
        out[column] = pd.Series(values, index=out.index, dtype=object)
    for column in ("npv_cost_musd", "npv_cost_at_least_musd", "npv_cost_at_most_musd",
                   "tolerance_musd"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
    return out


def _start_of(result: RecourseResult, key: FirstKey, keep: float, econ: Economics
              ) -> dict[FirstKey, float]:
    """One future's robust solution with the forbidden units moved one quarter (to a start
    candidate of that future)."""
    return moved_start(dict(result.starts), key, keep, list(econ.candidate_index().by_key))


def _extensive(plan: RobustPlan, key: FirstKey, keep: float, context: MethodContext
               ) -> Resolved:
    """The extensive form with `key` forbidden beyond `keep` units (kept whole in the store)."""
    runner = context.runner
    return runner.remember(f"firmness extensive {key} {keep:g} {runner.time_limit!r}",
                           lambda: _solve_extensive(plan, key, keep, context))


def _solve_extensive(plan: RobustPlan, key: FirstKey, keep: float, context: MethodContext
                     ) -> Resolved:
    from optimizer.robust.methods import extensive_answer, extensive_outcome

    econs, weights, runner = context.econs, context.weights, context.runner
    start = [_start_of(result, key, keep, econ)
             for result, econ in zip(plan.robust_results, econs, strict=True)]
    k = plan.commit_quarters
    try:
        model, outcome, capped = extensive_outcome(
            econs, weights, k, plan.risk_weight, plan.cvar_level, start, runner,
            context.ws_bound, forbidden=(key, keep))
        runner.capped += capped
        runner.bar.update(1)
        if not has_plan(outcome.status):
            return Resolved(status=outcome.status, termination=outcome.termination,
                            bound=outcome.bound)
        _, npvs, _ = extensive_answer(model, econs, weights, k, plan.risk_weight,
                                      plan.cvar_level, outcome)
    except Exception as err:  # a failed re-solve is a row, not a failed run
        return Resolved(status=Status.ERROR, termination=Termination.ERROR,
                        error=f"{type(err).__name__}: {err}")
    value = objective_value(npvs, weights, plan.risk_weight, plan.cvar_level)
    return Resolved(status=outcome.status, termination=outcome.termination, objective=value,
                    bound=max(float(outcome.bound), value), npv=value)


def _decomposed(plan: RobustPlan, key: FirstKey, keep: float, context: MethodContext
                ) -> Resolved:
    """The robust first stage with `key` moved, in every future; each future alone without
    `key` (beyond `keep`): value and bound (module docstring)."""
    cases, econs, weights, runner = context.cases, context.econs, context.weights, context.runner
    k = plan.commit_quarters
    moved = [_start_of(result, key, keep, econ)
             for result, econ in zip(plan.robust_results, econs, strict=True)]
    starts = [tuple(sorted((c, v) for c, v in m.items() if v > 0.5)) for m in moved]
    moved_first = {c: v for c, v in moved[0].items() if 0 <= c[3] < k and v > 0.5}
    tasks = [runner.task(f"firmness {key} moved, future {i + 1}", i, c.portfolio,
                         moved_first, starts[i]) for i, c in enumerate(cases)]
    tasks += [RecourseTask(f"firmness {key} forbidden, future {i + 1} alone", i, c.portfolio,
                           k, None, runner.time_limit, runner.mip_gap, runner.seed,
                           starts[i], deadline=runner.budget.deadline, forbid=(key, keep))
              for i, c in enumerate(cases)]
    done = run_tasks(tasks, workers=runner.workers, dask_address=runner.dask_address,
                     bar=runner.bar, store=runner.store)
    runner.capped += sum(r.capped for r in done)
    evaluated, alone = done[:len(cases)], done[len(cases):]
    failed = [r for r in done if r.status == "error"]
    if any(r.status == "infeasible" for r in alone):
        return Resolved(status=Status.INFEASIBLE, termination=Termination.INFEASIBLE)
    bounds = [r.bound if r.has_plan else math.inf for r in alone]
    bound = objective_value(bounds, weights, plan.risk_weight, plan.cvar_level) \
        if all(math.isfinite(b) for b in bounds) else math.nan
    if failed or not all(r.has_plan for r in evaluated):
        error = f"{failed[0].label}: {failed[0].message.splitlines()[0]}" if failed else ""
        return Resolved(status=Status.NO_SOLUTION, termination=Termination.UNKNOWN,
                        bound=bound, error=error or "the start moved one quarter breaks a "
                        "limit in some future")
    value = objective_value([r.npv for r in evaluated], weights, plan.risk_weight,
                            plan.cvar_level)
    bound = max(bound, value) if math.isfinite(bound) else bound
    proven = math.isfinite(bound) and relative_gap(value, bound) <= runner.mip_gap
    return Resolved(status=Status.OPTIMAL if proven else Status.FEASIBLE,
                    termination=Termination.OPTIMAL if proven else Termination.TIME_LIMIT,
                    objective=value, bound=bound, npv=value)


def firmness_lines(plan: RobustPlan) -> list[str]:
    """For the console and the Summary: `Commit now (firm): ...; open: ...`, then each
    start's cost of not making it, across the futures."""
    from optimizer.replan.replan import cost_phrase

    rows = plan.firmness
    if rows is None:
        return []
    labels = plan.portfolio.quarter_labels

    def words(key: FirstKey) -> str:
        kind, site, option, tau = key
        return start_words(kind, site, option, labels[tau], plan.first_stage[key])

    keys = commit_now(plan)
    firm = [words(k) for k in keys if rows[k]["firmness"] in ("firm", "committed")]
    open_ = [words(k) for k in keys if rows[k]["firmness"] == "open"]
    out = [f"Commit now (firm across the futures): {', '.join(firm) or 'none'}; open: "
           f"{', '.join(open_) or 'none'}"]
    if keys:
        tol = _number(rows[keys[0]]["tolerance_musd"]) or 0.0
        out.append(f"  (the robust objective's tolerance {money(tol)}; {plan.firmness_phase})")
    for k in keys:
        r = rows[k]
        if r["firmness"] == "committed":
            continue
        cost = cost_phrase(_number(r["npv_cost_at_least_musd"]),
                           _number(r["npv_cost_at_most_musd"]), _number(r["npv_cost_musd"]))
        out.append(f"  {words(k)}: {r['firmness']}{'' if r['proven'] else ' (not proven)'}; "
                   f"across the futures, not making it {cost}")
    return out


def _number(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None
