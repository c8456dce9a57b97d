"""optimize(): honest statuses, the self-audit, MIP starts, re-solves without rebuild, the CLI's
exit codes and infeasibility explained in business words."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from support import tiny_tables, write_xlsx

import optimizer.solve.audit as audit_module
from benchmarks.generate import make_tables
from models.conversion import build_model
from models.economics import build_economics
from models.errors import InfeasibleError, SolverError
from optimizer.cli import main
from optimizer.inputs.validation import portfolio_from_tables
from optimizer.solve.highs import HighsRunner
from optimizer.solve.optimize import optimize, solution_decisions


def with_commitment(site: str, option: str, quarter: str, halls: int) -> dict[str, pd.DataFrame]:
    tables = tiny_tables()
    tables["Commitments"] = pd.DataFrame({
        "site": [site], "option": [option], "quarter": [quarter], "halls": [halls],
        "action": ["start"]}, dtype=object)
    return tables


def test_tiny_portfolio_is_optimal_and_audited() -> None:
    plan = optimize(portfolio_from_tables(tiny_tables()), mip_gap=0.0)
    assert plan.status == "optimal" and plan.termination == "optimal"
    assert plan.gap == pytest.approx(0.0, abs=1e-9)
    assert plan.npv_musd == pytest.approx(plan.objective_musd, rel=1e-9)
    assert plan.bound_musd >= plan.npv_musd - 1e-6
    # The plan's cash flows add up to its NPV.
    cf = plan.cash_flows
    assert float((cf["net_musd"] * cf["discount_factor"]).sum()) + plan.terminal_value_musd \
        == pytest.approx(plan.npv_musd, rel=1e-9)
    assert float(plan.site_npv_musd.sum()) == pytest.approx(plan.npv_musd, rel=1e-9)
    # The optimizer beats or equals its own greedy baseline.
    assert plan.greedy_npv_musd is not None
    assert plan.npv_musd >= plan.greedy_npv_musd - 1e-6


def test_time_limited_plan_is_feasible_with_its_gap_never_optimal() -> None:
    # A 1 s limit is 1 effort second: the solve stops on its effort (deterministic), not on
    # the clock, and the plan says it is reproducible.
    portfolio = portfolio_from_tables(make_tables(8, 40, seed=1))
    plan = optimize(portfolio, time_limit=1.0, mip_gap=1e-6, threads=1)
    assert plan.termination == "effort_limit"
    assert plan.reproducible and plan.effort_s == 1.0
    assert plan.effort_spent_s == pytest.approx(1.0, abs=0.1)
    assert plan.status == "feasible"
    assert plan.gap > 1e-6
    assert plan.bound_musd > plan.npv_musd
    assert plan.gap == pytest.approx((plan.bound_musd - plan.npv_musd) / abs(plan.npv_musd))


def test_self_audit_fails_loudly_when_objective_and_cash_flows_disagree(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = audit_module.evaluate

    def skewed(*args: object, **kwargs: object) -> object:
        valuation = real(*args, **kwargs)  # type: ignore[arg-type]
        valuation.capex[0, 0] += 1.0  # one $M of capex the solver never saw
        return valuation

    monkeypatch.setattr(audit_module, "evaluate", skewed)
    with pytest.raises(SolverError, match="Self-audit failed"):
        optimize(portfolio_from_tables(tiny_tables()))


def test_mip_start_from_an_earlier_plan_reaches_the_same_optimum() -> None:
    portfolio = portfolio_from_tables(tiny_tables())
    first = optimize(portfolio, mip_gap=0.0)
    again = optimize(portfolio, mip_gap=0.0, mip_start=first, with_greedy=False)
    assert again.npv_musd == pytest.approx(first.npv_musd, rel=1e-9)
    assert "User solution" in again.solver_log or "MIP start" in again.solver_log


def test_budget_change_resolves_in_place_like_a_fresh_build() -> None:
    """Mutable budget Params: a built model re-solves after a change, no rebuild."""
    tables = tiny_tables()
    econ = build_economics(portfolio_from_tables(tables))
    model = build_model(econ)
    runner = HighsRunner(model)
    base = runner.solve(time_limit=30, mip_gap=0.0)
    for t in model.budget:
        model.budget[t] = 150.0
    runner.push_changes()
    tight = runner.solve(time_limit=30, mip_gap=0.0)
    tables["Quarters"]["budget_musd"] = [150.0] * 7 + [None]
    fresh = optimize(portfolio_from_tables(tables), mip_gap=0.0)
    assert tight.objective == pytest.approx(fresh.npv_musd, rel=1e-9)
    assert tight.objective < base.objective - 1.0  # the budget binds and costs NPV
    decisions = solution_decisions(model, econ)
    assert decisions.halls.sum() == fresh.decisions["halls"].sum()


def test_commitment_without_cooling_is_explained_in_business_words() -> None:
    portfolio = portfolio_from_tables(with_commitment("Bravo", "dlc", "2027Q1", 1))
    with pytest.raises(InfeasibleError) as info:
        optimize(portfolio)
    text = str(info.value)
    assert info.value.explanation
    first = info.value.explanation[0]
    assert "start 1 hall(s) of dlc in 2027Q1" in first
    assert "Cooling at Bravo in 2028Q1 to 2028Q4" in first  # one line for the run of quarters
    assert len(info.value.explanation) == 1
    assert "27.5 MW more cooling" in first  # 25 MW IT x 1.1 cooling per IT MW
    assert "no such upgrade" in first
    assert "Traceback" not in text


def test_commitment_over_budget_names_each_quarter_short() -> None:
    portfolio = portfolio_from_tables(with_commitment("Alpha", "dlc", "2027Q2", 3))
    with pytest.raises(InfeasibleError) as info:
        optimize(portfolio)
    # 3 halls x 50 MW x $10M / 4 quarters = $375M a quarter against $300M: $75M short in each of
    # 2027Q2..2028Q1. Two $40M cooling modules (165 MW needed, 100 MW on site; lead 2) are
    # cheapest started in 2027Q1, which has budget to spare: only their $40M spent in 2027Q2
    # adds to the shortfall (a 15 MW cooling slack instead would not fix the budget).
    lines = info.value.explanation
    assert all(line.startswith("Budget in ") for line in lines)
    short = [float(re.search(r"by \$([0-9.,]+)M", line).group(1)) for line in lines]
    assert sum(short) == pytest.approx(4 * 75.0 + 40.0)
    assert {line.split(":")[0] for line in lines} == {
        "Budget in 2027Q2", "Budget in 2027Q3", "Budget in 2027Q4", "Budget in 2028Q1"}


def _workbook(tmp_path: Path, tables: dict[str, pd.DataFrame]) -> Path:
    path = tmp_path / "portfolio.xlsx"
    write_xlsx(tables, path)
    return path


@pytest.mark.parametrize(("tables", "code"), [
    (tiny_tables(), 0),
    (with_commitment("Bravo", "dlc", "2027Q1", 1), 3),
])
def test_cli_plan_exit_codes(tmp_path: Path, tables: dict[str, pd.DataFrame], code: int) -> None:
    path = _workbook(tmp_path, tables)
    out = tmp_path / "out.xlsx"
    result = CliRunner().invoke(main, ["plan", str(path), "-o", str(out)])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert out.exists() == (code == 0)
    if code == 3:
        assert "Cooling at Bravo" in result.output


def test_cli_plan_bad_input_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["Sites"].loc[0, "grid_mw"] = -5
    path = _workbook(tmp_path, tables)
    out = tmp_path / "out.xlsx"
    result = CliRunner().invoke(main, ["plan", str(path), "-o", str(out)])
    assert result.exit_code == 2
    assert "Sites!C2" in result.output
    assert not out.exists()


def test_mining_idles_when_margin_is_negative() -> None:
    """After the halving the margin of a 24 J/TH, $45/MWh fleet is negative: miners idle."""
    portfolio = portfolio_from_tables(tiny_tables())
    plan = optimize(portfolio, mip_gap=0.0)
    econ = build_economics(portfolio)
    bravo = portfolio.site_names.index("Bravo")
    negative = econ.mining_margin[bravo] < 0
    assert negative.any()
    assert np.allclose(plan.mining_mw.loc["Bravo"].to_numpy()[negative], 0.0)


def test_misreported_mip_start_objective_is_caught_and_solved_again() -> None:
    """Found by the property test: with this portfolio HiGHS 1.16 reports the greedy start as
    worth 4.42 "in the reduced space" (it is worth 4.034) and stops there, calling it optimal.
    The runner notices the reported objective is not the plan's and solves again without the
    start; the enumerated optimum is 4.0547 (air at B in 2027Q2 with one cooling module)."""
    from reference import enumerate_best, make_portfolio, option, site

    portfolio = make_portfolio(
        sites=[site("A", grid_mw=10.0, mining_mw=5.0, efficiency_j_per_th=16.0,
                    power_cost_usd_per_mwh=25.0, halls=1, hall_it_mw=5.0, cooling_mw=0.0),
               site("B", grid_mw=10.0, mining_mw=5.0, efficiency_j_per_th=16.0,
                    power_cost_usd_per_mwh=25.0, halls=1, hall_it_mw=5.0, cooling_mw=0.0,
                    earliest_start="2027Q2", cooling_module_mw=10.0,
                    cooling_module_capex_musd=0.5, cooling_lead_quarters=1,
                    max_cooling_modules=1)],
        options=[option("air", capex_musd_per_it_mw=0.5, lead_quarters=2, pue=1.1,
                        cooling_mw_per_it_mw=0.5, lease_usd_per_kw_month=150.0,
                        power_passthrough=False),
                 option("dlc", capex_musd_per_it_mw=0.5, lead_quarters=1, pue=1.1,
                        cooling_mw_per_it_mw=0.5, lease_usd_per_kw_month=100.0,
                        power_passthrough=False)],
        horizon=6, discount_rate=0.08, hashprice=20.0, tax_rate=0.25, depreciation_years=1.0)
    plan = optimize(portfolio)
    best = enumerate_best(portfolio)
    assert plan.npv_musd == pytest.approx(best.npv, rel=1e-9)
    assert plan.npv_musd == pytest.approx(plan.objective_musd, rel=1e-9)


@pytest.mark.parametrize("tables", [tiny_tables(), make_tables(3, 10, seed=2)])
def test_decomposition_behind_optimize_matches_the_monolithic_optimum(
        tables: dict[str, pd.DataFrame]) -> None:
    portfolio = portfolio_from_tables(tables)
    mono = optimize(portfolio, mip_gap=0.0, method="monolithic")
    dw = optimize(portfolio, mip_gap=0.0, method="decomposition")
    assert dw.method == "decomposition" and dw.status == "optimal"
    assert dw.recommended_method == mono.recommended_method == "neighbourhood"  # < 100 sites
    assert dw.npv_musd == pytest.approx(mono.npv_musd, rel=1e-6)
    assert dw.bound_musd >= mono.npv_musd - 1e-6


def test_unknown_method_is_a_usage_error() -> None:
    from models.errors import UsageError

    with pytest.raises(UsageError, match="method must be one of"):
        optimize(portfolio_from_tables(tiny_tables()), method="fast")
