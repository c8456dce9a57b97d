"""Build `inputs/sample_portfolio.xlsx`: a realistic 10-site portfolio from public figures.

Run from the repository root (deterministic: the same tables every time)::

    python inputs/build_sample.py            # refuses to overwrite an existing file
    python inputs/build_sample.py --force

Every figure comes from a public source (company releases, filings, press, 2024-2026: `SOURCES`)
or is an assumption stated as such; each has a row in the workbook's ``Sources`` sheet
(item, value, unit, source, note). The sample is illustrative, not investment advice: real
sites are named, but their miner fleets, costs and conversion plans are estimates placed inside
the public low-high ranges. `inputs/README.md` summarises the assumptions.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from models.errors import SitepivotError
from models.quarters import quarter_range
from optimizer.inputs import schema
from optimizer.inputs.template import write_workbook

OUT = Path(__file__).resolve().parent / "sample_portfolio.xlsx"

START = "2027Q1"
HORIZON = 40  # 2027Q1..2036Q4

# Source keys -> the citation, as it appears in the Sources sheet.
SOURCES = {
    "bernstein": "Bernstein via defy.club, 'Bitcoin miners emerge as key AI infrastructure "
                 "partners amid power crunch', 10 Oct 2025",
    "bernstein_sotp": "btcpizza.com/?p=62718 (Bernstein sum-of-parts, $3M/MW), 3 Nov 2025",
    "iren": "IREN: saipien.org 'IREN energizes 1.4 GW at Sweetwater' (May 2026); stocktitan.net "
            "IREN 2.75 GW / 600 MW (2025); neuralfoundry 'IREN's $9.7B Microsoft deal' "
            "(Nov 2025)",
    "riot": "Riot: stocktitan.net 'Riot announces fee simple acquisition ... lease with AMD' "
            "(16 Jan 2026); investingnews.com Riot Q3 2025 results (30 Oct 2025); Riot 10-Q "
            "Q3 2025",
    "core": "Core Scientific: sec.gov CoreWeave contract option (22 Oct 2024); theminermag.com "
            "Denton conversion (21 Nov 2024)",
    "galaxy": "Galaxy: commercialsearch.com 'Galaxy lands $1.4B for Texas data center "
              "campus' (Aug 2025); introl.com Helios 1.6 GW (Jan 2026)",
    "terawulf": "TeraWulf press release 'TeraWulf signs 200 MW 10-year AI hosting agreements "
                "with Fluidstack' (14 Aug 2025)",
    "cipher": "Cipher: coincodex.com Fluidstack $3B (25 Sep 2025); beyondspx.com Fluidstack "
              "300 MW (Nov 2025); sec.gov Luminant PPA amendment (Feb 2022)",
    "hut8": "Hut 8: newprojectmedia.com River Bend financing (Dec 2025); marketinference.com 3% "
            "escalator (18 Dec 2025)",
    "bitfarms": "Bitfarms: pulse2.com Washington conversion $128M (14 Nov 2025); brokerbase.co "
                "shift to AI (15 Jan 2026)",
    "hashprice": "CoinShares via coinvote.cc (26 Mar 2026); hashrateindex.com roundup "
                 "(1 Apr 2024)",
    "halving": "binance.bh square post (2025)",
    "ranges": "public low/base/high ranges compiled from the sources in this sheet",
    "assumption": "sitepivot sample assumption (no public figure)",
}

# --- Sites --------------------------------------------------------------------------------------
# One dict per site: Sites columns, plus "_src": {column: (source key, note)} for the Sources
# sheet. Columns not given are left blank (their schema default applies). cooling_mw is the
# heat-rejection capacity usable by AI halls: at sites without cooling modules it is sized for
# the site's full build (the site plan's cooling is in the hall capex); at Childress, Rockdale
# and Corsicana it covers the first hall(s) and modules add the rest.
SITES: list[dict[str, Any]] = [
    {"site": "Childress", "region": "ERCOT, TX", "grid_mw": 750, "mining_mw": 450,
     "efficiency_j_per_th": 16.0, "power_cost_usd_per_mwh": 32, "uptime": 0.95,
     "halls": 6, "hall_it_mw": 75, "cooling_mw": 170,
     "cooling_module_mw": 75, "cooling_module_capex_musd": 45, "cooling_lead_quarters": 2,
     "max_cooling_modules": 4,
     "_src": {"grid_mw": ("iren", "reported: 750 MW"),
              "mining_mw": ("iren", "reported: ~450 MW mining"),
              "efficiency_j_per_th": ("ranges", "estimate: IREN runs a 15-16 J/TH fleet "
                                                "(low end of the public range)"),
              "hall_it_mw": ("iren", "Horizon DLC halls are 75 MW IT (then 200 MW IT)"),
              "cooling_mw": ("iren", "estimate: the two 75 MW IT Horizon halls' liquid loops "
                                     "(2 x 75 x 1.1 cooling per IT MW, rounded), built for "
                                     "the signed Microsoft contract"),
              "cooling_module_capex_musd": ("assumption", "estimate: $0.6M per MW of "
                                                          "dry-cooler/chiller block")}},
    {"site": "Mackenzie", "region": "BC Hydro, BC", "grid_mw": 80, "mining_mw": 80,
     "efficiency_j_per_th": 21.0, "power_cost_usd_per_mwh": 33, "uptime": 0.98,
     "halls": 3, "hall_it_mw": 25, "cooling_mw": 60,
     "_src": {"grid_mw": ("iren", "reported: 80 MW (hydro)"),
              "mining_mw": ("assumption", "estimate: the whole connection mines today"),
              "hall_it_mw": ("assumption", "estimate: existing buildings re-fitted in 25 MW "
                                           "IT phases; power lets 2 of 3 proceed"),
              "cooling_mw": ("iren", "estimate: free-air cooling, air-cooled site, cold "
                                     "climate; enough for two air halls"),
              "uptime": ("assumption", "estimate: hydro, little curtailment")}},
    {"site": "Rockdale", "region": "ERCOT, TX", "grid_mw": 700, "mining_mw": 650,
     "efficiency_j_per_th": 20.5, "power_cost_usd_per_mwh": 30, "uptime": 0.92,
     "halls": 8, "hall_it_mw": 50, "cooling_mw": 100,
     "cooling_module_mw": 50, "cooling_module_capex_musd": 30, "cooling_lead_quarters": 2,
     "max_cooling_modules": 6,
     "_src": {"grid_mw": ("riot", "reported: 700 MW"),
              "mining_mw": ("assumption", "estimate: most of the site mines"),
              "efficiency_j_per_th": ("riot", "Riot fleet 20.5-21.2 J/TH (base of the public "
                                               "range)"),
              "power_cost_usd_per_mwh": ("ranges", "estimate inside 26 (after credits) - 42"),
              "uptime": ("riot", "estimate: ERCOT demand response curtails ~8% of hours"),
              "hall_it_mw": ("riot", "25 MW IT leased to AMD with an option to 200 MW; "
                                     "50 MW IT halls assumed"),
              "cooling_mw": ("riot", "estimate: existing immersion dry coolers reusable"),
              "cooling_module_capex_musd": ("assumption", "estimate: $0.6M per MW")}},
    {"site": "Corsicana", "region": "ERCOT, TX", "grid_mw": 1000, "mining_mw": 400,
     "efficiency_j_per_th": 20.5, "power_cost_usd_per_mwh": 32, "uptime": 0.92,
     "halls": 5, "hall_it_mw": 112, "cooling_mw": 130,
     "cooling_module_mw": 125, "cooling_module_capex_musd": 75, "cooling_lead_quarters": 3,
     "max_cooling_modules": 4,
     "_src": {"grid_mw": ("riot", "reported: 1,000 MW"),
              "mining_mw": ("riot", "reported: 400 MW mining, 600 MW earmarked for AI"),
              "hall_it_mw": ("riot", "reported: 112 MW IT core-and-shell started Oct 2025"),
              "cooling_mw": ("assumption", "estimate: the started building's cooling "
                                           "(112 x 1.1, rounded)"),
              "cooling_module_capex_musd": ("assumption", "estimate: $0.6M per MW")}},
    {"site": "Denton", "region": "ERCOT, TX", "grid_mw": 394, "mining_mw": 250,
     "efficiency_j_per_th": 22.0, "power_cost_usd_per_mwh": 36, "uptime": 0.93,
     "halls": 6, "hall_it_mw": 50, "cooling_mw": 360,
     "power_upgrade_mw": 300, "power_upgrade_capex_musd": 180,
     "power_upgrade_lead_quarters": 8,
     "_src": {"grid_mw": ("core", "reported: 394 MW"),
              "mining_mw": ("assumption", "estimate: part of the site still mines"),
              "power_upgrade_lead_quarters": ("core", "grid upgrades 2027-29: 8 quarters"),
              "power_upgrade_mw": ("assumption", "estimate: +300 MW"),
              "power_upgrade_capex_musd": ("assumption", "estimate: $0.6M per MW of "
                                                         "substation and lines")}},
    {"site": "Muskogee", "region": "SPP, OK", "grid_mw": 100, "mining_mw": 100,
     "efficiency_j_per_th": 24.0, "power_cost_usd_per_mwh": 40, "uptime": 0.95,
     "halls": 2, "hall_it_mw": 35, "cooling_mw": 84,
     "_src": {"grid_mw": ("core", "reported: 100 MW (70 MW IT)"),
              "hall_it_mw": ("core", "70 MW IT in two 35 MW halls (estimate)"),
              "efficiency_j_per_th": ("ranges", "estimate: an older fleet, between Riot's "
                                                "20.5 and the 2024 network 34")}},
    {"site": "Pecos", "region": "ERCOT, TX", "grid_mw": 300, "mining_mw": 280,
     "efficiency_j_per_th": 22.0, "power_cost_usd_per_mwh": 35, "uptime": 0.93,
     "halls": 8, "hall_it_mw": 100, "cooling_mw": 960,
     "power_upgrade_mw": 600, "power_upgrade_capex_musd": 300,
     "power_upgrade_lead_quarters": 8,
     "_src": {"grid_mw": ("core", "reported: 300 MW, path to 1,500 MW"),
              "power_upgrade_mw": ("core", "estimate: first step of the path to 1,500 MW "
                                           "(to 900 MW)"),
              "power_upgrade_capex_musd": ("assumption", "estimate: $0.5M per MW"),
              "power_upgrade_lead_quarters": ("bernstein", "estimate: 2 years, within the "
                                                           "'< 1 year to 2-3 years' range")}},
    {"site": "Lake Mariner", "region": "NYISO, NY", "grid_mw": 250, "mining_mw": 230,
     "efficiency_j_per_th": 17.5, "power_cost_usd_per_mwh": 40, "uptime": 0.95,
     "halls": 6, "hall_it_mw": 60, "cooling_mw": 430,
     "power_upgrade_mw": 250, "power_upgrade_capex_musd": 150,
     "power_upgrade_lead_quarters": 6,
     "_src": {"grid_mw": ("terawulf", "reported: 250 MW approved"),
              "power_upgrade_mw": ("terawulf", "path to 500-750 MW: +250 MW to 500 MW"),
              "power_upgrade_capex_musd": ("assumption", "estimate: $0.6M per MW"),
              "cooling_mw": ("terawulf", "closed-loop liquid cooling sized for the build "
                                         "(estimate)")}},
    {"site": "Odessa", "region": "ERCOT, TX", "grid_mw": 207, "mining_mw": 200,
     "efficiency_j_per_th": 19.0, "power_cost_usd_per_mwh": 36, "uptime": 0.95,
     "halls": 3, "hall_it_mw": 40, "cooling_mw": 144,
     "_src": {"grid_mw": ("cipher", "reported: 200-210 MW"),
              "power_cost_usd_per_mwh": ("cipher", "estimate: market all-in after the "
                                                   "fixed-price contract ends Jul 2027 (the "
                                                   "cheaper contract power of 2027H1 is not "
                                                   "modelled)")}},
    {"site": "Panther Creek", "region": "PJM, PA", "grid_mw": 350, "mining_mw": 0,
     "efficiency_j_per_th": 21.0, "power_cost_usd_per_mwh": 42, "uptime": 0.95,
     "halls": 5, "hall_it_mw": 70, "cooling_mw": 420,
     "power_upgrade_mw": 300, "power_upgrade_capex_musd": 150,
     "power_upgrade_lead_quarters": 6,
     "_src": {"grid_mw": ("bitfarms", "reported: 350 MW HPC of ~1,000 MW access"),
              "mining_mw": ("bitfarms", "estimate: a development site, no miners"),
              "power_upgrade_mw": ("bitfarms", "estimate: +300 MW of the ~1,000 MW access"),
              "power_upgrade_capex_musd": ("assumption", "estimate: $0.5M per MW"),
              "power_cost_usd_per_mwh": ("ranges", "estimate: PJM, top of the 34-42 range")}},
]

# Flexibility credits ($/kW-year of miners run) at the ERCOT sites: 4CP avoidance is worth
# $50-150/kW-year; Riot's Rockdale reports the largest credits (mid of the range), the other
# ERCOT sites take the low end. A converted hall's load must be firm: it gives them up.
FLEX_CREDITS = {"Childress": 60, "Rockdale": 100, "Corsicana": 60, "Denton": 60, "Pecos": 60,
                "Odessa": 60}
for _site in SITES:
    if _site["site"] in FLEX_CREDITS:
        _site["flex_credit_usd_per_kw_year"] = FLEX_CREDITS[_site["site"]]
        _site["_src"]["flex_credit_usd_per_kw_year"] = (
            "riot" if _site["site"] == "Rockdale" else "ranges",
            "estimate: ERCOT 4CP avoidance $50-150/kW-year; Riot $24.2M curtailment + $7.4M "
            "demand response in Aug 2023" if _site["site"] == "Rockdale" else
            "estimate: low end of ERCOT 4CP avoidance ($50-150/kW-year)")

# --- Options ------------------------------------------------------------------------------------
LEASE_ESCALATOR = 0.03  # per year, the reported 3% (Hut 8 River Bend)
OPEX_SHARE = 0.15  # opex = 15% of the average rent: NOI margin ~85% (base)


def start_rent(average: float, years: float, escalator: float = LEASE_ESCALATOR) -> float:
    """The delivery rent ($/kW-month) whose quarterly escalation (1 + e)^(q/4) averages
    `average` over the term: contract value / years / MW is an average, the lease starts
    lower (docs/economics.md, "A hall": rate_t = rate (1 + e)^((t - q0)/4))."""
    quarters = round(4 * years)
    factor = sum((1 + escalator) ** (q / 4) for q in range(quarters)) / quarters
    return round(average / factor, 1)


# Contract averages, $/kW-month (contract value / years / MW IT):
# - Fluidstack at Cipher's Barber Lake: $3B over 10 years for 207 MW IT -> 120.8;
# - CoreWeave at Core Scientific: ~$121 (the calibration of the public deals; the tenant
#   funded ~80% of the capex);
# - Hut 8 River Bend: ~$159 over 15 years, triple-net (-> ~$128 to start with 3%).
FLUIDSTACK_AVERAGE = round(3e9 / 10 / 12 / (207 * 1000), 1)
COREWEAVE_AVERAGE = 121.0
RIVER_BEND_AVERAGE = 159.0
DLC_AVERAGE = 140.0  # the middle of the 121-158 averages, no tenant funding
MICROSOFT_REVENUE = 808  # $/kW-month: $9.7B over 5 years for 200 MW IT (GPU cloud)


def _leased(option: str, capex: float, lead: int, pue: float, cooling: float, average: float,
            years: float, ramp: int, **extra: Any) -> dict[str, Any]:
    """A leased option: start rent from the contract average, opex 15% of the average
    escalating as the rent does, tenant pays power, 80% renewed after a year vacant."""
    return {"option": option, "capex_musd_per_it_mw": capex, "lead_quarters": lead, "pue": pue,
            "cooling_mw_per_it_mw": cooling,
            "lease_usd_per_kw_month": start_rent(average, years),
            "lease_escalator": LEASE_ESCALATOR, "ramp_quarters": ramp,
            "opex_usd_per_kw_month": round(OPEX_SHARE * average, 1), "power_passthrough": True,
            "lease_term_years": years, "renewal_probability": 0.8, "vacancy_quarters": 4,
            "opex_escalator": LEASE_ESCALATOR, **extra}


OPTIONS: list[dict[str, Any]] = [
    _leased("air_hpc", 8.0, 4, 1.45, 1.2, FLUIDSTACK_AVERAGE, 10, 3),
    _leased("dlc_ai", 10.5, 5, 1.30, 1.1, DLC_AVERAGE, 12, 3),
    _leased("immersion", 9.5, 4, 1.25, 1.05, RIVER_BEND_AVERAGE, 15, 4),
    # The signed contracts, each its own option (docs/economics.md, "Signed leases"):
    # IREN / Microsoft at Childress: a GPU cloud, the owner buys the GPUs, sells compute and pays
    # power; 5-year contract with a 20% prepayment (4 of 20 quarters).
    {"option": "msft_childress", "capex_musd_per_it_mw": 10.5, "lead_quarters": 5, "pue": 1.30,
     "cooling_mw_per_it_mw": 1.1, "lease_usd_per_kw_month": MICROSOFT_REVENUE,
     "lease_escalator": 0.0, "ramp_quarters": 2, "opex_usd_per_kw_month": 80,
     "power_passthrough": False, "lease_term_years": 5, "renewal_probability": 0.6,
     "vacancy_quarters": 2, "prepaid_quarters": 4, "equipment_capex_musd_per_it_mw": 29.0,
     "equipment_life_years": 5},
    # Core Scientific / CoreWeave at Denton: 12 years, the tenant funds ~80% of the capex, at
    # the lower rent that goes with it.
    _leased("coreweave_denton", 10.5, 5, 1.30, 1.1, COREWEAVE_AVERAGE, 12, 3,
            tenant_capex_share=0.8),
    # TeraWulf / Fluidstack at Lake Mariner: 10 years (plus two 5-year extensions), Google
    # backstop; the rent of Fluidstack's Cipher contract.
    _leased("fluidstack_lake_mariner", 10.5, 5, 1.30, 1.1, FLUIDSTACK_AVERAGE, 10, 3),
]
SIGNED = {"msft_childress": "Childress", "coreweave_denton": "Denton",
          "fluidstack_lake_mariner": "Lake Mariner"}

# (site, option, allowed, capex_multiplier, lease_multiplier, source key, note)
SITE_OPTIONS: list[tuple[str, str, bool, float, float, str, str]] = [
    ("Mackenzie", "air_hpc", True, 0.45, 0.85, "ranges",
     "capex 8.0 x 0.45 = $3.6M/MW, the public low for 'reusing halls'; lease discount for a small "
     "remote air-cooled site (estimate)"),
    ("Mackenzie", "dlc_ai", False, 1.0, 1.0, "iren", "BC sites are air cooled"),
    ("Mackenzie", "immersion", False, 1.0, 1.0, "iren", "BC sites are air cooled"),
    ("Childress", "dlc_ai", True, 0.9, 1.0, "iren",
     "estimate: repeats the Horizon DLC design"),
    ("Rockdale", "immersion", True, 0.85, 1.0, "riot",
     "estimate: reuses the immersion site's electrical and dry coolers"),
    ("Corsicana", "dlc_ai", True, 0.8, 1.0, "riot",
     "estimate: core-and-shell under way, site prepared for 600 MW of AI"),
    ("Lake Mariner", "dlc_ai", True, 1.0, 1.05, "terawulf",
     "estimate: NY site with contracted AI tenants commands a premium"),
    ("Lake Mariner", "air_hpc", True, 1.0, 1.05, "terawulf", "as for dlc_ai"),
    ("Muskogee", "dlc_ai", True, 1.0, 0.92, "assumption",
     "estimate: smaller SPP market, lower rates"),
    # A signed contract is allowed at its own site only.
    *[(site["site"], option, site["site"] == where, 1.0, 1.0, "assumption",
       "the signed contract's own site" if site["site"] == where else
       "a signed contract belongs to its site") for option, where in SIGNED.items()
      for site in SITES],
]

# --- Quarters -----------------------------------------------------------------------------------
HASHPRICE_2027Q1 = 38.0  # $/PH/s/day: top of the 33-38 seen late 2025 - Mar 2026
HASHPRICE_DRIFT = -0.01  # per quarter between halvings: hashrate growth outpaces BTC price
HALVINGS = ("2028Q2", "2032Q2")  # blocks 1,050,000 (~Apr 2028) and 1,260,000 (~2032)
HALVING_FACTOR = 0.5  # the subsidy halves; fees are small
RECOVERY = 0.025  # per quarter for the 4 quarters after a halving: difficulty falls
RECOVERY_QUARTERS = 4
POWER_ESCALATION = 0.025  # per year, on every site's power cost (power_index)
# Equity the company puts in, $M per quarter (the budget is on equity: debt funds the rest):
# $0.3B a year to 2028, $0.4B from 2029, the order of one listed miner's 2025 equity and
# convertible raises; with 70% debt it funds about $1.0-1.3B of capex a year.
BUDGET_BY_YEAR = {2027: 75.0, 2028: 75.0}  # $M per quarter; 100 from 2029
BUDGET_LATER = 100.0
MAX_HALL_STARTS = 3


def hashprice_path(labels: list[str]) -> list[float]:
    """Hashprice by quarter: drift between halvings, x0.5 at each, 4 quarters of recovery."""
    path: list[float] = []
    value = HASHPRICE_2027Q1
    since_halving: int | None = None
    for t, label in enumerate(labels):
        if t > 0 and label in HALVINGS:
            value *= HALVING_FACTOR
            since_halving = 0
        elif t > 0 and since_halving is not None and since_halving < RECOVERY_QUARTERS:
            value *= 1 + RECOVERY
            since_halving += 1
        elif t > 0:
            value *= 1 + HASHPRICE_DRIFT
        path.append(round(value, 2))
    return path


def quarters_table() -> pd.DataFrame:
    labels = quarter_range(START, HORIZON)
    return pd.DataFrame({
        "quarter": labels,
        "hashprice_usd_per_ph_day": hashprice_path(labels),
        "budget_musd": [BUDGET_BY_YEAR.get(int(q[:4]), BUDGET_LATER) for q in labels],
        "power_index": [round((1 + POWER_ESCALATION) ** (t / 4), 4) for t in range(HORIZON)],
        "lease_index": [1.0] * HORIZON,
        "max_hall_starts": [MAX_HALL_STARTS] * HORIZON,
    })


# --- Settings and commitments -------------------------------------------------------------------
SETTINGS: list[tuple[str, Any, str]] = [
    ("start_quarter", START, "the hashprice, budget and demand paths start here"),
    ("horizon_quarters", HORIZON, "10 years, 2027Q1..2036Q4, about one lease term"),
    ("discount_rate", 0.11, "estimate: a miner's cost of capital with 60-85% loan-to-cost "
                            "debt available"),
    ("discounting", "end", ""),
    ("tax_rate", 0.21, "the US federal rate (state taxes and loss carry-forwards left out)"),
    ("depreciation_years", 10, "straight-line life of halls and upgrades (GPUs use their own "
                               "5-year life)"),
    ("terminal_value", "contracted", "only what is signed counts after 2036: each hall's "
                                     "lease term running at the end"),
    ("terminal_value_tax", "taxed", "the contracted NOI after 2036 is taxed like the rest, "
                                    "less the depreciation still running"),
    ("terminal_multiple", 9.0, "used with terminal_value = multiple: 9x annual AI NOI = an 11% "
                               "capitalisation rate; see Sources"),
    ("budget_carryover", True, "equity raised and not yet spent stays available (it funds, "
                               "among others, the 2031 GPU refresh at Childress)"),
    ("mip_gap", 0.001, ""),
    ("time_limit_s", 60, ""),
    ("threads", 0, ""),
    ("random_seed", 0, ""),
    ("debt_ltc", 0.7, "one loan-to-cost for every hall: lenders give 80-85% against signed "
                      "leases (Galaxy Helios 80%, Hut 8 up to 85%), less on uncontracted "
                      "halls; see Sources"),
    ("debt_rate", 0.07, "SOFR + 225 bp (Hut 8) or 7.125% notes (Cipher): ~7%"),
    ("debt_tenor_years", 5, "inside every lease term (the shortest, Microsoft's, is 5 years); "
                            "the balloon at the end of 2036 is refinanced"),
    ("min_dscr", 1.25, "assumption: a lender's yearly debt service coverage covenant on "
                       "contracted cash flow (no public figure in the sources)"),
    ("equity_discount_rate", 0.15, "estimate: levered equity's required return"),
    ("objective", "project_npv", ""),
    ("budget_basis", "equity", "the budget is the company's own money: debt funds the rest"),
]

# (site, option, quarter, halls, action, lease_signed, source key, note)
COMMITMENTS: list[tuple[str, str | None, str, int | None, str, bool, str, str]] = [
    ("Corsicana", "dlc_ai", "2027Q1", 1, "start", False, "riot",
     "112 MW IT core-and-shell started Oct 2025; its fit-out is modelled as starting 2027Q1"),
    ("Odessa", None, "2027Q3", None, "not_before", False, "cipher",
     "fixed-price power contract runs to Jul 2027: no conversion before 2027Q3"),
    ("Childress", "msft_childress", "2025Q3", 2, "start", True, "iren",
     "Microsoft's $9.7B 5-year GPU cloud contract (Nov 2025) for 200 MW IT in the Horizon "
     "halls: 2 of the sample's 75 MW IT halls (150 MW), begun 2025, online 2026Q4; capex "
     "before 2027 sunk"),
    ("Denton", "coreweave_denton", "2025Q3", 3, "start", True, "core",
     "CoreWeave's 12-year leases at Denton (conversion from late 2025; CoreWeave funded ~80% "
     "of the capex): 3 of the sample's 50 MW IT halls, online 2026Q4"),
    ("Lake Mariner", "fluidstack_lake_mariner", "2025Q4", 2, "start", True, "terawulf",
     "Fluidstack's 10-year leases (Aug 2025, Google backstop): 2 of the sample's 60 MW IT "
     "halls (of ~360 MW IT contracted), online 2027Q1"),
]

# --- Sources rows for figures that are not per-site columns -----------------------------------
GENERAL_SOURCES: list[tuple[str, Any, str, str, str]] = [
    ("capex range", "3.6 / 8-11 / 15", "$M per MW IT", "ranges",
     "reported range, excluding GPUs; options placed at 8.0 (air), 9.5 (immersion), "
     "10.5 (DLC)"),
    ("lease range", "102 / 121-158 / 178", "$/kW-month", "ranges",
     "contract value / years / MW is the term's AVERAGE rent; with the 3% escalator the lease "
     "starts lower: start = average / mean of 1.03^(q/4) over the term's quarters"),
    ("Fluidstack contract average", FLUIDSTACK_AVERAGE, "$/kW-month", "cipher",
     "$3B over 10 years for 207 MW IT (Cipher); air_hpc and the Lake Mariner contract start at "
     f"{start_rent(FLUIDSTACK_AVERAGE, 10)} (10 years)"),
    ("CoreWeave contract average", COREWEAVE_AVERAGE, "$/kW-month", "core",
     "Core Scientific / CoreWeave, the deal where the tenant funds ~80% of the capex: starts "
     f"at {start_rent(COREWEAVE_AVERAGE, 12)} (12 years)"),
    ("River Bend contract average", RIVER_BEND_AVERAGE, "$/kW-month", "hut8",
     f"Hut 8 River Bend, 15 years triple-net: immersion starts at "
     f"{start_rent(RIVER_BEND_AVERAGE, 15)}"),
    ("DLC lease average", DLC_AVERAGE, "$/kW-month", "ranges",
     f"the middle of the public averages, no tenant funding: dlc_ai starts at "
     f"{start_rent(DLC_AVERAGE, 12)} (12 years)"),
    ("lease escalator", 0.03, "per year", "hut8", "reported 3%"),
    ("opex", "15% of the average lease", "$/kW-month", "ranges",
     "NOI margin ~85% (base); escalating 3% a year as the rent does (opex_escalator)"),
    ("pue", "1.25 / 1.35-1.45 / 1.52", "grid MW per IT MW", "ranges",
     "options at 1.45 (air), 1.30 (DLC), 1.25 (immersion); estimate by technology"),
    ("lead_quarters", "4-5", "quarters", "ranges",
     "signing to first power 10-16 months; DLC halls 5 quarters (estimate)"),
    ("ramp_quarters", "3-4", "quarters", "assumption",
     "tenants ramp after delivery (as the sources describe); immersion has fewer tenants"),
    ("cooling_mw_per_it_mw", "1.05-1.2", "MW per MW IT", "assumption",
     "heat rejection per IT MW including losses (estimate); liquid cooling needed for "
     "Blackwell-class racks"),
    ("hashprice 2027Q1", HASHPRICE_2027Q1, "$/PH/s/day", "hashprice",
     "33-38 late 2025 - Mar 2026; 28 in Feb 2026; 62 in Jul 2025"),
    ("hashprice drift", HASHPRICE_DRIFT, "per quarter", "assumption",
     "between halvings hashrate growth outpaces BTC price, as from 62 (Jul 2025) to 28-38 "
     "(2026)"),
    ("halvings", ", ".join(HALVINGS), "quarter", "halving",
     "block 1,050,000 around Mar-Apr 2028; the 2032 halving 210,000 blocks (~4 years) later"),
    ("halving factor", HALVING_FACTOR, "x hashprice", "halving",
     "subsidy halves; at constant BTC price and hashrate so does hashprice"),
    ("post-halving recovery", RECOVERY, "per quarter, 4 quarters", "assumption",
     "unprofitable rigs switch off and difficulty falls"),
    ("power escalation", POWER_ESCALATION, "per year", "assumption",
     "power_index on every site's all-in cost (inflation)"),
    ("all-in power cost", "26 / 34-42 / >50", "$/MWh", "ranges",
     "sites placed at 30-42"),
    ("fleet efficiency", "15-16 / 20.5-21.2 / 34", "J/TH", "ranges", "sites placed at 16-24"),
    ("post-halving mining margin", "thin or negative", "$/MW-day", "assumption",
     "hashprice*1000/efficiency - 24*power: ~18 $/PH/day gives Rockdale (20.5 J/TH, $30) "
     "+140, Muskogee (24 J/TH, $40) -210; before: Rockdale +1,130"),
    ("budget", "75 (2027-28), 100 (2029+)", "$M of equity per quarter", "assumption",
     "$0.3-0.4B of equity a year, carried over while unspent, the order of one listed "
     "miner's 2025 raises (convertible notes, equity; no figure in the sources); 70% debt "
     "funds the rest: capital binds in the first years and at the 2031 GPU refresh"),
    ("ai_demand_mw", "dropped", "MW IT", "assumption",
     "no public figure for what tenants would lease from this portfolio: no cap"),
    ("max_hall_starts", MAX_HALL_STARTS, "halls per quarter", "assumption",
     "construction crews and long-lead equipment"),
    ("terminal multiple", 9.0, "x annual AI NOI", "bernstein_sotp",
     "estimate: an 11% capitalisation rate. A DLC hall's NOI is (158 - 24) x 12 = $1.61M "
     "per IT MW a year, so 9x = $14.5M per IT MW: its $10.5M build cost plus Bernstein's "
     "~$3M per MW for the 1.3 MW of power it holds - what a buyer would pay to own one "
     "rather than build it; a discount to stabilised data-center values for GPU-tenant "
     "credit and lease rollover"),
    ("discount rate", 0.11, "per year", "ranges",
     "estimate; debt at 60-85% loan-to-cost is available for contracted halls"),
    ("curtailment credits", "60-100", "$/kW-year", "riot",
     "flex_credit_usd_per_kw_year at the ERCOT sites (Sites); $1.4M (Cipher) to $30.6M "
     "(Riot) a quarter reported; converted sites give them up because AI load must be firm"),
    ("lease terms", "10 / 12 / 15", "years", "core",
     "air 10 (TeraWulf / Fluidstack 10 + 2 x 5; Cipher 10 + 2 x 5), DLC 12 (Core Scientific "
     "/ CoreWeave), immersion 15 (Hut 8 River Bend 15 + 3 x 5; Galaxy 15)"),
    ("renewal probability", 0.8, "fraction", "assumption",
     "estimate: extension options exist on every lease; 20% of a hall re-let after a year "
     "vacant at each expiry"),
    ("tenant capex share", 0.8, "fraction of capex", "core",
     "CoreWeave funded $196.4M of $244.5M (~80%) of one quarter's conversion capex: the "
     "CoreWeave contract at Denton only, at its lower rent"),
    ("GPU cloud revenue", 808, "$/kW-month", "iren",
     "~$1.94B a year for 200 MW IT = $9.7M per MW IT a year = $808/kW-month; no escalator"),
    ("GPU equipment", 29.0, "$M per MW IT", "iren",
     "~$5.8B of GPUs for 200 MW IT; 5-year life (Nebius 4, CoreWeave 6), bought again at 5 "
     "years; the owner pays power and ~$80/kW-month of opex (estimate)"),
    ("GPU cloud prepayment", 4, "quarters of revenue", "iren",
     "Microsoft: $9.7B over 5 years with a 20% prepayment = 4 of 20 quarters; 5-year "
     "contract, 60% renewed (estimate)"),
    ("project debt", 0.7, "loan-to-cost", "galaxy",
     "Galaxy Helios $1.4B at 80% LTC, 36-month term; Hut 8 up to 85% at SOFR + 225 bp; "
     "Cipher 7.125% notes. The model has one loan-to-cost for every hall: 70% between the "
     "80-85% lent on signed leases and less on uncontracted halls; 7% over 5 years, inside "
     "every lease term"),
    ("debt service coverage covenant", 1.25, "x", "assumption",
     "min_dscr: yearly CFADS at least 1.25 x interest and scheduled principal (a common "
     "project-finance covenant; no figure in the sources)"),
    ("tax", 0.21, "fraction", "assumption", "the US federal corporate rate"),
    ("mining opex", 50_000, "$/MW-year", "assumption",
     "staff, repairs and pool fees: pool fees ~2% of ~$0.8M revenue per MW-year at 17 J/TH "
     "and $38/PH/day, plus ~$35k of site staff and repairs (estimate); fleet replacement is "
     "left out (no public ASIC price in the sources), which flatters mining"),
    ("idle power value", "blank", "$/MW-year", "assumption",
     "no public figure for reselling unused grid power under these sites' contracts: not "
     "valued"),
]
MINING_OPEX = 50_000.0  # $/MW-year at every mining site (see the Sources row)
for _site in SITES:
    if _site["mining_mw"] > 0:
        _site["mining_opex_usd_per_mw_year"] = MINING_OPEX


def _site_frame() -> pd.DataFrame:
    rows = [{k: v for k, v in site.items() if not k.startswith("_")} for site in SITES]
    columns = [c for c in schema.SITES.names if any(c in r for r in rows)]
    return pd.DataFrame(rows, columns=columns)


def tables() -> dict[str, pd.DataFrame]:
    """The sample's contract tables (sheet name -> frame)."""
    settings = pd.DataFrame({"key": [k for k, _, _ in SETTINGS],
                             "value": [v for _, v, _ in SETTINGS],
                             "note": [n or None for _, _, n in SETTINGS]}, dtype=object)
    site_options = pd.DataFrame(
        [row[:5] for row in SITE_OPTIONS],
        columns=["site", "option", "allowed", "capex_multiplier", "lease_multiplier"])
    commitments = pd.DataFrame([row[:6] for row in COMMITMENTS],
                               columns=["site", "option", "quarter", "halls", "action",
                                        "lease_signed"], dtype=object)
    return {"Settings": settings, "Sites": _site_frame(), "Options": pd.DataFrame(OPTIONS),
            "SiteOptions": site_options, "Quarters": quarters_table(),
            "Commitments": commitments}


