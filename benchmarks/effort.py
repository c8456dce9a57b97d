"""Calibration of the effort (optimizer/solve/options.py): HiGHS work units per second.

    python -m benchmarks.effort [--seconds 60] [--threads 1] [--instances sample,8x40]

An effort second is WORK_PER_SECOND work units: (LP iterations + MIP limit checks) x
work_scale(rows) (`optimizer.solve.highs.Meter`), so that `--time-limit 60` takes about 60 s on
an idle machine like the one the constant was measured on. This script runs HiGHS alone (the
monolithic method's model, no start, one thread, seed 0, gap 0) on each instance for `--seconds`
of *wall clock* (HiGHS's own time limit, no effort budget) and counts the work; it also reports
the process's CPU seconds, which on a shared machine stand in for the wall seconds of an idle
one. Printed per instance: rows, checks, LP iterations, work units, wall s, CPU s, units per
CPU s. The constant is the mean of units per CPU second over the instances, rounded
(benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks.generate import make_tables
from models.conversion import build_model
from models.economics import build_economics
from models.portfolio import Portfolio
from optimizer.inputs.validation import portfolio_from_tables
from optimizer.inputs.workbook import load_portfolio
from optimizer.solve.highs import HighsRunner, work_scale
from optimizer.solve.highs.meter import _lp_iterations

SAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "sample_portfolio.xlsx"


def instance(name: str) -> Portfolio:
    """`sample`, or `NxT` (benchmarks.generate, seed 1)."""
    if name == "sample":
        return load_portfolio(SAMPLE)
    n, t = (int(x) for x in name.split("x"))
    return portfolio_from_tables(make_tables(n, t, seed=1))


def measure(portfolio: Portfolio, seconds: float, threads: int) -> dict[str, float]:
    """HiGHS alone for `seconds` of wall clock, its limit checks counted."""
    runner = HighsRunner(build_model(build_economics(portfolio)))
    highs = runner._highs
    checks, iterations = [0], [0]

    def count(event: object) -> None:
        out = event.data_out  # type: ignore[attr-defined]
        checks[0] += 1
        iterations[0] = _lp_iterations(out, out.running_time, out.mip_node_count) or 0

    for key, value in (("time_limit", float(seconds)), ("threads", threads),
                       ("random_seed", 0), ("output_flag", False), ("mip_rel_gap", 0.0)):
        highs.setOptionValue(key, value)
    highs.cbMipInterrupt.subscribe(count)
    wall, cpu = time.perf_counter(), time.process_time()
    highs.run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    highs.cbMipInterrupt.unsubscribe(count)
    units = (iterations[0] + checks[0]) * work_scale(highs.getNumRow())
    return {"rows": highs.getNumRow(), "checks": checks[0], "iterations": iterations[0],
            "units": units, "wall_s": wall, "cpu_s": cpu, "per_cpu_s": units / cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--instances", default="sample,8x40")
    args = parser.parse_args()
    print("instance   rows  checks  LP iters     units  wall_s  cpu_s  units/cpu_s")
    for name in args.instances.split(","):
        r = measure(instance(name), args.seconds, args.threads)
        print(f"{name:8s} {r['rows']:6d} {r['checks']:7d} {r['iterations']:9d} "
              f"{r['units']:9.0f} {r['wall_s']:7.1f} {r['cpu_s']:6.1f} {r['per_cpu_s']:12.0f}",
              flush=True)


if __name__ == "__main__":
    main()
