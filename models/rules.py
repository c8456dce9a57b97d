"""The rules of the model as per-candidate arrays: the one data layer every reader uses.

What a start uses and adds, and every limit, is derived from the Portfolio's columns here and
nowhere else. The MILP (`models.conversion`), the greedy ranking, the decomposition, the
report's capacity and constraint rows and the sweep's in-place coefficient update all read
these arrays; `Rules.usage` evaluates every row quantity of the model for any plan with numpy,
and `Rules.rows` gives each constraint family's rows (key, use, limit, sense; `FAMILY_ROWS`,
one function per family, the budget's quarters in `Limits.budget_quarters` / `budget_rows`),
which the greedy's feasibility test, the report's Constraints sheet and the tests read (a
property test checks them against every Pyomo row). `Rules.linear_rows` writes the same rows
as coefficients over chosen variables (the usage of unit plans), which the decomposition's
site MILPs and coupling rows are built from (`Rules.for_site`: one site's rules alone).

Per hall candidate c (one row of ``econ.halls``: site s, option o, start quarter tau), one hall:
- reserves ``grid_mw[c]`` = pue_o * h_s MW of the site's grid power from ``grid_from[c]`` = tau
  (the miners in that hall come out when construction starts);
- needs ``cooling_mw[c]`` = cooling_mw_per_it_mw_o * h_s MW of cooling from ``online[c]`` =
  q0 = tau + L_o, when it is also ``it_mw[c]`` = h_s MW IT online;
- spends ``capex[c, t]`` $M of owner capex in quarter t (K / L in tau .. q0 - 1, quarters >= 0
  only) and uses ``budget[c, t]`` $M of the capital budget (the owner capex, tenant-funded
  share excluded and equipment purchases included, less the debt draws when budget_basis =
  equity: `Starts.budget_use`).
Per cooling-module or power-upgrade candidate k (site s, start quarter tau), one unit adds
``mw[k]`` MW from ``online[k]`` = tau + lead_s and spends ``capex[k, t]`` / uses ``budget[k, t]``.
Per site: halls, grid, cooling, mining and module limits; per quarter: budget, hall-start cap,
AI demand cap, mining floor (NaN = no limit).

Invariant, asserted when built: a candidate's budget use in quarter t depends only on its group
(the (site, option) pair of a hall; the site of a module or upgrade) and on t - tau. Every rule
known (even capex spread, tenant-funded shares, debt draws as a share of capex, equipment bought
at q0 and every few years) has that form; it lets the MILP keep one mutable coefficient per
(group, offset) in its budget rows (`OffsetTable`), which a sweep updates in place.

Units: MW, $M, quarters t = 0..T-1.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from models.covenant import CoverageRules, PerUnit
from models.decisions import Decisions
from models.rows import FAMILY_ROWS, LinearRows, Rows

if TYPE_CHECKING:
    from models.cash_flows import Starts
    from models.portfolio import Portfolio

RULE_TOLERANCE = 1e-12  # relative; candidates of one group must agree to this


class Commitment(NamedTuple):
    """A `start` commitment in the plan: at least `halls` halls among `candidates`."""

    site: int
    candidates: np.ndarray  # hall candidates it counts (its site and quarter, its option or any)
    halls: int


@dataclass(frozen=True, eq=False)
class OffsetTable:
    """Budget use of one unit by group and quarters since its start: ``rate[g, d]`` $M in
    quarter tau + d of a unit of group g started in tau (d = 0 .. depth-1)."""

    rate: np.ndarray  # (G, D)

    def offsets(self, g: int) -> list[int]:
        """The offsets d at which a unit of group g uses budget, in decreasing order (so the
        candidates of a budget row come in increasing start quarter)."""
        return [int(d) for d in np.flatnonzero(self.rate[g])[::-1]] if len(self.rate) else []

    def pattern(self) -> bytes:
        """Which (group, offset) entries are non-zero: the budget rows' structure."""
        return np.packbits(self.rate != 0).tobytes() + repr(self.rate.shape).encode()


@dataclass(frozen=True, eq=False)
class HallRules:
    """Per hall candidate (C,) or (C, T), for one hall; see the module docstring."""

    site: np.ndarray
    option: np.ndarray
    pair: np.ndarray  # index into Rules.pairs
    tau: np.ndarray
    grid_mw: np.ndarray
    grid_from: np.ndarray
    cooling_mw: np.ndarray
    online: np.ndarray  # cooling needed and IT MW online from here (q0)
    it_mw: np.ndarray
    capex: np.ndarray  # (C, T) owner capex, $M
    budget: np.ndarray  # (C, T) budget use, $M
    budget_rate: OffsetTable  # budget use by (pair, t - tau)

    def __len__(self) -> int:
        return len(self.site)


