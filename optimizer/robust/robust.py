"""`robust()`: a plan that commits now only what holds up across futures.

The story:
1. the futures: the sweep's seeded Monte Carlo draws (equal weights) or the Scenarios sheet
   (its optional ``weight`` column); each is a Portfolio variant (`optimizer.sweeps.scenarios`);
2. the deterministic plan: `optimize` on the workbook as it is (the base forecast);
3. wait-and-see (WS): every future solved alone, with perfect foresight; the mean of their
   proven bounds bounds every plan from above;
4. EEV: the deterministic plan's first stage (its starts in quarters < K) fixed in every future,
   the rest re-optimised;
5. the robust first stage, by one of three methods, each stopping once its plan is within
   mip_gap of the proven bound (wait-and-see's, or the extensive form's own if lower), as a
   MIP stops at its gap:
   - ``extensive``: the two-stage MILP of `models.robust.build_extensive` in HiGHS, started from
     the EEV solutions (the deterministic plan) when they are feasible in every future, else
     from the common core (`common_core`: the first-stage starts every wait-and-see plan makes)
     evaluated in every future, when that is;
   - ``decomposition``: scenario sub-problems only (pool or Dask): the deterministic first
     stage, then the most frequent wait-and-see first stages and the common core are each
     evaluated in every future and the best is kept. No home-made bound: the bound is
     wait-and-see's;
   - ``ph``: progressive hedging (mpi-sppy, `optimizer.robust.ph`) proposes the candidates;
6. the robust first stage is evaluated in every future (recourse re-optimised, started from the
   extensive form's answer), which gives each future's NPV with its own proven bound;
7. metrics (RP, EEV, WS, VSS, EVPI, P10/P50/P90, CVaR, each with its gap), optionally out of
   sample on fresh draws, and the frames of the report.

Every number is in $M. Signs: VSS = RP - EEV >= 0 is what the robust first stage adds over the
deterministic one; EVPI = WS - RP >= 0 is what perfect foresight would add over the robust plan.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from models.economics import Economics, build_economics
from models.errors import InputError, InputProblem, NoSolutionError, SolverError, UsageError
from models.portfolio import Portfolio
from models.quarters import add_quarters
from models.robust import (
    FirstKey,
    build_extensive,
    cvar,
    first_stage_variables,
    objective_value,
    quantile,
    start_variables,
)
from optimizer.budget import (
    START_RESERVE_S,
    RunBudget,
    cut_short,
    solve_overhead_s,
    split_total,
    waves,
)
from optimizer.checkpoint import ResultStore
from optimizer.money import money
from optimizer.parallel import dask_slots
from optimizer.plan import DECISION_COLUMNS, UPGRADE_COLUMNS, Plan
from optimizer.robust.recourse import KeyedStarts, RecourseResult, RecourseTask, run_tasks
from optimizer.solve.audit import audit, audited_solution
from optimizer.solve.frames import decision_rows, upgrade_rows
from optimizer.solve.highs import HighsRunner, relative_gap
from optimizer.solve.optimize import optimize
from optimizer.solve.status import Status, has_plan
from optimizer.sweeps.scenarios import apply_changes, monte_carlo_scenarios, sheet_scenarios

T = TypeVar("T")
METHODS = ("auto", "extensive", "decomposition", "ph")
# `auto` solves the extensive form up to this many scenario-copies of the model's integer
# columns (the sample has 1,273 per future: about 30 futures), and decomposes beyond. Below it
# the extensive form truly optimises the first stage (the decomposition only compares a few
# candidates) in under 2 GB; beyond, with both methods stopping at the gap, the decomposition
# was faster and lighter on the sample: 100 futures in 818 s and 0.8 GB against 1,267 s and
# 2.5 GB, for a plan 0.05% lower (benchmarks/README.md, "Robust plans").
AUTO_EXTENSIVE_COLUMNS = 40_000
MAX_CANDIDATES = 4  # wait-and-see first stages evaluated by the decomposition (besides det.)
OUT_OF_SAMPLE_SEED_OFFSET = 1  # out-of-sample draws use seed + 1: other draws than in-sample

SCENARIO_COLUMNS = [
    "scenario", "weight", "changes", "npv_robust_musd", "npv_deterministic_musd",
    "npv_wait_and_see_musd", "robust_minus_deterministic_musd", "status_robust", "gap_robust",
    "status_deterministic", "gap_deterministic", "status_wait_and_see", "gap_wait_and_see",
    "first_stage_halls", "message"]
DISTRIBUTION_COLUMNS = ["first_stage", "measure", "value_musd", "bound_musd", "gap_musd"]
OUT_OF_SAMPLE_COLUMNS = ["draw", "changes", "npv_robust_musd", "npv_deterministic_musd",
                         "robust_minus_deterministic_musd", "status_robust", "gap_robust",
                         "status_deterministic", "gap_deterministic"]
SUMMARY_COLUMNS = ["metric", "value", "unit", "note"]


@dataclass(frozen=True)
class Future:
    """One scenario of the robust plan: its name, what it changes, weight and portfolio."""

    name: str
    changes: str
    weight: float
    portfolio: Portfolio


@dataclass
class RobustPlan:
    """The answer of `robust()`. The DataFrames are the report's sheets (same columns)."""

    portfolio: Portfolio
    status: str  # optimal (proven within mip_gap) | feasible (gap stated)
    method: str  # extensive | decomposition
    commit_quarters: int
    risk_weight: float
    cvar_level: float
    objective_musd: float  # RP: (1 - W) E[NPV] + W CVaR of the robust first stage
    bound_musd: float  # proven upper bound on RP
    gap: float  # relative (bound - RP) / |RP|
    expected_npv_musd: float
    cvar_npv_musd: float
    eev_musd: float  # the same objective, deterministic first stage (-inf: infeasible somewhere)
    eev_bound_musd: float
    wait_and_see_musd: float
    wait_and_see_bound_musd: float
    vss_musd: float
    vss_low_musd: float  # VSS proven at least this (RP - upper bound of EEV)
    vss_significant: bool
    evpi_musd: float
    evpi_high_musd: float  # EVPI at most this (bound of WS - RP)
    mip_gap_requested: float
    first_stage: dict[FirstKey, float]  # the robust first stage by business key
    deterministic_first_stage: dict[FirstKey, float]
    summary: pd.DataFrame  # SUMMARY_COLUMNS
    first_stage_decisions: pd.DataFrame  # DECISION_COLUMNS (what to commit now: halls)
    first_stage_upgrades: pd.DataFrame  # UPGRADE_COLUMNS (cooling modules, power upgrades)
    deterministic_decisions: pd.DataFrame  # DECISION_COLUMNS, the deterministic first stage
    deterministic_upgrades: pd.DataFrame
    scenarios: pd.DataFrame  # SCENARIO_COLUMNS
    stability: pd.DataFrame  # site, by_<year>_share (weighted share of futures started)
    distribution: pd.DataFrame  # DISTRIBUTION_COLUMNS
    out_of_sample: pd.DataFrame | None  # OUT_OF_SAMPLE_COLUMNS
    account: list[str]  # the plain-language account
    deterministic: Plan
    robust_results: list[RecourseResult] = field(default_factory=list)
    deterministic_results: list[RecourseResult] = field(default_factory=list)
    wait_and_see_results: list[RecourseResult] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    log: str = ""
    budget: RunBudget = field(default_factory=lambda: RunBudget(math.nan))  # time per solve
    capped: int = 0  # solves the whole run's total time cut short: not reproducible
    # The first stage's firmness (`optimizer.robust.firmness`): each start's Firmness columns
    # by key (None: not assessed) and the phase, stated.
    firmness: dict[FirstKey, dict[str, object]] | None = None
    firmness_phase: str = ""

    @property
    def reproducible(self) -> bool:
        """False when the whole run's total time (a wall-clock cap) cut solves short."""
        return self.capped == 0


