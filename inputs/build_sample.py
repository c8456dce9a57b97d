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
     "halls": 6, "hall_it_mw": 75, "cooling_mw": 85,
     "cooling_module_mw": 75, "cooling_module_capex_musd": 45, "cooling_lead_quarters": 2,
     "max_cooling_modules": 4,
     "_src": {"grid_mw": ("iren", "reported: 750 MW"),
              "mining_mw": ("iren", "reported: ~450 MW mining"),
              "efficiency_j_per_th": ("ranges", "estimate: IREN runs a 15-16 J/TH fleet "
                                                "(low end of the public range)"),
              "hall_it_mw": ("iren", "Horizon DLC halls are 75 MW IT (then 200 MW IT)"),
              "cooling_mw": ("iren", "estimate: the first 75 MW IT Horizon hall's liquid loop "
                                     "(75 x 1.1 cooling per IT MW, rounded)"),
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
OPTIONS: list[dict[str, Any]] = [
    {"option": "air_hpc", "capex_musd_per_it_mw": 8.0, "lead_quarters": 4, "pue": 1.45,
     "cooling_mw_per_it_mw": 1.2, "lease_usd_per_kw_month": 121, "lease_escalator": 0.03,
     "ramp_quarters": 3, "opex_usd_per_kw_month": 18, "power_passthrough": True,
     "lease_term_years": 10, "renewal_probability": 0.8, "vacancy_quarters": 4},
    {"option": "dlc_ai", "capex_musd_per_it_mw": 10.5, "lead_quarters": 5, "pue": 1.30,
     "cooling_mw_per_it_mw": 1.1, "lease_usd_per_kw_month": 158, "lease_escalator": 0.03,
     "ramp_quarters": 3, "opex_usd_per_kw_month": 24, "power_passthrough": True,
     "lease_term_years": 12, "renewal_probability": 0.8, "vacancy_quarters": 4,
     "tenant_capex_share": 0.5},
    {"option": "immersion", "capex_musd_per_it_mw": 9.5, "lead_quarters": 4, "pue": 1.25,
     "cooling_mw_per_it_mw": 1.05, "lease_usd_per_kw_month": 140, "lease_escalator": 0.03,
     "ramp_quarters": 4, "opex_usd_per_kw_month": 21, "power_passthrough": True,
     "lease_term_years": 15, "renewal_probability": 0.8, "vacancy_quarters": 4},
    # A GPU cloud instead of a lease: the owner buys the GPUs, sells compute and pays power.
    {"option": "gpu_cloud", "capex_musd_per_it_mw": 10.5, "lead_quarters": 5, "pue": 1.30,
     "cooling_mw_per_it_mw": 1.1, "lease_usd_per_kw_month": 808, "lease_escalator": 0.0,
     "ramp_quarters": 2, "opex_usd_per_kw_month": 80, "power_passthrough": False,
     "lease_term_years": 5, "renewal_probability": 0.6, "vacancy_quarters": 2,
     "prepaid_quarters": 4, "equipment_capex_musd_per_it_mw": 29.0,
     "equipment_life_years": 5},
]

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
    # The GPU cloud only where its operator runs one (IREN at Childress).
    *[(site["site"], "gpu_cloud", site["site"] == "Childress", 1.0, 1.0, "iren",
       "IREN runs its GPU cloud at Childress (Horizon DLC halls)" if site["site"] == "Childress"
       else "no GPU cloud business at this site") for site in SITES],
]

# --- Quarters -----------------------------------------------------------------------------------
HASHPRICE_2027Q1 = 38.0  # $/PH/s/day: top of the 33-38 seen late 2025 - Mar 2026
HASHPRICE_DRIFT = -0.01  # per quarter between halvings: hashrate growth outpaces BTC price
HALVINGS = ("2028Q2", "2032Q2")  # blocks 1,050,000 (~Apr 2028) and 1,260,000 (~2032)
HALVING_FACTOR = 0.5  # the subsidy halves; fees are small
RECOVERY = 0.025  # per quarter for the 4 quarters after a halving: difficulty falls
RECOVERY_QUARTERS = 4
POWER_ESCALATION = 0.025  # per year, on every site's power cost (power_index)
BUDGET_BY_YEAR = {2027: 300.0, 2028: 350.0}  # $M per quarter; 400 from 2029
BUDGET_LATER = 400.0
AI_DEMAND_START = 200.0  # MW IT online at most in 2027Q1 ...
AI_DEMAND_STEP = 30.0  # ... rising this much a quarter
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
        "ai_demand_mw": [AI_DEMAND_START + AI_DEMAND_STEP * t for t in range(HORIZON)],
        "max_hall_starts": [MAX_HALL_STARTS] * HORIZON,
    })


