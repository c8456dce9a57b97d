"""The conversion ("incremental") metrics: the plan's cash flows less those of the same portfolio
never converted (`models.economics.mining_only`), worked out by hand for one forced hall, checked
against the NPVs on the sample and a "never convert" timing, and read back from the report.

Site A: 30 MW grid and 30 MW of miners at 20 J/TH, power $40/MWh, hashprice $50/PH-day; one
10 MW hall of option dlc: K = $2M/MW IT * 10 = $20M over lead 2, PUE 1.25, cooling 1.0 MW per
IT MW (the site has exactly 10 MW), lease $300/kW-month, tenant pays power, no opex. Settings:
8 quarters, r = 10%, tax 25%, depreciation 1.25 years (5 quarters), terminal value 2x annual AI
NOI, untaxed (terminal_value_tax untaxed; the taxed value is tested in test_hand_cash_flows).
A `start` commitment forces the hall in t = 1 (online in t = 3); with tau = 4 it is online
in t = 6 and has only two quarters of rent in the horizon (it never pays back).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from reference import make_portfolio, option, site
from support import tiny_tables

from models.economics import build_economics, evaluate, mining_only
from models.metrics import conversion_metrics, irr, sign_changes
from models.portfolio import Portfolio
from optimizer.inputs.validation import portfolio_from_tables
from optimizer.inputs.workbook import load_portfolio
from optimizer.plan import CONVERSION_METRIC_NAMES, METRIC_NAMES
from optimizer.replan.replan import timing_value
from optimizer.reports.summary import conversion_line, percent, plan_narrative, plan_text
from optimizer.reports.write import write_report
from optimizer.solve.frames import conversion_of, plan_frames
from optimizer.solve.greedy import greedy_plan
from optimizer.solve.optimize import optimize

REL = 1e-9
T = 8
D = 365.25 / 4
SAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "sample_portfolio.xlsx"


def forced_hall(tau: int) -> Portfolio:
    return make_portfolio(
        sites=[site("A", grid_mw=30.0, mining_mw=30.0, halls=1, hall_it_mw=10.0,
                    cooling_mw=10.0)],
        options=[option("dlc", capex_musd_per_it_mw=2.0, lead_quarters=2, pue=1.25,
                        cooling_mw_per_it_mw=1.0, lease_usd_per_kw_month=300.0)],
        horizon=T, discount_rate=0.10, hashprice=50.0, tax_rate=0.25, depreciation_years=1.25,
        terminal_value="multiple", terminal_multiple=2.0, terminal_value_tax="untaxed",
        commitments=[{"site": "A", "option": "dlc", "quarter": tau, "halls": 1,
                      "action": "start"}])


# Mining margin of one MW for a quarter: 1 MW at 20 J/TH hashes 50 PH/s, earning 50 * $50 a day,
# and burns 24 MWh at $40: (2,500 - 960) $/day * 91.3125 days = $0.14062125M.
M = D * (50 * 1000 / 20 - 24 * 40) / 1e6
RENT = 300 * 10 * 1000 * 3 / 1e6  # $9.0M a quarter from the online quarter (ramp 1, no escalator)
DEP = 20.0 / (1.25 * 4)  # $4M a quarter over the 5 quarters from online
TV = 2.0 * 4 * RENT  # 2x the annualised AI NOI of T-1: $72M


def hand_incremental(tau: int) -> list[float]:
    """Incremental project net by hand: the hall less the mining its 12.5 MW (PUE 1.25 x 10 MW)
    displaces from its construction start; the tax is 25% of the incremental taxable profit
    (rent - depreciation - displaced margin; a negative tax is a credit)."""
    q0 = tau + 2
    out = []
    for t in range(T):
        rent = RENT if t >= q0 else 0.0
        capex = 10.0 if t in (tau, tau + 1) else 0.0  # K = 20 spread over the 2 lead quarters
        dep = DEP if q0 <= t < q0 + 5 else 0.0
        displaced = 12.5 * M if t >= tau else 0.0
        tax = 0.25 * (rent - dep - displaced)
        out.append(rent - capex - displaced - tax)
    return out


def bisect_irr(flows: list[float], lo: float = 0.0, hi: float = 10.0) -> float:
    """Quarterly rate zeroing sum_t CF_t / (1+q)^t, by bisection (NPV falls in q here: the
    outflows come first, one sign change)."""
    def npv(q: float) -> float:
        return sum(cf / (1 + q) ** t for t, cf in enumerate(flows))
    assert npv(lo) > 0 > npv(hi)
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if npv(mid) > 0 else (lo, mid)
    return (lo + hi) / 2


@pytest.fixture(scope="module")
def plan_tau1():  # type: ignore[no-untyped-def]
    return optimize(forced_hall(1), time_limit=30, mip_gap=0.0, method="monolithic")


def test_mining_only_mines_every_site_to_its_grid() -> None:
    econ = build_economics(forced_hall(1))
    base = mining_only(econ)
    assert base is not None
    assert not base.halls.any() and not base.modules.any() and not base.upgrades.any()
    assert np.array_equal(base.mining, np.full((1, T), 30.0))  # min(mining_mw 30, grid 30)
    v = evaluate(econ, base)
    # No capex, no depreciation: net = 0.75 * 30 MW * M every quarter.
    assert v.net.sum(axis=0) == pytest.approx([0.75 * 30 * M] * T, rel=REL)


def test_conversion_metrics_by_hand(plan_tau1) -> None:  # type: ignore[no-untyped-def]
    plan = plan_tau1
    assert plan.halls_converted == 1
    d_net = hand_incremental(1)
    # t = 0: nothing yet; t = 1, 2: -10 capex - 0.75 * 12.5 M displaced (after the tax credit);
    # t = 3..7: 0.75 * (9 - 12.5 M) + 0.25 * 4 (the depreciation's tax shield).
    assert d_net[0] == 0.0
    assert d_net[1] == pytest.approx(-10 - 0.75 * 12.5 * M, rel=REL)
    assert d_net[3] == pytest.approx(0.75 * (9 - 12.5 * M) + 1.0, rel=REL)
    cf = plan.cash_flows
    assert list(cf["incremental_net_musd"]) == pytest.approx(d_net, rel=REL, abs=1e-12)
    assert list(cf["mining_only_net_musd"]) == pytest.approx([0.75 * 30 * M] * T, rel=REL)
    assert list(cf["net_musd"] - cf["mining_only_net_musd"]) == pytest.approx(
        list(cf["incremental_net_musd"]), rel=REL, abs=1e-12)
    with_tv = [*d_net[:-1], d_net[-1] + TV]  # no TV without conversion: dTV = 72
    assert list(cf["incremental_irr_flow_musd"]) == pytest.approx(with_tv, rel=REL)
    # One sign change (two outflows, then inflows): exactly one IRR, found by bisection.
    assert sign_changes(np.array(with_tv)) == 1
    q = bisect_irr(with_tv)
    assert sum(x / (1 + q) ** t for t, x in enumerate(with_tv)) == pytest.approx(0, abs=1e-9)
    metrics = plan.deal_metrics.set_index("metric")
    assert metrics.loc["conversion_irr", "value"] == pytest.approx((1 + q) ** 4 - 1, rel=1e-9)
    # No debt: the equity view of the conversion is the project's.
    assert metrics.loc["conversion_equity_irr", "value"] == pytest.approx((1 + q) ** 4 - 1,
                                                                           rel=1e-9)
    # Cumulative: -11.32, -22.64, then +6.43 a quarter: -16.2, -9.8, -3.3, +3.1 in t = 6.
    cumulative = np.cumsum(d_net)
    assert cumulative[5] < 0 <= cumulative[6]
    assert metrics.loc["conversion_payback_quarter", "value"] == "2028Q3"  # t = 6
    df = [1.1 ** (-(t + 1) / 4) for t in range(T)]
    hand_npv = sum(f * x for f, x in zip(df, d_net, strict=True)) + df[-1] * TV
    assert metrics.loc["conversion_npv_musd", "value"] == pytest.approx(hand_npv, rel=REL)
    base_npv = sum(f * 0.75 * 30 * M for f in df)
    assert plan.npv_musd - base_npv == pytest.approx(hand_npv, rel=REL)


def test_conversion_irr_exists_where_the_contract_irr_has_several(  # type: ignore[no-untyped-def]
        plan_tau1) -> None:
    """The plan's own flows are the mining income of t = 0, the build, then rent and TV: two
    sign changes and two rates; the conversion's flows change sign once."""
    metrics = plan_tau1.deal_metrics.set_index("metric")
    assert math.isnan(metrics.loc["project_irr", "value"])
    note = metrics.loc["project_irr", "note"]
    assert note.startswith("several IRRs (") and note.endswith("is conversion_irr")
    assert math.isfinite(metrics.loc["conversion_irr", "value"])
    # The contract's payback exists (3.16, -5.0, -13.1, -3.5, +6.1 in t = 4): its note says
    # what it measures, then, as its flows hold the mining income, where the conversion's is.
    assert metrics.loc["payback_quarter", "value"] == "2028Q1"
    # a value on flows that hold the mining income still points to the conversion's own
    assert metrics.loc["payback_quarter", "note"].startswith("cumulative project net")
    assert "is conversion_payback_quarter" in metrics.loc["payback_quarter", "note"]


