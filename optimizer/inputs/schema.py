"""The workbook contract: one description of every sheet and column.

This module is the single source for validation (`optimizer.inputs.validation`), the template
workbook (`optimizer.inputs.template`) and the documentation (`markdown()` renders the README's
contract tables; a test keeps the two equal). Each column states its kind, unit, default, allowed
range and meaning; nothing else in the code base restates them.

Kinds:
- ``text``: a non-empty string (site or option names, regions).
- ``number``: a real number; text holding a number (``"3.5"``) is accepted.
- ``integer``: a whole number; ``3.0`` is accepted, ``3.5`` is not.
- ``bool``: TRUE/FALSE, yes/no, 1/0 (case-insensitive).
- ``quarter``: a quarter label, ``2027Q1``, ``2027-Q1``, ``2027 Q1``, ``Q1 2027``, ``1Q2027``
  or a date (its calendar quarter, with a warning); stored as ``2027Q1``
  (`models.quarters.parse_quarter`).
- ``choice``: one of ``choices`` (case-insensitive); stored in lower case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["text", "number", "integer", "bool", "quarter", "choice"]


@dataclass(frozen=True)
class InputColumn:
    """One column of a sheet (or one key of the Settings sheet).

    ``required`` columns must be present and every cell filled. An optional column may be
    absent or blank; blanks take ``default``, and ``default=None`` on an optional column
    means "no limit" (or "not given") and is kept as NaN / None.
    Bounds: ``ge``/``le`` inclusive, ``gt``/``lt`` exclusive.
    """

    name: str
    kind: Kind
    unit: str
    meaning: str
    required: bool = True
    default: Any = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[str, ...] = ()
    example: Any = None
    # Plausible range (inclusive; None = open): a value outside it is accepted with a warning
    # naming its cell (a unit slip: $ for $M, kW for MW). The bounds above are errors.
    typical: tuple[float | None, float | None] | None = None
    # The `compare` bridge family its changes are booked under ("" = `other`); the sweep driver
    # (a Scenarios `parameter` or tornado driver) that varies it ("" = none); whether a change of
    # its value changes the solver model's structure (the sweep worker rebuilds, not re-solves).
    family: str = ""
    driver: str = ""
    structural: bool = False

    def expectation(self) -> str:
        """Plain-language statement of what a valid cell holds, for error messages."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "TRUE or FALSE (yes/no, 1/0)"
        if self.kind == "quarter":
            return "a quarter such as 2027Q1"
        if self.kind == "text":
            return "a non-empty name"
        what = "a whole number" if self.kind == "integer" else "a number"
        parts = []
        if self.ge is not None:
            parts.append(f">= {_figure(self.ge)}")
        if self.gt is not None:
            parts.append(f"> {_figure(self.gt)}")
        if self.le is not None:
            parts.append(f"<= {_figure(self.le)}")
        if self.lt is not None:
            parts.append(f"< {_figure(self.lt)}")
        return what + (" " + " and ".join(parts) if parts else "")

    def typical_text(self) -> str:
        """`typically 10 to 3,000`, `typically up to 3,000`, or "" without a typical range."""
        if self.typical is None:
            return ""
        low, high = self.typical
        if low is not None and high is not None:
            return f"typically {_figure(low)} to {_figure(high)}"
        if high is not None:
            return f"typically up to {_figure(high)}"
        return f"typically at least {_figure(low)}" if low is not None else ""

    def atypical(self, number: float) -> str | None:
        """A warning's words when `number` is outside the typical range, else None."""
        if self.typical is None:
            return None
        low, high = self.typical
        if (low is not None and number < low) or (high is not None and number > high):
            unit = f" {self.unit}" if self.unit else ""
            return (f"unusual value: {self.typical_text()}{unit} ({self.meaning.rstrip('.')}); "
                    "check the figure and its unit")
        return None


def _figure(x: float) -> str:
    """A bound as people write it: 20,000 / 0.5 / 1e-06."""
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:g}"


