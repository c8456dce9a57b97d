"""Each constraint family's rows for a plan, from the rules' data layer (`models.rules`).

`Rows` is one family's rows: key, the plan's use, the limit and the sense. `FAMILY_ROWS` holds
one function per family of the model's registry (`models.conversion.FAMILIES`, by component
name, in its order) that gives its rows from a plan's `Usage`; `Rules.rows` and
`Rules.first_broken` call them. The model writes the same rows in Pyomo (a property test,
tests/test_rules.py, compares them row by row); the greedy's feasibility test, the report's
Constraints sheet and the tests read them here, and `LinearRows` is the same rows as a matrix
(`Rules.linear_rows`), for the decomposition. Each function works on a plan's usage and, the
rows being linear, on the usage of n directions (arrays with a trailing axis of n).
Units: each family's (MW, $M, halls).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from models.rules import Rules, Usage


@dataclass(frozen=True, eq=False)
class Rows:
    """The rows of one constraint family for one plan: each row's key (a site, a quarter, a
    (site, quarter) pair, a year index or a commitment index, as the model indexes the
    family), the plan's use, the limit and the sense: "<=" (used <= limit) or ">=" (used >=
    limit), in the family's unit."""

    keys: list[Any]
    used: np.ndarray  # (rows,), or (rows, n) for the usage of n directions
    limit: np.ndarray  # (rows,), or (rows, n) where the limit moves with the plan
    sense: str

    @property
    def slack(self) -> np.ndarray:
        """limit - used for "<=", used - limit for ">=": >= 0 where the row holds."""
        return self.limit - self.used if self.sense == "<=" else self.used - self.limit

    def holds(self, tolerance: float | np.ndarray = 0.0) -> bool:
        """Every row holds to within `tolerance` (absolute, scalar or per row)."""
        return bool((self.slack >= -np.asarray(tolerance)).all())

    def excess(self) -> dict[Any, float]:
        """{key: -slack}: how far each row is past its limit (<= 0 where it holds)."""
        return dict(zip(self.keys, (-self.slack).tolist(), strict=True))


@dataclass(frozen=True, eq=False)
class LinearRows:
    """Rows as  lower <= matrix @ v <= upper  over n variables v (a "<=" row has lower -inf,
    a ">=" row upper +inf): the rows of `Rows` written as coefficients, for a solver that
    takes a matrix (`models.rules.Rules.linear_rows`). `family` and `keys` name each row as
    `Rules.rows` does."""

    family: list[str]
    keys: list[Any]
    matrix: np.ndarray  # (R, n)
    lower: np.ndarray  # (R,)
    upper: np.ndarray  # (R,)

    def __len__(self) -> int:
        return len(self.keys)

    def take(self, keep: np.ndarray) -> LinearRows:
        """Only the rows `keep` (indices or a boolean mask)."""
        rows = np.arange(len(self))[keep]
        return LinearRows([self.family[i] for i in rows], [self.keys[i] for i in rows],
                          self.matrix[rows], self.lower[rows], self.upper[rows])

    def as_upper(self) -> tuple[np.ndarray, np.ndarray]:
        """(A, b) with every row as  A v <= b: a ">=" row negated (rows must be one-sided)."""
        below = np.isfinite(self.lower)
        if (below & np.isfinite(self.upper)).any():
            raise ValueError("a two-sided row has no single <= form")
        sign = np.where(below, -1.0, 1.0)
        return sign[:, None] * self.matrix, np.where(below, -self.lower, self.upper)

    def always_hold(self) -> np.ndarray:
        """(R,) mask of the rows every v >= 0 meets: no positive coefficient in their <= form
        and a bound >= 0 (a quarter no hall can reach, a cooling row only modules touch)."""
        a, b = self.as_upper()
        return (a <= 0).all(axis=1) & (b >= 0)

    def never_hold(self) -> np.ndarray:
        """(R,) mask of the rows no v >= 0 can meet: no coefficients and 0 outside the row's
        bounds (a start commitment with no candidate left)."""
        empty = ~self.matrix.any(axis=1)
        return empty & ((self.lower > 0) | (self.upper < 0))



