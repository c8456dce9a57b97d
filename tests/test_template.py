"""`sitepivot template` and `optimizer.inputs.template.write_workbook`: what is written, and how."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from models.errors import UsageError
from optimizer.cli import main
from optimizer.inputs import schema
from optimizer.inputs.template import header_comment, write_template, write_workbook
from optimizer.inputs.workbook import load_portfolio


@pytest.fixture()
def template(tmp_path: Path) -> Path:
    path = tmp_path / "template.xlsx"
    write_template(path)
    return path


def _dropdowns(sheet: openpyxl.worksheet.worksheet.Worksheet) -> dict[str, str]:
    """First cell of each list validation's range -> its formula."""
    found = {}
    for dv in sheet.data_validations.dataValidation:
        assert dv.type == "list"
        for rng in dv.sqref.ranges:
            found[rng.coord.split(":")[0]] = dv.formula1
    return found


def test_template_has_every_sheet_and_column_in_schema_order(template: Path) -> None:
    book = openpyxl.load_workbook(template)
    assert book.sheetnames == [t.sheet for t in schema.TABLES]
    for table in schema.TABLES[1:]:
        header = [c.value for c in book[table.sheet][1]]
        assert header == list(table.names)
    settings = book["Settings"]
    assert [c.value for c in settings[1]] == ["key", "value", "note"]
    keys = [settings.cell(row=i, column=1).value for i in range(2, settings.max_row + 1)]
    assert keys == list(schema.SETTINGS.names)


def test_template_rows_are_the_schema_examples_written_as_numbers(template: Path) -> None:
    book = openpyxl.load_workbook(template)
    sites = book["Sites"]
    assert sites.max_row == 2  # one example row
    row = {c.value: v.value for c, v in zip(sites[1], sites[2], strict=True)}
    assert row["site"] == "Childress"
    assert row["grid_mw"] == 750 and isinstance(row["grid_mw"], int | float)
    assert row["efficiency_j_per_th"] == pytest.approx(17.5)
    assert row["halls"] == 6 and isinstance(row["halls"], int)
    options = book["Options"]
    assert options["J2"].value is True  # power_passthrough, an Excel boolean
    assert options["J1"].value == "power_passthrough"
    settings = {r[0]: r[1] for r in book["Settings"].iter_rows(min_row=2, values_only=True)}
    assert settings["horizon_quarters"] == 8
    assert settings["terminal_multiple"] is None  # blank, not "None"
    quarters = [r[0] for r in book["Quarters"].iter_rows(min_row=2, values_only=True)]
    assert quarters == ["2027Q1", "2027Q2", "2027Q3", "2027Q4", "2028Q1", "2028Q2",
                        "2028Q3", "2028Q4"]


def test_template_revalidates_as_written(template: Path) -> None:
    portfolio = load_portfolio(template)
    assert portfolio.warnings == ()
    assert portfolio.horizon == 8
    assert portfolio.quarter_labels[-1] == "2028Q4"
    assert portfolio.site_names == ["Childress"]
    assert portfolio.option_names == ["dlc_ai"]
    assert portfolio.sites.loc["Childress", "power_upgrade_lead_quarters"] == 6
    assert len(portfolio.commitments) == 1
    assert portfolio.quarters["budget_musd"].tolist() == [250.0] * 8


def test_header_cells_carry_unit_default_range_and_meaning(template: Path) -> None:
    book = openpyxl.load_workbook(template)
    for table in schema.TABLES[1:]:
        for cell in book[table.sheet][1]:
            assert cell.comment is not None, f"{table.sheet}!{cell.coordinate}"
            assert cell.comment.text == header_comment(table.column(cell.value))
            assert cell.font.b
    text = book["Sites"]["C1"].comment.text  # grid_mw
    assert "Unit: MW" in text and "Required." in text
    assert "Allowed: a number >= 0 and <= 20,000; typically 0 to 3,000." in text
    assert "Energized grid power" in text
    text = book["Sites"]["G1"].comment.text  # uptime
    assert "Optional; blank = 1." in text and ">= 0 and <= 1" in text
    text = book["Quarters"]["C1"].comment.text  # budget_musd
    assert "Optional; blank = no limit" in text and "Unit: $M" in text
    # Settings: the comment sits on each key cell.
    settings = book["Settings"]
    assert settings["A4"].value == "discount_rate"
    assert "Unit: per year" in settings["A4"].comment.text
    assert "< 1" in settings["A4"].comment.text


