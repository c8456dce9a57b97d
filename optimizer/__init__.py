"""sitepivot: which mining sites to convert to AI/HPC hosting, with what, and when.

Public API::

    import optimizer
    portfolio = optimizer.load_portfolio("inputs/sample_portfolio.xlsx")
    plan = optimizer.optimize(portfolio, time_limit=60, mip_gap=1e-3)
    plan.status  # optimizer.Status.OPTIMAL, or FEASIBLE with plan.gap stated (a time limit)
    optimizer.write_report(plan, "reports/plan.xlsx")
    robust = optimizer.robust(portfolio, draws=20, commit_quarters=4)  # a RobustPlan
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
from optimizer.reports.write import write_report
from optimizer.robust.robust import RobustPlan, robust  # `optimizer.robust` is this function
from optimizer.solve.optimize import optimize
from optimizer.solve.status import Status, Termination, has_plan

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
    "has_plan",
    "load_portfolio",
    "optimize",
    "robust",
    "write_report",
]
