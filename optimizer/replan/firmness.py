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
free (`resolve`), then on the whole model. Each end is proven, or a range: the re-solve's plan
gives one end (`earliest_first_start`), the whole model's bound the other
(`earliest_no_sooner_than`: no plan within the tolerance starts it sooner).

Alternatives (MGA). Up to N plans within the tolerance that differ most from this plan and from
each other: each re-solve maximises the hall-quarters in which it differs from every plan found
so far (`models.firmness.add_difference_objective`), ties going to the higher NPV, started
from the window re-solves' plan that differs most from them. The search stops early when the
best re-solve differs in no hall-quarter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from models.conversion import build_model
from models.decisions import Decisions
from models.economics import Economics, build_economics, evaluate, objective_npv
from models.firmness import (
    Profile,
    add_difference_objective,
    add_first_start_objective,
    add_npv_floor,
    difference_values,
    first_start_quarter,
    first_start_values,
    forbid,
    hall_quarters_different,
    moved_start,
    profile_of,
)
from models.portfolio import Portfolio
from models.robust import FirstKey, start_variables
from optimizer.money import money
from optimizer.parallel import run_all
from optimizer.plan import DECISION_COLUMNS, Plan
from optimizer.progress import Reporter
from optimizer.solve.audit import audited_solution
from optimizer.solve.frames import plan_frames
from optimizer.solve.highs import HighsRunner
from optimizer.solve.options import SolverOptions
from optimizer.status import Status, Termination, has_plan

DEFAULT_TOLERANCE = 0.005  # of |NPV|, when Settings firmness_tolerance is blank (or the gap)
DEFAULT_ALTERNATIVES = 2  # `sitepivot plan --alternatives` default
FIRMNESS_SHARE = 0.25  # of a `plan` run's time limit, the firmness phase's budget
RESOLVE_SECONDS = 15.0  # each re-solve's time limit when no budget is given (or the most)
MIN_RESOLVE_SECONDS = 1.0  # a budget split gives no re-solve less than this: tasks are dropped
SOLVE_SHARE = 0.8  # of each re-solve's share of the budget, the solver's limit, less
RESOLVE_OVERHEAD = 1.0  # seconds: the rest builds the model(s) and loads the start (measured:
# 0.6 s a build on the sample of 10 sites x 40 quarters, unloaded; a window re-solve builds two)
FLOOR_SLACK = 1e-7  # relative: the NPV floor sits this far below, so the plan itself passes

FIRMNESS_COLUMNS = ["kind", "site", "option", "start_quarter", "units", "committed_units",
                    "firmness", "proven",
                    "npv_cost_musd", "npv_cost_at_least_musd", "npv_cost_at_most_musd",
                    "tolerance_musd", "note"]
WINDOW_COLUMNS = ["site", "plan_first_start", "earliest_first_start", "earliest_no_sooner_than",
                  "latest_first_start", "latest_no_later_than", "window_quarters", "proven",
                  "note"]
ALTERNATIVE_COLUMNS = ["alternative", "npv_musd", "vs_plan_musd", "gap_to_best",
                       "hall_quarters_different", "description"]
ALTERNATIVE_DECISION_COLUMNS = ["alternative", *DECISION_COLUMNS]


# ---- one re-solve ---------------------------------------------------------------------------
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


def _failed(task: Task, error: BaseException) -> Resolved:
    return Resolved(status=Status.ERROR, termination=Termination.ERROR,
                    error=f"{type(error).__name__}: {error}")


# ---- the phase ------------------------------------------------------------------------------
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


class PlanLike(Protocol):
    """What the tolerance and the commitments are read from: a Plan or a RobustPlan."""

    @property
    def portfolio(self) -> Portfolio: ...

    @property
    def gap(self) -> float: ...


def tolerance_of(plan: PlanLike, tolerance: float | None = None) -> float:
    """The tolerance as a share of |NPV|: the argument, else Settings firmness_tolerance, else
    the larger of the plan's gap and DEFAULT_TOLERANCE."""
    if tolerance is None:
        tolerance = plan.portfolio.settings.firmness_tolerance
    if tolerance is None:
        gap = plan.gap if math.isfinite(plan.gap) else 0.0
        tolerance = max(gap, DEFAULT_TOLERANCE)
    return float(tolerance)


@dataclass
class Context:
    """The plan's figures every table reads."""

    plan: Plan
    econ: Economics
    shared: Shared
    npv: float  # the plan's objective NPV, $M
    tol: float  # $M
    commit_quarters: int
    first_start: dict[int, int] = field(default_factory=dict)  # site -> plan's first start t


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


