"""The economics (docs/economics.md) as numpy arrays: one definition for the model and the reports.

`build_economics(portfolio)` turns a validated Portfolio into per-unit cash-flow rows (made in
`models.cash_flows`, from the schedules of `models.finance`):
- every allowed hall start (site s, option o, start quarter tau), one row per *hall*, with its
  revenue, opex, AI power, capex and depreciation in each quarter and its NPV contribution;
- every allowed cooling-module and power-upgrade start, one row per unit;
- the mining margin per MW and quarter of each site.

Everything but mining is linear in the start decisions, so each start's NPV is one number
computed here, up front; the MILP (models/) only adds those numbers up. `evaluate()` computes the
cash flows of any given plan from the same rows, which is how the report's NPV is recomputed
and checked against the solver's objective.

The deal structure (docs/economics.md, "Deal structure") stays in the same rows:
lease expiries and vacancy in occupancy, the tenant's share of capex, the prepayment's receipt,
settlement and refund, equipment purchases and their depreciation, flexibility credits in the
mining margin, each draw's debt annuity (`models.finance.debt_schedule`) and the contracted
terminal value. Each row therefore has a project value and an equity value; `value` is the one
the objective names. With every deal column blank the rows and values are exactly those of the
base economics (multiplications by 1 and additions of 0, the old expressions kept).

Units: money in $M, power in MW, time in quarters t = 0..T-1.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from models.cash_flows import (
    DAYS_PER_QUARTER,
    KW_PER_MW,
    Starts,
    column,
    hall_candidates,
    hall_cash_flows,
    signed_leases,
    upgrade_starts,
)
from models.covenant import coverage_rules
from models.decisions import Decisions
from models.finance import Deal, discount_factors, equity_discount_factors, terminal_factor
from models.portfolio import Portfolio
from models.rules import Rules, build_rules

# A start by business key: (kind, site name, option name or "", start quarter tau), kind one of
# "hall", "cooling", "power". Names, not positions, so it matches across futures whose
# candidates differ (`models.robust`).
StartKey = tuple[str, str, str, int]


@dataclass(frozen=True)
class CandidateIndex:
    """Where each start candidate of an Economics sits in its arrays, by what it is.

    Every mapping lists the candidates in their array order (hall c = 0, 1, ...; then cooling,
    then power in `by_key`), so iterating one is as iterating the arrays. Halls begun before
    the plan (tau < 0) are included.
    """

    hall: dict[tuple[int, int, int], int]  # (site, option, tau) -> hall candidate c
    cooling: dict[tuple[int, int], int]  # (site, tau) -> cooling-module candidate k
    power: dict[tuple[int, int], int]  # (site, tau) -> power-upgrade candidate k
    by_key: dict[StartKey, tuple[str, int]]  # business key -> (kind, candidate index)


@dataclass(frozen=True)
class Economics:
    """All coefficients of one Portfolio, computed once (vectorised)."""

    portfolio: Portfolio
    discount: np.ndarray  # (T,) discount factor DF_t
    terminal_factor: float  # TV = terminal_factor * AI NOI of the last quarter (not contracted)
    tax_rate: float
    mining_margin: np.ndarray  # (S, T) pre-tax $M per MW-quarter of mining, flex credit included
    mining_value: np.ndarray  # (S, T) the objective's value of one MW mined in quarter t
    halls: Starts
    cooling: Starts
    power: Starts
    hall_capex: np.ndarray  # (S, O) capex of one hall, $M (K)
    fixed_halls: np.ndarray  # (C_halls,) halls fixed by commitments begun before the plan (0 else)
    rules: Rules  # what each candidate uses and adds, and every limit (models.rules)
    equity_discount: np.ndarray  # (T,) DF^e_t at equity_discount_rate
    flex_credit: np.ndarray  # (S,) $M per MW-quarter of mining run (inside mining_margin)
    mining_project_value: np.ndarray  # (S, T) after tax, discounted at discount_rate
    mining_equity_value: np.ndarray  # (S, T) after tax, discounted at equity_discount_rate
    contracted: bool = False  # terminal_value = contracted (per-unit terminal values)
    # Board-ready finance (docs/economics.md); zeros when the columns are blank.
    mining_revenue: np.ndarray | None = None  # (S, T) $M per MW-quarter run
    mining_power: np.ndarray | None = None  # (S, T) $M per MW-quarter run
    mining_opex: np.ndarray | None = None  # (S,) $M per MW-quarter run (inside mining_margin)
    idle_rate: np.ndarray | None = None  # (S,) $M per idle grid MW-quarter
    idle_base: np.ndarray | None = None  # (S, T) idle-power income of the empty site, $M
    objective_constant: float = 0.0  # the objective's value of idle_base (after tax)
    signed_halls: np.ndarray | None = None  # (C,) halls of each candidate whose leases are
    # signed (lease_signed start commitments); 0 elsewhere
    first_term_end: np.ndarray | None = None  # (C,) q0 + 4Y, the first lease term's end
    # (exclusive); a huge number where the option has no term
    backlog: np.ndarray | None = None  # (C,) rent due of one hall from quarter 0 to the end
    # of its first term, undiscounted, the quarters after T-1 included ($M)

    def candidate_index(self) -> CandidateIndex:
        """The lookups from what a start is to its candidate index (`CandidateIndex`), built
        once per Economics: the one place they are built."""
        return self._candidate_index

    @cached_property
    def _candidate_index(self) -> CandidateIndex:
        names = self.portfolio.site_names, self.portfolio.option_names
        halls = self.halls
        hall = {(s, o, t): c for c, (s, o, t) in enumerate(zip(
            halls.site.tolist(), halls.option.tolist(), halls.tau.tolist(), strict=True))}
        units = {kind: {(s, t): k for k, (s, t) in enumerate(zip(
            starts.site.tolist(), starts.tau.tolist(), strict=True))}
            for kind, starts in (("cooling", self.cooling), ("power", self.power))}
        by_key: dict[StartKey, tuple[str, int]] = {
            ("hall", names[0][s], names[1][o], t): ("hall", c) for (s, o, t), c in hall.items()}
        for kind, at in units.items():
            by_key.update({(kind, names[0][s], "", t): (kind, k) for (s, t), k in at.items()})
        return CandidateIndex(hall=hall, cooling=units["cooling"], power=units["power"],
                              by_key=by_key)

    def signed_units(self, halls: np.ndarray) -> np.ndarray:
        """(C,) halls of a plan whose leases are signed: min(started, signed)."""
        if self.signed_halls is None:
            return np.zeros(len(halls))
        return np.minimum(np.asarray(halls, float), self.signed_halls)

    @property
    def horizon(self) -> int:
        return len(self.discount)

    @property
    def objective(self) -> str:
        return self.portfolio.settings.objective


def build_economics(portfolio: Portfolio) -> Economics:
    """Compute every coefficient of the model from a validated Portfolio."""
    st = portfolio.settings
    horizon = st.horizon_quarters
    sites, options, quarters = portfolio.sites, portfolio.options, portfolio.quarters
    site_pos = {name: i for i, name in enumerate(sites.index)}
    option_pos = {name: j for j, name in enumerate(options.index)}
    n_sites, n_options = len(sites), len(options)

    discount = discount_factors(st.discount_rate, horizon, st.discounting)
    tv_factor = terminal_factor(portfolio)
    dep_quarters = 4.0 * st.depreciation_years

    hashprice = quarters["hashprice_usd_per_ph_day"].to_numpy(float)
    power_index = quarters["power_index"].to_numpy(float)
    lease_index = quarters["lease_index"].to_numpy(float)
    efficiency = sites["efficiency_j_per_th"].to_numpy(float)
    power_cost = sites["power_cost_usd_per_mwh"].to_numpy(float)
    uptime = sites["uptime"].to_numpy(float)
    hall_mw = sites["hall_it_mw"].to_numpy(float)

    # $ per MW-day = hashprice * 1000 / efficiency (PH/s per MW) - 24 MWh * $/MWh.
    per_mw_day = (hashprice[None, :] * 1000.0 / efficiency[:, None]
                  - 24.0 * power_cost[:, None] * power_index[None, :])
    mining_margin = DAYS_PER_QUARTER * uptime[:, None] * per_mw_day / 1e6
    # Flexibility credits: c $/kW-year per MW of miners run, c * 1000 / 4 / 1e6 $M a quarter.
    flex = column(sites, "flex_credit_usd_per_kw_year", 0.0) * KW_PER_MW / 4.0 / 1e6
    if (flex != 0).any():
        mining_margin = mining_margin + flex[:, None]
    # Mining opex: c $/MW-year per MW run, c / 4 / 1e6 $M a quarter, out of the margin.
    mining_opex = column(sites, "mining_opex_usd_per_mw_year", 0.0) / 4.0 / 1e6
    if (mining_opex != 0).any():
        mining_margin = mining_margin - mining_opex[:, None]
    mining_revenue = (DAYS_PER_QUARTER * uptime[:, None] * hashprice[None, :] * 1000.0
                      / efficiency[:, None] / 1e6)
    mining_power = (DAYS_PER_QUARTER * uptime[:, None] * 24.0 * power_cost[:, None]
                    * power_index[None, :] / 1e6)
    # Idle power: v $/MW-year per grid MW used by neither miners nor halls. Per MW mined the
    # site gives up v / 4 / 1e6 $M of it; the empty site's idle income is a constant.
    idle_rate = column(sites, "idle_power_value_usd_per_mw_year", 0.0) / 4.0 / 1e6
    per_mw = mining_margin - idle_rate[:, None] if (idle_rate != 0).any() else mining_margin
    mining_value = per_mw * (1.0 - st.tax_rate) * discount[None, :]
    equity_discount = equity_discount_factors(portfolio)
    mining_equity = per_mw * (1.0 - st.tax_rate) * equity_discount[None, :]
    deal = Deal.of(portfolio, discount, equity_discount)
    idle_base = idle_rate[:, None] * sites["grid_mw"].to_numpy(float)[:, None] * np.ones(horizon)
    objective_discount = equity_discount if st.objective == "equity_npv" else discount
    constant = float((idle_base * (1.0 - st.tax_rate)) @ objective_discount @ np.ones(
        len(idle_base))) if (idle_rate != 0).any() else 0.0

    pairs = pd.MultiIndex.from_product([sites.index, options.index])
    grid = portfolio.site_options.reindex(pairs)
    allowed = grid["allowed"].to_numpy(bool).reshape(n_sites, n_options)
    capex_mult = grid["capex_multiplier"].to_numpy(float).reshape(n_sites, n_options)
    lease_mult = grid["lease_multiplier"].to_numpy(float).reshape(n_sites, n_options)
    lead = options["lead_quarters"].to_numpy(int)
    hall_capex = (options["capex_musd_per_it_mw"].to_numpy(float)[None, :] * capex_mult
                  * hall_mw[:, None])

    site_idx, option_idx, tau_idx, fixed = hall_candidates(
        portfolio, allowed, lead, site_pos, option_pos)
    halls = hall_cash_flows(portfolio, site_idx, option_idx, tau_idx, hall_capex, lease_mult,
                            lease_index, power_index, power_cost, hall_mw, discount, tv_factor,
                            dep_quarters, deal, idle_rate)
    cooling = upgrade_starts(portfolio, "cooling", discount, tv_factor, dep_quarters, deal,
                             idle_rate)
    power = upgrade_starts(portfolio, "power", discount, tv_factor, dep_quarters, deal,
                           idle_rate)
    equity = st.objective == "equity_npv"
    signed, term_end, backlog = signed_leases(portfolio, halls, hall_mw, lease_mult,
                                              lease_index, site_pos, option_pos)
    covenant = coverage_rules(portfolio, halls, cooling, power,
                              per_mw * (1.0 - st.tax_rate), idle_base * (1.0 - st.tax_rate))
    return Economics(portfolio=portfolio, discount=discount, terminal_factor=tv_factor,
                     tax_rate=st.tax_rate, mining_margin=mining_margin,
                     mining_value=mining_equity if equity else mining_value,
                     halls=halls, cooling=cooling, power=power, hall_capex=hall_capex,
                     fixed_halls=fixed,
                     rules=build_rules(portfolio, halls, cooling, power, covenant),
                     equity_discount=equity_discount, flex_credit=flex,
                     mining_project_value=mining_value, mining_equity_value=mining_equity,
                     contracted=st.terminal_value == "contracted",
                     mining_revenue=mining_revenue, mining_power=mining_power,
                     mining_opex=mining_opex, idle_rate=idle_rate, idle_base=idle_base,
                     objective_constant=constant, signed_halls=signed,
                     first_term_end=term_end, backlog=backlog)


@dataclass(frozen=True)
class Valuation:
    """Cash flows of one plan, per site and quarter ($M), and its NPV.

    The deal lines (tenant capex, prepayment, equipment, flex credit, debt) are zero when their
    columns are blank; `tenant_capex` is not the owner's cash and is not in `net`."""

    mining_margin: np.ndarray  # (S, T) flex credit included
    ai_revenue: np.ndarray  # (S, T) rent due
    ai_opex: np.ndarray  # (S, T)
    ai_power: np.ndarray  # (S, T)
    capex: np.ndarray  # (S, T) owner capex of halls, equipment and upgrades
    depreciation: np.ndarray  # (S, T)
    tax: np.ndarray  # (S, T)
    terminal_value: np.ndarray  # (S,) undiscounted terminal value by site
    discount: np.ndarray  # (T,)
    equity_discount: np.ndarray  # (T,)
    tax_rate: float
    tenant_capex: np.ndarray  # (S, T)
    prepayment: np.ndarray  # (S, T)
    equipment_capex: np.ndarray  # (S, T) (inside capex)
    flex_credit: np.ndarray  # (S, T) (inside mining_margin)
    debt_draw: np.ndarray  # (S, T)
    interest: np.ndarray  # (S, T)
    principal: np.ndarray  # (S, T) balloon included
    debt_balance: np.ndarray  # (S, T) outstanding at the end of the quarter
    # Board-ready finance (docs/economics.md); zeros when the columns are blank.
    mining_revenue: np.ndarray  # (S, T) hashprice income of the MW run
    mining_power: np.ndarray  # (S, T) power cost of the MW run
    mining_opex: np.ndarray  # (S, T) non-power cost of the MW run (inside mining_margin)
    idle_power: np.ndarray  # (S, T) income of grid MW neither mined nor reserved (in net, taxed)
    balloon: np.ndarray  # (S, T) repaid in T-1 beyond the schedule (inside principal)

    @property
    def net(self) -> np.ndarray:
        """(S, T) project net cash flow: margin + revenue + prepayment - opex - power - capex
        - tax + idle power."""
        return (self.mining_margin + self.ai_revenue + self.prepayment - self.ai_opex
                - self.ai_power - self.capex - self.tax) + self.idle_power

    @property
    def cfads(self) -> np.ndarray:
        """(S, T) cash flow available for debt service: net + owner capex - prepayment
        (operations after tax, rent counted as due)."""
        return self.net + self.capex - self.prepayment

    @property
    def debt_service(self) -> np.ndarray:
        """(S, T) interest + scheduled principal (the balloon left out)."""
        return self.interest + self.principal - self.balloon

    @property
    def equity_cash_flow(self) -> np.ndarray:
        """(S, T) net + draws - interest - principal + tax_rate * interest."""
        return (self.net + self.debt_draw - self.interest - self.principal
                + self.tax_rate * self.interest)

    @property
    def site_npv(self) -> np.ndarray:
        """(S,) NPV contribution of each site, terminal value included."""
        return self.net @ self.discount + self.discount[-1] * self.terminal_value

    @property
    def npv(self) -> float:
        return float(self.site_npv.sum())

    @property
    def site_equity_npv(self) -> np.ndarray:
        """(S,) equity NPV of each site: equity cash flows at DF^e, TV at DF^e_{T-1}."""
        return (self.equity_cash_flow @ self.equity_discount
                + self.equity_discount[-1] * self.terminal_value)

    @property
    def equity_npv(self) -> float:
        return float(self.site_equity_npv.sum())


