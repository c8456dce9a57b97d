"""One hall, forced by a `start` commitment, with every deal column set; each cash-flow line and
each metric worked out by hand from docs/economics.md, "Deal structure".

Site A: 30 MW grid and miners at 20 J/TH, power $40/MWh, flex credits $100/kW-year, one 10 MW
hall. Option gpu: K = $2M/MW IT * 10 = $20M over lead 2, PUE 1.25, lease $150/kW-month
escalating 3% a year, ramp 1, opex $12/kW-month, owner pays AI power; a 0.75-year (3-quarter)
lease, renewal probability 0.6 with 2 vacant quarters; the tenant funds 25% of K and prepays
1.5 quarters of rent; GPUs of $1M/MW IT with a 0.5-year (2-quarter) life. Settings: 8
quarters, r = 10%, equity rate 15%, tax 20%, depreciation 1.1 years, debt 50% loan-to-cost at
8% over 0.5 years (2 quarterly payments), terminal value contracted, objective equity NPV,
budget basis equity, terminal value untaxed (the taxed contracted value is worked by hand in
tests/test_finance_hand.py).

The hall starts in t = 1, is online in t = 3 (q0); its lease expires at q0 + 3 = 6, so 40% of it
is vacant in t = 6, 7; the term running at T-1 = 7 ends at 9 (exclusive): the contracted TV is
the NOI of u = 8. GPUs are bought in 3, 5 and 7.
"""

from __future__ import annotations

import numpy as np
import pytest
from reference import make_portfolio, option, site

from models.decisions import Decisions
from models.economics import build_economics, evaluate
from models.metrics import irr, payback, plan_metrics
from models.portfolio import Portfolio

REL = 1e-9
D = 365.25 / 4
T = 8


def deal_portfolio(**settings: object) -> Portfolio:
    given = dict(tax_rate=0.2, depreciation_years=1.1, terminal_value="contracted",
                 debt_ltc=0.5, debt_rate=0.08, debt_tenor_years=0.5, equity_discount_rate=0.15,
                 objective="equity_npv", budget_basis="equity", terminal_value_tax="untaxed")
    given.update(settings)
    return make_portfolio(
        sites=[site("A", grid_mw=30.0, mining_mw=30.0, halls=1, hall_it_mw=10.0,
                    cooling_mw=10.0, flex_credit_usd_per_kw_year=100.0)],
        options=[option("gpu", capex_musd_per_it_mw=2.0, lead_quarters=2, pue=1.25,
                        cooling_mw_per_it_mw=1.0, lease_usd_per_kw_month=150.0,
                        lease_escalator=0.03, ramp_quarters=1, opex_usd_per_kw_month=12.0,
                        power_passthrough=False, lease_term_years=0.75,
                        renewal_probability=0.6, vacancy_quarters=2, tenant_capex_share=0.25,
                        prepaid_quarters=1.5, equipment_capex_musd_per_it_mw=1.0,
                        equipment_life_years=0.5)],
        horizon=T, discount_rate=0.10, hashprice=50.0,
        commitments=[{"site": "A", "option": "gpu", "quarter": "2027Q2", "halls": 1,
                      "action": "start"}],
        **given)


# Occupancy: 1 from q0 = 3; 1 - (1 - 0.6) = 0.6 in the vacancy window 6, 7; 1 again at u = 8.
OCC = [0, 0, 0, 1, 1, 1, 0.6, 0.6, 1]
MINING_MW = [30.0] + [17.5] * 7  # 30 - 1.25 * 10 MW from the start of construction
FLEX = [mw * 100 * 1000 / 4 / 1e6 for mw in MINING_MW]  # $M: $/kW-year * kW / 4 quarters
MARGIN = [mw * D * (50 * 1000 / 20 - 24 * 40) / 1e6 + f
          for mw, f in zip(MINING_MW, FLEX, strict=True)]
RENT = [150 * 1.03 ** ((t - 3) / 4) * 10 * 1000 * 3 / 1e6 * OCC[t] if t >= 3 else 0.0
        for t in range(9)]  # rent due; the renewed share is re-let at the escalated rate
