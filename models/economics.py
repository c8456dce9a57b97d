"""The economics (docs/economics.md) as numpy arrays: one definition for the model and the reports.

`build_economics(portfolio)` turns a validated Portfolio into per-unit cash-flow rows:
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
mining margin, each draw's debt annuity (`debt_schedule`) and the contracted terminal value.
Each row therefore has a project value and an equity value; `value` is the one the objective
names. With every deal column blank the rows and values are exactly those of the base
economics (multiplications by 1 and additions of 0, the old expressions kept).

Units: money in $M, power in MW, time in quarters t = 0..T-1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.decisions import Decisions
from models.errors import InputError
from models.portfolio import Portfolio
from models.rules import Rules, build_rules, coverage_rules

DAYS_PER_QUARTER = 365.25 / 4
HOURS_PER_QUARTER = 24 * DAYS_PER_QUARTER
MONTHS_PER_QUARTER = 3
KW_PER_MW = 1000


@dataclass(frozen=True)
class Starts:
    """Candidate starts of one kind (halls, cooling modules or power upgrades), one row each.

    Arrays of length C (candidates) or shape (C, T) hold the cash flows of ONE unit (one hall,
    one module, one upgrade) started as that candidate, in $M per quarter.
    """

    site: np.ndarray  # (C,) site index
    option: np.ndarray  # (C,) option index (-1 for upgrades)
    tau: np.ndarray  # (C,) start quarter (may be < 0 for halls begun before the plan)
    online: np.ndarray  # (C,) first quarter the unit counts (tau + lead)
    revenue: np.ndarray  # (C, T)
    opex: np.ndarray  # (C, T)
    ai_power: np.ndarray  # (C, T)
    capex: np.ndarray  # (C, T) owner capex in quarters >= 0 only (earlier spend is sunk)
    depreciation: np.ndarray  # (C, T)
    value: np.ndarray  # (C,) the objective's value of one unit, $M (project or equity NPV)
    # Deal structure (docs/economics.md, "Deal structure"); all zero when its columns are blank.
    tenant_capex: np.ndarray  # (C, T) capex the tenant funds (not the owner's cash)
    prepayment: np.ndarray  # (C, T) +P received, - rent settled from it, - refund at T-1
    equipment_capex: np.ndarray  # (C, T) IT equipment bought (also inside capex)
    debt_draw: np.ndarray  # (C, T) debt_ltc * capex
    interest: np.ndarray  # (C, T)
    principal: np.ndarray  # (C, T) the balloon at T-1 included
    debt_balance: np.ndarray  # (C, T) debt outstanding at the end of each quarter
    terminal: np.ndarray  # (C,) terminal value at T-1 of one unit, undiscounted
    project_value: np.ndarray  # (C,) project NPV of one unit
    equity_value: np.ndarray  # (C,) equity NPV of one unit
    # Board-ready finance (docs/economics.md); zero (or equal to project_value) when blank.
    idle_power: np.ndarray  # (C, T) change in the site's idle-power income (a hall: -v x grid
    # MW from tau; a power upgrade: +v x MW from online), before tax
    balloon: np.ndarray  # (C, T) the part of principal repaid in T-1 beyond the schedule
    tail: np.ndarray  # (C, E) lease-life flows after T-1 (contracted: NOI of the running term,
    # after tax when taxed; E = 0 otherwise)
    life_value: np.ndarray  # (C,) NPV of one unit's lease-life flows (its own flows: no idle
    # power displaced); the Decisions' npv_musd

    def __len__(self) -> int:
        return len(self.site)

    @property
    def net(self) -> np.ndarray:
        """(C, T) project net cash flow of one unit, before tax."""
        return self.revenue - self.opex - self.ai_power + self.prepayment - self.capex

    def life_flows(self, c: int, tax_rate: float) -> np.ndarray:
        """One unit's lease-life flows (docs/economics.md, "Board-ready finance"): its own
        after-tax flows in quarters 0..T-1 (rent due and prepayment, less opex, AI power, owner
        capex and the tax on NOI less depreciation), then under `contracted` one flow per
        quarter of the lease term running at T-1 (`tail`), else its terminal value in T-1."""
        noi = self.revenue[c] - self.opex[c] - self.ai_power[c]
        own = noi + self.prepayment[c] - self.capex[c] - tax_rate * (noi - self.depreciation[c])
        if self.tail.shape[1]:
            return np.concatenate([own, self.tail[c]])
        own = own.copy()
        own[-1] += self.terminal[c]
        return own


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
    # `candidate_index()`'s answer, built on first use (not an input: left out of init, repr
    # and comparisons; `dataclasses.replace` starts a fresh one).
    _candidates: CandidateIndex | None = field(default=None, init=False, repr=False,
                                                compare=False)

    def candidate_index(self) -> CandidateIndex:
        """The lookups from what a start is to its candidate index (`CandidateIndex`), built
        once per Economics: the one place they are built."""
        if self._candidates is None:
            names = self.portfolio.site_names, self.portfolio.option_names
            halls = self.halls
            hall = {(s, o, t): c for c, (s, o, t) in enumerate(zip(
                halls.site.tolist(), halls.option.tolist(), halls.tau.tolist(), strict=True))}
            units = {kind: {(s, t): k for k, (s, t) in enumerate(zip(
                starts.site.tolist(), starts.tau.tolist(), strict=True))}
                for kind, starts in (("cooling", self.cooling), ("power", self.power))}
            by_key: dict[StartKey, tuple[str, int]] = {
                ("hall", names[0][s], names[1][o], t): ("hall", c)
                for (s, o, t), c in hall.items()}
            for kind, at in units.items():
                by_key.update({(kind, names[0][s], "", t): (kind, k) for (s, t), k in at.items()})
            # Frozen: written once, the way a cached property would be.
            object.__setattr__(self, "_candidates", CandidateIndex(
                hall=hall, cooling=units["cooling"], power=units["power"], by_key=by_key))
        assert self._candidates is not None
        return self._candidates

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


def column(frame: pd.DataFrame, name: str, default: float) -> np.ndarray:
    """A numeric column as floats, blanks (and an absent column) taking `default`.

    Frames built by hand (tests, benchmarks) may lack the optional deal columns."""
    if name not in frame.columns:
        return np.full(len(frame), float(default))
    return frame[name].astype(float).fillna(default).to_numpy(float)


@dataclass(frozen=True)
class Deal:
    """The run-wide deal terms (Settings), and the debt schedule of a unit draw.

    A draw of 1 in quarter s is its own loan: a level quarterly annuity over n = 4N quarters
    at r = i/4 from s+1; after the payments of T-1, what is left is repaid in T-1 (the balloon).
    `interest[s, t]`, `principal[s, t]` and `balance[s, t]` (outstanding at the end of t) hold
    that schedule, so a (C, T) draw matrix D has interest D @ interest, and so on.
    """

    ltc: float
    tax_rate: float
    discount: np.ndarray  # (T,)
    equity_discount: np.ndarray  # (T,)
    interest: np.ndarray  # (T, T)
    principal: np.ndarray  # (T, T)
    balance: np.ndarray  # (T, T)
    balloon: np.ndarray  # (T, T) the part of principal repaid in T-1 beyond the schedule

    @classmethod
    def of(cls, portfolio: Portfolio, discount: np.ndarray, equity_discount: np.ndarray
           ) -> Deal:
        st = portfolio.settings
        horizon = portfolio.horizon
        ltc = float(st.debt_ltc or 0.0)
        interest = np.zeros((horizon, horizon))
        principal = np.zeros((horizon, horizon))
        balance = np.zeros((horizon, horizon))
        balloon = np.zeros((horizon, horizon))
        if ltc > 0:
            rate = float(st.debt_rate or 0.0) / 4.0
            payments = round(4 * float(st.debt_tenor_years or 0.0))
            interest, principal, balance = debt_schedule(rate, payments, horizon)
            balloon = balloon_schedule(rate, payments, horizon)
        return cls(ltc=ltc, tax_rate=st.tax_rate, discount=discount,
                   equity_discount=equity_discount, interest=interest, principal=principal,
                   balance=balance, balloon=balloon)


def debt_schedule(rate: float, payments: int, horizon: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T, T) interest, principal and end-of-quarter balance in quarter t of 1 drawn in s.

    Level annuity A = r / (1 - (1+r)^-n) (1/n at r = 0), paid in s+1 .. s+n; interest r times
    the balance, the rest principal; the balance left after the payment of T-1 is repaid then.
    """
    k = np.arange(horizon + 1, dtype=float)  # payments made
    if rate > 0:
        growth = (1.0 + rate) ** k
        annuity = rate / (1.0 - (1.0 + rate) ** (-payments))
        left = growth - annuity * (growth - 1.0) / rate  # balance after k payments
    else:
        left = 1.0 - k / payments
    left = np.where(k >= payments, 0.0, np.maximum(left, 0.0))
    lag = np.arange(horizon)[None, :] - np.arange(horizon)[:, None]  # t - s
    paid = (lag >= 1) & (lag <= payments)
    before = left[np.clip(lag - 1, 0, horizon)]
    after = left[np.clip(lag, 0, horizon)]
    interest = np.where(paid, rate * before, 0.0)
    principal = np.where(paid, before - after, 0.0)
    balance = np.where(lag >= 0, after, 0.0)
    # The balloon: what is still owed after the payments of T-1 is repaid in T-1.
    principal[:, -1] += balance[:, -1]
    balance[:, -1] = 0.0
    return interest, principal, balance