def _by_site(n_sites: int, starts: Starts, units: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Sum units * rows over the candidates of each site: (S, T)."""
    out = np.zeros((n_sites, rows.shape[1]))
    np.add.at(out, starts.site, units[:, None] * rows)
    return out


def evaluate(econ: Economics, decisions: Decisions) -> Valuation:
    """Cash flows of a plan given as units per candidate start and mining MW (S, T).

    The model's objective is sum(value * units) + sum(mining_value * mining_mw); this function
    recomputes the same NPV (or equity NPV) line by line, which `optimizer.solve.optimize` uses
    as a self-audit.
    """
    n_sites = econ.mining_margin.shape[0]
    parts = [(econ.halls, decisions.halls), (econ.cooling, decisions.modules),
             (econ.power, decisions.upgrades)]

    def total(field: str) -> np.ndarray:
        return sum((_by_site(n_sites, st, u, getattr(st, field)) for st, u in parts),
                   start=np.zeros_like(econ.mining_margin))

    margin = econ.mining_margin * decisions.mining
    revenue, opex, power = total("revenue"), total("opex"), total("ai_power")
    capex, depreciation = total("capex"), total("depreciation")
    tax = econ.tax_rate * (margin + revenue - opex - power - depreciation)
    zeros = np.zeros_like(econ.mining_margin)
    idle = zeros
    if econ.idle_rate is not None and (econ.idle_rate != 0).any():
        assert econ.idle_base is not None
        idle = (econ.idle_base + total("idle_power")
                - econ.idle_rate[:, None] * decisions.mining)
        tax = tax + econ.tax_rate * idle
    if econ.contracted:
        terminal = sum((np.bincount(st.site, weights=u * st.terminal, minlength=n_sites)
                        for st, u in parts), start=np.zeros(n_sites))
    else:
        terminal = econ.terminal_factor * (revenue - opex - power)[:, -1]
    return Valuation(mining_margin=margin, ai_revenue=revenue, ai_opex=opex, ai_power=power,
                     capex=capex, depreciation=depreciation, tax=tax,
                     terminal_value=terminal, discount=econ.discount,
                     equity_discount=econ.equity_discount, tax_rate=econ.tax_rate,
                     tenant_capex=total("tenant_capex"), prepayment=total("prepayment"),
                     equipment_capex=total("equipment_capex"),
                     flex_credit=econ.flex_credit[:, None] * decisions.mining,
                     debt_draw=total("debt_draw"), interest=total("interest"),
                     principal=total("principal"), debt_balance=total("debt_balance"),
                     mining_revenue=_per_mw(econ.mining_revenue, decisions.mining),
                     mining_power=_per_mw(econ.mining_power, decisions.mining),
                     mining_opex=_per_mw(econ.mining_opex, decisions.mining),
                     idle_power=idle, balloon=total("balloon"))


def _per_mw(rate: np.ndarray | None, mining: np.ndarray) -> np.ndarray:
    """(S, T) a per-MW-run line ((S, T) or (S,) $M per MW-quarter) times the MW run."""
    if rate is None:
        return np.zeros_like(mining, dtype=float)
    return (rate if rate.ndim == 2 else rate[:, None]) * mining


def objective_npv(econ: Economics, valuation: Valuation) -> float:
    """The NPV the model maximises: the project NPV, or the equity NPV with objective =
    equity_npv."""
    return valuation.equity_npv if econ.objective == "equity_npv" else valuation.npv


def displaced_mining_value(econ: Economics, cands: np.ndarray, available_mw: np.ndarray
                           ) -> np.ndarray:
    """The objective's value of the mining one hall of each candidate in `cands` displaces at
    its site otherwise unconverted, $M: the miners that no longer fit, min(mining, grid) -
    min(mining, available - the hall's grid MW), times the value of a MW mined wherever it is
    positive, from the construction start on. `available_mw` is the site's grid MW (plus an
    upgrade the hall needs). With idle power valued a mined MW's value is already net of the
    idle value it uses, and the hall's own value already charges all of its grid MW as idle
    power lost."""
    rules = econ.rules
    s = econ.halls.site[cands]
    mining = rules.limits.mining_mw[s]
    grid = rules.limits.grid_mw[s]
    need = rules.halls.grid_mw[cands]
    mw = np.minimum(mining, grid) - np.minimum(mining, np.maximum(0.0, available_mw - need))
    t = np.arange(econ.horizon)[None, :]
    positive = np.where(t >= econ.halls.tau[cands][:, None],
                        np.maximum(econ.mining_value[s], 0.0), 0.0)
    return mw * positive.sum(axis=1)


def hall_net_values(econ: Economics) -> np.ndarray:
    """(C,) THE value of one hall net of the mining it displaces (the one definition the greedy
    ranking, the Value of timing and Why-not read): its objective value less
    `displaced_mining_value` at its site's grid power."""
    cands = np.arange(len(econ.halls))
    return econ.halls.value - displaced_mining_value(
        econ, cands, econ.rules.limits.grid_mw[econ.halls.site])


def dispatch_mining(econ: Economics, power_left: np.ndarray) -> np.ndarray | None:
    """Best mining MW (S, T) given the power each site has left for miners.

    Each site mines its full capacity when its margin is positive; a portfolio mining floor is
    met with the highest-margin remaining capacity first (the LP optimum, since the after-tax
    value is linear). None if the floor cannot be met.
    """
    cap = np.minimum(econ.rules.limits.mining_mw[:, None], np.maximum(power_left, 0.0))
    mining = np.where(econ.mining_value > 0, cap, 0.0)
    floor = econ.rules.limits.min_mining_mw
    for t in np.flatnonzero(np.isfinite(floor)):
        short = floor[t] - mining[:, t].sum()
        for s in np.argsort(-econ.mining_value[:, t]):
            if short <= 1e-9:
                break
            extra = min(cap[s, t] - mining[s, t], short)
            mining[s, t] += extra
            short -= extra
        if short > 1e-6:
            return None
    return mining


def mining_only(econ: Economics) -> Decisions | None:
    """The portfolio never converted, the counterfactual of the conversion metrics
    (docs/economics.md, "Conversion metrics"): no hall, cooling module or power upgrade started
    in the plan; halls begun before the plan (`fixed_halls`, their capex sunk) stay, as in every
    plan; miners dispatched by `dispatch_mining` on the power left, i.e. a site mines
    min(mining_mw, grid_mw - MW its earlier halls reserve) when its margin is positive, the
    portfolio mining floor honoured. None if even that cannot meet the floor.

    Start commitments inside the plan are part of the conversion programme and are not kept
    (the "never convert" strategy of the Value of timing keeps them: it must be feasible).
    """
    n_sites, horizon = econ.mining_margin.shape
    halls = np.asarray(econ.fixed_halls, dtype=float).copy()
    nothing = Decisions(halls, np.zeros(len(econ.cooling)), np.zeros(len(econ.power)),
                        np.zeros((n_sites, horizon)))
    usage = econ.rules.usage(nothing)
    mining = dispatch_mining(econ, usage.power_available - usage.reserved_mw)
    return None if mining is None else nothing.with_mining(mining)