@dataclass(frozen=True)
class Table:
    """One sheet: a table with its header in row 1 and one record per row.

    ``key`` columns identify a record and must be unique (e.g. one row per site).
    ``groups`` are sets of optional columns that must be given all together or not at all.
    """

    sheet: str
    meaning: str
    columns: tuple[InputColumn, ...]
    required: bool = True
    key: tuple[str, ...] = ()
    groups: tuple[tuple[str, ...], ...] = field(default=())

    def column(self, name: str) -> InputColumn:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


MONEY_GE0 = {"ge": 0.0}

SETTINGS = Table(
    sheet="Settings",
    meaning="Run-wide settings: one row per key, columns `key` and `value`.",
    columns=(
        InputColumn("start_quarter", "quarter", "quarter", "First quarter of the plan (t = 0).",
                    example="2027Q1", family="horizon"),
        InputColumn("horizon_quarters", "integer", "quarters", "Number of quarters T in the plan.",
                    ge=1, le=400, typical=(4, 120), example=8, family="horizon", structural=True),
        InputColumn("discount_rate", "number", "per year", "Annual discount rate r.",
                    ge=0.0, lt=1.0, typical=(0.02, 0.30), example=0.10, driver="discount_rate"),
        InputColumn("discounting", "choice", "", "Cash flows at the end or middle of each quarter.",
                    required=False, default="end", choices=("end", "mid"), example="end"),
        InputColumn("tax_rate", "number", "fraction", "Tax on operating profit less depreciation.",
                    required=False, default=0.0, ge=0.0, lt=1.0, typical=(0.0, 0.5), example=0.0),
        InputColumn("depreciation_years", "number", "years",
                    "Straight-line depreciation life of all capex, from its online quarter.",
                    required=False, default=10.0, gt=0.0, le=100.0, typical=(3.0, 40.0),
                    example=10),
        InputColumn("terminal_value", "choice", "",
                    "Value after the last quarter: none, a multiple of annual AI NOI, Gordon "
                    "growth, or contracted (the NOI left in each hall's lease term running at the "
                    "end).",
                    required=False, default="none",
                    choices=("none", "multiple", "gordon", "contracted"), example="none"),
        InputColumn("terminal_multiple", "number", "x annual NOI",
                    "Multiple of the last quarter's annualised AI NOI (terminal_value = multiple).",
                    required=False, default=None, ge=0.0, le=100.0, typical=(0.0, 25.0),
                    example=None),
        InputColumn("terminal_growth", "number", "per year",
                    "Perpetual growth g of AI NOI (terminal_value = gordon); must be below "
                    "discount_rate.", required=False, default=None, gt=-1.0, lt=1.0,
                    typical=(-0.05, 0.05), example=None),
        InputColumn("budget_carryover", "bool", "",
                    "If TRUE, unspent budget carries forward (cumulative spend <= cumulative "
                    "budget).",
                    required=False, default=False, example=False, family="budget", structural=True),
        InputColumn("mip_gap", "number", "fraction", "Relative MIP gap at which the solver stops.",
                    required=False, default=0.001, ge=0.0, lt=1.0, typical=(0.0, 0.05),
                    example=0.001),
        InputColumn("time_limit_s", "number", "seconds",
                    "Time limit of a plan run: the solver and the why-not re-solves together.",
                    required=False, default=300.0, gt=0.0, le=7 * 24 * 3600.0,
                    typical=(1.0, 3600.0),
                    example=300),
        InputColumn("threads", "integer", "", "Solver threads; 0 lets HiGHS choose.",
                    required=False, default=0, ge=0, le=256, example=0),
        InputColumn("random_seed", "integer", "", "Solver random seed (and sweep seed).",
                    required=False, default=0, ge=0, le=2**31 - 1, example=0),
        InputColumn("debt_ltc", "number", "fraction",
                    "Project debt as a share of each quarter's owner capex (loan-to-cost); "
                    "0 = none.",
                    required=False, default=0.0, ge=0.0, lt=1.0, example=0.0, family="financing"),
        InputColumn("debt_rate", "number", "per year",
                    "Annual interest rate of the project debt (required when debt_ltc > 0).",
                    required=False, default=None, ge=0.0, lt=1.0, example=None,
                    family="financing", driver="debt_rate"),
        InputColumn("debt_tenor_years", "number", "years",
                    "Years over which each quarter's draw is repaid as a level quarterly annuity "
                    "(required when debt_ltc > 0; whole quarters).",
                    required=False, default=None, gt=0.0, le=50.0, example=None,
                    family="financing"),
        InputColumn("equity_discount_rate", "number", "per year",
                    "Annual discount rate of the equity cash flows; blank = discount_rate.",
                    required=False, default=None, ge=0.0, lt=1.0, example=None, family="financing"),
        InputColumn("objective", "choice", "",
                    "What the optimizer maximises: the project NPV or the equity NPV.",
                    required=False, default="project_npv", choices=("project_npv", "equity_npv"),
                    example="project_npv", structural=True),
        InputColumn("budget_basis", "choice", "",
                    "What counts against budget_musd: owner capex, or equity (owner capex less "
                    "debt draws).", required=False, default="capex", choices=("capex", "equity"),
                    example="capex", family="financing"),
        InputColumn("commit_quarters", "integer", "quarters",
                    "Starts in the first K quarters are committed now: robust plans keep them the "
                    "same in every scenario (later starts adapt to each); plan runs say which of "
                    "them are firm (Firmness sheet).",
                    required=False, default=4, ge=1, le=400, example=4),
        InputColumn("firmness_tolerance", "number", "fraction",
                    "Plans within this share of the plan's NPV count as about as good: a "
                    "commit-now start is firm when every such plan makes it; timing windows and "
                    "alternatives range over them. Blank = the larger of the plan's gap and 0.5%.",
                    required=False, default=None, ge=0.0, lt=1.0, typical=(0.0, 0.05),
                    example=None),
        InputColumn("terminal_value_tax", "choice", "",
                    "Whether the terminal value is taxed: taxed uses after-tax NOI (contracted: "
                    "each quarter's NOI less tax on NOI less the depreciation still running); "
                    "untaxed keeps the pre-tax NOI.", required=False, default="taxed",
                    choices=("taxed", "untaxed"), example="taxed"),
        InputColumn("min_dscr", "number", "x",
                    "Debt service coverage covenant: in every calendar year, CFADS >= min_dscr x "
                    "debt service (a year without debt service needs CFADS >= 0); blank = none.",
                    required=False, default=None, gt=0.0, le=100.0, typical=(1.0, 3.0),
                    example=None, family="financing", driver="min_dscr"),
    ),
)

