"""Sweep scenarios: what a scenario changes, applying it to a Portfolio, and the sweep kinds.

A `Scenario` is a name and a tuple of `Change`s. `apply_changes(portfolio, changes)` returns a
new Portfolio (`Portfolio.replace`, new frames; the base is never edited). Parameters:

- ``hashprice``: multiplier (one number, or a path of T numbers, one per quarter) or value
  ($/PH/s/day in every quarter). Portfolio-wide.
- ``lease`` / ``capex``: the option's lease ($/kW-month) / hall conversion capex ($M per MW IT).
  Unscoped or scoped to an option, a multiplier or value changes the Options column; scoped to
  a site (with or without an option), it changes the SiteOptions multipliers of those pairs so
  that the effective figure is multiplied or becomes the value.
- ``budget`` / ``ai_demand``: multiplier (a blank, unlimited quarter stays blank) or value (the
  same $M / MW IT in every quarter, blanks included). Portfolio-wide.
- ``power_cost``: $/MWh of every site, or of one site.
- ``discount_rate``: value (per year) or multiplier.
- ``lead_quarters``: value = quarters added (+) or removed (-) to the build time of every
  option or of one; a multiplier scales it (rounded). Changes the model's structure.
- ``debt_rate``: value (per year) or multiplier of Settings debt_rate (needs debt_ltc > 0).
- ``min_dscr``: value (x) or multiplier of Settings min_dscr, the debt service coverage
  covenant (a multiplier needs a covenant in the workbook; a value sets one).
- ``renewal_probability`` / ``tenant_share``: the Options column renewal_probability /
  tenant_capex_share of every option or of one, multiplier or value; the result is kept in its
  range (renewal at most 1, tenant share at most `MAX_TENANT_SHARE`), as a tornado's +20% of a
  0.9 renewal probability is "certain renewal", not an input error.
- internal to marginal values: ``budget`` with mode ``add`` in given quarters, ``grid_mw`` and
  ``halls`` with mode ``add`` at a site.

Kinds: `tornado_scenarios`, `sheet_scenarios` (the Scenarios sheet), `grid_scenarios`,
`monte_carlo_scenarios`, `marginal_scenarios`. Every sweep starts with the unchanged ``base``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from models.errors import InputError, InputProblem, UsageError
from models.portfolio import Portfolio
from optimizer.inputs import schema
from optimizer.money import money

ChangeMode = Literal["multiplier", "value", "add"]  # how a Change applies its amount

SHEET_PARAMETERS: tuple[str, ...] = schema.SCENARIOS.column("parameter").choices


def _scope(driver: str) -> tuple[str, ...]:
    """The scopes a driver accepts, from the sheets of the columns it varies (schema
    `InputColumn.driver`): `site` if a Sites or SiteOptions column, `option` if an Options or
    SiteOptions column; none (portfolio-wide) for Quarters and Settings drivers."""
    sheets = schema.driver_columns(driver)
    return (("site",) * bool({"Sites", "SiteOptions"} & set(sheets))
            + ("option",) * bool({"Options", "SiteOptions"} & set(sheets)))


# Which scope each parameter accepts (marginal-only parameters included).
SCOPES: dict[str, tuple[str, ...]] = {d: _scope(d) for d in schema.drivers()}
# Drivers a tornado or grid varies, with the default tornado levels (multipliers, or quarters
# added for lead_quarters).
DEFAULT_RANGES: dict[str, tuple[float, float]] = {
    "hashprice": (0.8, 1.2), "lease": (0.8, 1.2), "capex": (0.8, 1.2),
    "power_cost": (0.8, 1.2), "budget": (0.8, 1.2), "discount_rate": (0.8, 1.2),
    "lead_quarters": (-1, 1), "ai_demand": (0.8, 1.2),
    "debt_rate": (0.8, 1.2), "renewal_probability": (0.8, 1.2), "tenant_share": (0.8, 1.2),
    "min_dscr": (0.8, 1.2),
}
MAX_TENANT_SHARE = 0.99  # tenant_capex_share must stay below 1 (the owner funds something)
# Deal drivers -> (Options column, upper bound) for the option-level ones.
_DEAL_OPTION_COLUMN = {"renewal_probability": (
                           schema.driver_columns("renewal_probability")["Options"], 1.0),
                       "tenant_share": (schema.driver_columns("tenant_share")["Options"],
                                        MAX_TENANT_SHARE)}
MAX_LEAD = int(schema.OPTIONS.column("lead_quarters").le or 40)
# Option figures (an Options column with a SiteOptions multiplier) and the quarter caps (an
# optional Quarters column, blank = no cap), each by the driver that varies it.
_OPTION_COLUMN = {d: (cols["Options"], cols["SiteOptions"]) for d in schema.drivers()
                  if {"Options", "SiteOptions"} <= set(cols := schema.driver_columns(d))}
_QUARTER_COLUMN = {d: name for d in schema.drivers()
                   if (name := schema.driver_columns(d).get("Quarters", ""))
                   and not schema.QUARTERS.column(name).required}


@dataclass(frozen=True)
class Change:
    """One change of one parameter. `amount` is a multiplier, a value or an addition (`mode`);
    a hashprice multiplier may be a path (one number per quarter). `quarters` limits an
    ``add`` of budget to those quarters (t indices)."""

    parameter: str
    mode: ChangeMode
    amount: float | tuple[float, ...]
    site: str | None = None
    option: str | None = None
    quarters: tuple[int, ...] | None = None

    def describe(self) -> str:
        """Short business text, e.g. ``capex x0.9 (dlc_ai)``."""
        scope = ", ".join(x for x in (self.site, self.option) if x)
        if isinstance(self.amount, tuple):
            path = np.asarray(self.amount)
            what = (f"path x{path.min():.2f}..x{path.max():.2f} (last quarter "
                    f"x{path[-1]:.2f})")
        elif self.parameter == "lead_quarters" and self.mode != "multiplier":
            what = f"{self.amount:+g} quarter(s)"
        elif self.mode == "multiplier":
            what = f"x{self.amount:.4g}"
        elif self.mode == "add":
            what = f"{self.amount:+,.4g}"
        else:
            what = f"= {self.amount:,.4g}"
        return f"{self.parameter} {what}" + (f" ({scope})" if scope else "")

    @property
    def number(self) -> float:
        """`amount` as one number; only a hashprice multiplier may be a path."""
        if isinstance(self.amount, tuple):
            raise ValueError(f"{self.parameter}: one number expected, not a path")
        return float(self.amount)


@dataclass(frozen=True)
class Scenario:
    """A named future. `driver`/`level` label tornado rows; `resource`/`units` marginal ones."""

    name: str
    kind: str
    changes: tuple[Change, ...] = ()
    driver: str = ""
    level: str = ""
    resource: str = ""
    units: float = math.nan

    @property
    def structural(self) -> bool:
        """True when the scenario changes the model's structure (a rebuild): lead times move
        every hall's online quarter and which starts are possible at all."""
        return any(c.parameter == "lead_quarters" for c in self.changes)

    def describe(self) -> str:
        return "; ".join(c.describe() for c in self.changes) or "no change"


