"""Robust plans at scale: the extensive form against the scenario decomposition.

    python -m benchmarks.robust_bench                                  # sample, 10/30/100 draws
    python -m benchmarks.robust_bench --draws 10,30 --methods extensive --time-limit 600
    python -m benchmarks.robust_bench --instance 3 --horizon 6 --draws 2 --time-limit 20  # tiny
    python -m benchmarks.robust_bench --draws 20 --methods extensive --out-of-sample 200 \\
        --workers 2 --side-by-side                                    # the closing-note figures
    dask scheduler --host 127.0.0.1 --port 8786 &                     # a Dask cluster ...
    dask worker tcp://127.0.0.1:8786 --nworkers 2 --nthreads 1 &
    python -m benchmarks.robust_bench --draws 100 --methods decomposition \\
        --dask tcp://127.0.0.1:8786                                    # ... 100 draws on it

Each run is one `optimizer.robust` call in a fresh process (so its peak memory, read from the
kernel's high-water mark of that process, includes HiGHS's), asked for a relative gap of
`--gap` (default 1%) within `--time-limit` per solve. Printed per run: wall-clock seconds, the
gap reached (the run reached the target gap if status is optimal), RP and its bound, EEV, WS,
VSS, EVPI, peak RSS in MB (this process's or its pool's; Dask workers' memory is their own).
`--side-by-side` also prints both first stages.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from pathlib import Path
from typing import Any

SAMPLE = Path(__file__).resolve().parent.parent / "inputs" / "sample_portfolio.xlsx"


def load(instance: str, horizon: int) -> Any:
    from optimizer.inputs.validation import portfolio_from_tables
    from optimizer.inputs.workbook import load_portfolio

    if instance == "sample":
        return load_portfolio(SAMPLE)
    from benchmarks.generate import make_tables

    return portfolio_from_tables(make_tables(int(instance), horizon, seed=1))


def one_run(args: dict[str, Any], queue: Any) -> None:
    """In a fresh process: one robust plan, its figures and this process's peak RSS."""
    from optimizer.robust.robust import robust

    portfolio = load(args["instance"], args["horizon"])
    started = time.perf_counter()
    plan = robust(portfolio, draws=args["draws"], seed=args["seed"],
                  commit_quarters=args["commit_quarters"], risk_weight=args["risk_weight"],
                  cvar_level=args["cvar_level"], out_of_sample=args["out_of_sample"],
                  time_limit=args["time_limit"], mip_gap=args["gap"], workers=args["workers"],
                  dask_address=args["dask"], method=args["method"],
                  progress=args["progress"], firmness=False)  # the plan's time, as published
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out = {"seconds": seconds, "peak_mb": max(peak_mb, children_mb), "status": plan.status,
           "gap": plan.gap, "rp": plan.objective_musd, "bound": plan.bound_musd,
           "eev": plan.eev_musd, "ws": plan.wait_and_see_musd, "vss": plan.vss_musd,
           "vss_significant": plan.vss_significant, "evpi": plan.evpi_musd,
           "timings": plan.timings, "method": plan.method,
           "first": plan.first_stage_decisions.to_string(index=False),
           "first_upgrades": plan.first_stage_upgrades.to_string(index=False),
           "det": plan.deterministic_decisions.to_string(index=False),
           "det_upgrades": plan.deterministic_upgrades.to_string(index=False),
           "summary": plan.summary[["metric", "value"]].to_string(index=False)}
    queue.put(out)


def run(args: dict[str, Any]) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=one_run, args=(args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instance", default="sample", help="sample, or a number of sites "
                        "for a generated portfolio (benchmarks/generate.py)")
    parser.add_argument("--horizon", type=int, default=40, help="quarters (generated only)")
    parser.add_argument("--draws", default="10,30,100", help="scenario counts, comma-separated")
    parser.add_argument("--methods", default="extensive,decomposition")
    parser.add_argument("--gap", type=float, default=0.01)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--commit-quarters", type=int, default=4)
    parser.add_argument("--risk-weight", type=float, default=0.0)
    parser.add_argument("--cvar-level", type=float, default=0.1)
    parser.add_argument("--out-of-sample", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--dask", default=None, metavar="ADDRESS",
                        help="run the scenario sub-problems on this Dask scheduler")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--side-by-side", action="store_true")
    parser.add_argument("--progress", action="store_true", help="show each run's tqdm bar")
    ns = parser.parse_args(argv)
    print("draws  method         seconds  status    gap      RP_musd    bound    EEV      WS"
          "       VSS     EVPI    peak_MB")
    for draws in (int(x) for x in ns.draws.split(",")):
        for method in ns.methods.split(","):
            args = {"instance": ns.instance, "horizon": ns.horizon, "draws": draws,
                    "seed": ns.seed, "commit_quarters": ns.commit_quarters,
                    "risk_weight": ns.risk_weight, "cvar_level": ns.cvar_level,
                    "out_of_sample": ns.out_of_sample, "time_limit": ns.time_limit,
                    "gap": ns.gap, "workers": ns.workers, "dask": ns.dask,
                    "method": method,
                    "progress": ns.progress}
            r = run(args)
            print(f"{draws:5d}  {r['method']:13s} {r['seconds']:8.1f}  {r['status']:8s} "
                  f"{r['gap']:7.2%} {r['rp']:9.1f} {r['bound']:9.1f} {r['eev']:8.1f} "
                  f"{r['ws']:8.1f} {r['vss']:8.1f} {r['evpi']:8.1f} {r['peak_mb']:8.0f}")
            print("       timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in
                                                r["timings"].items()))
            if ns.side_by_side:
                print("\nRobust first stage (commit now):\n" + r["first"] + "\n"
                      + r["first_upgrades"])
                print("\nDeterministic plan's first stage:\n" + r["det"] + "\n"
                      + r["det_upgrades"])
                print("\n" + r["summary"] + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
