"""Does more time ever give a worse plan? The same instance, seed, method and threads at rising
time limits; a longer limit must return an NPV at least as high.

    python -m benchmarks.monotonic                     # sample, 8x40, 60x40 at 20/60/120 s
    python -m benchmarks.monotonic --instances 8x40 --limits 5,10,20 -o /tmp/mono.md

Instances: `sample` (inputs/sample_portfolio.xlsx) and `NxT` (benchmarks.generate.make_tables,
generator seed 1). Each (instance, limit) runs `optimizer.optimize` in its own child process,
one after the other, never in parallel, with `--method` (default auto, what `sitepivot plan`
runs), `--threads` (default 1: HiGHS with several threads is not deterministic, so only one
thread isolates the methods' own logic) and solver seed 0. The limit is the solver's
(`sitepivot plan --time-limit L` gives the solver `optimizer.time_budgets(L)[0]`).

Printed (and written with -o) as a Markdown table: NPV, proven bound, gap, the method that ran,
solve seconds, and `vs shorter` = this NPV less the NPV at the next shorter limit ($M): a
negative figure breaks monotonicity and is marked `WORSE`. Exit code 1 if any row is WORSE.
A benchmark, not a test. Since issue 20 every solve stops on its effort, not on the wall clock,
so the table is the same on any machine load (solve seconds aside).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "inputs" / "sample_portfolio.xlsx"
GENERATOR_SEED = 1
TOLERANCE = 1e-6  # $M; NPVs equal to this are the same plan's rounding


def machine() -> str:
    """`vm: 2 cores, AMD EPYC` (host, cores, CPU model from /proc/cpuinfo when there is one)."""
    model = platform.processor() or "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{platform.node()}: {os.cpu_count()} cores, {model}"


def instance_path(name: str, folder: Path) -> Path:
    """The workbook of an instance: the sample, or a generated NxT written to `folder`."""
    if name == "sample":
        return SAMPLE
    sites, quarters = (int(x) for x in name.lower().split("x"))
    from benchmarks.generate import make_tables
    from optimizer.inputs.template import write_workbook

    path = folder / f"{name}.xlsx"
    if not path.exists():
        write_workbook(make_tables(sites, quarters, seed=GENERATOR_SEED), path, force=True)
    return path


def run_one(path: Path, limit: float, method: str, threads: int) -> dict:
    """One solve, in this process: what the table shows."""
    from optimizer.inputs.workbook import load_portfolio
    from optimizer.solve.optimize import optimize

    plan = optimize(load_portfolio(path), time_limit=limit, threads=threads, seed=0,
                    method=method)
    return {"npv": plan.npv_musd, "bound": plan.bound_musd, "gap": plan.gap,
            "status": plan.status, "method": plan.method,
            "solve_s": plan.timings.get("solve", float("nan"))}


def measure(instances: list[str], limits: list[float], method: str, threads: int,
            folder: Path) -> list[dict]:
    """Every (instance, limit), each in a child process; rows in order."""
    rows = []
    for name in instances:
        path = instance_path(name, folder)
        previous = None
        for limit in sorted(limits):
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.monotonic", "--child", str(path),
                 str(limit), method, str(threads)],
                cwd=ROOT, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"{name} at {limit:g} s failed:\n{done.stderr[-2000:]}")
            row = {"instance": name, "limit_s": limit,
                   **json.loads(done.stdout.strip().splitlines()[-1])}
            row["vs_shorter"] = None if previous is None else row["npv"] - previous
            previous = row["npv"]
            rows.append(row)
            print(table([row], header=not rows[:-1]), flush=True)
    return rows


def table(rows: list[dict], header: bool = True) -> str:
    """Rows as a Markdown table (header optional, for printing row by row)."""
    lines = ["| instance | limit s | NPV $M | bound $M | gap | method | solve s | vs shorter $M |",
             "|---|---:|---:|---:|---:|---|---:|---:|"] if header else []
    for r in rows:
        vs = "" if r["vs_shorter"] is None else f"{r['vs_shorter']:+,.1f}" + (
            " WORSE" if r["vs_shorter"] < -TOLERANCE else "")
        lines.append(f"| {r['instance']} | {r['limit_s']:g} | {r['npv']:,.1f} | "
                     f"{r['bound']:,.1f} | {r['gap']:.2%} | {r['method']} | "
                     f"{r['solve_s']:.1f} | {vs} |")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        path, limit, method, threads = sys.argv[2:6]
        print(json.dumps(run_one(Path(path), float(limit), method, int(threads))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default="sample,8x40,60x40",
                        help="comma-separated: sample and/or NxT (default sample,8x40,60x40)")
    parser.add_argument("--limits", default="20,60,120", help="seconds, comma-separated")
    parser.add_argument("--method", default="auto",
                        choices=["auto", "monolithic", "neighbourhood", "decomposition"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="also write the table (Markdown) here")
    args = parser.parse_args()
    limits = [float(x) for x in args.limits.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        rows = measure(args.instances.split(","), limits, args.method, args.threads,
                       Path(folder))
    text = (f"Measured on {machine()}, Python {platform.python_version()}, HiGHS "
            f"{version('highspy')}; method {args.method}, {args.threads} thread(s), solver seed "
            f"0, generator seed {GENERATOR_SEED}; command: python -m benchmarks.monotonic "
            f"{' '.join(sys.argv[1:])}\n\n" + table(rows))
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    worse = [r for r in rows if r["vs_shorter"] is not None and r["vs_shorter"] < -TOLERANCE]
    print(f"\n{len(worse)} of {len(rows)} runs worse than the shorter limit")
    sys.exit(1 if worse else 0)


if __name__ == "__main__":
    main()
