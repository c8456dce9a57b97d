"""Fingerprint of plans, NPVs and bounds at fixed effort: a refactor must leave it unchanged.

    python -m benchmarks.fingerprint [--out FILE.json] [--compare OTHER.json] [--quick]
    python -m benchmarks.fingerprint --load NEW.json --compare OLD.json   # two saved runs
    cd /path/to/other/checkout && PYTHONPATH=$PWD python /path/to/benchmarks/fingerprint.py \\
        --out other.json          # the same cases against another commit's code

Each case (`CASES`) solves one instance with one method at a fixed *effort* (deterministic work,
`optimizer.solve.options`; never the wall clock), one HiGHS thread and seed 0, each in its own
child process, one after the other, and records: case, method asked and run, effort seconds
(the limit, and what was spent), status, termination, NPV, bound and gap ($M, full precision),
and the SHA-256 of the plan's decisions (hall starts, cooling modules and power upgrades by
site, option or kind and quarter; MW mined per site and quarter; each rounded to 1e-6). Sweep
and robust cases add their per-scenario figures (`detail`). Two runs at different commits
that should give the same plans can then be compared exactly: `--compare OTHER.json` prints a
same/DIFFERENT table and exits 1 on any difference (a case missing or failed included).

The code under test is the `optimizer` package this interpreter imports (PYTHONPATH first),
and the instances come from that tree too (its `inputs/sample_portfolio.xlsx` and
`benchmarks.generate`); the header names the tree and its commit. A run the wall-clock safety
cap stopped is marked `reproducible: false`: such a difference is the machine's, not the code's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:
    # Run by path (`python .../benchmarks/fingerprint.py`): the script's own folder is not a
    # package root, and its modules (run.py, generate.py, ...) must not shadow anything; the
    # code under test is found through PYTHONPATH.
    sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

GENERATOR_SEED = 1  # benchmarks.generate's seed for every NxT instance (as benchmarks/run.py)
DECIMALS = 6  # decisions are hashed rounded to 1e-6 (halls, modules, MW)
# Compared exactly between two runs (floats bit for bit; NaN equals NaN).
COMPARED = ("error", "method", "status", "termination", "effort_s", "effort_spent_s", "npv",
            "bound", "gap", "decisions_sha256", "detail")


@dataclass(frozen=True)
class Case:
    """One solve: `kind` optimize | greedy | sweep | robust | report; `effort` effort seconds
    (per solve for sweep and robust, per phase after the plan for report; None: the
    portfolio's Settings time_limit_s); `gap` None: the Settings' mip_gap; `quick`: in the
    `--quick` subset."""

    name: str
    instance: str  # a key of BUDGET_SCALE (the sample) or NxT (benchmarks.generate)
    kind: str
    method: str = "auto"
    effort: float | None = None
    gap: float | None = None
    quick: bool = False


# The sample with every quarter's budget_musd scaled. Halved (as benchmarks/equal_effort.py's
# sample_capital) the sample's commitments no longer fit (InfeasibleError, since its budgets
# became $75-100M a quarter): that case records the explanation; at 0.9 it is feasible and
# tighter than the sample.
BUDGET_SCALE = {"sample": 1.0, "sample_capital": 0.5, "sample_budget90": 0.9}
CASES = [
    Case("sample-auto-default", "sample", "optimize", "auto"),
    Case("sample_capital-monolithic-20", "sample_capital", "optimize", "monolithic", 20.0,
         quick=True),
    Case("sample_budget90-monolithic-20", "sample_budget90", "optimize", "monolithic", 20.0,
         quick=True),
    Case("8x40-neighbourhood-20", "8x40", "optimize", "neighbourhood", 20.0, quick=True),
    Case("60x40-neighbourhood-30", "60x40", "optimize", "neighbourhood", 30.0),
    Case("120x40-decomposition-30", "120x40", "optimize", "decomposition", 30.0),
    Case("300x40-decomposition-60", "300x40", "optimize", "decomposition", 60.0),
    Case("300x40-greedy", "300x40", "greedy", "greedy", quick=True),
    # Monte Carlo sweep of the sample: the base and 4 draws, 5 effort s each, in this process.
    Case("sample-sweep-mc4-5", "sample", "sweep", "monte_carlo", 5.0, quick=True),
    # Robust plans of the sample over 2 Monte Carlo futures, 5 effort s per solve, gap 1 %.
    Case("sample-robust-extensive-2x5", "sample", "robust", "extensive", 5.0, 0.01, quick=True),
    Case("sample-robust-decomposition-2x5", "sample", "robust", "decomposition", 5.0, 0.01),
    # The sample's plan (Settings' effort) and its report's tables: why-not, firmness and
    # alternatives, each phase 10 effort s.
    Case("sample-report-tables-10", "sample", "report", "auto", 10.0, quick=True),
]
# The Plan's tables a report is written from (the "report" case's digests; no timings).
REPORT_TABLES = ("decisions", "upgrades", "cash_flows", "site_npv_musd", "mining_mw", "capacity",
                 "constraints", "deal_metrics", "annual", "sources_uses", "site_returns",
                 "why_not", "timing_value", "firmness", "timing_windows", "alternatives",
                 "alternative_decisions")
SWEEP_DRAWS = 4
ROBUST_DRAWS = 2


# ---- the tree under test -------------------------------------------------------------------
def tree_root() -> Path:
    """The checkout whose `optimizer` package this interpreter imports."""
    import optimizer

    return Path(optimizer.__file__).resolve().parents[1]


def tree_meta() -> dict[str, Any]:
    """Where the code under test comes from, and with what solver."""
    root = tree_root()

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              check=False)
        return done.stdout.strip()

    # The installed version from its metadata: only optimizer/solve/highs/ imports highspy.
    from importlib.metadata import PackageNotFoundError, version

    try:
        highs = version("highspy")
    except PackageNotFoundError:  # a source build without metadata
        highs = "unknown"
    return {"tree": str(root), "commit": git("rev-parse", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
            "highspy": highs, "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}


def portfolio(instance: str) -> Any:
    """The validated Portfolio of an instance name (see `Case.instance`)."""
    from optimizer.inputs.validation import portfolio_from_tables
    from optimizer.inputs.workbook import load_portfolio

    if instance.startswith("sample"):
        p = load_portfolio(tree_root() / "inputs" / "sample_portfolio.xlsx")
        scale = BUDGET_SCALE[instance]
        if scale != 1.0:
            p = p.replace(quarters=p.quarters.assign(
                budget_musd=p.quarters["budget_musd"] * scale))
        return p
    from benchmarks.generate import make_tables

    n_sites, horizon = (int(x) for x in instance.split("x"))
    return portfolio_from_tables(make_tables(n_sites, horizon, seed=GENERATOR_SEED))


# ---- canonical forms and digests -----------------------------------------------------------
def rounded(x: Any) -> str:
    """A number as fixed-point text at 1e-6 (-0 as 0), so equal plans give equal text."""
    v = round(float(x), DECIMALS)
    return f"{(0.0 if v == 0 else v):.{DECIMALS}f}"


def digest(payload: Any) -> str:
    """SHA-256 of the canonical JSON of `payload`."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def plan_payload(decisions: Any, upgrades: Any, mining: Any) -> dict[str, Any]:
    """A plan's decisions in a canonical form: hall starts (site, option, start quarter,
    halls), upgrades (site, kind, start quarter, units), MW mined (site -> one value per
    quarter), sorted and rounded."""
    halls = sorted([str(r.site), str(r.option), str(r.start_quarter), rounded(r.halls)]
                   for r in decisions.itertuples(index=False))
    units = sorted([str(r.site), str(r.kind), str(r.start_quarter), rounded(r.units)]
                   for r in upgrades.itertuples(index=False))
    mined = {str(site): [rounded(v) for v in row] for site, row in zip(
        mining.index, mining.to_numpy(dtype=float), strict=True)}
    return {"halls": halls, "upgrades": units, "mining_mw": mined,
            "quarters": [str(q) for q in mining.columns]}


def cell(x: Any) -> str:
    """A table cell as canonical text: numbers rounded (`rounded`), blanks empty."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    return rounded(x)


def frame_payload(frame: Any) -> dict[str, Any]:
    """A DataFrame or Series (None: not computed) as canonical text: its columns, and each row
    with its index label first, in the frame's order."""
    if frame is None:
        return {}
    if not hasattr(frame, "columns"):  # a Series
        frame = frame.to_frame()
    return {"columns": [str(c) for c in frame.columns],
            "rows": [[cell(i), *map(cell, row)] for i, row in zip(
                frame.index, frame.to_numpy(dtype=object).tolist(), strict=True)]}


def number(x: Any) -> float | None:
    """A float for the record (None for a missing value)."""
    return None if x is None else float(x)


# ---- one case, in this process -------------------------------------------------------------
def run_optimize(case: Case) -> dict[str, Any]:
    from models.errors import InfeasibleError
    from optimizer.solve.optimize import optimize

    p = portfolio(case.instance)
    try:
        if case.effort is None:  # the defaults of `optimize(portfolio)`: the Settings' effort
            plan = optimize(p, method=case.method)
        else:
            plan = optimize(p, time_limit=case.effort, mip_gap=case.gap, threads=1, seed=0,
                            method=case.method)
    except InfeasibleError as err:  # an answer too: its explanation is what must not change
        return {"method": case.method, "status": "infeasible", "effort_s": case.effort,
                "decisions_sha256": digest(err.explanation),
                "detail": {"explanation": err.explanation}}
    return {"method": plan.method, "status": str(plan.status),
            "termination": str(plan.termination), "effort_s": number(plan.effort_s),
            "effort_spent_s": number(plan.effort_spent_s), "npv": number(plan.npv_musd),
            "bound": number(plan.bound_musd), "gap": number(plan.gap),
            "reproducible": bool(plan.reproducible),
            "decisions_sha256": digest(plan_payload(plan.decisions, plan.upgrades,
                                                    plan.mining_mw)),
            "detail": {"objective": number(plan.objective_musd),
                       "greedy_npv": number(plan.greedy_npv_musd),
                       "halls": plan.halls_converted}}


def run_report_tables(case: Case) -> dict[str, Any]:
    """The plan at the Settings' effort, then what `sitepivot plan` adds to its report (the
    README's API snippet: why-not and value of timing, firmness, two alternatives; each
    phase's effort given), and a digest of every table the report is written from."""
    import optimizer

    plan = optimizer.optimize(portfolio(case.instance), method=case.method)
    optimizer.explain_plan(plan, budget=case.effort)
    optimizer.firmness(plan, budget=case.effort)
    optimizer.alternatives(plan, 2, budget=case.effort)
    tables = {name: digest(frame_payload(getattr(plan, name))) for name in REPORT_TABLES}
    scalars = {"npv": number(plan.npv_musd), "equity_npv": number(plan.equity_npv_musd),
               "terminal_value": number(plan.terminal_value_musd),
               "beyond_horizon_sites": list(plan.beyond_horizon_sites)}
    return {"method": plan.method, "status": str(plan.status),
            "termination": str(plan.termination), "effort_s": case.effort,
            "npv": number(plan.npv_musd), "bound": number(plan.bound_musd),
            "gap": number(plan.gap), "reproducible": bool(plan.reproducible),
            "decisions_sha256": digest({"tables": tables, "scalars": scalars}),
            "detail": tables | scalars}


def run_greedy(case: Case) -> dict[str, Any]:
    # Internal API (the greedy plan has no public entry): update these imports if moved.
    from models.economics import build_economics
    from optimizer.solve.frames import plan_frames
    from optimizer.solve.greedy import greedy_plan

    econ = build_economics(portfolio(case.instance))
    greedy = greedy_plan(econ)
    if greedy is None:
        return {"method": "greedy", "status": "no_plan", "decisions_sha256": None}
    frames = plan_frames(econ, greedy.decisions, greedy.valuation)
    return {"method": "greedy", "status": "greedy", "npv": number(greedy.valuation.npv),
            "reproducible": True,
            "decisions_sha256": digest(plan_payload(frames["decisions"], frames["upgrades"],
                                                    frames["mining_mw"])),
            "detail": {"halls": round(float(greedy.decisions.halls.sum()))}}


def run_sweep_case(case: Case) -> dict[str, Any]:
    from optimizer.sweeps.sweep import run_sweep

    results = run_sweep(portfolio(case.instance), case.method, draws=SWEEP_DRAWS, seed=0,
                        workers=1, time_limit=case.effort, mip_gap=case.gap, progress=False)
    rows: dict[str, dict[str, Any]] = {
        str(r.scenario): {"status": str(r.status), "halls": number(r.halls_converted),
                          "npv": number(r.npv_reoptimized_musd),
                          "npv_base_plan": number(r.npv_base_plan_musd), "gap": number(r.gap),
                          "base_plan_feasible": str(r.base_plan_feasible)}
        for r in results.itertuples(index=False)}
    # The sweep keeps each plan's starts only (not its mining or upgrades).
    starts = sorted([str(s), str(site), str(o), str(q), rounded(h)]
                    for s, site, o, q, h in results.attrs["decisions"])
    gaps = [r["gap"] for r in rows.values() if r["gap"] is not None and not math.isnan(r["gap"])]
    capped = bool(results.attrs.get("capped")) or bool(
        results["message"].astype(str).str.contains("not reproducible").any())
    return {"method": case.method, "status": "/".join(sorted({str(r["status"])
                                                              for r in rows.values()})),
            "effort_s": case.effort, "npv": number(results.attrs["base_npv_musd"]),
            "gap": max(gaps, default=None), "reproducible": not capped,
            "decisions_sha256": digest({"starts": starts, "rows": {
                name: {k: rounded(v) if isinstance(v, float) else v for k, v in r.items()}
                for name, r in rows.items()}}),
            "detail": rows}


def run_robust(case: Case) -> dict[str, Any]:
    from optimizer.robust.robust import robust

    plan = robust(portfolio(case.instance), draws=ROBUST_DRAWS, seed=0, time_limit=case.effort,
                  mip_gap=case.gap, method=case.method, workers=1, progress=False)

    def first(stage: dict[Any, float]) -> list[list[str]]:
        return sorted([*map(str, key), rounded(v)] for key, v in stage.items())

    det = plan.deterministic
    return {"method": plan.method, "status": str(plan.status), "effort_s": case.effort,
            "npv": number(plan.objective_musd), "bound": number(plan.bound_musd),
            "gap": number(plan.gap), "reproducible": plan.capped == 0,
            "decisions_sha256": digest({
                "first_stage": first(plan.first_stage),
                "deterministic_first_stage": first(plan.deterministic_first_stage),
                "deterministic_plan": plan_payload(det.decisions, det.upgrades, det.mining_mw),
                "futures": [[r.label, str(r.status), rounded(r.npv), rounded(r.bound),
                             sorted(map(str, r.starts))] for r in (
                    *plan.robust_results, *plan.deterministic_results,
                    *plan.wait_and_see_results)]}),
            "detail": {name: number(getattr(plan, name)) for name in (
                "expected_npv_musd", "cvar_npv_musd", "eev_musd", "eev_bound_musd",
                "wait_and_see_musd", "wait_and_see_bound_musd", "vss_musd", "evpi_musd")}
            | {"deterministic_npv": number(det.npv_musd)}}


RUNNERS: dict[str, Callable[[Case], dict[str, Any]]] = {
    "optimize": run_optimize, "greedy": run_greedy, "sweep": run_sweep_case,
    "robust": run_robust, "report": run_report_tables}


def child(name: str) -> None:
    """Run one case in this process; print its record as the last line of stdout."""
    case = next(c for c in CASES if c.name == name)
    wall, cpu = time.perf_counter(), time.process_time()
    record = RUNNERS[case.kind](case)
    record.update(wall_s=time.perf_counter() - wall, cpu_s=time.process_time() - cpu)
    print("RESULT " + json.dumps(record))


def spawn(case: Case) -> dict[str, Any]:
    """One case in a fresh process (nothing carried over from earlier cases), the tree under
    test first on its path whatever the way this script was started."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(tree_root()), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))])
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", case.name],
                          capture_output=True, text=True, check=False, env=env)
    base: dict[str, Any] = {"case": case.name, "instance": case.instance, "kind": case.kind,
                            "method_asked": case.method, "effort_s": case.effort}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            return base | json.loads(line[len("RESULT "):])
    return base | {"error": (done.stderr.strip().splitlines() or ["no output"])[-1][:300],
                   "status": "error"}


# ---- output and comparison -----------------------------------------------------------------
def full(x: Any) -> str:
    """A float at full precision (repr), blank for none."""
    return "" if x is None else repr(float(x)) if isinstance(x, (int, float)) else str(x)


def table(records: Iterable[dict[str, Any]]) -> str:
    lines = ["| case | method | effort s | status | NPV $M | bound $M | gap | decisions SHA-256 |",
             "|---|---|---:|---|---:|---:|---:|---|"]
    for r in records:
        effort = "" if r.get("effort_s") is None else f"{r['effort_s']:g}"
        flag = "" if r.get("reproducible", True) else " (NOT reproducible: wall-clock cap)"
        status = r.get("status", "") + flag + (f" {r['error']}" if r.get("error") else "")
        lines.append(f"| {r['case']} | {r.get('method', '')} | {effort} | {status} | "
                     f"{full(r.get('npv'))} | {full(r.get('bound'))} | {full(r.get('gap'))} | "
                     f"{(r.get('decisions_sha256') or '')[:16]} |")
    return "\n".join(lines)


def same(a: Any, b: Any) -> bool:
    """Exact equality, NaN equal to NaN, recursively."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def compare(new: list[dict[str, Any]], old: list[dict[str, Any]]) -> tuple[str, bool]:
    """A table of every case of `new` against `old`, and whether all are the same."""
    by_name = {r["case"]: r for r in old}
    lines = ["| case | method | NPV $M (this) | NPV $M (other) | bound same | gap same | "
             "decisions same | result | differs in |", "|---|---|---:|---:|---|---|---|---|---|"]
    all_same = True
    for r in new:
        o = by_name.get(r["case"])
        if o is None:
            lines.append(f"| {r['case']} | {r.get('method', '')} | {full(r.get('npv'))} | "
                         "(not in other) | | | | DIFFERENT | missing |")
            all_same = False
            continue
        differ = [f for f in COMPARED if not same(r.get(f), o.get(f))]
        if "detail" in differ and isinstance(r.get("detail"), dict) \
                and isinstance(o.get("detail"), dict):  # name the detail's fields that differ
            keys = sorted(set(r["detail"]) | set(o["detail"]))
            differ[differ.index("detail")] = "detail: " + ", ".join(
                k for k in keys if not same(r["detail"].get(k), o["detail"].get(k)))
        ok = not differ and not r.get("error")
        all_same &= ok
        note = "" if r.get("reproducible", True) and o.get("reproducible", True) \
            else " (a run was capped by the wall clock)"
        lines.append(
            f"| {r['case']} | {r.get('method', '')} | {full(r.get('npv'))} | "
            f"{full(o.get('npv'))} | {'yes' if same(r.get('bound'), o.get('bound')) else 'NO'} | "
            f"{'yes' if same(r.get('gap'), o.get('gap')) else 'NO'} | "
            f"{'yes' if same(r.get('decisions_sha256'), o.get('decisions_sha256')) else 'NO'} | "
            f"{'same' if ok else 'DIFFERENT'} | {', '.join(differ) or r.get('error', '')}{note} |")
    missing = sorted(set(by_name) - {r["case"] for r in new})
    if missing:
        lines.append(f"(not run here, in the other file only: {', '.join(missing)})")
    return "\n".join(lines), all_same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the records (JSON) here")
    parser.add_argument("--compare", type=Path,
                        help="compare with this earlier --out file; exit 1 on any difference")
    parser.add_argument("--load", type=Path,
                        help="take the records from this --out file instead of solving")
    parser.add_argument("--quick", action="store_true", help="the quick subset (~3 minutes)")
    parser.add_argument("--only", help="comma-separated case names")
    parser.add_argument("--list", action="store_true", help="list the cases and stop")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    cases = [c for c in CASES if c.quick or not args.quick]
    if args.only:
        wanted = args.only.split(",")
        unknown = sorted(set(wanted) - {c.name for c in CASES})
        if unknown:
            parser.error(f"unknown case(s): {', '.join(unknown)}")
        cases = [c for c in cases if c.name in wanted]
    if args.list:
        for c in CASES:
            effort = "Settings" if c.effort is None else f"{c.effort:g} s"
            print(f"{c.name:34s} {c.kind:9s} {c.method:14s} "
                  f"{'' if c.kind == 'greedy' else 'effort ' + effort}"
                  f"{' (quick)' if c.quick else ''}")
        return

    if args.load:
        saved = json.loads(args.load.read_text())
        meta, records = saved["meta"], saved["cases"]
    else:
        meta = tree_meta()
        print(f"tree {meta['tree']} at {meta['commit'][:12]}"
              f"{' (uncommitted changes)' if meta['dirty'] else ''}; highspy {meta['highspy']}",
              file=sys.stderr, flush=True)
        records, began = [], time.perf_counter()
        for i, case in enumerate(cases, 1):
            print(f"[{i}/{len(cases)}] {case.name} ...", file=sys.stderr, flush=True)
            r = spawn(case)
            records.append(r)
            print(f"[{i}/{len(cases)}] {case.name}: {r.get('status')}, NPV {full(r.get('npv'))}"
                  f", {r.get('wall_s', float('nan')):.0f} s wall, "
                  f"{(r.get('decisions_sha256') or '')[:12]}"
                  f"{' ' + r['error'] if r.get('error') else ''}", file=sys.stderr, flush=True)
        meta["wall_s"] = time.perf_counter() - began
        meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        meta["quick"] = bool(args.quick)
    if args.out:
        tmp = args.out.with_name(args.out.name + ".tmp")
        tmp.write_text(json.dumps({"meta": meta, "cases": records}, indent=1) + "\n")
        os.replace(tmp, args.out)
    print(f"tree {meta['tree']} at {meta['commit']}"
          f"{' (uncommitted changes)' if meta['dirty'] else ''}; highspy {meta['highspy']}; "
          f"wall {meta.get('wall_s', float('nan')):.0f} s")
    print(table(records))
    failed = any(r.get("error") for r in records)
    if args.compare:
        other = json.loads(args.compare.read_text())
        text, all_same = compare(records, other["cases"])
        print(f"\nagainst {args.compare} (tree {other['meta']['tree']} at "
              f"{other['meta']['commit'][:12]}):")
        print(text)
        print("ALL SAME" if all_same else "DIFFERENT")
        failed |= not all_same
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
