"""Column metadata is written once, on `schema.InputColumn`: the compare bridge's families, the
sweep drivers and the sweep worker's structure key all read it (issue 23, item 5)."""

from __future__ import annotations

import dataclasses

from support import tiny_tables

from models.economics import build_economics
from optimizer.compare.inputs import FAMILIES, TABLE_KEYS, family_of
from optimizer.inputs import schema
from optimizer.inputs.validation import portfolio_from_tables
from optimizer.sweeps.scenarios import SCOPES, SHEET_PARAMETERS
from optimizer.sweeps.worker import structure_key


def test_every_family_and_driver_a_column_names_exists() -> None:
    names = {f.name for f in FAMILIES}
    for table in schema.TABLES:
        for col in table.columns:
            assert not col.family or col.family in names, (table.sheet, col.name, col.family)
            assert not col.driver or col.driver in SCOPES, (table.sheet, col.name, col.driver)
    assert set(SHEET_PARAMETERS) <= set(SCOPES)  # every Scenarios parameter varies a column


def test_families_and_keys_follow_the_schema() -> None:
    lease = next(f for f in FAMILIES if f.name == "lease")
    assert lease.columns["SiteOptions"] == ("lease_multiplier",)
    assert family_of("Options", "lease_usd_per_kw_month") == "lease"
    assert family_of("Settings", "min_dscr") == "financing"
    assert family_of("Commitments", "") == "commitments"
    assert family_of("Sites", "mining_mw") == "other"  # no family: moved by the last step
    assert TABLE_KEYS["Settings"] == ("key",) and TABLE_KEYS["SiteOptions"] == ("site", "option")
    assert SCOPES["lease"] == ("site", "option") and SCOPES["budget"] == ()


def test_structure_key_moves_only_with_structural_columns() -> None:
    portfolio = portfolio_from_tables(tiny_tables())
    base = structure_key(build_economics(portfolio))
    sites = portfolio.sites.copy()
    sites["power_cost_usd_per_mwh"] = sites["power_cost_usd_per_mwh"] * 1.5
    assert not schema.SITES.column("power_cost_usd_per_mwh").structural
    assert structure_key(build_economics(portfolio.replace(sites=sites))) == base
    options = portfolio.options.copy()
    options["lead_quarters"] = options["lead_quarters"] + 1
    assert schema.OPTIONS.column("lead_quarters").structural
    assert structure_key(build_economics(portfolio.replace(options=options))) != base
    carry = dataclasses.replace(portfolio.settings,
                                budget_carryover=not portfolio.settings.budget_carryover)
    assert structure_key(build_economics(portfolio.replace(settings=carry))) != base