_UPGRADE_COOLING = ("cooling_module_mw", "cooling_module_capex_musd", "cooling_lead_quarters",
                    "max_cooling_modules")
_UPGRADE_POWER = ("power_upgrade_mw", "power_upgrade_capex_musd", "power_upgrade_lead_quarters")

SITES = Table(
    sheet="Sites",
    meaning="One row per site of the portfolio.",
    key=("site",),
    groups=(_UPGRADE_COOLING, _UPGRADE_POWER),
    columns=(
        InputColumn("site", "text", "", "Site name (unique).", example="Childress",
                    structural=True),
        InputColumn("region", "text", "", "Grid region or market.", example="ERCOT, TX"),
        InputColumn("grid_mw", "number", "MW", "Energized grid power available at the site.",
                    ge=0.0, le=20_000.0, typical=(0.0, 3_000.0), example=750,
                    family="power", driver="grid_mw"),
        InputColumn("mining_mw", "number", "MW",
                    "Miner capacity installed (power drawn at full run).",
                    ge=0.0, le=20_000.0, typical=(0.0, 3_000.0), example=450, structural=True),
        InputColumn("efficiency_j_per_th", "number", "J/TH",
                    "Fleet efficiency of the site's miners.",
                    gt=0.0, le=200.0, typical=(10.0, 40.0), example=17.5),
        InputColumn("power_cost_usd_per_mwh", "number", "$/MWh", "All-in power cost.",
                    ge=0.0, le=1_000.0, typical=(10.0, 150.0), example=38,
                    family="power", driver="power_cost"),
        InputColumn("uptime", "number", "fraction", "Share of the quarter the miners hash.",
                    required=False, default=1.0, ge=0.0, le=1.0, example=0.95),
        InputColumn("halls", "integer", "halls", "Most halls the site can convert.", ge=0,
                    le=1_000, typical=(0, 50), example=6, driver="halls"),
        InputColumn("hall_it_mw", "number", "MW IT", "IT capacity of one hall.", gt=0.0,
                    le=2_000.0, typical=(5.0, 300.0), example=50, structural=True),
        InputColumn("cooling_mw", "number", "MW", "Cooling capacity available for AI halls today.",
                    required=False, default=0.0, ge=0.0, le=40_000.0, typical=(0.0, 3_000.0),
                    example=100, family="power", structural=True),
        InputColumn("earliest_start", "quarter", "quarter", "First quarter a hall may start here.",
                    required=False, default=None, example="2027Q1"),
        InputColumn("cooling_module_mw", "number", "MW", "Cooling added by one cooling module.",
                    required=False, default=None, gt=0.0, le=5_000.0, typical=(1.0, 500.0),
                    example=50,
                    family="power", structural=True),
        InputColumn("cooling_module_capex_musd", "number", "$M", "Capex of one cooling module.",
                    required=False, default=None, ge=0.0, le=10_000.0, typical=(0.0, 500.0),
                    example=40,
                    family="capex", structural=True),
        InputColumn("cooling_lead_quarters", "integer", "quarters",
                    "Quarters from starting a cooling module to its capacity counting.",
                    required=False, default=None, ge=1, le=40, example=2, structural=True),
        InputColumn("max_cooling_modules", "integer", "modules",
                    "Most cooling modules at the site.",
                    required=False, default=None, ge=0, le=1_000, typical=(0, 50), example=4,
                    family="power", structural=True),
        InputColumn("power_upgrade_mw", "number", "MW",
                    "Grid power added by the one power upgrade.",
                    required=False, default=None, gt=0.0, le=20_000.0, typical=(1.0, 3_000.0),
                    example=200, family="power", structural=True),
        InputColumn("power_upgrade_capex_musd", "number", "$M", "Capex of the power upgrade.",
                    required=False, default=None, ge=0.0, le=100_000.0, typical=(0.0, 5_000.0),
                    example=120, family="capex", structural=True),
        InputColumn("power_upgrade_lead_quarters", "integer", "quarters",
                    "Quarters from starting the power upgrade to its capacity counting.",
                    required=False, default=None, ge=1, le=80, example=6, structural=True),
        InputColumn("flex_credit_usd_per_kw_year", "number", "$/kW-year",
                    "Demand-response / curtailment credits earned per kW of miners run (lost on "
                    "the miners a conversion displaces).", required=False, default=0.0, ge=0.0,
                    le=1000.0, example=0, structural=True),
        InputColumn("mining_opex_usd_per_mw_year", "number", "$/MW-year",
                    "Non-power cost of running a MW of miners for a year (staff, repairs, pool "
                    "fees, fleet replacement spread over its life), charged on the MW run.",
                    required=False, default=0.0, ge=0.0, le=10_000_000.0,
                    typical=(0.0, 1_000_000.0), example=0, structural=True),
        InputColumn("idle_power_value_usd_per_mw_year", "number", "$/MW-year",
                    "What a MW of grid power earns when neither miners nor halls use it (power "
                    "resale, demand response, capacity payments); taxed like revenue.",
                    required=False, default=0.0, ge=0.0, le=10_000_000.0,
                    typical=(0.0, 1_000_000.0), example=0, structural=True),
    ),
)

