"""One signed hall worked by hand (docs/economics.md, "Board-ready finance"): tax, the taxed
contracted terminal value, debt with a balloon, mining opex, idle power and the opex
escalator, checked line by line against CashFlows, Decisions, Summary and SourcesUses.

Site A: 50 MW of grid, 30 MW of miners at 20 J/TH, power $40/MWh, mining opex $40,000 per
MW-year, idle grid power worth $20,000 per MW-year; one 10 MW hall, 10 MW of cooling. Option
signed (the contract as its own option): K = $2M/MW IT x 10 = $20M over lead 2, PUE 1.25,
lease $150/kW-month escalating 3% a year, ramp 1, opex $12/kW-month escalating 5% a year,
tenant pays power, a 2-year (8-quarter) lease term. Commitments: the hall starts in 2027Q1
(t = 0), lease_signed. Settings: 8 quarters, r = 10% (end of quarter), tax 20%, depreciation 2
years (8 quarters), terminal value contracted and taxed (the default), debt 50% loan-to-cost at
8% over 2 years (8 quarterly payments), no budget.

The hall reserves 12.5 MW from t = 0, is online in q0 = 2; its first term runs 2..9, so the
term running at T-1 = 7 ends at 10 (exclusive): the contracted tail is u = 8, 9. The miners run
30 MW (the margin beats the idle value), so 50 - 30 - 12.5 = 7.5 MW are idle throughout.
Each draw (5 in t = 0 and t = 1) is repaid in 8 level payments from the next quarter: by T-1
one and two payments are left, repaid in T-1 as the balloon.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from openpyxl import load_workbook
from reference import make_portfolio, option, site
from test_properties import portfolios

from models.economics import build_economics
from models.portfolio import Portfolio
from optimizer.reports.write import write_report
from optimizer.solve.optimize import optimize

REL = 1e-9
D = 365.25 / 4
T = 8


def signed_hall() -> Portfolio:
    return make_portfolio(
        sites=[site("A", grid_mw=50.0, mining_mw=30.0, halls=1, hall_it_mw=10.0,
                    cooling_mw=10.0, mining_opex_usd_per_mw_year=40_000.0,
                    idle_power_value_usd_per_mw_year=20_000.0)],
        options=[option("signed", capex_musd_per_it_mw=2.0, lead_quarters=2, pue=1.25,
                        cooling_mw_per_it_mw=1.0, lease_usd_per_kw_month=150.0,
                        lease_escalator=0.03, ramp_quarters=1, opex_usd_per_kw_month=12.0,
                        opex_escalator=0.05, lease_term_years=2.0)],
        horizon=T, discount_rate=0.10, hashprice=50.0,
        commitments=[{"site": "A", "option": "signed", "quarter": "2027Q1", "halls": 1,
                      "action": "start", "lease_signed": True}],
        tax_rate=0.2, depreciation_years=2.0, terminal_value="contracted",
        debt_ltc=0.5, debt_rate=0.08, debt_tenor_years=2.0)


U = range(T + 2)  # the horizon and the contracted tail u = 8, 9
MINING_REVENUE = [30 * D * 50 * 1000 / 20 / 1e6] * T
MINING_POWER = [30 * D * 24 * 40 / 1e6] * T
MINING_OPEX = [30 * 40_000 / 4 / 1e6] * T  # $0.3M a quarter
MARGIN = [MINING_REVENUE[t] - MINING_POWER[t] - MINING_OPEX[t] for t in range(T)]
IDLE = [(50 - 30 - 12.5) * 20_000 / 4 / 1e6] * T  # 7.5 MW idle: $0.0375M a quarter
RENT = [150 * 1.03 ** ((u - 2) / 4) * 10 * 1000 * 3 / 1e6 if u >= 2 else 0.0 for u in U]
OPEX = [12 * 1.05 ** ((u - 2) / 4) * 10 * 1000 * 3 / 1e6 if u >= 2 else 0.0 for u in U]
CAPEX = [10.0, 10.0] + [0.0] * (T - 2)
DEP = [0.0, 0.0] + [20 / 8] * 8  # 2..9: still 2.5 a quarter in the tail
TAX = [0.2 * (MARGIN[t] + RENT[t] - OPEX[t] - DEP[t] + IDLE[t]) for t in range(T)]
NET = [MARGIN[t] + RENT[t] - OPEX[t] - CAPEX[t] - TAX[t] + IDLE[t] for t in range(T)]
DF = [1.1 ** (-(u + 1) / 4) for u in U]
# The contracted tail, taxed: NOI_u - 0.2 (NOI_u - dep_u), u = 8, 9.
TAIL = [(RENT[u] - OPEX[u]) - 0.2 * (RENT[u] - OPEX[u] - DEP[u]) for u in (8, 9)]
TV = sum(TAIL[k] * DF[8 + k] for k in range(2)) / DF[7]
NPV = sum(NET[t] * DF[t] for t in range(T)) + TV * DF[7]

# Debt: each draw of 5 repaid at r = 0.02 in 8 level payments A = 5 r / (1 - 1.02^-8).
DRAW = [0.5 * c for c in CAPEX]
INTEREST, PRINCIPAL, BALLOON = [0.0] * T, [0.0] * T, [0.0] * T
for s_, d in enumerate(DRAW):
    if not d:
        continue
    left, pay = d, d * 0.02 / (1 - 1.02 ** -8)
    for t in range(s_ + 1, T):
        INTEREST[t] += 0.02 * left
        PRINCIPAL[t] += pay - 0.02 * left
        left -= pay - 0.02 * left
    BALLOON[T - 1] += left  # one (t = 0's draw) and two (t = 1's) payments left
PRINCIPAL[T - 1] += BALLOON[T - 1]
CFADS = [NET[t] + CAPEX[t] for t in range(T)]  # no prepayment
SERVICE = [INTEREST[t] + PRINCIPAL[t] - BALLOON[t] for t in range(T)]
DSCR_2027 = sum(CFADS[:4]) / sum(SERVICE[:4])
DSCR_2028 = sum(CFADS[4:]) / sum(SERVICE[4:])
BACKLOG = sum(RENT[2:10])  # rent due of the first term, 2..9, undiscounted

# The start's lease-life flows: its own flows within the horizon, then its taxed tail.
OWN = [RENT[t] - OPEX[t] - CAPEX[t] - 0.2 * (RENT[t] - OPEX[t] - DEP[t]) for t in range(T)]
LIFE = OWN + TAIL


def bisect_irr(flows: list[float]) -> float:
    """The quarterly rate zeroing sum_t CF_t (1+q)^-t (one sign change: one root)."""
    lo, hi = -0.99, 10.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if sum(x / (1 + mid) ** t for t, x in enumerate(flows)) > 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    plan = optimize(signed_hall(), time_limit=60, mip_gap=0.0, method="monolithic")
    path = tmp_path_factory.mktemp("finance") / "plan.xlsx"
    write_report(plan, path)
    return path, plan


def test_the_case_exercises_every_rule() -> None:
    """Not vacuous: a balloon, a taxed tail with depreciation still running, idle MW, an
    escalating opex and a covenant-free min_dscr from real debt service."""
    assert BALLOON[-1] > 0 and DEP[8] > 0 and IDLE[0] > 0 and OPEX[9] > OPEX[2]
    assert all(s > 0 for s in SERVICE[1:]) and TAIL[0] != RENT[8] - OPEX[8]


def test_cash_flow_lines_by_hand(report) -> None:  # type: ignore[no-untyped-def]
    _path, plan = report
    cf = plan.cash_flows
    assert list(plan.mining_mw.iloc[0]) == [30.0] * T
    for column, want in (
            ("mining_revenue_musd", MINING_REVENUE), ("mining_power_musd", MINING_POWER),
            ("mining_opex_musd", MINING_OPEX), ("mining_margin_musd", MARGIN),
            ("idle_power_musd", IDLE), ("ai_revenue_musd", RENT[:T]),
            ("ai_opex_musd", OPEX[:T]), ("capex_musd", CAPEX),
            ("depreciation_musd", DEP[:T]), ("tax_musd", TAX), ("net_musd", NET),
            ("debt_draw_musd", DRAW), ("interest_musd", INTEREST),
            ("principal_musd", PRINCIPAL), ("balloon_musd", BALLOON), ("cfads_musd", CFADS),
            ("debt_service_musd", SERVICE),
            ("dscr", [c / s if s else np.nan for c, s in zip(CFADS, SERVICE, strict=True)])):
        assert list(cf[column]) == pytest.approx(want, rel=REL, abs=1e-12, nan_ok=True), column
    assert plan.terminal_value_musd == pytest.approx(TV * DF[7], rel=REL)
    assert plan.npv_musd == pytest.approx(NPV, rel=REL)
    annual = plan.annual.set_index("year")
    assert annual.loc[2027, "dscr"] == pytest.approx(DSCR_2027, rel=REL)
    assert annual.loc[2028, "dscr"] == pytest.approx(DSCR_2028, rel=REL)
    assert list(annual["ai_revenue_contracted_musd"]) == pytest.approx(
        [sum(RENT[:4]), sum(RENT[4:8])], rel=REL)
    assert list(annual["ai_revenue_planned_musd"]) == pytest.approx([0.0, 0.0], abs=1e-12)
    assert annual.loc[2028, "revenue_musd"] == pytest.approx(
        sum(MINING_REVENUE[4:]) + sum(IDLE[4:]) + sum(RENT[4:8]), rel=REL)
    assert annual.loc[2028, "ebitda_musd"] == pytest.approx(
        sum(MARGIN[4:]) + sum(IDLE[4:]) + sum(RENT[4:8]) - sum(OPEX[4:8]), rel=REL)


def test_decision_returns_on_lease_life_flows(report) -> None:  # type: ignore[no-untyped-def]
    _path, plan = report
    (row,) = plan.decisions.to_dict("records")
    assert row["lease_signed"] is True
    assert row["npv_musd"] == pytest.approx(sum(f * d for f, d in zip(LIFE, DF, strict=True)),
                                            rel=REL)
    assert row["irr"] == pytest.approx((1 + bisect_irr(LIFE)) ** 4 - 1, rel=1e-9)
    life = np.array(LIFE)
    assert row["moic"] == pytest.approx(life[life > 0].sum() / -life[life < 0].sum(), rel=REL)
    cumulative = np.cumsum(LIFE)
    first = int(np.flatnonzero(cumulative >= 0)[np.flatnonzero(cumulative >= 0) > 0][0])
    assert cumulative[first - 1] < 0
    labels = ["2027Q1", "2027Q2", "2027Q3", "2027Q4", "2028Q1", "2028Q2", "2028Q3", "2028Q4",
              "2029Q1", "2029Q2"]
    assert row["payback_quarter"] == labels[first]


def test_summary_lender_and_contract_rows(report) -> None:  # type: ignore[no-untyped-def]
    path, plan = report
    metrics = plan.deal_metrics.set_index("metric")
    assert metrics.loc["min_dscr", "value"] == pytest.approx(min(DSCR_2027, DSCR_2028), rel=REL)
    year = 2027 if DSCR_2027 < DSCR_2028 else 2028
    assert metrics.loc["min_dscr", "note"].startswith(f"in {year}")
    assert metrics.loc["refinancing_musd", "value"] == pytest.approx(BALLOON[-1], rel=REL)
    assert metrics.loc["contracted_backlog_musd", "value"] == pytest.approx(BACKLOG, rel=REL)
    assert metrics.loc["contracted_npv_share", "value"] == pytest.approx(1.0, rel=REL)
    ws = load_workbook(path)["Summary"]
    assert ws["A2"].value == "npv_musd"
    note = next(c.column_letter for c in ws[1] if c.value == "note")
    assert "after tax at 20%" in ws[f"{note}2"].value
    assert "contracted, taxed" in ws[f"{note}2"].value


def test_sources_and_uses_by_hand(report) -> None:  # type: ignore[no-untyped-def]
    path, plan = report
    su = plan.sources_uses.set_index("line")
    want = {"hall_capex_musd": (20.0, 0.0), "cooling_capex_musd": (0.0, 0.0),
            "power_upgrade_capex_musd": (0.0, 0.0), "equipment_capex_musd": (0.0, 0.0),
            "total_uses_musd": (20.0, 0.0), "tenant_funding_musd": (0.0, 0.0),
            "debt_draws_musd": (10.0, 0.0), "equity_musd": (10.0, 0.0),
            "total_sources_musd": (20.0, 0.0), "prepayments_received_musd": (0.0, 0.0),
            "cfads_musd": (sum(CFADS[:4]), sum(CFADS[4:]))}
    for line, (y2027, y2028) in want.items():
        assert su.loc[line, "2027"] == pytest.approx(y2027, rel=REL, abs=1e-12), line
        assert su.loc[line, "2028"] == pytest.approx(y2028, rel=REL, abs=1e-12), line
        assert su.loc[line, "total"] == pytest.approx(y2027 + y2028, rel=REL, abs=1e-12), line
    sheet = load_workbook(path)["SourcesUses"]
    header = [c.value for c in sheet[1]]
    assert header == ["line", "2027", "2028", "total"]
    rows = {sheet.cell(r, 1).value: r for r in range(2, 13)}
    assert sheet.cell(rows["total_sources_musd"], 4).value == pytest.approx(
        sheet.cell(rows["total_uses_musd"], 4).value, rel=REL)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(portfolios())
def test_blank_finance_columns_and_untaxed_change_nothing(portfolio: Portfolio) -> None:
    """With every new column blank and terminal_value_tax = untaxed, each unit's value is the
    pre-finance formula to the last digit (==, not approx), the mining value too, nothing is
    idle, no covenant, and the lease-life value is the project value itself."""
    p = portfolio.replace(settings=dataclasses.replace(portfolio.settings,
                                                       terminal_value_tax="untaxed"))
    econ = build_economics(p)
    discount = econ.discount
    for st in (econ.halls, econ.cooling, econ.power):
        noi = st.revenue - st.opex - st.ai_power
        tax = econ.tax_rate * (noi - st.depreciation)
        if econ.contracted:
            tv_now = discount[-1] * st.terminal
        else:
            tv_now = discount[-1] * econ.terminal_factor * noi[:, -1]
        old = (noi + st.prepayment - st.capex - tax) @ discount + tv_now
        assert np.array_equal(st.project_value, old)
        assert st.life_value is st.project_value
        assert not st.idle_power.any() and not st.balloon.any()
    old_mining = econ.mining_margin * (1.0 - econ.tax_rate) * discount[None, :]
    if econ.objective == "project_npv":
        assert np.array_equal(econ.mining_value, old_mining)
    assert econ.objective_constant == 0.0 and econ.rules.coverage is None
    s = p.settings
    factor = {"multiple": (s.terminal_multiple or 0.0) * 4.0, "none": 0.0,
              "contracted": 0.0}.get(s.terminal_value)
    if factor is not None:
        assert econ.terminal_factor == factor
