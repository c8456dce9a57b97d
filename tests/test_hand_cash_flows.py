"""One hall, forced by a `start` commitment, with every cash-flow line worked out by hand.

Site A: 30 MW grid, 30 MW of miners at 20 J/TH, power $40/MWh, one 10 MW hall.
Option dlc: $2M per IT MW (K = $20M), lead 2, PUE 1.25, lease $150/kW-month escalating 3% a
year, ramp 3 quarters, opex $12/kW-month, the owner pays AI power (passthrough FALSE).
Plan: 8 quarters from 2027Q1, r = 10%, hashprice $50/PH/s/day flat, power index 1.0 for the
first four quarters and 1.1 after, lease index 1.05 in 2027Q4. The commitment starts the hall in
2027Q2 (t = 1): capex 10 + 10 in t = 1, 2; online in 2027Q4 (t = 3); it takes 12.5 MW of grid
from t = 1, so the miners drop from 30 MW to 17.5 MW. Tax 20%, depreciation 1.1 years
(4.4 quarters from t = 3: full quarters 3..6 and 0.4 of quarter 7).

Every number below is written out as arithmetic, not computed by a helper, so that a reader
can check it against docs/economics.md line by line. The same numbers are asserted for the reference
implementation (tests/reference.py) and for the optimizer's Plan.
"""

from __future__ import annotations

import pytest
from reference import evaluate, make_portfolio, option, site

from models.portfolio import Portfolio
from optimizer.solve.optimize import optimize

REL = 1e-9
D = 365.25 / 4  # 91.3125 days a quarter


def one_hall(discounting: str, terminal_value: str) -> Portfolio:
    tv = {"none": {}, "multiple": {"terminal_multiple": 8.0},
          "gordon": {"terminal_growth": 0.02}}[terminal_value]
    return make_portfolio(
        sites=[site("A", grid_mw=30.0, mining_mw=30.0, halls=1, hall_it_mw=10.0,
                    cooling_mw=10.0)],
        options=[option("dlc", capex_musd_per_it_mw=2.0, lead_quarters=2, pue=1.25,
                        cooling_mw_per_it_mw=1.0, lease_usd_per_kw_month=150.0,
                        lease_escalator=0.03, ramp_quarters=3, opex_usd_per_kw_month=12.0,
                        power_passthrough=False)],
        horizon=8, discount_rate=0.10, hashprice=50.0,
        quarters={"power_index": [1.0, 1.0, 1.0, 1.0, 1.1, 1.1, 1.1, 1.1],
                  "lease_index": [1.0, 1.0, 1.0, 1.05, 1.0, 1.0, 1.0, 1.0]},
        commitments=[{"site": "A", "option": "dlc", "quarter": "2027Q2", "halls": 1,
                      "action": "start"}],
        tax_rate=0.2, depreciation_years=1.1, discounting=discounting,
        terminal_value=terminal_value, **tv)


# Mining: MW * D * uptime * (hashprice * 1000 / efficiency - 24 * power cost * index) / 1e6.
MINING = [
    30.0 * D * (50 * 1000 / 20 - 24 * 40 * 1.0) / 1e6,  # t=0: all 30 MW run
    17.5 * D * (50 * 1000 / 20 - 24 * 40 * 1.0) / 1e6,  # t=1: 30 - 1.25 * 10 MW left
    17.5 * D * (50 * 1000 / 20 - 24 * 40 * 1.0) / 1e6,
    17.5 * D * (50 * 1000 / 20 - 24 * 40 * 1.0) / 1e6,
    17.5 * D * (50 * 1000 / 20 - 24 * 40 * 1.1) / 1e6,  # t=4: power index 1.1
    17.5 * D * (50 * 1000 / 20 - 24 * 40 * 1.1) / 1e6,
    17.5 * D * (50 * 1000 / 20 - 24 * 40 * 1.1) / 1e6,
    17.5 * D * (50 * 1000 / 20 - 24 * 40 * 1.1) / 1e6,
]
# Revenue: 150 * lease index at delivery (1.05) * 1.03^((t-3)/4) $/kW-month * 10 MW * 1000 kW
# * 3 months * occupancy min(1, (t-3+1)/3) / 1e6.
REVENUE = [
    0.0, 0.0, 0.0,
    150 * 1.05 * 1.03 ** (0 / 4) * 10 * 1000 * 3 * (1 / 3) / 1e6,
    150 * 1.05 * 1.03 ** (1 / 4) * 10 * 1000 * 3 * (2 / 3) / 1e6,
    150 * 1.05 * 1.03 ** (2 / 4) * 10 * 1000 * 3 * 1 / 1e6,
    150 * 1.05 * 1.03 ** (3 / 4) * 10 * 1000 * 3 * 1 / 1e6,
    150 * 1.05 * 1.03 ** (4 / 4) * 10 * 1000 * 3 * 1 / 1e6,
]
# Opex: $12/kW-month * 10 MW * 1000 * 3, from online, not scaled by occupancy.
OPEX = [0.0, 0.0, 0.0] + [12 * 10 * 1000 * 3 / 1e6] * 5
# AI power paid by the owner: $40/MWh * index * PUE 1.25 * 10 MW * occupancy * 24 h * D / 1e6.
AI_POWER = [
    0.0, 0.0, 0.0,
    40 * 1.0 * 1.25 * 10 * (1 / 3) * 24 * D / 1e6,
    40 * 1.1 * 1.25 * 10 * (2 / 3) * 24 * D / 1e6,
    40 * 1.1 * 1.25 * 10 * 1 * 24 * D / 1e6,
    40 * 1.1 * 1.25 * 10 * 1 * 24 * D / 1e6,
    40 * 1.1 * 1.25 * 10 * 1 * 24 * D / 1e6,
]
# Capex: K = 2.0 * 10 = $20M over the 2 lead quarters t = 1, 2.
CAPEX = [0.0, 20 / 2, 20 / 2, 0.0, 0.0, 0.0, 0.0, 0.0]
# Depreciation: $20M over 4 * 1.1 = 4.4 quarters from t = 3.
DEPRECIATION = [0.0, 0.0, 0.0, 20 / 4.4, 20 / 4.4, 20 / 4.4, 20 / 4.4, 20 / 4.4 * 0.4]
TAX = [0.2 * (MINING[t] + REVENUE[t] - OPEX[t] - AI_POWER[t] - DEPRECIATION[t])
       for t in range(8)]