# ---- the futures ---------------------------------------------------------------------------
def robust_futures(portfolio: Portfolio, *, draws: int | None = None, seed: int | None = None,
                   from_sheet: bool = False) -> list[Future]:
    """The scenarios of a robust plan: `draws` Monte Carlo futures (equal weights, seeded by
    `seed` or Settings random_seed; the sweep's generator), or the Scenarios sheet's named
    scenarios (the unchanged base is not one of them unless the sheet names it) with their
    optional ``weight``. Weights are normalised to sum to 1."""
    if (draws is None) == (not from_sheet):
        raise UsageError("choose the futures: --monte-carlo N or --scenarios")
    if draws is not None:
        rng_seed = portfolio.settings.random_seed if seed is None else int(seed)
        scenarios = monte_carlo_scenarios(portfolio, draws, rng_seed)[1:]
        weights = [1.0] * len(scenarios)
    else:
        scenarios = sheet_scenarios(portfolio)[1:]
        weights = sheet_weights(portfolio, [s.name for s in scenarios])
    total = float(sum(weights))
    return [Future(s.name, s.describe(), w / total, apply_changes(portfolio, s.changes))
            for s, w in zip(scenarios, weights, strict=True)]


def sheet_weights(portfolio: Portfolio, names: Sequence[str]) -> list[float]:
    """Each named scenario's weight from the Scenarios sheet's optional ``weight`` column:
    given on one row of the scenario or the same on each; blank on every scenario means equal
    weights. InputError listing every problem (cells named) otherwise."""
    frame = portfolio.scenarios
    if "weight" not in frame.columns or frame["weight"].isna().all():
        return [1.0] * len(names)
    rows = frame.attrs.get("rows")
    letters = frame.attrs.get("letters") or {}
    sheet = frame.attrs.get("sheet", "Scenarios")

    def cell(i: int) -> str:
        row = rows[i] if rows is not None and i < len(rows) else i + 2
        return f"{letters.get('weight', 'G')}{row}"

    given: dict[str, dict[float, int]] = {}
    for i, (name, w) in enumerate(zip(frame["scenario"].astype(str), frame["weight"],
                                      strict=True)):
        if w is not None and not pd.isna(w):
            given.setdefault(name, {}).setdefault(float(w), i)
    problems: list[InputProblem] = []
    out: list[float] = []
    for name in names:
        values = given.get(name, {})
        if len(values) > 1:
            for w, i in list(values.items())[1:]:
                problems.append(InputProblem(sheet, cell(i), "weight", w,
                                             f"the same weight on every row of scenario "
                                             f"{name!r} (or on one row only)"))
        elif not values:
            first = int(np.flatnonzero(frame["scenario"].astype(str).to_numpy() == name)[0])
            problems.append(InputProblem(sheet, cell(first), "weight", None,
                                         "a weight >= 0: give every scenario a weight, or none"))
        else:
            out.append(next(iter(values)))
    if not problems and sum(out) <= 0:
        problems.append(InputProblem(sheet, cell(0), "weight", 0.0, "at least one weight > 0"))
    if problems:
        raise InputError(problems, portfolio.source)
    return out


# ---- first stages --------------------------------------------------------------------------
def plan_first_stage(plan: Plan, commit_quarters: int) -> dict[FirstKey, float]:
    """A Plan's starts in quarters 0 <= tau < K, by business key."""
    p = plan.portfolio
    out: dict[FirstKey, float] = {}
    for row in plan.decisions.itertuples(index=False):
        tau = p.t_of(row.start_quarter)
        if 0 <= tau < commit_quarters:
            key = ("hall", row.site, row.option, tau)
            out[key] = out.get(key, 0.0) + float(row.halls)
    for row in plan.upgrades.itertuples(index=False):
        tau = p.t_of(row.start_quarter)
        if 0 <= tau < commit_quarters:
            key = (row.kind, row.site, "", tau)
            out[key] = out.get(key, 0.0) + float(row.units)
    return out


def plan_starts(plan: Plan) -> KeyedStarts:
    """Every start of a Plan in quarters >= 0, by business key (a MIP start)."""
    return tuple(sorted(plan_first_stage(plan, 10**9).items()))


def _frozen(first: dict[FirstKey, float]) -> tuple[tuple[FirstKey, float], ...]:
    return tuple(sorted((k, float(v)) for k, v in first.items() if v > 0.5))