# ---- applying changes ----------------------------------------------------------------------
def _scaled(base: pd.Series, change: Change) -> pd.Series:
    amount = change.number
    if change.mode == "multiplier":
        return base * amount
    if change.mode == "add":
        return base + amount
    return pd.Series(amount, index=base.index, dtype=float)


def _apply_option_figure(p: Portfolio, change: Change) -> Portfolio:
    """lease / capex: on the Options column, or on the SiteOptions multipliers of a site."""
    column, mult_column = _OPTION_COLUMN[change.parameter]
    if change.site is None:
        options = p.options.copy()
        rows = [change.option] if change.option else list(options.index)
        options.loc[rows, column] = _scaled(options.loc[rows, column].astype(float), change)
        return p.replace(options=options)
    site_options = p.site_options.copy()
    pairs = [(change.site, o) for o in ([change.option] if change.option else p.option_names)]
    base = p.options.loc[[o for _, o in pairs], column].to_numpy(float)
    current = site_options.loc[pairs, mult_column].to_numpy(float)
    # value: the multiplier that makes the site's figure equal to it
    new = current * change.number if change.mode == "multiplier" else change.number / base
    site_options.loc[pairs, mult_column] = new
    return p.replace(site_options=site_options)


def apply_change(p: Portfolio, change: Change) -> Portfolio:
    """The portfolio with one change applied (new frames; `p` is untouched)."""
    name = change.parameter
    if name == "hashprice":
        quarters = p.quarters.copy()
        if isinstance(change.amount, tuple):
            quarters["hashprice_usd_per_ph_day"] = (
                quarters["hashprice_usd_per_ph_day"].to_numpy(float) * np.asarray(change.amount))
        else:
            quarters["hashprice_usd_per_ph_day"] = _scaled(
                quarters["hashprice_usd_per_ph_day"].astype(float), change)
        return p.replace(quarters=quarters)
    if name in _OPTION_COLUMN:
        return _apply_option_figure(p, change)
    if name in _QUARTER_COLUMN:
        quarters = p.quarters.copy()
        column = _QUARTER_COLUMN[name]
        rows = list(change.quarters) if change.quarters is not None else list(quarters.index)
        quarters.loc[rows, column] = _scaled(quarters.loc[rows, column].astype(float), change)
        return p.replace(quarters=quarters)
    if name in ("power_cost", "grid_mw", "halls"):
        column = schema.driver_columns(name)["Sites"]
        sites = p.sites.copy()
        rows = [change.site] if change.site else list(sites.index)
        new = _scaled(sites.loc[rows, column].astype(float), change)
        if name == "halls":
            sites[column] = sites[column].astype("int64")
            new = new.round().astype("int64")
        sites.loc[rows, column] = new
        return p.replace(sites=sites)
    if name == "discount_rate":
        rate = p.settings.discount_rate
        new_rate = float(_scaled(pd.Series([rate]), change).iloc[0])
        return p.replace(settings=dataclasses.replace(p.settings, discount_rate=new_rate))
    if name == "debt_rate":
        rate = float(p.settings.debt_rate or 0.0)
        new_rate = float(_scaled(pd.Series([rate]), change).iloc[0])
        return p.replace(settings=dataclasses.replace(p.settings, debt_rate=new_rate))
    if name == "min_dscr":
        base = float(p.settings.min_dscr or 0.0)
        new = float(_scaled(pd.Series([base]), change).iloc[0])
        return p.replace(settings=dataclasses.replace(p.settings, min_dscr=new))
    if name in _DEAL_OPTION_COLUMN:
        column, top = _DEAL_OPTION_COLUMN[name]
        options = p.options.copy()
        rows = [change.option] if change.option else list(options.index)
        base = options.loc[rows, column].astype(float)
        options.loc[rows, column] = _scaled(base, change).clip(0.0, top)
        return p.replace(options=options)
    if name == "lead_quarters":
        options = p.options.copy()
        rows = [change.option] if change.option else list(options.index)
        lead = options.loc[rows, "lead_quarters"].astype(float)
        new = (lead * change.number if change.mode == "multiplier"
               else lead + change.number)
        options.loc[rows, "lead_quarters"] = new.round().astype("int64")
        return p.replace(options=options)
    raise ValueError(f"unknown sweep parameter {name!r}")