def test_a_conversion_that_never_pays_back() -> None:
    """Started in t = 4: two quarters of rent (2 x 6.43) never recover the 22.64 spent; the TV
    of $72M in T-1 still gives the flows one IRR."""
    plan = optimize(forced_hall(4), time_limit=30, mip_gap=0.0, method="monolithic")
    d_net = hand_incremental(4)
    assert np.cumsum(d_net)[-1] == pytest.approx(-2 * (10 + 0.75 * 12.5 * M)
                                                 + 2 * (0.75 * (9 - 12.5 * M) + 1), rel=REL)
    assert np.cumsum(d_net)[-1] < 0
    metrics = plan.deal_metrics.set_index("metric")
    assert metrics.loc["conversion_payback_quarter", "value"] is None
    assert metrics.loc["conversion_payback_quarter", "note"] == "not paid back within the horizon"
    with_tv = [*d_net[:-1], d_net[-1] + TV]
    assert metrics.loc["conversion_irr", "value"] == pytest.approx(
        (1 + bisect_irr(with_tv, hi=50.0)) ** 4 - 1, rel=1e-9)
    line = conversion_line(plan)
    assert "does not pay back (not paid back within the horizon)" in line


def test_conversion_npv_on_the_sample() -> None:
    """On the sample (its greedy plan, to keep the test fast): conversion NPV = NPV - the NPV of
    the portfolio never converted, which mines min(mining_mw, grid_mw - the MW its halls begun
    before the plan reserve) where the margin pays."""
    pf = load_portfolio(SAMPLE)
    econ = build_economics(pf)
    greedy = greedy_plan(econ)
    assert greedy is not None
    frames = plan_frames(econ, greedy.decisions, greedy.valuation)
    metrics = frames["deal_metrics"].set_index("metric")
    base = mining_only(econ)
    assert base is not None
    lim = econ.rules.limits
    begun = econ.rules.usage(base).reserved_mw  # the signed halls begun in 2025
    assert begun.sum() > 0
    assert np.array_equal(base.mining, np.where(econ.mining_value > 0, np.minimum(
        lim.mining_mw[:, None], lim.grid_mw[:, None] - begun), 0.0))  # no mining floor
    base_npv = evaluate(econ, base).npv
    assert metrics.loc["conversion_npv_musd", "value"] == pytest.approx(
        greedy.valuation.npv - base_npv, rel=REL)
    assert frames["cash_flows"]["mining_only_net_musd"].to_numpy() == pytest.approx(
        evaluate(econ, base).net.sum(axis=0), rel=REL)
    # The sample's flows hold the mining income: the contract's IRRs point to the conversion's.
    for name in ("project_irr", "equity_irr"):
        if math.isnan(metrics.loc[name, "value"]):
            assert "conversion" in metrics.loc[name, "note"]