OPTIONS = Table(
    sheet="Options",
    meaning="One row per conversion technology (option).",
    key=("option",),
    columns=(
        InputColumn("option", "text", "", "Option name (unique).", example="dlc_ai"),
        InputColumn("capex_musd_per_it_mw", "number", "$M per MW IT", "Conversion capex.",
                    ge=0.0, le=1_000.0, typical=(1.0, 30.0), example=9.5,
                    family="capex", driver="capex"),
        InputColumn("lead_quarters", "integer", "quarters",
                    "Build time L: a hall started in quarter t is online in t + L.", ge=1, le=40,
                    example=4, driver="lead_quarters", structural=True),
        InputColumn("pue", "number", "grid MW per IT MW", "Grid power reserved per IT MW.",
                    ge=1.0, le=3.0, example=1.3, family="power", structural=True),
        InputColumn("cooling_mw_per_it_mw", "number", "MW per MW IT", "Cooling needed per IT MW.",
                    ge=0.0, le=10.0, typical=(0.0, 2.0), example=1.1, family="power",
                    structural=True),
        InputColumn("lease_usd_per_kw_month", "number", "$/kW-month", "Lease rate at delivery.",
                    ge=0.0, le=10_000.0, typical=(30.0, 1_500.0), example=150,
                    family="lease", driver="lease"),
        InputColumn("lease_escalator", "number", "per year",
                    "Yearly lease escalation from delivery.",
                    required=False, default=0.0, ge=-0.5, le=0.5, example=0.03, family="lease"),
        InputColumn("ramp_quarters", "integer", "quarters",
                    "Quarters for the tenant to fill the hall (occupancy rises linearly).",
                    required=False, default=1, ge=1, le=40, example=2, family="lease"),
        InputColumn("opex_usd_per_kw_month", "number", "$/kW-month", "Operating cost of a hall.",
                    required=False, default=0.0, ge=0.0, le=10_000.0, typical=(0.0, 200.0),
                    example=18),
        InputColumn("power_passthrough", "bool", "",
                    "TRUE if the tenant pays for power; FALSE if the owner pays it.",
                    required=False, default=True, example=True, family="power"),
        InputColumn("lease_term_years", "number", "years",
                    "Lease term from delivery (whole quarters); blank = no expiry.",
                    required=False, default=None, gt=0.0, le=100.0, example=None,
                    family="lease terms"),
        InputColumn("renewal_probability", "number", "fraction",
                    "Share of the hall re-let at each lease expiry without a vacancy.",
                    required=False, default=1.0, ge=0.0, le=1.0, example=1.0,
                    family="lease terms", driver="renewal_probability"),
        InputColumn("vacancy_quarters", "integer", "quarters",
                    "Quarters the share not renewed stays vacant before it is re-let.",
                    required=False, default=4, ge=0, le=40, example=4, family="lease terms"),
        InputColumn("tenant_capex_share", "number", "fraction",
                    "Share of the hall's conversion capex the tenant funds.",
                    required=False, default=0.0, ge=0.0, lt=1.0, example=0.0,
                    family="lease terms", driver="tenant_share"),
        InputColumn("prepaid_quarters", "number", "quarters",
                    "Quarters of full rent the tenant prepays when construction starts.",
                    required=False, default=0.0, ge=0.0, le=400.0, example=0, family="lease terms"),
        InputColumn("equipment_capex_musd_per_it_mw", "number", "$M per MW IT",
                    "Owner-bought IT equipment (GPUs), bought at delivery and again every "
                    "equipment_life_years; never tenant-funded.",
                    required=False, default=0.0, ge=0.0, le=1_000.0, typical=(0.0, 60.0),
                    example=0),
        InputColumn("equipment_life_years", "number", "years",
                    "Life of the equipment, its depreciation life and replacement interval "
                    "(whole quarters; required with equipment_capex_musd_per_it_mw).",
                    required=False, default=None, gt=0.0, le=30.0, example=None),
        InputColumn("opex_escalator", "number", "per year",
                    "Yearly escalation of the hall's opex from delivery, as the lease escalates.",
                    required=False, default=0.0, ge=0.0, le=0.5, example=0.0),
    ),
)

