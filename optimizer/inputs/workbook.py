"""Reading the input: an .xlsx workbook or a folder of CSV files -> `validation` -> `Portfolio`.

The reader's job is to get every cell's raw value and its location (sheet, Excel row, column
letter; for CSV ``file.csv row N``), and to turn every way a file can be unreadable into an
`InputError` that says what to do, never a traceback:

- before openpyxl opens an .xlsx: the file is missing; it is not a zip (not an .xlsx); it is
  an OLE2 compound file (a password-protected .xlsx or a legacy .xls); its zip directory
  claims an absurd uncompressed size or compression ratio (a zip bomb) - checked from the
  directory without extracting anything;
- openpyxl's own errors (a corrupt or unsupported file);
- formula cells without a saved result (the file was written by a tool that does not compute
  formulas), merged cells inside a table: each reported by cell or range;
- hidden sheets that are read give a warning.

A CSV folder holds one UTF-8 file per sheet, ``sites.csv`` and so on (names case-insensitive),
separated by commas (or semicolons or tabs: see `_delimiter`), header in row 1.
Sheets are read by name (case-insensitive, trimmed); two sheets (or files) matching one table
are an error naming both; other sheets (README, Sources...) are ignored. The SHA-256 of the
input (for a folder: of its CSV files' names and bytes, in sorted order) is kept on the
Portfolio with the source path.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import time
import warnings as py_warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from models.errors import InputError, InputProblem
from models.portfolio import Portfolio
from optimizer.inputs import schema
from optimizer.inputs.cells import SheetData, Unreadable, column_letter, is_blank
from optimizer.inputs.validation import validate_sheets

OLE2_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
# Limits on what the zip directory may claim before anything is decompressed.
MAX_TOTAL_UNCOMPRESSED = 500 * 1024 * 1024
MAX_RATIO = 200
RATIO_CHECK_FROM = 10 * 1024 * 1024  # small entries compress well legitimately
MAX_ENTRIES = 10_000
MAX_FORMULA_CELLS_LISTED = 30

_NO_CACHED_VALUE = ("formula without a saved result: the file was saved by a tool that does not "
                    "compute formulas (e.g. openpyxl or pandas); open it in Excel or "
                    "LibreOffice and save it again, or paste values instead of formulas")
_TABLE_NAMES = {t.sheet.lower() for t in schema.TABLES}
_TABLE_TITLES = {t.sheet.lower(): t.sheet for t in schema.TABLES}
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_portfolio(path: str | Path) -> Portfolio:
    """Read and validate an .xlsx workbook or a folder of CSV files (one per sheet, file stem
    = sheet name, case-insensitive). Raises `InputError` listing every problem found."""
    started = time.perf_counter()
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise InputError([f"{path}: no such file or folder"], source=source)
    read = _read_csv_folder(path) if path.is_dir() else _read_xlsx(path)
    portfolio = validate_sheets(read.sheets, source=source, sha256=read.sha256,
                                problems=read.problems, warnings=read.warnings,
                                csv_folder=path.is_dir(), sheet_names=read.names)
    return portfolio.replace(read_seconds=time.perf_counter() - started)


@dataclass
class _Read:
    """What a reader found: the table sheets with locations, and the file's own problems."""

    sheets: dict[str, SheetData]
    sha256: str
    names: list[str]  # every sheet (or file) present, for "sheet missing" messages
    problems: list[InputProblem | str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# ---- .xlsx -------------------------------------------------------------------------------------
def _check_container(path: Path) -> None:
    """Refuse files openpyxl should not be given: not a zip, OLE2, or a zip bomb."""
    with path.open("rb") as handle:
        head = handle.read(8)
    if head == OLE2_SIGNATURE:
        data = path.read_bytes()
        if "EncryptedPackage".encode("utf-16-le") in data:
            what = ("is a password-protected (encrypted) .xlsx workbook, which cannot be "
                    "read; open it in Excel, remove the password (File > Info > Protect "
                    "Workbook > Encrypt with Password, clear it) and save it as .xlsx")
        else:
            what = ("is a legacy Excel .xls (OLE2) file, not an .xlsx workbook; open it in "
                    "Excel or LibreOffice and save it as Excel Workbook (.xlsx), unencrypted")
        raise InputError([f"{path.name} {what}"], source=str(path))
    if not zipfile.is_zipfile(path):
        hint = " (it looks like CSV text: pass the folder of CSV files)" if path.suffix.lower(
        ) == ".csv" else ""
        raise InputError([f"{path.name} is not an .xlsx workbook: an .xlsx file is a zip "
                          f"archive and this one is not{hint}; save the workbook from Excel "
                          "or LibreOffice as Excel Workbook (.xlsx)"], source=str(path))
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError) as err:
        raise InputError([f"{path.name} is not a readable .xlsx workbook ({err})"],
                         source=str(path)) from None
    problems = []
    if len(entries) > MAX_ENTRIES:
        problems.append(f"{path.name}: its zip archive holds {len(entries)} entries, more than "
                        f"{MAX_ENTRIES}; refusing to open it")
    total = sum(e.file_size for e in entries)
    if total > MAX_TOTAL_UNCOMPRESSED:
        problems.append(f"{path.name}: its zip archive would expand to {total / 2**20:,.0f} MB, "
                        f"more than {MAX_TOTAL_UNCOMPRESSED / 2**20:,.0f} MB; refusing to open "
                        "it (a damaged file or a zip bomb)")
    for entry in entries:
        if entry.file_size > RATIO_CHECK_FROM and (
                entry.file_size > MAX_RATIO * max(entry.compress_size, 1)):
            problems.append(f"{path.name}: zip entry {entry.filename} expands "
                            f"{entry.file_size / max(entry.compress_size, 1):,.0f}-fold, more "
                            f"than {MAX_RATIO}-fold; refusing to open it (a zip bomb?)")
    if problems:
        raise InputError(problems, source=str(path))