def apply_changes(portfolio: Portfolio, changes: Sequence[Change]) -> Portfolio:
    """The scenario portfolio: each change applied in order to a copy of `portfolio`."""
    for change in changes:
        portfolio = apply_change(portfolio, change)
    return portfolio


# ---- checking changes ----------------------------------------------------------------------
def change_problems(p: Portfolio, change: Change) -> list[tuple[str, object, str]]:
    """What is wrong with a change for this portfolio: (column, value, expected) triples."""
    out: list[tuple[str, object, str]] = []
    name = change.parameter
    if name not in SCOPES:
        return [("parameter", name, "one of " + ", ".join(SHEET_PARAMETERS))]
    allowed = SCOPES[name]
    for scope, value, known in (("site", change.site, p.site_names),
                                ("option", change.option, p.option_names)):
        if value is None:
            continue
        if scope not in allowed:
            where = " or ".join(allowed) if allowed else "nothing (it is portfolio-wide)"
            out.append((scope, value, f"blank: {name} can be limited to {where}"))
        elif value not in known:
            out.append((scope, value, f"a {scope} of the {scope.capitalize()}s sheet"))
    amounts = np.atleast_1d(np.asarray(change.amount, dtype=float))
    column = "multiplier" if change.mode == "multiplier" else "value"
    if not np.isfinite(amounts).all():
        return [*out, (column, change.amount, "a finite number")]
    if change.mode == "multiplier" and (amounts < 0).any():
        out.append((column, change.amount, "a multiplier >= 0"))
    if isinstance(change.amount, tuple) and (name != "hashprice" or len(amounts) != p.horizon):
        out.append((column, "path", f"a path of {p.horizon} multipliers, for hashprice only"))
    if out:
        return out
    amount = float(amounts[0])
    if name == "discount_rate":
        new = amount if change.mode == "value" else p.settings.discount_rate * amount
        g = p.settings.terminal_growth if p.settings.terminal_value == "gordon" else None
        if not 0.0 <= new < 1.0 or (g is not None and new <= g):
            floor = f" and above terminal_growth {g:g}" if g is not None else ""
            out.append((column, change.amount,
                        f"a discount rate (per year) >= 0 and < 1{floor}; gives {new:g}"))
    elif name == "lead_quarters":
        if change.mode != "multiplier" and amount != round(amount):
            out.append((column, change.amount, "a whole number of quarters to add (+) or "
                        "remove (-)"))
        else:
            lead = p.options["lead_quarters"].to_numpy(float)
            if change.option:
                lead = p.options.loc[[change.option], "lead_quarters"].to_numpy(float)
            new = np.round(lead * amount if change.mode == "multiplier" else lead + amount)
            if new.min() < 1 or new.max() > MAX_LEAD:
                out.append((column, change.amount, f"a change keeping every lead time in "
                            f"1..{MAX_LEAD} quarters (gives {new.min():g}..{new.max():g})"))
    elif name == "debt_rate" and not p.settings.debt_ltc > 0:
        out.append(("parameter", name, "a driver of this workbook: it has no debt (debt_ltc 0)"))
    elif name == "debt_rate" and not (0.0 <= (amount if change.mode == "value" else
                                              float(p.settings.debt_rate or 0) * amount) < 1.0):
        out.append((column, change.amount, "a debt rate (per year) >= 0 and < 1"))
    elif name == "min_dscr" and change.mode == "multiplier" and p.settings.min_dscr is None:
        out.append(("parameter", name, "a driver of this workbook: it has no covenant (Settings "
                    "min_dscr blank); give a value instead of a multiplier"))
    elif name == "min_dscr" and not (amount if change.mode == "value" else
                                     float(p.settings.min_dscr or 0) * amount) > 0:
        out.append((column, change.amount, "a covenant above 0 (min_dscr)"))
    elif name in _DEAL_OPTION_COLUMN and change.mode == "value" and not (
            0.0 <= amount <= _DEAL_OPTION_COLUMN[name][1]):
        out.append((column, change.amount,
                    f"a value in 0..{_DEAL_OPTION_COLUMN[name][1]:g}"))
    elif change.mode == "value" and amount < 0:
        out.append((column, change.amount, "a value >= 0"))
    elif (name in _OPTION_COLUMN and change.mode == "value" and change.site is not None):
        column_name = _OPTION_COLUMN[name][0]
        options = [change.option] if change.option else p.option_names
        zero = [o for o in options if float(p.options.loc[o, column_name]) == 0.0]
        if zero:
            out.append(("value", change.amount, f"a multiplier: {', '.join(zero)} has "
                        f"{column_name} 0, so a site value cannot be set from it"))
    return out


