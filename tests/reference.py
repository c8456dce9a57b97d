"""An independent, deliberately plain second implementation of sitepivot's economics.

The MILP (`optimizer.solve.optimize`) is checked against this module. Nothing here imports
`models.economics` or `models`: every rule of the economics notes (docs/economics.md
and "The program") is re-implemented with plain Python loops over sites, options and quarters,
so that a mistake in the vectorised coefficients or in the formulation shows up as a
disagreement. Slow is fine; obviously correct is the point.

- `make_portfolio` builds a validated-shape `Portfolio` directly (frames as documented in
  `models.portfolio`), so tests do not depend on the workbook reader.
- `evaluate(portfolio, starts, cooling_starts, power_start)` checks every constraint (None when
  one fails), dispatches the miners optimally and returns per-quarter line items, terminal value
  and NPV. Money in $M, power in MW.
- `enumerate_best(portfolio)` tries every plan of a tiny instance and returns the best.
- `decisions_of(plan)` turns a `Plan` back into the three decision dictionaries.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from models.portfolio import Portfolio, Settings
from models.quarters import add_quarters, quarter_ordinal, quarter_range
from optimizer.inputs import schema

D = 365.25 / 4  # days in a quarter
START = "2027Q1"

HallStarts = dict[tuple[str, str, int], int]  # (site, option, start quarter t) -> halls started
CoolingStarts = dict[tuple[str, int], int]  # (site, start quarter t) -> modules
PowerStart = dict[str, int]  # site -> start quarter t of its one power upgrade

LINE_ITEMS = ("mining_margin_musd", "ai_revenue_musd", "ai_opex_musd", "ai_power_musd",
              "capex_musd", "depreciation_musd", "tax_musd", "net_musd")


# --------------------------------------------------------------------------------------------
# Building portfolios for tests
# --------------------------------------------------------------------------------------------

def site(name: str, **values: Any) -> dict[str, Any]:
    """A Sites row with small, round defaults (10 MW halls, 40 MW grid, 20 J/TH at $40/MWh)."""
    row: dict[str, Any] = {"site": name, "region": "ERCOT", "grid_mw": 40.0, "mining_mw": 30.0,
                           "efficiency_j_per_th": 20.0, "power_cost_usd_per_mwh": 40.0,
                           "halls": 2, "hall_it_mw": 10.0, "cooling_mw": 30.0}
    row.update(values)
    return row


def option(name: str, **values: Any) -> dict[str, Any]:
    """An Options row: $2M per IT MW, 2 quarters lead, PUE 1.25, $150/kW-month."""
    row: dict[str, Any] = {"option": name, "capex_musd_per_it_mw": 2.0, "lead_quarters": 2,
                           "pue": 1.25, "cooling_mw_per_it_mw": 1.0,
                           "lease_usd_per_kw_month": 150.0}
    row.update(values)
    return row


def _row(table: schema.Table, given: dict[str, Any], skip: tuple[str, ...] = ()) -> dict:
    """Every column of `table` (but `skip`): the given value, else the schema default (NaN)."""
    unknown = set(given) - set(table.names)
    if unknown:
        raise KeyError(f"{table.sheet}: unknown columns {sorted(unknown)}")
    out: dict[str, Any] = {}
    for col in table.columns:
        if col.name in skip:
            continue
        if col.name in given and given[col.name] is not None:
            out[col.name] = given[col.name]
        elif col.required:
            raise KeyError(f"{table.sheet}: column {col.name} is required")
        else:
            out[col.name] = math.nan if col.default is None else col.default
    return out


def _per_quarter(value: Any, horizon: int) -> list[Any]:
    if isinstance(value, (list, tuple)):
        if len(value) != horizon:
            raise ValueError(f"need {horizon} values, got {len(value)}")
        return [math.nan if v is None else v for v in value]
    return [math.nan if value is None else value] * horizon


def make_portfolio(*, sites: list[dict[str, Any]], options: list[dict[str, Any]],
                   horizon: int = 8, discount_rate: float = 0.10, hashprice: Any = 50.0,
                   quarters: dict[str, Any] | None = None,
                   site_options: list[dict[str, Any]] = (),  # type: ignore[assignment]
                   commitments: list[dict[str, Any]] = (),  # type: ignore[assignment]
                   validate: bool = True, **settings: Any) -> Portfolio:
    """A `Portfolio` with frames exactly as `models.portfolio` documents them.

    ``quarters`` maps a Quarters column (e.g. ``budget_musd``) to one value for every quarter
    or a list of T values (None = no limit). ``settings`` are further `Settings` fields.
    Commitment quarters are labels (``"2027Q3"``) or ints relative to the start quarter.
    With ``validate`` (default) the frames go through `optimizer.inputs.validation` as a workbook's
    would (their values are unchanged by it; this only adds the real dtypes and the checks).
    """
    labels = quarter_range(START, horizon)
    sett = Settings(start_quarter=START, horizon_quarters=horizon, discount_rate=discount_rate,
                    **settings)

    site_rows = []
    for given in sites:
        row = _row(schema.SITES, given)
        if not isinstance(row["earliest_start"], str):
            row["earliest_start"] = START
        site_rows.append(row)
    sites_df = pd.DataFrame(site_rows).set_index("site")
    sites_df["halls"] = sites_df["halls"].astype(int)

    options_df = pd.DataFrame([_row(schema.OPTIONS, o) for o in options]).set_index("option")
    options_df["lead_quarters"] = options_df["lead_quarters"].astype(int)
    options_df["ramp_quarters"] = options_df["ramp_quarters"].astype(int)
    options_df["power_passthrough"] = options_df["power_passthrough"].astype(bool)

    overrides = {(r["site"], r["option"]): r for r in site_options}
    so_rows = []
    for s in sites_df.index:
        for o in options_df.index:
            so_rows.append(_row(schema.SITE_OPTIONS, {"site": s, "option": o,
                                                      **overrides.get((s, o), {})}))
    so_df = pd.DataFrame(so_rows).set_index(["site", "option"])
    so_df["allowed"] = so_df["allowed"].astype(bool)

    q: dict[str, Any] = {"quarter": labels,
                         "hashprice_usd_per_ph_day": _per_quarter(hashprice, horizon)}
    for col in schema.QUARTERS.columns[2:]:
        default = math.nan if col.default is None else col.default
        q[col.name] = [float(v) for v in
                       _per_quarter((quarters or {}).get(col.name, default), horizon)]
    quarters_df = pd.DataFrame(q, index=pd.RangeIndex(horizon, name="t"))

    c_rows = []
    for given in commitments:
        row = _row(schema.COMMITMENTS, given)
        if isinstance(row["quarter"], int):
            row["quarter"] = add_quarters(START, row["quarter"])
        row["option"] = row["option"] if isinstance(row["option"], str) else None
        row["quarter"] = row["quarter"] if isinstance(row["quarter"], str) else None
        row["halls"] = float(row["halls"])
        c_rows.append(row)
    commitments_df = pd.DataFrame(c_rows, columns=list(schema.COMMITMENTS.names))
    scenarios_df = pd.DataFrame(columns=list(schema.SCENARIOS.names))
    portfolio = Portfolio(settings=sett, sites=sites_df, options=options_df,
                          site_options=so_df, quarters=quarters_df, commitments=commitments_df,
                          scenarios=scenarios_df, source="tests.reference")
    return validated(portfolio) if validate else portfolio


def tables_of(portfolio: Portfolio) -> dict[str, pd.DataFrame]:
    """The raw sheets (as `optimizer.inputs.validation.portfolio_from_tables` takes them)."""
    fields = dataclasses.fields(portfolio.settings)
    settings = pd.DataFrame({"key": [f.name for f in fields],
                             "value": [getattr(portfolio.settings, f.name) for f in fields]},
                            dtype=object)
    return {"Settings": settings, "Sites": portfolio.sites.reset_index(),
            "Options": portfolio.options.reset_index(),
            "SiteOptions": portfolio.site_options.reset_index(),
            "Quarters": portfolio.quarters.reset_index(drop=True),
            "Commitments": portfolio.commitments}


def validated(portfolio: Portfolio) -> Portfolio:
    """The same portfolio passed through the real validation (same values, the real dtypes);
    checks that the test instance is valid input."""
    from optimizer.inputs.validation import portfolio_from_tables

    return portfolio_from_tables(tables_of(portfolio), source="tests.reference")


# --------------------------------------------------------------------------------------------
# Plain data read once from a Portfolio
# --------------------------------------------------------------------------------------------

def _num(value: Any) -> float | None:
    """A float, or None for a blank (NaN/None) cell."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


