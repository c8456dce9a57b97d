"""Every candidate start's per-unit cash-flow rows (docs/economics.md, "A hall", "Deal
structure"): one row per hall start (site s, option o, start quarter tau), per cooling-module
start and per power-upgrade start, each with its revenue, opex, AI power, capex, depreciation,
deal lines and debt in each quarter, and its project, equity and lease-life values (`Starts`).

Which starts are candidates (`hall_candidates`, `upgrade_starts`) and the leases signed by
commitments (`signed_leases`) are decided here too; `models.economics.build_economics` puts them
together.

Units: money in $M, power in MW, time in quarters t = 0..T-1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.errors import InputError
from models.finance import Deal, discount_factors, spread_evenly, straight_line
from models.portfolio import Portfolio

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



def column(frame: pd.DataFrame, name: str, default: float) -> np.ndarray:
    """A numeric column as floats, blanks (and an absent column) taking `default`.

    Frames built by hand (tests, benchmarks) may lack the optional deal columns."""
    if name not in frame.columns:
        return np.full(len(frame), float(default))
    return frame[name].astype(float).fillna(default).to_numpy(float)



def signed_leases(portfolio: Portfolio, halls: Starts, hall_mw: np.ndarray,
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


def hall_candidates(portfolio: Portfolio, allowed: np.ndarray, lead: np.ndarray,
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


def hall_cash_flows(portfolio: Portfolio, s: np.ndarray, o: np.ndarray, tau: np.ndarray,
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


def upgrade_starts(portfolio: Portfolio, kind: str, discount: np.ndarray, tv_factor: float,
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

