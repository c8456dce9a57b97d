"""The validated, typed input of one planning run.

A `Portfolio` is what `optimizer.load_portfolio` returns once every check in
`optimizer.inputs.validation` has passed: defaults applied, quarter labels canonical (`2027Q1`),
names trimmed. It is immutable by convention: code that needs a variant (a sweep scenario)
builds a new one with `Portfolio.replace`, never edits the frames in place.

Frames and their indices:
- ``sites``: index ``site``; columns of `schema.SITES` (``earliest_start`` filled with the
  start quarter; upgrade columns NaN where the site has no such upgrade).
- ``options``: index ``option``; columns of `schema.OPTIONS`.
- ``site_options``: MultiIndex (``site``, ``option``) over every pair of the two; columns
  ``allowed`` (bool), ``capex_multiplier``, ``lease_multiplier``.
- ``quarters``: index ``t`` = 0..T-1; column ``quarter`` (label) and the numeric columns of
  `schema.QUARTERS`; NaN in budget_musd, ai_demand_mw, max_hall_starts, min_mining_mw means
  no limit in that quarter.
- ``commitments``: columns site, option (None = every option), quarter (label or None),
  halls (float, NaN unless action = start), action.
- ``scenarios``: columns of `schema.SCENARIOS` (may be empty).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from models.quarters import quarter_ordinal


@dataclass(frozen=True)
class Settings:
    """Run-wide settings (the Settings sheet), defaults applied."""

    start_quarter: str
    horizon_quarters: int
    discount_rate: float
    discounting: Literal["end", "mid"] = "end"
    tax_rate: float = 0.0
    depreciation_years: float = 10.0
    terminal_value: Literal["none", "multiple", "gordon", "contracted"] = "none"
    terminal_multiple: float | None = None
    terminal_growth: float | None = None
    budget_carryover: bool = False
    mip_gap: float = 0.001
    time_limit_s: float = 300.0
    threads: int = 0
    random_seed: int = 0
    commit_quarters: int = 4  # robust plans and firmness: starts in quarters < K are decided now
    firmness_tolerance: float | None = None  # share of |NPV|; None: max(plan gap, 0.5%)
    debt_ltc: float = 0.0
    debt_rate: float | None = None
    debt_tenor_years: float | None = None
    equity_discount_rate: float | None = None  # None: discount_rate
    objective: Literal["project_npv", "equity_npv"] = "project_npv"
    budget_basis: Literal["capex", "equity"] = "capex"
    terminal_value_tax: Literal["taxed", "untaxed"] = "taxed"
    min_dscr: float | None = None  # None: no debt service coverage covenant

    @property
    def equity_rate(self) -> float:
        """The rate discounting equity cash flows (equity_discount_rate, else discount_rate)."""
        return (self.discount_rate if self.equity_discount_rate is None
                else self.equity_discount_rate)


@dataclass(frozen=True)
class Portfolio:
    """Everything one planning run needs, validated. See the module docstring for the frames."""

    settings: Settings
    sites: pd.DataFrame
    options: pd.DataFrame
    site_options: pd.DataFrame
    quarters: pd.DataFrame
    commitments: pd.DataFrame
    scenarios: pd.DataFrame
    source: str = ""
    sha256: str = ""
    warnings: tuple[str, ...] = field(default=())
    read_seconds: float = 0.0  # time to read and validate the workbook

    @property
    def horizon(self) -> int:
        """T, the number of quarters."""
        return self.settings.horizon_quarters

    @property
    def quarter_labels(self) -> list[str]:
        """Labels of quarters 0..T-1."""
        return list(self.quarters["quarter"])

    @property
    def site_names(self) -> list[str]:
        return list(self.sites.index)

    @property
    def option_names(self) -> list[str]:
        return list(self.options.index)

    def t_of(self, label: str) -> int:
        """Index of a quarter label relative to the start quarter (may fall outside 0..T-1)."""
        return quarter_ordinal(label) - quarter_ordinal(self.settings.start_quarter)

    def replace(self, **changes: Any) -> Portfolio:
        """A copy with some fields replaced (frames are not copied unless given)."""
        return dataclasses.replace(self, **changes)
