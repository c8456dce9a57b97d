"""What to commit now: which of the plan's first decisions are firm, how far each site's first
start can move, and near-optimal alternatives.

All of it is re-solves of the plan's own MILP (`models.conversion`) with the rows and objectives
of `models.firmness`, each started from the plan, each with the solver options of the plan
(`SolverOptions.from_settings` with the plan's requested gap) and a time limit split up front
from the phase's budget (`split_budget`): nothing here decides by the clock while it runs.

Tolerance. "Plans within the tolerance" are the plans whose NPV (the objective's: the equity
NPV under objective = equity_npv) is at least this plan's less tol = `firmness_tolerance` x
|NPV| (Settings `firmness_tolerance`, default the larger of the plan's gap and
DEFAULT_TOLERANCE). This plan's NPV stands for the best: it is the best plan known.

Firmness of the commit-now decisions. The commit window is the first K quarters (Settings
`commit_quarters`, default 4, as for robust plans). For each hall start (site, option, quarter)
and each upgrade start (cooling modules or the power upgrade at a site in a quarter) of the plan
in the window, the start is forbidden (a partly committed start: its halls beyond the
commitment) and the plan re-solved, from the plan with the forbidden units moved one quarter
(`models.firmness.moved_start`). Not making it costs at most this
NPV less the re-solve's plan, at least this NPV less the re-solve's bound (or the plan's own, if
lower: forbidding never raises the optimum); a point when the re-solve is proven optimal.
- `firm`: even the least it costs is more than tol: every plan within the tolerance makes it.
- `open`: another plan within the tolerance does without it (it costs at most tol), or the
  re-solve could not tell (`proven` False: the note gives the range).
Starts the workbook's Commitments require in full are listed as `committed`, without a
re-solve.
(The issue asked for the plan's own gap as the threshold; the tolerance is at least that gap by
default, and only with the tolerance does `firm` mean "in every plan within the tolerance".)

Timing windows. For each site with a start in the plan, the earliest and the latest quarter of
its first start among plans within the tolerance that start it: two re-solves under an NPV
floor (`models.firmness.add_first_start_objective`), each first with only that site's starts
free (`optimizer.replan.resolve`), then on the whole model. Each end is proven, or a range:
the re-solve's plan gives one end (`earliest_first_start`), the whole model's bound the other
(`earliest_no_sooner_than`: no plan within the tolerance starts it sooner).

Alternatives (MGA). Up to N plans within the tolerance that differ most from this plan and from
each other: each re-solve maximises the hall-quarters in which it differs from every plan found
so far (`models.firmness.add_difference_objective`), ties going to the higher NPV, started
from the window re-solves' plan that differs most from them. The search stops early when the
best re-solve differs in no hall-quarter.

This module runs the phase (`assess`; `firmness` and `alternatives` for the API); one re-solve is
`optimizer.replan.resolve`, the tables are assembled in `optimizer.replan.firmness_tables` and
worded in `optimizer.replan.firmness_words`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from models.decisions import Decisions
from models.economics import build_economics, evaluate, objective_npv
from models.firmness import Profile, hall_quarters_different, profile_of
from optimizer.parallel import run_all
from optimizer.plan import DECISION_COLUMNS, Plan
from optimizer.progress import Reporter
from optimizer.replan.firmness_tables import (
    ALTERNATIVE_COLUMNS,
    ALTERNATIVE_DECISION_COLUMNS,
    Context,
    PlanLike,
    committed_halls,
    firmness_frame,
    windows_frame,
)
from optimizer.replan.firmness_words import describe_difference
from optimizer.replan.resolve import (
    Resolved,
    Shared,
    Task,
    failed,
    profile_of_decisions,
    resolve,
    start_of,
)
from optimizer.solve.frames import plan_frames
from optimizer.solve.options import SolverOptions
from optimizer.status import Status

DEFAULT_TOLERANCE = 0.005  # of |NPV|, when Settings firmness_tolerance is blank (or the gap)
DEFAULT_ALTERNATIVES = 2  # `sitepivot plan --alternatives` default
FIRMNESS_SHARE = 0.25  # of a `plan` run's time limit, the firmness phase's budget
RESOLVE_SECONDS = 15.0  # each re-solve's time limit when no budget is given (or the most)
MIN_RESOLVE_SECONDS = 1.0  # a budget split gives no re-solve less than this: tasks are dropped
SOLVE_SHARE = 0.8  # of each re-solve's share of the budget, the solver's limit, less
RESOLVE_OVERHEAD = 1.0  # seconds: the rest builds the model(s) and loads the start (measured:
# 0.6 s a build on the sample of 10 sites x 40 quarters, unloaded; a window re-solve builds two)
FLOOR_SLACK = 1e-7  # relative: the NPV floor sits this far below, so the plan itself passes


def split_budget(tasks: int, alternatives: int, budget: float | None, workers: int = 1,
                 seconds: float = RESOLVE_SECONDS) -> tuple[int, int, float]:
    """(parallel tasks kept, alternatives kept, each re-solve's time limit): `tasks`
    independent re-solves run `workers` at a time, then `alternatives` one after another, in
    `budget` seconds (None: each gets `seconds`). Each gets SOLVE_SHARE of an equal share
    less RESOLVE_OVERHEAD, at most `seconds`; while that is below MIN_RESOLVE_SECONDS,
    alternatives and then the last tasks are dropped."""
    if budget is None:
        return tasks, alternatives, seconds
    workers = max(1, workers)
    while tasks + alternatives > 0:
        rounds = math.ceil(tasks / workers) + alternatives
        limit = SOLVE_SHARE * budget / rounds - RESOLVE_OVERHEAD
        if limit >= MIN_RESOLVE_SECONDS:
            return tasks, alternatives, min(seconds, limit)
        if alternatives > 0:
            alternatives -= 1
        else:
            tasks -= 1
    return 0, 0, 0.0


def tolerance_of(plan: PlanLike, tolerance: float | None = None) -> float:
    """The tolerance as a share of |NPV|: the argument, else Settings firmness_tolerance, else
    the larger of the plan's gap and DEFAULT_TOLERANCE."""
    if tolerance is None:
        tolerance = plan.portfolio.settings.firmness_tolerance
    if tolerance is None:
        gap = plan.gap if math.isfinite(plan.gap) else 0.0
        tolerance = max(gap, DEFAULT_TOLERANCE)
    return float(tolerance)


def _context(plan: Plan, tolerance: float | None, commit_quarters: int | None,
             threads: int | None) -> Context:
    from optimizer.robust.subproblems import plan_starts

    pf = plan.portfolio
    econ = build_economics(pf)
    npv = plan.objective_npv_musd
    tol = tolerance_of(plan, tolerance) * max(abs(npv), 1e-9)
    floor = npv - tol - FLOOR_SLACK * max(1.0, abs(npv))
    sites = {n: i for i, n in enumerate(pf.site_names)}
    d = plan.decisions
    taus = [pf.t_of(q) for q in d["start_quarter"]] if len(d) else []
    profile = profile_of(len(sites), econ.horizon, [sites[s] for s in d["site"]], taus,
                         [float(h) for h in d["halls"]])
    bound = plan.bound_musd if math.isfinite(plan.bound_musd) else npv
    span = max(bound - floor, FLOOR_SLACK * max(1.0, abs(npv)))
    options = SolverOptions.from_settings(pf.settings, mip_gap=plan.mip_gap_requested,
                                          threads=threads)
    shared = Shared(econ=econ, start=dict(plan_starts(plan)), profile=profile, floor=floor,
                    npv_weight=0.5 / span, options=options)
    ctx = Context(plan=plan, econ=econ, shared=shared, npv=npv, tol=tol,
                  commit_quarters=int(pf.settings.commit_quarters if commit_quarters is None
                                      else commit_quarters))
    for s, t in zip([sites[s] for s in d["site"]], taus, strict=True):
        ctx.first_start[s] = min(t, ctx.first_start.get(s, t))
    return ctx


def assess(plan: Plan, *, alternatives: int = DEFAULT_ALTERNATIVES, firmness: bool = True,
           tolerance: float | None = None, commit_quarters: int | None = None,
           budget: float | None = None, seconds: float = RESOLVE_SECONDS, workers: int = 1,
           dask_address: str | None = None, threads: int | None = None,
           progress: Reporter | None = None) -> Plan:
    """Firmness of the commit-now starts and timing windows (with `firmness`) and up to
    `alternatives` alternatives (module docstring), added to the plan as `plan.firmness`,
    `plan.timing_windows`, `plan.alternatives` and `plan.alternative_decisions`.

    `budget`: the most all of it takes, in seconds, split up front (`split_budget`); None:
    each re-solve takes up to `seconds`. The independent re-solves (firmness and windows) run
    on `workers` local processes or on the Dask scheduler at `dask_address`; alternatives
    one after another in this process. Returns the plan."""
    ctx = _context(plan, tolerance, commit_quarters, threads)
    first = {k: v for k, v in ctx.shared.start.items() if 0 <= k[3] < ctx.commit_quarters}
    keys = [k for k in sorted(first, key=lambda k: (k[3], k[1], k[0], k[2]))
            if committed_halls(plan, k) < first[k]] if firmness else []
    # Later starts first: what may move is what the headline's windows are for.
    window_sites = sorted((s for s, t in ctx.first_start.items() if t >= 0),
                          key=lambda s: (ctx.first_start[s] < ctx.commit_quarters,
                                         ctx.first_start[s], s)) if firmness else []
    parallel = [Task("forbid", 0.0, key=k, keep=committed_halls(plan, k)) for k in keys]
    parallel += [Task(kind, 0.0, site=s) for s in window_sites for kind in ("earliest", "latest")]
    n_tasks, n_alts, limit = split_budget(len(parallel), max(0, alternatives), budget,
                                          max(1, workers), seconds)
    parallel = [Task(t.kind, limit, key=t.key, keep=t.keep, site=t.site)
                for t in parallel[:n_tasks]]
    results: dict[tuple[str, object], Resolved] = {}
    if parallel:
        if progress is not None:
            progress.begin(f"firmness and timing windows: {len(parallel)} re-solves of at most "
                           f"{limit:.3g} s", None if budget is None else
                           math.ceil(len(parallel) / max(1, workers))
                           * (limit + RESOLVE_OVERHEAD) / SOLVE_SHARE)

        def record(i: int, result: Resolved) -> None:
            task = parallel[i]
            results[(task.kind, task.key if task.kind == "forbid" else task.site)] = result

        run_all(resolve, ctx.shared, parallel, record=record, failed=failed,
                workers=workers, dask_address=dask_address)
    if firmness:
        plan.firmness = firmness_frame(ctx, first, results)
        plan.timing_windows = windows_frame(ctx, window_sites, results)
    if alternatives > 0:
        pool = [r.decisions for r in results.values() if r.decisions is not None]
        plan.alternatives, plan.alternative_decisions = _alternatives(
            ctx, n_alts, alternatives, limit, pool, progress)
    return plan


def _alternatives(ctx: Context, n: int, asked: int, limit: float, pool: list[Decisions],
                  progress: Reporter | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Up to n MGA alternatives (module docstring): the summary and their decisions. Each
    re-solve starts from the plan of `pool` (the window re-solves' plans, all within the
    tolerance) that differs most from those found so far, else from this plan."""
    econ, plan = ctx.econ, ctx.plan
    found: list[Profile] = [ctx.shared.profile]
    summary: list[dict[str, object]] = []
    decisions: list[pd.DataFrame] = []
    profiles = [profile_of_decisions(econ, d) for d in pool]
    for i in range(n):
        if progress is not None:
            progress.begin(f"alternative {i + 1}/{n} (most different plan within the tolerance)",
                           (limit + RESOLVE_OVERHEAD) / SOLVE_SHARE)
        scores = [hall_quarters_different(p, found) for p in profiles]
        best = int(np.argmax(scores)) if scores and max(scores) > 0 else None
        task = Task("alternative", limit, found=tuple(found),
                    start=None if best is None else start_of(econ, pool[best]),
                    profile=None if best is None else profiles[best])
        try:
            r = resolve(ctx.shared, task)
        except Exception as err:  # a failed re-solve is reported, not raised
            r = failed(task, err)
        if best is not None and (r.decisions is None
                                 or hall_quarters_different(
                                     profile_of_decisions(econ, r.decisions), found)
                                 < scores[best]):
            r.decisions = pool[best]  # the re-solve did not improve on its start
        if r.decisions is None:
            summary.append({"alternative": i + 1, "description": "no alternative found: "
                            + (r.error or f"the re-solve found no plan ({r.termination})")})
            break
        profile = profile_of_decisions(econ, r.decisions)
        different = hall_quarters_different(profile, found)
        if different == 0:
            proven = r.status == Status.OPTIMAL
            summary.append({"alternative": i + 1, "hall_quarters_different": 0,
                            "description": ("no plan within the tolerance differs in a "
                                            "hall-quarter from those above" if proven else
                                            "none found within its time limit that differs "
                                            "in a hall-quarter from those above")})
            break
        valuation = evaluate(econ, r.decisions)
        frames = plan_frames(econ, r.decisions, valuation)
        npv = objective_npv(econ, valuation)
        bound = plan.bound_musd if math.isfinite(plan.bound_musd) else ctx.npv
        summary.append({"alternative": i + 1, "npv_musd": npv, "vs_plan_musd": npv - ctx.npv,
                        "gap_to_best": max(0.0, bound - npv) / max(abs(npv), 1e-9),
                        "hall_quarters_different": different,
                        "description": describe_difference(plan.decisions, frames["decisions"],
                                                           plan.portfolio.site_names)})
        rows = frames["decisions"].reindex(columns=DECISION_COLUMNS)
        rows.insert(0, "alternative", i + 1)
        decisions.append(rows)
        found.append(profile)
    if len(summary) < asked and (not summary or summary[-1].get("npv_musd") is not None):
        summary.append({"alternative": len(summary) + 1, "description": "not searched: the "
                        "phase's time budget ran out (raise the time limit)"})
    table = pd.DataFrame(summary, columns=ALTERNATIVE_COLUMNS)
    chosen = (pd.concat(decisions, ignore_index=True) if decisions
              else pd.DataFrame(columns=ALTERNATIVE_DECISION_COLUMNS))
    return table, chosen[ALTERNATIVE_DECISION_COLUMNS]


def firmness(plan: Plan, *, tolerance: float | None = None, commit_quarters: int | None = None,
             budget: float | None = None, seconds: float = RESOLVE_SECONDS, workers: int = 1,
             dask_address: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Firmness sheet's two tables: the commit-now starts (`FIRMNESS_COLUMNS`) and the
    timing windows (`WINDOW_COLUMNS`, also the Schedule's bands); kept on the plan too."""
    assess(plan, alternatives=0, tolerance=tolerance, commit_quarters=commit_quarters,
           budget=budget, seconds=seconds, workers=workers, dask_address=dask_address)
    assert plan.firmness is not None and plan.timing_windows is not None
    return plan.firmness, plan.timing_windows


def alternatives(plan: Plan, n: int = DEFAULT_ALTERNATIVES, *, tolerance: float | None = None,
                 budget: float | None = None, seconds: float = RESOLVE_SECONDS
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Alternatives sheet's two tables: each alternative's NPV, gap and description
    (`ALTERNATIVE_COLUMNS`), and their starts in Decisions' columns
    (`ALTERNATIVE_DECISION_COLUMNS`); kept on the plan too."""
    assess(plan, alternatives=n, firmness=False, tolerance=tolerance, budget=budget,
           seconds=seconds)
    assert plan.alternatives is not None and plan.alternative_decisions is not None
    return plan.alternatives, plan.alternative_decisions