# ---- the entry point -----------------------------------------------------------------------
def robust(portfolio: Portfolio, *, draws: int | None = None, from_sheet: bool = False,
           futures: Sequence[Future] | None = None, seed: int | None = None,
           commit_quarters: int | None = None, risk_weight: float = 0.0,
           cvar_level: float = 0.1, out_of_sample: int = 0, time_limit: float | None = None,
           mip_gap: float | None = None, workers: int = 1, dask_address: str | None = None,
           method: str = "auto", progress: bool = True, total_time: float | None = None,
           store: ResultStore | None = None, firmness: bool = True) -> RobustPlan:
    """The robust two-stage plan of a validated Portfolio (see the module docstring).

    Futures: `draws` Monte Carlo draws, or `from_sheet` (the Scenarios sheet), or your own
    `futures`. `commit_quarters` K defaults to Settings commit_quarters. Objective:
    (1 - risk_weight) E[NPV] + risk_weight CVaR_cvar_level (cvar_level: the tail share, 0.1 =
    the worst 10% of futures). `time_limit`/`mip_gap` (default Settings) apply to the extensive
    form and to each scenario sub-problem. `out_of_sample` M > 0 evaluates both first stages
    on M fresh Monte Carlo draws (seed + 1). `workers`/`dask_address` run the sub-problems on a
    process pool / a Dask scheduler. `method`: auto | extensive | decomposition.
    `total_time` (seconds): the whole run's budget, split up front into one time limit for
    every solve (`run_budget`; each at most `time_limit`). `store`
    (`optimizer.checkpoint.open_store`) keeps every finished solve as it completes; solves it
    already holds are not run again, so a resumed run gives the plan of an uninterrupted one.
    `firmness`: then measure which first-stage starts are firm across the futures
    (`optimizer.robust.firmness`; with `total_time`, a FIRMNESS_SHARE of it is that phase's).
    """
    from optimizer.robust.firmness import FIRMNESS_SHARE, assess_first_stage

    if method not in METHODS:
        raise UsageError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if not 0.0 <= risk_weight <= 1.0:
        raise UsageError(f"--risk-weight must be between 0 and 1, not {risk_weight:g}")
    if not 0.0 < cvar_level <= 1.0:
        raise UsageError(f"--cvar-level must be in (0, 1] (the tail share, e.g. 0.1 for the "
                         f"worst 10% of futures), not {cvar_level:g}")
    settings = portfolio.settings
    k = int(settings.commit_quarters if commit_quarters is None else commit_quarters)
    if k < 1:
        raise UsageError(f"--commit-quarters must be at least 1, not {k}")
    limit = settings.time_limit_s if time_limit is None else float(time_limit)
    gap = settings.mip_gap if mip_gap is None else float(mip_gap)
    rng_seed = settings.random_seed if seed is None else int(seed)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    cases = list(futures) if futures is not None else robust_futures(
        portfolio, draws=draws, seed=rng_seed, from_sheet=from_sheet)
    if not cases:
        raise UsageError("a robust plan needs at least one scenario")
    weights = np.array([c.weight for c in cases], dtype=float)
    weights = weights / weights.sum()
    n = len(cases)
    econs = [build_economics(c.portfolio) for c in cases]
    if method == "auto":
        columns = sum(len(e.halls) + len(e.cooling) + len(e.power) for e in econs)
        method = "extensive" if columns <= AUTO_EXTENSIVE_COLUMNS else "decomposition"
    slots = workers if dask_address is None else (
        dask_slots(dask_address) if total_time is not None else 1)
    columns = len(econs[0].halls) + len(econs[0].cooling) + len(econs[0].power)
    share = FIRMNESS_SHARE if firmness and total_time is not None else 0.0
    budget = run_budget(total_time, limit, method, n, out_of_sample, slots, columns,
                        pool=dask_address is None and workers > 1, firmness_share=share)
    bar = _progress_bar(1 + 3 * n + 2 * out_of_sample + 1, progress)
    context = _Run(k, budget.per_solve_s, gap, rng_seed, workers, dask_address, bar, budget,
                   store)
    try:
        bar.set_description("deterministic plan")

        def solve_deterministic() -> tuple[Plan, bool]:
            solve_s, capped = budget.limit_now()
            plan = optimize(portfolio, time_limit=solve_s, mip_gap=gap, threads=1,
                            seed=rng_seed, method="monolithic")
            return plan, cut_short(capped, plan.termination)

        deterministic, det_capped = context.remember("deterministic plan", solve_deterministic)
        context.capped += det_capped
        bar.update(1)
        timings["deterministic"] = time.perf_counter() - clock
        det_first = plan_first_stage(deterministic, k)
        det_start = plan_starts(deterministic)

        clock = time.perf_counter()
        bar.set_description("wait-and-see and EEV")
        tasks = [context.task(f"wait-and-see {i + 1}", i, c.portfolio, None, det_start)
                 for i, c in enumerate(cases)]
        tasks += [context.task(f"EEV {i + 1}", i, c.portfolio, det_first, det_start)
                  for i, c in enumerate(cases)]
        done = context.run(tasks)
        ws, eev = done[:n], done[n:]
        _require_plans(ws, cases, "wait-and-see (each future on its own)")
        timings["wait_and_see_eev"] = time.perf_counter() - clock

        # Wait-and-see's bound on the robust objective: each future's own proven bound, which
        # no shared first stage can beat there. A method stops once its plan is within
        # mip_gap of it (or of the extensive form's own bound), as HiGHS stops at its gap.
        ws_bound = _objective(_values(ws, "bound"), weights, risk_weight, cvar_level)
        clock = time.perf_counter()
        log = ""
        if method == "extensive":
            start_from = eev
            if not all(r.has_plan for r in eev):
                # The deterministic first stage breaks a limit in some future: start from the
                # starts every future's own plan makes (if that holds in every future).
                bar.set_description("common first stage")
                bar.total += n
                core = common_core(ws)
                start_from = context.run([
                    context.task(f"common {i + 1}", i, c.portfolio, core, ws[i].starts)
                    for i, c in enumerate(cases)])
            bar.set_description("extensive form")
            best_first, best, ef_bound, log = _extensive(
                econs, weights, k, risk_weight, cvar_level, start_from, context, cases,
                ws_bound)
        elif method == "ph":
            bar.set_description("progressive hedging")
            best_first, best, ef_bound, log = _progressive_hedging(
                cases, econs, weights, k, risk_weight, cvar_level, det_first, det_start, eev,
                context, ws_bound)
        else:
            bar.set_description("decomposition")
            best_first, best, ef_bound, log = _decomposition(
                cases, weights, k, risk_weight, cvar_level, det_first, eev, ws, context,
                ws_bound)
        bar.update(1)
        timings["robust"] = time.perf_counter() - clock

        oos: pd.DataFrame | None = None
        if out_of_sample:
            clock = time.perf_counter()
            bar.set_description("out of sample")
            oos = _out_of_sample(portfolio, out_of_sample, rng_seed, best_first, det_first,
                                 det_start, context)
            timings["out_of_sample"] = time.perf_counter() - clock
        plan = _assemble(portfolio, cases, weights, k, risk_weight, cvar_level, gap, method,
                         deterministic, det_first, best_first, best, eev, ws, ef_bound, oos,
                         timings, log, budget, context.capped)
        if firmness:
            clock = time.perf_counter()
            assess_first_stage(plan, cases, econs, weights, context,
                               share * total_time if total_time is not None else None,
                               ws_bound)
            plan.capped = context.capped
            plan.timings["firmness"] = time.perf_counter() - clock
            plan.summary = summary_frame(plan)
            plan.account = account_lines(plan)
    finally:
        bar.close()
    return plan


def run_budget(total_time: float | None, time_limit: float, method: str, futures: int,
               out_of_sample: int, slots: int, columns: int = 0, pool: bool = False,
               firmness_share: float = 0.0) -> RunBudget:
    """Each solve's time limit (`optimizer.budget.split_total`), from the waves of solves the
    run makes on `slots` parallel slots: the deterministic plan (1); wait-and-see and EEV (2
    per future); then, by method, the extensive form (itself, 1; its evaluation, 1 per
    future), the decomposition (up to MAX_CANDIDATES + 1 candidates, each 1 per future) or PH
    (its iterations and the first, each 1 per future, serially; then MAX_CANDIDATES
    candidates); the out-of-sample draws (2 each). A method that stops early (within the gap)
    leaves its budget unused. Not counted: the common first stage's solves (1 per future),
    made only when the deterministic first stage breaks a limit in some future; the wall-clock
    cap then cuts them if need be (and says the run is not reproducible). Overhead: each wave's
    `solve_overhead_s` of a future's `columns`, twice for the deterministic plan (its greedy
    plan too) and once per future for the extensive form (one model copy per future).
    `firmness_share` of the total is kept for the firmness phase (split by
    `optimizer.robust.firmness.phase_split` once its re-solves are counted): these solves
    share the rest, and the deadline stays the whole total's."""
    from optimizer.robust.ph import PH_ITERATIONS

    n = futures
    count = 1 + waves(2 * n, slots) + waves(2 * out_of_sample, slots)
    extra = 1  # overhead units beyond one per wave: the deterministic plan's greedy plan
    if method == "extensive":
        count += waves(n, slots) + 1
        extra += n - 1
    elif method == "ph":
        count += (PH_ITERATIONS + 1) * n + MAX_CANDIDATES * waves(n, slots)
    else:
        count += (MAX_CANDIDATES + 1) * waves(n, slots)
    if total_time is None or firmness_share <= 0:
        return split_total(total_time, count, slots, time_limit,
                           overhead_s=(count + extra) * solve_overhead_s(columns),
                           reserve_s=START_RESERVE_S if pool else 0.0)
    rest = total_time * (1.0 - firmness_share)
    try:
        split = split_total(rest, count, slots, time_limit,
                            overhead_s=(count + extra) * solve_overhead_s(columns),
                            reserve_s=START_RESERVE_S if pool else 0.0)
    except UsageError as err:
        raise UsageError(f"--total-time {total_time:g} s keeps {firmness_share:.0%} for the "
                         f"firmness of the first stage (--no-firmness: none); of the rest, "
                         f"{err}") from err
    return dataclasses.replace(split, total_s=float(total_time),
                               deadline=time.time() + float(total_time))


