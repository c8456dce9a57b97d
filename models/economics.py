"""The economics of DESIGN.md as numpy arrays: one definition for the model and the reports.

`build_economics(portfolio)` turns a validated Portfolio into per-unit cash-flow rows:
- every allowed hall start (site s, option o, start quarter tau), one row per *hall*, with its
  revenue, opex, AI power, capex and depreciation in each quarter and its NPV contribution;
- every allowed cooling-module and power-upgrade start, one row per unit;
- the mining margin per MW and quarter of each site.

Everything but mining is linear in the start decisions, so each start's NPV is one number
computed here, up front; the MILP (models/) only adds those numbers up. `evaluate()` computes the
cash flows of any given plan from the same rows, which is how the report's NPV is recomputed
and checked against the solver's objective.

Units: money in $M, power in MW, time in quarters t = 0..T-1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.decisions import Decisions
from models.errors import InputError
from models.portfolio import Portfolio
from models.rules import Rules, build_rules

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
    capex: np.ndarray  # (C, T) capex in quarters >= 0 only (earlier spend is sunk)
    depreciation: np.ndarray  # (C, T)
    value: np.ndarray  # (C,) NPV contribution of one unit, $M (tax and terminal value included)

    def __len__(self) -> int:
        return len(self.site)


@dataclass(frozen=True)
class Economics:
    """All coefficients of one Portfolio, computed once (vectorised)."""

    portfolio: Portfolio
    discount: np.ndarray  # (T,) discount factor DF_t
    terminal_factor: float  # TV = terminal_factor * AI NOI of the last quarter
    tax_rate: float
    mining_margin: np.ndarray  # (S, T) pre-tax $M per MW-quarter of mining
    mining_value: np.ndarray  # (S, T) NPV of one MW mined in quarter t (after tax, discounted)
    halls: Starts
    cooling: Starts
    power: Starts
    hall_capex: np.ndarray  # (S, O) capex of one hall, $M (K)
    fixed_halls: np.ndarray  # (C_halls,) halls fixed by commitments begun before the plan (0 else)
    rules: Rules  # what each candidate uses and adds, and every limit (models.rules)

    @property
    def horizon(self) -> int:
        return len(self.discount)


def discount_factors(rate: float, horizon: int, timing: str) -> np.ndarray:
    """DF_t = (1+r)^(-(t+1)/4) for end-of-quarter, (1+r)^(-(t+0.5)/4) for mid-quarter."""
    offset = 1.0 if timing == "end" else 0.5
    return (1.0 + rate) ** (-(np.arange(horizon) + offset) / 4.0)


def terminal_factor(portfolio: Portfolio) -> float:
    """Multiplier of the last quarter's AI NOI giving the (undiscounted) terminal value."""
    s = portfolio.settings
    if s.terminal_value == "multiple":
        return float(s.terminal_multiple or 0.0) * 4.0
    if s.terminal_value == "gordon":
        g = float(s.terminal_growth or 0.0)
        return 4.0 * (1.0 + g) / (s.discount_rate - g)
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