@dataclass
class Data:
    """The portfolio as plain dicts and lists (sites S, options O, quarters 0..T-1)."""

    T: int
    r: float
    mid: bool
    tax: float
    dep_quarters: float
    tv_kind: str
    tv_multiple: float | None
    tv_growth: float | None
    carryover: bool
    tv_taxed: bool  # terminal_value_tax = taxed: the TV uses after-tax NOI
    S: list[str]
    O: list[str]  # noqa: E741  (sites S, options O, as in the notes)
    site: dict[str, dict[str, Any]]
    opt: dict[str, dict[str, Any]]
    allowed: dict[tuple[str, str], bool]
    capex_mult: dict[tuple[str, str], float]
    lease_mult: dict[tuple[str, str], float]
    hashprice: list[float]
    power_index: list[float]
    lease_index: list[float]
    budget: list[float | None]
    demand: list[float | None]
    starts_cap: list[float | None]
    floor: list[float | None]
    earliest: dict[str, int]
    commit_start: list[tuple[str, str | None, int, int]] = field(default_factory=list)
    commit_exclude: list[tuple[str, str | None]] = field(default_factory=list)
    commit_not_before: list[tuple[str, str | None, int]] = field(default_factory=list)

    def df(self, t: int) -> float:
        """Discount factor of quarter t (end or mid of quarter)."""
        return (1 + self.r) ** (-((t + 0.5) if self.mid else (t + 1)) / 4)

    def margin(self, s: str, t: int) -> float:
        """Mining margin of site s in quarter t, $M per MW-quarter."""
        st = self.site[s]
        return (D * st["uptime"] * (self.hashprice[t] * 1000 / st["efficiency_j_per_th"]
                                    - 24 * st["power_cost_usd_per_mwh"] * self.power_index[t])
                / 1e6)

    def has_cooling_module(self, s: str) -> bool:
        return _num(self.site[s]["cooling_module_mw"]) is not None

    def has_power_upgrade(self, s: str) -> bool:
        return _num(self.site[s]["power_upgrade_mw"]) is not None

    def eligible(self, s: str, o: str, t: int) -> bool:
        """May a hall of option o start at site s in quarter t (t >= 0)?"""
        lead = self.opt[o]["lead_quarters"]
        if t < 0 or t + lead > self.T - 1 or not self.allowed[(s, o)]:
            return False
        if self.committed(s, o, t):
            return True  # a `start` commitment is always honoured
        if t < self.earliest[s]:
            return False
        for cs, co in self.commit_exclude:
            if cs == s and co in (None, o):
                return False
        return all(not (cs == s and co in (None, o) and t < ct)
                   for cs, co, ct in self.commit_not_before)

    def committed(self, s: str, o: str, t: int) -> bool:
        return any(cs == s and co in (None, o) and ct == t for cs, co, ct, _ in self.commit_start)