def _letters() -> dict[str, str]:
    return {c.name: chr(ord("A") + j) for j, c in enumerate(schema.SCENARIOS.columns)}


def _problem(p: Portfolio, i: int, column: str, value: object, expected: str) -> InputProblem:
    """A problem of Scenarios record i, at the cell it was read from (`validation._locations`
    puts the sheet, rows and column letters in the frame's attrs); a frame built in Python is
    named by the usual layout (header in row 1, columns in the contract's order)."""
    where = p.scenarios.attrs
    rows = where.get("rows")
    row = rows[i] if rows is not None and i < len(rows) else i + 2
    sheet = where.get("sheet", "Scenarios")
    if "letters" in where and where["letters"] is None:  # a CSV file: named by row
        return InputProblem(f"{sheet} row {row}", "", column, value, expected)
    letters = where.get("letters") or _letters()
    return InputProblem(sheet, f"{letters.get(column, _letters()[column])}{row}", column, value,
                   expected)


def sheet_scenarios(p: Portfolio) -> list[Scenario]:
    """The named scenarios of the Scenarios sheet, in order of first appearance, after the
    base. InputError (every problem, cells named) when a row does not fit the portfolio;
    UsageError when the sheet is empty."""
    frame = p.scenarios
    if frame is None or not len(frame):
        raise UsageError("the workbook has no Scenarios rows; add rows (scenario, parameter, "
                         "value or multiplier, site, option) or choose another sweep kind")
    problems: list[InputProblem] = []
    grouped: dict[str, list[Change]] = {}
    for i, rec in enumerate(frame.to_dict("records")):
        given = [(m, rec[m]) for m in ("value", "multiplier")
                 if rec[m] is not None and not pd.isna(rec[m])]
        if len(given) != 1:
            problems.append(_problem(p, i, "value", None, "exactly one of value and multiplier"))
            continue
        mode, amount = given[0]
        change = Change(str(rec["parameter"]), "multiplier" if mode == "multiplier" else "value",
                        float(amount), _blank_to_none(rec["site"]), _blank_to_none(rec["option"]))
        found = change_problems(p, change)
        if str(rec["scenario"]).strip().lower() == "base":
            found.append(("scenario", rec["scenario"], "another name: 'base' is the unchanged "
                          "portfolio every sweep starts with"))
        problems += [_problem(p, i, col, value, expected) for col, value, expected in found]
        if not found:
            grouped.setdefault(str(rec["scenario"]), []).append(change)
    if problems:
        raise InputError(problems, p.source)
    return [base_scenario()] + [Scenario(name, "scenario", tuple(changes))
                                for name, changes in grouped.items()]


