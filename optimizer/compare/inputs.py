"""A report's inputs read back, and the input families a comparison moves one at a time.

Every report carries the inputs it was planned from as `Input_*` sheets (`report_sheets.
input_tables`). `read_report_inputs` rebuilds that Portfolio through the same validation as a
workbook (`validation.validate_sheets`), so a report edited by hand is checked like any input;
a problem is named by its report cell (``Input_Sites!C4``).

The NPV bridge of `optimizer.compare.compare` walks from the old inputs to the new ones, family by
family, in the fixed order of `FAMILIES`:

1. ``horizon``: start_quarter and horizon_quarters. The quarter rows follow the new horizon:
   a quarter both horizons cover keeps the values it has at that point of the walk (the old
   ones, for the families not yet moved); a quarter only the new horizon covers takes the new
   workbook's row whole (the old inputs say nothing about it); a quarter only the old horizon
   covers is dropped. Time passing, new quarters and all, is therefore this one bar. A site's
   earliest_start at or before the new start quarter on both sides (blank cells hold the start
   quarter) means "from the first quarter" and moves here too.
2. ``hashprice``: Quarters hashprice_usd_per_ph_day.
3. ``lease``: Options lease_usd_per_kw_month, lease_escalator, ramp_quarters; SiteOptions
   lease_multiplier; Quarters lease_index.
4. ``capex``: Options capex_musd_per_it_mw; SiteOptions capex_multiplier; Sites
   cooling_module_capex_musd and power_upgrade_capex_musd.
5. ``power``: grid, cooling and power cost: Sites grid_mw, power_cost_usd_per_mwh, cooling_mw,
   cooling_module_mw, max_cooling_modules, power_upgrade_mw; Quarters power_index; Options pue,
   cooling_mw_per_it_mw, power_passthrough.
6. ``budget``: Quarters budget_musd; Settings budget_carryover.
7. ``lease terms``: Options lease_term_years, renewal_probability, vacancy_quarters,
   tenant_capex_share, prepaid_quarters.
8. ``financing``: Settings debt_ltc, debt_rate, debt_tenor_years, equity_discount_rate,
   budget_basis, min_dscr (the debt service coverage covenant).
9. ``commitments``: the Commitments table, whole.
10. ``other``: everything else (discount rate, tax, terminal value, lead times, opex, halls,
   mining fleet, earliest starts, AI demand and start caps, mining floor, equipment, flex
   credits, the objective, sites or options added or removed, solver settings): the step ends
   exactly at the new inputs.

Families 2-6 change only rows both input sets have (same site, option, pair or quarter); rows
only one side has arrive with ``horizon`` (quarters) or ``other`` (sites, options). An upgrade's
columns move at a site only when both sides have that upgrade (all its columns given), so no
step leaves an upgrade half-described; otherwise the change arrives with ``other``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook

from models.errors import InputError, InputProblem
from models.portfolio import Portfolio
from models.quarters import parse_quarter, quarter_ordinal
from optimizer.inputs import schema
from optimizer.inputs.cells import SheetData, is_blank
from optimizer.inputs.validation import validate_sheets
from optimizer.reports.write import open_report, sheet_table

Tables = dict[str, pd.DataFrame]

# Input tables of a report (sheet `Input_<name>`) and the columns identifying a row.
TABLE_KEYS: dict[str, tuple[str, ...]] = {t.sheet: schema.row_key(t) for t in schema.INPUT_TABLES}
REQUIRED_INPUTS = ("Settings", "Sites", "Options", "Quarters")
SUMMARY_SHEET = "Summary"


@dataclass(frozen=True)
class BridgeFamily:
    """Inputs that move together in one bridge step (see the module docstring). Its columns
    are the contract's columns whose `schema.InputColumn.family` is this family's name."""

    name: str
    meaning: str
    horizon: bool = False  # the quarter rows follow the new horizon
    commitments: bool = False  # the Commitments table moves whole
    everything: bool = False  # the step ends at the new inputs

    @property
    def columns(self) -> dict[str, tuple[str, ...]]:
        """Table -> the columns of this family (Settings keys are in `settings`)."""
        out = {t.sheet: tuple(c.name for c in t.columns if c.family == self.name)
               for t in schema.INPUT_TABLES if t is not schema.SETTINGS and not self.commitments}
        return {sheet: cols for sheet, cols in out.items() if cols}

    @property
    def settings(self) -> tuple[str, ...]:
        """The Settings keys of this family."""
        return tuple(c.name for c in schema.SETTINGS.columns if c.family == self.name)


FAMILIES: tuple[BridgeFamily, ...] = (
    BridgeFamily("horizon", "start quarter and horizon (quarters dropped and added)",
                 horizon=True),
    BridgeFamily("hashprice", "hashprice forecast"),
    BridgeFamily("lease", "lease rates, escalators, ramps and the lease index"),
    BridgeFamily("capex", "conversion and upgrade capex"),
    BridgeFamily("power", "grid, cooling and power cost"),
    BridgeFamily("budget", "capital budget"),
    BridgeFamily("lease terms", "lease terms, renewals, tenant capex share and prepayments"),
    BridgeFamily("financing", "project debt, its covenant, the equity discount rate and the "
                 "budget basis"),
    BridgeFamily("commitments", "commitments (starts locked, exclusions, not-before dates)",
                 commitments=True),
    BridgeFamily("other", "everything else (discount rate, tax, terminal value, lead times, "
                 "opex, halls, mining fleet, demand and start caps, sites or options added or "
                 "removed, solver settings)", everything=True),
)


def family_of(table: str, column: str) -> str:
    """The family a changed input cell belongs to: any Commitments change is `commitments`,
    any other the family its schema column names (`other` if none, or no such column)."""
    if table == "Commitments":
        return "commitments"
    col = schema.find_column(table, column)
    return col.family if col is not None and col.family else "other"


# ---- reading a report ------------------------------------------------------------------------
def read_report_inputs(report_path: Path | str, wb: Workbook | None = None) -> Portfolio:
    """The Portfolio a report was planned from, rebuilt from its `Input_*` sheets.

    The sheets go through the workbook's validation, so every problem is listed, named by its
    report cell (``Input_Quarters!B7``); a missing required sheet is named too. The Portfolio's
    `source` is the report; its `sha256` the fingerprint of the original workbook (the report's
    Summary `input_sha256`), so provenance survives the round trip.
    """
    path = Path(report_path)
    source = str(path)
    wb = wb if wb is not None else open_report(path)
    missing = [n for n in REQUIRED_INPUTS if f"Input_{n}" not in wb.sheetnames]
    if missing:
        raise InputError([InputProblem(f"Input_{n}", "", "", None, "this sheet, as written by "
                                  "sitepivot plan (a report carries its inputs); was the report "
                                  "made by sitepivot?") for n in missing], source)
    sheets: dict[str, SheetData] = {}
    for name in TABLE_KEYS:
        sheet = f"Input_{name}"
        if sheet not in wb.sheetnames:
            continue
        frame, letters = sheet_table(wb, sheet, source)
        rows = [int(r) for r in frame.index]
        header_row = rows[0] - 1 if rows else 1
        sheets[name] = SheetData(sheet, frame.reset_index(drop=True), rows=rows,
                                 letters=[letters[c] for c in frame.columns],
                                 header_row=header_row)
    metrics = report_metrics(wb, source)
    sha = metrics.get("input_sha256")
    return validate_sheets(sheets, source=source, sha256=sha if isinstance(sha, str) else "",
                           sheet_names=wb.sheetnames)


def report_metrics(wb: Workbook, source: str) -> dict[str, object]:
    """The Summary sheet's `metric` -> `value`; InputError unless npv_musd is a finite number
    (the problem names its cell)."""
    frame, letters = sheet_table(wb, SUMMARY_SHEET, source)
    if "metric" not in frame.columns or "value" not in frame.columns:
        raise InputError([InputProblem(SUMMARY_SHEET, "row 1", "metric", None, "columns metric and "
                                  "value, as written by sitepivot plan")], source)
    metrics = {str(m): v for m, v in zip(frame["metric"], frame["value"], strict=True)}
    npv = metrics.get("npv_musd")
    if not isinstance(npv, int | float) or isinstance(npv, bool) or not math.isfinite(npv):
        rows = frame.index[frame["metric"] == "npv_musd"]
        cell = f"{letters['value']}{rows[0]}" if len(rows) else ""
        raise InputError([InputProblem(SUMMARY_SHEET, cell, "npv_musd", npv,
                                  "the plan's NPV in $M (a number)")], source)
    return metrics


# ---- moving families -------------------------------------------------------------------------
def _canon(value: object) -> object:
    """A cell value comparable across dtypes: None for blanks, float for numbers."""
    if is_blank(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    return value


def _rows(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    return [tuple(_canon(v) for v in row) for row in frame.itertuples(index=False, name=None)]


def tables_equal(a: Tables, b: Tables) -> bool:
    """The same inputs: same tables, columns, rows (order included) and values."""
    if set(a) != set(b):
        return False
    return all(list(a[n].columns) == list(b[n].columns) and _rows(a[n]) == _rows(b[n])
               for n in a)


def _keyed(frame: pd.DataFrame, key: tuple[str, ...]) -> dict[tuple[object, ...], int]:
    """Key of each row -> its position."""
    return {tuple(_canon(v) for v in k): i for i, k in
            enumerate(frame[list(key)].itertuples(index=False, name=None))}


def _group_complete(row: pd.Series, group: tuple[str, ...]) -> bool:
    return all(not is_blank(row[c]) for c in group)


def _move_columns(cur: pd.DataFrame, new: pd.DataFrame, table: str,
                  columns: tuple[str, ...]) -> pd.DataFrame:
    """`cur` with `columns` taken from `new` on the rows both have (by key)."""
    out = cur.copy().astype(object)
    keys_new = _keyed(new, TABLE_KEYS[table])
    groups = {c: g for g in schema.SITES.groups for c in g} if table == "Sites" else {}
    for key, i in _keyed(cur, TABLE_KEYS[table]).items():
        j = keys_new.get(key)
        if j is None:
            continue
        for col in columns:
            group = groups.get(col)
            if group and not (_group_complete(cur.iloc[i], group)
                              and _group_complete(new.iloc[j], group)):
                continue  # an upgrade half-described would be invalid: left to `other`
            out.iat[i, out.columns.get_loc(col)] = new.iat[j, new.columns.get_loc(col)]
    return out


def _set_settings(cur: pd.DataFrame, new: pd.DataFrame, keys: tuple[str, ...]) -> pd.DataFrame:
    out = cur.copy().astype(object)
    values = dict(zip(new["key"], new["value"], strict=True))
    for i, key in enumerate(out["key"]):
        if key in keys and key in values:
            out.iat[i, out.columns.get_loc("value")] = values[key]
    return out


def _follow_horizon(cur: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Quarter rows of the new horizon: the current row where there is one, else the new row."""
    have = {q: i for i, q in enumerate(cur["quarter"])}
    rows = [cur.iloc[have[q]] if q in have else new.iloc[j]
            for j, q in enumerate(new["quarter"])]
    return pd.DataFrame(rows, columns=new.columns).reset_index(drop=True).astype(object)


