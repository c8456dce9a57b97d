"""Roll-forward against a baseline report, "why not?" for sites left mining, value of timing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from support import tiny_tables, write_xlsx

from models.economics import build_economics
from models.quarters import quarter_range
from optimizer.cli import main
from optimizer.inputs.validation import portfolio_from_tables
from optimizer.replan.replan import (
    WHY_NOT_COLUMNS,
    explain_plan,
    explanation_text,
    timing_value,
    why_not,
)
from optimizer.reports.write import write_report
from optimizer.solve.optimize import optimize


def _records(ws, top: int = 1) -> list[dict[str, object]]:
    rows = list(ws.iter_rows(min_row=top, values_only=True))
    header = rows[0]
    out = []
    for r in rows[1:]:
        if r[0] is None:
            break
        out.append(dict(zip(header, r, strict=False)))
    return out


def _variant(bravo_cooling: float = 50.0, lease_multiplier: float | None = None,
             grid: float | None = None, commitments: pd.DataFrame | None = None,
             bravo_halls: int | None = None) -> dict[str, pd.DataFrame]:
    """The tiny portfolio with Bravo given cooling and no power upgrade (so a hall there is
    judged on its own economics), optionally a Bravo lease multiplier, grid or commitments."""
    t = tiny_tables()
    s = t["Sites"]
    s.loc[1, "cooling_mw"] = bravo_cooling
    for col in ("power_upgrade_mw", "power_upgrade_capex_musd", "power_upgrade_lead_quarters"):
        s.loc[1, col] = None
    if grid is not None:
        s.loc[1, "grid_mw"] = grid
    if bravo_halls is not None:
        s.loc[1, "halls"] = bravo_halls
    if lease_multiplier is not None:
        t["SiteOptions"] = pd.DataFrame({
            "site": ["Alpha", "Bravo", "Bravo"], "option": ["air", "dlc", "air"],
            "allowed": [True, True, True], "capex_multiplier": [0.9, None, None],
            "lease_multiplier": [None, lease_multiplier, lease_multiplier]}, dtype=object)
    if commitments is not None:
        t["Commitments"] = commitments
    return t


def _solve(tables: dict[str, pd.DataFrame]):
    return optimize(portfolio_from_tables(tables), time_limit=30)


def _alone(tables_of, option: str, quarter: str) -> float:
    """NPV of one Bravo hall alone: Alpha excluded, Bravo one hall forced, less Bravo kept
    mining (an independent check of the why-not arithmetic)."""
    def commitments(bravo: str) -> pd.DataFrame:
        rows = [("Alpha", None, None, None, "exclude")]
        rows.append(("Bravo", option, quarter, 1, "start") if bravo == "start"
                    else ("Bravo", None, None, None, "exclude"))
        return pd.DataFrame(rows, columns=["site", "option", "quarter", "halls", "action"],
                            dtype=object)
    with_hall = _solve(tables_of(commitments=commitments("start"), bravo_halls=1)).npv_musd
    without = _solve(tables_of(commitments=commitments("exclude"), bravo_halls=1)).npv_musd
    return with_hall - without


# ---- why not? --------------------------------------------------------------------------------
def test_blocked_by_cooling_and_by_power():
    plan = _solve(tiny_tables())  # Bravo: no cooling, no cooling modules
    row = why_not(plan).set_index("site").loc["Bravo"]
    assert row["reason"] == "blocked by cooling"
    assert row["explanation"].startswith("a hall needs at least 5 MW of cooling; the site has "
                                         "0 MW cooling")
    plan = _solve(_variant(grid=20.0))  # 25 MW halls need 32.5 MW (dlc) or 37.5 MW (air)
    row = why_not(plan).set_index("site").loc["Bravo"]
    assert row["reason"] == "blocked by power"
    assert "needs at least 32 MW of grid power; the site has 20 MW grid" in row["explanation"]


def test_unprofitable_site_best_hall_value_is_its_npv_alone():
    plan = _solve(_variant(lease_multiplier=0.1))
    frame = why_not(plan)
    assert list(frame.columns) == WHY_NOT_COLUMNS and list(frame["site"]) == ["Bravo"]
    row = frame.iloc[0]
    assert row["reason"] == "unprofitable"
    assert (row["best_option"], row["best_start_quarter"]) == ("dlc", "2027Q3")
    assert row["best_hall_npv_musd"] == pytest.approx(-227.710069, abs=1e-5)
    alone = _alone(lambda **kw: _variant(lease_multiplier=0.1, **kw), "dlc", "2027Q3")
    assert row["best_hall_npv_musd"] == pytest.approx(alone, abs=1e-6)
    assert row["forced_npv_musd"] is None


def test_outcompeted_site_is_priced_by_a_forced_re_solve():
    plan = _solve(_variant())  # Bravo can host, but the budget goes to Alpha
    assert set(plan.decisions["site"]) == {"Alpha"}
    row = why_not(plan).set_index("site").loc["Bravo"]
    assert row["reason"] == "outcompeted for budget"
    assert (row["best_option"], row["best_start_quarter"]) == ("dlc", "2027Q1")
    assert row["best_hall_npv_musd"] == pytest.approx(
        _alone(lambda **kw: _variant(**kw), "dlc", "2027Q1"), abs=1e-6)
    forced = _solve(_variant(commitments=pd.DataFrame(
        [("Bravo", "dlc", "2027Q1", 1, "start")],
        columns=["site", "option", "quarter", "halls", "action"], dtype=object)))
    assert row["forced_npv_musd"] == pytest.approx(forced.npv_musd, abs=1e-6)
    assert row["npv_lost_musd"] == pytest.approx(plan.npv_musd - forced.npv_musd, abs=1e-6)
    assert row["npv_lost_musd"] == pytest.approx(19.522173, abs=1e-5)
    assert "forcing it costs $19.5M of NPV (forced re-solve optimal)" in row["explanation"]
    capped = why_not(plan, max_solves=0).set_index("site").loc["Bravo"]
    assert capped["forced_npv_musd"] is None
    assert "not re-solved (at most 0 forced re-solves per plan)" in capped["explanation"]


def test_forcing_a_hall_the_budget_cannot_fund_is_blocked_by_budget():
    t = _variant()
    t["Quarters"]["budget_musd"] = 60.0  # below any hall's quarterly capex but Bravo dlc's 62.5
    t["Sites"].loc[0, "halls"] = 0
    plan = _solve(t)
    assert plan.halls_converted == 0
    rows = why_not(plan).set_index("site")
    assert rows.loc["Alpha", "reason"] == "no halls"
    assert rows.loc["Bravo", "reason"] == "blocked by budget or portfolio limits"
    assert rows.loc["Bravo", "explanation"].endswith(
        "no profitable start of a hall here fits beside the commitments within the budget, AI "
        "demand and hall-start limits")
    assert rows.loc["Bravo", "forced_npv_musd"] is None  # not worth a solve


# ---- value of timing -------------------------------------------------------------------------
def test_timing_value_against_earliest_and_never():
    t = tiny_tables()
    t["Quarters"]["lease_index"] = [1.0] * 6 + [1.4] * 2  # halls delivered late lease higher
    portfolio = portfolio_from_tables(t)
    plan = optimize(portfolio, time_limit=30)
    frame = timing_value(plan).set_index("strategy")
    assert frame.loc["this plan (timing optimised)", "npv_musd"] == pytest.approx(824.0310407)
    early = frame.loc["every profitable hall as early as possible"]
    assert early["npv_musd"] == pytest.approx(673.0473160, abs=1e-6)
    assert early["halls_converted"] == 4
    assert early["vs_this_plan_musd"] == pytest.approx(673.0473160 - 824.0310407, abs=1e-6)
    # never convert: every site mines its capacity (within its grid) when the margin is positive
    econ = build_economics(portfolio)
    cap = np.minimum(portfolio.sites["mining_mw"], portfolio.sites["grid_mw"]).to_numpy(float)
    by_hand = float((np.maximum(econ.mining_value, 0.0) * cap[:, None]).sum())
    never = frame.loc["never convert (mining only)"]
    assert never["npv_musd"] == pytest.approx(by_hand, rel=1e-12)
    assert never["npv_musd"] == pytest.approx(141.3613362, abs=1e-6)
    assert never["halls_converted"] == 0


def test_timing_is_in_the_objectives_npv_under_the_equity_objective():
    """With objective = equity_npv and debt, project and equity NPV differ: every Timing row
    is an equity NPV, and since the plan is the proven equity optimum no simple timing beats it
    (in project NPV one may: the plan does not maximise that)."""
    from models.economics import evaluate, mining_only, objective_npv

    t = tiny_tables()
    extra = pd.DataFrame({"key": ["objective", "debt_ltc", "debt_rate", "debt_tenor_years",
                                  "equity_discount_rate"],
                          "value": ["equity_npv", 0.6, 0.09, 5, 0.15]}, dtype=object)
    t["Settings"] = pd.concat([t["Settings"], extra], ignore_index=True)
    portfolio = portfolio_from_tables(t)
    plan = optimize(portfolio, time_limit=30, mip_gap=0.0)
    assert plan.status == "optimal"
    assert abs(plan.equity_npv_musd - plan.npv_musd) > 10
    frame = timing_value(plan).set_index("strategy")
    assert frame.loc["this plan (timing optimised)", "npv_musd"] == pytest.approx(
        plan.equity_npv_musd, rel=1e-12)
    assert "simple ranking" in frame.index  # the greedy plan, valued in equity NPV too
    others = frame.drop(index="this plan (timing optimised)")["vs_this_plan_musd"].dropna()
    assert len(others) >= 3 and (others <= 1e-6 * abs(plan.equity_npv_musd)).all()
    econ = build_economics(portfolio)
    never = objective_npv(econ, evaluate(econ, mining_only(econ)))
    assert frame.loc["never convert (mining only)", "npv_musd"] == pytest.approx(never, rel=1e-9)


# ---- roll-forward ----------------------------------------------------------------------------
def _rolled(start: str) -> dict[str, pd.DataFrame]:
    """The tiny portfolio re-planned from `start`, eight quarters, same market shape."""
    t = tiny_tables()
    s = t["Settings"]
    s.loc[s["key"] == "start_quarter", "value"] = start
    t["Quarters"] = t["Quarters"].assign(quarter=quarter_range(start, 8))
    return t


def test_roll_forward_locks_begun_starts_and_reports_each_change(tmp_path):
    folder = Path(tmp_path)
    baseline = folder / "q1-plan.xlsx"
    old_plan = _solve(tiny_tables())
    write_report(old_plan, baseline)
    assert old_plan.decisions[["site", "option", "start_quarter", "halls"]].values.tolist() \
        == [["Alpha", "dlc", "2027Q2", 2]]
    workbook = write_xlsx(_rolled("2027Q3"), folder / "q3.xlsx")
    target = folder / "q3-plan.xlsx"
    result = CliRunner().invoke(main, ["plan", str(workbook), "-o", str(target), "--baseline",
                                       str(baseline), "--time-limit", "30"])
    assert result.exit_code == 0, result.output
    assert "locked start from q1-plan.xlsx" in result.output
    wb = load_workbook(target)
    assert {"Changes", "WhyNot", "Timing"} <= set(wb.sheetnames)
    assert wb.sheetnames.index("Changes") == wb.sheetnames.index("Constraints") + 1
    ws = wb["Changes"]
    assert set(ws.tables) == {"tChangesNPV", "tChanges"}
    metrics = {r["metric"]: r["value"] for r in _records(ws)}
    summary = {r["metric"]: r["value"] for r in _records(wb["Summary"])}
    assert metrics["baseline_npv_musd"] == pytest.approx(old_plan.npv_musd, rel=1e-12)
    assert metrics["npv_change_musd"] == pytest.approx(
        summary["npv_musd"] - old_plan.npv_musd, rel=1e-12)
    assert metrics["halls_locked"] == 2 and metrics["halls_kept"] == 2
    top = int(ws.tables["tChanges"].ref.split(":")[0][1:])
    changes = _records(ws, top)
    kept = [r for r in changes if r["change"] == "kept"]
    assert kept == [{"site": "Alpha", "option": "dlc", "change": "kept",
                     "old_start_quarter": "2027Q2", "new_start_quarter": "2027Q2",
                     "halls": 2, "shift_quarters": 0,
                     "note": "begun before 2027Q3: locked"}]


def test_explain_plan_fills_the_plan_and_the_report(tmp_path):
    plan = _solve(_variant())
    explain_plan(plan, why_not_solves=0)
    assert plan.baseline_changes is None and plan.why_not is not None
    text = explanation_text(plan).splitlines()
    assert text[-1] == "  Bravo: outcompeted for budget"  # not re-solved: no cost stated
    assert text[0] == "Value of timing:" and "never convert (mining only)" in text[4]
    assert plan.timings["explain"] > 0
    path = tmp_path / "plan.xlsx"
    write_report(plan, path)
    wb = load_workbook(path)
    assert "Changes" not in wb.sheetnames
    why = _records(wb["WhyNot"])
    assert [(r["site"], r["reason"]) for r in why] == [("Bravo", "outcompeted for budget")]
    timing = {r["strategy"]: r["npv_musd"] for r in _records(wb["Timing"])}
    assert timing["this plan (timing optimised)"] == pytest.approx(plan.npv_musd)
    assert set(timing) == {"this plan (timing optimised)", "simple ranking",
                           "every profitable hall as early as possible",
                           "never convert (mining only)"}