@dataclass(frozen=True, eq=False)
class UnitRules:
    """Per cooling-module or power-upgrade candidate (K,) or (K, T), for one unit."""

    site: np.ndarray
    tau: np.ndarray
    mw: np.ndarray  # MW added from `online`
    online: np.ndarray
    capex: np.ndarray  # (K, T) $M
    budget: np.ndarray  # (K, T) budget use, $M
    budget_rate: OffsetTable  # budget use by (site, t - tau)
    site_mw: np.ndarray  # (S,) MW one unit adds at each site (0 where it has none)
    site_lead: np.ndarray  # (S,) quarters from start to online (0 where it has none)
    sites: list[int]  # sites that have this kind of unit

    def __len__(self) -> int:
        return len(self.site)

    @cached_property
    def site_set(self) -> frozenset[int]:
        """`sites` as a set."""
        return frozenset(self.sites)


@dataclass(frozen=True, eq=False)
class Limits:
    """Per site (S,) and per quarter (T,) limits; NaN in a quarter array means no limit."""

    halls: np.ndarray  # (S,) most halls per site
    grid_mw: np.ndarray  # (S,)
    cooling_mw: np.ndarray  # (S,)
    mining_mw: np.ndarray  # (S,) miners installed
    max_modules: np.ndarray  # (S,) most cooling modules (0 where none)
    budget: np.ndarray  # (T,) $M
    budget_carryover: bool
    max_hall_starts: np.ndarray  # (T,)
    ai_demand_mw: np.ndarray  # (T,) MW IT
    min_mining_mw: np.ndarray  # (T,)

    @property
    def budgeted(self) -> np.ndarray:
        """Quarters that have a budget."""
        return np.flatnonzero(np.isfinite(self.budget))

    def budget_quarters(self, t: int) -> list[int]:
        """The budgeted quarters whose use and budget the budget row of quarter t sums: t alone,
        or with budget_carryover every budgeted quarter up to t (a blank budget quarter is
        unlimited and its spend does not count against later quarters)."""
        budgeted = self.budgeted.tolist()
        return budgeted[: budgeted.index(t) + 1] if self.budget_carryover else [t]

    def budget_rows(self, use: np.ndarray) -> Rows:
        """The capital budget rows for a budget use `use` (T,) $M, one per budgeted quarter t:
        the use of `budget_quarters(t)` <= their budget (`np.cumsum` with carryover)."""
        budgeted = self.budgeted
        used, limit = np.asarray(use, float)[budgeted], self.budget[budgeted]
        if self.budget_carryover:
            used, limit = np.cumsum(used, axis=0), np.cumsum(limit)
        return Rows(budgeted.tolist(), used, limit, "<=")

    def quarter_rows(self, cap: np.ndarray, used: np.ndarray, sense: str) -> Rows:
        """Rows of a per-quarter limit `cap` (T,) (NaN = no row): used_t `sense` cap_t."""
        quarters = np.flatnonzero(np.isfinite(cap))
        return Rows(quarters.tolist(), np.asarray(used, float)[quarters], cap[quarters], sense)


@dataclass(frozen=True, eq=False)
class Usage:
    """What a plan uses and has of every limit, (S, T) unless noted; by the model's rules."""

    halls_started: np.ndarray  # halls started by t (past starts counted from t = 0)
    halls_online: np.ndarray
    reserved_mw: np.ndarray  # grid MW reserved by halls
    mining: np.ndarray
    power_available: np.ndarray  # grid + upgrade MW online
    cooling_used: np.ndarray
    cooling_available: np.ndarray  # cooling + module MW online
    ai_it_online: np.ndarray
    modules: np.ndarray  # (S,) modules started over the plan
    upgrades: np.ndarray  # (S,) upgrades started over the plan
    capex: np.ndarray  # (T,) owner capex, $M
    budget_use: np.ndarray  # (T,) what counts against budget_musd, $M
    hall_starts: np.ndarray  # (T,) halls started in each quarter (in-plan starts)
    committed: np.ndarray  # (R,) halls started that each start commitment counts
    cfads: np.ndarray  # (Y,) CFADS per calendar year, $M (empty without a covenant)
    debt_service: np.ndarray  # (Y,) debt service per calendar year, $M (empty without one)

    @property
    def power_used(self) -> np.ndarray:
        return self.mining + self.reserved_mw


