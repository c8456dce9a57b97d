"""Sweeps: in-place re-solves equal fresh solves for every parameter, the base plan under each
future, regret, reproducible Monte Carlo, identical results on the pool and on Dask, failures
kept in their rows, Ctrl-C keeping finished rows, the Scenarios sheet checked cell by cell, and
the sweep workbook's sheets and charts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from support import tiny_tables, write_xlsx

import optimizer.sweeps.worker as worker
from models.errors import InputError, UsageError
from models.portfolio import Portfolio
from optimizer.cli import main
from optimizer.inputs.validation import portfolio_from_tables
from optimizer.solve.optimize import optimize
from optimizer.sweeps.report import tornado_table, write_sweep_report
from optimizer.sweeps.scenarios import (
    Change,
    Scenario,
    apply_changes,
    monte_carlo_scenarios,
    parse_grid,
    sheet_scenarios,
)
from optimizer.sweeps.sweep import DETERMINISTIC_COLUMNS, run_sweep

QUIET = {"progress": False, "mip_gap": 0.0, "time_limit": 120.0}


def tiny(ai_demand: float | None = 150.0, commitments: pd.DataFrame | None = None,
         scenarios: pd.DataFrame | None = None) -> Portfolio:
    """The tiny portfolio with an AI demand cap in every quarter (so the cap is a Param)."""
    tables = tiny_tables()
    if ai_demand is not None:
        tables["Quarters"]["ai_demand_mw"] = [ai_demand] * 8
    if commitments is not None:
        tables["Commitments"] = commitments
    if scenarios is not None:
        tables["Scenarios"] = scenarios
    return portfolio_from_tables(tables)


def S(name: str, *changes: Change) -> Scenario:
    return Scenario(name, "custom", changes)


# Every parameter a sweep changes, with the scope forms; the last four change the structure.
IN_PLACE = [
    S("hashprice x0.6", Change("hashprice", "multiplier", 0.6)),
    S("hashprice path", Change("hashprice", "multiplier",
                               (1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7))),
    S("hashprice = 80", Change("hashprice", "value", 80.0)),
    S("lease x0.85 Alpha dlc", Change("lease", "multiplier", 0.85, site="Alpha", option="dlc")),
    S("lease = 170 (dlc)", Change("lease", "value", 170.0, option="dlc")),
    S("capex x0.7 (air)", Change("capex", "multiplier", 0.7, option="air")),
    S("capex = 7 at Bravo", Change("capex", "value", 7.0, site="Bravo")),
    S("budget x0.5", Change("budget", "multiplier", 0.5)),
    S("power_cost x1.5 Alpha", Change("power_cost", "multiplier", 1.5, site="Alpha")),
    S("discount_rate = 0.2", Change("discount_rate", "value", 0.2)),
    S("ai_demand x0.5", Change("ai_demand", "multiplier", 0.5)),
    S("grid +40 Alpha", Change("grid_mw", "add", 40.0, site="Alpha")),
    S("halls +1 Bravo, capex x0.6", Change("halls", "add", 1.0, site="Bravo"),
      Change("capex", "multiplier", 0.6)),
]
REBUILT = [
    S("lead +1 (dlc)", Change("lead_quarters", "value", 1.0, option="dlc")),
    S("lead -1 (dlc)", Change("lead_quarters", "value", -1.0, option="dlc")),
    S("budget = 200 everywhere", Change("budget", "value", 200.0)),
]


def test_in_place_resolves_equal_fresh_optimize_for_every_parameter() -> None:
    p = tiny()
    before = dict(worker.STATS)
    results = run_sweep(p, scenarios=[Scenario("base", "base"), *IN_PLACE, *REBUILT],
                        workers=1, **QUIET)
    builds = worker.STATS["builds"] - before["builds"]
    updates = worker.STATS["updates"] - before["updates"]
    # One model for the base (whose structure all IN_PLACE share) + one per REBUILT structure;
    # the sweep cache may already hold the base model from an earlier test in this process.
    assert builds <= 1 + len(REBUILT) and updates >= len(IN_PLACE)
    assert (results["status"] == "optimal").all(), results["message"].tolist()
    npv = dict(zip(results["scenario"], results["npv_reoptimized_musd"], strict=True))
    moved = 0
    for scenario in [Scenario("base", "base"), *IN_PLACE, *REBUILT]:
        fresh = optimize(apply_changes(p, scenario.changes), mip_gap=0.0, threads=1)
        assert npv[scenario.name] == pytest.approx(fresh.npv_musd, rel=1e-6, abs=1e-6), \
            scenario.name
        moved += abs(fresh.npv_musd - npv["base"]) > 1.0
    assert moved >= len(IN_PLACE) + len(REBUILT) - 1  # the changes really change the answer


def test_base_plan_valued_in_each_future_regret_and_breaches() -> None:
    p = tiny()
    results = run_sweep(p, "tornado", workers=1, **QUIET).set_index("scenario")
    base = results.loc["base"]
    assert base["npv_reoptimized_musd"] == pytest.approx(optimize(p, mip_gap=0.0).npv_musd,
                                                         rel=1e-9)
    # Today's plan in today's future is worth exactly what the solver said (numpy valuation).
    assert base["npv_base_plan_musd"] == pytest.approx(base["npv_reoptimized_musd"], rel=1e-9)
    assert base["regret_musd"] == pytest.approx(0.0, abs=1e-6)
    regret = results["regret_musd"].dropna()
    assert (regret >= -1e-6).all() and regret.max() > 10.0  # some future regrets today's plan
    # A 20% budget cut: the base plan overspends; the row says where and by how much.
    low = results.loc["budget low (x0.8)"]
    assert low["base_plan_feasible"] is False or low["base_plan_feasible"] == False  # noqa: E712
    assert np.isnan(low["regret_musd"])
    assert "Budget in 2027Q2 uses 250.0 of 240.0" in low["message"]
    assert low["npv_reoptimized_musd"] < base["npv_reoptimized_musd"] - 1.0
    # Hashprice moves mining only: the base plan's NPV moves with it, one for one.
    hp = results.loc["hashprice high (x1.2)"]
    assert hp["npv_base_plan_musd"] > base["npv_base_plan_musd"] + 1.0


def test_monte_carlo_is_reproducible_from_its_seed() -> None:
    p = tiny()
    five = monte_carlo_scenarios(p, 5, seed=7)
    assert five == monte_carlo_scenarios(p, 5, seed=7)
    assert five[1:4] == monte_carlo_scenarios(p, 3, seed=7)[1:]  # a draw does not depend on N
    assert five[1:] != monte_carlo_scenarios(p, 5, seed=8)[1:]
    path = np.asarray(five[1].changes[0].amount)
    assert path.shape == (8,) and (path > 0).all()
    # The halving step of the base path is kept: the walk moves ~10% a quarter, not 50%.
    new = apply_changes(p, five[1].changes).quarters["hashprice_usd_per_ph_day"].to_numpy()
    assert 0.35 < new[5] / new[4] < 0.75
    first = run_sweep(p, "monte_carlo", draws=4, seed=7, workers=1, **QUIET)
    again = run_sweep(p, "monte_carlo", draws=4, seed=7, workers=1, **QUIET)
    pd.testing.assert_frame_equal(first[DETERMINISTIC_COLUMNS], again[DETERMINISTIC_COLUMNS])


def test_pool_and_dask_give_identical_results() -> None:
    distributed = pytest.importorskip("distributed")
    from benchmarks.generate import make_tables

    # A mid-size instance stopped by a loose gap: the answers depend on the solver's path,
    # so equality shows the path does not depend on the executor.
    p = portfolio_from_tables(make_tables(6, 12, seed=1))
    options = {"draws": 5, "mip_gap": 0.01, "time_limit": 600.0, "progress": False}
    serial = run_sweep(p, "monte_carlo", workers=1, **options)
    pool = run_sweep(p, "monte_carlo", workers=2, **options)
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        dask = run_sweep(p, "monte_carlo", dask_address=cluster.scheduler_address, **options)
    assert (serial["status"].isin(["optimal"])).all()
    assert (serial["gap"] > 0).any()  # some solves stopped on the gap, not at the optimum
    for other in (pool, dask):
        pd.testing.assert_frame_equal(serial[DETERMINISTIC_COLUMNS], other[DETERMINISTIC_COLUMNS])
        assert other.attrs["decisions"] == serial.attrs["decisions"]


def test_failed_and_infeasible_scenarios_keep_their_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    commitment = pd.DataFrame({"site": ["Alpha"], "option": ["dlc"], "quarter": ["2027Q2"],
                               "halls": [1], "action": ["start"]}, dtype=object)
    p = tiny(commitments=commitment)
    real = worker.build_economics

    def flaky(portfolio: Portfolio) -> object:
        if portfolio.settings.discount_rate == 0.3:
            raise RuntimeError("boom in the economics")
        return real(portfolio)

    monkeypatch.setattr(worker, "build_economics", flaky)
    scenarios = [Scenario("base", "base"),
                 S("no budget", Change("budget", "value", 0.0)),
                 S("breaks", Change("discount_rate", "value", 0.3)),
                 S("fine", Change("hashprice", "multiplier", 0.9))]
    results = run_sweep(p, scenarios=scenarios, workers=1, **QUIET).set_index("scenario")
    assert list(results.index) == ["base", "no budget", "breaks", "fine"]
    assert results.loc["no budget", "status"] == "infeasible"
    assert "no plan satisfies every constraint" in results.loc["no budget", "message"]
    assert np.isnan(results.loc["no budget", "npv_reoptimized_musd"])
    assert results.loc["breaks", "status"] == "error"
    assert results.loc["breaks", "message"] == "RuntimeError: boom in the economics"
    assert results.loc["fine", "status"] == "optimal"


def test_interrupt_keeps_finished_rows() -> None:
    p = tiny()

    def stop_after_two(i: int, row: dict) -> None:
        if i == 2:
            raise KeyboardInterrupt

    results = run_sweep(p, "tornado", workers=1, on_result=stop_after_two, **QUIET)
    assert results.attrs["interrupted"] is True
    assert len(results) == 17  # base + 8 drivers x 2
    assert (results["status"].iloc[:3] == "optimal").all()
    assert (results["status"].iloc[3:] == "interrupted").all()
    assert results["npv_reoptimized_musd"].iloc[:3].notna().all()


def test_scenario_problems_name_the_cell_they_were_read_from(tmp_path: Path) -> None:
    """Columns in another order and a blank row between records: the message still names the
    cell the user must fix (the frame keeps the rows and letters the reader saw)."""
    path = write_xlsx(tiny_tables(), tmp_path / "p.xlsx")
    book = load_workbook(path)
    sheet = book.create_sheet("Scenarios")
    sheet.append(["parameter", "scenario", "multiplier", "value", "site", "option"])
    sheet.append(["hashprice", "bear", 0.8, None, None, None])
    sheet.append([None] * 6)
    sheet.append(["lead_quarters", "slow", None, 0.5, None, None])
    book.save(path)
    from optimizer.inputs.workbook import load_portfolio

    with pytest.raises(InputError) as err:
        sheet_scenarios(load_portfolio(path))
    assert len(err.value.problems) == 1
    assert str(err.value.problems[0]).startswith(
        "Scenarios!D4 [value]: value 0.5: a whole number of quarters")


def test_scenario_problems_in_a_csv_folder_are_named_by_file_and_row(tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    tables = tiny_tables()
    tables["Scenarios"] = pd.DataFrame({
        "scenario": ["bear", "slow"], "parameter": ["hashprice", "lead_quarters"],
        "value": [None, 0.5], "multiplier": [0.8, None], "site": [None, None],
        "option": [None, None]})
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name.lower()}.csv", index=False)
    from optimizer.inputs.workbook import load_portfolio

    with pytest.raises(InputError) as err:
        sheet_scenarios(load_portfolio(folder))
    assert len(err.value.problems) == 1
    assert str(err.value.problems[0]).startswith("scenarios.csv row 3 [value]: value 0.5")


def test_scenarios_sheet_rows_are_checked_and_named_by_cell() -> None:
    bad = pd.DataFrame({
        "scenario": ["bear", "bear", "slow", "Base"],
        "parameter": ["hashprice", "lead_quarters", "lead_quarters", "discount_rate"],
        "value": [None, 0.5, None, 1.5],
        "multiplier": [0.5, None, 1.0, None],
        "site": ["Alpha", None, None, None],
        "option": [None, None, None, None]}, dtype=object)
    with pytest.raises(InputError) as err:
        sheet_scenarios(tiny(scenarios=bad))
    text = str(err.value)
    assert "Scenarios!E2 [site]: value 'Alpha': blank: hashprice can be limited to nothing" in text
    assert "Scenarios!C3 [value]: value 0.5: a whole number of quarters" in text
    assert "Scenarios!C5 [value]: value 1.5: a discount rate" in text
    assert "Scenarios!A5 [scenario]: value 'Base': another name" in text
    assert len(err.value.problems) == 4
    good = pd.DataFrame({
        "scenario": ["bear", "bear", "cheap dlc"],
        "parameter": ["hashprice", "lease", "capex"],
        "value": [None, 130.0, None], "multiplier": [0.5, None, 0.8],
        "site": [None, "Alpha", None], "option": [None, "dlc", "dlc"]}, dtype=object)
    p = tiny(scenarios=good)
    scenarios = sheet_scenarios(p)
    assert [s.name for s in scenarios] == ["base", "bear", "cheap dlc"]
    bear = apply_changes(p, scenarios[1].changes)
    assert bear.site_options.loc[("Alpha", "dlc"), "lease_multiplier"] == pytest.approx(130 / 150)
    assert p.site_options.loc[("Alpha", "dlc"), "lease_multiplier"] == 1.0  # base untouched


def test_grid_spec_is_parsed_or_refused() -> None:
    assert parse_grid("hashprice=0.8,1,1.2; capex=0.9,1.1") == {
        "hashprice": [0.8, 1.0, 1.2], "capex": [0.9, 1.1]}
    for spec in ("hashprice", "wind=1,2", "capex=a", "capex=1;capex=2", ""):
        with pytest.raises(UsageError):
            parse_grid(spec)


def test_sweep_workbook_has_its_sheets_and_charts(tmp_path: Path) -> None:
    p = tiny()
    tornado = run_sweep(p, "tornado", workers=1, **QUIET)
    path = tmp_path / "tornado.xlsx"
    write_sweep_report(tornado, path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["Summary", "Results", "Tornado", "Decision stability"]
    assert len(wb["Tornado"]._charts) == 1
    swings = [r[0] for r in wb["Tornado"].iter_rows(min_row=2, min_col=8, max_col=8,
                                                      values_only=True) if r[0] is not None]
    assert swings == sorted(swings, reverse=True) and len(swings) == 8  # drivers
    assert swings[0] == pytest.approx(tornado_table(tornado)["swing_musd"].iloc[0])
    results = wb["Results"]
    assert results["A2"].value == "base" and results.max_row == 18
    stability = wb["Decision stability"]
    assert stability["A2"].value == "Alpha" and stability["B1"].value == "by_2027_share"
    assert stability.conditional_formatting
    assert 0.0 < stability["B2"].value <= 1.0
    with pytest.raises(UsageError, match="already exists"):
        write_sweep_report(tornado, path)

    mc = run_sweep(p, "monte_carlo", draws=12, seed=3, workers=1, **QUIET)
    mc.loc[1, "scenario"] = "=HYPERLINK(\"x\")"  # a name that looks like a formula stays text
    write_sweep_report(mc, tmp_path / "mc.xlsx")
    wb = load_workbook(tmp_path / "mc.xlsx")
    assert "Distribution" in wb.sheetnames and len(wb["Distribution"]._charts) == 1
    assert wb["Results"]["A3"].data_type == "s"
    p10, p50, p90 = (wb["Distribution"].cell(2, c).value for c in (3, 4, 5))
    draws = mc["npv_reoptimized_musd"].iloc[1:]
    assert (p10, p50, p90) == pytest.approx(tuple(np.percentile(draws, [10, 50, 90])))


def test_marginal_values_and_cli(tmp_path: Path) -> None:
    p = tiny()
    marginal = run_sweep(p, "marginal", workers=1, **QUIET).set_index("scenario")
    assert list(marginal.index) == ["base", "budget +$100M in 2027", "budget +$100M in 2028",
                                    "Alpha: +1 hall", "Alpha: +50 MW grid", "Bravo: +1 hall",
                                    "Bravo: +50 MW grid"]
    # More of a resource never loses NPV (the base plan stays feasible and is the MIP start).
    assert (marginal["npv_change_musd"] >= -1e-6).all()
    grid = marginal.loc["Alpha: +50 MW grid"]
    fresh = optimize(apply_changes(p, (Change("grid_mw", "add", 50.0, site="Alpha"),)),
                     mip_gap=0.0)
    assert grid["npv_change_musd"] == pytest.approx(fresh.npv_musd
                                                    - marginal.loc["base",
                                                                   "npv_reoptimized_musd"])
    assert grid["value_per_unit_musd"] == pytest.approx(grid["npv_change_musd"] / 50.0)

    book = write_xlsx(tiny_tables(), tmp_path / "tiny.xlsx")
    out = tmp_path / "grid.xlsx"
    run = CliRunner().invoke(main, ["sweep", str(book), "--grid", "hashprice=0.9,1.1",
                                    "--workers", "1", "--mip-gap", "0", "-o", str(out)])
    assert run.exit_code == 0, run.output
    assert "grid sweep: 3 scenarios, 3 with a plan" in run.output and out.exists()
    run = CliRunner().invoke(main, ["sweep", str(book), "--tornado", "--marginal",
                                    "-o", str(tmp_path / "x.xlsx")])
    assert run.exit_code == 2 and "choose one sweep" in run.output
    run = CliRunner().invoke(main, ["sweep", str(book), "--scenarios",
                                    "-o", str(tmp_path / "y.xlsx")])
    assert run.exit_code == 2 and "no Scenarios rows" in run.output
    assert not (tmp_path / "y.xlsx").exists()