NET = [MINING[t] + REVENUE[t] - OPEX[t] - AI_POWER[t] - CAPEX[t] - TAX[t] for t in range(8)]
NOI_LAST = REVENUE[7] - OPEX[7] - AI_POWER[7]
DF = {"end": [1.1 ** (-(t + 1) / 4) for t in range(8)],
      "mid": [1.1 ** (-(t + 0.5) / 4) for t in range(8)]}
# terminal_value_tax = taxed (the default): the multiple and Gordon values use after-tax NOI.
TERMINAL = {"none": 0.0,
            "multiple": 8.0 * 4 * NOI_LAST * (1 - 0.2),
            "gordon": 4 * NOI_LAST * (1 - 0.2) * (1 + 0.02) / (0.10 - 0.02)}

CASES = [("end", "multiple"), ("mid", "gordon"), ("end", "none"), ("mid", "multiple")]


def hand_npv(discounting: str, terminal_value: str) -> float:
    df = DF[discounting]
    return sum(df[t] * NET[t] for t in range(8)) + df[7] * TERMINAL[terminal_value]


def test_hand_numbers_are_what_they_say() -> None:
    """Spot checks of the arithmetic itself (so a typo above cannot hide)."""
    assert MINING[0] == pytest.approx(30 * 91.3125 * 1540 / 1e6)  # 4.2186375
    assert REVENUE[5] == pytest.approx(4.725 * 1.03 ** 0.5)
    assert OPEX[3] == pytest.approx(0.36)
    assert AI_POWER[5] == pytest.approx(1.205325)
    assert sum(DEPRECIATION) == pytest.approx(20.0)  # 4 full quarters + 0.4: all of K


@pytest.mark.parametrize(("discounting", "terminal_value"), CASES)
def test_reference_matches_hand(discounting: str, terminal_value: str) -> None:
    ev = evaluate(one_hall(discounting, terminal_value), {("A", "dlc", 1): 1}, {}, {})
    assert ev is not None
    cols = {"mining_margin_musd": MINING, "ai_revenue_musd": REVENUE, "ai_opex_musd": OPEX,
            "ai_power_musd": AI_POWER, "capex_musd": CAPEX, "depreciation_musd": DEPRECIATION,
            "tax_musd": TAX, "net_musd": NET}
    for item, want in cols.items():
        assert [line[item] for line in ev.lines] == pytest.approx(want, rel=REL), item
    assert ev.discount_factors == pytest.approx(DF[discounting], rel=REL)
    assert ev.terminal_value == pytest.approx(TERMINAL[terminal_value], rel=REL)
    assert ev.npv == pytest.approx(hand_npv(discounting, terminal_value), rel=REL)


