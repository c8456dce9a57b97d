"""`robust()`: a plan that commits now only what holds up across futures.

The story:
1. the futures: the sweep's seeded Monte Carlo draws (equal weights) or the Scenarios sheet
   (its optional ``weight`` column); each is a Portfolio variant (`optimizer.robust.futures`);
2. the deterministic plan: `optimize` on the workbook as it is (the base forecast);
3. wait-and-see (WS): every future solved alone, with perfect foresight; the mean of their
   proven bounds bounds every plan from above;
4. EEV: the deterministic plan's first stage (its starts in quarters < K) fixed in every future,
   the rest re-optimised;
5. the robust first stage, by one of three methods (`optimizer.robust.methods`: extensive,
   decomposition, ph), each stopping once its plan is within mip_gap of the proven bound
   (wait-and-see's, or the extensive form's own if lower), as a MIP stops at its gap;
6. the robust first stage is evaluated in every future (recourse re-optimised), which gives each
   future's NPV with its own proven bound;
7. metrics (RP, EEV, WS, VSS, EVPI, P10/P50/P90, CVaR, each with its gap), optionally out of
   sample on fresh draws, and the frames of the report (`optimizer.robust.assemble`; its text
   in `optimizer.robust.report`); then, unless told not to, the firmness of each first-stage
   start (`optimizer.robust.firmness`).

Every number is in $M. Signs: VSS = RP - EEV >= 0 is what the robust first stage adds over the
deterministic one; EVPI = WS - RP >= 0 is what perfect foresight would add over the robust plan.
The parts live by seam: `futures`, `methods` (one `FirstStageMethod` interface), `subproblems`,
`assemble`, `plan` (`RobustPlan`) and `report` (its text and sheets); this module runs them.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from models.economics import build_economics
from models.errors import NoSolutionError, UsageError
from models.portfolio import Portfolio
from models.robust import FirstKey
from optimizer.budget import (
    START_RESERVE_S,
    RunBudget,
    cut_short,
    solve_overhead_s,
    split_total,
    waves,
)
from optimizer.checkpoint import ResultStore
from optimizer.parallel import dask_slots
from optimizer.plan import Plan
from optimizer.robust.assemble import (
    assemble,
)
from optimizer.robust.futures import Future, robust_futures
from optimizer.robust.methods import (
    FIRST_STAGE_METHODS,
    MAX_CANDIDATES,
    MethodContext,
)
from optimizer.robust.plan import (
    OUT_OF_SAMPLE_COLUMNS,
    RobustPlan,
)
from optimizer.robust.recourse import KeyedStarts, RecourseResult
from optimizer.robust.report import (
    account_lines,
    summary_frame,
)
from optimizer.robust.subproblems import (
    SubproblemRunner,
    plan_first_stage,
    plan_starts,
    robust_objective,
    values_of,
)
from optimizer.solve.optimize import optimize
from optimizer.sweeps.scenarios import apply_changes, monte_carlo_scenarios

__all__ = ["METHODS", "RobustPlan", "robust", "run_budget"]

METHODS = ("auto", *FIRST_STAGE_METHODS)
# `auto` solves the extensive form up to this many scenario-copies of the model's integer
# columns (the sample has 1,273 per future: about 30 futures), and decomposes beyond. Below it
# the extensive form truly optimises the first stage (the decomposition only compares a few
# candidates) in under 2 GB; beyond, with both methods stopping at the gap, the decomposition
# was faster and lighter on the sample: 100 futures in 818 s and 0.8 GB against 1,267 s and
# 2.5 GB, for a plan 0.05% lower (benchmarks/README.md, "Robust plans").
AUTO_EXTENSIVE_COLUMNS = 40_000
OUT_OF_SAMPLE_SEED_OFFSET = 1  # out-of-sample draws use seed + 1: other draws than in-sample


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
    runner = SubproblemRunner(k, budget.per_solve_s, gap, rng_seed, workers, dask_address, bar,
                              budget, store)
    try:
        bar.set_description("deterministic plan")

        def solve_deterministic() -> tuple[Plan, bool]:
            solve_s, capped = budget.limit_now()
            plan = optimize(portfolio, time_limit=solve_s, mip_gap=gap, threads=1,
                            seed=rng_seed, method="monolithic", deadline=budget.deadline)
            return plan, cut_short(capped, plan.termination)

        deterministic, det_capped = runner.remember("deterministic plan", solve_deterministic)
        runner.capped += det_capped
        bar.update(1)
        timings["deterministic"] = time.perf_counter() - clock
        det_first = plan_first_stage(deterministic, k)
        det_start = plan_starts(deterministic)

        clock = time.perf_counter()
        bar.set_description("wait-and-see and EEV")
        tasks = [runner.task(f"wait-and-see {i + 1}", i, c.portfolio, None, det_start)
                 for i, c in enumerate(cases)]
        tasks += [runner.task(f"EEV {i + 1}", i, c.portfolio, det_first, det_start)
                  for i, c in enumerate(cases)]
        done = runner.run(tasks)
        ws, eev = done[:n], done[n:]
        _require_plans(ws, cases, "wait-and-see (each future on its own)")
        timings["wait_and_see_eev"] = time.perf_counter() - clock

        # Wait-and-see's bound on the robust objective: each future's own proven bound, which
        # no shared first stage can beat there. A method stops once its plan is within
        # mip_gap of it (or of the extensive form's own bound), as HiGHS stops at its gap.
        ws_bound = robust_objective(values_of(ws, "bound"), weights, risk_weight, cvar_level)
        clock = time.perf_counter()
        context = MethodContext(cases, econs, weights, k, risk_weight, cvar_level, runner,
                                det_first, det_start, eev, ws, ws_bound)
        answer = FIRST_STAGE_METHODS[method](context)
        bar.update(1)
        timings["robust"] = time.perf_counter() - clock

        oos: pd.DataFrame | None = None
        if out_of_sample:
            clock = time.perf_counter()
            bar.set_description("out of sample")
            oos = _out_of_sample(portfolio, out_of_sample, rng_seed, answer.first, det_first,
                                 det_start, runner)
            timings["out_of_sample"] = time.perf_counter() - clock
        plan = assemble(portfolio, context, answer, method, deterministic, oos, timings)
        if firmness:
            clock = time.perf_counter()
            assess_first_stage(plan, context,
                               share * total_time if total_time is not None else None)
            plan.capped = runner.capped
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


# ---- out of sample -------------------------------------------------------------------------
def _out_of_sample(portfolio: Portfolio, m: int, seed: int, robust_first: dict[FirstKey, float],
                   det_first: dict[FirstKey, float], det_start: KeyedStarts,
                   runner: SubproblemRunner) -> pd.DataFrame:
    """Both first stages on `m` fresh Monte Carlo draws (seed + 1), recourse re-optimised."""
    draws = monte_carlo_scenarios(portfolio, m, seed + OUT_OF_SAMPLE_SEED_OFFSET)[1:]
    cases = [apply_changes(portfolio, s.changes) for s in draws]
    tasks = [runner.task(f"out-of-sample robust {i + 1}", i, p, robust_first, det_start)
             for i, p in enumerate(cases)]
    tasks += [runner.task(f"out-of-sample deterministic {i + 1}", i, p, det_first, det_start)
              for i, p in enumerate(cases)]
    done = runner.run(tasks)
    rob, det = done[:m], done[m:]
    frame = pd.DataFrame({
        "draw": [s.name for s in draws], "changes": [s.describe() for s in draws],
        "npv_robust_musd": values_of(rob), "npv_deterministic_musd": values_of(det),
        "status_robust": [r.status for r in rob], "gap_robust": [r.gap for r in rob],
        "status_deterministic": [r.status for r in det],
        "gap_deterministic": [r.gap for r in det]})
    frame["robust_minus_deterministic_musd"] = (frame["npv_robust_musd"]
                                                - frame["npv_deterministic_musd"])
    frame.attrs["seed"] = seed + OUT_OF_SAMPLE_SEED_OFFSET
    return frame[OUT_OF_SAMPLE_COLUMNS]