def _blank_to_none(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def check_scenarios(p: Portfolio, scenarios: Sequence[Scenario]) -> None:
    """UsageError naming each scenario whose changes do not fit the portfolio (Python API)."""
    lines = [f"scenario {s.name!r}: {c.describe()}: {col} {value!r}: expected {expected}"
             for s in scenarios for c in s.changes
             for col, value, expected in change_problems(p, c)]
    if lines:
        raise UsageError("sweep scenarios do not fit the workbook:\n" + "\n".join(
            f"  - {line}" for line in lines))


# ---- sweep kinds ---------------------------------------------------------------------------
def base_scenario() -> Scenario:
    return Scenario("base", "base")


def _driver_change(driver: str, level: float) -> Change | None:
    """The change of a tornado/grid driver at a level (None when the level is no change)."""
    if driver == "lead_quarters":
        return None if level == 0 else Change(driver, "add", float(level))
    return None if level == 1 else Change(driver, "multiplier", float(level))


def _level_text(driver: str, level: float) -> str:
    return f"{level:+g} q" if driver == "lead_quarters" else f"x{level:g}"


def _deal_driver_moves(p: Portfolio, driver: str) -> bool:
    """A deal driver moves something: debt to price, leases that expire, tenant funding."""
    if driver == "debt_rate":
        return p.settings.debt_ltc > 0
    if driver == "renewal_probability":
        return ("lease_term_years" in p.options.columns
                and p.options["lease_term_years"].notna().any())
    if driver == "tenant_share":
        return ("tenant_capex_share" in p.options.columns
                and (p.options["tenant_capex_share"].fillna(0) > 0).any())
    if driver == "min_dscr":
        return p.settings.min_dscr is not None
    return True


def active_drivers(p: Portfolio) -> list[str]:
    """Drivers that move something in this portfolio (no budget driver without a budget, no
    debt rate without debt, no renewal driver without lease terms, no tenant share without
    tenant funding, no covenant driver without min_dscr)."""
    q = p.quarters
    return [d for d in DEFAULT_RANGES
            if not (d in _QUARTER_COLUMN and not q[_QUARTER_COLUMN[d]].notna().any())
            and _deal_driver_moves(p, d)]


def tornado_scenarios(p: Portfolio, ranges: dict[str, tuple[float, float]] | None = None
                      ) -> list[Scenario]:
    """Base, then each driver at its low and high level (default +-20%, lead time +-1 quarter;
    `ranges` overrides per driver). A lead-time low level is kept at 1 quarter at least."""
    levels = dict(DEFAULT_RANGES)
    unknown = sorted(set(ranges or {}) - set(levels))
    if unknown:
        raise UsageError(f"unknown tornado driver(s) {', '.join(unknown)}; choose from "
                         + ", ".join(levels))
    levels.update(ranges or {})
    min_lead = int(p.options["lead_quarters"].min())
    out = [base_scenario()]
    for driver in active_drivers(p):
        for tag, level in zip(("low", "high"), levels[driver], strict=True):
            if driver == "lead_quarters":
                level = max(level, 1 - min_lead)
            change = _driver_change(driver, level)
            out.append(Scenario(f"{driver} {tag} ({_level_text(driver, level)})", "tornado",
                                (change,) if change else (), driver=driver, level=tag))
    check_scenarios(p, out)
    return out


def parse_grid(spec: str) -> dict[str, list[float]]:
    """``"hashprice=0.8,1,1.2;capex=0.9,1.1"`` -> {driver: levels}. UsageError if malformed."""
    out: dict[str, list[float]] = {}
    for part in filter(None, (x.strip() for x in spec.split(";"))):
        driver, sep, values = part.partition("=")
        driver = driver.strip().lower()
        if not sep or driver not in DEFAULT_RANGES:
            raise UsageError(f"--grid {spec!r}: {part!r} must read DRIVER=V1,V2,... with DRIVER "
                             f"one of {', '.join(DEFAULT_RANGES)}")
        try:
            levels = [float(v) for v in values.split(",") if v.strip()]
        except ValueError as err:
            raise UsageError(f"--grid {spec!r}: {part!r} holds a value that is not a "
                             "number") from err
        if not levels or driver in out:
            raise UsageError(f"--grid {spec!r}: give {driver} once, with at least one value")
        out[driver] = levels
    if not out:
        raise UsageError("--grid needs at least one DRIVER=V1,V2,... (multipliers; quarters "
                         "added for lead_quarters)")
    return out


def grid_scenarios(p: Portfolio, grid: dict[str, list[float]]) -> list[Scenario]:
    """Base, then every combination of the drivers' levels (multipliers; lead_quarters levels
    are quarters added). The all-unchanged combination is the base and not repeated."""
    out = [base_scenario()]
    for combo in itertools.product(*grid.values()):
        changes = tuple(c for d, level in zip(grid, combo, strict=True)
                        if (c := _driver_change(d, level)) is not None)
        if not changes:
            continue
        name = ", ".join(f"{d} {_level_text(d, level)}" for d, level in
                         zip(grid, combo, strict=True))
        out.append(Scenario(name, "grid", changes))
    check_scenarios(p, out)
    return out


@dataclass(frozen=True)
class MonteCarloSpec:
    """Volatilities of the Monte Carlo draws (lognormal, mean-preserving)."""

    hashprice_sigma: float = 0.10  # per quarter, of the random walk multiplying the path
    lease_sigma: float = 0.10  # of the lease multiplier (whole draw)
    capex_sigma: float = 0.10  # of the capex multiplier (whole draw)
    # Deal drivers, drawn only where the portfolio has the term (see `_deal_driver_moves`):
    debt_rate_sigma: float = 0.15  # of the debt-rate multiplier
    renewal_sigma: float = 0.15  # of the renewal-probability multiplier (capped at 1)
    tenant_share_sigma: float = 0.15  # of the tenant-share multiplier


def monte_carlo_scenarios(p: Portfolio, n: int, seed: int, spec: MonteCarloSpec | None = None
                          ) -> list[Scenario]:
    """Base, then `n` draws. Draw i uses its own generator seeded by (seed, i), so a draw does
    not depend on n and the sweep is reproducible from the seed. The hashprice path is the
    base path times exp(a random walk with drift -sigma^2/2), so the halving step is kept and
    the expected path is the base; lease and capex multipliers are lognormal with mean 1."""
    spec = spec or MonteCarloSpec()
    if n < 1:
        raise UsageError("--monte-carlo needs at least 1 draw")
    out = [base_scenario()]
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        sig = spec.hashprice_sigma
        walk = np.cumsum(rng.normal(-0.5 * sig**2, sig, p.horizon))
        lease = float(np.exp(rng.normal(-0.5 * spec.lease_sigma**2, spec.lease_sigma)))
        capex = float(np.exp(rng.normal(-0.5 * spec.capex_sigma**2, spec.capex_sigma)))
        changes = [Change("hashprice", "multiplier", tuple(np.exp(walk).tolist())),
                   Change("lease", "multiplier", lease), Change("capex", "multiplier", capex)]
        # Drawn after the three above from the same generator, so a portfolio without deal
        # terms gets exactly the draws it got before they existed.
        for driver, sigma in (("debt_rate", spec.debt_rate_sigma),
                              ("renewal_probability", spec.renewal_sigma),
                              ("tenant_share", spec.tenant_share_sigma)):
            if _deal_driver_moves(p, driver):
                level = float(np.exp(rng.normal(-0.5 * sigma**2, sigma)))
                changes.append(Change(driver, "multiplier", level))
        out.append(Scenario(f"draw {i + 1:04d}", "monte_carlo", tuple(changes)))
    return out


def marginal_scenarios(p: Portfolio, budget_musd: float = 100.0, grid_mw: float = 50.0
                       ) -> list[Scenario]:
    """Base, then one re-solve per scarce resource unit: +`budget_musd` $M of budget in each
    calendar year that has a budget (split evenly over its budgeted quarters), +1 hall and
    +`grid_mw` MW of grid at each site."""
    out = [base_scenario()]
    budget = p.quarters["budget_musd"].to_numpy(float)
    years: dict[str, list[int]] = {}
    for t, label in enumerate(p.quarter_labels):
        if np.isfinite(budget[t]):
            years.setdefault(label[:4], []).append(t)
    for year, ts in years.items():
        out.append(Scenario(f"budget +{money(budget_musd, 0)} in {year}", "marginal",
                            (Change("budget", "add", budget_musd / len(ts),
                                    quarters=tuple(ts)),),
                            resource=f"budget {year}", units=budget_musd))
    for site in p.site_names:
        out.append(Scenario(f"{site}: +1 hall", "marginal",
                            (Change("halls", "add", 1.0, site=site),),
                            resource=f"halls at {site}", units=1.0))
        out.append(Scenario(f"{site}: +{grid_mw:g} MW grid", "marginal",
                            (Change("grid_mw", "add", grid_mw, site=site),),
                            resource=f"grid MW at {site}", units=grid_mw))
    check_scenarios(p, out)
    return out