def balloon_schedule(rate: float, payments: int, horizon: int) -> np.ndarray:
    """(T, T): the balloon of 1 drawn in s, in quarter T-1 only: what `debt_schedule` repays
    in T-1 beyond that quarter's scheduled payment (the balance left after it)."""
    out = np.zeros((horizon, horizon))
    # On a horizon one quarter longer, the balance at the end of T-1 is what is still owed
    # after T-1's scheduled payment (no balloon there yet).
    _interest, _principal, longer = debt_schedule(rate, payments, horizon + 1)
    out[:, -1] = longer[:horizon, horizon - 1]
    return out


def discount_factors(rate: float, horizon: int, timing: str) -> np.ndarray:
    """DF_t = (1+r)^(-(t+1)/4) for end-of-quarter, (1+r)^(-(t+0.5)/4) for mid-quarter."""
    offset = 1.0 if timing == "end" else 0.5
    return (1.0 + rate) ** (-(np.arange(horizon) + offset) / 4.0)


def equity_discount_factors(portfolio: Portfolio) -> np.ndarray:
    """DF^e_t, t = 0..T-1: the equity cash flows' discount factors, at the equity rate
    (equity_discount_rate; blank = discount_rate) with the plan's end- or mid-quarter timing."""
    st = portfolio.settings
    return discount_factors(st.equity_rate, st.horizon_quarters, st.discounting)


