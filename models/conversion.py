"""The conversion MILP: which halls to start where, with which option, when (math only, no I/O).

Built from `models.economics.Economics` (numpy coefficients). Every start's NPV is one number
computed there, so the objective is a plain sum. Constraints that depend on "halls started by t"
use cumulative variables (`started_by`, `modules_by`, `upgrade_by`) defined by a one-step
recursion, so no constraint sums O(T^2) terms. The budget rows instead sum the start variables
of the last `lead` quarters (see `capex_expression`): short too, and knapsacks HiGHS can cut.

Decisions
- ``halls_started[c]`` integer >= 0: halls started as candidate c = (site, option, quarter).
- ``modules_started[k]`` integer >= 0: cooling modules started as candidate k = (site, quarter).
- ``upgrade_started[k]`` binary: the site's power upgrade starts as candidate k.
- ``mining_mw[s, t]`` continuous in [0, mining_mw_s]: MW of miners running.

Quantities a sweep changes are mutable Params, so a built model re-solves without a rebuild:
``hall_value``, ``module_value``, ``upgrade_value``, ``mining_value`` (objective, $M per unit),
``hall_capex_rate`` ($M per hall per building quarter, in the budget rows), ``budget``
($M per budgeted quarter), ``ai_demand`` (MW IT per capped quarter), ``grid_mw`` (MW per site, in
the power rows) and ``site_halls`` (most halls per site; a sweep raising it also raises the
``halls_started`` upper bounds). Changing lead times, or which quarters have a budget or a
demand cap, changes the structure and needs a rebuild.

Constraint families (rule -> function -> name in the report's Constraints sheet):
see `CONSTRAINT_FAMILIES` at the end of this module.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from models.economics import Economics, column


@dataclass
class Index:
    """Lookups from business keys to model indices, built once per model."""

    pairs: list[tuple[int, int]]  # (site, option) pairs having candidates
    pair_first: dict[int, int]  # pair -> earliest candidate start quarter
    pair_of_hall: np.ndarray  # (C,) pair index of each hall candidate
    hall_at: dict[tuple[int, int], int] = field(default_factory=dict)  # (pair, tau) -> c
    module_at: dict[tuple[int, int], int] = field(default_factory=dict)  # (site, tau) -> k
    upgrade_at: dict[tuple[int, int], int] = field(default_factory=dict)  # (site, tau) -> k
    pairs_of_site: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    pair_params: list[tuple[int, int, float, int]] = field(default_factory=list)
    upgrade_sites: dict[str, list[int]] = field(default_factory=dict)  # kind -> sites having it


def build_model(econ: Economics, *, budget_over_starts: bool = True) -> pyo.ConcreteModel:
    """Build the MILP for one Economics. Returns a ConcreteModel with ``m.index`` lookups.

    `budget_over_starts=False` writes the budget rows over the cumulative variables instead of
    the start variables (see `capex_expression`): the same feasible set and optimum, the weaker
    formulation, kept so benchmarks can compare the two.
    """
    m = pyo.ConcreteModel(name="sitepivot")
    m.econ = econ  # coefficients and portfolio, for the constraint builders (not Pyomo data)
    m.budget_over_starts = budget_over_starts
    m.index = _make_index(econ)
    _add_variables(m)
    _add_cumulative_definitions(m)
    define_halls_per_site(m)
    define_site_power(m)
    define_site_cooling(m)
    define_cooling_module_limit(m)
    define_power_upgrade_once(m)
    define_capital_budget(m)
    define_hall_starts_cap(m)
    define_ai_demand_cap(m)
    define_mining_floor(m)
    define_start_commitments(m)
    m.npv = pyo.Objective(expr=_npv_expression(m), sense=pyo.maximize)
    return m


def _make_index(econ: Economics) -> Index:
    halls = econ.halls
    pair_ids: dict[tuple[int, int], int] = {}
    pair_of_hall = np.empty(len(halls), dtype=int)
    for c, (s, o) in enumerate(zip(halls.site.tolist(), halls.option.tolist(), strict=True)):
        pair_of_hall[c] = pair_ids.setdefault((s, o), len(pair_ids))
    idx = Index(pairs=list(pair_ids), pair_first={}, pair_of_hall=pair_of_hall)
    for c, (p, tau) in enumerate(zip(pair_of_hall.tolist(), halls.tau.tolist(), strict=True)):
        idx.hall_at[(p, tau)] = c
        idx.pair_first[p] = min(idx.pair_first.get(p, tau), tau)
    hall_mw = econ.portfolio.sites["hall_it_mw"].to_numpy(float)
    lead = econ.portfolio.options["lead_quarters"].to_numpy(int)
    for p, (s, o) in enumerate(idx.pairs):
        idx.pairs_of_site[s].append(p)
        idx.pair_params.append((s, o, float(hall_mw[s]), int(lead[o])))
    idx.module_at = {(s, t): k for k, (s, t) in
                     enumerate(zip(econ.cooling.site.tolist(), econ.cooling.tau.tolist(),
                                   strict=True))}
    idx.upgrade_at = {(s, t): k for k, (s, t) in
                      enumerate(zip(econ.power.site.tolist(), econ.power.tau.tolist(),
                                    strict=True))}
    idx.upgrade_sites = {"modules": sorted({s for s, _ in idx.module_at}),
                          "upgrade": sorted({s for s, _ in idx.upgrade_at})}
    return idx


def _add_variables(m: pyo.ConcreteModel) -> None:
    econ: Economics = m.econ
    sites = econ.portfolio.sites
    horizon = econ.horizon
    max_halls = sites["halls"].to_numpy(int)
    max_modules = sites["max_cooling_modules"].fillna(0).to_numpy(int)
    mining_cap = sites["mining_mw"].to_numpy(float)

    m.H = pyo.RangeSet(0, len(econ.halls) - 1) if len(econ.halls) else pyo.Set(initialize=[])
    m.K = (pyo.RangeSet(0, len(econ.cooling) - 1) if len(econ.cooling)
           else pyo.Set(initialize=[]))
    m.P = pyo.RangeSet(0, len(econ.power) - 1) if len(econ.power) else pyo.Set(initialize=[])
    m.S = pyo.RangeSet(0, len(sites) - 1)
    m.T = pyo.RangeSet(0, horizon - 1)

    hall_site = econ.halls.site
    m.halls_started = pyo.Var(m.H, domain=pyo.NonNegativeIntegers,
                              bounds=lambda _m, c: (0, int(max_halls[hall_site[c]])))
    for c in np.flatnonzero(econ.fixed_halls):
        m.halls_started[int(c)].fix(int(econ.fixed_halls[c]))
    m.modules_started = pyo.Var(
        m.K, domain=pyo.NonNegativeIntegers,
        bounds=lambda _m, k: (0, int(max_modules[econ.cooling.site[k]])))
    m.upgrade_started = pyo.Var(m.P, domain=pyo.Binary)
    m.mining_mw = pyo.Var(m.S, m.T, domain=pyo.NonNegativeReals,
                          bounds=lambda _m, s, t: (0.0, float(mining_cap[s])))

    m.hall_value = pyo.Param(m.H, mutable=True, initialize=lambda _m, c: econ.halls.value[c])
    m.module_value = pyo.Param(m.K, mutable=True,
                               initialize=lambda _m, k: econ.cooling.value[k])
    m.upgrade_value = pyo.Param(m.P, mutable=True, initialize=lambda _m, k: econ.power.value[k])
    m.mining_value = pyo.Param(m.S, m.T, mutable=True,
                               initialize=lambda _m, s, t: econ.mining_value[s, t])


def _add_cumulative_definitions(m: pyo.ConcreteModel) -> None:
    """started_by[p, t] = started_by[p, t-1] + halls_started[(p, t)]  (halls of pair p by t);
    modules_by[s, t], upgrade_by[s, t] likewise for cooling modules and the power upgrade.
    Indices run from each pair's first candidate quarter (< 0 for halls begun before the plan).
    """
    econ: Economics = m.econ
    idx: Index = m.index
    horizon = econ.horizon
    m.PT = pyo.Set(dimen=2, initialize=[(p, t) for p in range(len(idx.pairs))
                                        for t in range(idx.pair_first[p], horizon)])
    m.started_by = pyo.Var(m.PT, domain=pyo.NonNegativeReals)

    def started_rule(_m: pyo.ConcreteModel, p: int, t: int) -> object:
        prev = m.started_by[p, t - 1] if t > idx.pair_first[p] else 0
        c = idx.hall_at.get((p, t))
        new = m.halls_started[c] if c is not None else 0
        return m.started_by[p, t] == prev + new

    m.started_by_definition = pyo.Constraint(m.PT, rule=started_rule)

    for name, at, var in (("modules", idx.module_at, m.modules_started),
                          ("upgrade", idx.upgrade_at, m.upgrade_started)):
        sites = sorted({s for s, _ in at})
        cum_index = pyo.Set(dimen=2, initialize=[(s, t) for s in sites for t in range(horizon)])
        m.add_component(f"{name}_ST", cum_index)
        cum = pyo.Var(cum_index, domain=pyo.NonNegativeReals)
        m.add_component(f"{name}_by", cum)

        def rule(_m: pyo.ConcreteModel, s: int, t: int, at: dict = at, var: pyo.Var = var,
                 cum: pyo.Var = cum) -> object:
            prev = cum[s, t - 1] if t > 0 else 0
            k = at.get((s, t))
            return cum[s, t] == prev + (var[k] if k is not None else 0)

        m.add_component(f"{name}_by_definition", pyo.Constraint(cum_index, rule=rule))


def started_by(m: pyo.ConcreteModel, p: int, t: int) -> object:
    """Halls of pair p started in quarters <= t (0 before the pair's first candidate)."""
    return m.started_by[p, t] if t >= m.index.pair_first[p] else 0


def _cumulative(cum: pyo.Var, s: int, t: int) -> object:
    return cum[s, t] if t >= 0 and (s, t) in cum else 0


def _pair_params(m: pyo.ConcreteModel, p: int) -> tuple[int, int, float, int]:
    """(site, option, hall IT MW, lead quarters) of pair p."""
    return m.index.pair_params[p]


def define_halls_per_site(m: pyo.ConcreteModel) -> None:
    """Halls per site: sum over options of halls started (at any time) <= halls_s  [halls]."""
    econ: Economics = m.econ
    max_halls = econ.portfolio.sites["halls"].to_numpy(int)
    horizon = econ.horizon
    sites = [s for s in range(len(max_halls)) if m.index.pairs_of_site.get(s)]
    m.site_halls = pyo.Param(sites, mutable=True, initialize={s: int(max_halls[s]) for s in sites})

    def rule(_m: pyo.ConcreteModel, s: int) -> object:
        return sum(started_by(m, p, horizon - 1) for p in m.index.pairs_of_site[s]) \
            <= m.site_halls[s]

    m.halls_per_site = pyo.Constraint(sites, rule=rule)


def define_site_power(m: pyo.ConcreteModel) -> None:
    """Site power, each site s and quarter t  [MW]:
    mining_mw[s,t] + sum_o pue_o * h_s * (halls of o started by t)
        <= grid_mw_s + power_upgrade_mw_s * (upgrade online by t).
    A hall reserves its grid power from the quarter its construction starts.
    """
    econ: Economics = m.econ
    sites = econ.portfolio.sites
    grid = sites["grid_mw"].to_numpy(float).tolist()
    upgrade_mw = sites["power_upgrade_mw"].fillna(0).to_numpy(float).tolist()
    upgrade_lead = sites["power_upgrade_lead_quarters"].fillna(0).to_numpy(int).tolist()
    pue = econ.portfolio.options["pue"].to_numpy(float).tolist()
    m.grid_mw = pyo.Param(m.S, mutable=True, initialize=lambda _m, s: grid[s])

    def rule(_m: pyo.ConcreteModel, s: int, t: int) -> object:
        reserved = 0
        for p in m.index.pairs_of_site.get(s, []):
            _s, o, h, _lead = _pair_params(m, p)
            reserved += pue[o] * h * started_by(m, p, t)
        added = upgrade_mw[s] * _cumulative(m.upgrade_by, s, t - upgrade_lead[s]) \
            if upgrade_mw[s] > 0 else 0
        return m.mining_mw[s, t] + reserved <= m.grid_mw[s] + added

    m.site_power = pyo.Constraint(m.S, m.T, rule=rule)


def define_site_cooling(m: pyo.ConcreteModel) -> None:
    """Site cooling, each site s and quarter t  [MW]:
    sum_o cooling_o * h_s * (halls of o online by t) <= cooling_mw_s
        + cooling_module_mw_s * (modules online by t).
    Only quarters in which some hall of the site can be online get a row.
    """
    econ: Economics = m.econ
    sites = econ.portfolio.sites
    base = sites["cooling_mw"].to_numpy(float).tolist()
    module_mw = sites["cooling_module_mw"].fillna(0).to_numpy(float).tolist()
    module_lead = sites["cooling_lead_quarters"].fillna(0).to_numpy(int).tolist()
    cooling = econ.portfolio.options["cooling_mw_per_it_mw"].to_numpy(float).tolist()
    rows = []
    for s, pairs in m.index.pairs_of_site.items():
        first_online = min(m.index.pair_first[p] + _pair_params(m, p)[3] for p in pairs)
        rows += [(s, t) for t in range(max(0, first_online), econ.horizon)]

    def rule(_m: pyo.ConcreteModel, s: int, t: int) -> object:
        need = 0
        for p in m.index.pairs_of_site[s]:
            _s, o, h, lead = _pair_params(m, p)
            if cooling[o] > 0:
                need += cooling[o] * h * started_by(m, p, t - lead)
        if isinstance(need, (int, float)):
            return pyo.Constraint.Skip
        added = module_mw[s] * _cumulative(m.modules_by, s, t - module_lead[s]) \
            if module_mw[s] > 0 else 0
        return need <= base[s] + added

    m.site_cooling = pyo.Constraint(rows, rule=rule)


def define_cooling_module_limit(m: pyo.ConcreteModel) -> None:
    """Cooling modules per site: modules started over the plan <= max_cooling_modules_s."""
    econ: Economics = m.econ
    limit = econ.portfolio.sites["max_cooling_modules"].fillna(0).to_numpy(int)
    last = econ.horizon - 1
    sites = sorted({s for s, _ in m.index.module_at})
    m.cooling_module_limit = pyo.Constraint(
        sites, rule=lambda _m, s: m.modules_by[s, last] <= int(limit[s]))


def define_power_upgrade_once(m: pyo.ConcreteModel) -> None:
    """Power upgrade at most once per site: sum_t upgrade_started[s, t] <= 1."""
    last = m.econ.horizon - 1
    sites = sorted({s for s, _ in m.index.upgrade_at})
    m.power_upgrade_once = pyo.Constraint(sites, rule=lambda _m, s: m.upgrade_by[s, last] <= 1)


# Upgrade kinds -> (capex column, lead column) of Sites; "modules" and "upgrade" also name the
# model's start variables (`*_started`) and cumulative variables (`*_by`).
UPGRADE_KINDS = {"modules": ("cooling_module_capex_musd", "cooling_lead_quarters"),
                 "upgrade": ("power_upgrade_capex_musd", "power_upgrade_lead_quarters")}


def budget_factor(econ: Economics) -> float:
    """Share of owner capex that counts against the budget: 1 - debt_ltc with budget_basis =
    equity (the draws fund the rest), else 1."""
    st = econ.portfolio.settings
    return 1.0 - st.debt_ltc if st.budget_basis == "equity" and st.debt_ltc > 0 else 1.0


def hall_budget_rates(econ: Economics, pairs: list[tuple[int, int]]
                      ) -> tuple[dict[int, float], dict[int, tuple[float, int]]]:
    """Budget use of one hall of each pair: $M per building quarter (the owner's share 1 - f of
    K over its lead, times `budget_factor`), and for options with equipment, ($M per purchase,
    quarters between purchases): E h in q0 and every 4 Le quarters (never tenant-funded).
    With every deal column blank the first is K / lead, as before."""
    options = econ.portfolio.options
    hall_mw = econ.portfolio.sites["hall_it_mw"].to_numpy(float)
    lead = options["lead_quarters"].to_numpy(int)
    share = column(options, "tenant_capex_share", 0.0)
    equipment = column(options, "equipment_capex_musd_per_it_mw", 0.0)
    life = column(options, "equipment_life_years", np.nan)
    factor = budget_factor(econ)
    build: dict[int, float] = {}
    equip: dict[int, tuple[float, int]] = {}
    for p, (s, o) in enumerate(pairs):
        owner = float(econ.hall_capex[s, o])
        if share[o] != 0:
            owner = owner * (1.0 - float(share[o]))
        if factor != 1.0:
            owner = owner * factor
        build[p] = owner / int(lead[o])
        if equipment[o] > 0:
            equip[p] = (float(equipment[o] * hall_mw[s]) * factor, round(4.0 * float(life[o])))
    return build, equip


def capex_expression(m: pyo.ConcreteModel, t: int) -> object:
    """Capex spent in quarter t, $M: each hall, module and upgrade under construction at t, that
    is started in t - lead + 1 .. t, spends its capex / lead.

    Written over the start variables themselves, each budget row is a knapsack (positive
    coefficients on bounded integer variables) that HiGHS's cover and MIR cuts tighten. Written
    as cumulative differences (started by t minus started by t - lead, `build_model(...,
    budget_over_starts=False)`) the rows mix signs and those cuts do not apply; the feasible set
    is the same. Measured in benchmarks/README.md.
    """
    sites = m.econ.portfolio.sites
    idx: Index = m.index
    expr = 0
    for p in range(len(idx.pairs)):
        lead = _pair_params(m, p)[3]
        if m.budget_over_starts:
            building = sum(m.halls_started[idx.hall_at[p, tau]]
                           for tau in range(t - lead + 1, t + 1) if (p, tau) in idx.hall_at)
        else:
            building = started_by(m, p, t) - started_by(m, p, t - lead)
        if not isinstance(building, (int, float)):
            expr += m.hall_capex_rate[p] * building
        if p in m.hall_equipment_period:
            # Equipment bought in q0 = tau + lead and every `period` quarters after.
            period = m.hall_equipment_period[p]
            bought = sum(m.halls_started[idx.hall_at[p, tau]]
                         for tau in range(t - lead, idx.pair_first[p] - 1, -period)
                         if (p, tau) in idx.hall_at)
            if not isinstance(bought, (int, float)):
                expr += m.hall_equipment_rate[p] * bought
    factor = budget_factor(m.econ)
    for name, (capex_column, lead_column) in UPGRADE_KINDS.items():
        at = idx.module_at if name == "modules" else idx.upgrade_at
        started, cum = getattr(m, f"{name}_started"), getattr(m, f"{name}_by")
        capex = sites[capex_column].to_numpy(float)
        leads = sites[lead_column].fillna(0).to_numpy(int)
        for s in idx.upgrade_sites[name]:
            lead = int(leads[s])
            if m.budget_over_starts:
                building = sum(started[at[s, tau]] for tau in range(t - lead + 1, t + 1)
                               if (s, tau) in at)
            else:
                building = _cumulative(cum, s, t) - _cumulative(cum, s, t - lead)
            if not isinstance(building, (int, float)):
                rate = float(capex[s]) / lead
                expr += (rate * factor if factor != 1.0 else rate) * building
    return expr


def define_capital_budget(m: pyo.ConcreteModel) -> None:
    """Capital budget, each quarter t with a budget  [$M]:
    capex_t <= budget_t; with budget_carryover, spend_to_date_t <= budget_to_date_t where both
    sum over the quarters up to t that have a budget (a blank budget quarter is unlimited and its
    spend does not count against later quarters). capex_t is the owner's (the tenant-funded share
    left out, equipment purchases in), times 1 - debt_ltc with budget_basis = equity; it equals
    `Starts.budget_use` summed over the plan (see `hall_budget_rates`).
    """
    econ: Economics = m.econ
    pair_capex, equipment = hall_budget_rates(econ, m.index.pairs)
    m.hall_capex_rate = pyo.Param(range(len(m.index.pairs)), mutable=True,
                                  initialize=pair_capex)
    m.hall_equipment_period = {p: period for p, (_rate, period) in equipment.items()}
    m.hall_equipment_rate = pyo.Param(sorted(equipment), mutable=True,
                                      initialize={p: rate for p, (rate, _) in equipment.items()})
    budget = econ.portfolio.quarters["budget_musd"].to_numpy(float)
    budgeted = [t for t in range(econ.horizon) if np.isfinite(budget[t])]
    m.budget = pyo.Param(budgeted, mutable=True, initialize={t: budget[t] for t in budgeted})
    m.capex = pyo.Expression(budgeted, rule=lambda _m, t: capex_expression(m, t))
    if not econ.portfolio.settings.budget_carryover:
        m.capital_budget = pyo.Constraint(budgeted, rule=lambda _m, t: m.capex[t] <= m.budget[t])
        return
    m.spend_to_date = pyo.Var(budgeted, domain=pyo.NonNegativeReals)

    def to_date(_m: pyo.ConcreteModel, t: int) -> object:
        k = budgeted.index(t)
        prev = m.spend_to_date[budgeted[k - 1]] if k > 0 else 0
        return m.spend_to_date[t] == prev + m.capex[t]

    m.spend_to_date_definition = pyo.Constraint(budgeted, rule=to_date)
    m.capital_budget = pyo.Constraint(
        budgeted, rule=lambda _m, t: m.spend_to_date[t]
        <= sum(m.budget[u] for u in budgeted[: budgeted.index(t) + 1]))


def define_hall_starts_cap(m: pyo.ConcreteModel) -> None:
    """Hall starts per quarter (crews, equipment): sum_{s,o} halls_started[s,o,t] <= cap_t."""
    econ: Economics = m.econ
    cap = econ.portfolio.quarters["max_hall_starts"].to_numpy(float)
    by_quarter: dict[int, list[int]] = defaultdict(list)
    for c, tau in enumerate(econ.halls.tau.tolist()):
        if tau >= 0:
            by_quarter[tau].append(c)
    rows = [t for t in range(econ.horizon) if np.isfinite(cap[t]) and by_quarter.get(t)]
    m.hall_starts_cap = pyo.Constraint(
        rows, rule=lambda _m, t: sum(m.halls_started[c] for c in by_quarter[t]) <= int(cap[t]))


def define_ai_demand_cap(m: pyo.ConcreteModel) -> None:
    """AI demand, each quarter t with a cap  [MW IT]:
    sum_{s,o} h_s * (halls online by t) <= ai_demand_mw_t (what tenants will lease)."""
    econ: Economics = m.econ
    cap = econ.portfolio.quarters["ai_demand_mw"].to_numpy(float)

    def rule(_m: pyo.ConcreteModel, t: int) -> object:
        online = 0
        for p in range(len(m.index.pairs)):
            _s, _o, h, lead = _pair_params(m, p)
            online += h * started_by(m, p, t - lead)
        return pyo.Constraint.Skip if isinstance(online, (int, float)) else online <= m.ai_demand[t]

    rows = [t for t in range(econ.horizon) if np.isfinite(cap[t])]
    m.ai_demand = pyo.Param(rows, mutable=True, initialize={t: float(cap[t]) for t in rows})
    m.ai_demand_cap = pyo.Constraint(rows, rule=rule)


def define_mining_floor(m: pyo.ConcreteModel) -> None:
    """Mining floor (hashrate commitment), each quarter t with a floor  [MW]:
    sum_s mining_mw[s, t] >= min_mining_mw_t."""
    floor = m.econ.portfolio.quarters["min_mining_mw"].to_numpy(float)
    rows = [t for t in range(m.econ.horizon) if np.isfinite(floor[t]) and floor[t] > 0]
    m.mining_floor = pyo.Constraint(
        rows, rule=lambda _m, t: sum(m.mining_mw[s, t] for s in m.S) >= float(floor[t]))


def define_start_commitments(m: pyo.ConcreteModel) -> None:
    """Start commitments, each `start` row (site, option or any, quarter >= start, halls):
    halls started at the site in that quarter, of that option or of any, >= halls.
    Starts before the plan are fixed variables (see `_add_variables`); exclude and not_before
    remove candidates in `models.economics` and need no row here.
    """
    econ: Economics = m.econ
    portfolio = econ.portfolio
    site_pos = {n: i for i, n in enumerate(portfolio.sites.index)}
    option_pos = {n: j for j, n in enumerate(portfolio.options.index)}
    rows: list[tuple[list[int], int]] = []
    for row in portfolio.commitments.itertuples(index=False):
        t = portfolio.t_of(row.quarter) if row.action == "start" else -1
        if row.action != "start" or t < 0:
            continue
        s = site_pos[row.site]
        any_option = row.option is None or pd.isna(row.option)
        match = [c for c in range(len(econ.halls))
                 if econ.halls.site[c] == s and econ.halls.tau[c] == t
                 and (any_option or econ.halls.option[c] == option_pos[row.option])]
        rows.append((match, int(row.halls)))
    m.start_commitments = pyo.Constraint(
        range(len(rows)),
        rule=lambda _m, i: sum(m.halls_started[c] for c in rows[i][0]) >= rows[i][1]
        if rows[i][0] else pyo.Constraint.Infeasible)


def _npv_expression(m: pyo.ConcreteModel) -> object:
    """NPV ($M) = sum of each start's value x units + discounted after-tax mining margin; the
    values are the project NPV's or, with objective = equity_npv, the equity NPV's
    (`models.economics`)."""
    return (sum(m.hall_value[c] * m.halls_started[c] for c in m.H)
            + sum(m.module_value[k] * m.modules_started[k] for k in m.K)
            + sum(m.upgrade_value[k] * m.upgrade_started[k] for k in m.P)
            + sum(m.mining_value[s, t] * m.mining_mw[s, t] for s in m.S for t in m.T))


# rule -> function -> component name -> family label in the report's Constraints sheet
CONSTRAINT_FAMILIES = [
    ("halls started per site <= halls", "define_halls_per_site", "halls_per_site", "halls"),
    ("mining + reserved AI power <= grid (+ upgrade)", "define_site_power", "site_power",
     "power"),
    ("AI cooling need <= cooling (+ modules)", "define_site_cooling", "site_cooling", "cooling"),
    ("cooling modules <= max_cooling_modules", "define_cooling_module_limit",
     "cooling_module_limit", "cooling modules"),
    ("power upgrade at most once", "define_power_upgrade_once", "power_upgrade_once",
     "power upgrade"),
    ("capex <= budget (or cumulative)", "define_capital_budget", "capital_budget", "budget"),
    ("hall starts per quarter <= cap", "define_hall_starts_cap", "hall_starts_cap",
     "hall starts"),
    ("AI IT MW online <= demand", "define_ai_demand_cap", "ai_demand_cap", "AI demand"),
    ("portfolio mining MW >= floor", "define_mining_floor", "mining_floor", "mining floor"),
    ("committed starts >= halls", "define_start_commitments", "start_commitments",
     "commitments"),
]