def sources() -> pd.DataFrame:
    """One row per figure or assumption: item, value, unit, source, note."""
    rows: list[tuple[str, Any, str, str, str]] = []
    for site in SITES:
        for column, (key, note) in site["_src"].items():
            unit = schema.SITES.column(column).unit
            rows.append((f"{site['site']} {column}", site[column], unit, key, note))
    for site, option, allowed, capex, lease, key, note in SITE_OPTIONS:
        value = "not allowed" if not allowed else f"capex x{capex:g}, lease x{lease:g}"
        rows.append((f"{site} {option}", value, "", key, note))
    for site, option, quarter, halls, action, signed, key, note in COMMITMENTS:
        what = f"{action} {halls or ''} {option or 'any option'} {quarter}".replace("  ", " ")
        what += " (lease signed)" if signed else ""
        rows.append((f"{site} commitment", what, "", key, note))
    rows += GENERAL_SOURCES
    frame = pd.DataFrame(rows, columns=["item", "value", "unit", "source", "note"], dtype=object)
    frame["source"] = frame["source"].map(SOURCES)
    return frame


def build(path: Path = OUT, force: bool = False) -> None:
    """Write the sample workbook to ``path``."""
    write_workbook(tables(), path, force=force, extra_sheets={"Sources": sources()})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=OUT, help="workbook to write")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    args = parser.parse_args(argv)
    try:
        build(args.output, force=args.force)
    except SitepivotError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    print(f"sample written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