def terminal_factor(portfolio: Portfolio) -> float:
    """Multiplier of the last quarter's AI NOI giving the (undiscounted) terminal value; with
    terminal_value_tax = taxed (the default) the NOI is after tax, NOI x (1 - tax_rate)."""
    s = portfolio.settings
    after_tax = 1.0 - s.tax_rate if s.terminal_value_tax == "taxed" else 1.0
    if s.terminal_value == "multiple":
        return float(s.terminal_multiple or 0.0) * 4.0 * after_tax
    if s.terminal_value == "gordon":
        g = float(s.terminal_growth or 0.0)
        return 4.0 * (1.0 + g) / (s.discount_rate - g) * after_tax
    return 0.0


def straight_line(amount: np.ndarray, online: np.ndarray, quarters: float, horizon: int
                  ) -> np.ndarray:
    """(C, T) depreciation: amount / n in each quarter overlapping [online, online + n)."""
    t = np.arange(horizon)[None, :]
    start = online[:, None].astype(float)
    overlap = np.clip(np.minimum(t + 1, start + quarters) - np.maximum(t, start), 0.0, 1.0)
    return amount[:, None] / quarters * overlap


def spread_evenly(amount: np.ndarray, tau: np.ndarray, lead: np.ndarray, horizon: int
                  ) -> np.ndarray:
    """(C, T) capex: amount / lead in each quarter tau .. tau+lead-1 (quarters >= 0 only)."""
    t = np.arange(horizon)[None, :]
    building = (t >= tau[:, None]) & (t < (tau + lead)[:, None])
    return np.where(building, (amount / lead)[:, None], 0.0)


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

    site_idx, option_idx, tau_idx, fixed = _hall_candidates(
        portfolio, allowed, lead, site_pos, option_pos)
    halls = _hall_cash_flows(portfolio, site_idx, option_idx, tau_idx, hall_capex, lease_mult,
                             lease_index, power_index, power_cost, hall_mw, discount, tv_factor,
                             dep_quarters, deal, idle_rate)
    cooling = _upgrade_starts(portfolio, "cooling", discount, tv_factor, dep_quarters, deal,
                              idle_rate)
    power = _upgrade_starts(portfolio, "power", discount, tv_factor, dep_quarters, deal,
                            idle_rate)
    equity = st.objective == "equity_npv"
    signed, term_end, backlog = _signed_leases(portfolio, halls, hall_mw, lease_mult,
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


def _signed_leases(portfolio: Portfolio, halls: Starts, hall_mw: np.ndarray,
                   lease_mult: np.ndarray, lease_index: np.ndarray, site_pos: dict[str, int],
                   option_pos: dict[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signed halls per candidate, each candidate's first-term end, and one hall's backlog.

    A `start` commitment with lease_signed TRUE signs the leases of its halls on its option's
    terms (validation requires the option and its lease_term_years). The backlog of one hall
    is its rent due from quarter 0 (or its delivery) to q0 + 4Y - 1, at the delivery rate
    escalating yearly, ramping as in the plan, no renewal and no vacancy (docs/economics.md,
    "Board-ready finance")."""
    n = len(halls)
    signed = np.zeros(n)
    opt = portfolio.options
    term_years = column(opt, "lease_term_years", np.nan)[halls.option]
    has_term = np.isfinite(term_years)
    term = np.where(has_term, np.round(4.0 * np.nan_to_num(term_years, nan=0.0)), 0).astype(int)
    term_end = np.where(has_term, halls.online + term, np.iinfo(np.int64).max // 4)
    backlog = np.zeros(n)
    commitments = portfolio.commitments
    if "lease_signed" not in commitments.columns:
        return signed, term_end, backlog
    for row in commitments.itertuples(index=False):
        signed_row = isinstance(row.lease_signed, bool | np.bool_) and bool(row.lease_signed)
        if row.action != "start" or not signed_row or not isinstance(row.option, str):
            continue
        match = np.flatnonzero((halls.site == site_pos[row.site])
                               & (halls.option == option_pos[row.option])
                               & (halls.tau == portfolio.t_of(row.quarter)))
        signed[match] += float(row.halls)
    rows = np.flatnonzero((signed > 0) & has_term)  # validation requires the term
    if len(rows):
        horizon = portfolio.horizon
        s, o, q0 = halls.site[rows], halls.option[rows], halls.online[rows]
        ramp = opt["ramp_quarters"].to_numpy(float)[o]
        esc = opt["lease_escalator"].to_numpy(float)[o]
        delivery = (opt["lease_usd_per_kw_month"].to_numpy(float)[o] * lease_mult[s, o]
                    * lease_index[np.clip(q0, 0, horizon - 1)])
        u = np.arange(int(term_end[rows].max()) + 1)[None, :]
        since = u - q0[:, None]
        due = (u < term_end[rows][:, None]) & (since >= 0)
        occupancy = np.minimum(1.0, (since + 1) / ramp[:, None])
        rate = delivery[:, None] * (1.0 + esc[:, None]) ** (np.maximum(since, 0) / 4.0)
        mw_months = hall_mw[s] * KW_PER_MW * MONTHS_PER_QUARTER / 1e6
        backlog[rows] = np.where(due, rate * occupancy, 0.0).sum(axis=1) * mw_months
    return signed, term_end, backlog


def _hall_candidates(portfolio: Portfolio, allowed: np.ndarray, lead: np.ndarray,
                     site_pos: dict[str, int], option_pos: dict[str, int]
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every (site, option, start quarter) a hall may start at, plus committed past starts.

    Eligible: the option is allowed at the site and not excluded; earliest_start and any
    not_before quarter have passed; the hall is online by the last quarter (tau + L <= T-1).
    A `start` commitment adds its own (site, option, quarter) even where otherwise ineligible
    (validation has rejected the contradictory ones). Starts before quarter 0 come only from
    commitments; they are fixed at the committed number of halls (returned as `fixed`).
    """
    horizon = portfolio.horizon
    sites, options = portfolio.sites, portfolio.options
    first = np.array([max(0, portfolio.t_of(q)) for q in sites["earliest_start"]], dtype=int)
    first = np.repeat(first[:, None], len(options), axis=1)
    usable = allowed.copy()
    commitments = portfolio.commitments
    forced: dict[tuple[int, int, int], int] = {}
    problems: list[str] = []
    for row in commitments.itertuples(index=False):
        s = site_pos[row.site]
        opts = (range(len(options)) if row.option is None or pd.isna(row.option)
                else [option_pos[row.option]])
        if row.action == "exclude":
            for o in opts:
                usable[s, o] = False
        elif row.action == "not_before":
            for o in opts:
                first[s, o] = max(first[s, o], portfolio.t_of(row.quarter))
    for row in commitments.itertuples(index=False):
        if row.action != "start":
            continue
        s, t = site_pos[row.site], portfolio.t_of(row.quarter)
        if row.option is None or pd.isna(row.option):
            if t < 0:
                problems.append(f"Commitments: the start of {int(row.halls)} hall(s) at "
                                f"{row.site} in {row.quarter}, before the plan, must name its "
                                "option")
                continue
            for o in range(len(options)):
                if allowed[s, o] and t + lead[o] <= horizon - 1:
                    forced.setdefault((s, o, t), 0)
        else:
            o = option_pos[row.option]
            key = (s, o, t)
            forced[key] = forced.get(key, 0) + (int(row.halls) if t < 0 else 0)
    if problems:
        raise InputError(problems, portfolio.source)

    cand: set[tuple[int, int, int]] = set(forced)
    for s in range(len(sites)):
        for o in range(len(options)):
            if usable[s, o]:
                cand.update((s, o, t) for t in range(first[s, o], horizon - lead[o]))
    ordered = sorted(cand)
    arr = np.array(ordered, dtype=int).reshape(-1, 3)
    fixed = np.array([forced.get(k, 0) if k[2] < 0 else 0 for k in ordered], dtype=int)
    return arr[:, 0], arr[:, 1], arr[:, 2], fixed


def _hall_cash_flows(portfolio: Portfolio, s: np.ndarray, o: np.ndarray, tau: np.ndarray,
                     hall_capex: np.ndarray, lease_mult: np.ndarray, lease_index: np.ndarray,
                     power_index: np.ndarray, power_cost: np.ndarray, hall_mw: np.ndarray,
                     discount: np.ndarray, tv_factor: float, dep_quarters: float, deal: Deal,
                     idle_rate: np.ndarray) -> Starts:
    """Per-hall quarterly cash flows of each candidate start (see docs/economics.md, "A hall"
    and "Deal structure").

    Lease expiries at q0 + 4kY (k >= 1) leave a share 1 - p vacant for d quarters; rent due and
    owner-paid power follow occupancy, opex does not. The tenant funds f of K. A prepayment of
    n quarters of full rent at the delivery rate arrives in tau and settles rent due from q0;
    what is unused after T-1 is refunded in T-1. Equipment (E h $M) is bought in q0 and every
    4 Le quarters within the horizon and depreciates over 4 Le quarters from each purchase.
    With terminal_value = contracted the rows run past T-1 to the end of the longest lease
    term, and each hall's terminal value is the NOI of its term running at T-1.
    """
    horizon = portfolio.horizon
    st = portfolio.settings
    opt = portfolio.options
    lead = opt["lead_quarters"].to_numpy(int)[o]
    ramp = opt["ramp_quarters"].to_numpy(float)[o]
    esc = opt["lease_escalator"].to_numpy(float)[o]
    pue = opt["pue"].to_numpy(float)[o]
    lease = opt["lease_usd_per_kw_month"].to_numpy(float)[o]
    opex_rate = opt["opex_usd_per_kw_month"].to_numpy(float)[o]
    owner_pays_power = ~opt["power_passthrough"].to_numpy(bool)[o]
    term_years = column(opt, "lease_term_years", np.nan)[o]
    renewal = column(opt, "renewal_probability", 1.0)[o]
    vacancy = column(opt, "vacancy_quarters", 4.0)[o]
    share = column(opt, "tenant_capex_share", 0.0)[o]
    prepaid = column(opt, "prepaid_quarters", 0.0)[o]
    equipment = column(opt, "equipment_capex_musd_per_it_mw", 0.0)[o]
    life_years = column(opt, "equipment_life_years", np.nan)[o]
    opex_esc = column(opt, "opex_escalator", 0.0)[o]
    h = hall_mw[s]
    q0 = tau + lead
    contracted = st.terminal_value == "contracted"
    has_term = np.isfinite(term_years)
    term = np.where(has_term, np.round(4.0 * np.nan_to_num(term_years, nan=1.0)), 0).astype(int)
    extra = int(term.max()) if contracted and len(term) else 0
    width = horizon + extra  # quarters computed: the horizon, then the contracted tail

    t = np.arange(width)[None, :]
    since = t - q0[:, None]  # quarters since the hall came online
    live = since >= 0
    occupancy = np.where(live, np.minimum(1.0, (since + 1) / ramp[:, None]), 0.0)
    if has_term.any():
        period = np.maximum(term, 1)[:, None]
        vacant = (has_term[:, None] & (since >= period)
                  & (np.mod(np.maximum(since, 0), period) < vacancy[:, None]))
        occupancy = occupancy * (1.0 - (1.0 - renewal[:, None]) * vacant)
    delivery = lease * lease_mult[s, o] * lease_index[np.clip(q0, 0, horizon - 1)]
    rate = delivery[:, None] * (1.0 + esc[:, None]) ** (np.maximum(since, 0) / 4.0)
    mw_months = (h * KW_PER_MW * MONTHS_PER_QUARTER / 1e6)[:, None]  # $M per ($/kW-month)
    revenue = rate * mw_months * occupancy
    opex = np.where(live, opex_rate[:, None] * mw_months, 0.0)
    if (opex_esc != 0).any():  # opex_t = opex (1 + e)^((t - q0)/4), as rent escalates
        opex = opex * (1.0 + opex_esc[:, None]) ** (np.maximum(since, 0) / 4.0)
    index = power_index if width == horizon else np.concatenate(
        [power_index, np.full(extra, power_index[-1])])  # past T-1: the last quarter's cost
    ai_power = np.where(owner_pays_power[:, None],
                        power_cost[s][:, None] * index[None, :] * (pue * h)[:, None]
                        * occupancy * HOURS_PER_QUARTER / 1e6, 0.0)
    capex_total = hall_capex[s, o]
    if (share != 0).any():
        tenant_total = capex_total * share
        capex_total = capex_total * (1.0 - share)
        tenant = spread_evenly(tenant_total, tau, lead, horizon)
    else:
        tenant = np.zeros((len(s), horizon))

    terminal = None
    tail = np.zeros((len(s), 0))
    if contracted:
        noi_ext = revenue - opex - ai_power
        u = np.arange(width)
        ends = q0 + term * ((horizon - 1 - q0) // np.maximum(term, 1) + 1)  # exclusive
        after = (u[None, :] >= horizon) & (u[None, :] < ends[:, None])
        ext_discount = discount_factors(st.discount_rate, width, st.discounting)
        if st.terminal_value_tax == "taxed" and st.tax_rate != 0:
            # NOI_u - tax (NOI_u - dep_u): the hall's and its equipment's straight-line
            # depreciation continuing past T-1 until written off.
            dep_ext = straight_line(capex_total, q0, dep_quarters, width)
            if (equipment > 0).any():
                life_q = np.maximum(np.round(4.0 * np.nan_to_num(life_years, nan=1.0)), 1)
                last_buy = q0 + life_q * ((horizon - 1 - q0) // life_q)  # last purchase <= T-1
                running = (u[None, :] >= q0[:, None]) & (u[None, :] < (last_buy + life_q)[:, None])
                dep_ext = dep_ext + np.where(running, (equipment * h / life_q)[:, None], 0.0)
            noi_ext = noi_ext - st.tax_rate * (noi_ext - dep_ext)
        terminal = (np.where(after, noi_ext, 0.0) @ ext_discount) / discount[-1]
        tail = np.where(after, noi_ext, 0.0)[:, horizon:]
        revenue, opex, ai_power = revenue[:, :horizon], opex[:, :horizon], ai_power[:, :horizon]
        since, live = since[:, :horizon], live[:, :horizon]

    capex = spread_evenly(capex_total, tau, lead, horizon)
    depreciation = straight_line(capex_total, q0, dep_quarters, horizon)

    equipment_capex = np.zeros((len(s), horizon))
    if (equipment > 0).any():
        life = np.round(4.0 * np.nan_to_num(life_years, nan=1.0)).astype(int)[:, None]
        amount = (equipment * h)[:, None]
        bought = live & (np.mod(np.maximum(since, 0), np.maximum(life, 1)) == 0)
        equipment_capex = np.where(bought, amount, 0.0)
        # Back-to-back purchases each written off over `life` quarters: amount / life a
        # quarter from q0 on.
        capex = capex + equipment_capex
        depreciation = depreciation + np.where(live, amount / np.maximum(life, 1), 0.0)

    prepayment = np.zeros((len(s), horizon))
    if (prepaid > 0).any():
        total = prepaid * delivery * mw_months[:, 0]  # n quarters of full rent at delivery
        settled = np.minimum(np.cumsum(revenue, axis=1), total[:, None])
        settle = np.diff(settled, axis=1, prepend=0.0)
        prepayment = -settle
        received = (tau >= 0)  # a prepayment received before the plan is sunk, like capex
        rows = np.flatnonzero(received)
        prepayment[rows, tau[rows]] += total[rows]
        prepayment[:, -1] -= total - settled[:, -1]  # refunded after T-1
    idle = np.zeros((len(s), horizon))
    if (idle_rate != 0).any():  # a hall's grid MW leave the idle pool from tau on
        idle = -np.where(np.arange(horizon)[None, :] >= tau[:, None],
                         (idle_rate[s] * pue * h)[:, None], 0.0)
    return _finish(portfolio, s, o, tau, q0, revenue, opex, ai_power, capex, depreciation,
                   tenant, prepayment, equipment_capex, terminal, tv_factor, deal, idle, tail)


def _finish(portfolio: Portfolio, s: np.ndarray, o: np.ndarray, tau: np.ndarray,
            online: np.ndarray, revenue: np.ndarray, opex: np.ndarray, ai_power: np.ndarray,
            capex: np.ndarray, depreciation: np.ndarray, tenant: np.ndarray,
            prepayment: np.ndarray, equipment_capex: np.ndarray, terminal: np.ndarray | None,
            tv_factor: float, deal: Deal, idle: np.ndarray, tail: np.ndarray) -> Starts:
    """Debt, budget use, terminal value and both values (project, equity) of each unit.

    Project value = sum_t DF_t (NOI + prepayment - capex - tax) + DF_{T-1} TV; equity value =
    sum_t DF^e_t (that net + draw - interest - principal + tax_rate * interest)
    + DF^e_{T-1} TV, with draws = debt_ltc * capex and the schedule of `Deal`.
    The idle power a unit displaces (or adds) is in both values, after tax, but not in its
    lease-life value (`life_value`: its own flows).
    """
    discount = deal.discount
    noi = revenue - opex - ai_power
    tax = deal.tax_rate * (noi - depreciation)
    if terminal is None:
        terminal = tv_factor * noi[:, -1]
        tv_now = discount[-1] * tv_factor * noi[:, -1]  # as before the deal columns, exactly
    else:
        tv_now = discount[-1] * terminal
    value = (noi + prepayment - capex - tax) @ discount + tv_now
    life_value = value
    has_idle = bool((idle != 0).any())
    if has_idle:
        value = value + (idle * (1.0 - deal.tax_rate)) @ discount
    zeros = np.zeros_like(capex)
    balloon = zeros
    if deal.ltc > 0:
        draw = deal.ltc * capex
        interest, principal, balance = (draw @ deal.interest, draw @ deal.principal,
                                        draw @ deal.balance)
        balloon = draw @ deal.balloon
    else:
        draw = interest = principal = balance = zeros
    equity_cf = (noi + prepayment - capex - tax + draw - interest - principal
                 + deal.tax_rate * interest)
    equity_value = equity_cf @ deal.equity_discount + deal.equity_discount[-1] * terminal
    if has_idle:
        equity_value = equity_value + (idle * (1.0 - deal.tax_rate)) @ deal.equity_discount
    objective = equity_value if portfolio.settings.objective == "equity_npv" else value
    return Starts(site=s, option=o, tau=tau, online=online, revenue=revenue, opex=opex,
                  ai_power=ai_power, capex=capex, depreciation=depreciation, value=objective,
                  tenant_capex=tenant, prepayment=prepayment, equipment_capex=equipment_capex,
                  debt_draw=draw, interest=interest, principal=principal, debt_balance=balance,
                  terminal=terminal, project_value=value,
                  equity_value=equity_value, idle_power=idle, balloon=balloon, tail=tail,
                  life_value=life_value)


UPGRADE_COLUMNS = {
    "cooling": ("cooling_module_mw", "cooling_module_capex_musd", "cooling_lead_quarters"),
    "power": ("power_upgrade_mw", "power_upgrade_capex_musd", "power_upgrade_lead_quarters"),
}


def _upgrade_starts(portfolio: Portfolio, kind: str, discount: np.ndarray, tv_factor: float,
                    dep_quarters: float, deal: Deal, idle_rate: np.ndarray) -> Starts:
    """One candidate per (site, start quarter) for sites that have this upgrade.

    A start is allowed from quarter 0 if the upgrade is online by the last quarter.
    """
    horizon = portfolio.horizon
    mw_col, capex_col, lead_col = UPGRADE_COLUMNS[kind]
    sites = portfolio.sites
    rows = [(i, t) for i, (mw, lead) in enumerate(zip(sites[mw_col], sites[lead_col],
                                                      strict=True))
            if pd.notna(mw) and pd.notna(lead) for t in range(horizon - int(lead))]
    arr = np.array(rows, dtype=int).reshape(-1, 2)
    s, tau = arr[:, 0], arr[:, 1]
    lead = sites[lead_col].to_numpy(float)[s].astype(int) if len(s) else np.zeros(0, int)
    amount = sites[capex_col].to_numpy(float)[s]
    zeros = np.zeros((len(s), horizon))
    capex = spread_evenly(amount, tau, lead, horizon)
    depreciation = straight_line(amount, tau + lead, dep_quarters, horizon)
    terminal = np.zeros(len(s)) if portfolio.settings.terminal_value == "contracted" else None
    idle = zeros
    if kind == "power" and (idle_rate != 0).any():  # the added MW idle until used
        idle = np.where(np.arange(horizon)[None, :] >= (tau + lead)[:, None],
                        (idle_rate[s] * sites[mw_col].to_numpy(float)[s])[:, None], 0.0)
    return _finish(portfolio, s, np.full(len(s), -1), tau, tau + lead, zeros, zeros, zeros,
                   capex, depreciation, zeros, zeros, zeros, terminal, tv_factor, deal, idle,
                   np.zeros((len(s), 0)))


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
