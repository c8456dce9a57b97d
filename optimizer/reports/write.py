"""The Excel report of a plan: where it may be written, writing it atomically, reading it back.

- `check_target` (`optimizer.files`) refuses a target that is an input, exists (without
  force), or sits in a missing or read-only folder; the CLI calls it before solving so a
  long solve is not wasted.
- `write_report` builds the workbook (`optimizer.reports.sheets`) and saves it to a temporary
  file in the target folder, then renames it into place (`os.replace`): a reader never sees a
  half-written report, and a failed write leaves no temporary file behind.
- `read_decisions` and `commitments_from_report` feed a report's Decisions sheet back as the
  next quarter's commitments.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import cast

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter, range_boundaries

from models.errors import InputError, InputProblem, UsageError
from models.portfolio import Portfolio
from models.quarters import parse_quarter, quarter_ordinal
from optimizer.files import check_target, save_atomically
from optimizer.plan import DECISION_COLUMNS, Plan
from optimizer.reports.firmness import ALTERNATIVES_SHEET
from optimizer.reports.sheets import build_workbook

DECISIONS_SHEET = "Decisions"
# A robust report (`sitepivot robust`) has no Decisions sheet; its FirstStage sheet has the same
# columns and is what --commitments-from reads there.
FIRST_STAGE_SHEET = "FirstStage"


def make_folder(target: Path) -> None:
    """Create `target`'s folder if missing (the default `reports/`, outside the repository
    too; see `check_target(create_folder=True)`)."""
    Path(target).parent.mkdir(exist_ok=True)


def write_report(plan: Plan, path: Path, *, force: bool = False) -> None:
    """Write the plan's Excel report to `path` (.xlsx), atomically; never onto the input.

    Raises UsageError for a refused target (see `check_target`) or when the target is locked
    (open in Excel on Windows) or its folder vanished while writing.
    """
    path = Path(path)
    inputs = [Path(plan.portfolio.source)] if plan.portfolio.source else []
    check_target(path, inputs, force)
    save_atomically(build_workbook(plan), path)


def open_report(report_path: Path, sheet: str | None = None) -> Workbook:
    """A report opened for reading (cached values). UsageError when there is no such file (a
    mistyped path: a usage message, exit 2); InputError naming the file when it cannot be
    opened as a workbook (located at `sheet` when the caller wants one sheet of it)."""
    path = Path(report_path)
    if not path.is_file():
        what = "is a folder, not a report" if path.is_dir() else "no such file"
        raise UsageError(f"cannot read the report {path}: {what}; give the path of an .xlsx "
                         "report written by sitepivot plan")
    try:
        return load_workbook(report_path, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as err:
        raise InputError([InputProblem(sheet or path.name, "", "", None, "a sitepivot report "
                                  f"(.xlsx) that can be opened ({type(err).__name__}: {err})")],
                         str(report_path)) from err


def sheet_table(wb: Workbook, sheet: str, source: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """A sheet's (first) Excel table as a frame indexed by Excel row number, with the column
    letter of each column. InputError (naming `source` and the sheet) when the sheet is absent."""
    if sheet not in wb.sheetnames:
        raise InputError([InputProblem(sheet, "", "", None, "a sheet of this name, as written by "
                                  "sitepivot plan")], source)
    ws = wb[sheet]
    if ws.tables:
        min_col, min_row, max_col, max_row = range_boundaries(next(iter(ws.tables.values())).ref)
    else:
        min_col, min_row, max_col, max_row = 1, 1, ws.max_column, ws.max_row
    grid = list(ws.iter_rows(min_row=min_row, max_row=max_row, min_col=min_col,
                             max_col=max_col, values_only=True))
    header = [str(v).strip() if v is not None else "" for v in grid[0]] if grid else []
    rows = {min_row + i: list(r) for i, r in enumerate(grid[1:], start=1)
            if any(v not in (None, "") for v in r)}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=header)
    frame.index.name = "row"
    letters = {name: get_column_letter(min_col + j) for j, name in enumerate(header)}
    return frame, letters


def _read_table(report_path: Path, sheet: str, fallback: str | None = None
                ) -> tuple[pd.DataFrame, dict[str, str]]:
    """A report sheet's Excel table as a frame indexed by Excel row number, with the column
    letter of each column (the sheet read is in ``frame.attrs["sheet"]``: `fallback` when the
    report has no `sheet` but has that one). InputError (naming the file and sheet) when it
    cannot be read."""
    source = str(report_path)
    wb = open_report(report_path, sheet)
    if fallback is not None and sheet not in wb.sheetnames and fallback in wb.sheetnames:
        sheet = fallback
    frame, letters = sheet_table(wb, sheet, source)
    frame.attrs["sheet"] = sheet
    return frame, letters


def read_decisions(report_path: Path, alternative: int | None = None) -> pd.DataFrame:
    """The Decisions sheet of a report (the FirstStage sheet of a robust report): columns as
    written, index = Excel row number. With `alternative` N: the rows of alternative N of the
    report's Alternatives sheet instead (its first table: `alternative` and Decisions' columns);
    InputError naming the sheet when it holds no such alternative."""
    if alternative is None:
        frame, letters = _read_table(Path(report_path), DECISIONS_SHEET, FIRST_STAGE_SHEET)
    else:
        frame, letters = _read_table(Path(report_path), ALTERNATIVES_SHEET)
    missing = [c for c in DECISION_COLUMNS if c not in frame.columns]
    if alternative is not None and "alternative" not in frame.columns:
        missing.insert(0, "alternative")
    if missing:
        raise InputError([InputProblem(frame.attrs["sheet"], "row 1", c, None, "this column, as "
                                  "written by sitepivot plan") for c in missing],
                         str(report_path))
    if alternative is not None:
        chosen = pd.to_numeric(frame["alternative"], errors="coerce") == alternative
        if not chosen.any():
            known = sorted({int(a) for a in pd.to_numeric(frame["alternative"], errors="coerce")
                            .dropna()})
            raise InputError([InputProblem(ALTERNATIVES_SHEET, f"{letters['alternative']}:"
                                      f"{letters['alternative']}", "alternative", alternative,
                                      "an alternative the report holds: "
                                      + (", ".join(map(str, known)) or "none"))],
                             str(report_path))
        frame = frame[chosen]
    frame.attrs["letters"] = letters
    return frame


def _clash(portfolio: Portfolio, site: str, option: str, quarter: str) -> str | None:
    """Why the new workbook cannot honour a start made earlier, or None."""
    pair = (site, option)
    if pair in portfolio.site_options.index and not portfolio.site_options.loc[pair, "allowed"]:
        return (f"a start of {option} at {site} in {quarter}, but the new workbook does not allow "
                f"{option} there (SiteOptions allowed FALSE)")
    c = portfolio.commitments
    same = c[(c["site"] == site) & (c["option"].isna() | (c["option"] == option))]
    if (same["action"] == "exclude").any():
        return (f"a start of {option} at {site} in {quarter}, contradicted by an exclude in the "
                "new workbook's Commitments")
    for later in same[same["action"] == "not_before"]["quarter"].dropna():
        if quarter_ordinal(later) > quarter_ordinal(quarter):
            return (f"a start of {option} at {site} in {quarter}, contradicted by not_before "
                    f"{later} in the new workbook's Commitments")
    return None


def _already_committed(commitments: pd.DataFrame, record: dict[str, object]) -> bool:
    c = commitments
    return bool(((c["site"] == record["site"]) & (c["option"] == record["option"])
                 & (c["quarter"] == record["quarter"]) & (c["action"] == "start")
                 & (c["halls"] == record["halls"])).any())


def commitments_from_report(portfolio: Portfolio, report_path: Path,
                            alternative: int | None = None) -> Portfolio:
    """Lock a previous report's starts that lie before the portfolio's start quarter (those
    of its alternative N with `alternative`: `read_decisions`).

    Each such start becomes a `start` commitment (site, option, quarter, halls) appended to
    `portfolio.commitments`, with a warning; starts in or after the start quarter stay free.
    A locked start whose site or option no longer exists, whose quarter or halls cannot be
    read, that the new workbook forbids (SiteOptions, an exclude or a later not_before), or
    that takes a site past its halls, is an InputError naming the report cell. A start the
    workbook's Commitments already hold is not added twice.
    """
    report_path = Path(report_path)
    frame = read_decisions(report_path, alternative)
    letters: dict[str, str] = frame.attrs["letters"]
    sheet: str = frame.attrs["sheet"]
    start = quarter_ordinal(portfolio.settings.start_quarter)
    problems: list[InputProblem] = []
    locked: list[dict[str, object]] = []
    warnings: list[str] = []
    last_row: dict[str, int] = {}  # per site, the report row of its last locked start

    def problem(row: int, col: str, value: object, expected: str) -> None:
        problems.append(InputProblem(sheet, f"{letters[col]}{row}", col, value, expected))

    for row, rec in frame.iterrows():
        quarter = parse_quarter(rec["start_quarter"])
        if quarter is None:
            problem(row, "start_quarter", rec["start_quarter"], "a quarter such as 2027Q1")
            continue
        if quarter_ordinal(quarter) >= start:
            continue  # not yet started: the new plan decides it afresh
        site, option, halls = rec["site"], rec["option"], rec["halls"]
        ok = True
        if site not in portfolio.sites.index:
            problem(row, "site", site, "a site of the new workbook's Sites sheet (this start "
                    "was made before the plan's start quarter)")
            ok = False
        if option not in portfolio.options.index:
            problem(row, "option", option, "an option of the new workbook's Options sheet")
            ok = False
        try:
            n = float(halls)
        except (TypeError, ValueError):
            n = float("nan")
        if not (n >= 1 and n == int(n)):
            problem(row, "halls", halls, "a whole number of halls >= 1")
            ok = False
        if ok:
            clash = _clash(portfolio, site, option, quarter)
            if clash:
                problem(row, "option", option, clash)
                continue
            record = {"site": site, "option": option, "quarter": quarter, "halls": float(n),
                      "action": "start"}
            if _already_committed(portfolio.commitments, record):
                continue  # the workbook already holds this start: lock it once
            locked.append(record)
            last_row[site] = row
            warnings.append(f"locked start from {report_path.name} ({sheet}!"
                            f"{letters['site']}{row}): {int(n)} hall(s) of {option} at {site} "
                            f"in {quarter}, before the start quarter "
                            f"{portfolio.settings.start_quarter}")
    for site, row in last_row.items():
        c = portfolio.commitments
        committed = c[(c["site"] == site) & (c["action"] == "start")]["halls"].sum()
        total = committed + sum(cast(float, r["halls"]) for r in locked if r["site"] == site)
        if total > portfolio.sites.loc[site, "halls"]:
            problem(row, "halls", int(total), f"committed starts at {site} (the workbook's and "
                    f"this report's) total {int(total)} halls, more than its "
                    f"{int(portfolio.sites.loc[site, 'halls'])} halls (Sites)")
    if problems:
        raise InputError(problems, str(report_path))
    if not locked:
        return portfolio
    added = pd.DataFrame(locked).reindex(columns=portfolio.commitments.columns)
    commitments = (pd.concat([portfolio.commitments, added], ignore_index=True)
                   if len(portfolio.commitments) else added.reset_index(drop=True))
    return portfolio.replace(commitments=commitments,
                             warnings=(*portfolio.warnings, *warnings))