# --- Settings and commitments -------------------------------------------------------------------
SETTINGS: list[tuple[str, Any, str]] = [
    ("start_quarter", START, "the hashprice, budget and demand paths start here"),
    ("horizon_quarters", HORIZON, "10 years, 2027Q1..2036Q4, about one lease term"),
    ("discount_rate", 0.11, "estimate: a miner's cost of capital with 60-85% loan-to-cost "
                            "debt available"),
    ("discounting", "end", ""),
    ("tax_rate", 0.0, "pre-tax NPV: group tax positions (loss carry-forwards) vary; set 0.21 "
                      "for the US federal rate"),
    ("depreciation_years", 10, "used only when tax_rate > 0"),
    ("terminal_value", "contracted", "only what is signed counts after 2036: each hall's "
                                     "lease term running at the end"),
    ("terminal_multiple", 9.0, "used with terminal_value = multiple: 9x annual AI NOI = an 11% "
                               "capitalisation rate; see Sources"),
    ("budget_carryover", False, "each quarter's capital is a hard cap"),
    ("mip_gap", 0.001, ""),
    ("time_limit_s", 60, ""),
    ("threads", 0, ""),
    ("random_seed", 0, ""),
    ("debt_ltc", 0.8, "Galaxy Helios 80% loan-to-cost (Hut 8 up to 85%); see Sources"),
    ("debt_rate", 0.07, "SOFR + 225 bp (Hut 8) or 7.125% notes (Cipher): ~7%"),
    ("debt_tenor_years", 10, "estimate: construction debt (Galaxy 36 months) termed out over a "
                             "lease-length amortisation"),
    ("equity_discount_rate", 0.15, "estimate: levered equity's required return"),
    ("objective", "project_npv", ""),
    ("budget_basis", "equity", "the budget is the company's own money: debt funds the rest"),
]

# (site, option, quarter, halls, action, source key, note)
COMMITMENTS: list[tuple[str, str | None, str, int | None, str, str, str]] = [
    ("Corsicana", "dlc_ai", "2027Q1", 1, "start", "riot",
     "112 MW IT core-and-shell started Oct 2025; its fit-out is modelled as starting 2027Q1"),
    ("Odessa", None, "2027Q3", None, "not_before", "cipher",
     "fixed-price power contract runs to Jul 2027: no conversion before 2027Q3"),
]

# --- Sources rows for figures that are not per-site columns -----------------------------------
GENERAL_SOURCES: list[tuple[str, Any, str, str, str]] = [
    ("capex range", "3.6 / 8-11 / 15", "$M per MW IT", "ranges",
     "reported range, excluding GPUs; options placed at 8.0 (air), 9.5 (immersion), "
     "10.5 (DLC)"),
    ("lease range", "102 / 121-158 / 178", "$/kW-month", "ranges",
     "estimated from contract value / years / MW; options at 121 (air), 140 (immersion), "
     "158 (DLC)"),
    ("lease escalator", 0.03, "per year", "hut8", "reported 3%"),
    ("opex", "15% of lease", "$/kW-month", "ranges",
     "NOI margin ~85% (base): opex 18 / 21 / 24 for air / immersion / DLC"),
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
    ("budget", "300 (2027), 350 (2028), 400 (2029+)", "$M per quarter", "assumption",
     "against ~$33B for all 3,485 MW IT of possible halls: the budget binds"),
    ("ai_demand_mw", f"{AI_DEMAND_START:g} + {AI_DEMAND_STEP:g} per quarter", "MW IT",
     "assumption", "what tenants will lease from this portfolio (estimate)"),
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
    ("tenant capex share", 0.5, "fraction of DLC capex", "core",
     "CoreWeave funded $196.4M of $244.5M (~80%) of one quarter's conversion capex; half "
     "assumed over a whole DLC build"),
    ("GPU cloud revenue", 808, "$/kW-month", "iren",
     "~$1.94B a year for 200 MW IT = $9.7M per MW IT a year = $808/kW-month; no escalator"),
    ("GPU equipment", 29.0, "$M per MW IT", "iren",
     "~$5.8B of GPUs for 200 MW IT; 5-year life (Nebius 4, CoreWeave 6), bought again at 5 "
     "years; the owner pays power and ~$80/kW-month of opex (estimate)"),
    ("GPU cloud prepayment", 4, "quarters of revenue", "iren",
     "Microsoft: $9.7B over 5 years with a 20% prepayment = 4 of 20 quarters; 5-year "
     "contract, 60% renewed (estimate)"),
    ("project debt", 0.8, "loan-to-cost", "galaxy",
     "Galaxy Helios $1.4B at 80% LTC, 36-month term; Hut 8 up to 85% at SOFR + 225 bp; "
     "Cipher 7.125% notes: 7% over 10 years assumed"),
]


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
    commitments = pd.DataFrame([row[:5] for row in COMMITMENTS],
                               columns=["site", "option", "quarter", "halls", "action"],
                               dtype=object)
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
    for site, option, quarter, halls, action, key, note in COMMITMENTS:
        what = f"{action} {halls or ''} {option or 'any option'} {quarter}".replace("  ", " ")
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
