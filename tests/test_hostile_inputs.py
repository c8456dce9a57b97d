"""Inputs that pass validation and should not (tried as a hostile user would): two sheets that
match one table, and magnitudes no site has. Ambiguity is an error naming both sheets; every
numeric column has a range in the schema (an error beyond the physically possible, a warning
naming the cell outside the typical)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from support import tiny_tables, write_xlsx

from models.errors import InputError
from optimizer.inputs import schema
from optimizer.inputs.validation import portfolio_from_tables
from optimizer.inputs.workbook import load_portfolio


@pytest.mark.parametrize("twin", ["Sites ", " SITES ", "sites "])  # Excel refuses "sites"
def test_two_sheets_matching_one_table_name_both(tmp_path: Path, twin: str) -> None:
    path = write_xlsx(tiny_tables(), tmp_path / "b.xlsx")
    wb = openpyxl.load_workbook(path)
    copy = wb.copy_worksheet(wb["Sites"])
    copy.title = twin
    copy["C2"] = 1.0  # a different grid_mw: reading either silently would be a guess
    wb.save(path)
    with pytest.raises(InputError) as caught:
        load_portfolio(path)
    message = str(caught.value)
    assert f"sheets 'Sites' and {twin!r} both match the table Sites" in message
    assert "rename or delete one" in message


def test_a_grid_of_1e308_mw_is_an_error_naming_the_cell() -> None:
    tables = tiny_tables()
    tables["Sites"].loc[0, "grid_mw"] = 1e308
    with pytest.raises(InputError) as caught:
        portfolio_from_tables(tables)
    assert "Sites!C2 [grid_mw]: value 1e+308: expected a number >= 0 and <= 20,000" in \
        str(caught.value)


def test_an_unusual_but_possible_value_is_a_warning_naming_the_cell() -> None:
    tables = tiny_tables()
    tables["Options"].loc[0, "capex_musd_per_it_mw"] = 95.0  # $95M per MW IT: $ for $M?
    warnings = portfolio_from_tables(tables).warnings
    assert any(w.startswith("Options!B2 [capex_musd_per_it_mw]: value 95.0: unusual value: "
                            "typically 1 to 30 $M per MW IT") for w in warnings), warnings


def test_an_unusual_setting_is_a_warning_naming_the_cell() -> None:
    tables = tiny_tables()
    s = tables["Settings"]
    s.loc[s["key"] == "discount_rate", "value"] = 0.6
    warnings = portfolio_from_tables(tables).warnings
    assert any(w.startswith("Settings!B4 [discount_rate]: value 0.6: unusual value: "
                            "typically 0.02 to 0.3") for w in warnings), warnings


def test_every_numeric_column_has_a_range() -> None:
    """An upper bound (an error beyond it) on every numeric column but Scenarios `value`, whose
    meaning depends on the parameter it sets."""
    for table in schema.TABLES:
        for col in table.columns:
            if col.kind not in ("number", "integer") or (table.sheet, col.name) == (
                    "Scenarios", "value"):
                continue
            assert col.le is not None or col.lt is not None, f"{table.sheet}.{col.name}"
            assert col.ge is not None or col.gt is not None, f"{table.sheet}.{col.name}"
            if col.typical is not None:
                low, high = col.typical
                assert low is None or col.atypical(low) is None
                assert high is None or col.atypical(high) is None
