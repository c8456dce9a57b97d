"""Benchmark: the monolithic MILP against its neighbourhood search and the decomposition by site.

    python -m benchmarks.run [--quick] [--only 300x40] [--time-limit S] [--gap G] [-o out.csv]
    python -m benchmarks.run --only 8x40 --seeds 1,2,3,4,5,6 --methods monolithic,cumulative

Instances (benchmarks.generate.make_tables, seed 1): 8, 60 and 300 sites by 40 quarters and 300
by 60 (`--quick`: the 8- and 60-site ones). Each instance is written once as an .xlsx workbook;
then each method runs in its own child process (so its peak memory is its own), one after the
other, never in parallel: read (load and validate the workbook), build (economics and model),
solve, with the same time limit, target gap, one thread and seed. Printed per instance and
method: seconds of each step, peak resident memory, NPV, proven bound, gap, and the ratio of
solve seconds, NPV and gap to the first method (monolithic unless `--methods` says otherwise) on
the same instance in the same run. `--seeds` runs one instance per generator seed: HiGHS's
branch-and-bound time varies a lot between instances of one size, so compare over several.
Benchmarks, not tests: the machine may be shared, so compare methods within one run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

INSTANCES = [(8, 40), (60, 40), (300, 40), (300, 60)]
QUICK = [(8, 40), (60, 40)]
SEED = 1
# "cumulative": the monolithic model with its budget rows written over the cumulative variables
# (build_model(budget_over_starts=False)), the formulation before the rows were written over the
# start variables; kept to measure that change.
METHODS = ("monolithic", "neighbourhood", "decomposition", "cumulative")
DEFAULT_METHODS = ("monolithic", "neighbourhood", "decomposition")
# Default time limit (s) and target gap per instance size: the targets of issue 6.
DEFAULT_LIMIT = {8: 60.0, 60: 120.0, 300: 300.0}
DEFAULT_GAP = {8: 0.001, 60: 0.001, 300: 0.01}


def run_method(path: Path, method: str, time_limit: float, gap: float, threads: int) -> dict:
    """Read, build and solve one workbook with one method (in this process)."""
    from models.economics import build_economics, evaluate
    from optimizer.inputs.workbook import load_portfolio
    from optimizer.solve.optimize import audit, optimize
    from optimizer.solve.options import SolverOptions
    from optimizer.status import has_plan

    out: dict = {"method": method}
    clock = time.perf_counter()
    portfolio = load_portfolio(path)
    out["read_s"] = time.perf_counter() - clock
    if method == "cumulative":
        out.update(cumulative_rows(portfolio, time_limit, gap, threads))
    elif method in ("monolithic", "neighbourhood"):
        plan = optimize(portfolio, time_limit=time_limit, mip_gap=gap, threads=threads, seed=0,
                        method=method)
        out["build_s"] = plan.timings.get("economics", 0.0) + plan.timings.get("build", 0.0)
        out["solve_s"] = plan.timings.get("greedy", 0.0) + plan.timings.get("solve", 0.0)
        out.update(status=plan.status, npv=plan.npv_musd, bound=plan.bound_musd, gap=plan.gap)
    else:
        from optimizer.solve.decompose import solve_decomposed

        clock = time.perf_counter()
        econ = build_economics(portfolio)
        economics_s = time.perf_counter() - clock
        result = solve_decomposed(econ, SolverOptions(time_limit, gap, threads=threads, seed=0))
        if has_plan(result.status):
            valuation = evaluate(econ, result.decisions)
            audit(valuation.npv, result.objective)
        out["build_s"] = economics_s + result.timings.get("build", 0.0)
        out["solve_s"] = result.seconds - result.timings.get("build", 0.0)
        out.update(status=result.status, npv=result.objective, bound=result.bound,
                   gap=result.gap, rounds=result.iterations, columns=result.columns,
                   log=result.log[-3:])
    out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return out


def cumulative_rows(portfolio: object, time_limit: float, gap: float, threads: int) -> dict:
    """The monolithic path of `optimize()` (greedy start, HiGHS) on the older formulation."""
    from models.conversion import build_model
    from models.economics import build_economics, evaluate
    from optimizer.solve.greedy import greedy_plan
    from optimizer.solve.highs import HighsRunner
    from optimizer.solve.optimize import audit, integrality_slack, solution_decisions
    from optimizer.solve.options import SolverOptions
    from optimizer.status import has_plan

    clock = time.perf_counter()
    econ = build_economics(portfolio)  # type: ignore[arg-type]
    model = build_model(econ, budget_over_starts=False)
    runner = HighsRunner(model)
    build_s = time.perf_counter() - clock
    clock = time.perf_counter()
    greedy = greedy_plan(econ)
    if greedy is not None:
        runner.set_start(greedy.start_values(model))
    outcome = runner.solve(SolverOptions(time_limit, gap, threads=threads, seed=0))
    solve_s = time.perf_counter() - clock
    if has_plan(outcome.status):
        audit(evaluate(econ, solution_decisions(model, econ)).npv, outcome.objective,
              integrality_slack(model))
    return {"build_s": build_s, "solve_s": solve_s, "status": outcome.status,
            "npv": outcome.objective, "bound": outcome.bound, "gap": outcome.gap}


def child(args: argparse.Namespace) -> None:
    result = run_method(Path(args.child), args.method, args.time_limit, args.gap, args.threads)
    print("RESULT " + json.dumps(result))


def spawn(path: Path, method: str, time_limit: float, gap: float, threads: int) -> dict:
    command = [sys.executable, "-m", "benchmarks.run", "--child", str(path), "--method", method,
               "--time-limit", str(time_limit), "--gap", str(gap), "--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          cwd=Path(__file__).resolve().parent.parent)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    return {"method": method, "status": "error", "error": done.stderr[-800:]}


def ratio(a: float | None, b: float | None) -> float:
    if a is None or b is None or not b or any(map(math.isnan, (a, b))):
        return float("nan")
    return a / b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8- and 60-site instances only")
    parser.add_argument("--time-limit", type=float, default=None,
                        help="seconds per method and instance (default by size: 60/120/300)")
    parser.add_argument("--gap", type=float, default=None,
                        help="target relative gap (default 0.1%%, 1%% at 300 sites)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", default=None,
                        help="comma-separated instances to run, e.g. 300x40,300x60")
    parser.add_argument("--seeds", default=str(SEED),
                        help="comma-separated generator seeds, one instance each (default 1)")
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                        help=f"comma-separated, from {', '.join(METHODS)}; the first is the "
                        "reference of the ratios (default monolithic,neighbourhood,decomposition)")
    parser.add_argument("-o", "--output", type=Path, default=None, help="write a CSV here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--method", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    from benchmarks.generate import make_tables
    from optimizer.inputs.template import write_workbook

    methods = args.methods.split(",")
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown method(s): {', '.join(unknown)}")
    seeds = [int(x) for x in args.seeds.split(",")]
    rows = []
    header = (f"{'instance':>12} {'method':>13} {'read s':>7} {'build s':>8} {'solve s':>8} "
              f"{'peak MiB':>8} {'NPV $M':>12} {'bound $M':>12} {'gap':>8} "
              f"{'solve x':>7} {'NPV x':>7} {'gap x':>7}")
    print(header, flush=True)
    with tempfile.TemporaryDirectory() as folder:
        instances = QUICK if args.quick else INSTANCES
        if args.only:
            wanted = set(args.only.split(","))
            instances = [i for i in instances if f"{i[0]}x{i[1]}" in wanted]
        for (n_sites, horizon), seed in [(i, s) for i in instances for s in seeds]:
            path = Path(folder) / f"b{n_sites}x{horizon}s{seed}.xlsx"
            write_workbook(make_tables(n_sites, horizon, seed), path, force=True)
            limit = args.time_limit or DEFAULT_LIMIT[n_sites]
            gap = DEFAULT_GAP[n_sites] if args.gap is None else args.gap
            results = {m: spawn(path, m, limit, gap, args.threads) for m in methods}
            base = results[methods[0]]
            name = f"{n_sites}x{horizon}" + (f"s{seed}" if len(seeds) > 1 else "")
            for method, r in results.items():
                r.update(instance=name, seed=seed, time_limit=limit, target_gap=gap,
                         solve_ratio=ratio(r.get("solve_s"), base.get("solve_s")),
                         npv_ratio=ratio(r.get("npv"), base.get("npv")),
                         gap_ratio=ratio(r.get("gap"), base.get("gap")))
                rows.append(r)
                if r.get("status") == "error":
                    print(f"{r['instance']:>12} {method:>13} error: {r.get('error')}", flush=True)
                    continue
                print(f"{r['instance']:>12} {method:>13} {r['read_s']:7.2f} {r['build_s']:8.2f} "
                      f"{r['solve_s']:8.2f} {r['peak_mib']:8.0f} {r['npv']:12,.2f} "
                      f"{r['bound']:12,.2f} {r['gap']:8.3%} {r['solve_ratio']:7.2f} "
                      f"{r['npv_ratio']:7.4f} {r['gap_ratio']:7.2f}", flush=True)
    print(f"target gap {'per size' if args.gap is None else args.gap}, threads {args.threads}, "
          f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.output:
        import pandas as pd

        frame = pd.DataFrame(rows).drop(columns=["log", "error"], errors="ignore")
        tmp = args.output.with_name(args.output.name + ".tmp")
        frame.to_csv(tmp, index=False)
        os.replace(tmp, args.output)


if __name__ == "__main__":
    main()
