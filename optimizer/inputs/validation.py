"""Validation: raw tables (as read from a workbook or CSV folder) -> a typed `Portfolio`.

Everything is driven by `optimizer.inputs.schema`: each column's kind, bounds, default and wording.
Reading one cell is `optimizer.inputs.cells`; the summary `sitepivot validate` prints is
`optimizer.inputs.describe`.
One pass collects every problem (with sheet, cell, column, value and what was expected) and
raises a single `InputError`; a bad cell never stops the checks of other cells, and a check that
depends on a bad value is skipped rather than reported again (no cascades from one root cause).

Rules, in the order they are checked:
- sheets: Settings, Sites, Options and Quarters are required; SiteOptions, Commitments and
  Scenarios are optional (absent -> empty; present but empty -> a warning). Sheet and column
  names are case-insensitive and trimmed. A column named twice is an error; an unknown column
  is a warning (annotation columns such as ``notes`` or ``source`` are ignored silently).
  Fully empty rows are skipped.
- cells: coerced by `InputColumn.kind` (numbers, integers and booleans through pydantic's lax
  rules, quarters through `models.quarters.parse_quarter`, choices case-insensitive) and
  checked against the column's bounds; blank required cells are errors, blank optional cells
  take the schema default.
- Settings: known keys only (nearest key suggested), each at most once; terminal_value
  ``multiple`` needs terminal_multiple, ``gordon`` needs terminal_growth < discount_rate;
  debt_ltc > 0 needs debt_rate and debt_tenor_years (a whole number of quarters).
- Sites / Options: unique names; an upgrade's columns (`Table.groups`) all or none; mining_mw
  above grid_mw and earliest_start after the horizon are warnings. Options: lease_term_years
  and equipment_life_years whole quarters; equipment_life_years required with
  equipment_capex_musd_per_it_mw > 0; terminal_value ``contracted`` needs lease_term_years on
  every option.
- SiteOptions: known site and option, one row per pair; missing pairs are allowed at x1.
- Quarters: every quarter of the horizon exactly once, any row order; none outside it.
- Commitments: see `optimizer.inputs.commitments.CommitmentChecks`.
- Scenarios: known site/option; exactly one of value / multiplier per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from models.errors import InputError, InputProblem, shown_value
from models.portfolio import Portfolio, Settings
from models.quarters import (
    add_quarters,
    date_of,
    quarter_ordinal,
    quarter_range,
)
from optimizer.inputs import schema
from optimizer.inputs.cells import (
    ANNOTATION_COLUMNS,
    BAD,
    SheetData,
    SheetRecords,
    Unreadable,
    coerce_cell,
    is_blank,
    norm_name,
    reading_note,
    resembling,
    suggest,
)
from optimizer.inputs.cells import column_letter as column_letter  # re-exported
from optimizer.inputs.commitments import CommitmentChecks
from optimizer.inputs.describe import describe_portfolio as describe_portfolio  # re-exported
from optimizer.inputs.schema import InputColumn, Table


class _Validator:
    def __init__(self, sheets: Mapping[str, SheetData], csv_folder: bool = False,
                 sheet_names: Sequence[str] = ()) -> None:
        self.csv_folder = csv_folder
        self.sheet_names = list(sheet_names) or [str(k) for k in sheets]
        self.problems: list[InputProblem] = []
        self.warnings: list[str] = []
        self.settings_cells: dict[str, tuple[int, int]] = {}  # key -> (row, value column)
        self.sheets: dict[str, SheetData] = {}
        for key, data in sheets.items():
            norm = norm_name(key)
            if norm in self.sheets:
                self.problems.append(InputProblem(data.label, "", "", None,
                                             f"sheet named twice (also "
                                             f"{self.sheets[norm].label!r})"))
                continue
            self.sheets[norm] = data

    def _missing_sheet(self, sheet: str, meaning: str) -> None:
        found = ", ".join(self.sheet_names) or "none"
        if self.csv_folder:
            self.problems.append(InputProblem(
                f"{sheet.lower()}.csv", "", "", None,
                f"required file missing from the folder (one CSV file per sheet, named after "
                f"the sheet). {meaning} Files found: {found}"))
        else:
            self.problems.append(InputProblem(
                sheet, "", "", None, f"required sheet missing. {meaning} Sheets found: {found}"))

    # ---- generic table reading -----------------------------------------------------------
    def _header(self, data: SheetData, wanted: Sequence[str]) -> dict[str, int]:
        """Normalised column name -> frame position; duplicates reported, unknowns warned."""
        positions: dict[str, int] = {}
        for pos, raw in enumerate(data.frame.columns):
            name = norm_name(raw)
            if not name:
                continue
            if name in positions:
                first = data.cell_name(data.header_row, positions[name])
                self.problems.append(data.problem(
                    data.header_row, pos, name, None,
                    f"column named twice (also {first}); keep one"))
                continue
            positions[name] = pos
            if name not in wanted and name not in ANNOTATION_COLUMNS:
                self.warnings.append(str(data.problem(
                    data.header_row, pos, name, None,
                    "unknown column, ignored" + suggest(name, wanted))))
        return positions

    def _present_rows(self, data: SheetData) -> list[int]:
        """Frame positions of rows with at least one non-blank cell."""
        return [i for i, values in enumerate(data.cells)
                if not all(is_blank(v) for v in values)]

    def _cell(self, rows: SheetRecords, i: int, raw: object, col: InputColumn) -> Any:
        """Typed value of one cell, its default when blank, or BAD (reported)."""
        if isinstance(raw, Unreadable):
            return BAD
        if is_blank(raw):
            if col.required:
                self.problems.append(rows.problem(
                    i, col.name, None, f"blank; expected {col.expectation()}"))
                return BAD
            return col.default
        value, error = coerce_cell(raw, col)
        if error is not None:
            self.problems.append(rows.problem(i, col.name, raw, error))
            return BAD
        if col.kind == "quarter" and date_of(raw) is not None:
            rows.dates.setdefault(col.name, []).append((i, raw, str(value)))
            return value  # one warning per column (`_date_warnings`), not one per cell
        unusual = reading_note(raw, value, col)
        if unusual:
            self.warnings.append(str(rows.problem(i, col.name, raw, unusual)))
        return value

    def _date_warnings(self, rows: SheetRecords) -> None:
        """One warning per column of dates read as quarters: the cell itself when it is one,
        else how many, the first and the last (a Quarters sheet of dates is 40 cells)."""
        for column, found in rows.dates.items():
            i, raw, label = found[0]
            if len(found) == 1:
                note = reading_note(raw, label, rows.table.column(column))
                self.warnings.append(str(rows.problem(i, column, raw, str(note))))
                continue
            j, last_raw, last = found[-1]
            assert rows.sheet is not None
            self.warnings.append(
                f"{rows.sheet.label} [{column}]: {len(found)} dates read as the calendar "
                f"quarters they fall in, {rows.cell_name(i, column)} {shown_value(raw)} as "
                f"{label} .. {rows.cell_name(j, column)} {shown_value(last_raw)} as {last}; "
                "write the quarter labels to say so")

    def _table(self, table: Table) -> SheetRecords | None:
        """Read and coerce one sheet; None if a required sheet is missing."""
        data = self.sheets.get(table.sheet.lower())
        if data is None:
            if table.required:
                self._missing_sheet(table.sheet, table.meaning)
                return None
            return SheetRecords(None, table)
        positions = self._header(data, table.names)
        rows = SheetRecords(data, table, positions=positions)
        missing = [c.name for c in table.columns if c.required and c.name not in positions]
        unknown = {name: pos for name, pos in positions.items()
                   if name not in table.names and name not in ANNOTATION_COLUMNS}
        for name in missing:
            near = resembling(name, unknown)
            self.problems.append(data.problem(
                None, None, name, None,
                f"required column missing from the header row (row {data.header_row})"
                + (f"; the unknown column {near!r} "
                   f"({data.cell_name(data.header_row, unknown[near])}) may be it: rename it "
                   f"{name}" if near is not None else "")))
        present = self._present_rows(data)
        if not present:
            if table.required:
                self.problems.append(data.problem(None, None, "", None,
                                                  "the sheet has no rows; "
                                                  f"expected {table.meaning[0].lower()}"
                                                  f"{table.meaning[1:]}"))
            else:
                self.warnings.append(f"{data.label}: optional sheet is empty")
            return rows
        assert data.rows is not None
        for i in present:
            rows.rows.append(data.rows[i])
            rows.records.append({})
        for k, i in enumerate(present):
            values = data.cells[i]
            for col in table.columns:
                if col.name in missing:
                    rows.records[k][col.name] = BAD
                elif col.name not in positions:
                    rows.records[k][col.name] = col.default
                else:
                    raw = values[positions[col.name]]
                    rows.records[k][col.name] = self._cell(rows, k, raw, col)
        self._date_warnings(rows)
        return rows

    def _unique(self, rows: SheetRecords, key: Sequence[str]) -> None:
        """Report a key (tuple of columns) given on more than one row."""
        seen: dict[tuple[Any, ...], int] = {}
        for i, rec in enumerate(rows.records):
            if not all(rows.ok(i, k) for k in key):
                continue
            value = tuple(str(rec[k]).lower() for k in key)
            if value in seen:
                what = " and ".join(key)
                self.problems.append(rows.problem(
                    i, key[-1], rec[key[-1]],
                    f"duplicate {what}: already on row {rows.rows[seen[value]]}"))
            else:
                seen[value] = i

    # ---- Settings -----------------------------------------------------------------------
    def _settings(self) -> dict[str, Any] | None:
        """Settings values by key (defaults applied, BAD where reported); None if unusable."""
        data = self.sheets.get("settings")
        if data is None:
            self._missing_sheet("Settings", schema.SETTINGS.meaning)
            return None
        positions = self._header(data, ("key", "value"))
        missing = [c for c in ("key", "value") if c not in positions]
        for name in missing:
            self.problems.append(data.problem(
                None, None, name, None,
                f"required column missing from the header row (row {data.header_row}); "
                "Settings has columns key and value"))
        if missing:
            return None
        assert data.rows is not None
        known = {c.name: c for c in schema.SETTINGS.columns}
        values: dict[str, Any] = {}
        unknown_keys: dict[str, int] = {}  # key -> its row
        kpos, vpos = positions["key"], positions["value"]
        for i in self._present_rows(data):
            row = data.rows[i]
            raw_key, raw = data.cells[i][kpos], data.cells[i][vpos]
            key = norm_name(raw_key)
            if not key:
                self.problems.append(data.problem(row, kpos, "key", None,
                                                  "blank key next to a value; expected a "
                                                  "setting name"))
                continue
            if key not in known:
                unknown_keys[key] = row
                self.problems.append(data.problem(
                    row, kpos, "key", raw_key, "unknown setting" + suggest(key, known)))
                continue
            if key in values:
                first = data.cell_name(self.settings_cells[key][0], kpos)
                self.problems.append(data.problem(row, kpos, "key", raw_key,
                                                  f"setting given twice (also {first})"))
                continue
            self.settings_cells[key] = (row, vpos)
            col = known[key]
            if isinstance(raw, Unreadable):
                values[key] = BAD
            elif is_blank(raw):
                if col.required:
                    self.problems.append(data.problem(row, vpos, key, None,
                                                      f"blank; expected {col.expectation()}"))
                    values[key] = BAD
                else:
                    values[key] = col.default
            else:
                value, error = coerce_cell(raw, col)
                if error is not None:
                    self.problems.append(data.problem(row, vpos, key, raw, error))
                    value = BAD
                elif unusual := reading_note(raw, value, col):
                    self.warnings.append(str(data.problem(row, vpos, key, raw, unusual)))
                values[key] = value
        for col in schema.SETTINGS.columns:
            if col.name in values:
                continue
            if col.required:
                near = resembling(col.name, unknown_keys)
                self.problems.append(data.problem(
                    None, None, col.name, None,
                    f"required setting missing: add a row with key {col.name} "
                    f"and a value ({col.expectation()})"
                    + (f"; the unknown key {near!r} ({data.cell_name(unknown_keys[near], kpos)})"
                       f" may be it" if near is not None else "")))
                values[col.name] = BAD
            else:
                values[col.name] = col.default
        self._settings_rules(data, values)
        return values

    def _settings_problem(self, data: SheetData, key: str, value: object,
                          expected: str) -> None:
        row, pos = self.settings_cells.get(key, (None, None))
        self.problems.append(data.problem(row, pos, key, value, expected))

    def _settings_rules(self, data: SheetData, values: dict[str, Any]) -> None:
        terminal = values["terminal_value"]
        if terminal == "multiple" and values["terminal_multiple"] is None:
            self._settings_problem(data, "terminal_multiple", None,
                                   "required when terminal_value is multiple")
        if terminal == "gordon":
            growth, rate = values["terminal_growth"], values["discount_rate"]
            if growth is None:
                self._settings_problem(data, "terminal_growth", None,
                                       "required when terminal_value is gordon")
            elif growth is not BAD and rate is not BAD and growth >= rate:
                self._settings_problem(data, "terminal_growth", growth,
                                       f"must be below discount_rate ({rate:g}) for the "
                                       "Gordon growth terminal value")
        ltc = values["debt_ltc"]
        if ltc is not BAD and ltc is not None and ltc > 0:
            for key in ("debt_rate", "debt_tenor_years"):
                if values[key] is None:
                    self._settings_problem(data, key, None,
                                           f"required when debt_ltc is above 0 (it is {ltc:g})")
        tenor = values["debt_tenor_years"]
        if tenor not in (BAD, None) and not _whole_quarters(tenor):
            self._settings_problem(data, "debt_tenor_years", tenor,
                                   "a whole number of quarters (a multiple of 0.25 years)")

    def _options(self, rows: SheetRecords, settings: dict[str, Any] | None) -> None:
        """Deal columns of Options: whole-quarter terms and lives, equipment life with
        equipment capex, and lease terms on every option for a contracted terminal value."""
        contracted = settings is not None and settings["terminal_value"] == "contracted"
        for i, rec in enumerate(rows.records):
            for column in ("lease_term_years", "equipment_life_years"):
                if rows.ok(i, column) and not _whole_quarters(rec[column]):
                    self.problems.append(rows.problem(
                        i, column, rec[column],
                        "a whole number of quarters (a multiple of 0.25 years)"))
            equipment = rec["equipment_capex_musd_per_it_mw"]
            if (rows.ok(i, "equipment_capex_musd_per_it_mw") and equipment > 0
                    and rec["equipment_life_years"] is None):
                self.problems.append(rows.problem(
                    i, "equipment_life_years", None,
                    f"blank, but equipment_capex_musd_per_it_mw is {equipment:g}: required "
                    "with equipment capex (its depreciation life and replacement interval)"))
            if contracted and rec["lease_term_years"] is None:
                self.problems.append(rows.problem(
                    i, "lease_term_years", None,
                    "blank, but terminal_value is contracted: every option needs a lease term "
                    "(only what is signed counts beyond the horizon)"))

    # ---- the whole portfolio ------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        settings = self._settings()
        start: str | None = None
        horizon: int | None = None
        if settings is not None:
            if settings["start_quarter"] not in (BAD, None):
                start = settings["start_quarter"]
            if settings["horizon_quarters"] not in (BAD, None):
                horizon = settings["horizon_quarters"]
        self.start, self.horizon = start, horizon
        self.last = (add_quarters(start, horizon - 1)
                     if start is not None and horizon is not None else None)
        sites = self._table(schema.SITES)
        options = self._table(schema.OPTIONS)
        site_options = self._table(schema.SITE_OPTIONS)
        quarters = self._table(schema.QUARTERS)
        commitments = self._table(schema.COMMITMENTS)
        scenarios = self._table(schema.SCENARIOS)
        for rows in (sites, options, site_options, quarters):
            if rows is not None:
                self._unique(rows, rows.table.key)
        if sites is not None:
            self._sites(sites)
        if options is not None:
            self._options(options, settings)
        site_names = self._names(sites, "site")
        option_names = self._names(options, "option")
        if site_options is not None:
            self._references(site_options, site_names, option_names)
        if scenarios is not None:
            self._references(scenarios, site_names, option_names)
            self._scenarios(scenarios)
        if quarters is not None:
            self._quarters(quarters)
        if commitments is not None:
            self._references(commitments, site_names, option_names)
            checks = CommitmentChecks(self.start, self.last, self.problems, self.warnings)
            checks.run(commitments, sites, options, site_options)
            checks.signed_leases(commitments, options)
        return {"settings": settings, "sites": sites, "options": options,
                "site_options": site_options, "quarters": quarters,
                "commitments": commitments, "scenarios": scenarios}

    @staticmethod
    def _names(rows: SheetRecords | None, column: str) -> dict[str, str] | None:
        """Lower-case name -> name as written; None if the sheet or a name is unusable."""
        if rows is None or any(r[column] is BAD for r in rows.records):
            return None  # a name is unreadable: references to it cannot be judged
        return {str(r[column]).lower(): r[column] for i, r in enumerate(rows.records)
                if rows.ok(i, column)}

    def _references(self, rows: SheetRecords, sites: dict[str, str] | None,
                    options: dict[str, str] | None) -> None:
        """Site / option cells must name a row of Sites / Options; stored as written there."""
        for column, names, sheet in (("site", sites, "Sites"), ("option", options, "Options")):
            if names is None:
                continue
            for i, rec in enumerate(rows.records):
                if not rows.ok(i, column):
                    continue
                value = rec[column]
                if value.lower() in names:
                    rec[column] = names[value.lower()]
                else:
                    self.problems.append(rows.problem(
                        i, column, value,
                        f"not {'an' if column == 'option' else 'a'} {column} of the {sheet} "
                        "sheet" + suggest(value, names.values())))
                    rec[column] = BAD

    def _sites(self, rows: SheetRecords) -> None:
        for i, rec in enumerate(rows.records):
            for group in schema.SITES.groups:
                given = [c for c in group if rows.ok(i, c) or rec[c] is BAD]
                if given and len(given) < len(group):
                    for c in group:
                        if c not in given:
                            self.problems.append(rows.problem(
                                i, c, None,
                                f"blank, but {given[0]} is given: an upgrade's columns "
                                f"({', '.join(group)}) are given all together or not at all"))
            if rows.ok(i, "mining_mw") and rows.ok(i, "grid_mw") and (
                    rec["mining_mw"] > rec["grid_mw"]):
                self.warnings.append(str(rows.problem(
                    i, "mining_mw", rec["mining_mw"],
                    f"above grid_mw ({rec['grid_mw']:g}): the site mines at most grid_mw")))
            if rec["earliest_start"] is None and self.start is not None:
                rec["earliest_start"] = self.start
            if (rows.ok(i, "earliest_start") and self.last is not None
                    and quarter_ordinal(rec["earliest_start"]) > quarter_ordinal(self.last)):
                self.warnings.append(str(rows.problem(
                    i, "earliest_start", rec["earliest_start"],
                    f"after the last quarter ({self.last}): the site can never convert")))

    def _quarters(self, rows: SheetRecords) -> None:
        if self.start is None or self.horizon is None:
            return
        horizon = quarter_range(self.start, self.horizon)
        wanted = set(horizon)
        seen: set[str] = set()
        for i, rec in enumerate(rows.records):
            if not rows.ok(i, "quarter"):
                continue
            label = rec["quarter"]
            seen.add(label)
            if label not in wanted:
                self.problems.append(rows.problem(
                    i, "quarter", label,
                    f"outside the horizon {horizon[0]}..{horizon[-1]} (start_quarter "
                    f"{self.start}, horizon_quarters {self.horizon}); remove the row"))
        if any(rec["quarter"] is BAD for rec in rows.records):
            return  # a bad label may be the missing quarter: do not guess
        missing = [q for q in horizon if q not in seen]
        if missing:
            shown = ", ".join(missing[:12]) + (f" and {len(missing) - 12} more"
                                               if len(missing) > 12 else "")
            self.problems.append(InputProblem(
                rows.sheet.label if rows.sheet else "Quarters", "", "quarter", None,
                f"no row for {shown}: every quarter of the horizon "
                f"{horizon[0]}..{horizon[-1]} needs exactly one row"))

    def _scenarios(self, rows: SheetRecords) -> None:
        for i, rec in enumerate(rows.records):
            value_given = rows.ok(i, "value") or rec["value"] is BAD
            mult_given = rows.ok(i, "multiplier") or rec["multiplier"] is BAD
            if value_given == mult_given:
                self.problems.append(rows.problem(
                    i, "value", rec["value"] if value_given else None,
                    "give exactly one of value and multiplier"
                    + (" (both given)" if value_given else " (both blank)")))


def _whole_quarters(years: float) -> bool:
    """True if `years` is a whole number of quarters (4 * years an integer, to 1e-9)."""
    return abs(4.0 * years - round(4.0 * years)) <= 1e-9


# ---- building the frames --------------------------------------------------------------------
def _series(values: list[Any], col: InputColumn, index: pd.Index | None = None) -> pd.Series:
    """One typed column: numbers float; integers int (float if some may be NaN); bools bool;
    text, quarters and choices as Python objects (None where blank)."""
    if col.kind == "number":
        return pd.Series([np.nan if v is None else float(v) for v in values], index=index,
                         dtype=float)
    if col.kind == "integer":
        if any(v is None for v in values):
            return pd.Series([np.nan if v is None else float(v) for v in values], index=index,
                             dtype=float)
        return pd.Series(values, index=index, dtype="int64")
    if col.kind == "bool":
        return pd.Series([bool(v) for v in values], index=index, dtype=bool)
    return pd.Series(values, index=index, dtype=object)


def _frame(rows: SheetRecords | None, table: Table, columns: Sequence[str] | None = None
           ) -> pd.DataFrame:
    columns = list(columns or table.names)
    records = rows.records if rows is not None else []
    return pd.DataFrame({c: _series([r[c] for r in records], table.column(c))
                         for c in columns})


def _locations(rows: SheetRecords | None) -> dict[str, Any]:
    """Where each record of a table was read, for messages raised after validation (a sweep's
    Scenarios rows): the sheet's label, each record's spreadsheet row, each column's letter
    (None for a CSV file, whose problems are named by row)."""
    if rows is None or rows.sheet is None:
        return {}
    sheet = rows.sheet
    letters = None if sheet.csv_file is not None or sheet.letters is None else {
        column: sheet.letters[position] for column, position in rows.positions.items()}
    return {"sheet": sheet.label, "rows": list(rows.rows), "letters": letters}


def _build(parts: dict[str, Any], *, source: str, sha256: str,
           warnings: list[str]) -> Portfolio:
    s = parts["settings"]
    settings = Settings(**{c.name: s[c.name] for c in schema.SETTINGS.columns})
    sites = _frame(parts["sites"], schema.SITES).set_index("site")
    options = _frame(parts["options"], schema.OPTIONS).set_index("option")
    pairs = pd.MultiIndex.from_product([sites.index, options.index], names=["site", "option"])
    so_cols = [c.name for c in schema.SITE_OPTIONS.columns if c.name not in ("site", "option")]
    site_options = pd.DataFrame(
        {c: _series([schema.SITE_OPTIONS.column(c).default] * len(pairs),
                    schema.SITE_OPTIONS.column(c), pairs) for c in so_cols})
    if parts["site_options"] is not None:
        for rec in parts["site_options"].records:
            for c in so_cols:
                site_options.loc[(rec["site"], rec["option"]), c] = rec[c]
    quarters = _frame(parts["quarters"], schema.QUARTERS)
    order = quarters["quarter"].map(quarter_ordinal).argsort(kind="stable")
    quarters = quarters.iloc[order].reset_index(drop=True)
    quarters.index.name = "t"
    commitments = _frame(parts["commitments"], schema.COMMITMENTS)
    commitments["halls"] = commitments["halls"].astype(float)
    scenarios = _frame(parts["scenarios"], schema.SCENARIOS)
    scenarios.attrs.update(_locations(parts["scenarios"]))
    return Portfolio(settings=settings, sites=sites, options=options, site_options=site_options,
                     quarters=quarters, commitments=commitments, scenarios=scenarios,
                     source=source, sha256=sha256, warnings=tuple(warnings))


def validate_sheets(sheets: Mapping[str, SheetData], *, source: str = "", sha256: str = "",
                    problems: Sequence[InputProblem | str] = (), warnings: Sequence[str] = (),
                    csv_folder: bool = False, sheet_names: Sequence[str] = ()) -> Portfolio:
    """Validate located sheets (see `SheetData`) into a Portfolio, or raise `InputError`.

    ``problems`` and ``warnings`` found by the reader (merged cells, formulas without values,
    hidden sheets...) are reported together with validation's own. ``csv_folder``: the sheets
    came from a folder of CSV files (a missing sheet is then named as its file);
    ``sheet_names``: every sheet (or file) in the input, to list when one is missing.
    """
    validator = _Validator(sheets, csv_folder, sheet_names)
    parts = validator.run()
    all_problems = [*problems, *validator.problems]
    if all_problems:
        raise InputError(all_problems, source=source)
    return _build(parts, source=source, sha256=sha256,
                  warnings=[*warnings, *validator.warnings])


def portfolio_from_tables(tables: Mapping[str, pd.DataFrame], *, source: str = "",
                          sha256: str = "", warnings: Sequence[str] = ()) -> Portfolio:
    """Validate raw tables (sheet name -> frame of values as read) into a `Portfolio`.

    Values may be strings, numbers, bools or None/NaN, as a spreadsheet gives them. Cells are
    named as in Excel: header in row 1, data from row 2, columns A.. in frame order. Settings
    is a key/value table (columns ``key`` and ``value``). Raises `InputError` listing every
    problem.
    """
    sheets = {name: SheetData(str(name), frame) for name, frame in tables.items()}
    return validate_sheets(sheets, source=source, sha256=sha256, warnings=warnings)