# ---- each constraint family's rows: (rules, usage, sites of the per-site families) -> Rows --
def _per_site(used: np.ndarray, limit: np.ndarray, at: Sequence[int],
              having: Collection[int] | None = None) -> Rows:
    """used_s <= limit_s for the sites `at` (those `having` the family, if given)."""
    keys = list(at) if having is None else [s for s in at if s in having]
    return Rows(keys, used[keys].astype(float), limit[keys].astype(float), "<=")


def _per_cell(used: np.ndarray, limit: np.ndarray, at: Sequence[int]) -> Rows:
    """used_{s,t} <= limit_{s,t} for the sites `at` and every quarter."""
    sites = list(at)
    cells = [(s, t) for s in sites for t in range(used.shape[1])]

    def flat(a: np.ndarray) -> np.ndarray:  # keeps a trailing axis of directions
        return a[sites].reshape(len(cells), *a.shape[2:])

    return Rows(cells, flat(used), flat(limit), "<=")


def _halls_rows(r: Rules, u: Usage, at: Sequence[int]) -> Rows:
    """Halls started at a site over the plan (begun before it included) <= halls_s."""
    return _per_site(u.halls_started[:, -1], r.limits.halls, at)


def _power_rows(r: Rules, u: Usage, at: Sequence[int]) -> Rows:
    """Mining MW + grid MW reserved by halls <= grid MW + upgrade MW online, per (s, t)."""
    return _per_cell(u.power_used, u.power_available, at)


def _cooling_rows(r: Rules, u: Usage, at: Sequence[int]) -> Rows:
    """Cooling MW of halls online <= cooling MW + module MW online, per (s, t)."""
    return _per_cell(u.cooling_used, u.cooling_available, at)


def _module_rows(r: Rules, u: Usage, at: Sequence[int]) -> Rows:
    """Cooling modules started at a site <= max_cooling_modules_s (sites with modules)."""
    return _per_site(u.modules, r.limits.max_modules, at, r.modules.site_set)


def _upgrade_rows(r: Rules, u: Usage, at: Sequence[int]) -> Rows:
    """Power upgrades started at a site <= 1 (sites with an upgrade)."""
    return _per_site(u.upgrades, np.ones(r.n_sites), at, r.upgrades.site_set)


def _budget_rows(r: Rules, u: Usage, at: Sequence[int]) -> Rows:
    """Capital budget: `Limits.budget_rows` of the plan's budget use."""
    return r.limits.budget_rows(u.budget_use)


def _starts_rows(r: Rules, u: Usage, at: Sequence[int]) -> Rows:
    """Halls started in quarter t (in the plan) <= max_hall_starts_t, where set."""
    return r.limits.quarter_rows(r.limits.max_hall_starts, u.hall_starts, "<=")


def _demand_rows(r: Rules, u: Usage, at: Sequence[int]) -> Rows:
    """AI IT MW online at t, all sites, <= ai_demand_mw_t, where set."""
    return r.limits.quarter_rows(r.limits.ai_demand_mw, u.ai_it_online.sum(axis=0), "<=")


def _floor_rows(r: Rules, u: Usage, at: Sequence[int]) -> Rows:
    """Mining MW at t, all sites, >= min_mining_mw_t, where set."""
    return r.limits.quarter_rows(r.limits.min_mining_mw, u.mining.sum(axis=0), ">=")


def _coverage_rows(r: Rules, u: Usage, at: Sequence[int]) -> Rows:
    """CFADS_y >= min_dscr x debt service_y per calendar year (no rows without min_dscr)."""
    k = r.coverage.min_dscr if r.coverage is not None else 0.0
    return Rows(list(range(len(u.cfads))), u.cfads, k * u.debt_service, ">=")


def _committed_rows(r: Rules, u: Usage, at: Sequence[int]) -> Rows:
    """Halls a start commitment counts >= the halls it requires."""
    return Rows(list(range(len(r.commitments))), u.committed,
                np.array([float(c.halls) for c in r.commitments]), ">=")


FAMILY_ROWS: dict[str, Callable[[Rules, Usage, Sequence[int]], Rows]] = {
    "halls_per_site": _halls_rows, "site_power": _power_rows, "site_cooling": _cooling_rows,
    "cooling_module_limit": _module_rows, "power_upgrade_once": _upgrade_rows,
    "capital_budget": _budget_rows, "hall_starts_cap": _starts_rows,
    "ai_demand_cap": _demand_rows, "mining_floor": _floor_rows,
    "debt_service_coverage": _coverage_rows, "start_commitments": _committed_rows,
}
