"""Long runs survive faults: finished solves kept next to the output, --resume giving the
workbook of an uninterrupted run, a lost Dask worker costing only its tasks, Ctrl-C writing no
report and saying how to resume; and the whole-run time budget (--total-time), split up front."""

from __future__ import annotations

import math
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from support import tiny_tables, write_xlsx

from models.economics import build_economics
from models.errors import UsageError
from optimizer.budget import START_RESERVE_S, solve_overhead_s, split_total, waves
from optimizer.checkpoint import fingerprint, open_store, store_path
from optimizer.cli import main
from optimizer.inputs.validation import portfolio_from_tables
from optimizer.inputs.workbook import load_portfolio
from optimizer.parallel import dask_slots, run_all
from optimizer.sweeps.sweep import DETERMINISTIC_COLUMNS, run_sweep

ROOT = Path(__file__).resolve().parents[1]
QUIET = {"progress": False, "mip_gap": 0.0, "time_limit": 120.0, "workers": 1}
# Columns that hold timings: everything else must be identical after a resume.
TIMING_HEADERS = {"seconds", "solve_seconds"}


def six_workbook(path: Path) -> Path:
    """A 6-site, 12-quarter generated portfolio (each solve takes a fraction of a second)."""
    from benchmarks.generate import make_tables

    write_xlsx(make_tables(6, 12, seed=1), path)
    return path