def _has_formulas(path: Path) -> bool:
    """Whether any worksheet XML holds a formula element (cheap: no openpyxl parse)."""
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with archive.open(name) as handle:
                    if _FORMULA_TAG.search(handle.read()):
                        return True
    return False


def _open_book(path: Path, data_only: bool) -> Any:
    import openpyxl

    try:
        with py_warnings.catch_warnings():
            # openpyxl warns about Excel features it drops (extensions, default styles);
            # they do not affect the values read and would only confuse a user.
            py_warnings.simplefilter("ignore")
            return openpyxl.load_workbook(path, data_only=data_only)
    except Exception as err:  # any parse failure of a damaged or foreign file
        raise InputError([f"{path.name} could not be read as an .xlsx workbook "
                          f"({type(err).__name__}: {err}); open it in Excel or LibreOffice "
                          "and save it as Excel Workbook (.xlsx)"], source=str(path)) from None


def _read_xlsx(path: Path) -> _Read:
    _check_container(path)
    sha256 = _sha256_file(path)
    book = _open_book(path, data_only=True)
    formulas = _open_book(path, data_only=False) if _has_formulas(path) else None
    problems: list[InputProblem | str] = []
    warnings: list[str] = []
    sheets: dict[str, SheetData] = {}
    formula_problems: list[InputProblem] = []
    seen: dict[str, str] = {}  # table name -> the sheet read for it
    for ws in book.worksheets:
        table = ws.title.strip().lower()
        if table not in _TABLE_NAMES:
            continue
        if table in seen:  # names are matched ignoring case and surrounding spaces
            problems.append(f"sheets {seen[table]!r} and {ws.title!r} both match the table "
                            f"{_TABLE_TITLES[table]} (sheet names are read ignoring case and "
                            "surrounding spaces); rename or delete one")
            continue
        seen[table] = ws.title
        if ws.sheet_state != "visible":
            warnings.append(f"{ws.title}: sheet is {ws.sheet_state} but is read as input")
        values = [list(row) for row in ws.iter_rows(values_only=True)]
        header = values[0] if values else []
        body = values[1:]
        width = max((len(r) for r in values), default=0)
        header = list(header) + [None] * (width - len(header))
        keep = [j for j, name in enumerate(header) if not is_blank(name)]
        for j in range(width):
            if j not in keep and any(j < len(r) and not is_blank(r[j]) for r in body):
                warnings.append(f"{ws.title}!{column_letter(j + 1)}1: column has data but no "
                                "header; ignored")
        grid = [[(r[j] if j < len(r) else None) for j in keep] for r in body]
        last_col = max(keep) + 1 if keep else 0
        # Merged ranges overlapping the table: the value sits in the top-left cell only.
        for merged in ws.merged_cells.ranges:
            if merged.min_col > last_col:
                continue
            problems.append(InputProblem(ws.title, merged.coord, _name(header[merged.min_col - 1]),
                                    None, "merged cells inside a table; unmerge them and "
                                    "fill every cell"))
            for r in range(max(merged.min_row, 2), merged.max_row + 1):
                for c in range(merged.min_col, merged.max_col + 1):
                    if c - 1 in keep and r - 2 < len(grid):
                        grid[r - 2][keep.index(c - 1)] = Unreadable("merged")
        if formulas is not None:
            fws = formulas[ws.title]
            for row in fws.iter_rows(min_row=2):
                for cell in row:
                    if cell.data_type != "f" or cell.column - 1 not in keep:
                        continue
                    i, k = cell.row - 2, keep.index(cell.column - 1)
                    if i < len(grid) and grid[i][k] is None:
                        grid[i][k] = Unreadable("formula without a saved result")
                        formula_problems.append(InputProblem(
                            ws.title, cell.coordinate, _name(header[cell.column - 1]),
                            _formula_text(cell.value), _NO_CACHED_VALUE))
        while grid and all(is_blank(v) for v in grid[-1]):
            grid.pop()  # formatted but empty rows at the bottom (marked cells are not blank)
        frame = pd.DataFrame(grid, columns=[header[j] for j in keep], dtype=object)
        sheets[ws.title] = SheetData(ws.title, frame, rows=list(range(2, len(grid) + 2)),
                                     letters=[column_letter(j + 1) for j in keep])
    problems += formula_problems[:MAX_FORMULA_CELLS_LISTED]
    if len(formula_problems) > MAX_FORMULA_CELLS_LISTED:
        problems.append(f"and {len(formula_problems) - MAX_FORMULA_CELLS_LISTED} more formula "
                        "cells without a saved result")
    return _Read(sheets, sha256, list(book.sheetnames), problems, warnings)