def read(portfolio: Portfolio) -> Data:
    """Read a Portfolio into plain Python values."""
    st = portfolio.settings
    q = portfolio.quarters
    T = st.horizon_quarters
    data = Data(
        T=T, r=st.discount_rate, mid=st.discounting == "mid", tax=st.tax_rate,
        dep_quarters=4 * st.depreciation_years, tv_kind=st.terminal_value,
        tv_multiple=st.terminal_multiple, tv_growth=st.terminal_growth,
        carryover=bool(st.budget_carryover), tv_taxed=st.terminal_value_tax == "taxed",
        S=list(portfolio.sites.index), O=list(portfolio.options.index),
        site={s: dict(row) for s, row in portfolio.sites.iterrows()},
        opt={o: dict(row) for o, row in portfolio.options.iterrows()},
        allowed={k: bool(v) for k, v in portfolio.site_options["allowed"].items()},
        capex_mult={k: float(v) for k, v in portfolio.site_options["capex_multiplier"].items()},
        lease_mult={k: float(v) for k, v in portfolio.site_options["lease_multiplier"].items()},
        hashprice=[float(v) for v in q["hashprice_usd_per_ph_day"]],
        power_index=[float(v) for v in q["power_index"]],
        lease_index=[float(v) for v in q["lease_index"]],
        budget=[_num(v) for v in q["budget_musd"]],
        demand=[_num(v) for v in q["ai_demand_mw"]],
        starts_cap=[_num(v) for v in q["max_hall_starts"]],
        floor=[_num(v) for v in q["min_mining_mw"]],
        earliest={s: portfolio.t_of(row["earliest_start"])
                  for s, row in portfolio.sites.iterrows()},
    )
    for o in data.O:
        data.opt[o]["lead_quarters"] = int(data.opt[o]["lead_quarters"])
        data.opt[o]["ramp_quarters"] = int(data.opt[o]["ramp_quarters"])
    for _, c in portfolio.commitments.iterrows():
        o = c["option"] if isinstance(c["option"], str) else None
        t = portfolio.t_of(c["quarter"]) if isinstance(c["quarter"], str) else None
        if c["action"] == "start":
            data.commit_start.append((c["site"], o, int(t), int(c["halls"])))
        elif c["action"] == "exclude":
            data.commit_exclude.append((c["site"], o))
        elif c["action"] == "not_before":
            data.commit_not_before.append((c["site"], o, int(t)))
    return data