def test_conversion_npv_is_the_never_convert_difference_of_the_timing_block() -> None:
    """Without commitments, the "never convert" strategy of the Value of timing is the mining-
    only plan: its difference from this plan is minus the conversion NPV."""
    plan = optimize(portfolio_from_tables(tiny_tables()), time_limit=30)
    assert plan.halls_converted > 0
    timing = timing_value(plan).set_index("strategy")
    never = timing.loc["never convert (mining only)", "vs_this_plan_musd"]
    conversion_npv = plan.deal_metrics.set_index("metric").loc["conversion_npv_musd", "value"]
    assert -never == pytest.approx(conversion_npv, rel=1e-9)


def test_conversion_metrics_in_summary_console_and_cash_flows(  # type: ignore[no-untyped-def]
        plan_tau1, tmp_path: Path) -> None:
    plan = plan_tau1
    path = tmp_path / "plan.xlsx"
    write_report(plan, path)
    wb = load_workbook(path)
    ws = wb["Summary"]
    names = [ws.cell(r, 1).value for r in range(2, 2 + 1 + len(METRIC_NAMES))]
    assert names == ["npv_musd", *METRIC_NAMES]
    # The headline (docs/economics.md, "Board-ready finance"): NPV, equity NPV, then the
    # conversion's rows.
    assert names[2:2 + len(CONVERSION_METRIC_NAMES)] == CONVERSION_METRIC_NAMES
    rows = {ws.cell(r, 1).value: r for r in range(2, 40)}
    assert ws.cell(rows["conversion_irr"], 2).number_format.endswith("%")
    # Recompute it as Excel's =IRR() would, from the CashFlows column.
    cash = wb["CashFlows"]
    col = {c.value: c.column for c in cash[1]}
    flows = [cash.cell(r, col["incremental_irr_flow_musd"]).value for r in range(2, 2 + T)]
    quarterly = bisect_irr(flows)
    assert ws.cell(rows["conversion_irr"], 2).value == pytest.approx((1 + quarterly) ** 4 - 1,
                                                                      rel=1e-9)
    assert cash.cell(2 + T, col["incremental_net_musd"]).value == pytest.approx(TV, rel=REL)
    # One sentence with the conversion IRR and payback; the console prints the rows.
    lines = plan_narrative(plan)
    (line,) = [x for x in lines if x.startswith("The conversion itself")]
    returns = lines[lines.index(line) - 1]  # the contract's returns, just before
    assert returns.startswith("No project IRR: several IRRs (") and "; no equity IRR: " in returns
    assert returns.count("mining income") == 1 and "conversion's own return below." in returns
    assert "none" not in returns and ")) " not in returns and "((" not in returns
    rate = plan.deal_metrics.set_index("metric").loc["conversion_irr", "value"]
    assert f"earns {percent(rate)} a year" in line and "pays back in 2028Q3" in line
    text = plan_text(plan)
    for name in CONVERSION_METRIC_NAMES:
        assert name in text