def _name(header: object) -> str:
    """A header cell as a column name in messages (trimmed, lower case, "" if blank)."""
    return "" if is_blank(header) else str(header).strip().lower()


def _formula_text(value: object) -> str:
    text = getattr(value, "text", value)  # ArrayFormula keeps its formula in .text
    return str(text)


# ---- folder of CSV files -------------------------------------------------------------------------
def _read_csv_folder(folder: Path) -> _Read:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
    digest = hashlib.sha256()
    problems: list[InputProblem | str] = []
    sheets: dict[str, SheetData] = {}
    seen: dict[str, Path] = {}
    for file in files:
        data = file.read_bytes()
        name = file.name.encode("utf-8")
        # Length-prefixed so that (name, bytes) pairs cannot run into each other.
        digest.update(len(name).to_bytes(8, "big") + name + len(data).to_bytes(8, "big") + data)
        stem = file.stem.strip().lower()
        if stem not in _TABLE_NAMES:
            continue
        if stem in seen:
            problems.append(f"{file.name} and {seen[stem].name} both hold sheet "
                            f"{stem}; keep one")
            continue
        seen[stem] = file
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            problems.append(f"{file.name}: not UTF-8 text ({err.reason} at byte {err.start}); "
                            "save it as CSV UTF-8")
            continue
        try:
            records = list(csv.reader(io.StringIO(text, newline=""),
                                      delimiter=_delimiter(text)))
        except csv.Error as err:
            problems.append(f"{file.name}: not a readable CSV file ({err})")
            continue
        header = records[0] if records else []
        body = records[1:]
        width = max((len(r) for r in records), default=0)
        header = header + [""] * (width - len(header))
        keep = [j for j, h in enumerate(header) if h.strip()]
        grid = [[(r[j] if j < len(r) and r[j].strip() else None) for j in keep] for r in body]
        while grid and all(is_blank(v) for v in grid[-1]):
            grid.pop()  # formatted but empty rows at the bottom (marked cells are not blank)
        frame = pd.DataFrame(grid, columns=[header[j] for j in keep], dtype=object)
        sheets[file.stem] = SheetData(file.stem, frame, rows=list(range(2, len(grid) + 2)),
                                      csv_file=file.name)
    return _Read(sheets, digest.hexdigest(), [p.name for p in files], problems)


def _delimiter(text: str) -> str:
    """The field separator, judged from the header line: a comma, unless the header has no
    comma but semicolons (Excel's "CSV" in locales with a decimal comma) or tabs."""
    header = text.split("\n", 1)[0]
    if "," in header:
        return ","
    for candidate in (";", "\t"):
        if candidate in header:
            return candidate
    return ","
