"""The conversion MILP: which halls to start where, with which option, when (math only, no I/O).

Built from `models.economics.Economics` (numpy coefficients). Every start's NPV is one number
computed there, so the objective is a plain sum. Constraints that depend on "halls started by t"
use cumulative variables (`started_by`, `modules_by`, `upgrade_by`) defined by a one-step
recursion, so no constraint sums O(T^2) terms. The budget rows instead sum the start variables
of the quarters in which a started unit uses budget (the last `lead` quarters today; see
`budget_expression`): short too, and knapsacks HiGHS can cut.

Decisions
- ``halls_started[c]`` integer >= 0: halls started as candidate c = (site, option, quarter).
- ``modules_started[k]`` integer >= 0: cooling modules started as candidate k = (site, quarter).
- ``upgrade_started[k]`` binary: the site's power upgrade starts as candidate k.
- ``mining_mw[s, t]`` continuous in [0, mining_mw_s]: MW of miners running.

Every coefficient comes from the rules' data layer (`models.rules`, ``econ.rules``); nothing here
reads the Portfolio's columns. Quantities a sweep changes are mutable Params, so a built model
re-solves without a rebuild:
``hall_value``, ``module_value``, ``upgrade_value``, ``mining_value`` (objective, $M per unit),
``hall_budget_rate``, ``module_budget_rate``, ``upgrade_budget_rate`` ($M of budget a unit uses
d quarters after its start, per (pair or site, d), in the budget rows), ``budget``
($M per budgeted quarter), ``ai_demand`` (MW IT per capped quarter), ``grid_mw`` (MW per site, in
the power rows) and ``site_halls`` (most halls per site; a sweep raising it also raises the
``halls_started`` upper bounds). Changing lead times, or which quarters have a budget or a
demand cap, or the offsets at which a unit uses budget, changes the structure and needs a
rebuild.

Constraint families (rule -> function -> component -> label in the report's Constraints sheet ->
unit -> relaxed by the explanation): the registry `FAMILIES` at the end of this module, which
`build_model`, `optimizer.solve.explain`, the report and the README's rule table read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyomo.environ as pyo

from models.economics import Economics
from models.rules import OffsetTable, Rules

Expr = Any  # a Pyomo expression, or a number where no variable is involved (Pyomo is untyped)


@dataclass
class Index:
    """Lookups from business keys to model indices, built once per model."""

    pairs: list[tuple[int, int]]  # (site, option) pairs having candidates (`Rules.pairs`)
    pair_first: dict[int, int]  # pair -> earliest candidate start quarter
    pair_of_hall: np.ndarray  # (C,) pair index of each hall candidate
    hall_at: dict[tuple[int, int], int] = field(default_factory=dict)  # (pair, tau) -> c
    module_at: dict[tuple[int, int], int] = field(default_factory=dict)  # (site, tau) -> k
    upgrade_at: dict[tuple[int, int], int] = field(default_factory=dict)  # (site, tau) -> k
    pairs_of_site: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))


def build_model(econ: Economics, *, budget_over_starts: bool = True) -> pyo.ConcreteModel:
    """Build the MILP for one Economics. Returns a ConcreteModel with ``m.index`` lookups.

    `budget_over_starts=False` writes the budget rows over the cumulative variables instead of
    the start variables (see `budget_expression`): the same feasible set and optimum, the
    weaker formulation, kept so benchmarks can compare the two.
    """
    m = pyo.ConcreteModel(name="sitepivot")
    m.econ = econ  # coefficients and portfolio, for the constraint builders (not Pyomo data)
    m.rules = econ.rules
    m.budget_over_starts = budget_over_starts
    m.index = _make_index(econ)
    _add_variables(m)
    _add_cumulative_definitions(m)
    for family in FAMILIES:
        family.builder(m)
    m.npv = pyo.Objective(expr=_npv_expression(m), sense=pyo.maximize)
    return m


def _make_index(econ: Economics) -> Index:
    """The model's lookups, its candidates' read from `Economics.candidate_index` (the one
    place they are built): hall_at is keyed by (site, option) pair rather than by site and
    option."""
    rules = econ.rules
    halls = rules.halls
    candidates = econ.candidate_index()
    idx = Index(pairs=list(rules.pairs), pair_first=dict(enumerate(rules.pair_first.tolist())),
                pair_of_hall=halls.pair)
    pair_of = {pair: p for p, pair in enumerate(idx.pairs)}
    idx.hall_at = {(pair_of[s, o], tau): c for (s, o, tau), c in candidates.hall.items()}
    for p, (s, _o) in enumerate(idx.pairs):
        idx.pairs_of_site[s].append(p)
    idx.module_at = dict(candidates.cooling)
    idx.upgrade_at = dict(candidates.power)
    return idx


def _add_variables(m: pyo.ConcreteModel) -> None:
    econ: Economics = m.econ
    rules: Rules = m.rules
    horizon = econ.horizon
    max_halls = rules.limits.halls
    max_modules = rules.limits.max_modules
    mining_cap = rules.limits.mining_mw

    m.H = pyo.RangeSet(0, len(econ.halls) - 1) if len(econ.halls) else pyo.Set(initialize=[])
    m.K = (pyo.RangeSet(0, len(econ.cooling) - 1) if len(econ.cooling)
           else pyo.Set(initialize=[]))
    m.P = pyo.RangeSet(0, len(econ.power) - 1) if len(econ.power) else pyo.Set(initialize=[])
    m.S = pyo.RangeSet(0, rules.n_sites - 1)
    m.T = pyo.RangeSet(0, horizon - 1)

    hall_site = rules.halls.site
    m.halls_started = pyo.Var(m.H, domain=pyo.NonNegativeIntegers,
                              bounds=lambda _m, c: (0, int(max_halls[hall_site[c]])))
    for c in np.flatnonzero(econ.fixed_halls):
        m.halls_started[int(c)].fix(int(econ.fixed_halls[c]))
    m.modules_started = pyo.Var(
        m.K, domain=pyo.NonNegativeIntegers,
        bounds=lambda _m, k: (0, int(max_modules[rules.modules.site[k]])))
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


def started_by(m: pyo.ConcreteModel, p: int, t: int) -> Expr:
    """Halls of pair p started in quarters <= t (0 before the pair's first candidate)."""
    return m.started_by[p, t] if t >= m.index.pair_first[p] else 0


def _cumulative(cum: pyo.Var, s: int, t: int) -> Expr:
    return cum[s, t] if t >= 0 and (s, t) in cum else 0


def define_halls_per_site(m: pyo.ConcreteModel) -> None:
    """Halls per site: sum over options of halls started (at any time) <= halls_s  [halls]."""
    rules: Rules = m.rules
    max_halls = rules.limits.halls
    horizon = rules.horizon
    sites = [s for s in range(rules.n_sites) if m.index.pairs_of_site.get(s)]
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
    rules: Rules = m.rules
    grid = rules.limits.grid_mw.tolist()
    hall_mw = rules.pair_grid_mw.tolist()
    upgrade_mw = rules.upgrades.site_mw.tolist()
    upgrade_lead = rules.upgrades.site_lead.tolist()
    m.grid_mw = pyo.Param(m.S, mutable=True, initialize=lambda _m, s: grid[s])

    def rule(_m: pyo.ConcreteModel, s: int, t: int) -> object:
        reserved = 0
        for p in m.index.pairs_of_site.get(s, []):
            reserved += hall_mw[p] * started_by(m, p, t)
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
    rules: Rules = m.rules
    base = rules.limits.cooling_mw.tolist()
    module_mw = rules.modules.site_mw.tolist()
    module_lead = rules.modules.site_lead.tolist()
    need_mw = rules.pair_cooling_mw.tolist()
    lead = rules.pair_lead.tolist()
    rows = []
    for s, pairs in m.index.pairs_of_site.items():
        first_online = min(m.index.pair_first[p] + lead[p] for p in pairs)
        rows += [(s, t) for t in range(max(0, first_online), rules.horizon)]

    def rule(_m: pyo.ConcreteModel, s: int, t: int) -> object:
        need = 0
        for p in m.index.pairs_of_site[s]:
            if need_mw[p] > 0:
                need += need_mw[p] * started_by(m, p, t - lead[p])
        if isinstance(need, (int, float)):
            return pyo.Constraint.Skip
        added = module_mw[s] * _cumulative(m.modules_by, s, t - module_lead[s]) \
            if module_mw[s] > 0 else 0
        return need <= base[s] + added

    m.site_cooling = pyo.Constraint(rows, rule=rule)


def define_cooling_module_limit(m: pyo.ConcreteModel) -> None:
    """Cooling modules per site: modules started over the plan <= max_cooling_modules_s."""
    rules: Rules = m.rules
    limit = rules.limits.max_modules
    last = rules.horizon - 1
    m.cooling_module_limit = pyo.Constraint(
        rules.modules.sites, rule=lambda _m, s: m.modules_by[s, last] <= int(limit[s]))


def define_power_upgrade_once(m: pyo.ConcreteModel) -> None:
    """Power upgrade at most once per site: sum_t upgrade_started[s, t] <= 1."""
    rules: Rules = m.rules
    last = rules.horizon - 1
    m.power_upgrade_once = pyo.Constraint(rules.upgrades.sites,
                                          rule=lambda _m, s: m.upgrade_by[s, last] <= 1)


def budget_expression(m: pyo.ConcreteModel, t: int) -> object:
    """Budget used in quarter t, $M: each hall, module and upgrade started in a quarter tau
    with a budget use at offset d = t - tau (`Rules` per-offset tables; today capex / lead in
    each building quarter) contributes rate[group, d] per unit.

    Written over the start variables themselves, each budget row is a knapsack (positive
    coefficients on bounded integer variables) that HiGHS's cover and MIR cuts tighten. Written
    as cumulative differences (started by t minus started by t - lead, `build_model(...,
    budget_over_starts=False)`, only for a rate constant over the build) the rows mix signs and
    those cuts do not apply; the feasible set is the same. Measured in benchmarks/README.md.
    """
    if m.budget_over_starts:
        return sum(rate * unit for rate, unit in m.budget_terms[t])
    rules: Rules = m.rules
    expr: Expr = 0
    kinds = ((m.hall_budget_rate, rules.halls.budget_rate, range(len(m.index.pairs)), None),
             (m.module_budget_rate, rules.modules.budget_rate, rules.modules.sites,
              m.modules_by),
             (m.upgrade_budget_rate, rules.upgrades.budget_rate, rules.upgrades.sites,
              m.upgrade_by))
    for param, table, groups, cum in kinds:
        for g in groups:
            lead = len(table.offsets(g))
            building = (started_by(m, g, t) - started_by(m, g, t - lead) if cum is None
                        else _cumulative(cum, g, t) - _cumulative(cum, g, t - lead))
            if not isinstance(building, (int, float)):
                expr += param[g, 0] * building
    return expr


def _budget_terms(m: pyo.ConcreteModel, budgeted: list[int]) -> dict[int, list[tuple]]:
    """{t: [(rate Param, start variable)]} of every unit using budget in quarter t, halls by
    (pair, start quarter), then modules and upgrades by (site, start quarter)."""
    rules: Rules = m.rules
    terms: dict[int, list[tuple]] = {t: [] for t in budgeted}
    for param, kind, group, var in (
            (m.hall_budget_rate, rules.halls, rules.halls.pair, m.halls_started),
            (m.module_budget_rate, rules.modules, rules.modules.site, m.modules_started),
            (m.upgrade_budget_rate, rules.upgrades, rules.upgrades.site, m.upgrade_started)):
        table = kind.budget_rate
        offsets = {int(g): table.offsets(g)[::-1] for g in np.unique(group)}
        for unit, (g, tau) in enumerate(zip(group.tolist(), kind.tau.tolist(), strict=True)):
            for d in offsets[g]:
                row = terms.get(tau + d)
                if row is not None:
                    row.append((param[g, d], var[unit]))
    return terms


def _rate_entries(table: OffsetTable, groups: Iterable[int], over_starts: bool
                  ) -> dict[tuple[int, int], float]:
    """{(group, offset): $M} of a budget-rate table; the cumulative form (`over_starts` False)
    needs one rate spent in each of the first `lead` quarters, nothing after."""
    rate = table.rate
    out: dict[tuple[int, int], float] = {}
    for g in groups:
        offsets = sorted(table.offsets(g))
        if not over_starts and (offsets != list(range(len(offsets)))
                                or not np.allclose(rate[g, offsets], rate[g, 0])):
            raise ValueError("budget_over_starts=False needs a budget use spread evenly over "
                             "the build")
        out.update({(g, d): float(rate[g, d]) for d in offsets})
    return out


def budget_rate_values(rules: Rules, over_starts: bool = True
                       ) -> dict[str, dict[tuple[int, int], float]]:
    """The values of the model's budget-rate Params (by Param name), from the data layer."""
    return {"hall_budget_rate": _rate_entries(rules.halls.budget_rate, range(len(rules.pairs)),
                                              over_starts),
            "module_budget_rate": _rate_entries(rules.modules.budget_rate, rules.modules.sites,
                                                over_starts),
            "upgrade_budget_rate": _rate_entries(rules.upgrades.budget_rate,
                                                 rules.upgrades.sites, over_starts)}


def define_capital_budget(m: pyo.ConcreteModel) -> None:
    """Capital budget, each quarter t with a budget  [$M]:
    the use of the quarters the row sums <= their budget; which quarters (t alone, or with
    budget_carryover every budgeted quarter up to t) is the layer's `Limits.budget_quarters`,
    the same rows `Limits.budget_rows` evaluates for a plan.
    """
    rules: Rules = m.rules
    for name, values in budget_rate_values(rules, m.budget_over_starts).items():
        m.add_component(name, pyo.Param(list(values), mutable=True, initialize=values))
    budget = rules.limits.budget
    budgeted = rules.limits.budgeted.tolist()
    m.budget = pyo.Param(budgeted, mutable=True, initialize={t: budget[t] for t in budgeted})
    if m.budget_over_starts:
        m.budget_terms = _budget_terms(m, budgeted)
    m.budget_use = pyo.Expression(budgeted, rule=lambda _m, t: budget_expression(m, t))
    window = {t: rules.limits.budget_quarters(t) for t in budgeted}  # the layer's row t
    if not rules.limits.budget_carryover:  # each row its own quarter
        m.capital_budget = pyo.Constraint(budgeted,
                                          rule=lambda _m, t: m.budget_use[t] <= m.budget[t])
        return
    # Carried over: spend_to_date[t] = the use of window[t] by a one-step recursion (short rows).
    m.spend_to_date = pyo.Var(budgeted, domain=pyo.NonNegativeReals)

    def to_date(_m: pyo.ConcreteModel, t: int) -> object:
        prev = m.spend_to_date[window[t][-2]] if len(window[t]) > 1 else 0
        return m.spend_to_date[t] == prev + m.budget_use[t]

    m.spend_to_date_definition = pyo.Constraint(budgeted, rule=to_date)
    m.capital_budget = pyo.Constraint(
        budgeted, rule=lambda _m, t: m.spend_to_date[t] <= sum(m.budget[u] for u in window[t]))


def define_hall_starts_cap(m: pyo.ConcreteModel) -> None:
    """Hall starts per quarter (crews, equipment): sum_{s,o} halls_started[s,o,t] <= cap_t."""
    rules: Rules = m.rules
    cap = rules.limits.max_hall_starts
    by_quarter: dict[int, list[int]] = defaultdict(list)
    for c, tau in enumerate(rules.halls.tau.tolist()):
        if tau >= 0:
            by_quarter[tau].append(c)
    rows = [t for t in range(rules.horizon) if np.isfinite(cap[t]) and by_quarter.get(t)]
    m.hall_starts_cap = pyo.Constraint(
        rows, rule=lambda _m, t: sum(m.halls_started[c] for c in by_quarter[t]) <= int(cap[t]))


def define_ai_demand_cap(m: pyo.ConcreteModel) -> None:
    """AI demand, each quarter t with a cap  [MW IT]:
    sum_{s,o} h_s * (halls online by t) <= ai_demand_mw_t (what tenants will lease)."""
    rules: Rules = m.rules
    cap = rules.limits.ai_demand_mw
    it_mw = rules.pair_it_mw.tolist()
    lead = rules.pair_lead.tolist()

    def rule(_m: pyo.ConcreteModel, t: int) -> object:
        online: Expr = 0
        for p in range(len(m.index.pairs)):
            online += it_mw[p] * started_by(m, p, t - lead[p])
        return pyo.Constraint.Skip if isinstance(online, (int, float)) else online <= m.ai_demand[t]

    rows = [t for t in range(rules.horizon) if np.isfinite(cap[t])]
    m.ai_demand = pyo.Param(rows, mutable=True, initialize={t: float(cap[t]) for t in rows})
    m.ai_demand_cap = pyo.Constraint(rows, rule=rule)


def define_mining_floor(m: pyo.ConcreteModel) -> None:
    """Mining floor (hashrate commitment), each quarter t with a floor  [MW]:
    sum_s mining_mw[s, t] >= min_mining_mw_t."""
    rules: Rules = m.rules
    floor = rules.limits.min_mining_mw
    rows = [t for t in range(rules.horizon) if np.isfinite(floor[t]) and floor[t] > 0]
    m.mining_floor = pyo.Constraint(
        rows, rule=lambda _m, t: sum(m.mining_mw[s, t] for s in m.S) >= float(floor[t]))


def define_debt_service_coverage(m: pyo.ConcreteModel) -> None:
    """Debt service coverage (Settings min_dscr = k), each calendar year y  [$M]:
    sum_{t in y} CFADS_t - k sum_{t in y} DS_t >= 0, with every unit's CFADS and debt service
    and each MW mined's CFADS from the rules' data layer (`models.covenant.CoverageRules`). No
    rows without min_dscr."""
    cov = m.rules.coverage
    if cov is None:
        m.debt_service_coverage = pyo.Constraint([], rule=lambda _m, y: pyo.Constraint.Skip)
        return
    quarters = {y: np.flatnonzero(cov.year_of == y).tolist() for y in range(len(cov.years))}

    def rule(_m: pyo.ConcreteModel, y: int) -> object:
        terms = [(float(a), m.halls_started[c]) for c, a in enumerate(cov.hall[:, y]) if a]
        terms += [(float(a), m.modules_started[k]) for k, a in enumerate(cov.modules[:, y]) if a]
        terms += [(float(a), m.upgrade_started[k])
                  for k, a in enumerate(cov.upgrades[:, y]) if a]
        terms += [(float(cov.mining[s, t]), m.mining_mw[s, t]) for s in m.S
                  for t in quarters[y] if cov.mining[s, t]]
        body = pyo.quicksum(a * v for a, v in terms) if terms else 0.0
        if isinstance(body, float):
            return pyo.Constraint.Feasible if body + cov.base[y] >= 0 else \
                pyo.Constraint.Infeasible
        return body >= -float(cov.base[y])

    m.debt_service_coverage = pyo.Constraint(range(len(cov.years)), rule=rule)


def define_start_commitments(m: pyo.ConcreteModel) -> None:
    """Start commitments, each `start` row (site, option or any, quarter >= start, halls):
    halls started at the site in that quarter, of that option or of any, >= halls.
    Starts before the plan are fixed variables (see `_add_variables`); exclude and not_before
    remove candidates in `models.economics` and need no row here.
    """
    rows = m.rules.commitments
    m.start_commitments = pyo.Constraint(
        range(len(rows)),
        rule=lambda _m, i: sum(m.halls_started[int(c)] for c in rows[i].candidates)
        >= rows[i].halls if len(rows[i].candidates) else pyo.Constraint.Infeasible)


def _npv_expression(m: pyo.ConcreteModel) -> object:
    """NPV ($M) = sum of each start's value x units + discounted after-tax mining margin
    (+ the after-tax idle-power income of the empty sites, a constant, when it is valued)."""
    expr = (sum(m.hall_value[c] * m.halls_started[c] for c in m.H)
            + sum(m.module_value[k] * m.modules_started[k] for k in m.K)
            + sum(m.upgrade_value[k] * m.upgrade_started[k] for k in m.P)
            + sum(m.mining_value[s, t] * m.mining_mw[s, t] for s in m.S for t in m.T))
    constant = float(m.econ.objective_constant)
    return expr + constant if constant != 0 else expr


# ---- the registry of constraint families ---------------------------------------------------
@dataclass(frozen=True)
class Family:
    """One business rule of the model: how it is built and how it is named and measured.

    ``relax_first``: the infeasibility explanation relaxes it in its first pass (a resource
    limit). Families without it (commitments) are relaxed only when relaxing every other
    family cannot make a plan possible, so the answer names the resource commitments lack.
    """

    component: str  # the Pyomo Constraint's name
    builder: Callable[[pyo.ConcreteModel], None]
    rule: str  # the rule in words and math (Markdown), for the docs
    label: str  # its rows' family in the report's Constraints sheet
    unit: str
    relax_first: bool = True
    in_report: bool = True  # has rows in the Constraints sheet; module counts, the one upgrade
    # and commitments are read from the Upgrades and Decisions sheets instead


# In build order (the order of the model's rows).
FAMILIES: tuple[Family, ...] = (
    Family("halls_per_site", define_halls_per_site,
           "halls started at a site ≤ `halls`", "halls", "halls"),
    Family("site_power", define_site_power,
           "mining MW + Σ pue·h·(halls started by t) ≤ grid_mw + upgrade MW online by t",
           "power", "MW"),
    Family("site_cooling", define_site_cooling,
           "Σ cooling·h·(halls online by t) ≤ cooling_mw + module MW online by t",
           "cooling", "MW"),
    Family("cooling_module_limit", define_cooling_module_limit,
           "cooling modules ≤ `max_cooling_modules`", "cooling modules", "modules",
           in_report=False),
    Family("power_upgrade_once", define_power_upgrade_once,
           "power upgrade at most once", "power upgrade", "upgrades", in_report=False),
    Family("capital_budget", define_capital_budget,
           "budget use_t ≤ budget_t (or cumulative with `budget_carryover`)", "budget", "$M"),
    Family("hall_starts_cap", define_hall_starts_cap,
           "hall starts in t ≤ `max_hall_starts`", "hall starts", "hall starts"),
    Family("ai_demand_cap", define_ai_demand_cap,
           "AI IT MW online at t ≤ `ai_demand_mw`", "AI demand", "MW IT"),
    Family("mining_floor", define_mining_floor,
           "Σ mining MW ≥ `min_mining_mw`", "mining floor", "MW"),
    Family("debt_service_coverage", define_debt_service_coverage,
           "Σ_{t in year} CFADS_t ≥ `min_dscr` · Σ_{t in year} debt service_t",
           "debt service coverage", "$M"),
    Family("start_commitments", define_start_commitments,
           "committed starts ≥ halls", "commitments", "halls", relax_first=False,
           in_report=False),
)
FAMILY = {f.component: f for f in FAMILIES}


def markdown() -> str:
    """The rule table of the docs, generated from `FAMILIES` (a test keeps the README equal)."""
    lines = ["| rule | function | component | Constraints sheet family | unit | relaxed by the "
             "explanation |", "|---|---|---|---|---|---|"]
    for f in FAMILIES:
        relax = "first" if f.relax_first else "only if nothing else helps"
        label = f.label if f.in_report else "not listed"
        lines.append(f"| {f.rule} | `{f.builder.__name__}` | `{f.component}` | {label} | "
                     f"{f.unit} | {relax} |")
    return "\n".join(lines) + "\n"