@dataclass
class _Run:
    """Settings every sub-problem of one robust run shares, and where they run."""

    commit_quarters: int
    time_limit: float
    mip_gap: float
    seed: int
    workers: int
    dask_address: str | None
    bar: Any
    budget: RunBudget = field(default_factory=lambda: RunBudget(math.inf))
    store: ResultStore | None = None
    capped: int = 0  # solves the whole run's deadline cut short (not reproducible)

    def task(self, label: str, i: int, portfolio: Portfolio,
             first: dict[FirstKey, float] | None, start: KeyedStarts = ()) -> RecourseTask:
        return RecourseTask(label, i, portfolio, self.commit_quarters,
                            None if first is None else _frozen(first), self.time_limit,
                            self.mip_gap, self.seed, start, deadline=self.budget.deadline)

    def remember(self, what: str, compute: Callable[[], T]) -> T:
        """`compute()`, or its result kept by an interrupted run of this one (`store`)."""
        return compute() if self.store is None else self.store.remember(what, compute)

    def run(self, tasks: Sequence[RecourseTask]) -> list[RecourseResult]:
        results = run_tasks(tasks, workers=self.workers, dask_address=self.dask_address,
                            bar=self.bar, store=self.store)
        self.capped += sum(r.capped for r in results)
        errors = [r for r in results if r.status == "error"]
        if errors:
            raise SolverError(f"{len(errors)} scenario sub-problem(s) failed; the first, "
                              f"{errors[0].label}: {errors[0].message}")
        return results


def _progress_bar(total: int, enabled: bool) -> Any:
    from optimizer.progress import counter_bar  # a bar on a terminal, plain lines without one

    return counter_bar(total, unit="solve", desc="robust", enabled=enabled)


def _require_plans(results: Sequence[RecourseResult], cases: Sequence[Future], what: str
                   ) -> None:
    bad = [(cases[r.scenario].name, r.status) for r in results if not r.has_plan]
    if bad:
        listed = ", ".join(f"{name} ({status})" for name, status in bad[:8])
        raise NoSolutionError(f"{what}: {len(bad)} future(s) have no feasible plan at all, so "
                              f"no first stage can hold in every future: {listed}. Relax the "
                              "constraints, raise --time-limit or drop those scenarios.")


def _values(results: Sequence[RecourseResult], attr: str = "npv") -> np.ndarray:
    return np.array([getattr(r, attr) if r.has_plan or r.status == "infeasible" else np.nan
                     for r in results], dtype=float)


# ---- the extensive form ------------------------------------------------------------------
def common_core(ws: Sequence[RecourseResult]) -> dict[FirstKey, float]:
    """The first-stage starts every future's own plan makes: per key, the fewest units any
    wait-and-see plan starts (less capex and power than each of them; the recourse may still
    need what a dropped start provided)."""
    firsts = [dict(r.first_stage) for r in ws]
    keys = set.intersection(*(set(f) for f in firsts)) if firsts else set()
    return {key: min(f[key] for f in firsts) for key in keys}


def _extensive(econs: list[Economics], weights: np.ndarray, k: int, risk_weight: float,
               cvar_level: float, eev: list[RecourseResult], context: _Run,
               cases: Sequence[Future], ws_bound: float = math.inf
               ) -> tuple[dict[FirstKey, float], list[RecourseResult], float, str]:
    """Solve the extensive form from `eev` (one solution per future sharing a first stage:
    the deterministic plan's, or the common core's) when each has a plan, then evaluate its
    first stage in every future (recourse re-optimised from the extensive form's own recourse).
    HiGHS stops at mip_gap against the lower of its own bound and `ws_bound` (wait-and-see's):
    the evaluation can only raise the plan's value, so the gap then holds for the answer.
    Returns the first stage, its per-future results, the extensive form's bound and its log."""
    first, npvs, starts, bound, log, capped = context.remember(
        "extensive form", lambda: _solve_extensive(econs, weights, k, risk_weight, cvar_level,
                                                   eev, context, ws_bound))
    context.capped += capped
    tasks = [context.task(f"robust {i + 1}", i, c.portfolio, first,
                          tuple((key, v) for key, v in sorted(starts[i].items()) if v > 0.5))
             for i, c in enumerate(cases)]
    evaluated = context.run(tasks)
    for i, result in enumerate(evaluated):  # keep the extensive form's recourse if better
        if not result.has_plan or result.npv < npvs[i] - 1e-9:
            evaluated[i] = RecourseResult(
                result.label, i, "feasible", "extensive_form", npvs[i],
                max(npvs[i], result.bound if result.has_plan else math.inf), math.nan,
                result.seconds, tuple((key, v) for key, v in sorted(starts[i].items())
                                      if v > 0.5), _frozen(first),
                message="the extensive form's recourse (better than the re-solve)")
    return first, evaluated, bound, log


def _solve_extensive(econs: list[Economics], weights: np.ndarray, k: int, risk_weight: float,
                     cvar_level: float, eev: list[RecourseResult], context: _Run,
                     ws_bound: float
                     ) -> tuple[dict[FirstKey, float], list[float], list[dict[FirstKey, float]],
                                float, str, bool]:
    """The extensive form's solve (see `_extensive`): its first stage, each future's NPV and
    starts, its bound, its log and whether the whole run's deadline cut it short."""
    start = [dict(r.starts) for r in eev] if all(r.has_plan for r in eev) else None
    model, outcome, capped = extensive_outcome(econs, weights, k, risk_weight, cvar_level,
                                               start, context, ws_bound)
    if outcome.status == Status.INFEASIBLE:
        raise NoSolutionError("No first stage is feasible in every future: each future has a "
                              "plan of its own, but none shares the starts of the first "
                              f"{k} quarter(s). Lower --commit-quarters or relax the "
                              "constraints.")
    if not has_plan(outcome.status):
        raise NoSolutionError(f"The extensive form found no plan within the time limit "
                              f"({outcome.termination}); raise --time-limit or use "
                              "--method decomposition.")
    first, npvs, starts = extensive_answer(model, econs, weights, k, risk_weight, cvar_level,
                                           outcome)
    return (first, npvs, starts, outcome.bound, outcome.log,
            cut_short(capped, outcome.termination))


def extensive_outcome(econs: list[Economics], weights: np.ndarray, k: int, risk_weight: float,
                      cvar_level: float, start: Sequence[dict[FirstKey, float]] | None,
                      context: _Run, ws_bound: float,
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
    runner = HighsRunner(model)
    if start is not None:
        values: list[tuple[pyo.Var, float]] = []
        for block, wanted in zip(model.scenario_models, start, strict=True):
            values += [(var, float(wanted.get(key, 0.0)))
                       for key, var in start_variables(block).items() if not var.fixed]
        first = start[0]
        values += [(model.first[j], first.get(key, 0.0)) for j, key in enumerate(model.first_keys)]
        runner.set_start(values)

    def proven(seconds: float, bound: float, objective: float) -> bool:
        """Show the progress on the bar; stop once the plan is within mip_gap of the lower
        of the two bounds."""
        best = min(bound, ws_bound)
        if not (math.isfinite(best) and math.isfinite(objective)):
            return False
        gap = relative_gap(objective, best)
        context.bar.set_postfix_str(f"{seconds:.0f}/{context.time_limit:.0f} s, gap {gap:.2%}")
        return gap <= context.mip_gap

    limit, capped = context.budget.limit_now()
    outcome = runner.solve(time_limit=min(limit, context.time_limit), mip_gap=context.mip_gap,
                           threads=1, seed=context.seed, should_stop=proven)
    return model, outcome, capped


def extensive_answer(model: pyo.ConcreteModel, econs: list[Economics], weights: np.ndarray,
                     k: int, risk_weight: float, cvar_level: float, outcome: Any
                     ) -> tuple[dict[FirstKey, float], list[float], list[dict[FirstKey, float]]]:
    """A solved extensive form's first stage, each future's NPV (recomputed from the decisions
    and audited against the solver's) and each future's starts; SolverError when an audit
    fails."""
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
          at_least=risk_weight != 0, what="the robust objective",
          source="the solver's")
    first = {key: starts[0][key] for key in first_stage_variables(model.scenario_models[0], k)
             if starts[0].get(key, 0) > 0.5}
    for i in range(len(model.scenario_models)):  # nonanticipativity, checked
        mine = {key: v for key, v in starts[i].items() if key[3] < k and v > 0.5}
        if mine != first:
            raise SolverError(f"the first stage of future {i + 1} differs from future 1's")
    return first, npvs, starts


