"""Validation of the deal-structure columns (docs/economics.md, "Deal structure"), by tables
that break each rule; cells named as in Excel (see tests/test_validation.py for the tiny layout; new
Settings keys are appended as rows 8..; new Options columns are appended after the existing
ones, so their letters are looked up from the frame)."""

from __future__ import annotations

import pandas as pd
import pytest
from support import tiny_tables

from models.errors import InputError
from optimizer.inputs.validation import column_letter, portfolio_from_tables


def errors_of(tables: dict[str, pd.DataFrame]) -> str:
    with pytest.raises(InputError) as info:
        portfolio_from_tables(tables)
    return str(info.value)


def add_setting(tables: dict[str, pd.DataFrame], key: str, value: object) -> int:
    """Append a Settings row; returns its Excel row."""
    settings = tables["Settings"]
    settings.loc[len(settings)] = [key, value]
    return len(settings) + 1


def option_cell(tables: dict[str, pd.DataFrame], column: str, row: int) -> str:
    """Excel cell of an Options column (appended if absent) in an Excel row."""
    options = tables["Options"]
    if column not in options.columns:
        options[column] = None
    return f"Options!{column_letter(list(options.columns).index(column) + 1)}{row}"


def test_blank_deal_columns_take_the_contract_defaults() -> None:
    p = portfolio_from_tables(tiny_tables())
    s = p.settings
    assert (s.debt_ltc, s.debt_rate, s.debt_tenor_years) == (0.0, None, None)
    assert s.equity_discount_rate is None and s.equity_rate == s.discount_rate
    assert (s.objective, s.budget_basis) == ("project_npv", "capex")
    o = p.options
    assert o["lease_term_years"].isna().all() and (o["renewal_probability"] == 1.0).all()
    assert (o["vacancy_quarters"] == 4).all() and (o["tenant_capex_share"] == 0.0).all()
    assert (o["prepaid_quarters"] == 0.0).all()
    assert (o["equipment_capex_musd_per_it_mw"] == 0.0).all()
    assert o["equipment_life_years"].isna().all()
    assert (p.sites["flex_credit_usd_per_kw_year"] == 0.0).all()


def test_deal_columns_are_read() -> None:
    t = tiny_tables()
    for key, value in (("debt_ltc", 0.8), ("debt_rate", 0.07), ("debt_tenor_years", 3),
                       ("equity_discount_rate", 0.15), ("objective", "Equity_NPV"),
                       ("budget_basis", "equity")):
        add_setting(t, key, value)
    t["Options"]["lease_term_years"] = [12, 10.5]
    t["Options"]["tenant_capex_share"] = [0.8, None]
    t["Options"]["equipment_capex_musd_per_it_mw"] = [None, 29]
    t["Options"]["equipment_life_years"] = [None, 5]
    t["Sites"]["flex_credit_usd_per_kw_year"] = [100, None]
    p = portfolio_from_tables(t)
    s = p.settings
    assert (s.debt_ltc, s.debt_rate, s.debt_tenor_years) == (0.8, 0.07, 3.0)
    assert (s.equity_rate, s.objective, s.budget_basis) == (0.15, "equity_npv", "equity")
    assert list(p.options["lease_term_years"]) == [12.0, 10.5]
    assert list(p.options["tenant_capex_share"]) == [0.8, 0.0]
    assert list(p.sites["flex_credit_usd_per_kw_year"]) == [100.0, 0.0]


def test_debt_needs_rate_and_tenor() -> None:
    t = tiny_tables()
    add_setting(t, "debt_ltc", 0.8)
    message = errors_of(t)
    assert "Settings [debt_rate]" in message and "Settings [debt_tenor_years]" in message
    assert "required when debt_ltc is above 0 (it is 0.8)" in message
    assert message.count("required when debt_ltc") == 2


def test_debt_tenor_whole_quarters_and_ranges() -> None:
    t = tiny_tables()
    add_setting(t, "debt_ltc", 1.0)
    add_setting(t, "debt_rate", 0.07)
    tenor = add_setting(t, "debt_tenor_years", 3.1)
    equity = add_setting(t, "equity_discount_rate", -0.1)
    objective = add_setting(t, "objective", "irr")
    basis = add_setting(t, "budget_basis", "cash")
    message = errors_of(t)
    assert "debt_ltc" in message and "< 1" in message
    assert f"B{tenor}" in message and "whole number of quarters" in message
    assert f"B{equity}" in message and ">= 0" in message
    assert f"B{objective}" in message and "project_npv, equity_npv" in message
    assert f"B{basis}" in message and "capex, equity" in message


def test_option_deal_ranges() -> None:
    t = tiny_tables()
    cells = {}
    for column, value in (("tenant_capex_share", 1.0), ("renewal_probability", 1.5),
                          ("vacancy_quarters", -1), ("prepaid_quarters", -2),
                          ("lease_term_years", 0), ("equipment_capex_musd_per_it_mw", -5)):
        cells[column] = option_cell(t, column, 2)
        t["Options"].loc[0, column] = value
    message = errors_of(t)
    for column, cell in cells.items():
        assert f"{cell}" in message and column in message, column


def test_equipment_needs_its_life_and_whole_quarters() -> None:
    t = tiny_tables()
    life = option_cell(t, "equipment_life_years", 2)
    option_cell(t, "equipment_capex_musd_per_it_mw", 2)
    t["Options"].loc[0, "equipment_capex_musd_per_it_mw"] = 29.0
    message = errors_of(t)
    assert life in message
    assert "required with equipment capex" in message
    t["Options"].loc[0, "equipment_life_years"] = 4.1
    assert "whole number of quarters" in errors_of(t)
    t["Options"].loc[0, "equipment_life_years"] = 4.25
    assert portfolio_from_tables(t).options["equipment_life_years"].iloc[0] == 4.25


def test_contracted_terminal_value_needs_every_lease_term() -> None:
    t = tiny_tables()
    settings = t["Settings"]
    settings.loc[settings["key"] == "terminal_value", "value"] = "contracted"
    term = option_cell(t, "lease_term_years", 3)
    t["Options"].loc[0, "lease_term_years"] = 12
    message = errors_of(t)
    assert term in message and "terminal_value is contracted" in message
    assert option_cell(t, "lease_term_years", 2) not in message
    t["Options"].loc[1, "lease_term_years"] = 15
    assert portfolio_from_tables(t).settings.terminal_value == "contracted"


def test_validate_summary_states_the_deal_terms() -> None:
    from optimizer.inputs.validation import describe_portfolio

    assert "deal:" not in describe_portfolio(portfolio_from_tables(tiny_tables()))
    t = tiny_tables()
    for key, value in (("debt_ltc", 0.8), ("debt_rate", 0.07), ("debt_tenor_years", 3),
                       ("budget_basis", "equity")):
        add_setting(t, key, value)
    t["Options"]["lease_term_years"] = [12, None]
    text = describe_portfolio(portfolio_from_tables(t))
    assert ("deal: lease terms on 1 of 2 options (12-12 years); debt 80% of capex at 7.00% "
            "over 3 years; objective project_npv, budget on equity") in text