# --------------------------------------------------------------------------------------------
# Evaluation of one plan
# --------------------------------------------------------------------------------------------

@dataclass
class Evaluation:
    """The value of one feasible plan. Money in $M; `lines[t]` maps LINE_ITEMS to values."""

    npv: float
    lines: list[dict[str, float]]
    discount_factors: list[float]
    terminal_value: float  # undiscounted, at the last quarter
    terminal_value_discounted: float
    mining_mw: dict[tuple[str, int], float]
    noi_last: float

    @property
    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.lines)


def _overlap(t: int, start: float, length: float) -> float:
    """Length of [t, t+1) intersected with [start, start+length)."""
    return max(0.0, min(t + 1.0, start + length) - max(float(t), start))


def _spread(amount: float, start: int, lead: int, T: int) -> dict[int, float]:
    """Capex `amount` spent evenly over quarters start..start+lead-1 (those in 0..T-1)."""
    return {u: amount / lead for u in range(start, start + lead) if 0 <= u < T}


class _Book:
    """Accumulates the per-quarter items of the hall and upgrade capex and AI operations."""

    def __init__(self, T: int) -> None:
        self.T = T
        self.capex = [0.0] * T
        self.dep = [0.0] * T
        self.rev = [0.0] * T
        self.opex = [0.0] * T
        self.power = [0.0] * T


def site_feasible(d: Data, s: str, starts: HallStarts, cooling: CoolingStarts,
                  power_start: PowerStart) -> bool:
    """The per-site rules: eligibility, halls, upgrade limits, power and cooling every quarter."""
    st = d.site[s]
    total = 0
    for (ss, o, t), x in starts.items():
        if ss != s or x == 0:
            continue
        if x < 0 or int(x) != x:
            return False
        total += x
        if t < 0:
            # Only a `start` commitment can place a hall before the plan: exactly those halls.
            if sum(n for cs, co, ct, n in d.commit_start if (cs, co, ct) == (s, o, t)) != x:
                return False
        elif not d.eligible(s, o, t):
            return False
    if total > st["halls"]:
        return False
    for cs, co, ct, n in d.commit_start:
        if cs == s and ct < 0 and starts.get((s, co, ct), 0) != n:
            return False  # a hall begun before the plan is a sunk fact, not a choice
    modules = 0
    for (ss, t), k in cooling.items():
        if ss != s or k == 0:
            continue
        if not d.has_cooling_module(s) or k < 0 or int(k) != k or t < 0 \
                or t + int(st["cooling_lead_quarters"]) > d.T - 1:
            return False
        modules += k
    if modules and modules > st["max_cooling_modules"]:
        return False
    if s in power_start:
        t = power_start[s]
        if not d.has_power_upgrade(s) or t < 0 \
                or t + int(st["power_upgrade_lead_quarters"]) > d.T - 1:
            return False
    for t in range(d.T):
        if power_left(d, s, t, starts, power_start) < -1e-9:
            return False
        if cooling_used(d, s, t, starts) > cooling_available(d, s, t, cooling) + 1e-9:
            return False
    return True