# ---- the decomposition -------------------------------------------------------------------
def _decomposition(cases: Sequence[Future], weights: np.ndarray, k: int, risk_weight: float,
                   cvar_level: float, det_first: dict[FirstKey, float],
                   eev: list[RecourseResult], ws: list[RecourseResult], context: _Run,
                   ws_bound: float = math.inf
                   ) -> tuple[dict[FirstKey, float], list[RecourseResult], float, str]:
    """Scenario sub-problems only: the deterministic first stage (its EEV results), the
    MAX_CANDIDATES most frequent wait-and-see first stages and their common core (when it is
    none of those) are each evaluated in every future
    (recourse re-optimised); the best by the robust objective is the plan. No bound of its own
    (NaN): the run's bound is wait-and-see's."""
    counts: dict[tuple[tuple[FirstKey, float], ...], list[int]] = {}
    for r in ws:
        counts.setdefault(r.first_stage, []).append(r.scenario)
    det_key = _frozen(det_first)
    ranked = sorted((key for key in counts if key != det_key),
                    key=lambda key: (-sum(weights[i] for i in counts[key]), counts[key][0]))
    chosen = [(key, ws[counts[key][0]].starts) for key in ranked[:MAX_CANDIDATES]]
    core = _frozen(common_core(ws))
    if core not in counts and core != det_key:
        chosen.append((core, ws[0].starts))
    return _best_candidate(cases, weights, risk_weight, cvar_level, det_key, eev, chosen,
                           context, ws_bound)


def _best_candidate(cases: Sequence[Future], weights: np.ndarray, risk_weight: float,
                    cvar_level: float, det_key: tuple[tuple[FirstKey, float], ...],
                    eev: list[RecourseResult],
                    chosen: Sequence[tuple[tuple[tuple[FirstKey, float], ...], KeyedStarts]],
                    context: _Run, ws_bound: float = math.inf
                    ) -> tuple[dict[FirstKey, float], list[RecourseResult], float, str]:
    """Evaluate each candidate first stage (with a MIP start for its recourse) in every future
    and keep the best by the robust objective; the deterministic one is already evaluated
    (EEV). The search stops, as a MIP stops at its gap, once the best is within mip_gap of
    `ws_bound` (wait-and-see's bound). Returns it, its results, NaN (no bound of its own) and
    a line saying how many candidates were evaluated."""
    def score(results: list[RecourseResult]) -> float:
        values = _values(results)
        if np.isnan(values).any() or np.isinf(values).any():
            return -math.inf
        return objective_value(values, weights, risk_weight, cvar_level)

    candidates: list[tuple[tuple[tuple[FirstKey, float], ...], list[RecourseResult]]] = [
        (det_key, eev)]
    chosen = [(key, start) for key, start in chosen if key != det_key]
    context.bar.total += len(chosen) * len(cases)
    best = score(eev)
    for j, (key, start) in enumerate(chosen):
        if math.isfinite(best) and relative_gap(best, ws_bound) <= context.mip_gap:
            context.bar.total -= (len(chosen) - j) * len(cases)
            break
        first = dict(key)
        tasks = [context.task(f"candidate {len(candidates)} future {i + 1}", i, c.portfolio,
                              first, start) for i, c in enumerate(cases)]
        candidates.append((key, context.run(tasks)))
        best = max(best, score(candidates[-1][1]))
    log = (f"sitepivot: {len(candidates)} of {len(chosen) + 1} candidate first stage(s) "
           "evaluated in every future (the deterministic one first); "
           + ("the search stopped within mip_gap of the wait-and-see bound.\n"
              if len(candidates) <= len(chosen) else "all of them.\n"))

    key, results = max(candidates, key=lambda item: score(item[1]))
    if score(results) == -math.inf:
        raise NoSolutionError("The decomposition found no first stage feasible in every future "
                              "among its candidates (the deterministic plan's and those of the "
                              "futures solved alone, or PH's); try --method extensive.")
    return dict(key), results, math.nan, log


def _progressive_hedging(cases: Sequence[Future], econs: list[Economics], weights: np.ndarray,
                         k: int, risk_weight: float, cvar_level: float,
                         det_first: dict[FirstKey, float], det_start: KeyedStarts,
                         eev: list[RecourseResult], context: _Run, ws_bound: float = math.inf
                         ) -> tuple[dict[FirstKey, float], list[RecourseResult], float, str]:
    """PH (mpi-sppy, `optimizer.robust.ph`) proposes first stages; each is evaluated in every
    future like the decomposition's candidates and the best is kept."""
    from optimizer.robust.ph import ph_candidates

    proposed, log = context.remember("progressive hedging", lambda: ph_candidates(
        econs, weights, k, risk_weight, cvar_level, time_limit=context.time_limit,
        mip_gap=context.mip_gap, bar=context.bar))
    chosen = [(key, det_start) for key in proposed[:MAX_CANDIDATES]]
    first, results, bound, evaluated = _best_candidate(
        cases, weights, risk_weight, cvar_level, _frozen(det_first), eev, chosen, context,
        ws_bound)
    return first, results, bound, log + evaluated


# ---- out of sample -------------------------------------------------------------------------
def _out_of_sample(portfolio: Portfolio, m: int, seed: int, robust_first: dict[FirstKey, float],
                   det_first: dict[FirstKey, float], det_start: KeyedStarts, context: _Run
                   ) -> pd.DataFrame:
    """Both first stages on `m` fresh Monte Carlo draws (seed + 1), recourse re-optimised."""
    draws = monte_carlo_scenarios(portfolio, m, seed + OUT_OF_SAMPLE_SEED_OFFSET)[1:]
    cases = [apply_changes(portfolio, s.changes) for s in draws]
    tasks = [context.task(f"out-of-sample robust {i + 1}", i, p, robust_first, det_start)
             for i, p in enumerate(cases)]
    tasks += [context.task(f"out-of-sample deterministic {i + 1}", i, p, det_first, det_start)
              for i, p in enumerate(cases)]
    done = context.run(tasks)
    rob, det = done[:m], done[m:]
    frame = pd.DataFrame({
        "draw": [s.name for s in draws], "changes": [s.describe() for s in draws],
        "npv_robust_musd": _values(rob), "npv_deterministic_musd": _values(det),
        "status_robust": [r.status for r in rob], "gap_robust": [r.gap for r in rob],
        "status_deterministic": [r.status for r in det],
        "gap_deterministic": [r.gap for r in det]})
    frame["robust_minus_deterministic_musd"] = (frame["npv_robust_musd"]
                                                - frame["npv_deterministic_musd"])
    frame.attrs["seed"] = seed + OUT_OF_SAMPLE_SEED_OFFSET
    return frame[OUT_OF_SAMPLE_COLUMNS]


def _objective(values: np.ndarray, weights: np.ndarray, risk_weight: float, cvar_level: float
               ) -> float:
    """The robust objective of per-future values: -inf if infeasible in some future, +inf if
    some future is unbounded (a bound without a proof), NaN if a value is missing."""
    if (values == -math.inf).any():
        return -math.inf
    if (values == math.inf).any():
        return math.inf
    return objective_value(values, weights, risk_weight, cvar_level)


