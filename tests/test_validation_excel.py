"""Validation that knows Excel's habits (issue 22): each a located message, exit 2 and
nothing written when it is an error; read (with a warning naming the cell) when unambiguous.

- a date in a quarter cell is read as the calendar quarter it falls in, with a warning; a date
  where a quarter cannot be read is shown as `2027-07-01 (a date)`, never `datetime.datetime`;
- a rate or share typed as a whole percentage (discount rate 12) gets "did you mean 0.12";
- quarters written `Q3 2028`, `Q3-2028`, `3Q2028` are read as 2028Q3; a two-digit year
  (`3Q28`, `Q3 28`) is not read (its century would be a guess) but 2028Q3 is suggested;
- a required column missing beside an unknown one that resembles it names that column.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from support import tiny_tables, write_xlsx

from models.errors import InputError
from optimizer.cli import main
from optimizer.inputs.validation import portfolio_from_tables
from optimizer.inputs.workbook import load_portfolio


def errors_of(tables: dict[str, pd.DataFrame]) -> str:
    with pytest.raises(InputError) as info:
        portfolio_from_tables(tables)
    return str(info.value)


def _setting(tables: dict[str, pd.DataFrame], key: str, value: object) -> None:
    settings = tables["Settings"]
    settings.loc[settings.index[settings["key"] == key][0], "value"] = value


def _plan_exits_2(tmp_path: Path, tables: dict[str, pd.DataFrame]) -> str:
    """`sitepivot plan` on the tables from a folder without reports/: exit 2, nothing
    written (not even the default reports/ folder); returns stderr."""
    book = write_xlsx(tables, tmp_path / "book.xlsx")
    with CliRunner().isolated_filesystem(temp_dir=tmp_path) as here:
        result = CliRunner().invoke(main, ["plan", str(book), "--quiet"])
        assert list(Path(here).iterdir()) == []
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "datetime.datetime" not in result.output
    return result.stderr


def test_an_excel_date_in_a_quarter_cell_is_read_as_its_quarter(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["Sites"].loc[0, "earliest_start"] = dt.datetime(2027, 7, 1)  # an Excel date cell
    portfolio = load_portfolio(write_xlsx(tables, tmp_path / "dates.xlsx"))
    assert portfolio.sites.loc["Alpha", "earliest_start"] == "2027Q3"
    assert ("Sites!K2 [earliest_start]: value 2027-07-01 (a date): a date, read as 2027Q3 "
            "(the calendar quarter it falls in); write 2027Q3 to say so") in portfolio.warnings
    _setting(tables, "start_quarter", dt.date(2027, 2, 15))  # any day of the quarter
    assert portfolio_from_tables(tables).settings.start_quarter == "2027Q1"


def test_a_date_where_no_quarter_is_read_is_shown_as_a_date(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["Sites"].loc[0, "grid_mw"] = dt.datetime(2027, 7, 1)
    err = _plan_exits_2(tmp_path, tables)
    assert "Sites!C2 [grid_mw]: value 2027-07-01 (a date): expected a number >= 0" in err


@pytest.mark.parametrize(("sheet", "row", "column", "value", "cell", "hint"), [
    ("Settings", 4, "discount_rate", 12, "B4", "did you mean 0.12? discount_rate is a "
                                                "fraction: 12% is 0.12"),
    ("Settings", 5, "tax_rate", 21, "B5", "did you mean 0.21?"),
    ("Sites", 2, "uptime", 95, "G2", "did you mean 0.95? uptime is a fraction: 95% is 0.95"),
])
def test_a_percentage_typed_as_a_whole_number_gets_did_you_mean(
        tmp_path: Path, sheet: str, row: int, column: str, value: int, cell: str,
        hint: str) -> None:
    tables = tiny_tables()
    if sheet == "Settings":
        _setting(tables, column, value)
    else:
        tables[sheet].loc[row - 2, column] = value
    err = _plan_exits_2(tmp_path, tables)
    assert f"{sheet}!{cell} [{column}]: value {value}: expected a number" in err
    assert f"({hint}" in err


def test_no_percent_hint_where_the_hundredth_is_not_allowed_either() -> None:
    tables = tiny_tables()
    _setting(tables, "discount_rate", 250)  # 2.5 is no rate either
    assert "did you mean" not in errors_of(tables)
    tables = tiny_tables()
    tables["Options"].loc[1, "pue"] = 15  # a ratio, not a fraction
    assert "did you mean" not in errors_of(tables)


@pytest.mark.parametrize("text", ["Q3 2028", "Q3-2028", "q3/2028", "3Q2028", "2028 Q3",
                                  "2028-q3"])
def test_common_quarter_spellings_are_read(text: str) -> None:
    tables = tiny_tables()
    tables["Sites"].loc[0, "earliest_start"] = text
    assert portfolio_from_tables(tables).sites.loc["Alpha", "earliest_start"] == "2028Q3"


@pytest.mark.parametrize("text", ["3Q28", "Q3 28", "Q3'28", "28Q3"])
def test_a_two_digit_year_is_not_read_but_hinted(tmp_path: Path, text: str) -> None:
    tables = tiny_tables()
    tables["Sites"].loc[0, "earliest_start"] = text
    err = _plan_exits_2(tmp_path, tables)
    assert (f"Sites!K2 [earliest_start]: value {text!r}: expected a quarter such as 2027Q1 "
            "(did you mean 2028Q3?)") in err


def test_a_misspelt_header_is_named_beside_the_missing_column(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["Sites"] = tables["Sites"].rename(columns={"power_cost_usd_per_mwh": "power_cost",
                                                      "grid_mw": "Grid MW"})
    err = _plan_exits_2(tmp_path, tables)
    assert ("Sites [power_cost_usd_per_mwh]: required column missing from the header row "
            "(row 1); the unknown column 'power_cost' (Sites!F1) may be it: rename it "
            "power_cost_usd_per_mwh") in err
    assert "the unknown column 'grid mw' (Sites!C1) may be it: rename it grid_mw" in err


def test_a_missing_setting_names_the_unknown_key_like_it() -> None:
    tables = tiny_tables()
    settings = tables["Settings"]
    settings.loc[settings["key"] == "start_quarter", "key"] = "start_qtr"
    err = errors_of(tables)
    assert "required setting missing: add a row with key start_quarter" in err
    assert "the unknown key 'start_qtr' (Settings!A2) may be it" in err


def test_a_quarters_sheet_of_dates_is_read_with_one_warning(tmp_path: Path) -> None:
    """Quarter-end dates (as a finance sheet has them) in Quarters: each read as its quarter,
    one warning for the column, not one per row."""
    tables = tiny_tables()
    ends = [dt.datetime(2027, 3, 31), dt.datetime(2027, 6, 30), dt.datetime(2027, 9, 30),
            dt.datetime(2027, 12, 31), dt.datetime(2028, 3, 31), dt.datetime(2028, 6, 30),
            dt.datetime(2028, 9, 30), dt.datetime(2028, 12, 31)]
    tables["Quarters"]["quarter"] = pd.Series(ends, dtype=object)
    portfolio = load_portfolio(write_xlsx(tables, tmp_path / "ends.xlsx"))
    assert portfolio.quarter_labels == portfolio_from_tables(tiny_tables()).quarter_labels
    dates = [w for w in portfolio.warnings if "dates read" in w or "a date, read" in w]
    assert dates == ["Quarters [quarter]: 8 dates read as the calendar quarters they fall in, "
                     "Quarters!A2 2027-03-31 (a date) as 2027Q1 .. Quarters!A9 2028-12-31 "
                     "(a date) as 2028Q4; write the quarter labels to say so"]