def power_left(d: Data, s: str, t: int, starts: HallStarts, power_start: PowerStart) -> float:
    """Grid MW of site s left for miners in quarter t after the halls started by t."""
    st = d.site[s]
    avail = st["grid_mw"]
    if s in power_start and power_start[s] + int(st["power_upgrade_lead_quarters"]) <= t:
        avail += st["power_upgrade_mw"]
    used = sum(x * d.opt[o]["pue"] * st["hall_it_mw"]
               for (ss, o, tau), x in starts.items() if ss == s and tau <= t)
    return avail - used


def cooling_used(d: Data, s: str, t: int, starts: HallStarts) -> float:
    h = d.site[s]["hall_it_mw"]
    return sum(x * d.opt[o]["cooling_mw_per_it_mw"] * h
               for (ss, o, tau), x in starts.items()
               if ss == s and tau + d.opt[o]["lead_quarters"] <= t)


def cooling_available(d: Data, s: str, t: int, cooling: CoolingStarts) -> float:
    st = d.site[s]
    avail = st["cooling_mw"]
    if d.has_cooling_module(s):
        lead = int(st["cooling_lead_quarters"])
        avail += st["cooling_module_mw"] * sum(k for (ss, tau), k in cooling.items()
                                               if ss == s and tau + lead <= t)
    return avail


def dispatch(d: Data, t: int, caps: dict[str, float]) -> dict[str, float] | None:
    """Optimal mining MW per site in quarter t given each site's usable MW (None: floor unmet).

    Each site runs at capacity when its margin is positive; a portfolio floor is then topped up
    from the highest-margin idle capacity first (the objective is linear, tax included).
    """
    run = {s: (caps[s] if d.margin(s, t) > 0 else 0.0) for s in d.S}
    floor = d.floor[t]
    if floor is not None:
        short = floor - sum(run.values())
        for s in sorted(d.S, key=lambda s: -d.margin(s, t)):
            if short <= 0:
                break
            add = min(caps[s] - run[s], short)
            run[s] += add
            short -= add
        if short > 1e-9:
            return None
    return run


