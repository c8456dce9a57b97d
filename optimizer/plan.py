"""The answer of one planning run: decisions, cash flows and how the solver stopped.

A `Plan` holds plain Python and pandas values only, never Pyomo objects, so report writers,
sweeps and comparisons can use it without knowing how it was solved. Its cash flows are computed
by `models.economics` from the decisions alone; `Plan.npv_musd` is that recomputed NPV, and
`optimizer.solve.optimize` checks it against the solver's objective before a Plan is returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.finance import equity_discount_factors
from models.portfolio import Portfolio
from optimizer.solve.status import Status, Termination

__all__ = ["Plan", "Status", "Termination"]  # Status: what solution exists (optimize.py)

DECISION_COLUMNS = ["site", "option", "start_quarter", "halls", "it_mw", "online_quarter",
                    "capex_musd", "npv_musd", "irr", "payback_quarter",
                    # Board-ready finance: on the start's lease-life flows (npv_musd, irr and
                    # payback_quarter too); whether its leases are signed.
                    "moic", "lease_signed"]
UPGRADE_COLUMNS = ["site", "kind", "start_quarter", "units", "mw", "online_quarter",
                   "capex_musd"]
# Portfolio cash flows, one row per quarter ($M); terminal value is kept apart.
CASH_FLOW_COLUMNS = ["quarter", "mining_margin_musd", "ai_revenue_musd", "ai_opex_musd",
                     "ai_power_musd", "capex_musd", "depreciation_musd", "tax_musd", "net_musd",
                     "discount_factor", "discounted_musd", "cumulative_discounted_musd",
                     # Deal structure (zero when its columns are blank): tenant capex is not
                     # the owner's cash; prepayment is inside net (+P received, - rent settled,
                     # - refund at T-1); equipment inside capex; flex credit inside the margin.
                     "tenant_funded_capex_musd", "prepayment_musd", "equipment_capex_musd",
                     "flex_credit_musd", "debt_draw_musd", "interest_musd", "principal_musd",
                     "debt_outstanding_musd", "equity_cash_flow_musd", "equity_discounted_musd",
                     # The conversion metrics' lines: the portfolio never converted
                     # (models.economics.mining_only), the plan's net less it, and that with
                     # the incremental terminal value added in T-1 (=IRR() of it is the
                     # quarterly conversion IRR).
                     "mining_only_net_musd", "incremental_net_musd",
                     "incremental_irr_flow_musd",
                     # What counts against budget_musd that quarter (not a cash flow): the
                     # owner's capex, or its equity share under budget_basis = equity.
                     "budget_use_musd",
                     # Board-ready finance (docs/economics.md): mining_margin = mining revenue
                     # - mining power - mining opex + flex credit; idle power is in net;
                     # CFADS = net + capex - prepayment; debt service = interest + principal
                     # - balloon; dscr = CFADS / debt service (blank without debt service).
                     "mining_revenue_musd", "mining_power_musd", "mining_opex_musd",
                     "idle_power_musd", "cfads_musd", "debt_service_musd", "balloon_musd",
                     "dscr"]
# One row per year of the plan ($M); debt outstanding at the end of the year's last quarter.
ANNUAL_COLUMNS = ["year", "revenue_musd", "ebitda_musd", "capex_musd",
                  "project_cash_flow_musd", "equity_cash_flow_musd", "debt_outstanding_musd",
                  # Board-ready finance: revenue = mining revenue + flex credits + idle power
                  # + rent due; EBITDA = revenue - power - opex (mining and AI); rent due split
                  # into contracted (signed halls in their first term) and planned; the
                  # year's CFADS and debt service and their ratio.
                  "mining_revenue_musd", "power_musd", "opex_musd",
                  "ai_revenue_contracted_musd", "ai_revenue_planned_musd", "cfads_musd",
                  "debt_service_musd", "dscr"]
# The conversion metrics: the plan's cash flows less those of the portfolio never converted.
CONVERSION_METRIC_NAMES = ["conversion_npv_musd", "conversion_irr", "conversion_equity_irr",
                           "conversion_moic", "conversion_payback_quarter"]
# Appended (with a pointer) to the note of a contract metric the mining income leaves blank.
MINING_INCOME = "; these flows include the whole portfolio's mining income"
# The Summary's deal metrics (docs/economics.md, "Deal structure"): metric, value, unit, note.
# In the Summary's order (docs/economics.md, "Board-ready finance"): the headline (after
# npv_musd), then the plan-level returns.
METRIC_NAMES = ["equity_npv_musd",
                # What the conversion earns over the portfolio kept mining (docs/economics.md).
                *CONVERSION_METRIC_NAMES,
                "min_dscr", "refinancing_musd", "contracted_backlog_musd",
                "contracted_npv_share", "npv_beyond_horizon_share",
                "project_irr", "equity_irr", "moic", "payback_quarter",
                "discounted_payback_quarter"]
# Per site and quarter: MW and capacity use (long format).
CAPACITY_COLUMNS = ["site", "quarter", "mining_mw", "ai_it_mw_online", "halls_building",
                    "halls_hosting", "power_used_mw", "power_available_mw", "cooling_used_mw",
                    "cooling_available_mw"]
# Every constraint row of the model with its use, limit and slack; `binding` when the slack
# cannot take one more of the smallest unit that uses the limit (halls are lumpy).
CONSTRAINT_COLUMNS = ["constraint", "family", "site", "quarter", "used", "limit", "slack",
                      "binding"]


@dataclass
class Plan:
    """One plan and its provenance. Money in $M; MW; quarters as labels (`2027Q1`)."""

    portfolio: Portfolio
    status: Status  # "optimal": proven within the requested gap; "feasible": a plan whose
    # optimality is not proven (time limit), with its gap stated
    termination: Termination  # why the solver stopped: optimal, time_limit, infeasible, ...
    npv_musd: float  # NPV recomputed from the decisions (NaN when no plan exists)
    objective_musd: float  # the solver's objective value
    bound_musd: float  # best proven upper bound on NPV
    gap: float  # relative gap (bound - npv) / |npv|; 0 when optimal to tolerance
    decisions: pd.DataFrame  # DECISION_COLUMNS
    upgrades: pd.DataFrame  # UPGRADE_COLUMNS
    cash_flows: pd.DataFrame  # CASH_FLOW_COLUMNS, one row per quarter
    terminal_value_musd: float  # discounted terminal value included in npv_musd
    site_npv_musd: pd.Series  # NPV contribution of each site, its terminal value included
    # (the sites add up to npv_musd)
    mining_mw: pd.DataFrame  # sites x quarter labels
    capacity: pd.DataFrame  # CAPACITY_COLUMNS
    constraints: pd.DataFrame  # CONSTRAINT_COLUMNS
    mip_gap_requested: float = 0.001  # the relative gap the solve was asked to prove
    method: str = "monolithic"
    greedy_npv_musd: float | None = None
    greedy_objective_musd: float | None = None  # its objective's NPV (equity NPV if that)
    greedy_halls: int | None = None  # halls the greedy plan starts, committed ones included
    timings: dict[str, float] = field(default_factory=dict)  # read, build, solve, ... seconds
    solver_log: str = ""
    time_limit_s: float = float("nan")  # the solver's time limit
    # The solve's effort (effort seconds: `optimizer.solve.options`, deterministic work that
    # takes about as many seconds on an idle machine), what it spent, and whether the plan is
    # reproducible: False when the wall-clock safety cap, not the effort, stopped a solve.
    effort_s: float = float("nan")
    effort_spent_s: float = float("nan")
    reproducible: bool = True
    # (seconds since the solve began, proven bound, best NPV) each time HiGHS reported progress
    solver_trace: list[tuple[float, float, float]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Explanations added after the solve by `optimizer.replan.replan` (None: not computed):
    why_not: pd.DataFrame | None = None  # replan.WHY_NOT_COLUMNS, one row per site left mining
    timing_value: pd.DataFrame | None = None  # replan.TIMING_COLUMNS, this plan vs simple timings
    baseline_changes: pd.DataFrame | None = None  # compare.CHANGE_COLUMNS + note, vs a baseline
    baseline_metrics: pd.DataFrame | None = None  # metric, value, unit, note: NPV vs the baseline
    # What to commit now (`optimizer.replan.firmness`; None: not computed): the commit-now
    # starts' firmness (FIRMNESS_COLUMNS), each site's first-start window (WINDOW_COLUMNS), the
    # alternatives (ALTERNATIVE_COLUMNS) and their starts (ALTERNATIVE_DECISION_COLUMNS).
    firmness: pd.DataFrame | None = None
    timing_windows: pd.DataFrame | None = None
    alternatives: pd.DataFrame | None = None
    alternative_decisions: pd.DataFrame | None = None
    # Deal structure (docs/economics.md): equity NPV, the metrics (METRIC_NAMES rows: metric, value,
    # unit, note) and the Annual table (ANNUAL_COLUMNS).
    equity_npv_musd: float = float("nan")
    deal_metrics: pd.DataFrame | None = None
    annual: pd.DataFrame | None = None
    # Board-ready finance (docs/economics.md): the SourcesUses sheet (line x year + total) and
    # the Sites sheet's conversion returns (site index, SITE_RETURN columns).
    sources_uses: pd.DataFrame | None = None
    site_returns: pd.DataFrame | None = None
    # Sites whose terminal value is more than half their NPV (named in the Summary's account).
    beyond_horizon_sites: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # A word from elsewhere (a test fixture, a pickled sweep row) becomes its member; an
        # unknown word is an error here, not a wrong report later.
        self.status = Status(self.status)
        self.termination = Termination(self.termination)

    def cash_flows_with_terminal_value(self) -> pd.DataFrame:
        """`cash_flows` and one more row, quarter "terminal value", holding the discounted
        terminal value in `discounted_musd`: its `discounted_musd` adds up to `npv_musd`, and
        its last `cumulative_discounted_musd` is the NPV."""
        cf = self.cash_flows
        row: dict[str, object] = {c: float("nan") for c in CASH_FLOW_COLUMNS}
        row["quarter"] = "terminal value"
        row["discounted_musd"] = self.terminal_value_musd
        before = float(cf["cumulative_discounted_musd"].iloc[-1]) if len(cf) else 0.0
        row["cumulative_discounted_musd"] = before + self.terminal_value_musd
        return pd.concat([cf, pd.DataFrame([row], columns=CASH_FLOW_COLUMNS)],
                         ignore_index=True)

    @property
    def equity_discount_factors(self) -> np.ndarray:
        """DF^e_t of each quarter of the plan (`models.finance.equity_discount_factors`):
        what the equity cash flows and the equity's share of the terminal value are discounted
        by."""
        return equity_discount_factors(self.portfolio)

    @property
    def halls_converted(self) -> int:
        return int(self.decisions["halls"].sum()) if len(self.decisions) else 0

    @property
    def objective_npv_musd(self) -> float:
        """The NPV this plan maximises, recomputed from its decisions: the project NPV, or the
        equity NPV under objective = equity_npv (what `bound_musd` bounds)."""
        if self.portfolio.settings.objective == "equity_npv":
            return self.equity_npv_musd
        return self.npv_musd

    @property
    def uplift_vs_greedy_musd(self) -> float | None:
        if self.greedy_npv_musd is None:
            return None
        return self.npv_musd - self.greedy_npv_musd
