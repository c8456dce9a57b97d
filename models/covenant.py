"""The debt service coverage covenant (Settings min_dscr) as per-unit coefficients: CFADS and
debt service of one unit of each kind of start by calendar year, the rows' data for
`models.rules.Rules` (its `coverage`), which the model, the rules layer's rows and the greedy
read. Units: $M, calendar years.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from models.cash_flows import Starts
    from models.portfolio import Portfolio


class PerUnit(NamedTuple):
    """One (units, Y) array per kind of start: halls, cooling modules, power upgrades."""

    hall: np.ndarray
    modules: np.ndarray
    upgrades: np.ndarray


@dataclass(frozen=True, eq=False)
class CoverageRules:
    """The debt service coverage covenant (Settings min_dscr = k) as per-unit coefficients by
    calendar year y (docs/economics.md, "Debt service coverage"):

        sum_c x_c hall[c, y] + sum_k modules[k, y] + sum_k upgrades[k, y]
            + sum_{s, t in y} mining[s, t] m[s, t] + base[y] >= 0,

    i.e. CFADS_y - k DS_y >= 0, where one unit's CFADS_t = NOI (1 - tax) + tax x depreciation
    + idle-power change (1 - tax) and its debt service DS_t = interest + principal - balloon;
    a MW mined adds (mining margin - idle value) (1 - tax) of CFADS; `base` is the empty
    sites' after-tax idle-power income. Linear in every decision."""

    min_dscr: float
    years: list[int]  # calendar years of the horizon, in order
    year_of: np.ndarray  # (T,) index into `years` of each quarter
    hall: np.ndarray  # (C, Y)
    modules: np.ndarray  # (K, Y)
    upgrades: np.ndarray  # (U, Y)
    mining: np.ndarray  # (S, T) CFADS of one MW mined
    base: np.ndarray  # (Y,) constant CFADS
    cfads: PerUnit  # CFADS per unit and year, (C, Y), (K, Y), (U, Y)
    service: PerUnit  # debt service per unit and year, likewise

    def by_year(self, quarterly: np.ndarray) -> np.ndarray:
        """(Y,) sums of a (T,) quarterly amount by calendar year ((Y, n) for (T, n))."""
        out = np.zeros((len(self.years), *np.shape(quarterly)[1:]))
        np.add.at(out, self.year_of, quarterly)
        return out


def unit_cfads(starts: Starts, tax_rate: float) -> np.ndarray:
    """(C, T) CFADS of one unit: NOI - tax (NOI - depreciation) + idle power (1 - tax)."""
    noi = starts.revenue - starts.opex - starts.ai_power
    return noi - tax_rate * (noi - starts.depreciation) + starts.idle_power * (1.0 - tax_rate)


def unit_debt_service(starts: Starts) -> np.ndarray:
    """(C, T) debt service of one unit: interest + principal - balloon."""
    return starts.interest + starts.principal - starts.balloon


def coverage_rules(portfolio: Portfolio, halls: Starts, cooling: Starts, power: Starts,
                   mining_cfads: np.ndarray, base_cfads: np.ndarray) -> CoverageRules | None:
    """The covenant's coefficients (`CoverageRules`), or None without Settings min_dscr."""
    st = portfolio.settings
    if st.min_dscr is None:
        return None
    k = float(st.min_dscr)
    labels = list(portfolio.quarters["quarter"])
    years = sorted({int(q[:4]) for q in labels})
    year_of = np.array([years.index(int(q[:4])) for q in labels], dtype=int)
    by_year = np.zeros((len(labels), len(years)))
    by_year[np.arange(len(labels)), year_of] = 1.0

    def per_year(starts: Starts) -> np.ndarray:
        return (unit_cfads(starts, st.tax_rate) - k * unit_debt_service(starts)) @ by_year

    def parts(unit: Callable[[Starts], np.ndarray]) -> PerUnit:
        return PerUnit(*(unit(starts) @ by_year for starts in (halls, cooling, power)))

    return CoverageRules(min_dscr=k, years=years, year_of=year_of, hall=per_year(halls),
                         modules=per_year(cooling), upgrades=per_year(power),
                         mining=mining_cfads, base=base_cfads.sum(axis=0) @ by_year,
                         cfads=parts(lambda starts: unit_cfads(starts, st.tax_rate)),
                         service=parts(unit_debt_service))