def evaluate(portfolio: Portfolio | Data, starts: HallStarts, cooling_starts: CoolingStarts,
             power_start: PowerStart) -> Evaluation | None:
    """Check every constraint of a plan; if it holds, value it. None when infeasible.

    starts: {(site, option, t): halls}; cooling_starts: {(site, t): modules};
    power_start: {site: t}. Quarters t are relative to the start quarter.
    """
    d = portfolio if isinstance(portfolio, Data) else read(portfolio)
    starts = {k: v for k, v in starts.items() if v}
    cooling_starts = {k: v for k, v in cooling_starts.items() if v}
    T = d.T
    for s, _o, _t in starts:
        if s not in d.site:
            return None
    for s in d.S:
        if not site_feasible(d, s, starts, cooling_starts, power_start):
            return None
    # Commitments `start`: at least n halls (of that option, or of any) at that site and quarter.
    for cs, co, ct, n in d.commit_start:
        got = sum(x for (s, o, t), x in starts.items() if s == cs and t == ct and co in (None, o))
        if got < n:
            return None
    # Portfolio caps: hall starts per quarter, AI IT MW online.
    for t in range(T):
        cap = d.starts_cap[t]
        if cap is not None and sum(x for (_s, _o, u), x in starts.items() if u == t) > cap:
            return None
        if d.demand[t] is not None:
            online = sum(x * d.site[s]["hall_it_mw"] for (s, o, tau), x in starts.items()
                         if tau + d.opt[o]["lead_quarters"] <= t)
            if online > d.demand[t] + 1e-9:
                return None

    book = _Book(T)
    _book_halls(d, starts, book)
    _book_upgrades(d, cooling_starts, power_start, book)

    # Budget: per quarter, or cumulative over the quarters that have one.
    spent = allowed = 0.0
    for t in range(T):
        if d.budget[t] is None:
            continue
        if d.carryover:
            spent += book.capex[t]
            allowed += d.budget[t]
            if spent > allowed + 1e-7:
                return None
        elif book.capex[t] > d.budget[t] + 1e-7:
            return None

    mining_mw: dict[tuple[str, int], float] = {}
    mining = [0.0] * T
    for t in range(T):
        caps = {s: min(d.site[s]["mining_mw"], power_left(d, s, t, starts, power_start))
                for s in d.S}
        run = dispatch(d, t, caps)
        if run is None:
            return None
        for s in d.S:
            mining_mw[(s, t)] = run[s]
            mining[t] += run[s] * d.margin(s, t)

    lines = []
    dfs = []
    npv = 0.0
    for t in range(T):
        taxable = mining[t] + book.rev[t] - book.opex[t] - book.power[t] - book.dep[t]
        tax = d.tax * taxable
        net = mining[t] + book.rev[t] - book.opex[t] - book.power[t] - book.capex[t] - tax
        lines.append({"mining_margin_musd": mining[t], "ai_revenue_musd": book.rev[t],
                      "ai_opex_musd": book.opex[t], "ai_power_musd": book.power[t],
                      "capex_musd": book.capex[t], "depreciation_musd": book.dep[t],
                      "tax_musd": tax, "net_musd": net})
        dfs.append(d.df(t))
        npv += d.df(t) * net
    noi = book.rev[T - 1] - book.opex[T - 1] - book.power[T - 1]
    if d.tv_kind == "multiple":
        tv = d.tv_multiple * 4 * noi
    elif d.tv_kind == "gordon":
        tv = 4 * noi * (1 + d.tv_growth) / (d.r - d.tv_growth)
    else:
        tv = 0.0
    if d.tv_taxed:  # multiple and gordon on after-tax NOI
        tv *= 1 - d.tax
    tv_disc = d.df(T - 1) * tv
    return Evaluation(npv=npv + tv_disc, lines=lines, discount_factors=dfs, terminal_value=tv,
                      terminal_value_discounted=tv_disc, mining_mw=mining_mw, noi_last=noi)


def _depreciate(d: Data, book: _Book, amount: float, online: int) -> None:
    n = d.dep_quarters
    for t in range(d.T):
        book.dep[t] += amount / n * _overlap(t, online, n)


def _book_halls(d: Data, starts: HallStarts, book: _Book) -> None:
    for (s, o, tau), x in starts.items():
        st, op = d.site[s], d.opt[o]
        h = st["hall_it_mw"]
        lead = op["lead_quarters"]
        q0 = tau + lead
        capex = op["capex_musd_per_it_mw"] * d.capex_mult[(s, o)] * h
        for u, amount in _spread(capex, tau, lead, d.T).items():
            book.capex[u] += x * amount
        for _ in range(x):
            _depreciate(d, book, capex, q0)
        # The lease rate is set by the index of the delivery quarter; a hall delivered before
        # the plan has no index row, so its rate takes the first quarter's.
        base = (op["lease_usd_per_kw_month"] * d.lease_mult[(s, o)]
                * d.lease_index[min(max(q0, 0), d.T - 1)])
        for t in range(max(q0, 0), d.T):
            occ = min(1.0, (t - q0 + 1) / op["ramp_quarters"])
            rate = base * (1 + op["lease_escalator"]) ** ((t - q0) / 4)
            book.rev[t] += x * rate * h * 1000 * 3 * occ / 1e6
            book.opex[t] += x * op["opex_usd_per_kw_month"] * h * 1000 * 3 / 1e6
            if not op["power_passthrough"]:
                book.power[t] += x * (st["power_cost_usd_per_mwh"] * d.power_index[t] * op["pue"]
                                      * h * occ * 24 * D / 1e6)


