"""The small frictions of a first contact (issue 22), each as a user meets it.

- compare's table shows `-` for an added hall's old quarter, never `None`;
- money is written one way in text, `$473.2M` (`optimizer.money.money`), never `473.2 $M`;
- an infinite VSS says why on the console, and vss_significant is blank beside a blank VSS;
- a missing report file is a usage message (exit 2), not Python's FileNotFoundError text;
- the default reports/ folder is created outside the repository, and not on bad input;
- Timing's "simple ranking" row counts its halls.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from support import tiny_tables, write_xlsx

from optimizer.cli import main
from optimizer.compare.compare import changes_text, decision_changes
from optimizer.inputs.validation import portfolio_from_tables
from optimizer.money import money
from optimizer.replan.replan import explain_plan
from optimizer.solve.optimize import optimize

ROOT = Path(__file__).resolve().parents[1]


def test_compare_shows_a_dash_for_an_added_halls_old_quarter() -> None:
    def frame(rows: list[tuple[str, str, str, int]]) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=["site", "option", "start_quarter", "halls"])

    changes = decision_changes(frame([("A", "dlc", "2027Q1", 1), ("C", "dlc", "2028Q1", 1)]),
                               frame([("A", "dlc", "2027Q1", 1), ("B", "air", "2027Q3", 2)]))
    text = changes_text(changes[changes["change"] != "kept"])
    assert "None" not in text and "NaN" not in text and "nan" not in text
    added = next(line for line in text.splitlines() if "added" in line).split()
    assert added[:4] == ["B", "air", "added", "-"] and "2027Q3" in added
    dropped = next(line for line in text.splitlines() if "dropped" in line).split()
    assert dropped[:5] == ["C", "dlc", "dropped", "2028Q1", "-"]


def test_money_is_one_format() -> None:
    assert money(473.24) == "$473.2M" and money(-12.0) == "-$12.0M"
    assert money(8411.6, 0) == "$8,412M" and money(float("nan")) == "n/a"
    assert money(None) == "n/a" and money(math.inf) == "n/a"


def test_no_text_writes_a_figure_then_dollar_m() -> None:
    """Every f-string of the package writes money through `money()`: no `{x:,.1f} $M`, no
    `${x:,.1f}M` built by hand (units stay: `$M` alone, `{range} $M per unit`)."""
    by_hand = re.compile(r"\{[^{}]*\}\s?\$M(?! per)|\$\{[^{}]*\}M")
    found = [f"{path.relative_to(ROOT)}:{i}: {line.strip()}"
             for path in sorted((ROOT / "optimizer").rglob("*.py"))
             for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if by_hand.search(line)]
    assert found == []


def test_sweep_text_writes_money_one_way(tmp_path: Path) -> None:
    book = write_xlsx(tiny_tables(), tmp_path / "tiny.xlsx")
    run = CliRunner().invoke(main, ["sweep", str(book), "--tornado", "--range",
                                    "hashprice=0.9,1.1", "--workers", "1", "--mip-gap", "0",
                                    "-o", str(tmp_path / "s.xlsx"), "--quiet"])
    assert run.exit_code == 0, run.output
    assert " $M" not in run.stdout
    assert re.search(r"base NPV \$[\d,]+\.\dM", run.stdout)
    assert re.search(r"largest swings: \w+ \$[\d,]+\.\dM", run.stdout), run.stdout


def test_an_infinite_vss_says_why_and_is_not_called_significant_beside_a_blank() -> None:
    from test_robust import divergent_futures

    from optimizer.robust.report import robust_text, summary_frame
    from optimizer.robust.robust import robust

    portfolio, futures = divergent_futures()
    plan = robust(portfolio, futures=futures, commit_quarters=3, time_limit=60, mip_gap=0.0,
                  method="extensive", progress=False)
    assert plan.vss_musd == math.inf
    reason = ("the deterministic first stage breaks a limit in 1 of 3 futures, the robust one "
              "in none")
    assert f"Value of the stochastic solution (VSS) infinite ({reason})" in robust_text(plan)
    rows = summary_frame(plan).set_index("metric")
    assert pd.isna(rows.loc["vss_musd", "value"]) and reason in rows.loc["vss_musd", "note"]
    assert rows.loc["vss_significant", "value"] is None
    assert rows.loc["vss_significant", "note"].startswith("blank: the VSS is infinite")
    assert re.search(r"NPV \$[\d,]+M", robust_text(plan)) and " $M" not in robust_text(plan)


@pytest.mark.parametrize("args", [
    ["compare", "{missing}", "{missing}"],
    ["plan", "{book}", "--baseline", "{missing}", "--no-report"],
    ["plan", "{book}", "--commitments-from", "{missing}", "--no-report"],
])
def test_a_missing_report_is_a_usage_message(tmp_path: Path, args: list[str]) -> None:
    book = write_xlsx(tiny_tables(), tmp_path / "book.xlsx")
    missing = tmp_path / "last-quarter.xlsx"
    args = [a.format(book=book, missing=missing) for a in args]
    run = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "out.xlsx"), "--quiet"]
                             if args[0] == "compare" else [*args, "--quiet"])
    assert run.exit_code == 2, run.output
    assert (f"error: cannot read the report {missing}: no such file; give the path of an "
            ".xlsx report written by sitepivot plan") in run.stderr
    assert "Errno" not in run.output and "FileNotFoundError" not in run.output
    assert not (tmp_path / "out.xlsx").exists()


def test_the_default_reports_folder_is_created_outside_the_repository(tmp_path: Path) -> None:
    book = write_xlsx(tiny_tables(), tmp_path / "book.xlsx")
    with CliRunner().isolated_filesystem(temp_dir=tmp_path) as here:
        run = CliRunner().invoke(main, ["plan", str(book), "--why-not-solves", "0", "--quiet"])
        assert run.exit_code == 0, run.output
        assert (Path(here) / "reports" / "book-plan.xlsx").is_file()
        assert "report written to reports/book-plan.xlsx" in run.stdout
    # an explicit -o into a missing folder is still refused (a typo, not a default)
    run = CliRunner().invoke(main, ["plan", str(book), "-o", str(tmp_path / "typo" / "p.xlsx")])
    assert run.exit_code == 2 and "does not exist" in run.stderr


def test_timing_counts_the_simple_rankings_halls() -> None:
    plan = optimize(portfolio_from_tables(tiny_tables()), mip_gap=0.0)
    explain_plan(plan, why_not_solves=0)
    assert plan.timing_value is not None
    rows = plan.timing_value.set_index("strategy")
    assert plan.greedy_halls is not None and plan.greedy_halls > 0
    assert rows.loc["simple ranking", "halls_converted"] == plan.greedy_halls
    assert rows["halls_converted"].iloc[:4].notna().all()
