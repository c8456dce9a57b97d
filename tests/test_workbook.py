"""`optimizer.inputs.workbook.load_portfolio`: .xlsx and CSV folders, and every way a file is
bad."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from support import tiny_tables, write_xlsx

from models.errors import InputError
from models.portfolio import Portfolio
from optimizer.inputs.validation import portfolio_from_tables
from optimizer.inputs.workbook import load_portfolio

FRAMES = ("sites", "options", "site_options", "quarters", "commitments", "scenarios")


def assert_same_portfolio(a: Portfolio, b: Portfolio) -> None:
    assert a.settings == b.settings
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_index_type=False)


def errors_of(path: Path) -> str:
    with pytest.raises(InputError) as info:
        load_portfolio(path)
    return str(info.value)


def write_csv_folder(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    folder.mkdir()
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name.lower()}.csv", index=False)
    return folder


def tables_with_commitments() -> dict[str, pd.DataFrame]:
    tables = tiny_tables()
    tables["Commitments"] = pd.DataFrame(
        [["Alpha", "dlc", "2027Q3", 1, "start"], ["Bravo", None, None, None, "exclude"]],
        columns=["site", "option", "quarter", "halls", "action"], dtype=object)
    return tables


@pytest.fixture()
def book(tmp_path: Path) -> Path:
    return write_xlsx(tables_with_commitments(), tmp_path / "tiny.xlsx")


# ---- good input -----------------------------------------------------------------------------
def test_xlsx_gives_the_same_portfolio_as_the_tables(book: Path) -> None:
    portfolio = load_portfolio(book)
    assert_same_portfolio(portfolio, portfolio_from_tables(tables_with_commitments()))
    assert portfolio.source == str(book)
    assert portfolio.sha256 == hashlib.sha256(book.read_bytes()).hexdigest()
    assert portfolio.warnings == ()


def test_csv_folder_gives_the_same_portfolio_as_the_xlsx(book: Path, tmp_path: Path) -> None:
    folder = write_csv_folder(tables_with_commitments(), tmp_path / "csv")
    (folder / "siteoptions.csv").rename(folder / "SiteOptions.CSV")  # names case-insensitive
    (folder / "README.txt").write_text("not read")
    from_csv = load_portfolio(folder)
    assert_same_portfolio(from_csv, load_portfolio(book))
    assert from_csv.source == str(folder) and len(from_csv.sha256) == 64
    # the folder's hash follows its CSV files' bytes
    before = from_csv.sha256
    (folder / "quarters.csv").write_text((folder / "quarters.csv").read_text() + "\n")
    assert load_portfolio(folder).sha256 != before


def test_csv_problems_are_named_by_file_and_row(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["Sites"].loc[1, "grid_mw"] = "lots"
    tables["Sites"]["grid_mw_2"] = [1, 2]
    tables["Sites"] = tables["Sites"].rename(columns={"grid_mw_2": "Grid_MW"})
    message = errors_of(write_csv_folder(tables, tmp_path / "csv"))
    assert "sites.csv row 3 [grid_mw]: value 'lots': expected a number >= 0" in message
    assert "sites.csv row 1 [grid_mw]: column named twice (also sites.csv row 1)" in message


def test_csv_folder_with_a_missing_file(tmp_path: Path) -> None:
    tables = tiny_tables()
    del tables["Quarters"]
    message = errors_of(write_csv_folder(tables, tmp_path / "csv"))
    assert "1 problem found" in message
    assert "quarters.csv: required file missing from the folder" in message
    assert "Files found: options.csv, settings.csv, siteoptions.csv, sites.csv" in message


def test_csv_not_utf8(tmp_path: Path) -> None:
    folder = write_csv_folder(tiny_tables(), tmp_path / "csv")
    (folder / "sites.csv").write_bytes("site,région\n".encode("latin-1") + b"\xff\xfe\n")
    message = errors_of(folder)
    assert "sites.csv: not UTF-8 text" in message and "save it as CSV UTF-8" in message


def test_other_sheets_are_ignored_and_hidden_sheets_warn(tmp_path: Path) -> None:
    path = write_xlsx(tiny_tables(), tmp_path / "b.xlsx")
    wb = openpyxl.load_workbook(path)
    wb.create_sheet("README")["A1"] = "anything at all"
    wb["SiteOptions"].sheet_state = "hidden"
    wb.save(path)
    portfolio = load_portfolio(path)
    assert portfolio.warnings == ("SiteOptions: sheet is hidden but is read as input",)


def test_sheet_and_header_names_case_insensitive_and_blank_rows_skipped(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables[" SITES"] = tables.pop("Sites").rename(columns={"halls": " Halls "})
    path = write_xlsx(tables, tmp_path / "b.xlsx")
    wb = openpyxl.load_workbook(path)
    wb[" SITES"].insert_rows(3)  # an empty row between Alpha and Bravo
    wb[" SITES"]["C4"] = "lots"  # Bravo's grid_mw, now on row 4
    wb.save(path)
    message = errors_of(path)
    assert "1 problem found" in message
    assert " SITES!C4 [grid_mw]: value 'lots'" in message


def test_data_without_a_header_is_a_warning(tmp_path: Path) -> None:
    path = write_xlsx(tiny_tables(), tmp_path / "b.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["Options"]["M2"] = "stray note"
    wb.save(path)
    assert load_portfolio(path).warnings == ("Options!M1: column has data but no header; ignored",)


# ---- bad files ------------------------------------------------------------------------------
def test_missing_file(tmp_path: Path) -> None:
    assert f"{tmp_path / 'nope.xlsx'}: no such file or folder" in errors_of(tmp_path / "nope.xlsx")


def test_random_bytes_named_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "random.xlsx"
    path.write_bytes(os.urandom(4096).replace(b"PK", b"pk"))
    message = errors_of(path)
    assert "random.xlsx is not an .xlsx workbook: an .xlsx file is a zip archive" in message


def test_a_csv_file_instead_of_a_folder(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text("site,grid_mw\nA,1\n")
    assert "(it looks like CSV text: pass the folder of CSV files)" in errors_of(path)


def test_legacy_xls_and_encrypted_xlsx(tmp_path: Path) -> None:
    signature = bytes.fromhex("D0CF11E0A1B11AE1")
    legacy = tmp_path / "old.xlsx"
    legacy.write_bytes(signature + b"\0" * 504 + "Workbook".encode("utf-16-le") + b"\0" * 512)
    message = errors_of(legacy)
    assert "old.xlsx is a legacy Excel .xls (OLE2) file" in message
    assert "save it as Excel Workbook (.xlsx)" in message
    locked = tmp_path / "locked.xlsx"
    locked.write_bytes(signature + b"\0" * 504 + "EncryptionInfo".encode("utf-16-le")
                       + b"\0" * 64 + "EncryptedPackage".encode("utf-16-le") + b"\0" * 512)
    message = errors_of(locked)
    assert "locked.xlsx is a password-protected (encrypted) .xlsx workbook" in message
    assert "remove the password" in message


def test_zip_bomb_is_refused_from_the_directory(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (12 * 2**20))
    message = errors_of(path)
    assert "zip entry xl/worksheets/sheet1.xml expands" in message
    assert "more than 200-fold; refusing to open it" in message


def test_a_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "other.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    message = errors_of(path)
    assert "other.xlsx could not be read as an .xlsx workbook" in message


def test_empty_workbook(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)
    message = errors_of(path)
    assert "4 problems found" in message
    for sheet in ("Settings", "Sites", "Options", "Quarters"):
        assert f"  - {sheet}: required sheet missing." in message
    assert "Sheets found: Sheet" in message


def test_formulas_without_cached_values(tmp_path: Path) -> None:
    path = write_xlsx(tiny_tables(), tmp_path / "f.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["Sites"]["C3"] = "=C2/2"
    wb["Quarters"]["C4"] = "=C2+C3"
    wb.save(path)  # openpyxl writes formulas without a computed value
    message = errors_of(path)
    assert "2 problems found" in message  # no extra "blank cell" cascade
    assert ("Sites!C3 [grid_mw]: value '=C2/2': formula without a saved result: the file was "
            "saved by a tool that does not compute formulas") in message
    assert "Quarters!C4 [budget_musd]: value '=C2+C3'" in message
    assert "open it in Excel or LibreOffice and save it again, or paste values" in message


def test_formula_with_a_cached_value_is_read(tmp_path: Path) -> None:
    path = write_xlsx(tiny_tables(), tmp_path / "f.xlsx")
    # Write the cached value by hand, as Excel would: <c><f>..</f><v>..</v></c>.
    with zipfile.ZipFile(path) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    name = "xl/worksheets/sheet2.xml"  # Sites
    assert b"<c r=\"C3\"" in parts[name]
    xml = parts[name].decode()
    start = xml.index('<c r="C3"')
    end = xml.index("</c>", start) + 4
    parts[name] = (xml[:start] + '<c r="C3"><f>C2/2</f><v>150</v></c>' + xml[end:]).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for n, data in parts.items():
            archive.writestr(n, data)
    assert load_portfolio(path).sites.loc["Bravo", "grid_mw"] == 150.0


def test_merged_cells_in_a_table(tmp_path: Path) -> None:
    path = write_xlsx(tiny_tables(), tmp_path / "m.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["Sites"].merge_cells("B2:B3")
    wb.save(path)
    message = errors_of(path)
    assert "1 problem found" in message  # the blank B3 is not reported again
    assert "Sites!B2:B3 [region]: merged cells inside a table; unmerge them" in message


def test_duplicate_column_and_bad_cells_in_xlsx(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["Options"]["PUE "] = [1.2, 1.4]
    tables["Options"].loc[0, "lead_quarters"] = "four"
    path = write_xlsx(tables, tmp_path / "d.xlsx")
    message = errors_of(path)
    assert "Options!K1 [pue]: column named twice (also Options!D1); keep one" in message
    assert "Options!C2 [lead_quarters]: value 'four': expected a whole number >= 1" in message
    assert message.startswith(f"{path}: 2 problems found in the input:")


def test_excel_error_values_are_reported(tmp_path: Path) -> None:
    path = write_xlsx(tiny_tables(), tmp_path / "e.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["Quarters"]["B5"] = "#DIV/0!"
    wb.save(path)
    assert "Quarters!B5 [hashprice_usd_per_ph_day]: value '#DIV/0!': expected a number" \
        in errors_of(path)


def test_total_uncompressed_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from optimizer.inputs import workbook

    path = write_xlsx(tiny_tables(), tmp_path / "big.xlsx")
    monkeypatch.setattr(workbook, "MAX_TOTAL_UNCOMPRESSED", 2**20 // 100)
    message = errors_of(path)
    assert "big.xlsx: its zip archive would expand to" in message
    assert "refusing to open it (a damaged file or a zip bomb)" in message


def test_csv_separated_by_semicolons_or_tabs(tmp_path: Path, book: Path) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    for i, (name, frame) in enumerate(tables_with_commitments().items()):
        frame.to_csv(folder / f"{name}.csv", index=False, sep=";\t"[i % 2])
    assert_same_portfolio(load_portfolio(folder), load_portfolio(book))


def test_a_row_of_formulas_at_the_bottom_is_reported_not_dropped(tmp_path: Path) -> None:
    path = write_xlsx(tiny_tables(), tmp_path / "f.xlsx")
    wb = openpyxl.load_workbook(path)
    quarters = wb["Quarters"]
    quarters["A10"], quarters["B10"] = '=A9&""', "=B9"
    wb.save(path)
    message = errors_of(path)
    assert "Quarters!A10 [quarter]: value '=A9&\"\"': formula without a saved result" in message
    assert "Quarters!B10 [hashprice_usd_per_ph_day]: value '=B9'" in message
    assert "2 problems found" in message