OPEX = [0.0] * 3 + [12 * 10 * 1000 * 3 / 1e6] * 6  # a vacant hall still costs its opex
POWER = [40 * 1.25 * 10 * OCC[t] * 24 * D / 1e6 for t in range(9)]
TENANT = [0.0, 0.25 * 20 / 2, 0.25 * 20 / 2, 0, 0, 0, 0, 0]
EQUIPMENT = [0, 0, 0, 10.0, 0, 10.0, 0, 10.0]  # 1.0 * 10 MW in q0 and every 2 quarters
CAPEX = [0.0, 0.75 * 20 / 2, 0.75 * 20 / 2, 0, 0, 0, 0, 0]
CAPEX = [c + e for c, e in zip(CAPEX, EQUIPMENT, strict=True)]
# Depreciation: owner hall capex 15 over 4.4 quarters from t = 3 (0.4 of t = 7); each GPU
# purchase 10 over 2 quarters from its quarter: 5 a quarter from t = 3 on.
DEPRECIATION = [0, 0, 0] + [15 / 4.4 + 5] * 4 + [0.4 * 15 / 4.4 + 5]
# Prepayment P = 1.5 * 150 * 10 * 1000 * 3 / 1e6 = 6.75 in t = 1; it settles the rent due of
# t = 3 (4.5) and 2.25 of t = 4's; nothing is left to refund in T-1.
P = 1.5 * 150 * 10 * 1000 * 3 / 1e6
PREPAYMENT = [0, P, 0, -RENT[3], -(P - RENT[3]), 0, 0, 0]
TAX = [0.2 * (MARGIN[t] + RENT[t] - OPEX[t] - POWER[t] - DEPRECIATION[t]) for t in range(T)]
NET = [MARGIN[t] + RENT[t] + PREPAYMENT[t] - OPEX[t] - POWER[t] - CAPEX[t] - TAX[t]
       for t in range(T)]
# Debt: each draw 0.5 * capex repaid in 2 level payments at r = 0.02, A = r / (1 - 1.02^-2)
# per $ drawn; the draw of t = 7 is repaid at once in T-1 (the balloon).
DRAW = [0.5 * c for c in CAPEX]
A = 0.02 / (1 - 1.02 ** -2)
INTEREST = [0.0] * T
PRINCIPAL = [0.0] * T
BALANCE = [0.0] * T
for s_, d in enumerate(DRAW):
    if d == 0:
        continue
    left = d
    BALANCE[s_] += d if s_ < T - 1 else 0.0
    for k in (1, 2):
        t = s_ + k
        if t > T - 1:
            break
        INTEREST[t] += 0.02 * left
        PRINCIPAL[t] += d * A - 0.02 * left
        left -= d * A - 0.02 * left
        BALANCE[t] += left if t < T - 1 else 0.0
    if s_ == T - 1:
        PRINCIPAL[T - 1] += d
EQUITY = [NET[t] + DRAW[t] - INTEREST[t] - PRINCIPAL[t] + 0.2 * INTEREST[t] for t in range(T)]
DF = [1.10 ** (-(t + 1) / 4) for t in range(T + 1)]
DFE = [1.15 ** (-(t + 1) / 4) for t in range(T)]
# Contracted TV: the NOI of u = 8 (term 6..8), discounted with DF_8, stated at T-1.
TV = (RENT[8] - OPEX[8] - POWER[8]) * DF[8] / DF[7]
NPV = sum(NET[t] * DF[t] for t in range(T)) + TV * DF[7]
EQUITY_NPV = sum(EQUITY[t] * DFE[t] for t in range(T)) + TV * DFE[7]


def _plan() -> tuple[object, object]:
    econ = build_economics(deal_portfolio())
    units = np.zeros(len(econ.halls))
    (c,) = np.flatnonzero(econ.halls.tau == 1)
    units[c] = 1
    mining = np.array([MINING_MW])
    value = evaluate(econ, Decisions(units, np.zeros(len(econ.cooling)),
                                     np.zeros(len(econ.power)), mining))
    return econ, value