@dataclass(frozen=True, eq=False)
class Rules:
    """The one data layer: per-candidate rules, per-pair and per-site summaries, limits."""

    halls: HallRules
    modules: UnitRules
    upgrades: UnitRules
    limits: Limits
    pairs: list[tuple[int, int]]  # (site, option) pairs having hall candidates, sorted
    pair_first: np.ndarray  # (P,) earliest candidate start quarter of each pair
    pair_grid_mw: np.ndarray  # (P,) grid MW one hall of the pair reserves
    pair_cooling_mw: np.ndarray  # (P,)
    pair_it_mw: np.ndarray  # (P,)
    pair_lead: np.ndarray  # (P,) quarters from start to online
    commitments: list[Commitment]  # the start commitments in the plan
    coverage: CoverageRules | None = None  # the min_dscr covenant, None without one

    @property
    def n_sites(self) -> int:
        return len(self.limits.halls)

    @property
    def horizon(self) -> int:
        return len(self.limits.budget)

    def usage(self, d: Decisions, *, constants: bool = True) -> Usage:
        """Every row quantity of the model for the plan `d`, vectorised.

        Linear in `d`: its arrays may carry a trailing axis of n directions, (C, n), (K, n),
        (U, n) and (S, T, n), and every quantity then gets that axis too. With `constants=False`
        the parts no decision moves (the grid and cooling a site has, the empty sites' covenant
        income) are left out, so the usage of unit directions is the rows' coefficients
        (`linear_rows`)."""
        h, mod, upg = self.halls, self.modules, self.upgrades
        n_sites, horizon = self.n_sites, self.horizon

        def by(site: np.ndarray, when: np.ndarray, weight: np.ndarray, units: np.ndarray
               ) -> np.ndarray:
            return _cumulative(site, when, _scaled(units, weight), n_sites, horizon)

        extra = np.shape(d.halls)[1:]  # () for a plan, (n,) for directions
        ones = np.ones(len(h))
        starts = np.zeros((horizon, *extra))
        live = h.tau >= 0
        np.add.at(starts, h.tau[live], d.halls[live])
        modules, upgrades = np.zeros((n_sites, *extra)), np.zeros((n_sites, *extra))
        np.add.at(modules, mod.site, d.modules)
        np.add.at(upgrades, upg.site, d.upgrades)
        lim = self.limits
        on = 1.0 if constants else 0.0
        grid, cooling = (_scaled(np.ones((n_sites, horizon, *extra)), on * lim.grid_mw),
                         _scaled(np.ones((n_sites, horizon, *extra)), on * lim.cooling_mw))
        return Usage(
            halls_started=by(h.site, h.tau, ones, d.halls),
            halls_online=by(h.site, h.online, ones, d.halls),
            reserved_mw=by(h.site, h.grid_from, h.grid_mw, d.halls),
            mining=np.asarray(d.mining, float),
            power_available=grid + by(upg.site, upg.online, upg.mw, d.upgrades),
            cooling_used=by(h.site, h.online, h.cooling_mw, d.halls),
            cooling_available=cooling + by(mod.site, mod.online, mod.mw, d.modules),
            ai_it_online=by(h.site, h.online, h.it_mw, d.halls),
            modules=modules, upgrades=upgrades,
            capex=_per_unit(d.halls, h.capex) + _per_unit(d.modules, mod.capex)
            + _per_unit(d.upgrades, upg.capex),
            budget_use=_per_unit(d.halls, h.budget) + _per_unit(d.modules, mod.budget)
            + _per_unit(d.upgrades, upg.budget),
            hall_starts=starts,
            committed=np.array([d.halls[c.candidates].sum(axis=0) for c in self.commitments],
                               dtype=float).reshape(len(self.commitments), *extra),
            **self._coverage_usage(d, on))

    def empty_usage(self) -> Usage:
        """The usage of the empty plan with its own arrays, for `add_units` to change."""
        return self.usage(self.zero_plan())

    def add_units(self, u: Usage, kind: str, k: int, n: float) -> None:
        """Add n units of candidate k of `kind` ("hall", "module" or "upgrade") to the usage
        `u`, in place: what `usage` gives for the plan with them, field by field, in O(T) (a
        greedy changes its plan one start at a time). Halls online, capex, mining, the
        commitments and the covenant are not kept (the greedy reads them off its finished
        plan)."""
        if kind == "hall":
            h = self.halls
            s, tau, q0 = int(h.site[k]), int(h.tau[k]), max(int(h.online[k]), 0)
            u.halls_started[s, max(tau, 0):] += n
            u.reserved_mw[s, max(int(h.grid_from[k]), 0):] += n * h.grid_mw[k]
            u.cooling_used[s, q0:] += n * h.cooling_mw[k]
            u.ai_it_online[s, q0:] += n * h.it_mw[k]
            u.budget_use[:] += n * h.budget[k]
            if tau >= 0:
                u.hall_starts[tau] += n
            return
        units = self.modules if kind == "module" else self.upgrades
        s = int(units.site[k])
        (u.modules if kind == "module" else u.upgrades)[s] += n
        available = u.cooling_available if kind == "module" else u.power_available
        available[s, int(units.online[k]):] += n * units.mw[k]
        u.budget_use[:] += n * units.budget[k]

    def _coverage_usage(self, d: Decisions, on: float = 1.0) -> dict[str, np.ndarray]:
        """The plan's CFADS (mining and, `on`, the constant included) and debt service by
        year."""
        cov = self.coverage
        if cov is None:
            extra = np.shape(d.halls)[1:]
            return {"cfads": np.zeros((0, *extra)), "debt_service": np.zeros((0, *extra))}

        def of(per: PerUnit) -> np.ndarray:
            return (_per_unit(d.halls, per.hall) + _per_unit(d.modules, per.modules)
                    + _per_unit(d.upgrades, per.upgrades))

        mined = cov.by_year(_scaled(np.asarray(d.mining, float), cov.mining).sum(axis=0))
        return {"cfads": of(cov.cfads) + mined + _scaled(np.ones_like(mined), on * cov.base),
                "debt_service": of(cov.service)}

    def rows(self, u: Usage, families: Collection[str] | None = None,
             sites: Sequence[int] | None = None) -> dict[str, Rows]:
        """Every constraint family's rows for the plan whose usage is `u`, by the name of the
        model's component (`models.conversion.FAMILIES`, in its order; `FAMILY_ROWS`); the
        layer has a row for every key, also where the model leaves a row out because it
        always holds (a site without candidates, a quarter without a cap's use, a mining
        floor of 0). `families`: only these families; `sites`: the per-site families' rows
        of these sites only (a check after a change at one site)."""
        at = range(self.n_sites) if sites is None else sites
        return {name: rows(self, u, at) for name, rows in FAMILY_ROWS.items()
                if families is None or name in families}

    def zero_plan(self, directions: int | None = None) -> Decisions:
        """Nothing started, nothing mined; with `directions` = n, arrays of n directions."""
        extra = () if directions is None else (directions,)
        return Decisions(np.zeros((len(self.halls), *extra)),
                         np.zeros((len(self.modules), *extra)),
                         np.zeros((len(self.upgrades), *extra)),
                         np.zeros((self.n_sites, self.horizon, *extra)))

    def linear_rows(self, families: Sequence[str], directions: Decisions) -> LinearRows:
        """The rows of `families` (in that order) as  lower <= A v <= upper  over n variables
        v, where variable j moves the plan by the j-th direction of `directions` (arrays
        (C, n), (K, n), (U, n), (S, T, n); unit plans give each candidate's coefficients).

        Derived from `rows`, not written again: a row  used(plan) <= limit(plan)  is linear,
        so its coefficients are  used - limit  of the directions' usage without the constant
        parts (`usage(constants=False)`), and its bound is  limit - used  of the empty plan."""
        empty = self.rows(self.usage(self.zero_plan()), families)
        unit = self.rows(self.usage(directions, constants=False), families)
        n = np.shape(directions.halls)[1]
        names: list[str] = []
        keys: list[Any] = []
        matrix, lower, upper = [np.zeros((0, n))], [np.zeros(0)], [np.zeros(0)]
        for name in families:
            at_empty, per_unit = empty[name], unit[name]
            moving_limit = per_unit.limit.ndim == 2
            matrix.append(per_unit.used - per_unit.limit if moving_limit else per_unit.used)
            bound = at_empty.limit - at_empty.used
            none = np.full(len(bound), np.inf)
            lower.append(-none if at_empty.sense == "<=" else bound)
            upper.append(bound if at_empty.sense == "<=" else none)
            names += [name] * len(bound)
            keys += at_empty.keys
        return LinearRows(names, keys, np.vstack(matrix), np.concatenate(lower),
                          np.concatenate(upper))

    def for_site(self, s: int) -> Rules:
        """The rules of site s alone, as site 0: its candidates in their order, its limits and
        every per-quarter limit, its start commitments (counting its candidates by their
        position among the site's); no covenant (it couples every site)."""
        hall_at = np.flatnonzero(self.halls.site == s)
        module_at = np.flatnonzero(self.modules.site == s)
        upgrade_at = np.flatnonzero(self.upgrades.site == s)
        pair_ids = np.unique(self.halls.pair[hall_at])
        lim = self.limits
        one = slice(s, s + 1)
        return Rules(
            halls=_take(self.halls, hall_at, pair=np.searchsorted(pair_ids,
                                                                  self.halls.pair[hall_at])),
            modules=_take_units(self.modules, module_at, s),
            upgrades=_take_units(self.upgrades, upgrade_at, s),
            limits=replace(lim, halls=lim.halls[one], grid_mw=lim.grid_mw[one],
                           cooling_mw=lim.cooling_mw[one], mining_mw=lim.mining_mw[one],
                           max_modules=lim.max_modules[one]),
            pairs=[(0, self.pairs[p][1]) for p in pair_ids],
            pair_first=self.pair_first[pair_ids], pair_grid_mw=self.pair_grid_mw[pair_ids],
            pair_cooling_mw=self.pair_cooling_mw[pair_ids],
            pair_it_mw=self.pair_it_mw[pair_ids], pair_lead=self.pair_lead[pair_ids],
            commitments=[Commitment(0, np.searchsorted(hall_at, c.candidates), c.halls)
                         for c in self.commitments if c.site == s])

    def headroom(self, u: Usage, family: str, sites: Sequence[int] | None = None
                 ) -> np.ndarray:
        """(sites, T) limit - used of a family with one row per (site, quarter) (site_power,
        site_cooling): what is left; negative where the row is broken."""
        at = range(self.n_sites) if sites is None else sites
        return FAMILY_ROWS[family](self, u, at).slack.reshape(len(at), self.horizon)

    def first_broken(self, u: Usage, families: Sequence[str], sites: Sequence[int] | None = None,
                     tolerance: float = 0.0) -> str | None:
        """The first of `families`, in that order, with a row of `rows(u, ..., sites)` broken
        by more than `tolerance`, or None if all hold (stops at the first broken family)."""
        at = range(self.n_sites) if sites is None else sites
        for name in families:
            if not FAMILY_ROWS[name](self, u, at).holds(tolerance):
                return name
        return None