# ---- assembling the answer -----------------------------------------------------------------
def _assemble(portfolio: Portfolio, cases: Sequence[Future], weights: np.ndarray, k: int,
              risk_weight: float, cvar_level: float, mip_gap: float, method: str,
              deterministic: Plan, det_first: dict[FirstKey, float],
              best_first: dict[FirstKey, float], best: list[RecourseResult],
              eev: list[RecourseResult], ws: list[RecourseResult], ef_bound: float,
              oos: pd.DataFrame | None, timings: dict[str, float], log: str,
              budget: RunBudget | None = None, capped: int = 0) -> RobustPlan:
    def objective(values: np.ndarray) -> float:
        return _objective(values, weights, risk_weight, cvar_level)

    best, eev, ws = _pool_known_plans(best_first, det_first, best, eev, ws)
    rp_values, rp_bounds = _values(best), _values(best, "bound")
    eev_values, eev_bounds = _values(eev), _values(eev, "bound")
    ws_values, ws_bounds = _values(ws), _values(ws, "bound")
    rp = objective(rp_values)
    ws_value, ws_bound = objective(ws_values), objective(ws_bounds)
    eev_value, eev_bound = objective(eev_values), objective(eev_bounds)
    # Valid upper bounds on RP: the extensive form's, and wait-and-see's (each future's NPV
    # under any first stage is at most its own bound, and the objective is monotone).
    bound = float(np.nanmin([ef_bound, ws_bound]))
    bound = max(bound, rp)
    gap = relative_gap(rp, bound)
    status = "optimal" if gap <= mip_gap + 1e-9 else "feasible"
    vss = rp - eev_value
    vss_low = rp - eev_bound  # the deterministic first stage can do at most eev_bound
    evpi, evpi_high = ws_value - rp, ws_bound - rp
    significant = bool(vss_low > 0)
    scen = _scenarios_frame(cases, weights, best, eev, ws)
    dist = _distribution(weights, cvar_level, rp_values, rp_bounds, eev_values, eev_bounds)
    first_decisions, first_upgrades = _first_stage_frames(cases, weights, best_first)
    det_decisions, det_upgrades = _first_stage_frames(cases, weights, det_first)
    plan = RobustPlan(
        portfolio=portfolio, status=status, method=method, commit_quarters=k,
        risk_weight=risk_weight, cvar_level=cvar_level, objective_musd=rp, bound_musd=bound,
        gap=gap, expected_npv_musd=float(weights @ rp_values),
        cvar_npv_musd=cvar(rp_values, weights, cvar_level), eev_musd=eev_value,
        eev_bound_musd=eev_bound, wait_and_see_musd=ws_value, wait_and_see_bound_musd=ws_bound,
        vss_musd=vss, vss_low_musd=vss_low, vss_significant=significant, evpi_musd=evpi,
        evpi_high_musd=evpi_high, mip_gap_requested=mip_gap, first_stage=best_first,
        deterministic_first_stage=det_first, summary=pd.DataFrame(columns=SUMMARY_COLUMNS),
        first_stage_decisions=first_decisions, first_stage_upgrades=first_upgrades,
        deterministic_decisions=det_decisions, deterministic_upgrades=det_upgrades,
        scenarios=scen, stability=_stability(portfolio, cases, weights, best),
        distribution=dist, out_of_sample=oos, account=[], deterministic=deterministic,
        robust_results=list(best), deterministic_results=list(eev),
        wait_and_see_results=list(ws), timings=timings,
        warnings=list(portfolio.warnings), log=log,
        budget=budget or RunBudget(math.nan), capped=capped)
    plan.summary = summary_frame(plan)
    plan.account = account_lines(plan)
    return plan


def _pool_known_plans(best_first: dict[FirstKey, float], det_first: dict[FirstKey, float],
                      best: list[RecourseResult], eev: list[RecourseResult],
                      ws: list[RecourseResult]
                      ) -> tuple[list[RecourseResult], list[RecourseResult], list[RecourseResult]]:
    """Each future's best known plan for each problem, from every solve of that future.

    The sub-problems stop at a gap, so two solves of one problem can end at different plans:
    - any plan of a future is a plan of its wait-and-see problem, so WS_i is at least the robust
      and the deterministic first stage's NPV there (else EVPI could come out negative);
    - when the robust first stage is the deterministic one, RP_i and EEV_i are one problem:
      both take the better plan and the smaller bound (else VSS would not be exactly 0).
    Bounds stay each problem's own: a restricted problem's bound does not bound WS_i."""
    def better(a: RecourseResult, b: RecourseResult, bound: float) -> RecourseResult:
        top = b if has_plan(b.status) and not (has_plan(a.status) and a.npv >= b.npv) else a
        if top is a and bound == a.bound:
            return a
        return dataclasses.replace(top, scenario=a.scenario, label=a.label, bound=bound,
                                   status=a.status if has_plan(a.status) else Status.FEASIBLE,
                                   gap=relative_gap(top.npv, bound))

    if _frozen(best_first) == _frozen(det_first):
        pooled = []
        for r, d in zip(best, eev, strict=True):
            bound = float(np.fmin(r.bound, d.bound))
            pooled.append(better(r, d, bound))
        best, eev = pooled, [dataclasses.replace(p, label=d.label)
                             for p, d in zip(pooled, eev, strict=True)]
    ws = [better(better(w, r, w.bound), d, w.bound)
          for w, r, d in zip(ws, best, eev, strict=True)]
    return best, eev, ws


def _scenarios_frame(cases: Sequence[Future], weights: np.ndarray, best: list[RecourseResult],
                     eev: list[RecourseResult], ws: list[RecourseResult]) -> pd.DataFrame:
    rows = []
    for i, case in enumerate(cases):
        r, d, w = best[i], eev[i], ws[i]
        rows.append({
            "scenario": case.name, "weight": float(weights[i]), "changes": case.changes,
            "npv_robust_musd": r.npv, "npv_deterministic_musd": d.npv,
            "npv_wait_and_see_musd": w.npv, "robust_minus_deterministic_musd": r.npv - d.npv,
            "status_robust": r.status, "gap_robust": r.gap, "status_deterministic": d.status,
            "gap_deterministic": d.gap, "status_wait_and_see": w.status,
            "gap_wait_and_see": w.gap,
            "first_stage_halls": int(sum(v for key, v in r.first_stage if key[0] == "hall")),
            "message": "; ".join(m for m in (r.message, d.message) if m)[:500]})
    frame = pd.DataFrame(rows, columns=SCENARIO_COLUMNS)
    return frame.replace([np.inf, -np.inf], np.nan)  # infeasible: blank, with its status


def _distribution(weights: np.ndarray, level: float, rp: np.ndarray, rp_bound: np.ndarray,
                  det: np.ndarray, det_bound: np.ndarray) -> pd.DataFrame:
    """Mean, P10, P50, P90 and CVaR of NPV under each first stage, each with the same measure
    of the per-future upper bounds (every measure is monotone, so it bounds the value) and the
    difference as its gap. A first stage infeasible in some future has an infinite tail."""
    rows = []
    for label, values, bounds in (("robust", rp, rp_bound), ("deterministic", det, det_bound)):
        measures = {"mean": lambda v: float(weights @ v),
                    "p10": lambda v: quantile(v, weights, 0.1),
                    "p50": lambda v: quantile(v, weights, 0.5),
                    "p90": lambda v: quantile(v, weights, 0.9),
                    f"cvar_{level:g}": lambda v: cvar(v, weights, level)}
        for name, f in measures.items():
            with np.errstate(invalid="ignore"):
                value, bound = f(values), f(bounds)
            rows.append({"first_stage": label, "measure": name, "value_musd": value,
                         "bound_musd": bound, "gap_musd": bound - value
                         if math.isfinite(value) and math.isfinite(bound) else math.nan})
    return pd.DataFrame(rows, columns=DISTRIBUTION_COLUMNS)


