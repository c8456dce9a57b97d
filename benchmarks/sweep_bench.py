"""Sweep throughput: rebuild-per-scenario against in-place re-solve, 1 against 2 workers, and a
Monte Carlo on the local pool against a Dask LocalCluster (identical results?).

    python -m benchmarks.sweep_bench                       # the sample, 12 draws, gap 5%
    python -m benchmarks.sweep_bench --instance 20 --gap 0.02 --draws 12
    python -m benchmarks.sweep_bench --kind tornado        # 16 tornado scenarios instead
    python -m benchmarks.sweep_bench --draws 0 --mc 200    # only pool vs Dask, 200 draws

Scenarios per minute count the scenarios after the base (the base is solved first, in the
calling process, in every mode); wall-clock includes starting the worker processes. All modes run
the same scenarios with one HiGHS thread per solve, stopped by the gap (the time limit is
generous so that it never binds), so their results must be identical; the script checks it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from models.portfolio import Portfolio
from optimizer.inputs.validation import portfolio_from_tables
from optimizer.inputs.workbook import load_portfolio
from optimizer.sweeps.sweep import DETERMINISTIC_COLUMNS, run_sweep

SAMPLE = Path(__file__).resolve().parent.parent / "inputs" / "sample_portfolio.xlsx"


def load(instance: str) -> Portfolio:
    if instance == "sample":
        return load_portfolio(SAMPLE)
    from benchmarks.generate import make_tables

    return portfolio_from_tables(make_tables(int(instance), 40, seed=1))


def timed(portfolio: Portfolio, kind: str, draws: int, gap: float, **options: object
          ) -> tuple[pd.DataFrame, float]:
    """Results and scenarios per minute after the base (wall-clock)."""
    started = time.perf_counter()
    results = run_sweep(portfolio, kind, draws=draws, mip_gap=gap, time_limit=3600.0,
                        progress=False, **options)
    wall = time.perf_counter() - started - float(results["seconds"].iloc[0])
    return results, 60.0 * (len(results) - 1) / wall


def same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    return a[DETERMINISTIC_COLUMNS].equals(b[DETERMINISTIC_COLUMNS]) \
        and a.attrs["decisions"] == b.attrs["decisions"]


def throughput(portfolio: Portfolio, kind: str, draws: int, gap: float) -> None:
    """Rebuild vs in-place (1 worker), then 1 vs 2 workers (in place)."""
    rebuilt, rate_rebuild = timed(portfolio, kind, draws, gap, workers=1, reuse_models=False)
    in_place, rate_in_place = timed(portfolio, kind, draws, gap, workers=1)
    print(f"rebuild per scenario, 1 worker: {rate_rebuild:8.1f} scenarios/min")
    print(f"in-place re-solve,    1 worker: {rate_in_place:8.1f} scenarios/min "
          f"({rate_in_place / rate_rebuild:.2f}x); identical results: {same(rebuilt, in_place)}")
    two, rate_two = timed(portfolio, kind, draws, gap, workers=2)
    print(f"in-place re-solve,   2 workers: {rate_two:8.1f} scenarios/min "
          f"({rate_two / rate_in_place:.2f}x of 1 worker); identical results: "
          f"{same(in_place, two)}")
    for name, frame in (("rebuild", rebuilt), ("in place", in_place)):
        rows = frame.iloc[1:]
        prepare = (rows["seconds"] - rows["solve_seconds"]).mean()
        print(f"{name:9s} mean seconds per scenario in the worker: {rows['seconds'].mean():.2f} "
              f"= preparing (economics, model build or update, base plan valued, MIP start) "
              f"{prepare:.2f} + HiGHS {rows['solve_seconds'].mean():.2f}")
    print(f"{len(in_place) - 1} scenarios after the base; max gap {in_place['gap'].max():.4f}; "
          "statuses "
          f"{in_place['status'].value_counts().to_dict()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", default="sample",
                        help="'sample' or a number of sites for benchmarks.generate (40 quarters)")
    parser.add_argument("--draws", type=int, default=12, help="0: skip the throughput runs")
    parser.add_argument("--gap", type=float, default=0.05)
    parser.add_argument("--kind", default="monte_carlo", choices=("monte_carlo", "tornado"),
                        help="the sweep timed for throughput")
    parser.add_argument("--mc", type=int, default=0,
                        help="also run an N-draw Monte Carlo on a 2-process pool and on a Dask "
                        "LocalCluster (2 workers) and compare")
    args = parser.parse_args()
    portfolio = load(args.instance)
    print(f"instance {args.instance}: {len(portfolio.sites)} sites, {len(portfolio.options)} "
          f"options, {portfolio.horizon} quarters; {args.kind} sweep "
          f"({args.draws} draws if Monte Carlo), gap {args.gap:g}")

    if args.draws:
        throughput(portfolio, args.kind, args.draws, args.gap)

    if args.mc:
        from distributed import LocalCluster

        started = time.perf_counter()
        pool = run_sweep(portfolio, "monte_carlo", draws=args.mc, mip_gap=args.gap,
                         time_limit=3600.0, workers=2, progress=False)
        pool_s = time.perf_counter() - started
        with LocalCluster(processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1",
                          dashboard_address=None) as cluster:
            started = time.perf_counter()
            dask = run_sweep(portfolio, "monte_carlo", draws=args.mc, mip_gap=args.gap,
                             time_limit=3600.0, dask_address=cluster.scheduler_address,
                             progress=False)
            dask_s = time.perf_counter() - started
        print(f"Monte Carlo {args.mc} draws: pool (2 processes) {pool_s:.0f} s, Dask "
              f"LocalCluster (2 workers) {dask_s:.0f} s; identical results: {same(pool, dask)}; "
              f"statuses {pool['status'].value_counts().to_dict()}")


if __name__ == "__main__":
    main()
