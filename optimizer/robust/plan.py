"""`RobustPlan`: the answer of `optimizer.robust.robust.robust()`, plain values and frames.

Every number is in $M. Signs: VSS = RP - EEV >= 0 is what the robust first stage adds over the
deterministic one; EVPI = WS - RP >= 0 is what perfect foresight would add over the robust plan.
Its DataFrames are the robust report's sheets (`optimizer.robust.report`), with the columns
below. No Pyomo objects here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from models.portfolio import Portfolio
from models.robust import FirstKey
from optimizer.budget import RunBudget
from optimizer.plan import Plan
from optimizer.robust.recourse import RecourseResult

SCENARIO_COLUMNS = [
    "scenario", "weight", "changes", "npv_robust_musd", "npv_deterministic_musd",
    "npv_wait_and_see_musd", "robust_minus_deterministic_musd", "status_robust", "gap_robust",
    "status_deterministic", "gap_deterministic", "status_wait_and_see", "gap_wait_and_see",
    "first_stage_halls", "message"]
DISTRIBUTION_COLUMNS = ["first_stage", "measure", "value_musd", "bound_musd", "gap_musd"]
OUT_OF_SAMPLE_COLUMNS = ["draw", "changes", "npv_robust_musd", "npv_deterministic_musd",
                         "robust_minus_deterministic_musd", "status_robust", "gap_robust",
                         "status_deterministic", "gap_deterministic"]
SUMMARY_COLUMNS = ["metric", "value", "unit", "note"]


@dataclass
class RobustPlan:
    """The answer of `robust()`. The DataFrames are the report's sheets (same columns)."""

    portfolio: Portfolio
    status: str  # optimal (proven within mip_gap) | feasible (gap stated)
    method: str  # extensive | decomposition
    commit_quarters: int
    risk_weight: float
    cvar_level: float
    objective_musd: float  # RP: (1 - W) E[NPV] + W CVaR of the robust first stage
    bound_musd: float  # proven upper bound on RP
    gap: float  # relative (bound - RP) / |RP|
    expected_npv_musd: float
    cvar_npv_musd: float
    eev_musd: float  # the same objective, deterministic first stage (-inf: infeasible somewhere)
    eev_bound_musd: float
    wait_and_see_musd: float
    wait_and_see_bound_musd: float
    vss_musd: float
    vss_low_musd: float  # VSS proven at least this (RP - upper bound of EEV)
    vss_significant: bool
    evpi_musd: float
    evpi_high_musd: float  # EVPI at most this (bound of WS - RP)
    mip_gap_requested: float
    first_stage: dict[FirstKey, float]  # the robust first stage by business key
    deterministic_first_stage: dict[FirstKey, float]
    summary: pd.DataFrame  # SUMMARY_COLUMNS
    first_stage_decisions: pd.DataFrame  # DECISION_COLUMNS (what to commit now: halls)
    first_stage_upgrades: pd.DataFrame  # UPGRADE_COLUMNS (cooling modules, power upgrades)
    deterministic_decisions: pd.DataFrame  # DECISION_COLUMNS, the deterministic first stage
    deterministic_upgrades: pd.DataFrame
    scenarios: pd.DataFrame  # SCENARIO_COLUMNS
    stability: pd.DataFrame  # site, by_<year>_share (weighted share of futures started)
    distribution: pd.DataFrame  # DISTRIBUTION_COLUMNS
    out_of_sample: pd.DataFrame | None  # OUT_OF_SAMPLE_COLUMNS
    account: list[str]  # the plain-language account
    deterministic: Plan
    robust_results: list[RecourseResult] = field(default_factory=list)
    deterministic_results: list[RecourseResult] = field(default_factory=list)
    wait_and_see_results: list[RecourseResult] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    log: str = ""
    budget: RunBudget = field(default_factory=lambda: RunBudget(math.nan))  # time per solve
    capped: int = 0  # solves the whole run's total time cut short: not reproducible
    # The first stage's firmness (`optimizer.robust.firmness`): each start's Firmness columns
    # by key (None: not assessed) and the phase, stated.
    firmness: dict[FirstKey, dict[str, object]] | None = None
    firmness_phase: str = ""

    @property
    def reproducible(self) -> bool:
        """False when the whole run's total time (a wall-clock cap) cut solves short."""
        return self.capped == 0
