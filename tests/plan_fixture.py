"""A small, hand-built `Plan` for report and summary tests (no solver involved).

Two sites, two options, eight quarters from 2027Q1. The decisions are fixed by hand; the cash
flows follow docs/economics.md in a simplified way (no tax) so that the frames are internally
consistent: net = the line items, discounted = net x DF, the cumulative column ends at the NPV
less the terminal value, and the per-site NPVs (each with its terminal value, as
`models.economics` computes them) sum to `npv_musd`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.economics import equity_discount_factors
from models.portfolio import Portfolio, Settings
from models.quarters import quarter_range
from optimizer.plan import (
    CAPACITY_COLUMNS,
    CASH_FLOW_COLUMNS,
    CONSTRAINT_COLUMNS,
    DECISION_COLUMNS,
    UPGRADE_COLUMNS,
    Plan,
)

START = "2027Q1"
T = 8
DAYS = 365.25 / 4


def make_portfolio(site_names: tuple[str, str] = ("Childress", "Odessa"),
                   region: str = "ERCOT, TX", source: str = "") -> Portfolio:
    """The fixture's portfolio: frames shaped as `models.portfolio` documents."""
    first, second = site_names
    settings = Settings(start_quarter=START, horizon_quarters=T, discount_rate=0.10,
                        terminal_value="multiple", terminal_multiple=8.0)
    sites = pd.DataFrame({
        "site": [first, second],
        "region": [region, "ERCOT, TX"],
        "grid_mw": [750.0, 210.0],
        "mining_mw": [450.0, 200.0],
        "efficiency_j_per_th": [17.5, 21.0],
        "power_cost_usd_per_mwh": [38.0, 35.0],
        "uptime": [0.95, 0.97],
        "halls": [6, 2],
        "hall_it_mw": [50.0, 50.0],
        "cooling_mw": [100.0, 60.0],
        "earliest_start": [START, "2027Q2"],
        "cooling_module_mw": [50.0, np.nan],
        "cooling_module_capex_musd": [40.0, np.nan],
        "cooling_lead_quarters": [2.0, np.nan],
        "max_cooling_modules": [4.0, np.nan],
        "power_upgrade_mw": [np.nan, np.nan],
        "power_upgrade_capex_musd": [np.nan, np.nan],
        "power_upgrade_lead_quarters": [np.nan, np.nan],
    }).set_index("site")
    options = pd.DataFrame({
        "option": ["dlc_ai", "air_hpc"],
        "capex_musd_per_it_mw": [9.5, 7.0],
        "lead_quarters": [4, 3],
        "pue": [1.3, 1.4],
        "cooling_mw_per_it_mw": [1.1, 1.0],
        "lease_usd_per_kw_month": [150.0, 120.0],
        "lease_escalator": [0.03, 0.03],
        "ramp_quarters": [2, 1],
        "opex_usd_per_kw_month": [18.0, 15.0],
        "power_passthrough": [True, True],
    }).set_index("option")
    pairs = pd.MultiIndex.from_product([sites.index, options.index], names=["site", "option"])
    site_options = pd.DataFrame({"allowed": True, "capex_multiplier": 1.0,
                                 "lease_multiplier": 1.0}, index=pairs)
    quarters = pd.DataFrame({
        "quarter": quarter_range(START, T),
        "hashprice_usd_per_ph_day": [45.0, 44.0, 43.0, 42.0, 41.0, 24.0, 23.0, 22.0],
        "budget_musd": [500.0, 500.0, 500.0, 500.0, 500.0, 300.0, np.nan, np.nan],
        "power_index": 1.0,
        "lease_index": 1.0,
        "ai_demand_mw": np.nan,
        "max_hall_starts": np.nan,
        "min_mining_mw": np.nan,
    })
    quarters.index.name = "t"
    commitments = pd.DataFrame({"site": pd.Series([], dtype=object),
                                "option": pd.Series([], dtype=object),
                                "quarter": pd.Series([], dtype=object),
                                "halls": pd.Series([], dtype=float),
                                "action": pd.Series([], dtype=object)})
    scenarios = pd.DataFrame(columns=["scenario", "parameter", "value", "multiplier", "site",
                                      "option"])
    return Portfolio(settings=settings, sites=sites, options=options, site_options=site_options,
                     quarters=quarters, commitments=commitments, scenarios=scenarios,
                     source=source, sha256="ab" * 32)