def committed_halls(plan: PlanLike, key: FirstKey) -> float:
    """Halls the workbook's Commitments require at a hall start's (site, option or any
    option, quarter); 0 for upgrades and uncommitted starts."""
    kind, site, option, tau = key
    c = plan.portfolio.commitments
    if kind != "hall" or not len(c):
        return 0.0
    rows = c[(c["action"] == "start") & (c["site"] == site)]
    return float(sum(h for q, o, h in zip(rows["quarter"], rows["option"], rows["halls"],
                                          strict=True)
                     if plan.portfolio.t_of(q) == tau and (not isinstance(o, str) or o == option)))


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

        run_all(resolve, ctx.shared, parallel, record=record, failed=_failed,
                workers=workers, dask_address=dask_address)
    if firmness:
        plan.firmness = _firmness_frame(ctx, first, results)
        plan.timing_windows = _windows_frame(ctx, window_sites, results)
    if alternatives > 0:
        pool = [r.decisions for r in results.values() if r.decisions is not None]
        plan.alternatives, plan.alternative_decisions = _alternatives(
            ctx, n_alts, alternatives, limit, pool, progress)
    return plan


# ---- firmness -------------------------------------------------------------------------------
def start_words(kind: str, site: str, option: str, quarter: str, units: float) -> str:
    """`3 dlc hall(s) at Corsicana in 2027Q1`, `2 cooling module(s) at ...`."""
    n = round(units)
    what = {"hall": f"{option} hall{'s' if n != 1 else ''}",
            "cooling": f"cooling module{'s' if n != 1 else ''}",
            "power": "power upgrade"}[kind]
    return f"{'' if kind == 'power' else f'{n} '}{what} at {site} in {quarter}"


def _firmness_frame(ctx: Context, first: dict[FirstKey, float],
                    results: dict[tuple[str, object], Resolved]) -> pd.DataFrame:
    labels = ctx.plan.portfolio.quarter_labels
    rows = []
    for key in sorted(first, key=lambda k: (k[3], k[1], k[0], k[2])):
        kind, site, option, tau = key
        keep = committed_halls(ctx.plan, key)
        row: dict[str, object] = {
            "kind": kind, "site": site, "option": option or None, "start_quarter": labels[tau],
            "units": first[key], "committed_units": keep}
        row.update(label_start(first[key], keep, results.get(("forbid", key)), ctx.npv,
                               ctx.plan.bound_musd, ctx.tol))
        rows.append(row)
    return pd.DataFrame(rows, columns=FIRMNESS_COLUMNS)


def label_start(units: float, keep: float, r: Resolved | None, value: float, bound: float,
                tol: float) -> dict[str, object]:
    """The Firmness columns of one commit-now start of `units` (`keep` of them committed)
    from its forbid re-solve `r` (None: not run), against the plan's `value` and proven
    `bound` and the tolerance `tol` (all $M, in the objective's units: the NPV of a plan,
    the robust objective of a robust plan). Not making it costs at least value less the
    re-solve's bound (or `bound`, if lower), at most value less the re-solve's plan:
    `firm` when the least exceeds tol, `open` (proven) when the most is within it, else
    `open`, not proven. Infeasible without it: `firm`. A start committed in full:
    `committed`."""
    from optimizer.replan.replan import cost_phrase

    row: dict[str, object] = {"tolerance_musd": tol, "proven": False, "npv_cost_musd": None,
                              "npv_cost_at_least_musd": None, "npv_cost_at_most_musd": None}
    if keep >= units:
        row.update(firmness="committed", proven=True,
                   note="a start the workbook's Commitments require: decided already")
        return row
    beyond = (f"{units - keep:g} of its {units:g} halls beyond the {keep:g} "
              "committed; " if keep > 0 else "")
    if r is None:
        row.update(firmness="open", note="not measured: the phase's time budget ran out "
                   "before this re-solve (raise the time limit)")
        return row
    if r.status == Status.INFEASIBLE:
        row.update(firmness="firm", proven=True, npv_cost_at_least_musd=math.inf,
                   note=f"{beyond}no plan satisfies the constraints without it")
        return row
    at_most = value - r.npv if r.planned else math.inf
    bounds = [b for b in (r.bound, bound) if math.isfinite(b)]
    at_least = max(0.0, value - min(bounds)) if bounds else 0.0
    point = at_most if r.status == Status.OPTIMAL else None
    row.update(npv_cost_at_least_musd=at_least,
               npv_cost_at_most_musd=at_most if math.isfinite(at_most) else None,
               npv_cost_musd=point)
    phrase = cost_phrase(at_least, at_most if math.isfinite(at_most) else None, point)
    tolerance = f"the tolerance {money(tol)}"
    if at_least > tol:
        row.update(firmness="firm", proven=True,
                   note=f"{beyond}not making it {phrase}: more than {tolerance}; every plan "
                   "within the tolerance makes it")
    elif at_most <= tol:
        row.update(firmness="open", proven=True,
                   note=f"{beyond}not making it {phrase}: a plan within {tolerance} does "
                   "without it")
    else:
        how = (r.error or f"no plan found ({r.termination})") if not r.planned else \
            f"re-solve stopped ({r.termination})"
        row.update(firmness="open", proven=False,
                   note=f"{beyond}not proven: not making it {phrase}, around {tolerance}; {how}")
    return row


