"""Same workbook, same answer: every solve stops on its effort (deterministic work), never on
the clock, so a plan, and a sweep's rows, are the same whatever the machine's load and on any
executor (optimizer/solve/options.py). Each check runs one solve beside a CPU-burning process,
which slows it (its wall time changes) but must not change its answer."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import pytest

from models.portfolio import Portfolio
from optimizer.inputs.validation import portfolio_from_tables
from optimizer.solve.optimize import optimize
from optimizer.sweeps.sweep import DETERMINISTIC_COLUMNS, run_sweep


def hard_portfolio() -> Portfolio:
    """A 20-site generated portfolio that no solve below proves optimal at gap 0 within its
    effort (the sample, with its capital binding, is proven optimal in a few effort seconds):
    the case in which a clock would move the answer."""
    from benchmarks.generate import make_tables

    return portfolio_from_tables(make_tables(20, 40, seed=0))


@contextmanager
def cpu_burner() -> Iterator[None]:
    """A process spinning on a core for the duration (ended by its own id)."""
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        burner.kill()
        burner.wait()


def test_plan_is_identical_beside_a_cpu_burner() -> None:
    """A hard portfolio at 18 effort seconds and gap 0 (HiGHS alone first, then the
    neighbourhood search beside it): twice, the second beside a CPU burner; same decisions,
    upgrades, NPV, bound and gap, and both say they are reproducible."""
    portfolio = hard_portfolio()
    first = optimize(portfolio, time_limit=18.0, threads=1, mip_gap=0.0)
    with cpu_burner():
        second = optimize(portfolio, time_limit=18.0, threads=1, mip_gap=0.0)
    assert first.termination == "effort_limit"  # stopped on work: the case a clock would move
    assert first.method == "neighbourhood"  # the search beside HiGHS ran too
    assert first.reproducible and second.reproducible
    pd.testing.assert_frame_equal(first.decisions, second.decisions)
    pd.testing.assert_frame_equal(first.upgrades, second.upgrades)
    assert (second.npv_musd, second.bound_musd, second.gap, second.effort_spent_s) \
        == (first.npv_musd, first.bound_musd, first.gap, first.effort_spent_s)


def test_monte_carlo_rows_are_identical_on_the_pool_beside_a_burner_and_on_dask() -> None:
    """A 4-draw Monte Carlo of a hard portfolio, every solve stopped on its effort (gap 0): the
    process pool (beside a CPU burner) and a local Dask cluster give identical rows."""
    distributed = pytest.importorskip("distributed")
    portfolio = hard_portfolio()
    options = {"draws": 4, "seed": 3, "mip_gap": 0.0, "time_limit": 2.0, "progress": False}
    with cpu_burner():
        pool = run_sweep(portfolio, "monte_carlo", workers=2, **options)
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        dask = run_sweep(portfolio, "monte_carlo", dask_address=cluster.scheduler_address,
                         **options)
    assert len(pool) == 5 and (pool["status"] == "feasible").all()  # stopped on effort
    assert not pool["message"].astype(str).str.contains("not reproducible").any()
    pd.testing.assert_frame_equal(pool[DETERMINISTIC_COLUMNS], dask[DETERMINISTIC_COLUMNS])
    assert pool.attrs["decisions"] == dask.attrs["decisions"]
