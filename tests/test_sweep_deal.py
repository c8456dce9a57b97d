"""Sweep drivers of the deal terms: debt rate, renewal probability and tenant share. In-place
re-solves equal fresh solves; the tornado and Monte Carlo vary them only where the portfolio has
the terms; the Scenarios sheet accepts them and names bad rows by cell."""

from __future__ import annotations

import pandas as pd
import pytest
from support import tiny_tables

import optimizer.sweeps.worker as worker
from models.errors import InputError
from models.portfolio import Portfolio
from optimizer.inputs.validation import portfolio_from_tables
from optimizer.solve.optimize import optimize
from optimizer.sweeps.scenarios import (
    Change,
    Scenario,
    apply_changes,
    monte_carlo_scenarios,
    sheet_scenarios,
    tornado_scenarios,
)
from optimizer.sweeps.sweep import run_sweep

QUIET = {"progress": False, "mip_gap": 0.0, "time_limit": 120.0}


def deal_tiny(scenarios: pd.DataFrame | None = None) -> Portfolio:
    """The tiny portfolio with 1-year leases renewed at 0.7, a 40% tenant share on dlc, 70%
    debt with the budget on equity, and the equity NPV as the objective."""
    t = tiny_tables()
    t["Quarters"]["ai_demand_mw"] = [150.0] * 8
    t["Options"]["lease_term_years"] = [1.0, 1.0]
    t["Options"]["renewal_probability"] = [0.7, 0.7]
    t["Options"]["tenant_capex_share"] = [0.4, None]
    settings = t["Settings"]
    for key, value in (("debt_ltc", 0.7), ("debt_rate", 0.09), ("debt_tenor_years", 1),
                       ("budget_basis", "equity"), ("objective", "equity_npv"),
                       ("equity_discount_rate", 0.18)):
        settings.loc[len(settings)] = [key, value]
    if scenarios is not None:
        t["Scenarios"] = scenarios
    return portfolio_from_tables(t)


DEAL = [
    Scenario("debt rate x2", "custom", (Change("debt_rate", "multiplier", 2.0),)),
    Scenario("debt rate = 0.25", "custom", (Change("debt_rate", "value", 0.25),)),
    Scenario("renewal = 0", "custom", (Change("renewal_probability", "value", 0.0),)),
    Scenario("renewal x1.5 (capped)", "custom",
             (Change("renewal_probability", "multiplier", 1.5, option="dlc"),)),
    Scenario("tenant share = 0.9 (dlc)", "custom",
             (Change("tenant_share", "value", 0.9, option="dlc"),)),
    Scenario("tenant share x0", "custom", (Change("tenant_share", "multiplier", 0.0),)),
]


def test_deal_drivers_resolve_in_place_equal_fresh_optimize() -> None:
    p = deal_tiny()
    before = dict(worker.STATS)
    results = run_sweep(p, scenarios=[Scenario("base", "base"), *DEAL], workers=1, **QUIET)
    assert worker.STATS["builds"] - before["builds"] <= 1  # every deal driver is in place
    assert (results["status"] == "optimal").all(), results["message"].tolist()
    npv = dict(zip(results["scenario"], results["npv_reoptimized_musd"], strict=True))
    for scenario in [Scenario("base", "base"), *DEAL]:
        fresh = optimize(apply_changes(p, scenario.changes), mip_gap=0.0, threads=1)
        # The sweep reports the objective's NPV; here the objective is the equity NPV.
        assert npv[scenario.name] == pytest.approx(fresh.equity_npv_musd, rel=1e-6, abs=1e-6), \
            scenario.name
    assert npv["debt rate = 0.25"] < npv["base"] < npv["tenant share = 0.9 (dlc)"]
    capped = apply_changes(p, DEAL[3].changes).options["renewal_probability"]
    assert list(capped) == [1.0, 0.7]


def test_tornado_and_monte_carlo_vary_the_deal_terms_only_where_they_exist() -> None:
    plain = portfolio_from_tables(tiny_tables())
    deal = deal_tiny()
    plain_drivers = {s.driver for s in tornado_scenarios(plain)}
    deal_drivers = {s.driver for s in tornado_scenarios(deal)}
    assert {"debt_rate", "renewal_probability", "tenant_share"} & plain_drivers == set()
    assert {"debt_rate", "renewal_probability", "tenant_share"} <= deal_drivers
    # Without deal terms a Monte Carlo draw is what it always was (three changes); with them it
    # adds the three deal drivers after the same three first draws.
    plain_draws = monte_carlo_scenarios(plain, 3, seed=5)
    deal_draws = monte_carlo_scenarios(deal, 3, seed=5)
    for a, b in zip(plain_draws[1:], deal_draws[1:], strict=True):
        assert [c.parameter for c in a.changes] == ["hashprice", "lease", "capex"]
        assert b.changes[:3] == a.changes
        assert [c.parameter for c in b.changes[3:]] == ["debt_rate", "renewal_probability",
                                                        "tenant_share"]


def test_scenarios_sheet_takes_the_deal_drivers_and_names_bad_rows() -> None:
    rows = pd.DataFrame({"scenario": ["dear debt", "poor renewals", "bad"],
                         "parameter": ["debt_rate", "renewal_probability", "tenant_share"],
                         "value": [0.12, 0.5, 1.5], "multiplier": [None, None, None],
                         "site": [None, None, None], "option": [None, "dlc", None]})
    with pytest.raises(InputError) as info:
        sheet_scenarios(deal_tiny(rows))
    message = str(info.value)
    assert "Scenarios!C4" in message and "a value in 0..0.99" in message
    good = sheet_scenarios(deal_tiny(rows.iloc[:2]))
    assert [s.name for s in good] == ["base", "dear debt", "poor renewals"]
    # A workbook without debt cannot sweep its rate.
    plain = tiny_tables()
    plain["Scenarios"] = rows.iloc[:1]
    with pytest.raises(InputError, match="it has no debt"):
        sheet_scenarios(portfolio_from_tables(plain))