def test_dropdowns_on_choice_and_bool_columns_only(template: Path) -> None:
    book = openpyxl.load_workbook(template)
    assert _dropdowns(book["Options"]) == {"J2": '"TRUE,FALSE"'}
    assert _dropdowns(book["SiteOptions"]) == {"C2": '"TRUE,FALSE"'}
    assert _dropdowns(book["Commitments"]) == {"E2": '"start,exclude,not_before"',
                                               "F2": '"TRUE,FALSE"'}  # lease_signed
    assert _dropdowns(book["Scenarios"]) == {
        "B2": '"hashprice,lease,capex,budget,power_cost,discount_rate,lead_quarters,'
              'ai_demand,debt_rate,renewal_probability,tenant_share,min_dscr"'}
    assert _dropdowns(book["Sites"]) == {}
    # Rows a user adds get the dropdown too.
    dv, _signed = book["Commitments"].data_validations.dataValidation
    assert str(dv.sqref) == "E2:E1002"
    # Settings: on the value cells of the choice and bool keys.
    rows = {r[0].value: r[0].row for r in book["Settings"].iter_rows(min_row=2, max_col=1)}
    assert _dropdowns(book["Settings"]) == {
        f"B{rows['discounting']}": '"end,mid"',
        f"B{rows['terminal_value']}": '"none,multiple,gordon,contracted"',
        f"B{rows['budget_carryover']}": '"TRUE,FALSE"',
        f"B{rows['objective']}": '"project_npv,equity_npv"',
        f"B{rows['budget_basis']}": '"capex,equity"',
        f"B{rows['terminal_value_tax']}": '"taxed,untaxed"',
    }


def test_header_row_frozen_and_columns_fitted(template: Path) -> None:
    book = openpyxl.load_workbook(template)
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
    sites = book["Sites"]
    # power_upgrade_lead_quarters (27 characters) is the longest entry of column R.
    assert sites.column_dimensions["R"].width == 29
    # The objective's example, project_npv (11 characters), is the longest value of column B.
    assert book["Settings"].column_dimensions["B"].width == 13


def test_refuses_to_overwrite_without_force(template: Path) -> None:
    before = template.read_bytes()
    with pytest.raises(UsageError, match=r"already exists; use --force"):
        write_template(template)
    assert template.read_bytes() == before


def test_overwrites_with_force(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    path.write_text("not a workbook")
    write_template(path, force=True)
    assert openpyxl.load_workbook(path).sheetnames[0] == "Settings"
    assert [p.name for p in tmp_path.iterdir()] == ["t.xlsx"]  # no temporary file left


def test_missing_folder_and_wrong_suffix_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"folder .*nowhere does not exist"):
        write_template(tmp_path / "nowhere" / "t.xlsx")
    with pytest.raises(UsageError, match=r"must be an \.xlsx file"):
        write_template(tmp_path / "t.csv")
    assert list(tmp_path.iterdir()) == []


def test_cli_template_and_force(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    runner = CliRunner()
    first = runner.invoke(main, ["template", str(path)])
    assert first.exit_code == 0, first.output
    assert "template written to" in first.output
    again = runner.invoke(main, ["template", str(path)])
    assert again.exit_code == 2
    assert "already exists" in again.output
    forced = runner.invoke(main, ["template", str(path), "--force"])
    assert forced.exit_code == 0
    checked = runner.invoke(main, ["validate", str(path)])
    assert checked.exit_code == 0, checked.output
    assert "horizon: 2027Q1..2028Q4 (8 quarters)" in checked.output


def test_write_workbook_types_cells_and_appends_extra_sheets(tmp_path: Path) -> None:
    path = tmp_path / "w.xlsx"
    options = pd.DataFrame({"option": ["air"], "capex_musd_per_it_mw": ["7.5"],
                            "lead_quarters": [3.0], "pue": [1.4],
                            "cooling_mw_per_it_mw": [float("nan")],
                            "lease_usd_per_kw_month": [120], "note": ["an estimate"]})
    settings = pd.DataFrame({"key": ["start_quarter", "budget_carryover"],
                             "value": ["2027Q1", True]}, dtype=object)
    sources = pd.DataFrame({"item": ["capex"], "value": [7.5], "source": ["FACTS"]})
    write_workbook({"Options": options, "Settings": settings}, path,
                   extra_sheets={"Sources": sources})
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Settings", "Options", "Sources"]  # schema order, extras last
    row = [c.value for c in book["Options"][2]]
    assert row == ["air", 7.5, 3, 1.4, None, 120, "an estimate"]
    assert isinstance(row[2], int)
    assert book["Options"]["G1"].comment is None  # annotation column: no contract comment
    assert book["Settings"]["B3"].value is True
    assert [c.value for c in book["Sources"][1]] == ["item", "value", "source"]
    assert book["Sources"].freeze_panes == "A2"


def test_write_workbook_rejects_what_is_not_in_the_contract(tmp_path: Path) -> None:
    path = tmp_path / "w.xlsx"
    with pytest.raises(ValueError, match=r"not sheets of the workbook contract: \['Sitez'\]"):
        write_workbook({"Sitez": pd.DataFrame()}, path)
    with pytest.raises(ValueError, match=r"Options: not columns of the sheet: \['capex'\]"):
        write_workbook({"Options": pd.DataFrame({"option": ["a"], "capex": [1]})}, path)
    with pytest.raises(ValueError, match=r"unknown key 'horizon'"):
        write_workbook({"Settings": pd.DataFrame({"key": ["horizon"], "value": [4]})}, path)
    assert not path.exists()
