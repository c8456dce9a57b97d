"""`optimizer.inputs.validation.portfolio_from_tables`: every rule, by a table that breaks it.

Cells are named as in Excel (header row 1, data from row 2, columns A.. in frame order). In
`tiny_tables()`: Settings keys in rows 2-7 (value column B: start_quarter B2, horizon B3,
discount_rate B4, tax_rate B5, terminal_value B6, terminal_multiple B7); Sites Alpha row 2,
Bravo row 3 (grid_mw C, mining_mw D, halls H, earliest_start K, cooling_lead_quarters N);
Options dlc row 2, air row 3 (lead_quarters C, pue D); Quarters 2027Q1..2028Q4 rows 2-9.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import tiny_tables

from models.errors import InputError
from models.portfolio import Portfolio
from optimizer.inputs import schema
from optimizer.inputs.validation import coerce_cell, describe_portfolio, portfolio_from_tables


def errors_of(tables: dict[str, pd.DataFrame]) -> str:
    """The InputError message the tables raise (fails if they validate)."""
    with pytest.raises(InputError) as info:
        portfolio_from_tables(tables)
    return str(info.value)


def set_cell(tables: dict[str, pd.DataFrame], sheet: str, row: int, column: str,
             value: object) -> dict[str, pd.DataFrame]:
    """Set a cell by its Excel row (2 = first data row)."""
    tables[sheet].loc[row - 2, column] = value
    return tables


def set_setting(tables: dict[str, pd.DataFrame], key: str, value: object) -> None:
    settings = tables["Settings"]
    hit = settings.index[settings["key"] == key]
    if len(hit):
        settings.loc[hit[0], "value"] = value
    else:
        settings.loc[len(settings)] = [key, value]


def commitments(*rows: tuple[object, ...]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["site", "option", "quarter", "halls", "action"],
                        dtype=object)


def with_commitments(*rows: tuple[object, ...]) -> dict[str, pd.DataFrame]:
    tables = tiny_tables()
    tables["Commitments"] = commitments(*rows)
    return tables


@pytest.fixture()
def tiny() -> Portfolio:
    return portfolio_from_tables(tiny_tables(), source="tiny", sha256="abc")


# ---- a valid portfolio, defaults ----------------------------------------------------------------
def test_settings_given_and_defaults(tiny: Portfolio) -> None:
    s = tiny.settings
    assert (s.start_quarter, s.horizon_quarters, s.discount_rate) == ("2027Q1", 8, 0.10)
    assert (s.tax_rate, s.terminal_value, s.terminal_multiple) == (0.21, "multiple", 8.0)
    assert s.discounting == "end" and s.depreciation_years == 10.0
    assert s.terminal_growth is None and s.budget_carryover is False
    assert (s.mip_gap, s.time_limit_s, s.threads, s.random_seed) == (0.001, 300.0, 0, 0)
    assert isinstance(s.horizon_quarters, int) and isinstance(s.threads, int)
    assert tiny.source == "tiny" and tiny.sha256 == "abc" and tiny.warnings == ()


def test_sites_frame_and_defaults(tiny: Portfolio) -> None:
    sites = tiny.sites
    assert list(sites.index) == ["Alpha", "Bravo"] and sites.index.name == "site"
    assert list(sites.columns) == [c for c in schema.SITES.names if c != "site"]
    assert sites.loc["Bravo", "uptime"] == 1.0 and sites.loc["Alpha", "uptime"] == 0.95
    assert sites.loc["Bravo", "cooling_mw"] == 0.0
    assert sites.loc["Bravo", "earliest_start"] == "2027Q1"  # = start_quarter
    assert sites.loc["Alpha", "earliest_start"] == "2027Q2"
    assert sites["halls"].dtype == np.int64 and list(sites["halls"]) == [4, 2]
    assert math.isnan(sites.loc["Alpha", "power_upgrade_mw"])
    assert sites.loc["Bravo", "power_upgrade_lead_quarters"] == 4
    assert math.isnan(sites.loc["Bravo", "cooling_module_mw"])


def test_options_frame_and_defaults(tiny: Portfolio) -> None:
    options = tiny.options
    assert list(options.index) == ["dlc", "air"]
    assert options.loc["air", "lease_escalator"] == 0.0
    assert options.loc["air", "ramp_quarters"] == 1 and options.loc["dlc", "ramp_quarters"] == 2
    assert options["lead_quarters"].dtype == np.int64
    assert options["power_passthrough"].dtype == bool
    assert list(options["power_passthrough"]) == [True, False]


def test_site_options_cover_every_pair(tiny: Portfolio) -> None:
    so = tiny.site_options
    assert list(so.index) == [("Alpha", "dlc"), ("Alpha", "air"), ("Bravo", "dlc"),
                              ("Bravo", "air")]
    assert list(so.columns) == ["allowed", "capex_multiplier", "lease_multiplier"]
    assert so["allowed"].all() and so["allowed"].dtype == bool
    assert so.loc[("Alpha", "air"), "capex_multiplier"] == 0.9
    assert so.loc[("Alpha", "air"), "lease_multiplier"] == 1.0  # blank -> 1
    assert so.loc[("Bravo", "dlc"), "capex_multiplier"] == 1.0


def test_quarters_frame_and_defaults(tiny: Portfolio) -> None:
    q = tiny.quarters
    assert list(q.index) == list(range(8)) and q.index.name == "t"
    assert tiny.quarter_labels[0] == "2027Q1" and tiny.quarter_labels[-1] == "2028Q4"
    assert list(q.columns) == list(schema.QUARTERS.names)
    assert (q["power_index"] == 1.0).all() and (q["lease_index"] == 1.0).all()
    assert q.loc[0, "budget_musd"] == 300.0 and math.isnan(q.loc[7, "budget_musd"])
    for column in ("ai_demand_mw", "max_hall_starts", "min_mining_mw"):
        assert q[column].isna().all()


def test_absent_optional_sheets_are_empty_frames_with_schema_columns(tiny: Portfolio) -> None:
    assert list(tiny.commitments.columns) == list(schema.COMMITMENTS.names)
    assert list(tiny.scenarios.columns) == list(schema.SCENARIOS.names)
    assert len(tiny.commitments) == 0 and len(tiny.scenarios) == 0
    tables = tiny_tables()
    del tables["SiteOptions"]
    portfolio = portfolio_from_tables(tables)
    assert len(portfolio.site_options) == 4
    assert portfolio.site_options.loc[("Alpha", "air"), "capex_multiplier"] == 1.0


# ---- coercion -----------------------------------------------------------------------------------
def test_quarters_in_three_spellings_any_order_are_sorted() -> None:
    tables = tiny_tables()
    q = tables["Quarters"]
    q["quarter"] = ["2027Q1", "2027-Q2", "2027 Q3", "2027q4", " 2028-q1 ", "2028Q2",
                    "2028 Q3", "2028Q4"]
    tables["Quarters"] = q.iloc[[7, 3, 0, 5, 1, 6, 2, 4]].reset_index(drop=True)
    set_setting(tables, "start_quarter", "2027 Q1")
    set_cell(tables, "Sites", 2, "earliest_start", "2027-Q2")
    portfolio = portfolio_from_tables(tables)
    assert portfolio.quarter_labels == ["2027Q1", "2027Q2", "2027Q3", "2027Q4", "2028Q1",
                                        "2028Q2", "2028Q3", "2028Q4"]
    assert list(portfolio.quarters["hashprice_usd_per_ph_day"]) == [
        50.0, 48.0, 46.0, 45.0, 44.0, 24.0, 25.0, 26.0]
    assert portfolio.settings.start_quarter == "2027Q1"
    assert portfolio.sites.loc["Alpha", "earliest_start"] == "2027Q2"


def test_numbers_stored_as_text_are_accepted() -> None:
    tables = tiny_tables()
    set_cell(tables, "Sites", 2, "grid_mw", " 300 ")
    set_cell(tables, "Sites", 2, "uptime", "0.95")
    set_cell(tables, "Sites", 2, "halls", "4.0")
    set_cell(tables, "Sites", 3, "halls", 2.0)
    set_setting(tables, "horizon_quarters", "8")
    set_setting(tables, "discount_rate", "1e-1")
    portfolio = portfolio_from_tables(tables)
    assert portfolio.sites.loc["Alpha", "grid_mw"] == 300.0
    assert list(portfolio.sites["halls"]) == [4, 2]
    assert portfolio.settings.horizon_quarters == 8
    assert portfolio.settings.discount_rate == pytest.approx(0.1)


@pytest.mark.parametrize(("text", "expected"), [
    ("yes", True), ("No", False), ("TRUE", True), ("false", False), (1, True), (0, False),
    (" y ", True), ("off", False), (True, True), (np.bool_(False), False)])
def test_booleans_in_many_spellings(text: object, expected: bool) -> None:
    tables = tiny_tables()
    set_cell(tables, "Options", 2, "power_passthrough", text)
    set_setting(tables, "budget_carryover", text)
    portfolio = portfolio_from_tables(tables)
    assert bool(portfolio.options.loc["dlc", "power_passthrough"]) is expected
    assert portfolio.settings.budget_carryover is expected


def test_choice_is_case_insensitive_and_a_typo_gets_a_suggestion() -> None:
    tables = tiny_tables()
    set_setting(tables, "terminal_value", " MULTIPLE ")
    assert portfolio_from_tables(tables).settings.terminal_value == "multiple"
    set_setting(tables, "terminal_value", "multple")
    message = errors_of(tables)
    assert ("Settings!B6 [terminal_value]: value 'multple': expected one of none, multiple, "
            "gordon, contracted (did you mean multiple?)") in message


@pytest.mark.parametrize(("value", "kind", "ok"), [
    (3.0, "integer", 3), (3.5, "integer", None), ("3", "integer", 3), (True, "integer", None),
    ("1,000", "number", None), ("nan", "number", None), ("inf", "number", None),
    (True, "number", None), ("2027Q5", "quarter", None), (12, "text", "12"),
    (np.int64(7), "number", 7.0), ("maybe", "bool", None), (2, "bool", None)])
def test_coerce_cell(value: object, kind: str, ok: object) -> None:
    col = schema.InputColumn("x", kind, "", "")  # type: ignore[arg-type]
    typed, error = coerce_cell(value, col)
    if ok is None:
        assert typed is None and error is not None and error.startswith("expected ")
    else:
        assert error is None and typed == ok and type(typed) is type(ok)


# ---- cell rules, each naming its cell -----------------------------------------------------------
@pytest.mark.parametrize(("sheet", "row", "column", "value", "cell", "expected"), [
    ("Sites", 2, "halls", 3.5, "Sites!H2 [halls]", "expected a whole number >= 0"),
    ("Sites", 3, "grid_mw", -5, "Sites!C3 [grid_mw]", "expected a number >= 0"),
    ("Sites", 3, "grid_mw", "lots", "Sites!C3 [grid_mw]", "expected a number >= 0"),
    ("Sites", 2, "uptime", 1.2, "Sites!G2 [uptime]", "expected a number >= 0 and <= 1"),
    ("Sites", 2, "earliest_start", "soon", "Sites!K2 [earliest_start]",
     "expected a quarter such as 2027Q1"),
    ("Options", 2, "pue", 0.9, "Options!D2 [pue]", "expected a number >= 1 and <= 3"),
    ("Options", 3, "lead_quarters", 0, "Options!C3 [lead_quarters]",
     "expected a whole number >= 1 and <= 40"),
    ("Options", 2, "capex_musd_per_it_mw", -1, "Options!B2 [capex_musd_per_it_mw]",
     "expected a number >= 0"),
    ("Options", 3, "power_passthrough", "perhaps", "Options!J3 [power_passthrough]",
     "expected TRUE or FALSE"),
    ("Quarters", 5, "budget_musd", -10, "Quarters!C5 [budget_musd]", "expected a number >= 0"),
    ("Quarters", 9, "hashprice_usd_per_ph_day", "#DIV/0!",
     "Quarters!B9 [hashprice_usd_per_ph_day]", "expected a number >= 0"),
    ("Sites", 2, "grid_mw", True, "Sites!C2 [grid_mw]", "expected a number"),
])
def test_bad_cell_is_named(sheet: str, row: int, column: str, value: object, cell: str,
                           expected: str) -> None:
    message = errors_of(set_cell(tiny_tables(), sheet, row, column, value))
    assert f"{cell}: value {value!r}: {expected}" in message
    assert "1 problem found" in message


@pytest.mark.parametrize(("key", "value", "cell", "expected"), [
    ("discount_rate", 1.0, "Settings!B4 [discount_rate]", "expected a number >= 0 and < 1"),
    ("discount_rate", -0.1, "Settings!B4 [discount_rate]", "expected a number >= 0 and < 1"),
    ("horizon_quarters", 8.5, "Settings!B3 [horizon_quarters]", "expected a whole number"),
    ("start_quarter", "Jan 2027", "Settings!B2 [start_quarter]", "expected a quarter"),
    ("tax_rate", "21%", "Settings!B5 [tax_rate]", "expected a number >= 0 and < 1"),
])
def test_bad_setting_is_named(key: str, value: object, cell: str, expected: str) -> None:
    tables = tiny_tables()
    set_setting(tables, key, value)
    message = errors_of(tables)
    assert f"{cell}: value {value!r}: {expected}" in message


def test_blank_required_cell() -> None:
    message = errors_of(set_cell(tiny_tables(), "Sites", 3, "grid_mw", None))
    assert "Sites!C3 [grid_mw]: blank; expected a number >= 0" in message
    message = errors_of(set_cell(tiny_tables(), "Options", 2, "option", "  "))
    assert "Options!A2 [option]: blank; expected a non-empty name" in message


def test_missing_required_sheet_and_column() -> None:
    tables = tiny_tables()
    del tables["Options"]
    tables["Sites"] = tables["Sites"].drop(columns=["hall_it_mw"])
    message = errors_of(tables)
    assert "Options: required sheet missing" in message
    assert "Sheets found: Settings, Sites, SiteOptions, Quarters" in message
    assert "Sites [hall_it_mw]: required column missing from the header row (row 1)" in message
    assert "2 problems found" in message  # no per-row cascade of the missing column


def test_missing_optional_column_takes_its_default() -> None:
    tables = tiny_tables()
    tables["Sites"] = tables["Sites"].drop(columns=["uptime", "cooling_mw"])
    sites = portfolio_from_tables(tables).sites
    assert list(sites["uptime"]) == [1.0, 1.0] and list(sites["cooling_mw"]) == [0.0, 0.0]


def test_sheet_and_header_names_are_case_insensitive_and_trimmed() -> None:
    tables = tiny_tables()
    tables[" sites "] = tables.pop("Sites").rename(columns={"grid_mw": " Grid_MW "})
    tables["QUARTERS"] = tables.pop("Quarters")
    portfolio = portfolio_from_tables(tables)
    assert list(portfolio.sites["grid_mw"]) == [300.0, 150.0]


def test_fully_empty_rows_are_skipped_and_rows_still_named_by_excel_row() -> None:
    tables = tiny_tables()
    sites = tables["Sites"]
    blank = pd.DataFrame([[None] * sites.shape[1]], columns=sites.columns, dtype=object)
    tables["Sites"] = pd.concat([sites.iloc[:1], blank, sites.iloc[1:]], ignore_index=True)
    assert list(portfolio_from_tables(tables).sites.index) == ["Alpha", "Bravo"]
    tables["Sites"].loc[2, "grid_mw"] = "x"  # Bravo, now on Excel row 4
    assert "Sites!C4 [grid_mw]: value 'x'" in errors_of(tables)


def test_unknown_column_is_a_warning_and_annotation_columns_are_silent() -> None:
    tables = tiny_tables()
    tables["Sites"]["grid_mv"] = [1, 2]
    tables["Sites"]["notes"] = ["a", None]
    portfolio = portfolio_from_tables(tables)
    assert portfolio.warnings == (
        "Sites!S1 [grid_mv]: unknown column, ignored (did you mean 'grid_mw'?)",)


def test_column_named_twice_is_an_error() -> None:
    tables = tiny_tables()
    sites = tables["Sites"]
    sites.insert(5, "Grid_MW", [1.0, 2.0], allow_duplicates=True)
    message = errors_of(tables)
    assert "Sites!F1 [grid_mw]: column named twice (also Sites!C1); keep one" in message
    assert "1 problem found" in message


@pytest.mark.parametrize(("sheet", "row", "column", "value", "cell", "first_row"), [
    ("Sites", 3, "site", "alpha", "Sites!A3 [site]", 2),
    ("Options", 3, "option", "DLC", "Options!A3 [option]", 2),
    ("Quarters", 3, "quarter", "2027-Q1", "Quarters!A3 [quarter]", 2),
])
def test_duplicate_names(sheet: str, row: int, column: str, value: str, cell: str,
                         first_row: int) -> None:
    message = errors_of(set_cell(tiny_tables(), sheet, row, column, value))
    assert cell in message and f"already on row {first_row}" in message


def test_duplicate_site_option_pair() -> None:
    tables = tiny_tables()
    tables["SiteOptions"].loc[1] = ["ALPHA", "Air", False, None, None]
    message = errors_of(tables)
    assert "SiteOptions!B3 [option]: value 'Air': duplicate site and option: already on row 2" \
        in message


# ---- Settings -----------------------------------------------------------------------------------
def test_unknown_setting_gets_the_nearest_key() -> None:
    tables = tiny_tables()
    tables["Settings"].loc[1, "key"] = "horizon_quarter"
    message = errors_of(tables)
    assert ("Settings!A3 [key]: value 'horizon_quarter': unknown setting (did you mean "
            "'horizon_quarters'?)") in message
    assert "Settings [horizon_quarters]: required setting missing" in message


def test_setting_given_twice() -> None:
    tables = tiny_tables()
    set_setting(tables, "mip_gap", 0.01)
    tables["Settings"].loc[len(tables["Settings"])] = ["MIP_GAP ", 0.02]
    message = errors_of(tables)
    assert "Settings!A10 [key]: value 'MIP_GAP ': setting given twice (also Settings!A9)" \
        in message


def test_blank_optional_setting_takes_its_default() -> None:
    tables = tiny_tables()
    set_setting(tables, "tax_rate", None)
    set_setting(tables, "threads", "")
    settings = portfolio_from_tables(tables).settings
    assert settings.tax_rate == 0.0 and settings.threads == 0


def test_terminal_value_needs_its_parameter() -> None:
    tables = tiny_tables()
    set_setting(tables, "terminal_multiple", None)
    message = errors_of(tables)
    assert "Settings!B7 [terminal_multiple]: required when terminal_value is multiple" in message
    tables = tiny_tables()
    set_setting(tables, "terminal_value", "gordon")
    assert "[terminal_growth]: required when terminal_value is gordon" in errors_of(tables)
    set_setting(tables, "terminal_growth", 0.10)
    message = errors_of(tables)
    assert ("Settings!B9 [terminal_growth]: value 0.1: must be below discount_rate (0.1)"
            in message)
    set_setting(tables, "terminal_growth", 0.02)
    assert portfolio_from_tables(tables).settings.terminal_growth == 0.02


# ---- Sites --------------------------------------------------------------------------------------
def test_partial_upgrade_group_names_the_missing_cells() -> None:
    tables = set_cell(tiny_tables(), "Sites", 2, "cooling_lead_quarters", None)
    set_cell(tables, "Sites", 2, "max_cooling_modules", None)
    set_cell(tables, "Sites", 3, "power_upgrade_mw", None)
    message = errors_of(tables)
    assert "Sites!N2 [cooling_lead_quarters]: blank, but cooling_module_mw is given" in message
    assert "Sites!O2 [max_cooling_modules]: blank" in message
    assert "Sites!P3 [power_upgrade_mw]: blank, but power_upgrade_capex_musd is given" in message
    assert "3 problems found" in message


def test_warnings_mining_above_grid_and_earliest_start_after_horizon() -> None:
    tables = set_cell(tiny_tables(), "Sites", 3, "mining_mw", 180.0)
    set_cell(tables, "Sites", 2, "earliest_start", "2029Q1")
    portfolio = portfolio_from_tables(tables)
    assert len(portfolio.warnings) == 2
    assert portfolio.warnings[0].startswith("Sites!K2 [earliest_start]: value '2029Q1': after "
                                            "the last quarter (2028Q4): the site can never")
    assert portfolio.warnings[1].startswith("Sites!D3 [mining_mw]: value 180.0: above grid_mw")


# ---- references ---------------------------------------------------------------------------------
def test_site_options_unknown_site_and_option() -> None:
    tables = tiny_tables()
    tables["SiteOptions"].loc[1] = ["Alfa", "immersion", False, None, None]
    message = errors_of(tables)
    assert ("SiteOptions!A3 [site]: value 'Alfa': not a site of the Sites sheet (did you mean "
            "'Alpha'?)") in message
    assert "SiteOptions!B3 [option]: value 'immersion': not an option of the Options" in message


def test_site_options_names_match_case_insensitively_and_forbid() -> None:
    tables = tiny_tables()
    tables["SiteOptions"].loc[1] = ["bravo", "DLC", "no", None, 1.1]
    so = portfolio_from_tables(tables).site_options
    assert not so.loc[("Bravo", "dlc"), "allowed"]
    assert so.loc[("Bravo", "dlc"), "lease_multiplier"] == 1.1
    assert so["allowed"].sum() == 3


# ---- Quarters -----------------------------------------------------------------------------------
def test_quarters_missing_and_outside_horizon() -> None:
    tables = tiny_tables()
    tables["Quarters"] = tables["Quarters"].drop(index=[2, 3]).reset_index(drop=True)
    tables["Quarters"].loc[6] = ["2029Q1", 20.0, None]
    message = errors_of(tables)
    assert "Quarters [quarter]: no row for 2027Q3, 2027Q4: every quarter of the horizon " \
           "2027Q1..2028Q4 needs exactly one row" in message
    assert "Quarters!A8 [quarter]: value '2029Q1': outside the horizon 2027Q1..2028Q4" in message


def test_a_bad_quarter_label_is_not_also_reported_missing() -> None:
    message = errors_of(set_cell(tiny_tables(), "Quarters", 4, "quarter", "2027Q9"))
    assert "Quarters!A4 [quarter]: value '2027Q9': expected a quarter" in message
    assert "1 problem found" in message


# ---- Commitments --------------------------------------------------------------------------------
def test_commitments_frame() -> None:
    tables = with_commitments(("alpha", "DLC", "2027-Q2", 2, "Start"),
                              ("Bravo", None, None, None, "exclude"),
                              ("Alpha", "air", "2028Q1", None, "not_before"))
    portfolio = portfolio_from_tables(tables)
    c = portfolio.commitments
    assert list(c.columns) == list(schema.COMMITMENTS.names)
    assert c.loc[0].tolist() == ["Alpha", "dlc", "2027Q2", 2.0, "start", False]  # not signed
    assert c.loc[1, "option"] is None and c.loc[1, "quarter"] is None
    assert math.isnan(c.loc[1, "halls"]) and c["halls"].dtype == float
    assert c.loc[2, "quarter"] == "2028Q1"
    assert portfolio.warnings == ()


@pytest.mark.parametrize(("row", "cell", "expected"), [
    (("Alpha", "dlc", "2027Q2", None, "start"), "Commitments!D2 [halls]",
     "blank; a start needs its halls"),
    (("Alpha", "dlc", None, 1, "start"), "Commitments!C2 [quarter]",
     "blank; a start needs its quarter"),
    (("Alpha", None, "2026Q4", 1, "start"), "Commitments!B2 [option]",
     "start of any option at Alpha in 2026Q4: a hall begun before the start quarter must "
     "name its option"),
    (("Alpha", None, "2027Q3", None, "exclude"), "Commitments!C2 [quarter]: value '2027Q3'",
     "an exclude has no quarter"),
    (("Alpha", "dlc", None, None, "not_before"), "Commitments!C2 [quarter]",
     "blank; not_before needs the first allowed quarter"),
    (("Alpha", "dlc", "2027Q3", 1, "not_before"), "Commitments!D2 [halls]: value 1",
     "halls only go with action start"),
    (("Alpha", "dlc", "2027Q3", 0, "start"), "Commitments!D2 [halls]: value 0",
     "expected a whole number >= 1"),
    (("Alpha", "dlc", "2027Q3", 1, "begin"), "Commitments!E2 [action]: value 'begin'",
     "expected one of start, exclude, not_before"),
    (("ALPHAA", "dlc", "2027Q3", 1, "start"), "Commitments!A2 [site]: value 'ALPHAA'",
     "not a site of the Sites sheet (did you mean 'Alpha'?)"),
    (("Alpha", "dlc", "2028Q1", 1, "start"), "Commitments!C2 [quarter]: value '2028Q1'",
     "start of dlc at Alpha in 2028Q1: its hall would be online in 2029Q1 (lead_quarters 4), "
     "after the last quarter 2028Q4"),
])
def test_commitment_rules(row: tuple[object, ...], cell: str, expected: str) -> None:
    message = errors_of(with_commitments(row))
    assert f"{cell}: {expected}" in message
    assert "1 problem found" in message


def test_start_online_exactly_at_the_last_quarter_is_fine() -> None:
    portfolio = portfolio_from_tables(with_commitments(("Alpha", "dlc", "2027Q4", 1, "start")))
    assert len(portfolio.commitments) == 1


def test_start_of_an_option_not_allowed_at_the_site() -> None:
    tables = with_commitments(("Alpha", "air", "2027Q3", 1, "start"))
    tables["SiteOptions"].loc[0, "allowed"] = "FALSE"
    message = errors_of(tables)
    assert ("Commitments!B2 [option]: value 'air': start of air at Alpha in 2027Q3: the option "
            "is not allowed at the site (SiteOptions allowed FALSE)") in message


def test_start_contradicted_by_exclude_of_the_site_or_that_option() -> None:
    message = errors_of(with_commitments(("Alpha", "dlc", "2027Q3", 1, "start"),
                                         ("Alpha", None, None, None, "exclude"),
                                         ("Alpha", "dlc", None, None, "exclude")))
    assert message.count("contradicted by the exclude at Commitments!E") == 2
    assert "Commitments!E3" in message and "Commitments!E4" in message
    # an exclude of another option, or at another site, does not contradict
    portfolio = portfolio_from_tables(with_commitments(
        ("Alpha", "dlc", "2027Q3", 1, "start"), ("Alpha", "air", None, None, "exclude"),
        ("Bravo", None, None, None, "exclude")))
    assert len(portfolio.commitments) == 3


def test_start_before_a_not_before() -> None:
    message = errors_of(with_commitments(("Alpha", "dlc", "2027Q3", 1, "start"),
                                         ("Alpha", None, "2027Q4", None, "not_before")))
    assert ("Commitments!C2 [quarter]: value '2027Q3': start of dlc at Alpha in 2027Q3: before "
            "the not_before 2027Q4 at Commitments!C3") in message
    portfolio = portfolio_from_tables(with_commitments(
        ("Alpha", "dlc", "2027Q4", 1, "start"), ("Alpha", None, "2027Q4", None, "not_before")))
    assert len(portfolio.commitments) == 2


def test_start_before_earliest_start_is_honoured_with_a_warning() -> None:
    portfolio = portfolio_from_tables(with_commitments(("Alpha", "air", "2027Q1", 1, "start")))
    assert portfolio.warnings == (
        "Commitments!C2 [quarter]: value '2027Q1': start of air at Alpha in 2027Q1: before the "
        "site's earliest_start 2027Q2; honoured as a decision already taken",)


def test_start_before_the_start_quarter_is_accepted_as_sunk_with_a_warning() -> None:
    portfolio = portfolio_from_tables(with_commitments(("Bravo", "dlc", "2026Q3", 2, "start")))
    assert len(portfolio.warnings) == 1
    assert "before the start quarter 2027Q1; accepted as a hall begun in an earlier plan, its " \
           "capex before the start quarter is sunk" in portfolio.warnings[0]
    assert portfolio.commitments.loc[0, "quarter"] == "2026Q3"


def test_committed_halls_above_the_site_halls() -> None:
    message = errors_of(with_commitments(("Bravo", "dlc", "2027Q1", 1, "start"),
                                         ("Bravo", "air", "2027Q2", 2, "start")))
    assert ("Commitments!D3 [halls]: value 3: committed starts at Bravo total 3 halls, more than "
            "its 2 halls (Sites)") in message


# ---- Scenarios ----------------------------------------------------------------------------------
def test_scenarios_exactly_one_of_value_or_multiplier() -> None:
    tables = tiny_tables()
    tables["Scenarios"] = pd.DataFrame(
        [["bear", "hashprice", None, 0.7, None, None],
         ["bad", "capex", 5.0, 1.2, None, None],
         ["none", "lease", None, None, "Alpha", None],
         ["typo", "hashprice", None, 0.5, "Alpa", "dlc"]],
        columns=list(schema.SCENARIOS.names)[:6], dtype=object)  # the optional weight absent
    message = errors_of(tables)
    assert "Scenarios!C3 [value]: value 5.0: give exactly one of value and multiplier (both " \
           "given)" in message
    assert "Scenarios!C4 [value]: give exactly one of value and multiplier (both blank)" \
        in message
    assert "Scenarios!E5 [site]: value 'Alpa': not a site" in message
    assert "3 problems found" in message
    tables["Scenarios"] = tables["Scenarios"].iloc[:1]
    scenarios = portfolio_from_tables(tables).scenarios
    assert scenarios.loc[0, "multiplier"] == 0.7 and math.isnan(scenarios.loc[0, "value"])
    assert scenarios.loc[0, "site"] is None


def test_empty_optional_sheet_is_a_warning() -> None:
    tables = tiny_tables()
    tables["Commitments"] = commitments()
    portfolio = portfolio_from_tables(tables)
    assert portfolio.warnings == ("Commitments: optional sheet is empty",)


def test_empty_required_sheet_is_an_error() -> None:
    tables = tiny_tables()
    tables["Options"] = tables["Options"].iloc[:0]
    message = errors_of(tables)
    assert "Options: the sheet has no rows" in message


# ---- many problems, no cascades -----------------------------------------------------------------
def test_several_problems_reported_together() -> None:
    tables = tiny_tables()
    set_cell(tables, "Sites", 2, "grid_mw", "abc")
    set_cell(tables, "Sites", 3, "halls", 1.5)
    set_cell(tables, "Options", 3, "pue", 0.8)
    set_cell(tables, "Quarters", 6, "hashprice_usd_per_ph_day", None)
    set_setting(tables, "discount_rate", 2)
    tables["Commitments"] = commitments(("Nowhere", "dlc", "2027Q3", 1, "start"))
    message = errors_of(tables)
    assert message.startswith("6 problems found in the input:")
    for cell in ("Sites!C2 [grid_mw]", "Sites!H3 [halls]", "Options!D3 [pue]",
                 "Quarters!B6 [hashprice_usd_per_ph_day]", "Settings!B4 [discount_rate]",
                 "Commitments!A2 [site]"):
        assert cell in message


def test_broken_settings_do_not_stop_or_cascade_into_other_sheets() -> None:
    tables = tiny_tables()
    set_setting(tables, "start_quarter", "someday")
    set_cell(tables, "Sites", 2, "pue_typo", None)
    set_cell(tables, "Options", 2, "pue", 9)
    tables["Commitments"] = commitments(("Alpha", "dlc", "2030Q1", 1, "start"))
    message = errors_of(tables)
    assert "Settings!B2 [start_quarter]" in message and "Options!D2 [pue]" in message
    assert "horizon" not in message  # the quarters cannot be checked without a start quarter
    assert "2 problems found" in message


def test_source_names_the_workbook_in_the_message() -> None:
    tables = set_cell(tiny_tables(), "Sites", 2, "grid_mw", -1)
    with pytest.raises(InputError) as info:
        portfolio_from_tables(tables, source="book.xlsx")
    assert str(info.value).startswith("book.xlsx: 1 problem found in the input:")
    assert info.value.problems[0].cell == "C2"
    assert info.value.problems[0].column == "grid_mw"
    assert info.value.exit_code == 2


# ---- summary ------------------------------------------------------------------------------------
def test_describe_portfolio(tiny: Portfolio) -> None:
    text = describe_portfolio(tiny)
    assert "sites: 2 (450 MW grid, 350 MW mining)" in text
    assert "convertible: 6 halls, 250 MW IT" in text
    assert "options: 2 (dlc, air)" in text
    assert "horizon: 2027Q1..2028Q4 (8 quarters)" in text
    assert "budget: $2,100M in total (1 quarter without limit); per year ($M) 2027: 1,200, " \
           "2028: 900 + no limit in 1 quarter" in text
    assert "commitments: 0" in text and "warnings: 0" in text


def test_an_unreadable_site_name_does_not_cascade_into_references() -> None:
    tables = set_cell(tiny_tables(), "Sites", 3, "site", None)
    tables["Commitments"] = commitments(("Bravo", "dlc", "2027Q3", 1, "start"))
    message = errors_of(tables)
    assert "Sites!A3 [site]: blank; expected a non-empty name" in message
    assert "1 problem found" in message


# ---- properties of cell coercion -------------------------------------------------------------
@given(st.floats(min_value=-10, max_value=10, allow_nan=False))
def test_bounds_follow_the_schema(x: float) -> None:
    pue = schema.OPTIONS.column("pue")  # ge 1, le 3
    discount = schema.SETTINGS.column("discount_rate")  # ge 0, lt 1
    for value in (x, repr(x)):
        assert (coerce_cell(value, pue)[1] is None) == (1.0 <= x <= 3.0)
        assert (coerce_cell(value, discount)[1] is None) == (0.0 <= x < 1.0)


@given(st.integers(min_value=-50, max_value=50), st.sampled_from(["int", "float", "text"]))
def test_integers_accepted_in_any_whole_form(n: int, form: str) -> None:
    halls = schema.SITES.column("halls")  # ge 0
    value: object = {"int": n, "float": float(n), "text": f" {n} "}[form]
    typed, error = coerce_cell(value, halls)
    if n >= 0:
        assert error is None and typed == n and type(typed) is int
    else:
        assert error == "expected a whole number >= 0 and <= 1,000"
    assert coerce_cell(n + 0.5, halls)[1] is not None


def test_start_with_blank_option_means_any_option() -> None:
    """Contract: a blank option means every option; a start of 'any option' validates."""
    tables = tiny_tables()
    tables["Commitments"] = pd.DataFrame({
        "site": ["Alpha"], "option": [None], "quarter": ["2027Q2"], "halls": [1],
        "action": ["start"]}, dtype=object)
    portfolio = portfolio_from_tables(tables)
    assert portfolio.commitments.loc[0, "option"] is None