def test_conversion_metrics_from_arrays() -> None:
    """The models function on its own: lines are differences, the TV goes in T-1."""
    c = conversion_metrics(np.array([5.0, -100.0, 60.0, 60.0]), np.array([5.0, -20.0, 30.0, 30.0]),
                           10.0, np.array([5.0, 5.0, 5.0, 5.0]), np.array([5.0, 5.0, 5.0, 5.0]),
                           0.0, npv=50.0, base_npv=18.0)
    assert list(c.incremental_net) == [0.0, -105.0, 55.0, 55.0]
    assert c.incremental_terminal == 10.0 and c.npv_musd == 32.0
    assert c.irr.annual == pytest.approx(irr(np.array([0.0, -105.0, 55.0, 65.0])).annual)
    assert c.equity_irr.annual == pytest.approx(irr(np.array([0.0, -25.0, 25.0, 35.0])).annual)
    assert c.payback_quarter == 3  # -105, -50, +5


def test_nothing_converted_leaves_the_conversion_metrics_blank() -> None:
    """A plan that converts nothing is the mining-only plan: no conversion metric but the NPV
    difference, 0."""
    econ = build_economics(portfolio_from_tables(tiny_tables()))
    base = mining_only(econ)
    assert base is not None
    v = evaluate(econ, base)
    conversion = conversion_of(econ, v)
    assert conversion is not None and conversion.npv_musd == 0.0
    frames = plan_frames(econ, base, v)
    metrics = frames["deal_metrics"].set_index("metric")
    assert metrics.loc["conversion_npv_musd", "value"] == 0.0
    for name in ("conversion_irr", "conversion_equity_irr"):
        assert math.isnan(metrics.loc[name, "value"])
        assert metrics.loc[name, "note"].startswith("nothing converted")