# ---- timing windows -------------------------------------------------------------------------
def _window_end(ctx: Context, r: Resolved | None, s: int, latest: bool) -> tuple[int, int, str]:
    """(quarter found, quarter the bound allows, note) of one end of site s's window; the
    plan's own first start when the re-solve found nothing better."""
    horizon = ctx.econ.horizon
    plan_t = ctx.first_start[s]
    extreme = horizon - 1 if latest else 0
    if r is None:
        return plan_t, extreme, "not measured (the phase's time budget)"
    if not r.planned:
        note = r.error or f"re-solve found no plan ({r.termination})"
        bound_t = extreme
    else:
        note = ""
    found = plan_t
    if r.planned:
        t = first_start_quarter(horizon, -r.objective if latest else r.objective)
        found = max(t, plan_t) if latest else min(t, plan_t)
    if math.isfinite(r.bound):
        if latest:  # -sum b <= bound: sum b >= ceil(-bound)
            bound_t = first_start_quarter(horizon, math.ceil(-r.bound - 1e-6))
        else:  # sum b <= floor(bound)
            bound_t = first_start_quarter(horizon, math.floor(r.bound + 1e-6))
    elif r.planned:
        bound_t = extreme
    bound_t = max(bound_t, found) if latest else min(bound_t, found)
    if bound_t != found and not note:
        labels = ctx.plan.portfolio.quarter_labels
        note = (f"not proven: the re-solve stopped ({r.termination}) with {labels[found]} "
                f"found and {labels[bound_t]} not ruled out by its bound, "
                f"{abs(found - bound_t)} quarter(s) apart")
    return found, bound_t, note


def _windows_frame(ctx: Context, sites: Sequence[int],
                   results: dict[tuple[str, object], Resolved]) -> pd.DataFrame:
    pf = ctx.plan.portfolio
    labels, names = pf.quarter_labels, pf.site_names
    rows = []
    for s in sites:
        early, early_bound, early_note = _window_end(ctx, results.get(("earliest", s)), s,
                                                     latest=False)
        late, late_bound, late_note = _window_end(ctx, results.get(("latest", s)), s,
                                                  latest=True)
        notes = [f"earliest: {early_note}" if early_note else "",
                 f"latest: {late_note}" if late_note else ""]
        rows.append({"site": names[s], "plan_first_start": labels[ctx.first_start[s]],
                     "earliest_first_start": labels[early],
                     "earliest_no_sooner_than": labels[early_bound],
                     "latest_first_start": labels[late],
                     "latest_no_later_than": labels[late_bound],
                     "window_quarters": late - early,
                     "proven": early == early_bound and late == late_bound,
                     "note": "; ".join(n for n in notes if n)})
    return pd.DataFrame(rows, columns=WINDOW_COLUMNS)


# ---- alternatives ---------------------------------------------------------------------------
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
            r = _failed(task, err)
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


ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
            "ninth", "tenth")


def _ordinal(n: int) -> str:
    return ORDINALS[n - 1] if 1 <= n <= len(ORDINALS) else f"{n}th"


def _by_site(decisions: pd.DataFrame) -> dict[str, tuple[str, int]]:
    """site -> (first start quarter, halls) of a Decisions frame."""
    if not len(decisions):
        return {}
    g = decisions.groupby("site")
    return {s: (str(q), int(h)) for s, q, h in zip(g.size().index, g["start_quarter"].min(),
                                                   g["halls"].sum(), strict=True)}


def describe_difference(plan: pd.DataFrame, other: pd.DataFrame, sites: Sequence[str]) -> str:
    """What `other` does differently from `plan`, in business words, site by site: "starts
    Childress in 2029Q3 instead of Corsicana's fourth hall", "starts Pecos in 2030Q1 instead
    of 2032Q2", "builds 2 halls at Odessa instead of 3", "leaves Pecos mining"."""
    a, b = _by_site(plan), _by_site(other)
    gains: list[str] = []
    losses: list[tuple[str, int, int]] = []  # site, halls in the plan, halls in the other
    moves: list[str] = []
    for s in sites:
        if s in b and s not in a:
            gains.append(f"starts {s} in {b[s][0]} ({b[s][1]} hall{'s' if b[s][1] != 1 else ''})")
        elif s in a and s not in b:
            moves.append(f"leaves {s} mining (the plan starts it in {a[s][0]})")
        elif s in a and s in b:
            (qa, ha), (qb, hb) = a[s], b[s]
            if qa != qb:
                moves.append(f"starts {s} in {qb} instead of {qa}")
            if hb > ha:
                gains.append(f"builds {hb} halls at {s} instead of {ha}")
            elif hb < ha:
                losses.append((s, ha, hb))
    if len(gains) == 1 and len(losses) == 1 and losses[0][1] - losses[0][2] == 1:
        site, ha, _ = losses[0]
        gains = [f"{gains[0]} instead of {site}'s {_ordinal(ha)} hall"]
        losses = []
    words = gains + moves + [f"builds {hb} hall{'s' if hb != 1 else ''} at {s} instead of {ha}"
                             for s, ha, hb in losses]
    if not words:
        words = ["the same sites, first starts and halls; other options or later starts"]
    text = "; ".join(words)
    return text[0].upper() + text[1:]