def test_each_cash_flow_line_by_hand() -> None:
    _econ, v = _plan()
    for name, got, want in (
            ("flex credit", v.flex_credit[0], FLEX), ("mining margin", v.mining_margin[0], MARGIN),
            ("rent due", v.ai_revenue[0], RENT[:T]), ("opex", v.ai_opex[0], OPEX[:T]),
            ("AI power", v.ai_power[0], POWER[:T]), ("tenant capex", v.tenant_capex[0], TENANT),
            ("equipment", v.equipment_capex[0], EQUIPMENT), ("capex", v.capex[0], CAPEX),
            ("depreciation", v.depreciation[0], DEPRECIATION),
            ("prepayment", v.prepayment[0], PREPAYMENT), ("tax", v.tax[0], TAX),
            ("net", v.net[0], NET), ("debt draw", v.debt_draw[0], DRAW),
            ("interest", v.interest[0], INTEREST), ("principal", v.principal[0], PRINCIPAL),
            ("debt outstanding", v.debt_balance[0], BALANCE),
            ("equity cash flow", v.equity_cash_flow[0], EQUITY)):
        assert got == pytest.approx(want, rel=REL, abs=1e-12), name
    assert sum(PREPAYMENT) == pytest.approx(0.0, abs=1e-12)  # it sums to zero undiscounted
    assert sum(DRAW) == pytest.approx(sum(PRINCIPAL), rel=REL)  # every draw is repaid
    assert v.terminal_value[0] == pytest.approx(TV, rel=REL)
    assert v.npv == pytest.approx(NPV, rel=REL)
    assert v.equity_npv == pytest.approx(EQUITY_NPV, rel=REL)


def test_unit_values_add_up_to_the_plan() -> None:
    """The MILP's coefficients (one hall's value + mining value) give the same two NPVs."""
    econ, _v = _plan()
    (c,) = np.flatnonzero(econ.halls.tau == 1)
    mining = np.array([MINING_MW])
    project = econ.halls.project_value[c] + float((econ.mining_project_value * mining).sum())
    equity = econ.halls.equity_value[c] + float((econ.mining_equity_value * mining).sum())
    assert project == pytest.approx(NPV, rel=REL)
    assert equity == pytest.approx(EQUITY_NPV, rel=REL)
    assert econ.halls.value[c] == econ.halls.equity_value[c]  # objective = equity_npv
    # Budget basis equity: owner capex less the debt draws.
    assert econ.rules.halls.budget[c] == pytest.approx([0.5 * x for x in CAPEX], rel=REL)


def test_each_metric_by_hand() -> None:
    econ, v = _plan()
    m = plan_metrics(v.net.sum(axis=0), v.equity_cash_flow.sum(axis=0),
                     float(v.terminal_value.sum()), econ.discount, v.equity_npv, v.npv)
    project = [*NET[:-1], NET[-1] + TV]
    equity = [*EQUITY[:-1], EQUITY[-1] + TV]
    # The IRR zeroes the NPV at quarterly q = (1 + annual)^(1/4) - 1, with CF_t / (1+q)^t.
    for got, flows in ((m.project_irr, project), (m.equity_irr, equity)):
        assert got.annual is not None, got.note
        q = (1 + got.annual) ** 0.25 - 1
        assert sum(cf / (1 + q) ** t for t, cf in enumerate(flows)) == pytest.approx(
            0.0, abs=1e-8 * sum(abs(x) for x in flows))
    assert m.equity_npv_musd == pytest.approx(EQUITY_NPV, rel=REL)
    assert m.moic == pytest.approx(sum(x for x in equity if x > 0)
                                   / -sum(x for x in equity if x < 0), rel=REL)
    cumulative = np.cumsum(NET)
    first_negative = int(np.flatnonzero(cumulative < 0)[0])
    back = [t for t in range(first_negative, T) if cumulative[t] >= 0]
    assert m.payback_quarter == (back[0] if back else None)
    discounted = np.cumsum([NET[t] * DF[t] for t in range(T)])
    neg = np.flatnonzero(discounted < 0)
    back = [t for t in range(int(neg[0]), T) if discounted[t] >= 0] if len(neg) else []
    assert m.discounted_payback_quarter == (back[0] if back else None)
    assert m.npv_beyond_horizon_share == pytest.approx(TV * DF[7] / NPV, rel=REL)


def test_irr_known_values_none_and_several() -> None:
    # -100 then 10, 10, 110: 10% a quarter, 1.1^4 - 1 a year.
    assert irr(np.array([-100.0, 10, 10, 110])).annual == pytest.approx(1.1 ** 4 - 1, rel=1e-10)
    none = irr(np.array([5.0, 3, 0, 2]))
    assert none.annual is None and "every cash flow is positive" in none.note
    negative = irr(np.array([-5.0, -3]))
    assert negative.annual is None and "negative" in negative.note
    # -100, +230, -132 = -(1 - 1.1x)(... ): NPV zero at 10% and 20% a quarter.
    several = irr(np.array([-100.0, 230, -132]))
    assert several.annual is None and "several IRRs (46.4%, 107.4%)" in several.note
    # Sign changes but no real root: -1 + 1x... with x^2 term making it positive definite.
    no_root = irr(np.array([1.0, -2.0, 1.5]))
    assert no_root.annual is None and "no discount rate makes the NPV zero" in no_root.note


