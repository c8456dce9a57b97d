"""Sensitivity sweeps: many futures, each re-optimized and each valuing today's plan.

    results = run_sweep(portfolio, "tornado", workers=4)
    write_sweep_report(results, Path("sweep.xlsx"))

The story of `run_sweep`:
1. the scenarios of the kind (`optimizer.sweeps.scenarios`): always ``base`` first;
2. the base is solved here, in this process: its plan is "today's plan";
3. every other scenario goes to an executor, the same task (`sweep_worker.solve_scenario`)
   for all: in this process (``workers=1``), a process pool (``workers=N``, default: cores) or
   an existing Dask scheduler (``dask_address``), all by `optimizer.parallel.run_all`. Each
   worker builds the model once and re-solves it in place (see `optimizer.sweeps.worker`);
4. rows come back as they finish (counted on stderr, `optimizer.progress.counter_bar`), are
   put in scenario order, and compared with the base: one row per scenario, failures
   included (status ``error``).

Results do not depend on the executor: every solve uses one HiGHS thread and a fixed seed,
starts from a cleared HiGHS state and the same MIP start, and should stop on the gap. A time
limit that binds makes a row depend on the machine's speed (its status then says
``feasible`` with the gap reached).

Ctrl-C stops the sweep: finished rows are kept, the others are marked ``interrupted``, and
`results.attrs["interrupted"]` is True. With a result store (`optimizer.checkpoint`) every
finished row is also kept on disk as it arrives, so that the run can be resumed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from models.economics import build_economics
from models.errors import UsageError
from models.portfolio import Portfolio
from optimizer.budget import START_RESERVE_S, RunBudget, solve_overhead_s, split_total, waves
from optimizer.checkpoint import ResultStore
from optimizer.money import money
from optimizer.parallel import dask_slots, run_all
from optimizer.solve.options import SolverOptions
from optimizer.status import PLANNED, Status
from optimizer.sweeps.report import write_sweep_report
from optimizer.sweeps.scenarios import (
    MonteCarloSpec,
    Scenario,
    check_scenarios,
    grid_scenarios,
    marginal_scenarios,
    monte_carlo_scenarios,
    parse_grid,
    sheet_scenarios,
    tornado_scenarios,
)
from optimizer.sweeps.worker import (
    NOT_REPRODUCIBLE_ROW,
    SweepSetup,
    portfolio_token,
    solve_scenario,
)

__all__ = ["KINDS", "RESULT_COLUMNS", "make_scenarios", "run_sweep", "write_sweep_report"]

KINDS = ("tornado", "scenarios", "grid", "monte_carlo", "marginal", "custom")
# One row per scenario. npv_change_musd = re-optimized NPV - the base's; value_per_unit_musd
# = npv_change / units added (marginal sweeps).
RESULT_COLUMNS = [
    "scenario", "kind", "changes", "driver", "level", "resource", "units",
    "npv_reoptimized_musd", "npv_base_plan_musd", "regret_musd", "npv_change_musd",
    "value_per_unit_musd", "halls_converted", "base_plan_feasible", "status", "gap",
    "seconds", "solve_seconds", "message"]
# Columns that must not depend on the executor (timings do).
DETERMINISTIC_COLUMNS = [c for c in RESULT_COLUMNS if c not in ("seconds", "solve_seconds")]

RowCallback = Callable[[int, dict[str, Any]], None]


def make_scenarios(portfolio: Portfolio, kind: str, *, grid: str | None = None,
                   draws: int | None = None, ranges: dict[str, tuple[float, float]] | None = None,
                   seed: int | None = None, marginal_budget_musd: float = 100.0,
                   marginal_grid_mw: float = 50.0, monte_carlo: MonteCarloSpec | None = None
                   ) -> list[Scenario]:
    """The scenarios of a sweep kind, base first (see `optimizer.sweeps.scenarios`)."""
    if kind == "tornado":
        return tornado_scenarios(portfolio, ranges)
    if kind == "scenarios":
        return sheet_scenarios(portfolio)
    if kind == "grid":
        if not grid:
            raise UsageError("a grid sweep needs a spec such as "
                             "'hashprice=0.8,1,1.2;capex=0.9,1.1'")
        return grid_scenarios(portfolio, parse_grid(grid))
    if kind == "monte_carlo":
        if not draws:
            raise UsageError("a Monte Carlo sweep needs the number of draws (--monte-carlo N)")
        return monte_carlo_scenarios(
            portfolio, draws, portfolio.settings.random_seed if seed is None else seed,
            monte_carlo)
    if kind == "marginal":
        return marginal_scenarios(portfolio, marginal_budget_musd, marginal_grid_mw)
    raise UsageError(f"unknown sweep kind {kind!r}; choose from {', '.join(KINDS[:-1])}")


def run_sweep(portfolio: Portfolio, kind: str = "tornado", *, grid: str | None = None,
              draws: int | None = None, ranges: dict[str, tuple[float, float]] | None = None,
              scenarios: Sequence[Scenario] | None = None, workers: int | None = None,
              dask_address: str | None = None, mip_gap: float | None = None,
              time_limit: float | None = None, seed: int | None = None,
              marginal_budget_musd: float = 100.0, marginal_grid_mw: float = 50.0,
              monte_carlo: MonteCarloSpec | None = None, progress: bool = True,
              on_result: RowCallback | None = None, reuse_models: bool = True,
              total_time: float | None = None, store: ResultStore | None = None
              ) -> pd.DataFrame:
    """Run a sweep and return one row per scenario (`RESULT_COLUMNS`), in scenario order.

    `kind`: tornado | scenarios (the workbook's Scenarios sheet) | grid (`grid` spec) |
    monte_carlo (`draws`, seeded by `seed` or Settings random_seed, volatilities in
    `monte_carlo`) | marginal (+`marginal_budget_musd`, +1 hall, +`marginal_grid_mw`); or
    pass your own `scenarios` (base first). `workers`: processes (default: CPU cores; 1 = in
    this process); `dask_address`: an existing Dask scheduler instead. `mip_gap`/`time_limit`
    default to Settings; `time_limit` is each solve's. `total_time` (seconds) is the whole
    run's budget: each solve gets an equal share of it, fixed up front (`optimizer.budget`).
    `on_result(i, row)` is called as each row arrives (after the base). `store`
    (`optimizer.checkpoint.open_store`) keeps each finished row as it arrives, and rows it
    already holds are not solved again: a run resumed from the store of an interrupted one
    gives the rows of an uninterrupted run.

    With ``workers`` > 1 the pool starts fresh ("spawn") processes, which import the calling
    script: a script must call `run_sweep` under ``if __name__ == "__main__":``.

    ``results.attrs`` holds: kind, base_npv_musd, seed, mip_gap, time_limit_s (each solve's),
    total_time_s, budget (which is which, in words), capped (solves the whole run's deadline
    cut short: the run is then not reproducible), resumed (rows read from `store`),
    interrupted, sites, quarters and decisions (tuples scenario, site, option, start quarter,
    halls of each re-optimized plan), which `write_sweep_report` uses for the Decision
    stability sheet.
    """
    settings = portfolio.settings
    seed = settings.random_seed if seed is None else int(seed)
    if scenarios is None:
        scenarios = make_scenarios(portfolio, kind, grid=grid, draws=draws, ranges=ranges,
                                   seed=seed, marginal_budget_musd=marginal_budget_musd,
                                   marginal_grid_mw=marginal_grid_mw, monte_carlo=monte_carlo)
    else:
        kind = "custom" if kind not in KINDS else kind
        check_scenarios(portfolio, scenarios)
    scenarios = list(scenarios)
    if not scenarios or scenarios[0].changes:
        raise UsageError("a sweep starts with the unchanged base scenario")
    processes = 1  # with a Dask scheduler its workers run the solves
    if dask_address is None:
        processes = (os.cpu_count() or 1) if workers is None else int(workers)
        if processes < 1:
            raise UsageError(f"--workers must be at least 1, not {processes}")
    # The base alone, then the others on every slot: the waves of the budget's split.
    slots = processes if dask_address is None else (
        dask_slots(dask_address) if total_time is not None else 1)
    budget = _budget(portfolio, total_time, len(scenarios), slots,
                     settings.time_limit_s if time_limit is None else time_limit,
                     pool=dask_address is None and processes > 1 and len(scenarios) > 2)
    # One thread per solve: results must not depend on the executor (see the docstring).
    solver = SolverOptions.from_settings(settings, time_limit=budget.per_solve_s,
                                         mip_gap=mip_gap, threads=1, seed=seed)
    setup = SweepSetup(portfolio=portfolio, base=None, solver=solver,
                       token=portfolio_token(portfolio), reuse_models=reuse_models,
                       deadline=budget.deadline)

    bar = _progress_bar(len(scenarios), progress)
    rows: dict[int, dict[str, Any]] = {}

    def record_base(_: int, row: dict[str, Any]) -> None:
        rows[0] = dict(row)

    run_all(solve_scenario, setup, scenarios[:1], record=record_base, failed=_failed,
            store=store, keep=_keep)
    bar.update(1)
    setup = replace(setup, base=rows[0].pop("base_plan", None))

    def record(i: int, row: dict[str, Any]) -> None:
        rows[i + 1] = row
        bar.update(1)
        bar.set_postfix_str(f"{row['scenario']}: {row['status']}", refresh=False)  # whole
        if on_result is not None:
            on_result(i + 1, row)

    rest = scenarios[1:]
    interrupted = False
    try:
        # The setup goes to each process once; each builds its model once (`sweeps.worker`).
        run_all(solve_scenario, setup, rest, record=record, failed=_failed,
                workers=processes, dask_address=dask_address, store=store, keep=_keep)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    results = _results(portfolio, kind, scenarios, rows, setup, interrupted)
    results.attrs.update({"total_time_s": budget.total_s, "budget": budget.describe(),
                          "resumed": 0 if store is None else store.used})
    return results


def _budget(portfolio: Portfolio, total_time: float | None, scenarios: int, slots: int,
            time_limit: float, pool: bool) -> RunBudget:
    """Each solve's time limit (`optimizer.budget.split_total`): the base alone, then the
    other scenarios on every slot; each wave's overhead estimated from the base's size (the
    same for every scenario but a lead-time change); the pool's start reserved if one is
    started."""
    if total_time is None:
        return split_total(None, 1, slots, time_limit)
    econ = build_economics(portfolio)
    count = 1 + waves(scenarios - 1, slots)
    columns = len(econ.halls) + len(econ.cooling) + len(econ.power)
    return split_total(total_time, count, slots, time_limit,
                       overhead_s=count * solve_overhead_s(columns),
                       reserve_s=START_RESERVE_S if pool else 0.0)


def _keep(row: dict[str, Any]) -> bool:
    """Rows kept in the store: every row but a failure (a resume runs a failure again)."""
    return bool(row.get("status") != "error")


def _progress_bar(total: int, enabled: bool) -> Any:
    """Scenarios done, on stderr (`optimizer.progress.counter_bar`: a bar on a terminal, plain
    lines without one, nothing when not enabled)."""
    from optimizer.progress import counter_bar

    return counter_bar(total, unit="scenario", desc="sweep", enabled=enabled)


# ---- executors -----------------------------------------------------------------------------
def _failed(scenario: Scenario, err: BaseException) -> dict[str, Any]:
    """The row of a scenario whose task died outside `solve_scenario` (worker lost...)."""
    return {"scenario": scenario.name, "status": "error", "seconds": np.nan,
            "message": f"{type(err).__name__}: {err}"[:2000], "decisions": ()}


def parse_ranges(items: Sequence[str]) -> dict[str, tuple[float, float]]:
    """``["hashprice=0.6,1.4", ...]`` -> tornado levels per driver. UsageError if malformed."""
    out: dict[str, tuple[float, float]] = {}
    for item in items:
        levels = parse_grid(item)
        for driver, values in levels.items():
            if len(values) != 2:
                raise UsageError(f"--range {item!r}: give DRIVER=LOW,HIGH (two numbers)")
            out[driver] = (values[0], values[1])
    return out


def sweep_text(results: pd.DataFrame) -> str:
    """A few lines for the terminal: counts, the base, and the kind's headline."""
    a = results.attrs
    planned = results["status"].isin(PLANNED)
    lines = [f"{a.get('kind', 'sweep')} sweep: {len(results)} scenarios, {int(planned.sum())} "
             f"with a plan; base NPV {money(a.get('base_npv_musd'))}"]
    bad = results[~planned]
    if len(bad):
        lines.append(f"{len(bad)} without a plan: " + ", ".join(
            f"{r.scenario} ({r.status})" for r in bad.head(5).itertuples()))
    if a.get("budget"):
        lines.append(str(a["budget"]))
    if a.get("capped"):
        lines.append(f"warning: {a['capped']} solve(s) were cut short by the total time (wall "
                     "clock), not by their own budget: this run is not reproducible (raise "
                     "--total-time)")
    stopped = int((results["status"] == Status.FEASIBLE).sum())
    if stopped:
        lines.append(f"warning: {stopped} solve(s) stopped on their effort before the gap "
                     "(raise --time-limit or --mip-gap)")
    # only the safety cap's rows: those the total time cut are counted above
    capped = int(results["message"].astype(str).str.contains(NOT_REPRODUCIBLE_ROW,
                                                              regex=False).sum())
    if capped:
        lines.append(f"warning: {capped} solve(s) NOT reproducible: the wall-clock safety cap "
                     "stopped them (a very busy machine); their rows may differ on a rerun")
    regret = results["regret_musd"]
    if regret.notna().any():
        worst = results.loc[regret.idxmax()]
        lines.append(f"largest regret of today's plan: {money(worst['regret_musd'])} "
                     f"({worst['scenario']})")
    if (results["kind"] == "tornado").any():
        from optimizer.sweeps.report import tornado_table

        top = tornado_table(results).head(3)
        lines.append("largest swings: " + ", ".join(
            f"{r.driver} {money(r.swing_musd)}" for r in top.itertuples()))
    draws = results.loc[results["kind"] == "monte_carlo", "npv_reoptimized_musd"].dropna()
    if len(draws):
        p10, p50, p90 = np.percentile(draws, [10, 50, 90])
        lines.append(f"NPV over {len(draws)} draws: P10 {money(p10)}, P50 {money(p50)}, "
                     f"P90 {money(p90)}")
    return "\n".join(lines)


# ---- the results table ---------------------------------------------------------------------
def _results(portfolio: Portfolio, kind: str, scenarios: list[Scenario],
             rows: dict[int, dict[str, Any]], setup: SweepSetup, interrupted: bool
             ) -> pd.DataFrame:
    records = []
    decisions: list[tuple[str, str, str, str, int]] = []
    for i, scenario in enumerate(scenarios):
        row = rows.get(i) or {"scenario": scenario.name, "status": "interrupted",
                              "message": "not run: the sweep was interrupted", "decisions": ()}
        decisions += [(scenario.name, *d) for d in row.get("decisions", ())]
        records.append({**{c: row.get(c, np.nan) for c in RESULT_COLUMNS}, **{
            "scenario": scenario.name, "kind": scenario.kind, "changes": scenario.describe(),
            "driver": scenario.driver, "level": scenario.level,
            "resource": scenario.resource, "units": scenario.units}})
    frame = pd.DataFrame.from_records(records, columns=RESULT_COLUMNS)
    for column in ("npv_reoptimized_musd", "npv_base_plan_musd", "regret_musd", "units",
                   "gap", "seconds", "solve_seconds", "halls_converted"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["message"] = frame["message"].fillna("").astype(str)
    base_npv = float(frame["npv_reoptimized_musd"].iloc[0])
    frame["npv_change_musd"] = frame["npv_reoptimized_musd"] - base_npv
    frame["value_per_unit_musd"] = frame["npv_change_musd"] / frame["units"]
    frame.attrs.update({
        "kind": kind, "base_npv_musd": base_npv, "seed": setup.solver.seed,
        "mip_gap": setup.solver.mip_gap, "time_limit_s": setup.solver.time_limit,
        "interrupted": interrupted,
        "capped": sum(bool(row.get("capped")) for row in rows.values()),
        "sites": portfolio.site_names, "quarters": portfolio.quarter_labels,
        "source": portfolio.source, "decisions": decisions})
    return frame
