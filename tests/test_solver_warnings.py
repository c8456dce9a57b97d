"""Warnings counted honestly: HiGHS's model warnings reach the plan's warnings, the Summary's
count and the Log sheet, each with what it means for the user."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from benchmarks.generate import make_tables
from optimizer.inputs.validation import portfolio_from_tables
from optimizer.reports.summary import headline_metrics
from optimizer.reports.write import write_report
from optimizer.solve.optimize import optimize, solver_warnings

LOG = """Coefficient ranges:
  Matrix  [1e+00, 6e+02]
  Cost    [8e-05, 9e+02]
  Bound   [8e+01, 6e+02] (continuous)
  RHS     [1e+00, 1e+03]
WARNING: Problem has some excessively small costs
Presolving model
WARNING: Problem has some excessively small costs
WARNING: something HiGHS has not said before
"""


def test_each_warning_once_with_its_meaning() -> None:
    found = solver_warnings(LOG)
    assert len(found) == 2
    assert found[0].startswith("Solver (HiGHS): Problem has some excessively small costs: ")
    assert "[8e-05, 9e+02]" in found[0] and "audited" in found[0]
    assert found[1] == "Solver (HiGHS): something HiGHS has not said before."
    assert solver_warnings("Presolving model\nRunning HiGHS\n") == []


def test_a_solver_warning_reaches_summary_and_log(tmp_path: Path) -> None:
    """A generated portfolio whose smallest NPV coefficient is about $8 (8e-06 $M) beside
    $600M: HiGHS warns, and the warning is counted and listed."""
    plan = optimize(portfolio_from_tables(make_tables(8, 40, seed=1)), time_limit=1.0,
                    threads=1, method="monolithic")
    assert "WARNING: Problem has some excessively small costs" in plan.solver_log
    ours = [w for w in plan.warnings if w.startswith("Solver (HiGHS)")]
    assert len(ours) == 1 and "excessively small costs" in ours[0]
    count = {m.metric: m.value for m in headline_metrics(plan)}["warnings"]
    assert count == len(plan.warnings) >= 1
    path = tmp_path / "r.xlsx"
    write_report(plan, path)
    log = load_workbook(path, read_only=True)["Log"]
    rows = [r for r in log.iter_rows(values_only=True) if r[0] == "warning"]
    assert (("warning", ours[0]) in rows) and len(rows) == count