def test_payback_never() -> None:
    assert payback(np.array([-10.0, 2, 2, 2])) is None  # never recovers
    assert payback(np.array([1.0, 2, 3])) is None  # never negative
    assert payback(np.array([-10.0, 5, 5, 1])) == 2
    assert payback(np.array([3.0, -10, 5, 1, 4])) == 4  # after having been negative


def test_debt_schedule_balloon_by_hand() -> None:
    """$1 drawn in t = 0 at 2% a quarter over 8 payments, horizon 4: payments in 1..3, then the
    balance left after the payment of t = 3 is repaid in t = 3 too."""
    from models.finance import debt_schedule
    interest, principal, balance = debt_schedule(0.02, 8, 4)
    a = 0.02 / (1 - 1.02 ** -8)
    b1 = 1.02 - a
    b2 = b1 * 1.02 - a
    b3 = b2 * 1.02 - a
    assert interest[0] == pytest.approx([0, 0.02, 0.02 * b1, 0.02 * b2], rel=REL)
    assert principal[0] == pytest.approx([0, 1 - b1, b1 - b2, b2 - b3 + b3], rel=REL)
    assert balance[0] == pytest.approx([1, b1, b2, 0], rel=REL)
    assert principal[0].sum() == pytest.approx(1.0, rel=REL)
    # At 0% the annuity is level principal, 1/8 a quarter.
    _i, p0, _b = debt_schedule(0.0, 8, 4)
    assert p0[1] == pytest.approx([0, 0, 1 / 8, 1 - 1 / 8], rel=REL)