SITE_OPTIONS = Table(
    sheet="SiteOptions",
    meaning="Optional per-site overrides of each option; missing pairs are allowed at x1.",
    required=False,
    key=("site", "option"),
    columns=(
        InputColumn("site", "text", "", "A site of the Sites sheet.", example="Childress"),
        InputColumn("option", "text", "", "An option of the Options sheet.", example="dlc_ai"),
        InputColumn("allowed", "bool", "", "FALSE forbids this option at this site.",
                    required=False, default=True, example=True),
        InputColumn("capex_multiplier", "number", "x", "Multiplies the option's capex here.",
                    required=False, default=1.0, ge=0.0, le=100.0, typical=(0.2, 3.0), example=1.0,
                    family="capex", driver="capex"),
        InputColumn("lease_multiplier", "number", "x", "Multiplies the option's lease here.",
                    required=False, default=1.0, ge=0.0, le=100.0, typical=(0.2, 3.0), example=1.0,
                    family="lease", driver="lease"),
    ),
)

QUARTERS = Table(
    sheet="Quarters",
    meaning="One row per quarter of the horizon: market path, budget and portfolio caps.",
    key=("quarter",),
    columns=(
        InputColumn("quarter", "quarter", "quarter", "The quarter.", example="2027Q1"),
        InputColumn("hashprice_usd_per_ph_day", "number", "$/PH/s/day", "Hashprice forecast.",
                    ge=0.0, le=100_000.0, typical=(5.0, 1_000.0), example=45,
                    family="hashprice", driver="hashprice"),
        InputColumn("budget_musd", "number", "$M", "Capital budget; blank = no limit.",
                    required=False, default=None, ge=0.0, le=1_000_000.0, typical=(0.0, 50_000.0),
                    example=250, family="budget", driver="budget"),
        InputColumn("power_index", "number", "x", "Multiplies every site's power cost.",
                    required=False, default=1.0, ge=0.0, le=100.0, typical=(0.2, 5.0), example=1.0,
                    family="power"),
        InputColumn("lease_index", "number", "x",
                    "Multiplies the lease rate of halls delivered now.",
                    required=False, default=1.0, ge=0.0, le=100.0, typical=(0.2, 5.0), example=1.0,
                    family="lease"),
        InputColumn("ai_demand_mw", "number", "MW IT", "Most AI IT MW online; blank = no limit.",
                    required=False, default=None, ge=0.0, le=1_000_000.0, typical=(0.0, 100_000.0),
                    example=None, driver="ai_demand"),
        InputColumn("max_hall_starts", "integer", "halls",
                    "Most hall starts in the quarter; blank = no limit.",
                    required=False, default=None, ge=0, le=10_000, typical=(0, 100), example=None,
                    structural=True),
        InputColumn("min_mining_mw", "number", "MW", "Portfolio mining floor; blank = no floor.",
                    required=False, default=None, ge=0.0, le=1_000_000.0, typical=(0.0, 100_000.0),
                    example=None, structural=True),
    ),
)