def _take(halls: HallRules, at: np.ndarray, pair: np.ndarray) -> HallRules:
    """The hall candidates `at`, as candidates of site 0 with pairs renumbered `pair`."""
    return replace(halls, site=np.zeros(len(at), int), option=halls.option[at], pair=pair,
                   tau=halls.tau[at], grid_mw=halls.grid_mw[at],
                   grid_from=halls.grid_from[at], cooling_mw=halls.cooling_mw[at],
                   online=halls.online[at], it_mw=halls.it_mw[at], capex=halls.capex[at],
                   budget=halls.budget[at],
                   budget_rate=OffsetTable(halls.budget_rate.rate[np.unique(halls.pair[at])]))


def _take_units(units: UnitRules, at: np.ndarray, s: int) -> UnitRules:
    """The module or upgrade candidates `at` (all of site s), as candidates of site 0."""
    return replace(units, site=np.zeros(len(at), int), tau=units.tau[at], mw=units.mw[at],
                   online=units.online[at], capex=units.capex[at], budget=units.budget[at],
                   budget_rate=OffsetTable(units.budget_rate.rate[s:s + 1]),
                   site_mw=units.site_mw[s:s + 1], site_lead=units.site_lead[s:s + 1],
                   sites=[0] if s in units.site_set else [])