def test_a_plan_converting_nothing_says_so() -> None:
    """At $1/kW-month no hall beats mining: the plan is the mining-only plan, its conversion
    NPV 0 and the account says there is nothing to measure."""
    pf = make_portfolio(
        sites=[site("A", grid_mw=30.0, mining_mw=30.0, halls=1, hall_it_mw=10.0,
                    cooling_mw=10.0)],
        options=[option("dlc", lease_usd_per_kw_month=1.0)], horizon=T, hashprice=50.0)
    plan = optimize(pf, time_limit=30, mip_gap=0.0, method="monolithic")
    assert plan.halls_converted == 0
    metrics = plan.deal_metrics.set_index("metric")
    assert metrics.loc["conversion_npv_musd", "value"] == pytest.approx(0.0, abs=1e-9)
    assert pd.isna(metrics.loc["conversion_payback_quarter", "value"])
    assert conversion_line(plan) == ("No conversion metrics: nothing converted: the plan is "
                                     "the portfolio kept mining.")
    assert list(plan.cash_flows["incremental_net_musd"]) == pytest.approx([0.0] * T, abs=1e-9)


def test_halls_begun_before_the_plan_stay_in_the_mining_only_plan() -> None:
    """A hall started in t = -1 is a sunk fact in every plan: the counterfactual keeps it (and
    the 12.5 MW it reserves), so only what the plan starts counts as conversion."""
    pf = make_portfolio(
        sites=[site("A", grid_mw=30.0, mining_mw=30.0, halls=2, hall_it_mw=10.0,
                    cooling_mw=20.0)],
        options=[option("dlc", capex_musd_per_it_mw=2.0, lead_quarters=2, pue=1.25,
                        cooling_mw_per_it_mw=1.0, lease_usd_per_kw_month=300.0)],
        horizon=T, hashprice=50.0,
        commitments=[{"site": "A", "option": "dlc", "quarter": -1, "halls": 1,
                      "action": "start"}])
    econ = build_economics(pf)
    base = mining_only(econ)
    assert base is not None
    assert base.halls.sum() == 1 and np.array_equal(base.halls, econ.fixed_halls)
    assert np.array_equal(base.mining, np.full((1, T), 30.0 - 12.5))
    v = evaluate(econ, base)
    metrics = plan_frames(econ, base, v)["deal_metrics"].set_index("metric")
    assert metrics.loc["conversion_npv_musd", "value"] == 0.0
    assert metrics.loc["conversion_irr", "note"].startswith("nothing converted")