COMMITMENTS = Table(
    sheet="Commitments",
    meaning="Optional decisions already taken or ruled out.",
    required=False,
    columns=(
        InputColumn("site", "text", "", "A site of the Sites sheet.", example="Childress",
                    family="commitments"),
        InputColumn("option", "text", "", "An option; blank = every option.", required=False,
                    default=None, example="dlc_ai", family="commitments"),
        InputColumn("quarter", "quarter", "quarter",
                    "Quarter of a start, or first allowed quarter for not_before.",
                    required=False, default=None, example="2027Q1", family="commitments"),
        InputColumn("halls", "integer", "halls", "Halls that start (action = start).",
                    required=False, default=None, ge=1, le=1_000, example=1, family="commitments"),
        InputColumn("action", "choice", "", "start, exclude or not_before.",
                    choices=("start", "exclude", "not_before"), example="start",
                    family="commitments"),
        InputColumn("lease_signed", "bool", "",
                    "TRUE on a start whose halls' leases are signed on its option's terms (the "
                    "contract modelled as its own option, with lease_term_years): counted in the "
                    "contracted backlog.", required=False, default=False, example=False,
                    family="commitments"),
    ),
)

SCENARIOS = Table(
    sheet="Scenarios",
    meaning="Optional named scenarios for sweeps: each row changes one parameter.",
    required=False,
    columns=(
        InputColumn("scenario", "text", "", "Scenario name.", example="bear_hashprice"),
        InputColumn("parameter", "choice", "", "What the row changes.",
                    choices=("hashprice", "lease", "capex", "budget", "power_cost", "discount_rate",
                        "lead_quarters", "ai_demand", "debt_rate", "renewal_probability",
                        "tenant_share", "min_dscr"), example="hashprice"),
        InputColumn("value", "number", "",
                    "New value (absolute; for lead_quarters, quarters added or removed); or give a "
                    "multiplier.",
                    required=False, default=None, example=None),
        InputColumn("multiplier", "number", "x", "Multiplies the base value.", required=False,
                    default=None, ge=0.0, le=100.0, typical=(0.0, 10.0), example=0.7),
        InputColumn("site", "text", "", "Limit the change to one site.", required=False,
                    default=None, example=None),
        InputColumn("option", "text", "", "Limit the change to one option.", required=False,
                    default=None, example=None),
        InputColumn("weight", "number", "",
                    "Robust plans: the scenario's relative probability (weights are normalised to "
                    "sum to 1; give it on one row of the scenario or the same on each; blank on "
                    "every scenario = equal weights).", required=False, default=None, ge=0.0,
                    le=1_000_000.0, example=None),
    ),
)