def _cumulative(site: np.ndarray, when: np.ndarray, amount: np.ndarray, n_sites: int,
                horizon: int) -> np.ndarray:
    """(S, T): sum of `amount` of the candidates with `when` <= t (when < 0 counts from 0);
    (S, T, n) for an `amount` (C, n) of n directions."""
    out = np.zeros((n_sites, horizon + 1, *amount.shape[1:]))
    if amount.ndim == 1:
        chosen = amount != 0
        if chosen.any():
            np.add.at(out, (site[chosen], np.clip(when[chosen], 0, horizon)), amount[chosen])
    elif len(amount):  # directions: sum the candidates of each cell at once (add.at is slow)
        cell = site * (horizon + 1) + np.clip(when, 0, horizon)
        order = np.argsort(cell, kind="stable")
        cells, first = np.unique(cell[order], return_index=True)
        sums = np.add.reduceat(amount[order], first, axis=0)
        out.reshape(n_sites * (horizon + 1), *amount.shape[1:])[cells] = sums
    return np.cumsum(out, axis=1)[:, :horizon]


def _scaled(units: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """units x weight along the leading axes of `weight` (units may have a trailing axis of
    directions)."""
    return units * weight.reshape(weight.shape + (1,) * (units.ndim - weight.ndim))


def _per_unit(units: np.ndarray, table: np.ndarray) -> np.ndarray:
    """sum_c units_c table[c, ...]: (T,) or (Y,) for a plan, with a trailing axis for
    directions (the plan's own product unchanged, so its sums are as they always were)."""
    return units @ table if units.ndim == 1 else np.tensordot(table, units, axes=(0, 0))


def offset_table(group: np.ndarray, tau: np.ndarray, rows: np.ndarray, n_groups: int,
                 what: str) -> OffsetTable:
    """`rows` (C, T) as a table by (group, t - tau), asserting that it is one (see the module
    docstring): every candidate's row equals its group's table shifted to its start quarter."""
    horizon = rows.shape[1]
    if not len(group):
        return OffsetTable(np.zeros((n_groups, 0)))
    if (rows < 0).any():
        raise AssertionError(f"{what} is negative: the budget rows would not be knapsacks")
    depth = horizon - min(0, int(tau.min()))
    d = np.arange(horizon)[None, :] - tau[:, None]
    g = np.broadcast_to(group[:, None], d.shape)
    inside = d >= 0
    rate = np.zeros((n_groups, depth))
    rate[g[inside], d[inside]] = rows[inside]
    back = np.where(inside, rate[g, np.clip(d, 0, None)], 0.0)
    bad = np.abs(back - rows) > RULE_TOLERANCE * np.maximum(1.0, np.abs(rows))
    if bad.any():
        c, t = np.argwhere(bad)[0]
        raise AssertionError(f"{what} of candidate {c} in quarter {t} is not a function of its "
                             "group and t - tau: the budget rows cannot be written per offset")
    return OffsetTable(rate)


def per_group(group: np.ndarray, values: np.ndarray, n_groups: int, what: str) -> np.ndarray:
    """(G,) the value every candidate of a group shares (0 for groups without candidates)."""
    out = np.zeros(n_groups)
    out[group] = values
    if not np.allclose(out[group], values, rtol=RULE_TOLERANCE, atol=0.0):
        raise AssertionError(f"{what} differs between candidates of one group")
    return out


def build_rules(portfolio: Portfolio, halls: Starts, cooling: Starts, power: Starts,
                coverage: CoverageRules | None = None) -> Rules:
    """The rules of one Portfolio over the candidates of its economics (see module docstring);
    `coverage` is the debt service covenant's data (`coverage_rules`), if any."""
    sites, options, q = portfolio.sites, portfolio.options, portfolio.quarters
    n_options = len(options)
    hall_mw = sites["hall_it_mw"].to_numpy(float)
    pue = options["pue"].to_numpy(float)
    cooling_per_mw = options["cooling_mw_per_it_mw"].to_numpy(float)

    pair_key = halls.site * n_options + halls.option
    keys, pair = np.unique(pair_key, return_inverse=True)
    pair = pair.reshape(-1)
    pairs = [(int(k) // n_options, int(k) % n_options) for k in keys]
    n_pairs = len(pairs)
    pair_first = np.full(n_pairs, np.iinfo(np.int64).max)
    np.minimum.at(pair_first, pair, halls.tau)

    grid_mw = pue[halls.option] * hall_mw[halls.site]
    cooling_mw = cooling_per_mw[halls.option] * hall_mw[halls.site]
    it_mw = hall_mw[halls.site]
    budget = budget_use(portfolio, halls.capex)
    hall_rules = HallRules(
        site=halls.site, option=halls.option, pair=pair, tau=halls.tau, grid_mw=grid_mw,
        grid_from=halls.tau, cooling_mw=cooling_mw, online=halls.online, it_mw=it_mw,
        capex=halls.capex, budget=budget,
        budget_rate=offset_table(pair, halls.tau, budget, n_pairs, "hall budget use"))

    limits = Limits(
        halls=sites["halls"].to_numpy(int), grid_mw=sites["grid_mw"].to_numpy(float),
        cooling_mw=sites["cooling_mw"].to_numpy(float),
        mining_mw=sites["mining_mw"].to_numpy(float),
        max_modules=sites["max_cooling_modules"].fillna(0).to_numpy(int),
        budget=q["budget_musd"].to_numpy(float),
        budget_carryover=bool(portfolio.settings.budget_carryover),
        max_hall_starts=q["max_hall_starts"].to_numpy(float),
        ai_demand_mw=q["ai_demand_mw"].to_numpy(float),
        min_mining_mw=q["min_mining_mw"].to_numpy(float))
    return Rules(
        halls=hall_rules,
        modules=_unit_rules(portfolio, cooling, "cooling_module_mw", "cooling module"),
        upgrades=_unit_rules(portfolio, power, "power_upgrade_mw", "power upgrade"),
        limits=limits, pairs=pairs, pair_first=pair_first.astype(int),
        pair_grid_mw=per_group(pair, grid_mw, n_pairs, "grid MW of a hall"),
        pair_cooling_mw=per_group(pair, cooling_mw, n_pairs, "cooling MW of a hall"),
        pair_it_mw=per_group(pair, it_mw, n_pairs, "IT MW of a hall"),
        pair_lead=per_group(pair, halls.online - halls.tau, n_pairs, "lead").astype(int),
        commitments=_commitment_rows(portfolio, halls), coverage=coverage)


def budget_use(portfolio: Portfolio, capex: np.ndarray) -> np.ndarray:
    """(C, T) $M each candidate's unit counts against `budget_musd`.

    The one place the budget basis is decided: the owner capex (`models.economics` has already
    left the tenant-funded share out and put equipment purchases in), or with budget_basis =
    equity the owner's equity in it, capex less the debt draws, (1 - debt_ltc) x capex
    (docs/economics.md, "Deal structure"). It must stay >= 0 (the budget rows are knapsacks over the
    start variables) and a shifted row per group (see the module docstring); both are asserted
    when the rules are built.
    """
    st = portfolio.settings
    if st.budget_basis == "equity" and st.debt_ltc > 0:
        return capex * (1.0 - st.debt_ltc)
    return capex


def _unit_rules(portfolio: Portfolio, starts: Starts, mw_column: str, what: str) -> UnitRules:
    n_sites = len(portfolio.sites)
    mw = portfolio.sites[mw_column].to_numpy(float)[starts.site]
    lead = starts.online - starts.tau
    budget = budget_use(portfolio, starts.capex)
    return UnitRules(
        site=starts.site, tau=starts.tau, mw=mw, online=starts.online, capex=starts.capex,
        budget=budget,
        budget_rate=offset_table(starts.site, starts.tau, budget, n_sites, f"{what} budget use"),
        site_mw=per_group(starts.site, mw, n_sites, f"MW of a {what}"),
        site_lead=per_group(starts.site, lead, n_sites, f"lead of a {what}").astype(int),
        sites=sorted(set(starts.site.tolist())))


def _commitment_rows(portfolio: Portfolio, halls: Starts) -> list[Commitment]:
    """Each `start` commitment in the plan (quarter >= 0): the hall candidates it counts (at
    its site and quarter, of its option or of any) and the halls it requires. Starts before the
    plan are fixed candidates instead (`Economics.fixed_halls`)."""
    site_pos = {n: i for i, n in enumerate(portfolio.sites.index)}
    option_pos = {n: j for j, n in enumerate(portfolio.options.index)}
    rows: list[Commitment] = []
    for row in portfolio.commitments.itertuples(index=False):
        if row.action != "start":
            continue
        t = portfolio.t_of(row.quarter)
        if t < 0:
            continue
        s = site_pos[row.site]
        match = (halls.site == s) & (halls.tau == t)
        if not (row.option is None or pd.isna(row.option)):
            match &= halls.option == option_pos[row.option]
        rows.append(Commitment(s, np.flatnonzero(match), int(row.halls)))
    return rows