def _first_stage_frames(cases: Sequence[Future], weights: np.ndarray,
                        first: dict[FirstKey, float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The first stage as Decisions and Upgrades rows, valued over the futures (a capex, lease
    or financing draw changes each start's figures): capex and NPV are the weighted means,
    `irr` the weighted mean of the futures in which the start has one, `payback_quarter` the
    weighted median quarter (the lower one at a tie; blank when it never pays back in half of
    the futures or more)."""
    halls: list[pd.DataFrame] = []
    upgrades: list[pd.DataFrame] = []
    for case, w in zip(cases, weights, strict=True):
        econ = build_economics(case.portfolio)
        keys = first_stage_keys_index(econ)
        h, c, p = (np.zeros(len(econ.halls)), np.zeros(len(econ.cooling)),
                   np.zeros(len(econ.power)))
        for key, v in first.items():
            kind, index = keys[key]
            {"hall": h, "cooling": c, "power": p}[kind][index] = v
        d, u = decision_rows(econ, h), upgrade_rows(econ, c, p)
        d["weight"] = w
        u["capex_musd"] *= w
        halls.append(d)
        upgrades.append(u)
    hall_keys = ["site", "option", "start_quarter", "halls", "it_mw", "online_quarter"]
    dec = pd.concat(halls).groupby(hall_keys, sort=False).apply(
        _over_futures, include_groups=False).reset_index()
    upg = pd.concat(upgrades).groupby(["site", "kind", "start_quarter", "units", "mw",
                                       "online_quarter"], as_index=False, sort=False).sum()
    dec = dec[DECISION_COLUMNS].sort_values(["start_quarter", "site", "option"],
                                            ignore_index=True)
    upg = upg[UPGRADE_COLUMNS].sort_values(["start_quarter", "site", "kind"], ignore_index=True)
    return dec, upg


def _over_futures(rows: pd.DataFrame) -> pd.Series:
    """One start's Decisions figures over the futures (rows: one per future, with `weight`)."""
    w = rows["weight"].to_numpy(float)
    irr = rows["irr"].to_numpy(float) if "irr" in rows else np.array([np.nan])
    has_irr = np.isfinite(irr)
    out = {"capex_musd": float(w @ rows["capex_musd"].to_numpy(float)) / w.sum(),
           "npv_musd": float(w @ rows["npv_musd"].to_numpy(float)) / w.sum(),
           "irr": (float(w[has_irr] @ irr[has_irr]) / w[has_irr].sum()
                   if has_irr.any() else np.nan),
           "payback_quarter": None}
    if "moic" in rows:  # weighted over the futures where it exists, as the IRR
        multiple = rows["moic"].to_numpy(float)
        has = np.isfinite(multiple)
        out["moic"] = float(w[has] @ multiple[has]) / w[has].sum() if has.any() else np.nan
    if "lease_signed" in rows:  # a commitment: the same in every future
        out["lease_signed"] = bool(rows["lease_signed"].astype(bool).any())
    if "payback_quarter" in rows:
        quarters = rows["payback_quarter"].tolist()
        order = sorted(range(len(quarters)),
                       key=lambda i: (quarters[i] is None or pd.isna(quarters[i]),
                                      str(quarters[i])))
        cumulative = np.cumsum(w[order]) / w.sum()
        median = quarters[order[int(np.searchsorted(cumulative, 0.5 - 1e-12))]]
        out["payback_quarter"] = None if median is None or pd.isna(median) else median
    return pd.Series(out)


def first_stage_keys_index(econ: Economics) -> dict[FirstKey, tuple[str, int]]:
    """Business key -> (kind, candidate index) of every start candidate of `econ`
    (`Economics.candidate_index`)."""
    return econ.candidate_index().by_key


def _stability(portfolio: Portfolio, cases: Sequence[Future], weights: np.ndarray,
               results: list[RecourseResult]) -> pd.DataFrame:
    """Site x year: weighted share of futures in which the robust plan has started a hall at
    the site by the end of that year (halls begun before the plan count from the start)."""
    start = portfolio.settings.start_quarter
    years = sorted({q[:4] for q in portfolio.quarter_labels})
    before = {row.site for row in portfolio.commitments.itertuples(index=False)
              if row.action == "start" and row.quarter and portfolio.t_of(row.quarter) < 0}
    share = np.zeros((len(portfolio.site_names), len(years)))
    for w, r in zip(weights, results, strict=True):
        first: dict[str, str] = {}
        for (kind, site, _option, tau), v in r.starts:
            if kind == "hall" and v > 0.5:
                q = add_quarters(start, tau)
                first[site] = min(first.get(site, q), q)
        for i, site in enumerate(portfolio.site_names):
            for j, year in enumerate(years):
                if site in before or (site in first and first[site][:4] <= year):
                    share[i, j] += w
    frame = pd.DataFrame(share, columns=[f"by_{y}_share" for y in years])
    frame.insert(0, "site", portfolio.site_names)
    return frame


def _money(x: float) -> str:
    """`$1,234.5M` (`optimizer.money`); an infinite value in words."""
    if x == -math.inf:
        return "-infinite (infeasible in some future)"
    if x == math.inf:
        return "infinite"
    return money(x)


def infinite_vss_reason(plan: RobustPlan) -> str | None:
    """Why the VSS is infinite (the deterministic first stage breaks a limit in some future,
    the robust one in none), in words shared by the console and the Summary; None when the
    VSS is finite."""
    if math.isfinite(plan.vss_musd):
        return None
    infeasible = int(sum(not r.has_plan for r in plan.deterministic_results))
    return (f"the deterministic first stage breaks a limit in {infeasible} of "
            f"{len(plan.deterministic_results)} futures, the robust one in none")


def summary_frame(plan: RobustPlan) -> pd.DataFrame:
    """The Summary rows (metric, value, unit, note); each sign is stated in its note."""
    def finite(x: float) -> float:
        return x if math.isfinite(x) else math.nan

    level = f"{plan.cvar_level:g}"
    infeasible = int(sum(not r.has_plan for r in plan.deterministic_results))
    vss_note = (f"RP - EEV: what committing the robust first stage instead of the deterministic "
                f"one adds (>= 0). Proven at least {_money(plan.vss_low_musd)} "
                f"(RP - EEV's upper bound): "
                + ("significant." if plan.vss_significant else
                   "NOT significant: smaller than the gaps that bound it."))
    significant: bool | None = plan.vss_significant
    significant_note = ("TRUE when RP exceeds the best the deterministic first stage can be "
                        "proven to reach")
    reason = infinite_vss_reason(plan)
    if reason is not None:
        vss_note = f"infinite (blank): {reason}."
        significant = None  # no gap to weigh an infinite value against: blank beside it
        significant_note = f"blank: the VSS is infinite ({reason})"
    rows = [
        ("objective_musd", finite(plan.objective_musd), "$M",
         f"RP: (1 - W) E[NPV] + W CVaR_{level}[NPV] of the robust first stage, W = "
         f"{plan.risk_weight:g}; proven bound {_money(plan.bound_musd)}"),
        ("bound_musd", finite(plan.bound_musd), "$M",
         "proven upper bound on the objective (the smaller of the extensive form's and "
         "wait-and-see's)"),
        ("expected_npv_musd", finite(plan.expected_npv_musd), "$M",
         "weighted mean NPV over the futures, robust first stage"),
        ("cvar_npv_musd", finite(plan.cvar_npv_musd), "$M",
         f"mean NPV of the worst {plan.cvar_level:.0%} of futures (CVaR, lower tail), robust "
         "first stage"),
        ("eev_musd", finite(plan.eev_musd), "$M",
         "the objective with the deterministic plan's first stage fixed, each future "
         f"re-optimised (<= RP); upper bound {_money(plan.eev_bound_musd)}"
         + (f"; infeasible in {infeasible} future(s): blank" if infeasible else "")),
        ("wait_and_see_musd", finite(plan.wait_and_see_musd), "$M",
         "the objective if each future were known in advance (perfect foresight, >= RP); "
         f"upper bound {_money(plan.wait_and_see_bound_musd)}"),
        ("vss_musd", plan.vss_musd if math.isfinite(plan.vss_musd) else math.nan, "$M",
         vss_note),
        ("vss_significant", significant, "", significant_note),
        ("evpi_musd", finite(plan.evpi_musd), "$M",
         f"WS - RP: what perfect foresight would add (>= 0); at most "
         f"{_money(plan.evpi_high_musd)}"),
        ("status", plan.status, "", "optimal: gap within mip_gap; feasible: gap stated"),
        ("mip_gap", plan.gap, "fraction", f"(bound - RP) / |RP|; requested "
         f"{plan.mip_gap_requested:g}"),
        ("scenarios", len(plan.scenarios), "futures", "weights normalised to sum to 1"),
        ("commit_quarters", plan.commit_quarters, "quarters",
         "starts in these first quarters are committed now, the same in every future"),
        ("risk_weight", plan.risk_weight, "", "W, the weight of CVaR in the objective"),
        ("cvar_level", plan.cvar_level, "share", "A, the tail share CVaR averages"),
        ("method", plan.method, "", "; ".join(
            ["extensive form in HiGHS, or scenario decomposition"]
            + [line.removeprefix("sitepivot: ").strip() for line in plan.log.splitlines()
               if line.startswith("sitepivot: ")])),
        ("time_limit_per_solve_s", plan.budget.per_solve_s, "s",
         "each solve's time limit, fixed before the run (" + plan.budget.describe() + ")"),
        ("total_time_s", plan.budget.total_s if plan.budget.total_s is not None else math.nan,
         "s", "the whole run's budget (--total-time; blank: none), reading and writing aside"),
        ("reproducible", plan.reproducible, "",
         "FALSE: the total time (wall clock) cut " + str(plan.capped) + " solve(s) short of "
         "their own budget, so the same command may give another answer; raise --total-time"
         if plan.capped else "TRUE as to the total time: every solve had its own budget, "
         "fixed up front"),
        *([("firmness_tolerance_musd", next(iter(plan.firmness.values()))["tolerance_musd"],
            "$M", "a first-stage start is firm when not making it costs the robust objective "
            "more than this (FirstStage: firmness); " + plan.firmness_phase)]
          if plan.firmness else []),
        ("deterministic_npv_musd", plan.deterministic.npv_musd, "$M",
         f"the deterministic plan's NPV on the base forecast ({plan.deterministic.status}, "
         f"gap {plan.deterministic.gap:.2%})"),
    ]
    if plan.out_of_sample is not None and len(plan.out_of_sample):
        o = plan.out_of_sample
        diff = o["robust_minus_deterministic_musd"]
        rows += [
            ("out_of_sample_draws", len(o), "draws", f"fresh draws, seed {o.attrs.get('seed')}"),
            ("out_of_sample_robust_mean_musd", _finite_mean(o["npv_robust_musd"]), "$M",
             "mean NPV of the robust first stage, recourse re-optimised (blank if infeasible "
             "in some draw)"),
            ("out_of_sample_robust_infeasible", int(np.isinf(o["npv_robust_musd"]).sum()
                                                    + o["npv_robust_musd"].isna().sum()),
             "draws", "draws in which the robust first stage breaks a limit (a future unlike "
             "any of the plan's scenarios)"),
            ("out_of_sample_deterministic_mean_musd", _finite_mean(o["npv_deterministic_musd"]),
             "$M", "mean NPV of the deterministic first stage (blank if infeasible in some "
             "draw)"),
            ("out_of_sample_deterministic_infeasible", int(np.isinf(
                o["npv_deterministic_musd"]).sum() + o["npv_deterministic_musd"].isna().sum()),
             "draws", "draws in which the deterministic first stage breaks a limit"),
            ("out_of_sample_robust_better_share", float((diff > 0).mean()), "share",
             "share of draws in which the robust first stage does better")]
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _finite_mean(values: pd.Series) -> float:
    v = values.to_numpy(float)
    return float(v.mean()) if np.isfinite(v).all() else math.nan


def _halls_started(starts: KeyedStarts) -> int:
    """Halls started in all by one future's answer (its positive starts by business key)."""
    return round(sum(v for key, v in starts if key[0] == "hall"))


def account_lines(plan: RobustPlan) -> list[str]:
    """The plain-language account: commit these now (firm or open, when assessed); these
    wait; in bad futures..."""
    from optimizer.robust.firmness import firmness_lines

    k, start = plan.commit_quarters, plan.portfolio.settings.start_quarter
    last = add_quarters(start, k - 1)
    lines = [f"Commit now (starts {start}..{last}, the same in every future):"]
    d, u = plan.first_stage_decisions, plan.first_stage_upgrades
    lines += [f"  - {int(r.halls)} hall(s) of {r.option} at {r.site} in {r.start_quarter}"
              for r in d.itertuples()] or ["  - nothing: every start can wait"]
    lines += [f"  - {int(r.units)} {r.kind} upgrade(s) at {r.site} in {r.start_quarter}"
              for r in u.itertuples()]
    lines += firmness_lines(plan)
    det = plan.deterministic_decisions
    if not det.equals(d[det.columns]):  # the robust frame may add its firmness columns
        lines.append(f"The deterministic plan would commit {int(det['halls'].sum())} hall(s) "
                     f"in those quarters; the robust plan commits {int(d['halls'].sum())}.")
    waits = plan.stability
    lines.append("These wait and adapt to the future (share of futures started by the last "
                 "year):")
    last_col = waits.columns[-1]
    adapting = [f"  - {row.site}: started in {getattr(row, last_col):.0%} of futures"
                for row in waits.itertuples(index=False) if 0 < getattr(row, last_col) < 1]
    lines += adapting or ["  - none: each site is converted in every future or in none "
                          "(the timing of later starts still adapts; see Stability)"]
    scen = plan.scenarios.sort_values("npv_robust_musd")
    worst = scen.head(max(1, math.ceil(len(scen) * plan.cvar_level)))
    halls = {r.scenario: _halls_started(r.starts) for r in plan.robust_results}
    weights = plan.scenarios.set_index("scenario")["weight"]
    names = list(plan.scenarios["scenario"])
    mean_halls = (sum(weights[names[i]] * n for i, n in halls.items()) / weights.sum()
                  if halls else math.nan)
    lines.append(f"In the worst {len(worst)} of {len(scen)} futures (the CVaR tail), after "
                 f"the same commitments (on average {mean_halls:.1f} halls started in all):")
    for r in worst.itertuples():
        n = halls.get(names.index(r.scenario))
        does = "" if n is None else f"; the plan starts {n} hall(s) in all there"
        lines.append(f"  - {r.scenario}: NPV {money(r.npv_robust_musd, 0)}{does} "
                     f"({r.changes})")
    reason = infinite_vss_reason(plan)
    lines.append(f"Value of the stochastic solution (VSS) {_money(plan.vss_musd)}"
                 + (f" ({reason})" if reason is not None else
                    "" if plan.vss_significant else
                    " (not significant: within the solver gaps)")
                 + f"; value of perfect information (EVPI) {_money(plan.evpi_musd)}.")
    return lines


def robust_text(plan: RobustPlan) -> str:
    """A few lines for the terminal."""
    head = (f"robust plan ({plan.method}, {len(plan.scenarios)} futures, K = "
            f"{plan.commit_quarters}): {plan.status}, objective {_money(plan.objective_musd)}, "
            f"bound {_money(plan.bound_musd)}, gap {plan.gap:.2%}")
    lines = [head, plan.budget.describe()]
    if plan.capped:
        lines.append(f"warning: {plan.capped} solve(s) were cut short by the total time (wall "
                     "clock), not by their own budget: this run is not reproducible (raise "
                     "--total-time)")
    return "\n".join([*lines, *plan.account])