def _open_from_start(cur: pd.DataFrame, new: pd.DataFrame, start: str | None) -> pd.DataFrame:
    """Sites earliest_start set to the new value where both values are at or before the new
    start quarter: both mean "from the first quarter" (blank cells are filled with the start
    quarter), so this is part of the horizon shift, not a change of its own."""
    if start is None:
        return cur
    out = cur.copy().astype(object)
    first = quarter_ordinal(start)
    col = out.columns.get_loc("earliest_start")
    keys_new = _keyed(new, TABLE_KEYS["Sites"])
    for key, i in _keyed(cur, TABLE_KEYS["Sites"]).items():
        j = keys_new.get(key)
        if j is None:
            continue
        a, b = parse_quarter(cur.iat[i, col]), parse_quarter(new.iat[j, col])
        if a and b and quarter_ordinal(a) <= first and quarter_ordinal(b) <= first:
            out.iat[i, col] = b
    return out


def apply_family(current: Tables, new: Tables, family: BridgeFamily) -> Tables:
    """`current` with `family` moved to its values in `new` (see the module docstring)."""
    if family.everything:
        return {n: f.copy() for n, f in new.items()}
    out = {n: f.copy() for n, f in current.items()}
    if family.settings:
        out["Settings"] = _set_settings(out["Settings"], new["Settings"], family.settings)
    if family.horizon:
        out["Quarters"] = _follow_horizon(out["Quarters"], new["Quarters"])
        out["Sites"] = _open_from_start(out["Sites"], new["Sites"], _start(new))
    if family.commitments:
        out["Commitments"] = new["Commitments"].copy()
    for table, columns in family.columns.items():
        out[table] = _move_columns(out[table], new[table], table, columns)
    return out


