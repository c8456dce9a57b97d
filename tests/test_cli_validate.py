"""`sitepivot validate`: a summary and exit 0, or every problem, exit 2 and no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from support import tiny_tables, write_xlsx

from optimizer.cli import main


def run_validate(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


def test_valid_workbook_prints_a_summary(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["Sites"].loc[1, "mining_mw"] = 180.0  # above grid_mw: a warning
    path = write_xlsx(tables, tmp_path / "ok.xlsx")
    code, output = run_validate(path)
    assert code == 0
    assert "warning: Sites!D3 [mining_mw]: value 180.0: above grid_mw (150)" in output
    assert "sites: 2 (450 MW grid, 380 MW mining)" in output
    assert "horizon: 2027Q1..2028Q4 (8 quarters)" in output
    assert "warnings: 1" in output


def _random(tmp: Path) -> Path:
    path = tmp / "random.xlsx"
    path.write_bytes(os.urandom(3000).replace(b"PK", b"pk"))
    return path


def _empty(tmp: Path) -> Path:
    path = tmp / "empty.xlsx"
    openpyxl.Workbook().save(path)
    return path


def _formulas(tmp: Path) -> Path:
    path = write_xlsx(tiny_tables(), tmp / "formulas.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["Options"]["B2"] = "=B3*2"
    wb.save(path)
    return path


def _csv_missing(tmp: Path) -> Path:
    folder = tmp / "csv"
    folder.mkdir()
    for name, frame in tiny_tables().items():
        if name != "Options":
            frame.to_csv(folder / f"{name.lower()}.csv", index=False)
    return folder


def _ole2(tmp: Path) -> Path:
    path = tmp / "old.xls"
    path.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 1024)
    return path


def _bad_cells(tmp: Path) -> Path:
    tables = tiny_tables()
    tables["Sites"].loc[0, "grid_mw"] = "n/a"
    tables["Options"].loc[1, "pue"] = 0.5
    return write_xlsx(tables, tmp / "bad.xlsx")


@pytest.mark.parametrize(("make", "expected"), [
    (_random, "random.xlsx is not an .xlsx workbook"),
    (_empty, "Settings: required sheet missing."),
    (_formulas, "Options!B2 [capex_musd_per_it_mw]: value '=B3*2': formula without a saved "
                "result"),
    (_csv_missing, "options.csv: required file missing from the folder"),
    (_ole2, "old.xls is a legacy Excel .xls (OLE2) file"),
    (_bad_cells, "Sites!C2 [grid_mw]: value 'n/a': expected a number >= 0"),
])
def test_bad_input_exits_2_with_a_clear_message(make, expected: str, tmp_path: Path) -> None:
    code, output = run_validate(make(tmp_path))
    assert code == 2
    assert output.startswith("error: ")
    assert expected in output


def test_several_problems_in_one_message(tmp_path: Path) -> None:
    code, output = run_validate(_bad_cells(tmp_path))
    assert code == 2
    assert "2 problems found in the input:" in output
    assert "Options!D3 [pue]: value 0.5: expected a number >= 1 and <= 3" in output


def test_subprocess_has_no_traceback_and_exit_2(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "from optimizer.cli import main; main()", "validate"]
    result = subprocess.run([*command, str(_random(tmp_path))], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "is not an .xlsx workbook" in result.stderr
