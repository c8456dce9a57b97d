"""sitepivot: which mining sites to convert to AI/HPC hosting, with what, and when.

Public API (the README's "Python API" section shows it in full)::

    import optimizer
    portfolio = optimizer.load_portfolio("inputs/sample_portfolio.xlsx")
    solver_s, why_not_s = optimizer.time_budgets(45)   # `plan --time-limit 60` less firmness
    plan = optimizer.optimize(portfolio, time_limit=solver_s, mip_gap=1e-3, progress=True)
    optimizer.explain_plan(plan, budget=why_not_s)      # the WhyNot and Timing sheets
    commit_now, windows = optimizer.firmness(plan)      # the Firmness sheet's two tables
    summary, starts = optimizer.alternatives(plan, 2)   # the Alternatives sheet's two tables
    optimizer.write_report(plan, "reports/plan.xlsx", force=True)
    plan.status  # optimizer.Status.OPTIMAL, or FEASIBLE with plan.gap stated (a time limit)
    robust = optimizer.robust(portfolio, draws=20, commit_quarters=4)  # a RobustPlan

`progress=True` (optimize, explain_plan; robust and run_sweep show it unless progress=False)
writes what the CLI writes on stderr: a bar on a terminal, plain lines otherwise.

Errors raised are the domain exceptions of `models.errors`, all `SitepivotError`:
`InputError` (bad workbook: `.problems` lists every cell), `UsageError` (a refused argument or
report path), `InfeasibleError` (`.explanation`: the smallest changes that would allow a plan),
`NoSolutionError` (no plan within the time limit), `SolverError` (solver failure or failed
self-audit). Each has the CLI's `exit_code`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from models.errors import (
    InfeasibleError,
    InputError,
    NoSolutionError,
    SitepivotError,
    SolverError,
    UsageError,
)
from models.portfolio import Portfolio, Settings
from optimizer.inputs.workbook import load_portfolio
from optimizer.plan import Plan
from optimizer.replan.firmness import alternatives, firmness
from optimizer.replan.replan import explain_plan, time_budgets
from optimizer.reports.write import write_report
from optimizer.robust.robust import RobustPlan, robust  # `optimizer.robust` is this function
from optimizer.solve.optimize import optimize
from optimizer.status import Status, Termination, has_plan

try:
    __version__ = version("sitepivot")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = [
    "InfeasibleError",
    "InputError",
    "NoSolutionError",
    "Plan",
    "Portfolio",
    "RobustPlan",
    "Settings",
    "SitepivotError",
    "SolverError",
    "Status",
    "Termination",
    "UsageError",
    "__version__",
    "alternatives",
    "explain_plan",
    "firmness",
    "has_plan",
    "load_portfolio",
    "optimize",
    "robust",
    "time_budgets",
    "write_report",
]