@pytest.mark.parametrize(("discounting", "terminal_value"), CASES)
def test_plan_matches_hand(discounting: str, terminal_value: str) -> None:
    plan = optimize(one_hall(discounting, terminal_value), time_limit=30, mip_gap=0.0)
    assert plan.status == "optimal"
    dec = plan.decisions
    assert list(dec["site"]) == ["A"]
    assert list(dec["option"]) == ["dlc"]
    assert list(dec["start_quarter"]) == ["2027Q2"]
    assert list(dec["online_quarter"]) == ["2027Q4"]
    assert list(dec["halls"]) == [1]
    assert float(dec["it_mw"].iloc[0]) == pytest.approx(10.0)
    assert float(dec["capex_musd"].iloc[0]) == pytest.approx(20.0)
    assert len(plan.upgrades) == 0
    assert list(plan.mining_mw.loc["A"]) == pytest.approx([30.0] + [17.5] * 7, abs=1e-6)

    cf = plan.cash_flows.reset_index(drop=True)
    assert list(cf["quarter"]) == ["2027Q1", "2027Q2", "2027Q3", "2027Q4", "2028Q1", "2028Q2",
                                   "2028Q3", "2028Q4"]
    assert list(cf["mining_margin_musd"]) == pytest.approx(MINING, rel=1e-6)
    assert list(cf["ai_revenue_musd"]) == pytest.approx(REVENUE, rel=1e-6)
    assert list(cf["ai_opex_musd"]) == pytest.approx(OPEX, rel=1e-6)
    assert list(cf["ai_power_musd"]) == pytest.approx(AI_POWER, rel=1e-6)
    assert list(cf["capex_musd"]) == pytest.approx(CAPEX, rel=1e-6)
    assert list(cf["depreciation_musd"]) == pytest.approx(DEPRECIATION, rel=1e-6)
    assert list(cf["tax_musd"]) == pytest.approx(TAX, rel=1e-6)
    assert list(cf["net_musd"]) == pytest.approx(NET, rel=1e-6)
    assert list(cf["discount_factor"]) == pytest.approx(DF[discounting], rel=1e-9)
    discounted = [DF[discounting][t] * NET[t] for t in range(8)]
    assert list(cf["discounted_musd"]) == pytest.approx(discounted, rel=1e-6)
    cumulative = [sum(discounted[: t + 1]) for t in range(8)]
    assert list(cf["cumulative_discounted_musd"]) == pytest.approx(cumulative, rel=1e-6)
    assert plan.terminal_value_musd == pytest.approx(
        DF[discounting][7] * TERMINAL[terminal_value], rel=1e-6, abs=1e-9)
    assert plan.npv_musd == pytest.approx(hand_npv(discounting, terminal_value), rel=1e-6)


def hall_begun_before() -> Portfolio:
    """A hall started in 2026Q4, one quarter before the plan (lead 2, K = $20M): only the
    2027Q1 half of its capex is in the plan, it is online from t = 1 at the lease index of
    2027Q2 (1.2), it holds 12.5 MW of grid from t = 0, and depreciates its whole K over 8
    quarters from t = 1. Lease passthrough (owner pays no AI power), no ramp, no tax."""
    return make_portfolio(
        sites=[site("A", grid_mw=30.0, mining_mw=30.0, halls=1, hall_it_mw=10.0,
                    cooling_mw=10.0)],
        options=[option("dlc", capex_musd_per_it_mw=2.0, lead_quarters=2, pue=1.25,
                        lease_usd_per_kw_month=150.0)],
        horizon=6, discount_rate=0.10, hashprice=50.0,
        quarters={"lease_index": [1.0, 1.2, 1.0, 1.0, 1.0, 1.0]},
        commitments=[{"site": "A", "option": "dlc", "quarter": "2026Q4", "halls": 1,
                      "action": "start"}],
        tax_rate=0.25, depreciation_years=2.0)


def test_hall_begun_before_the_plan() -> None:
    mining = [17.5 * D * (50 * 1000 / 20 - 24 * 40) / 1e6] * 6
    revenue = [0.0] + [150 * 1.2 * 10 * 1000 * 3 / 1e6] * 5
    capex = [20 / 2, 0.0, 0.0, 0.0, 0.0, 0.0]  # the 2026Q4 half is sunk
    depreciation = [0.0] + [20 / 8] * 5
    tax = [0.25 * (mining[t] + revenue[t] - depreciation[t]) for t in range(6)]
    net = [mining[t] + revenue[t] - capex[t] - tax[t] for t in range(6)]
    npv = sum(1.1 ** (-(t + 1) / 4) * net[t] for t in range(6))

    portfolio = hall_begun_before()
    ev = evaluate(portfolio, {("A", "dlc", -1): 1}, {}, {})
    assert ev is not None
    assert [x["net_musd"] for x in ev.lines] == pytest.approx(net, rel=REL)
    assert ev.npv == pytest.approx(npv, rel=REL)

    plan = optimize(portfolio, time_limit=30, mip_gap=0.0)
    cf = plan.cash_flows.reset_index(drop=True)
    assert list(cf["capex_musd"]) == pytest.approx(capex, rel=1e-6, abs=1e-9)
    assert list(cf["ai_revenue_musd"]) == pytest.approx(revenue, rel=1e-6, abs=1e-9)
    assert list(cf["depreciation_musd"]) == pytest.approx(depreciation, rel=1e-6, abs=1e-9)
    assert list(cf["mining_margin_musd"]) == pytest.approx(mining, rel=1e-6)
    assert list(cf["tax_musd"]) == pytest.approx(tax, rel=1e-6)
    assert plan.npv_musd == pytest.approx(npv, rel=1e-6)