def _book_upgrades(d: Data, cooling: CoolingStarts, power_start: PowerStart,
                   book: _Book) -> None:
    for (s, tau), k in cooling.items():
        st = d.site[s]
        lead = int(st["cooling_lead_quarters"])
        for u, amount in _spread(st["cooling_module_capex_musd"], tau, lead, d.T).items():
            book.capex[u] += k * amount
        for _ in range(k):
            _depreciate(d, book, st["cooling_module_capex_musd"], tau + lead)
    for s, tau in power_start.items():
        st = d.site[s]
        lead = int(st["power_upgrade_lead_quarters"])
        for u, amount in _spread(st["power_upgrade_capex_musd"], tau, lead, d.T).items():
            book.capex[u] += amount
        _depreciate(d, book, st["power_upgrade_capex_musd"], tau + lead)


# --------------------------------------------------------------------------------------------
# Enumeration
# --------------------------------------------------------------------------------------------

@dataclass
class Best:
    npv: float
    starts: HallStarts
    cooling_starts: CoolingStarts
    power_start: PowerStart
    evaluation: Evaluation
    plans_tried: int


def _multisets(items: list[Any], most: int) -> list[dict[Any, int]]:
    """Every multiset of at most `most` items, as {item: count}."""
    out = []
    for k in range(most + 1):
        for combo in itertools.combinations_with_replacement(items, k):
            counts: dict[Any, int] = {}
            for item in combo:
                counts[item] = counts.get(item, 0) + 1
            out.append(counts)
    return out


def site_plans(d: Data, s: str) -> list[tuple[HallStarts, CoolingStarts, PowerStart]]:
    """Every per-site plan that passes the per-site rules."""
    st = d.site[s]
    fixed = {(s, co, ct): n for cs, co, ct, n in d.commit_start if cs == s and ct < 0}
    free = st["halls"] - sum(fixed.values())
    items = [(o, t) for o in d.O for t in range(d.T) if d.eligible(s, o, t)]
    hall_sets = []
    for ms in _multisets(items, max(free, 0)):
        starts = dict(fixed)
        starts.update({(s, o, t): n for (o, t), n in ms.items()})
        hall_sets.append(starts)
    cooling_sets: list[CoolingStarts] = [{}]
    if d.has_cooling_module(s):
        lead = int(st["cooling_lead_quarters"])
        ts = [t for t in range(d.T) if t + lead <= d.T - 1]
        cooling_sets = [{(s, t): n for t, n in ms.items()}
                        for ms in _multisets(ts, int(st["max_cooling_modules"]))]
    power_sets: list[PowerStart] = [{}]
    if d.has_power_upgrade(s):
        lead = int(st["power_upgrade_lead_quarters"])
        power_sets += [{s: t} for t in range(d.T) if t + lead <= d.T - 1]
    out = []
    for starts, cool, pw in itertools.product(hall_sets, cooling_sets, power_sets):
        if site_feasible(d, s, starts, cool, pw):
            out.append((starts, cool, pw))
    return out


def count_plans(portfolio: Portfolio) -> int:
    """How many plans `enumerate_best` would try (product of feasible per-site plans)."""
    d = read(portfolio)
    return math.prod(len(site_plans(d, s)) for s in d.S)


def all_plans(portfolio: Portfolio, limit: int = 100_000
              ) -> list[tuple[HallStarts, CoolingStarts, PowerStart, Evaluation]]:
    """Every feasible plan of a tiny instance with its evaluation, in a fixed order."""
    d = read(portfolio)
    per_site = [site_plans(d, s) for s in d.S]
    total = math.prod(len(p) for p in per_site)
    if total > limit:
        raise ValueError(f"{total} plans to enumerate: too many for a test instance")
    out = []
    for combo in itertools.product(*per_site):
        starts: HallStarts = {}
        cooling: CoolingStarts = {}
        power: PowerStart = {}
        for st, cs, ps in combo:
            starts.update(st)
            cooling.update(cs)
            power.update(ps)
        ev = evaluate(d, starts, cooling, power)
        if ev is not None:
            out.append((starts, cooling, power, ev))
    return out