def test_the_plan_reports_the_hand_numbers() -> None:
    """The optimizer's Plan (forced hall, miners run in full) carries the same lines, in the
    CashFlows columns of docs/economics.md, the metrics rows and the Annual table."""
    from optimizer.solve.optimize import optimize

    plan = optimize(deal_portfolio(), time_limit=60, mip_gap=0.0, method="monolithic")
    cf = plan.cash_flows
    for column, want in (
            ("mining_margin_musd", MARGIN), ("flex_credit_musd", FLEX),
            ("ai_revenue_musd", RENT[:T]), ("ai_opex_musd", OPEX[:T]),
            ("ai_power_musd", POWER[:T]), ("capex_musd", CAPEX),
            ("tenant_funded_capex_musd", TENANT), ("equipment_capex_musd", EQUIPMENT),
            ("prepayment_musd", PREPAYMENT), ("depreciation_musd", DEPRECIATION),
            ("tax_musd", TAX), ("net_musd", NET), ("debt_draw_musd", DRAW),
            ("interest_musd", INTEREST), ("principal_musd", PRINCIPAL),
            ("debt_outstanding_musd", BALANCE), ("equity_cash_flow_musd", EQUITY),
            ("equity_discounted_musd", [EQUITY[t] * DFE[t] for t in range(T)]),
            ("discount_factor", DF[:T]), ("discounted_musd", [NET[t] * DF[t] for t in range(T)]),
            ("cumulative_discounted_musd", list(np.cumsum([NET[t] * DF[t] for t in range(T)]))),
            # budget_basis = equity: the owner's capex less its 50% debt draw counts.
            ("budget_use_musd", [0.5 * c for c in CAPEX])):
        assert list(cf[column]) == pytest.approx(want, rel=REL, abs=1e-12), column
    assert plan.npv_musd == pytest.approx(NPV, rel=REL)
    assert plan.equity_npv_musd == pytest.approx(EQUITY_NPV, rel=REL)
    assert plan.objective_musd == pytest.approx(EQUITY_NPV, rel=1e-6)  # objective = equity
    metrics = plan.deal_metrics.set_index("metric")["value"]
    assert metrics["equity_npv_musd"] == pytest.approx(EQUITY_NPV, rel=REL)
    assert metrics["npv_beyond_horizon_share"] == pytest.approx(TV * DF[7] / NPV, rel=REL)
    notes = plan.deal_metrics.set_index("metric")["note"]
    assert metrics.isna()["payback_quarter"]  # the cumulative net never recovers (above)
    assert notes["payback_quarter"] == "not paid back within the horizon"
    # Annual: 2027 = t 0..3, 2028 = t 4..7; debt outstanding at the end of each year.
    annual = plan.annual.set_index("year")
    assert annual.loc[2027, "capex_musd"] == pytest.approx(sum(CAPEX[:4]), rel=REL)
    assert annual.loc[2028, "equity_cash_flow_musd"] == pytest.approx(sum(EQUITY[4:]), rel=REL)
    assert annual.loc[2027, "debt_outstanding_musd"] == pytest.approx(BALANCE[3], rel=REL)
    assert annual.loc[2028, "debt_outstanding_musd"] == 0.0  # the balloon repays it in T-1
    assert annual.loc[2027, "ebitda_musd"] == pytest.approx(
        sum(MARGIN[t] + RENT[t] - OPEX[t] - POWER[t] for t in range(4)), rel=REL)
    # The start's own IRR: its rent, prepayment, opex, power, capex and tax on its NOI less
    # depreciation (no mining), its contracted TV in T-1.
    own = [RENT[t] + PREPAYMENT[t] - OPEX[t] - POWER[t] - CAPEX[t]
           - 0.2 * (RENT[t] - OPEX[t] - POWER[t] - DEPRECIATION[t]) for t in range(T)]
    lump = [*own[:-1], own[-1] + TV]
    # With its contracted TV as one lump in T-1 these flows (0, -0.75, -7.5, -10.4, 1.9, -5.8,
    # 3.1, -4.2 + TV) lose money at any rate. Its lease-life flows instead run the contracted
    # NOI of u = 8 in its own quarter (untaxed here): the IRR, MOIC and payback read them.
    assert irr(np.array(lump)).note == "no IRR: no discount rate makes the NPV zero"
    life = np.array([*own, RENT[8] - OPEX[8] - POWER[8]])
    (rate,) = plan.decisions["irr"]
    want = irr(life)
    assert (np.isnan(rate) and want.annual is None) or rate == pytest.approx(want.annual)
    (multiple,) = plan.decisions["moic"]
    assert multiple == pytest.approx(life[life > 0].sum() / -life[life < 0].sum(), rel=REL)
    (npv,) = plan.decisions["npv_musd"]
    assert npv == pytest.approx(float(life @ np.array(DF)), rel=REL)
    assert plan.decisions["payback_quarter"].isna().all()  # it never pays back


def test_budget_use_is_the_owner_capex_under_the_capex_basis() -> None:
    from optimizer.solve.optimize import optimize

    plan = optimize(deal_portfolio(budget_basis="capex"), time_limit=60, mip_gap=0.0,
                    method="monolithic")
    assert list(plan.cash_flows["budget_use_musd"]) == pytest.approx(CAPEX, rel=REL, abs=1e-12)


def test_blank_deal_columns_change_nothing_to_the_last_digit() -> None:
    """With every deal column blank, each unit's value is exactly the pre-deal formula
    sum_t DF_t (NOI - capex - tax) + DF_{T-1} * TV factor * NOI_{T-1} (compared with ==, not
    approx), every deal line is exactly zero, the equity view equals the project view, and the
    budget use is the capex itself."""
    from support import tiny_tables

    from optimizer.inputs.validation import portfolio_from_tables

    tables = tiny_tables()  # tax 21%, a multiple TV, untaxed: the pre-deal formula
    econ = build_economics(portfolio_from_tables(tables))
    for st in (econ.halls, econ.cooling, econ.power):
        noi = st.revenue - st.opex - st.ai_power
        tax = econ.tax_rate * (noi - st.depreciation)
        old = ((noi - st.capex - tax) @ econ.discount
               + econ.discount[-1] * econ.terminal_factor * noi[:, -1])
        assert np.array_equal(st.value, old)
        assert np.array_equal(st.project_value, st.equity_value)
        for line in (st.tenant_capex, st.prepayment, st.equipment_capex, st.debt_draw,
                     st.interest, st.principal, st.debt_balance):
            assert not line.any()
    assert econ.rules.halls.budget is econ.halls.capex
    assert not econ.flex_credit.any()
    assert np.array_equal(econ.mining_value, econ.mining_project_value)