TABLES: tuple[Table, ...] = (SETTINGS, SITES, OPTIONS, SITE_OPTIONS, QUARTERS, COMMITMENTS,
                             SCENARIOS)
# The workbook's input tables, as a report copies them (`Input_<sheet>`).
INPUT_TABLES: tuple[Table, ...] = (SETTINGS, SITES, OPTIONS, SITE_OPTIONS, QUARTERS, COMMITMENTS)


def row_key(table: Table) -> tuple[str, ...]:
    """The columns naming one row of the sheet as written: a Settings row by its `key` column
    (the sheet is key/value), every other table by its `key` (none for Commitments)."""
    return ("key",) if table is SETTINGS else table.key


def table(sheet: str) -> Table:
    """The table of a sheet name (KeyError if the contract has no such sheet)."""
    for t in TABLES:
        if t.sheet == sheet:
            return t
    raise KeyError(sheet)


def find_column(sheet: str, name: str) -> InputColumn | None:
    """The column `name` of `sheet` (a Settings key for Settings), or None if there is none."""
    try:
        return table(sheet).column(name)
    except KeyError:
        return None


def driver_columns(driver: str) -> dict[str, str]:
    """Sheet -> the column of that sheet a sweep driver varies (e.g. `lease`: Options'
    lease_usd_per_kw_month and SiteOptions' lease_multiplier)."""
    return {t.sheet: c.name for t in TABLES for c in t.columns if c.driver == driver}


def drivers() -> tuple[str, ...]:
    """Every sweep driver a column names, in contract order (first column naming it)."""
    return tuple(dict.fromkeys(c.driver for t in TABLES for c in t.columns if c.driver))


def markdown() -> str:
    """The contract as Markdown tables (one per sheet), for the README."""
    lines: list[str] = []
    for table in TABLES:
        status = "required" if table.required else "optional"
        lines += [f"### `{table.sheet}` ({status})", "", table.meaning, "",
                  "| column | unit | required | default | allowed | meaning |",
                  "|---|---|---|---|---|---|"]
        for col in table.columns:
            default = "" if col.default is None else str(col.default)
            if not col.required and col.default is None:
                default = "(none)"
            lines.append(f"| `{col.name}` | {col.unit} | {'yes' if col.required else 'no'} | "
                         f"{default} | {col.expectation()}"
                         f"{'; ' + col.typical_text() if col.typical else ''} | {col.meaning} |")
        lines.append("")
    return "\n".join(lines)