def enumerate_best(portfolio: Portfolio, limit: int = 100_000) -> Best | None:
    """The plan of highest NPV found by trying every combination; None if none is feasible."""
    best: Best | None = None
    total = count_plans(portfolio)
    for starts, cooling, power, ev in all_plans(portfolio, limit):
        if best is None or ev.npv > best.npv + 1e-12:
            best = Best(ev.npv, starts, cooling, power, ev, total)
    return best


# --------------------------------------------------------------------------------------------
# Reading a Plan back
# --------------------------------------------------------------------------------------------

def decisions_of(plan: Any) -> tuple[HallStarts, CoolingStarts, PowerStart]:
    """The starts, cooling module starts and power upgrade starts of an `optimizer.plan.Plan`."""
    portfolio = plan.portfolio
    starts: HallStarts = {}
    for _, row in plan.decisions.iterrows():
        key = (row["site"], row["option"], portfolio.t_of(row["start_quarter"]))
        starts[key] = starts.get(key, 0) + round(float(row["halls"]))
    cooling: CoolingStarts = {}
    power: PowerStart = {}
    for _, row in plan.upgrades.iterrows():
        t = portfolio.t_of(row["start_quarter"])
        if row["kind"] == "cooling":
            key_c = (row["site"], t)
            cooling[key_c] = cooling.get(key_c, 0) + round(float(row["units"]))
        elif row["kind"] == "power":
            if row["site"] in power:
                raise AssertionError(f"two power upgrades at {row['site']}")
            power[row["site"]] = t
        else:
            raise AssertionError(f"unknown upgrade kind {row['kind']!r}")
    return starts, cooling, power


def evaluate_plan(plan: Any) -> Evaluation | None:
    """The reference's valuation of a Plan's own decisions (None if they break a rule)."""
    return evaluate(plan.portfolio, *decisions_of(plan))


def quarter_t(label: str) -> int:
    """t of a quarter label relative to the tests' start quarter."""
    return quarter_ordinal(label) - quarter_ordinal(START)


def mismatches(plan: Any, ev: Evaluation, rel: float = 1e-6, tol: float = 1e-7) -> list[str]:
    """Every cash-flow line, discount factor and NPV where a Plan differs from an Evaluation.

    Costs (opex, AI power, capex, depreciation, tax) are positive numbers in both, as the
    column names of `optimizer.plan.CASH_FLOW_COLUMNS` say; the terminal value is compared
    discounted, as `Plan.terminal_value_musd` holds it.
    """
    out: list[str] = []

    def close(a: float, b: float) -> bool:
        return abs(a - b) <= tol + rel * max(abs(a), abs(b))

    cf = plan.cash_flows.reset_index(drop=True)
    labels = plan.portfolio.quarter_labels
    if list(cf["quarter"]) != labels:
        out.append(f"cash_flows quarters {list(cf['quarter'])} != {labels}")
        return out
    for t, line in enumerate(ev.lines):
        for item, want in line.items():
            got = float(cf.loc[t, item])
            if not close(got, want):
                out.append(f"{labels[t]} {item}: plan {got!r}, reference {want!r}")
        if not close(float(cf.loc[t, "discount_factor"]), ev.discount_factors[t]):
            out.append(f"{labels[t]} discount_factor: plan {cf.loc[t, 'discount_factor']!r}, "
                       f"reference {ev.discount_factors[t]!r}")
    if not close(float(plan.terminal_value_musd), ev.terminal_value_discounted):
        out.append(f"terminal_value_musd: plan {plan.terminal_value_musd!r}, reference "
                   f"{ev.terminal_value_discounted!r} (discounted)")
    if not close(float(plan.npv_musd), ev.npv):
        out.append(f"npv_musd: plan {plan.npv_musd!r}, reference {ev.npv!r}")
    return out