def sheet_values(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every sheet's cell values, timing columns (by their header) and the store's
    bookkeeping left out."""
    book = load_workbook(path, data_only=True)
    out: dict[str, list[tuple[object, ...]]] = {}
    for ws in book.worksheets:
        rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
        header = rows[0] if rows else ()
        keep = [j for j, h in enumerate(header) if h not in TIMING_HEADERS]
        out[ws.title] = [tuple(r[j] for j in keep if j < len(r)) for r in rows]
    return out


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "optimizer", *args], cwd=ROOT, text=True,
                          capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          timeout=300)


# ---- the store -------------------------------------------------------------------------------
def test_fingerprints_are_by_content_and_refuse_what_they_cannot_read() -> None:
    a = portfolio_from_tables(tiny_tables())
    b = portfolio_from_tables(tiny_tables())
    assert fingerprint(a) == fingerprint(b)  # read twice (another read time): the same run
    tables = tiny_tables()
    tables["Sites"].loc[0, "grid_mw"] = 301.0
    assert fingerprint(portfolio_from_tables(tables)) != fingerprint(a)
    assert fingerprint((1.0, "x")) != fingerprint((1.0000000000000002, "x"))
    with pytest.raises(TypeError, match="cannot fingerprint"):
        fingerprint(object())


def test_a_store_is_resumed_only_by_its_own_run(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx.partial.sqlite"
    store = open_store(path, ("sweep", 1), resume=False)
    store.put(store.key("a"), "row", {"x": 1})
    store.close()
    with pytest.raises(UsageError, match="--resume to continue it, or --force"):
        open_store(path, ("sweep", 1), resume=False)
    with pytest.raises(UsageError, match="another run's solves"):
        open_store(path, ("sweep", 2), resume=True)
    again = open_store(path, ("sweep", 1), resume=True)
    assert again.found == 1 and again.get(again.key("a")) == {"x": 1}
    again.remove()
    assert not path.exists()


def doubled(factor: int, item: int) -> int:
    if item == 3:
        raise ValueError("item 3 fails")
    return factor * item


def test_run_all_reads_kept_results_and_keeps_new_ones_but_not_failures(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.sqlite", "run", resume=False)
    first: dict[int, int] = {}
    run_all(doubled, 2, [1, 2, 3], record=first.__setitem__, failed=lambda item, err: -item,
            store=store, keep=lambda result: result >= 0)
    assert first == {0: 2, 1: 4, 2: -3} and store.count() == 2  # the failure is not kept
    second: dict[int, int] = {}
    run_all(doubled, 2, [1, 2, 3, 4], record=second.__setitem__,
            failed=lambda item, err: -item, store=store, keep=lambda result: result >= 0)
    assert second == {0: 2, 1: 4, 2: -3, 3: 8} and store.used == 2
    other: dict[int, int] = {}  # another shared value: other keys, nothing read back
    run_all(doubled, 3, [1], record=other.__setitem__, failed=lambda item, err: -item,
            store=store)
    assert other == {0: 3} and store.used == 2
    store.close()


# ---- resume gives the uninterrupted run ----------------------------------------------------
def test_an_interrupted_sweep_resumed_gives_the_uninterrupted_rows(tmp_path: Path) -> None:
    """Ctrl-C injected after three rows; the resumed run solves only the others."""
    p = load_portfolio(six_workbook(tmp_path / "six.xlsx"))
    whole = run_sweep(p, "monte_carlo", draws=6, seed=3, **QUIET)
    store = open_store(tmp_path / "run.sqlite", "mc6", resume=False)

    def stop_after_three(i: int, row: dict) -> None:
        if i == 3:
            raise KeyboardInterrupt

    cut = run_sweep(p, "monte_carlo", draws=6, seed=3, on_result=stop_after_three, store=store,
                    **QUIET)
    assert cut.attrs["interrupted"] and store.count() == 4  # the base and three draws
    store.close()
    store = open_store(tmp_path / "run.sqlite", "mc6", resume=True)
    solved: list[int] = []
    resumed = run_sweep(p, "monte_carlo", draws=6, seed=3, store=store,
                        on_result=lambda i, row: solved.append(i), **QUIET)
    assert store.used == 4 and resumed.attrs["resumed"] == 4
    pd.testing.assert_frame_equal(resumed[DETERMINISTIC_COLUMNS], whole[DETERMINISTIC_COLUMNS])
    assert resumed.attrs["decisions"] == whole.attrs["decisions"]
    store.close()


def test_sweep_killed_mid_run_and_resumed_writes_the_uninterrupted_workbook(
        tmp_path: Path) -> None:
    """The CLI, as a user meets it: SIGINT once some solves are kept (no workbook, the resume
    command printed), SIGKILL of the resumed run (nothing to say), then --resume to the end;
    the workbook's values equal an uninterrupted run's."""
    book = six_workbook(tmp_path / "six.xlsx")
    args = [str(book), "--monte-carlo", "40", "--seed", "5", "--workers", "1", "--mip-gap", "0",
            "--time-limit", "60", "-q"]
    whole = tmp_path / "whole.xlsx"
    done = cli("sweep", *args, "-o", str(whole))
    assert done.returncode == 0, done.stderr
    target = tmp_path / "cut.xlsx"
    store = store_path(target)

    def run_until(kept: int, sig: int, *extra: str) -> subprocess.CompletedProcess[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "optimizer", "sweep", *args, "-o", str(target), *extra],
            cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        began = time.monotonic()
        while time.monotonic() - began < 120 and process.poll() is None:
            if store.exists() and count(store) >= kept:
                process.send_signal(sig)
                break
            time.sleep(0.02)
        out, err = process.communicate(timeout=120)
        return subprocess.CompletedProcess(process.args, process.returncode, out, err)

    first = run_until(3, signal.SIGINT)
    assert first.returncode == 130, first.stderr
    assert not target.exists()  # no partial report
    assert "To resume: sitepivot sweep" in first.stderr and "--resume" in first.stderr
    command = shlex.split(first.stderr.split("To resume: ", 1)[1].strip())
    assert command[:2] == ["sitepivot", "sweep"] and command[-1] == "--resume"
    assert str(target) in command and "--force" not in command
    kept = count(store)
    assert 3 <= kept < 41
    second = run_until(kept + 3, signal.SIGKILL, "--resume")
    assert second.returncode == -signal.SIGKILL and not target.exists()
    assert count(store) >= kept + 3
    last = cli(*command[1:])  # the command printed, as printed
    assert last.returncode == 0, last.stderr
    assert "resumed:" in last.stderr
    assert not store.exists()  # removed once the workbook is written
    assert sheet_values(target) == sheet_values(whole)


def count(store: Path) -> int:
    try:
        with sqlite3.connect(store) as db:
            return int(db.execute("SELECT COUNT(*) FROM results").fetchone()[0])
    except sqlite3.OperationalError:  # created, tables not yet
        return 0


def test_a_leftover_store_is_resumed_or_discarded_never_ignored(tmp_path: Path) -> None:
    book = tmp_path / "tiny.xlsx"
    write_xlsx(tiny_tables(), book)
    target = tmp_path / "s.xlsx"
    base = ["sweep", str(book), "--tornado", "--workers", "1", "-q", "-o", str(target)]
    open_store(store_path(target), "someone else", resume=False).close()
    runner = CliRunner()
    refused = runner.invoke(main, base)
    assert refused.exit_code == 2 and "--resume to continue it" in refused.output
    other = runner.invoke(main, [*base, "--resume"])
    assert other.exit_code == 2 and "another run's solves" in other.output
    fresh = runner.invoke(main, [*base, "--force"])
    assert fresh.exit_code == 0, fresh.output
    assert target.exists() and not store_path(target).exists()


# ---- a lost Dask worker --------------------------------------------------------------------
def slow_pid(delay: float, item: int) -> tuple[int, int]:
    time.sleep(delay)
    return item, os.getpid()


def test_a_lost_dask_worker_costs_only_its_tasks() -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        pids = set(client.run(os.getpid).values())
        assert dask_slots(cluster.scheduler_address) == 2  # what --total-time splits over
        recorded: dict[int, tuple[int, int]] = {}
        failures: list[int] = []

        def record(i: int, result: tuple[int, int]) -> None:
            recorded[i] = result
            if len(recorded) == 2:  # mid-run: kill a worker process that has work left
                os.kill(result[1], signal.SIGKILL)

        def failed(item: int, err: BaseException) -> tuple[int, int]:
            failures.append(item)
            return item, -1

        run_all(slow_pid, 0.4, list(range(12)), record=record, failed=failed,
                dask_address=cluster.scheduler_address)
    assert failures == []
    assert sorted(recorded) == list(range(12))
    assert all(recorded[i][0] == i for i in range(12))
    assert {pid for _, pid in recorded.values()} - pids  # a new worker (the nanny's) took over


def test_sweep_on_dask_with_a_worker_killed_gives_the_serial_rows(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    p = load_portfolio(six_workbook(tmp_path / "six.xlsx"))
    serial = run_sweep(p, "monte_carlo", draws=8, seed=2, **QUIET)
    options = {**QUIET, "workers": None}
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        victims = list(client.run(os.getpid).values())

        def kill_one(i: int, row: dict) -> None:
            if i == 2:
                os.kill(victims[0], signal.SIGKILL)

        dask = run_sweep(p, "monte_carlo", draws=8, seed=2, on_result=kill_one,
                         dask_address=cluster.scheduler_address, **options)
    assert (dask["status"] != "error").all(), dask["message"].tolist()
    pd.testing.assert_frame_equal(dask[DETERMINISTIC_COLUMNS], serial[DETERMINISTIC_COLUMNS])


def dies_once(marker_dir: str, item: int) -> int:
    """A task whose process dies (os._exit) the first time it runs item 2."""
    marker = Path(marker_dir) / f"died-{item}"
    if item == 2 and not marker.exists():
        marker.touch()
        os._exit(9)
    time.sleep(0.05)
    return item * 10


def test_a_process_that_dies_costs_the_pool_only_its_unfinished_tasks(tmp_path: Path) -> None:
    recorded: dict[int, int] = {}
    failures: list[int] = []

    def record(i: int, result: int) -> None:
        assert i not in recorded
        recorded[i] = result

    run_all(dies_once, str(tmp_path), list(range(6)), record=record,
            failed=lambda item, err: failures.append(item) or -1, workers=2)
    assert failures == [] and (tmp_path / "died-2").exists()
    assert recorded == {i: 10 * i for i in range(6)}


# ---- the whole-run budget ------------------------------------------------------------------
def test_the_split_is_fixed_up_front_from_the_total_solves_and_slots() -> None:
    a = split_total(60.0, waves(9, 2) + 1, 2, 300.0, overhead_s=6.0, reserve_s=START_RESERVE_S)
    b = split_total(60.0, waves(9, 2) + 1, 2, 300.0, overhead_s=6.0, reserve_s=START_RESERVE_S)
    assert a.per_solve_s == b.per_solve_s == pytest.approx(((60 - START_RESERVE_S) * 0.9 - 6)
                                                           / 6)
    assert split_total(60.0, 6, 2, 1.5).per_solve_s == 1.5  # --time-limit caps it
    assert split_total(None, 6, 2, 7.0).per_solve_s == 7.0 and split_total(
        None, 6, 2, 7.0).deadline is None
    assert waves(0, 3) == 0 and waves(7, 3) == 3
    with pytest.raises(UsageError, match="give at least"):
        split_total(5.0, 100, 1, 300.0)


def test_a_sweep_keeps_its_total_time_and_each_solve_gets_the_same_share(
        tmp_path: Path) -> None:
    """Solves that would each run far longer (gap 0 on a 10-site instance) are stopped at
    their share of the total, and the run ends within it, however loaded the machine: each
    solve's wall-clock cap is the run's deadline, and a solve it cuts short is counted and
    said to be not reproducible."""
    from benchmarks.generate import make_tables

    p = portfolio_from_tables(make_tables(10, 20, seed=1))
    began = time.perf_counter()
    results = run_sweep(p, "monte_carlo", draws=3, seed=1, progress=False, mip_gap=0.0,
                        time_limit=600.0, workers=1, total_time=12.0)
    took = time.perf_counter() - began
    assert took <= 12.0 + 2.0, took  # the cap stops a solve at its next check: a second or so
    econ = build_economics(p)
    overhead = solve_overhead_s(len(econ.halls) + len(econ.cooling) + len(econ.power))
    per = (12.0 * 0.9 - 4 * overhead) / 4  # the base, then three draws on one slot
    assert results.attrs["time_limit_s"] == pytest.approx(per)
    assert "total time 12 s for the whole run" in results.attrs["budget"]
    # Each solve stops on its share as effort (deterministic work), not on the clock, so its
    # own wall time may differ from the share; the whole run's time is what the total keeps.
    # On a loaded machine the deadline may cut the last solves short: they say so.
    draws = results.iloc[1:]
    cut = draws["message"].astype(str).str.contains("whole run's total time")
    assert ((draws["status"] == "feasible") | cut).all()  # stopped by the share, not the gap
    assert results.attrs["capped"] == int(cut.sum())
    assert math.isfinite(results["npv_reoptimized_musd"].iloc[0])


@pytest.mark.parametrize(("method", "sites"), [("monolithic", 30), ("decomposition", 120)])
def test_a_deadline_stops_a_solve_on_the_wall_clock_and_says_it_is_not_reproducible(
        method: str, sites: int) -> None:
    """`optimize(deadline=)`, a whole run's total time: the solve keeps its effort budget
    (600 effort s at gap 0, far more than the seconds it is given) but ends at the deadline,
    with a plan marked not reproducible; the decomposition's phases stop there too."""
    from benchmarks.generate import make_tables
    from optimizer.solve.optimize import optimize

    p = portfolio_from_tables(make_tables(sites, 40, seed=1))
    began = time.time()
    plan = optimize(p, time_limit=600.0, mip_gap=0.0, method=method, deadline=began + 3.0)
    assert time.time() - began < 3.0 + 10.0  # building and valuing come on top of the cap
    assert plan.termination == "time_limit" and not plan.reproducible
    assert plan.effort_s == 600.0
    assert any("not reproducible" in w.lower() for w in plan.warnings)


# ---- robust plans ----------------------------------------------------------------------------
ROBUST = {"draws": 4, "seed": 1, "commit_quarters": 3, "time_limit": 60.0, "mip_gap": 0.0,
          "progress": False}


def robust_frames(plan: object) -> list[pd.DataFrame]:
    """The robust plan's sheets as frames (timings are not in them)."""
    return [getattr(plan, name) for name in ("summary", "first_stage_decisions",
                                              "first_stage_upgrades", "scenarios", "stability",
                                              "distribution")]


@pytest.mark.parametrize("method", ["extensive", "decomposition"])
def test_an_interrupted_robust_run_resumed_gives_the_uninterrupted_plan(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    """Ctrl-C injected at the sixth sub-problem; the resumed run re-solves neither the
    deterministic plan nor the five sub-problems kept, and gives the same plan and sheets."""
    import importlib

    from optimizer.robust.robust import robust

    recourse = importlib.import_module("optimizer.robust.recourse")
    robust_module = importlib.import_module("optimizer.robust.robust")
    p = portfolio_from_tables(tiny_tables())
    whole = robust(p, method=method, **ROBUST)
    real_solve, real_optimize = recourse.solve_recourse, robust_module.optimize
    calls = {"sub-problems": 0, "deterministic": 0}

    def solve(task: object) -> object:
        calls["sub-problems"] += 1
        if calls["sub-problems"] == 6 and stop:
            raise KeyboardInterrupt
        return real_solve(task)

    def optimize(*args: object, **kwargs: object) -> object:
        calls["deterministic"] += 1
        return real_optimize(*args, **kwargs)

    monkeypatch.setattr(recourse, "solve_recourse", solve)
    monkeypatch.setattr(robust_module, "optimize", optimize)
    stop = True
    store = open_store(tmp_path / "r.sqlite", ("robust", method), resume=False)
    with pytest.raises(KeyboardInterrupt):
        robust(p, method=method, store=store, **ROBUST)
    assert store.count() == 6  # the deterministic plan and five sub-problems
    store.close()
    stop = False
    calls.update({"sub-problems": 0, "deterministic": 0})
    store = open_store(tmp_path / "r.sqlite", ("robust", method), resume=True)
    resumed = robust(p, method=method, store=store, **ROBUST)
    assert store.used == 6 and calls["deterministic"] == 0
    solved_whole = len(whole.robust_results) + len(whole.deterministic_results) + len(
        whole.wait_and_see_results)
    assert calls["sub-problems"] <= solved_whole + 4 * 4 - 5  # the five kept are not re-solved
    assert resumed.first_stage == whole.first_stage
    for mine, theirs in zip(robust_frames(resumed), robust_frames(whole), strict=True):
        pd.testing.assert_frame_equal(mine, theirs)
    store.close()


def test_robust_keeps_its_total_time_and_its_split_is_fixed() -> None:
    """Wait-and-see solves that would each take seconds (gap 0, a 10-site instance) are
    stopped at their share of the total; the split depends on the counts only."""
    from benchmarks.generate import make_tables
    from models.economics import build_economics
    from optimizer.budget import solve_overhead_s
    from optimizer.robust.report import robust_text
    from optimizer.robust.robust import robust, run_budget

    p = portfolio_from_tables(make_tables(10, 20, seed=1))
    began = time.perf_counter()
    plan = robust(p, draws=2, seed=0, time_limit=600.0, mip_gap=0.0, progress=False,
                  method="decomposition", total_time=20.0, firmness=False)  # its own test
    took = time.perf_counter() - began
    assert took <= 20.0 + 1.0, took
    econ = build_economics(p)
    columns = len(econ.halls) + len(econ.cooling) + len(econ.power)
    split = run_budget(20.0, 600.0, "decomposition", 2, 0, 1, columns)
    assert split.waves == 1 + 4 + 5 * 2  # deterministic, WS and EEV, five candidates
    assert split.per_solve_s == pytest.approx(
        (20.0 * 0.9 - (split.waves + 1) * solve_overhead_s(columns)) / split.waves)
    rows = plan.summary.set_index("metric")["value"]
    assert rows["time_limit_per_solve_s"] == split.per_solve_s
    assert rows["total_time_s"] == 20.0
    solved = plan.wait_and_see_results
    assert all(r.status == "feasible" for r in solved)  # stopped by their share, not the gap
    # Effort, not the clock, stops each solve: its wall time is not its share; the run's is.
    assert ("not reproducible" in robust_text(plan)) == (not rows["reproducible"])


def test_robust_cli_interrupted_then_resumed_by_the_printed_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    recourse = importlib.import_module("optimizer.robust.recourse")
    book = tmp_path / "tiny.xlsx"
    write_xlsx(tiny_tables(), book)
    args = ["robust", str(book), "--monte-carlo", "3", "--seed", "2", "--commit-quarters", "3",
            "--mip-gap", "0", "--time-limit", "60", "-q"]
    runner = CliRunner()
    whole = tmp_path / "whole.xlsx"
    assert runner.invoke(main, [*args, "-o", str(whole)]).exit_code == 0
    real = recourse.solve_recourse
    calls = [0]

    def solve(task: object) -> object:
        calls[0] += 1
        if calls[0] == 4:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(recourse, "solve_recourse", solve)
    target = tmp_path / "cut.xlsx"
    cut = runner.invoke(main, [*args, "-o", str(target)])
    assert cut.exit_code == 130 and not target.exists()
    assert "4 solve(s) finished" in cut.output  # the deterministic plan and three sub-problems
    command = shlex.split(cut.output.split("To resume: ", 1)[1].strip())
    assert command[:2] == ["sitepivot", "robust"] and command[-1] == "--resume"
    resumed = runner.invoke(main, command[1:])
    assert resumed.exit_code == 0, resumed.output
    assert "resumed: 4 solve(s)" in resumed.output
    assert not store_path(target).exists()
    assert sheet_values(target) == sheet_values(whole)


def test_a_solve_cut_by_the_wall_clock_cap_makes_the_run_say_not_reproducible(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A deadline closer than the solves' own budget (as when the machine is slower than the
    split assumed): the solves are capped and the console and the workbook say so."""
    import importlib

    from benchmarks.generate import make_tables
    from optimizer.budget import RunBudget, cut_short
    from optimizer.sweeps.report import write_sweep_report
    from optimizer.sweeps.sweep import sweep_text

    assert RunBudget(5.0).limit_now() == (5.0, False)
    limit, capped = RunBudget(5.0, deadline=time.time() + 1.0).limit_now()
    assert capped and 0.5 < limit <= 1.0
    assert cut_short(True, "time_limit") and not cut_short(True, "optimal")
    assert cut_short(False, "time_limit")  # the deadline is every solve's wall-clock cap
    sweep_module = importlib.import_module("optimizer.sweeps.sweep")
    monkeypatch.setattr(sweep_module, "_budget", lambda *args, **kwargs: RunBudget(
        30.0, total_s=2.0, deadline=time.time() + 2.0))
    p = portfolio_from_tables(make_tables(10, 20, seed=1))
    results = run_sweep(p, "monte_carlo", draws=1, seed=1, progress=False, mip_gap=0.0,
                        time_limit=600.0, workers=1, total_time=2.0)
    assert results.attrs["capped"] == 2
    assert "by the whole run's total time: not reproducible" in results["message"].iloc[0]
    assert "this run is not reproducible" in sweep_text(results)
    write_sweep_report(results, tmp_path / "s.xlsx")
    summary = {r[0]: r[1] for r in load_workbook(tmp_path / "s.xlsx")["Summary"].iter_rows(
        values_only=True) if r[0]}
    assert str(summary["Reproducible"]).startswith("NO: 2 solve(s)")
