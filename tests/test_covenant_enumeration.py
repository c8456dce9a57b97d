"""The debt service coverage covenant (Settings min_dscr) changes the decision, and the MILP's
optimum equals the best plan found by trying every plan (docs/economics.md, "Debt service
coverage").

One site (30 MW of grid and miners, mining opex, idle grid power valued), two hall options
(a quick, cheap, short-lease hall and a slower one), project debt at 80% loan-to-cost repaid
over one year, tax 21%. Every multiset of at most two hall starts is tried; miners run at
capacity on the power left (their after-tax margin beats the idle-power value, so running them
helps both the NPV and the coverage); each plan is valued by `models.economics.evaluate`, and
the covenant is checked on its yearly CFADS and debt service written out here from the
contract: CFADS_t = net_t + capex_t - prepayment_t, DS_t = interest_t + principal_t - balloon_t,
sum over a calendar year of CFADS >= min_dscr x the sum of DS.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from reference import make_portfolio, option, site

from models.decisions import Decisions
from models.economics import build_economics, evaluate
from models.errors import InfeasibleError
from models.portfolio import Portfolio
from optimizer.solve.optimize import optimize

REL = 1e-7
HASHPRICE = [60.0, 55.0, 50.0, 45.0, 42.0, 40.0, 38.0, 36.0]


def covenant(min_dscr: float | None) -> Portfolio:
    return make_portfolio(
        sites=[site("A", grid_mw=30.0, mining_mw=30.0, halls=2, hall_it_mw=10.0,
                    mining_opex_usd_per_mw_year=60_000.0,
                    idle_power_value_usd_per_mw_year=20_000.0)],
        options=[option("quick", capex_musd_per_it_mw=3.0, lead_quarters=1,
                        lease_usd_per_kw_month=140.0, opex_usd_per_kw_month=10.0,
                        opex_escalator=0.05, lease_term_years=2.0),
                 option("slow", capex_musd_per_it_mw=2.0, lead_quarters=2,
                        lease_usd_per_kw_month=120.0, lease_term_years=3.0)],
        horizon=len(HASHPRICE), hashprice=HASHPRICE, tax_rate=0.21, depreciation_years=3.0,
        debt_ltc=0.8, debt_rate=0.08, debt_tenor_years=1.0, terminal_value="contracted",
        min_dscr=min_dscr)


def covenant_holds(p: Portfolio, cfads: np.ndarray, service: np.ndarray) -> bool:
    if p.settings.min_dscr is None:
        return True
    years = np.array([int(q[:4]) for q in p.quarter_labels])
    return all(cfads[years == y].sum() >= p.settings.min_dscr * service[years == y].sum() - 1e-9
               for y in set(years.tolist()))


def enumerate_best(p: Portfolio) -> tuple[float, list[int]]:
    econ = build_economics(p)
    halls = econ.halls
    pue = p.options["pue"].to_numpy(float)
    h, grid = 10.0, 30.0
    t = np.arange(p.horizon)
    best, best_plan = -np.inf, [-1]
    for n in range(3):
        for combo in itertools.combinations_with_replacement(range(len(halls)), n):
            units = np.bincount(np.array(combo, dtype=int), minlength=len(halls)).astype(float)
            reserved = sum((pue[halls.option[c]] * h * (t >= halls.tau[c]) for c in combo),
                           start=np.zeros(p.horizon))
            if (reserved > grid + 1e-9).any():
                continue
            mining = np.minimum(30.0, grid - reserved)[None, :]
            v = evaluate(econ, Decisions(units, np.zeros(0), np.zeros(0), mining))
            cfads = (v.net + v.capex - v.prepayment).sum(axis=0)
            service = (v.interest + v.principal - v.balloon).sum(axis=0)
            if not covenant_holds(p, cfads, service):
                continue
            if v.npv > best:
                best, best_plan = v.npv, sorted(combo)
    return best, best_plan


def test_mining_beats_idle_power_here() -> None:
    """The premise of the enumeration: a MW mined is worth more than a MW left idle."""
    econ = build_economics(covenant(None))
    assert (econ.mining_value > 0).all()


@pytest.mark.parametrize("method", ["monolithic", "neighbourhood", "decomposition"])
@pytest.mark.parametrize("min_dscr", [None, 1.6])
def test_milp_matches_enumeration_under_the_covenant(min_dscr: float | None,
                                                     method: str) -> None:
    """Every method reaches the enumerated optimum; under the covenant the decomposition
    (which knows neither the covenant nor the idle-power constant) hands over to the whole
    model and says so in a warning."""
    p = covenant(min_dscr)
    best, combo = enumerate_best(p)
    plan = optimize(p, time_limit=60, mip_gap=0.0, method=method)
    if method == "decomposition":
        assert any("instead of by site decomposition" in w for w in plan.warnings)
    assert plan.status == "optimal"
    assert plan.npv_musd == pytest.approx(best, rel=REL), (combo, plan.decisions)
    if min_dscr is not None:  # the Summary's min_dscr is at or above the covenant
        got = plan.deal_metrics.set_index("metric").loc["min_dscr", "value"]
        assert got >= min_dscr - 1e-9


def test_the_covenant_changes_the_decision() -> None:
    free_best, free_plan = enumerate_best(covenant(None))
    bound_best, bound_plan = enumerate_best(covenant(1.6))
    assert bound_best < free_best - 1e-6
    assert bound_plan != free_plan



def test_an_impossible_covenant_is_explained_and_relaxed_first() -> None:
    """A committed hall whose debt service its year's CFADS cannot cover at min_dscr 5: the
    explanation relaxes the covenant (a resource limit, relaxed before commitments) and names
    the year."""
    p = covenant(5.0)
    committed = make_portfolio(
        sites=[site("A", **{c: p.sites[c].iloc[0] for c in
                            ("grid_mw", "mining_mw", "halls", "hall_it_mw",
                             "mining_opex_usd_per_mw_year", "idle_power_value_usd_per_mw_year")})],
        options=[option(o, **{c: p.options.loc[o, c] for c in
                              ("capex_musd_per_it_mw", "lead_quarters", "lease_usd_per_kw_month",
                               "opex_usd_per_kw_month", "opex_escalator", "lease_term_years")})
                 for o in p.option_names],
        horizon=p.horizon, hashprice=HASHPRICE, tax_rate=0.21, depreciation_years=3.0,
        debt_ltc=0.8, debt_rate=0.08, debt_tenor_years=1.0, terminal_value="contracted",
        min_dscr=5.0, commitments=[{"site": "A", "option": "quick", "quarter": "2027Q1",
                                    "halls": 1, "action": "start"}])
    with pytest.raises(InfeasibleError) as info:
        optimize(committed, time_limit=60, mip_gap=0.0, method="monolithic")
    lines = info.value.explanation
    assert any(line.startswith("Debt service coverage in 20") and "min_dscr (5)" in line
               for line in lines), lines
    assert not any(line.startswith("Commitment") for line in lines)