# ---- what changed ----------------------------------------------------------------------------
CHANGE_COLUMNS = ["family", "table", "row", "column", "old_value", "new_value"]


def _row_name(key: tuple[object, ...]) -> str:
    return " / ".join("" if k is None else str(k) for k in key)


def _start(tables: Tables) -> str | None:
    settings = dict(zip(tables["Settings"]["key"], tables["Settings"]["value"], strict=True))
    return parse_quarter(settings.get("start_quarter"))


def _without_default_starts(tables: Tables, start: str | None) -> Tables:
    """Sites earliest_start blanked where it is at or before `start` (the later of the two
    start quarters): such a value restricts nothing the two plans share (the default fills in
    the start quarter), so it is no change."""
    sites = tables["Sites"].copy().astype(object)
    if start is None or "earliest_start" not in sites.columns:
        return tables
    sites["earliest_start"] = [
        None if (q := parse_quarter(v)) is not None and quarter_ordinal(q) <= quarter_ordinal(
            start) else v for v in sites["earliest_start"]]
    return {**tables, "Sites": sites}


def input_changes(old: Tables, new: Tables) -> pd.DataFrame:
    """Every input cell that differs between two input sets, with the family it belongs to.

    Rows (sites, options, pairs, quarters, commitments) present on one side only are listed as
    `(row added)` / `(row removed)`. An earliest_start at or before the later start quarter
    counts as blank on both sides (it restricts nothing). Columns: `CHANGE_COLUMNS`.
    """
    out: list[dict[str, object]] = []
    latest = max((_start(old), _start(new)), key=lambda q: quarter_ordinal(q) if q else -1)
    old, new = _without_default_starts(old, latest), _without_default_starts(new, latest)
    for table, key in TABLE_KEYS.items():
        a, b = old.get(table), new.get(table)
        if a is None or b is None:
            continue
        if not key:  # Commitments: rows compared whole
            rows_a, rows_b = _rows(a), _rows(b)
            for label, rows, other in (("(row removed)", rows_a, rows_b),
                                       ("(row added)", rows_b, rows_a)):
                for r in rows:
                    if r not in other:
                        out.append({"family": family_of(table, ""), "table": table,
                                    "row": _row_name(r), "column": label,
                                    "old_value": _row_name(r) if "removed" in label else None,
                                    "new_value": _row_name(r) if "added" in label else None})
            continue
        ka, kb = _keyed(a, key), _keyed(b, key)
        for k, i in ka.items():
            if k not in kb:
                fam = "horizon" if table == "Quarters" else "other"
                out.append({"family": fam, "table": table, "row": _row_name(k),
                            "column": "(row removed)", "old_value": None, "new_value": None})
                continue
            j = kb[k]
            for col in a.columns:
                if col in key or col not in b.columns:
                    continue
                va, vb = _canon(a.iat[i, a.columns.get_loc(col)]), _canon(
                    b.iat[j, b.columns.get_loc(col)])
                if va != vb:
                    column = str(k[0]) if table == "Settings" else col
                    out.append({"family": family_of(table, column), "table": table,
                                "row": _row_name(k), "column": column,
                                "old_value": va, "new_value": vb})
        for k in kb:
            if k not in ka:
                fam = "horizon" if table == "Quarters" else "other"
                out.append({"family": fam, "table": table, "row": _row_name(k),
                            "column": "(row added)", "old_value": None, "new_value": None})
    order = {f.name: i for i, f in enumerate(FAMILIES)}
    frame = pd.DataFrame(out, columns=CHANGE_COLUMNS)
    if len(frame):
        frame = frame.sort_values("family", key=lambda s: s.map(order), kind="stable")
    return frame.reset_index(drop=True)
