"""sitepivot: which mining sites to convert to AI/HPC hosting, with what, and when.

Public API::

    import optimizer
    portfolio = optimizer.load_portfolio("inputs/sample_portfolio.xlsx")
    plan = optimizer.optimize(portfolio, time_limit=60, mip_gap=1e-3)
    optimizer.write_report(plan, "reports/plan.xlsx")
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from optimizer.errors import (
    InfeasibleError,
    InputError,
    NoSolutionError,
    SitepivotError,
    SolverError,
    UsageError,
)
from optimizer.portfolio import Portfolio, Settings

try:
    __version__ = version("sitepivot")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = [
    "InfeasibleError",
    "InputError",
    "NoSolutionError",
    "Portfolio",
    "Settings",
    "SitepivotError",
    "SolverError",
    "UsageError",
    "__version__",
    "load_portfolio",
    "optimize",
    "write_report",
]


def load_portfolio(path: str, **kwargs: object) -> Portfolio:
    """Read and validate a workbook (.xlsx) or a folder of CSV files; raise InputError if bad."""
    from optimizer.workbook import load_portfolio as _load

    return _load(path, **kwargs)  # type: ignore[arg-type]


def optimize(portfolio: Portfolio, **kwargs: object):
    """Find the plan of highest NPV; see `optimizer.solve.optimize` for the arguments."""
    from optimizer.solve import optimize as _optimize

    return _optimize(portfolio, **kwargs)  # type: ignore[arg-type]


def write_report(plan, path: str, **kwargs: object) -> None:
    """Write the Excel report of a plan; see `optimizer.report.write_report`."""
    from optimizer.report import write_report as _write

    _write(plan, path, **kwargs)  # type: ignore[arg-type]
