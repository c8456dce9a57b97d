"""With deal terms, the MILP's optimum equals the best plan found by trying every plan.

Tiny one-site instances: a GPU-cloud option (equipment bought at delivery and every 2 quarters)
and a leased option whose tenant funds half the capex, project debt, a budget that binds. Every
multiset of at most `halls` hall starts is tried; each is checked against the site's power and
a budget rule written out here from docs/economics.md (owner capex: (1 - f) K / L in each building
quarter plus E h in each purchase quarter; times 1 - debt_ltc when budget_basis = equity), its
miners run wherever a mined MW adds value, and it is valued line by line by
`models.economics.evaluate` (the project or the equity NPV, as the objective says). The MILP,
which adds up precomputed per-start values under its own budget rows, must reach the best.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from reference import make_portfolio, option, site

from models.decisions import Decisions
from models.economics import build_economics, evaluate, objective_npv
from models.portfolio import Portfolio
from optimizer.solve.optimize import optimize

REL = 1e-7
HASHPRICE = [60.0, 55.0, 50.0, 45.0, 42.0, 40.0, 38.0]
BUDGET = [7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0]


def deal(**settings: object) -> Portfolio:
    given: dict[str, object] = dict(debt_ltc=0.6, debt_rate=0.08, debt_tenor_years=1.0,
                                    tax_rate=0.2, depreciation_years=2.0)
    given.update(settings)
    return make_portfolio(
        sites=[site("A", grid_mw=30.0, mining_mw=30.0, halls=2, hall_it_mw=10.0,
                    flex_credit_usd_per_kw_year=60.0)],
        options=[option("gpu", capex_musd_per_it_mw=0.6, lead_quarters=1,
                        lease_usd_per_kw_month=260.0, equipment_capex_musd_per_it_mw=0.5,
                        equipment_life_years=0.5),
                 option("lease", capex_musd_per_it_mw=2.0, lead_quarters=2,
                        lease_usd_per_kw_month=150.0, tenant_capex_share=0.5,
                        lease_term_years=1.0, renewal_probability=0.5, vacancy_quarters=1,
                        prepaid_quarters=1.0)],
        horizon=len(HASHPRICE), hashprice=HASHPRICE, quarters={"budget_musd": BUDGET},
        **given)


def budget_use(p: Portfolio, option_name: str, tau: int) -> np.ndarray:
    """One hall's budget use by quarter, from the contract (independent of the model)."""
    horizon = p.horizon
    o = p.options.loc[option_name]
    h = float(p.sites["hall_it_mw"].iloc[0])
    lead = int(o["lead_quarters"])
    k = o["capex_musd_per_it_mw"] * h
    use = np.zeros(horizon)
    use[tau:tau + lead] += (1 - o["tenant_capex_share"]) * k / lead
    if o["equipment_capex_musd_per_it_mw"] > 0:
        every = round(4 * o["equipment_life_years"])
        use[tau + lead::every] += o["equipment_capex_musd_per_it_mw"] * h
    if p.settings.budget_basis == "equity":
        use = use * (1 - p.settings.debt_ltc)
    return use


def enumerate_best(p: Portfolio) -> tuple[float, list[int]]:
    econ = build_economics(p)
    halls = econ.halls
    pue = p.options["pue"].to_numpy(float)
    h = float(p.sites["hall_it_mw"].iloc[0])
    grid, miners = float(p.sites["grid_mw"].iloc[0]), float(p.sites["mining_mw"].iloc[0])
    budget = p.quarters["budget_musd"].to_numpy(float)
    t = np.arange(p.horizon)
    best, best_plan = -np.inf, []
    names = p.option_names
    for n in range(int(p.sites["halls"].iloc[0]) + 1):
        for combo in itertools.combinations_with_replacement(range(len(halls)), n):
            units = np.bincount(np.array(combo, dtype=int), minlength=len(halls)).astype(float)
            spend = sum((budget_use(p, names[halls.option[c]], int(halls.tau[c]))
                         for c in combo), start=np.zeros(p.horizon))
            if (spend > budget + 1e-9).any():
                continue
            reserved = sum((pue[halls.option[c]] * h * (t >= halls.tau[c]) for c in combo),
                           start=np.zeros(p.horizon))
            if (reserved > grid + 1e-9).any():
                continue
            cap = np.minimum(miners, grid - reserved)
            mining = np.where(econ.mining_value[0] > 0, cap, 0.0)[None, :]
            plan = Decisions(units, np.zeros(0), np.zeros(0), mining)
            value = objective_npv(econ, evaluate(econ, plan))
            if value > best:
                best, best_plan = value, list(combo)
    return best, best_plan


CASES = {
    "equity basis, equity objective": dict(budget_basis="equity", objective="equity_npv",
                                           equity_discount_rate=0.2),
    "equity basis, project objective": dict(budget_basis="equity"),
    "capex basis, equity objective": dict(objective="equity_npv", equity_discount_rate=0.2),
    "capex basis, project objective": {},
}


@pytest.mark.parametrize("method", ["monolithic", "decomposition", "neighbourhood"])
@pytest.mark.parametrize("name", list(CASES))
def test_milp_matches_enumeration_with_deal_terms(name: str, method: str) -> None:
    """Every solve method reaches the enumerated optimum (the decomposition prices the
    budget rows with the same deal budget use)."""
    p = deal(**CASES[name])
    best, combo = enumerate_best(p)
    plan = optimize(p, time_limit=60, mip_gap=0.0, method=method)
    assert plan.status == "optimal"
    assert plan.objective_musd == pytest.approx(best, rel=REL), (name, combo, plan.decisions)
    got = plan.equity_npv_musd if p.settings.objective == "equity_npv" else plan.npv_musd
    assert got == pytest.approx(best, rel=REL)


def test_the_equity_basis_fits_more_halls() -> None:
    """With 60% of capex debt-funded and the budget on equity, the binding budget admits
    starts the capex basis does not: the enumerated optimum differs, and is higher."""
    capex_best, capex_plan = enumerate_best(deal())
    equity_best, equity_plan = enumerate_best(deal(budget_basis="equity"))
    assert equity_best > capex_best + 1e-6
    assert sorted(equity_plan) != sorted(capex_plan)