def make_plan(site_names: tuple[str, str] = ("Childress", "Odessa"), region: str = "ERCOT, TX",
              source: str = "", status: str = "optimal", termination: str = "optimal",
              gap: float = 0.0004, solver_log: str | None = None) -> Plan:
    """A plan for `make_portfolio`: 3 dlc_ai halls at the first site from 2027Q2, 1 air_hpc
    hall at the second from 2027Q3, 2 cooling modules at the first site from 2027Q1."""
    pf = make_portfolio(site_names, region, source)
    first, second = site_names
    labels = pf.quarter_labels
    t = np.arange(T)
    df = (1 + pf.settings.discount_rate) ** (-(t + 1) / 4)
    starts = [(first, "dlc_ai", 1, 3), (second, "air_hpc", 2, 1)]

    per_site: dict[str, dict[str, np.ndarray]] = {
        s: {k: np.zeros(T) for k in ("mining", "rev", "opex", "capex", "building", "hosting",
                                     "reserved", "cool_used")}
        for s in pf.site_names}
    rows = []
    for site, opt, tau, halls in starts:
        o, h = pf.options.loc[opt], float(pf.sites.loc[site, "hall_it_mw"])
        lead, it_mw = int(o["lead_quarters"]), halls * h
        q0 = tau + lead
        capex = o["capex_musd_per_it_mw"] * it_mw
        occ = np.clip((t - q0 + 1) / o["ramp_quarters"], 0, 1) * (t >= q0)
        rate = o["lease_usd_per_kw_month"] * (1 + o["lease_escalator"]) ** ((t - q0) / 4)
        s = per_site[site]
        s["rev"] += rate * it_mw * 1000 * 3 * occ / 1e6
        s["opex"] += o["opex_usd_per_kw_month"] * it_mw * 1000 * 3 / 1e6 * (t >= q0)
        s["capex"] += np.where((t >= tau) & (t < q0), capex / lead, 0.0)
        s["building"] += np.where((t >= tau) & (t < q0), halls, 0)
        s["hosting"] += np.where(t >= q0, halls, 0)
        s["reserved"] += np.where(t >= tau, o["pue"] * it_mw, 0.0)
        s["cool_used"] += np.where(t >= q0, o["cooling_mw_per_it_mw"] * it_mw, 0.0)
        rows.append({"site": site, "option": opt, "start_quarter": labels[tau], "halls": halls,
                     "it_mw": it_mw, "online_quarter": labels[q0], "capex_musd": capex,
                     "npv_musd": 0.0,  # filled in below
                     # Illustrative per-start metrics (the report copies them as given).
                     "irr": 0.15 + 0.01 * len(rows), "payback_quarter": labels[-1],
                     "moic": 1.5 + 0.1 * len(rows), "lease_signed": False})
    per_site[first]["capex"] += np.where(t < 2, 80.0 / 2, 0.0)  # two cooling modules
    cooling_extra = np.where(t >= 2, 100.0, 0.0)

    hp = pf.quarters["hashprice_usd_per_ph_day"].to_numpy()
    mining_mw = pd.DataFrame(index=pd.Index(pf.site_names, name="site"), columns=labels,
                             dtype=float)
    cap_rows = []
    for site in pf.site_names:
        row, s = pf.sites.loc[site], per_site[site]
        margin = DAYS * row["uptime"] * (hp * 1000 / row["efficiency_j_per_th"]
                                         - 24 * row["power_cost_usd_per_mwh"]) / 1e6
        m = np.minimum(row["mining_mw"], row["grid_mw"] - s["reserved"])
        m = np.where(margin > 0, m, 0.0)
        mining_mw.loc[site] = m
        s["mining"] = margin * m
        extra = cooling_extra if site == first else 0.0
        for i, q in enumerate(labels):
            cap_rows.append({
                "site": site, "quarter": q, "mining_mw": m[i],
                "ai_it_mw_online": s["hosting"][i] * row["hall_it_mw"],
                "halls_building": int(s["building"][i]), "halls_hosting": int(s["hosting"][i]),
                "power_used_mw": m[i] + s["reserved"][i], "power_available_mw": row["grid_mw"],
                "cooling_used_mw": s["cool_used"][i],
                "cooling_available_mw": row["cooling_mw"] + (extra[i] if site == first else 0),
            })

    def total(key: str) -> np.ndarray:
        return np.sum([per_site[s][key] for s in pf.site_names], axis=0)

    net = total("mining") + total("rev") - total("opex") - total("capex")
    cash = pd.DataFrame({"quarter": labels, "mining_margin_musd": total("mining"),
                         "ai_revenue_musd": total("rev"), "ai_opex_musd": total("opex"),
                         "ai_power_musd": 0.0, "capex_musd": total("capex"),
                         "depreciation_musd": 0.0, "tax_musd": 0.0, "net_musd": net,
                         "discount_factor": df, "discounted_musd": net * df})
    cash["cumulative_discounted_musd"] = cash["discounted_musd"].cumsum()
    # No deal terms: the deal lines are zero and equity cash flow is the project's.
    for column in ("tenant_funded_capex_musd", "prepayment_musd", "equipment_capex_musd",
                   "flex_credit_musd", "debt_draw_musd", "interest_musd", "principal_musd",
                   "debt_outstanding_musd"):
        cash[column] = 0.0
    cash["equity_cash_flow_musd"] = net
    cash["equity_discounted_musd"] = net * df
    # Hand-built: no mining-only counterfactual is computed, so the conversion lines are blank.
    for column in ("mining_only_net_musd", "incremental_net_musd", "incremental_irr_flow_musd"):
        cash[column] = np.nan
    cash["budget_use_musd"] = total("capex")  # budget_basis = capex, no deal terms
    # No board-ready finance columns: the mining margin is not split, no idle power, no debt.
    for column in ("mining_revenue_musd", "mining_power_musd", "mining_opex_musd",
                   "idle_power_musd", "debt_service_musd", "balloon_musd"):
        cash[column] = 0.0
    cash["cfads_musd"] = net + total("capex")
    cash["dscr"] = np.nan
    noi_last = total("rev")[-1] - total("opex")[-1]
    tv = float(8.0 * 4 * noi_last * df[-1])
    # As `models.economics.Valuation.site_npv`: each site's TV included; they sum to the NPV.
    site_npv = pd.Series({s: float(np.sum(df * (per_site[s]["mining"] + per_site[s]["rev"]
                                                 - per_site[s]["opex"] - per_site[s]["capex"]))
                                 + 8.0 * 4 * (per_site[s]["rev"] - per_site[s]["opex"])[-1]
                                 * df[-1])
                          for s in pf.site_names}, name="npv_musd")
    site_npv.index.name = "site"
    it_total = sum(r["it_mw"] for r in rows)
    for r in rows:  # a start's NPV: its site's AI flows (one start per site), capex, TV share
        s, tau = per_site[r["site"]], labels.index(r["start_quarter"])
        r["npv_musd"] = float(np.sum(df * (s["rev"] - s["opex"])) - r["capex_musd"] * df[tau]
                              + tv * r["it_mw"] / it_total)
    npv = float(cash["cumulative_discounted_musd"].iloc[-1] + tv)

    decisions = pd.DataFrame(rows, columns=DECISION_COLUMNS)
    upgrades = pd.DataFrame([{"site": first, "kind": "cooling", "start_quarter": labels[0],
                              "units": 2, "mw": 100.0, "online_quarter": labels[2],
                              "capex_musd": 80.0}], columns=UPGRADE_COLUMNS)
    capacity = pd.DataFrame(cap_rows, columns=CAPACITY_COLUMNS)
    constraints = pd.DataFrame([
        {"constraint": f"halls at {first}", "family": "halls", "site": first, "quarter": None,
         "used": 3.0, "limit": 6.0, "slack": 3.0, "binding": False},
        {"constraint": f"power at {second} in 2027Q3", "family": "power", "site": second,
         "quarter": "2027Q3", "used": 210.0, "limit": 210.0, "slack": 0.0, "binding": True},
        {"constraint": "capital budget in 2027Q2", "family": "budget", "site": None,
         "quarter": "2027Q2", "used": 496.25, "limit": 500.0, "slack": 3.75, "binding": False},
        {"constraint": "capital budget in 2027Q4", "family": "budget", "site": None,
         "quarter": "2027Q4", "used": 472.9, "limit": 500.0, "slack": 27.1, "binding": False},
    ], columns=CONSTRAINT_COLUMNS)
    log = solver_log if solver_log is not None else (
        "Running HiGHS 1.11.0\nMIP has 120 rows; 96 cols\nSolving report\n"
        "  Status            Optimal\n  Gap               0.04% (tolerance: 0.1%)")
    bound = npv * (1 + gap)
    return Plan(portfolio=pf, status=status, termination=termination,  # type: ignore[arg-type]
                npv_musd=npv, objective_musd=npv, bound_musd=bound, gap=gap,
                decisions=decisions, upgrades=upgrades, cash_flows=cash[CASH_FLOW_COLUMNS],
                terminal_value_musd=tv, equity_discount_factors=equity_discount_factors(pf),
                site_npv_musd=site_npv, mining_mw=mining_mw,
                capacity=capacity, constraints=constraints, greedy_npv_musd=npv - 42.5,
                greedy_objective_musd=npv - 42.5,
                timings={"read": 0.2, "build": 0.4, "solve": 1.25}, solver_log=log,
                warnings=["Odessa: a start commitment before earliest_start (fixture)"])
