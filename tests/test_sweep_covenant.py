"""min_dscr as a sweep driver and a compare input (docs/economics.md, "Board-ready finance"):
a scenario that sets or scales the covenant, or moves what its rows are made of (hashprice),
re-solves to what a fresh solve of that scenario gives; a multiplier needs a covenant; compare
moves min_dscr with the financing family."""

from __future__ import annotations

import pytest
from test_covenant_enumeration import covenant

from models.errors import UsageError
from optimizer.compare.inputs import family_of
from optimizer.solve.optimize import optimize
from optimizer.sweeps.scenarios import (
    Change,
    Scenario,
    apply_changes,
    check_scenarios,
    tornado_scenarios,
)
from optimizer.sweeps.sweep import run_sweep

QUIET = {"progress": False, "mip_gap": 0.0, "time_limit": 120.0}

SCENARIOS = [
    Scenario("base", "base"),
    Scenario("covenant 1.6", "custom", (Change("min_dscr", "value", 1.6),)),
    Scenario("covenant x1.2", "custom", (Change("min_dscr", "multiplier", 1.2),)),
    Scenario("hashprice x0.8", "custom", (Change("hashprice", "multiplier", 0.8),)),
]


def test_covenant_scenarios_equal_fresh_solves() -> None:
    p = covenant(1.2)
    results = run_sweep(p, scenarios=SCENARIOS, workers=1, **QUIET)
    assert (results["status"] == "optimal").all(), results["message"].tolist()
    npv = dict(zip(results["scenario"], results["npv_reoptimized_musd"], strict=True))
    for scenario in SCENARIOS:
        fresh = optimize(apply_changes(p, scenario.changes), mip_gap=0.0, threads=1)
        assert npv[scenario.name] == pytest.approx(fresh.npv_musd, rel=1e-6, abs=1e-6), \
            scenario.name
    assert npv["covenant 1.6"] < npv["base"]  # a tighter covenant costs value here
    assert apply_changes(p, SCENARIOS[2].changes).settings.min_dscr == pytest.approx(1.44)


def test_tornado_varies_the_covenant_only_where_there_is_one() -> None:
    assert "min_dscr" in {s.driver for s in tornado_scenarios(covenant(1.2))}
    assert "min_dscr" not in {s.driver for s in tornado_scenarios(covenant(None))}


def test_a_multiplier_needs_a_covenant_and_a_value_must_be_positive() -> None:
    with pytest.raises(UsageError, match="it has no covenant"):
        check_scenarios(covenant(None), [Scenario("x", "custom",
                                                  (Change("min_dscr", "multiplier", 1.1),))])
    with pytest.raises(UsageError, match="a covenant above 0"):
        check_scenarios(covenant(None), [Scenario("x", "custom",
                                                  (Change("min_dscr", "value", 0.0),))])


def test_compare_moves_min_dscr_with_financing() -> None:
    assert family_of("Settings", "min_dscr") == "financing"
