"""Validation of the board-ready finance inputs (docs/economics.md, "Board-ready finance"):
each bad value gets one located message (sheet, cell, value, expectation); the CLI exits 2 and
writes nothing (tests/test_cli_validate.py covers the exit path for every InputError)."""

from __future__ import annotations

import pandas as pd
import pytest
from support import tiny_tables
from test_validation_deal import add_setting, errors_of, option_cell

from optimizer.inputs.validation import column_letter, portfolio_from_tables


def site_cell(tables: dict[str, pd.DataFrame], column: str, row: int) -> str:
    sites = tables["Sites"]
    if column not in sites.columns:
        sites[column] = None
    return f"Sites!{column_letter(list(sites.columns).index(column) + 1)}{row}"


def with_commitments(tables: dict[str, pd.DataFrame], *rows: tuple) -> dict[str, pd.DataFrame]:
    tables["Commitments"] = pd.DataFrame(
        rows, columns=["site", "option", "quarter", "halls", "action", "lease_signed"],
        dtype=object)
    return tables


def test_blank_finance_columns_take_their_defaults() -> None:
    t = tiny_tables()
    settings = t["Settings"]
    t["Settings"] = settings[settings["key"] != "terminal_value_tax"]  # blank: the default
    p = portfolio_from_tables(t)
    assert p.settings.terminal_value_tax == "taxed" and p.settings.min_dscr is None
    assert (p.sites["mining_opex_usd_per_mw_year"] == 0).all()
    assert (p.sites["idle_power_value_usd_per_mw_year"] == 0).all()
    assert (p.options["opex_escalator"] == 0).all()


@pytest.mark.parametrize("value", [0, -1.2])
def test_min_dscr_must_be_positive(value: float) -> None:
    t = tiny_tables()
    row = add_setting(t, "min_dscr", value)
    message = errors_of(t)
    assert f"Settings!B{row}" in message and "min_dscr" in message and "> 0" in message


def test_terminal_value_tax_is_one_of_two_words() -> None:
    t = tiny_tables()
    settings = t["Settings"]
    row = int(settings.index[settings["key"] == "terminal_value_tax"][0]) + 2
    settings.loc[settings["key"] == "terminal_value_tax", "value"] = "after-tax"
    message = errors_of(t)
    assert f"Settings!B{row}" in message and "taxed, untaxed" in message
    settings.loc[settings["key"] == "terminal_value_tax", "value"] = " Taxed"
    assert portfolio_from_tables(t).settings.terminal_value_tax == "taxed"


def test_negative_opex_idle_value_and_escalator() -> None:
    t = tiny_tables()
    opex = site_cell(t, "mining_opex_usd_per_mw_year", 2)
    idle = site_cell(t, "idle_power_value_usd_per_mw_year", 3)
    t["Sites"].loc[0, "mining_opex_usd_per_mw_year"] = -5.0
    t["Sites"].loc[1, "idle_power_value_usd_per_mw_year"] = -1.0
    esc = option_cell(t, "opex_escalator", 2)
    t["Options"].loc[0, "opex_escalator"] = -0.02
    message = errors_of(t)
    for cell, column in ((opex, "mining_opex_usd_per_mw_year"),
                         (idle, "idle_power_value_usd_per_mw_year"), (esc, "opex_escalator")):
        assert cell in message and column in message and ">= 0" in message, column


def test_lease_signed_only_on_a_start() -> None:
    t = with_commitments(tiny_tables(), ("Bravo", None, None, None, "exclude", True))
    message = errors_of(t)
    assert "Commitments!F2" in message and "lease_signed only goes with action start" in message


def test_signed_start_needs_its_option_and_its_lease_term() -> None:
    t = with_commitments(tiny_tables(), ("Alpha", "dlc", "2027Q2", 1, "start", True),
                         ("Bravo", None, "2027Q1", 1, "start", True))
    message = errors_of(t)
    assert "Commitments!F2" in message and "has no lease_term_years" in message
    assert "Commitments!B3" in message and "a signed start names its option" in message
    t = with_commitments(tiny_tables(), ("Alpha", "dlc", "2027Q2", 1, "start", "yes"))
    t["Options"]["lease_term_years"] = [12, None]
    p = portfolio_from_tables(t)
    assert p.commitments["lease_signed"].tolist() == [True]