# ---- the public API -------------------------------------------------------------------------
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


# ---- the console ----------------------------------------------------------------------------
def firmness_text(plan: Plan) -> str:
    """For the terminal: the headline "Commit now (firm): ...; open: ...; later starts can move
    within: ...", then each commit-now start's cost, and the alternatives."""
    from optimizer.replan.replan import cost_phrase

    out: list[str] = []
    f, w = plan.firmness, plan.timing_windows
    if f is not None and w is not None:
        def words(rows: pd.DataFrame) -> str:
            return ", ".join(start_words(r.kind, r.site, r.option, r.start_quarter, r.units)
                             + (" (committed)" if r.firmness == "committed"
                                else f" ({r.committed_units:g} committed)"
                                if 0 < r.committed_units < r.units else "")
                             for r in rows.itertuples(index=False)) or "none"

        firm = f[f["firmness"].isin(["firm", "committed"])]
        open_ = f[f["firmness"] == "open"]
        k = plan.portfolio.settings.commit_quarters
        out.append(f"Commit now (firm): {words(firm)}; open: {words(open_)}; later starts can "
                   f"move within: {window_words(plan, k)}")
        if len(f):
            out.append(f"  (commit window: the first {k} quarters; tolerance "
                       f"{money(float(f['tolerance_musd'].iloc[0]))} of NPV)")
        for r in f.itertuples(index=False):
            if r.firmness == "committed":
                continue
            cost = cost_phrase(_num(r.npv_cost_at_least_musd), _num(r.npv_cost_at_most_musd),
                               _num(r.npv_cost_musd))
            out.append(f"  {start_words(r.kind, r.site, r.option, r.start_quarter, r.units)}: "
                       f"{r.firmness}{'' if r.proven else ' (not proven)'}; not making it "
                       f"{cost}")
    a = plan.alternatives
    if a is not None and len(a):
        out += ["", "Alternatives within the tolerance:"]
        for r in a.itertuples(index=False):
            if pd.isna(r.npv_musd):
                out.append(f"  {r.alternative}: {r.description}")
            else:
                out.append(f"  {r.alternative}: NPV {money(r.npv_musd)} ({money(r.vs_plan_musd)} "
                           f"vs this plan, gap to the best {r.gap_to_best:.2%}): "
                           f"{r.description}")
    return "\n".join(out)


HEADLINE_WINDOWS = 6  # the headline names at most this many sites' windows, widest first


def window_words(plan: Plan, commit_quarters: int) -> str:
    """`Childress 2029Q3-2033Q4, Pecos 2031Q1-2031Q2 (2030Q1-2036Q4 not ruled out)`: the
    windows of the sites whose first start in the plan is after the commit window and can
    move (or is not proven fixed), widest first."""
    w = plan.timing_windows
    if w is None:
        return "not computed"
    t_of = plan.portfolio.t_of
    later = w.loc[np.array([t_of(q) >= commit_quarters for q in w["plan_first_start"]],
                           dtype=bool)].copy()
    later["span"] = [t_of(b) - t_of(a) for a, b in zip(later["earliest_no_sooner_than"],
                                                        later["latest_no_later_than"],
                                                        strict=True)]
    later = later[later["span"] > 0].sort_values(["span", "window_quarters", "site"],
                                                 ascending=[False, False, True])
    parts = []
    for r in later.itertuples(index=False):
        found = (f"{r.earliest_first_start}-{r.latest_first_start}" if r.window_quarters > 0
                 else f"{r.earliest_first_start}")
        parts.append(f"{r.site} {found}" + ("" if r.proven else
                                             f" ({r.earliest_no_sooner_than}-"
                                             f"{r.latest_no_later_than} not ruled out)"))
    if len(parts) > HEADLINE_WINDOWS:
        more = f"{len(parts) - HEADLINE_WINDOWS} more (Firmness sheet)"
        parts = [*parts[:HEADLINE_WINDOWS], more]
    return ", ".join(parts) or "none"


def _num(value: object) -> float | None:
    if value is None or pd.isna(value):
        return None
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None
