"""The report's deal content: metrics at the top of Summary, the returns and beyond-horizon
sentences, the deal CashFlows columns, the Annual sheet, per-start irr / payback on Decisions
and the equity / debt chart."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from support import tiny_tables
from test_deal_hand import EQUITY_NPV, deal_portfolio

from optimizer.inputs.validation import portfolio_from_tables
from optimizer.plan import ANNUAL_COLUMNS, CASH_FLOW_COLUMNS, METRIC_NAMES
from optimizer.reports.summary import plan_narrative
from optimizer.reports.write import write_report
from optimizer.solve.optimize import optimize


@pytest.fixture(scope="module")
def deal_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    plan = optimize(deal_portfolio(), time_limit=60, mip_gap=0.0, method="monolithic")
    path = tmp_path_factory.mktemp("deal") / "deal.xlsx"
    write_report(plan, path)
    return path, plan


def test_metrics_follow_the_npv_at_the_top_of_summary(deal_report) -> None:
    path, _plan = deal_report
    ws = load_workbook(path)["Summary"]
    names = [ws.cell(r, 1).value for r in range(2, 2 + 1 + len(METRIC_NAMES))]
    assert names == ["npv_musd", *METRIC_NAMES]
    rows = {ws.cell(r, 1).value: r for r in range(2, 40)}
    assert ws.cell(rows["equity_npv_musd"], 2).value == pytest.approx(EQUITY_NPV, rel=1e-9)
    # No payback: the value is blank and the note says why.
    assert ws.cell(rows["payback_quarter"], 2).value is None
    assert ws.cell(rows["payback_quarter"], 5).value == "not paid back within the horizon"
    assert ws.cell(rows["project_irr"], 2).number_format.endswith("%")


def test_cash_flows_annual_and_decisions_sheets(deal_report) -> None:
    path, _plan = deal_report
    wb = load_workbook(path)
    cash = wb["CashFlows"]
    assert [c.value for c in cash[1]] == CASH_FLOW_COLUMNS
    col = {c.value: c.column for c in cash[1]}
    assert cash.cell(3, col["prepayment_musd"]).value == pytest.approx(6.75)  # t = 1
    annual = wb["Annual"]
    assert [c.value for c in annual[1]] == ANNUAL_COLUMNS
    assert [annual.cell(r, 1).value for r in (2, 3)] == [2027, 2028]
    assert annual.cell(3, ANNUAL_COLUMNS.index("debt_outstanding_musd") + 1).value == 0
    dec = wb["Decisions"]
    header = [c.value for c in dec[1]]
    assert header[-4:] == ["irr", "payback_quarter", "moic", "lease_signed"]
    # The start's lease-life flows (its contracted NOI after T-1 in its own quarter) have an
    # IRR, where a lump in T-1 had none (tests/test_deal_hand.py).
    assert dec.cell(2, header.index("irr") + 1).value is not None
    assert len(wb["Summary"]._charts) == 4


def test_beyond_horizon_flag_names_the_halls() -> None:
    """The tiny portfolio values AI NOI at 8x a year after 2 years: most of its NPV lies beyond
    the horizon, and the account says so and names the sites."""
    plan = optimize(portfolio_from_tables(tiny_tables()), time_limit=30)
    share = plan.deal_metrics.set_index("metric").loc["npv_beyond_horizon_share", "value"]
    assert share > 0.5
    lines = plan_narrative(plan)
    (flag,) = [line for line in lines if line.startswith("Flag: ")]
    assert "more than half" in flag and "beyond the horizon" in flag
    assert plan.beyond_horizon_sites and all(s in flag for s in plan.beyond_horizon_sites)
    # A plan with no single IRR: mining income first, then the build, then rent and TV
    # (the flows change sign twice); the value is blank and the note gives the rates.
    metrics = plan.deal_metrics.set_index("metric")
    assert pd.isna(metrics.loc["project_irr", "value"])
    assert metrics.loc["project_irr", "note"].startswith("several IRRs (")
    (returns,) = [line for line in lines if line.startswith("No project IRR")]
    # each blank IRR its own clause with its reason, no nested brackets
    assert returns.startswith("No project IRR: several IRRs (") and "), the cash flows" in returns
    assert "; no equity IRR: " in returns and "none" not in returns