def _unit_value(econ_discount: np.ndarray, tv_factor: float, tax_rate: float,
                revenue: np.ndarray, opex: np.ndarray, ai_power: np.ndarray,
                capex: np.ndarray, depreciation: np.ndarray) -> np.ndarray:
    """NPV of one unit: sum_t DF_t (NOI - capex - tax) + DF_{T-1} * TV factor * NOI_{T-1}."""
    noi = revenue - opex - ai_power
    tax = tax_rate * (noi - depreciation)
    value = (noi - capex - tax) @ econ_discount
    return value + econ_discount[-1] * tv_factor * noi[:, -1]


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
    mining_value = mining_margin * (1.0 - st.tax_rate) * discount[None, :]

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
                             dep_quarters)
    cooling = _upgrade_starts(portfolio, "cooling", discount, tv_factor, dep_quarters)
    power = _upgrade_starts(portfolio, "power", discount, tv_factor, dep_quarters)
    return Economics(portfolio=portfolio, discount=discount, terminal_factor=tv_factor,
                     tax_rate=st.tax_rate, mining_margin=mining_margin, mining_value=mining_value,
                     halls=halls, cooling=cooling, power=power, hall_capex=hall_capex,
                     fixed_halls=fixed, rules=build_rules(portfolio, halls, cooling, power))


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
                     discount: np.ndarray, tv_factor: float, dep_quarters: float) -> Starts:
    """Per-hall quarterly cash flows of each candidate start (see DESIGN.md, "A hall")."""
    horizon = portfolio.horizon
    opt = portfolio.options
    lead = opt["lead_quarters"].to_numpy(int)[o]
    ramp = opt["ramp_quarters"].to_numpy(float)[o]
    esc = opt["lease_escalator"].to_numpy(float)[o]
    pue = opt["pue"].to_numpy(float)[o]
    lease = opt["lease_usd_per_kw_month"].to_numpy(float)[o]
    opex_rate = opt["opex_usd_per_kw_month"].to_numpy(float)[o]
    owner_pays_power = ~opt["power_passthrough"].to_numpy(bool)[o]
    h = hall_mw[s]
    q0 = tau + lead

    t = np.arange(horizon)[None, :]
    since = t - q0[:, None]  # quarters since the hall came online
    live = since >= 0
    occupancy = np.where(live, np.minimum(1.0, (since + 1) / ramp[:, None]), 0.0)
    rate = (lease * lease_mult[s, o] * lease_index[np.clip(q0, 0, horizon - 1)])[:, None] \
        * (1.0 + esc[:, None]) ** (np.maximum(since, 0) / 4.0)
    mw_months = (h * KW_PER_MW * MONTHS_PER_QUARTER / 1e6)[:, None]  # $M per ($/kW-month)
    revenue = rate * mw_months * occupancy
    opex = np.where(live, opex_rate[:, None] * mw_months, 0.0)
    ai_power = np.where(owner_pays_power[:, None],
                        power_cost[s][:, None] * power_index[None, :] * (pue * h)[:, None]
                        * occupancy * HOURS_PER_QUARTER / 1e6, 0.0)
    capex_total = hall_capex[s, o]
    capex = spread_evenly(capex_total, tau, lead, horizon)
    depreciation = straight_line(capex_total, q0, dep_quarters, horizon)
    value = _unit_value(discount, tv_factor, portfolio.settings.tax_rate, revenue, opex,
                        ai_power, capex, depreciation)
    return Starts(site=s, option=o, tau=tau, online=q0, revenue=revenue, opex=opex,
                  ai_power=ai_power, capex=capex, depreciation=depreciation, value=value)


UPGRADE_COLUMNS = {
    "cooling": ("cooling_module_mw", "cooling_module_capex_musd", "cooling_lead_quarters"),
    "power": ("power_upgrade_mw", "power_upgrade_capex_musd", "power_upgrade_lead_quarters"),
}


def _upgrade_starts(portfolio: Portfolio, kind: str, discount: np.ndarray, tv_factor: float,
                    dep_quarters: float) -> Starts:
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
    value = _unit_value(discount, tv_factor, portfolio.settings.tax_rate, zeros, zeros, zeros,
                        capex, depreciation)
    return Starts(site=s, option=np.full(len(s), -1), tau=tau, online=tau + lead,
                  revenue=zeros, opex=zeros, ai_power=zeros, capex=capex,
                  depreciation=depreciation, value=value)


@dataclass(frozen=True)
class Valuation:
    """Cash flows of one plan, per site and quarter ($M), and its NPV."""

    mining_margin: np.ndarray  # (S, T)
    ai_revenue: np.ndarray  # (S, T)
    ai_opex: np.ndarray  # (S, T)
    ai_power: np.ndarray  # (S, T)
    capex: np.ndarray  # (S, T) halls and upgrades
    depreciation: np.ndarray  # (S, T)
    tax: np.ndarray  # (S, T)
    terminal_value: np.ndarray  # (S,) undiscounted terminal value by site
    discount: np.ndarray  # (T,)

    @property
    def net(self) -> np.ndarray:
        """(S, T) net cash flow: margin + revenue - opex - power - capex - tax."""
        return (self.mining_margin + self.ai_revenue - self.ai_opex - self.ai_power
                - self.capex - self.tax)

    @property
    def site_npv(self) -> np.ndarray:
        """(S,) NPV contribution of each site, terminal value included."""
        return self.net @ self.discount + self.discount[-1] * self.terminal_value

    @property
    def npv(self) -> float:
        return float(self.site_npv.sum())


def _by_site(n_sites: int, starts: Starts, units: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Sum units * rows over the candidates of each site: (S, T)."""
    out = np.zeros((n_sites, rows.shape[1]))
    np.add.at(out, starts.site, units[:, None] * rows)
    return out


def evaluate(econ: Economics, decisions: Decisions) -> Valuation:
    """Cash flows of a plan given as units per candidate start and mining MW (S, T).

    The model's objective is sum(value * units) + sum(mining_value * mining_mw); this function
    recomputes the same NPV line by line, which `optimizer.solve.optimize` uses as a self-audit.
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
    noi_last = (revenue - opex - power)[:, -1]
    return Valuation(mining_margin=margin, ai_revenue=revenue, ai_opex=opex, ai_power=power,
                     capex=capex, depreciation=depreciation, tax=tax,
                     terminal_value=econ.terminal_factor * noi_last, discount=econ.discount)
