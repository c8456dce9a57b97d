"""Seeded generator of realistic, capital-rationed portfolios at any size.

`make_tables(n_sites, horizon, seed)` returns raw contract tables (sheet -> DataFrame), the same
shape a workbook gives, so instances go through the same validation as users' workbooks.
Figures are drawn inside the public ranges the sample workbook cites (its Sources sheet): grid
50-1,400 MW, fleet efficiency 15-24 J/TH, power $26-50/MWh, halls of 25-160 MW IT, capex $6-13M
per MW IT, leases $105-175/kW-month, a hashprice path that halves in 2028Q2, a quarterly budget
well below what the attractive conversions would spend, a rising AI demand cap and a hall-start
cap.

    python -m benchmarks.generate 60 40 --seed 1 -o /tmp/b60.xlsx
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from models.quarters import quarter_range

START = "2027Q1"
REGIONS = ["ERCOT, TX", "SPP, OK", "PJM, PA", "NYISO, NY", "Entergy, LA", "BC Hydro"]


def hashprice_path(horizon: int, rng: np.random.Generator) -> np.ndarray:
    """$/PH/s/day: ~$45 drifting down, halved at 2028Q2 (t = 5), a noisy slow recovery."""
    t = np.arange(horizon)
    level = 45.0 * 0.985 ** t * np.where(t >= 5, 0.5, 1.0) * (1.0 + 0.01 * np.maximum(t - 5, 0))
    return np.round(level * np.exp(rng.normal(0.0, 0.04, horizon)), 2)


def make_tables(n_sites: int, horizon: int = 40, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Contract tables of a random portfolio; deterministic in (n_sites, horizon, seed)."""
    rng = np.random.default_rng(seed)
    names = [f"Site{i + 1:03d}" for i in range(n_sites)]
    grid = np.round(rng.uniform(50, 1400, n_sites), -1)
    hall_mw = rng.choice([25.0, 50.0, 75.0, 100.0, 160.0], n_sites)
    halls = np.minimum(rng.integers(3, 9, n_sites),
                       np.maximum(1, (grid / (1.35 * hall_mw)).astype(int)))
    has_cooling = rng.random(n_sites) < 0.6
    has_power = rng.random(n_sites) < 0.4
    module_mw = np.round(hall_mw * rng.uniform(1.0, 2.0, n_sites), -1)
    sites = pd.DataFrame({
        "site": names,
        "region": rng.choice(REGIONS, n_sites),
        "grid_mw": grid,
        "mining_mw": np.round(grid * rng.uniform(0.6, 1.0, n_sites), -1),
        "efficiency_j_per_th": np.round(rng.uniform(15.0, 24.0, n_sites), 1),
        "power_cost_usd_per_mwh": np.round(rng.uniform(26.0, 50.0, n_sites), 1),
        "uptime": np.round(rng.uniform(0.9, 0.99, n_sites), 3),
        "halls": halls,
        "hall_it_mw": hall_mw,
        "cooling_mw": np.round(hall_mw * rng.integers(0, 3, n_sites) * 1.1, 0),
        "earliest_start": [quarter_range(START, horizon)[int(k)]
                           for k in rng.integers(0, min(6, horizon), n_sites)],
        "cooling_module_mw": np.where(has_cooling, module_mw, np.nan),
        "cooling_module_capex_musd": np.where(has_cooling, np.round(module_mw * 0.6, 1), np.nan),
        "cooling_lead_quarters": np.where(has_cooling, rng.integers(1, 4, n_sites), np.nan),
        "max_cooling_modules": np.where(has_cooling, rng.integers(1, 5, n_sites), np.nan),
        "power_upgrade_mw": np.where(has_power, np.round(grid * 0.5, -1), np.nan),
        "power_upgrade_capex_musd": np.where(has_power, np.round(grid * 0.5 * 0.4, 0), np.nan),
        "power_upgrade_lead_quarters": np.where(has_power, rng.integers(4, 10, n_sites), np.nan),
    })
    options = pd.DataFrame({
        "option": ["air_hpc", "dlc_ai", "immersion"],
        "capex_musd_per_it_mw": [7.0, 10.5, 8.5],
        "lead_quarters": [3, 5, 4],
        "pue": [1.45, 1.25, 1.15],
        "cooling_mw_per_it_mw": [1.0, 1.15, 1.05],
        "lease_usd_per_kw_month": [118.0, 160.0, 138.0],
        "lease_escalator": [0.03, 0.03, 0.03],
        "ramp_quarters": [2, 3, 2],
        "opex_usd_per_kw_month": [18.0, 22.0, 20.0],
        "power_passthrough": [True, True, False],
    })
    disallow = rng.random((n_sites, 3)) < 0.15
    pairs = [(names[s], options["option"][o]) for s in range(n_sites) for o in range(3)]
    site_options = pd.DataFrame({
        "site": [p[0] for p in pairs],
        "option": [p[1] for p in pairs],
        "allowed": ~disallow.ravel(),
        "capex_multiplier": np.round(rng.uniform(0.85, 1.2, 3 * n_sites), 2),
        "lease_multiplier": np.round(rng.uniform(0.9, 1.1, 3 * n_sites), 2),
    })
    labels = quarter_range(START, horizon)
    total_it = float((halls * hall_mw).sum())
    # Budget: about a fifth of the capex needed to convert everything over three years.
    budget = np.round(total_it * 9.0 / 12 / 5 * rng.uniform(0.8, 1.2, horizon), 0)
    demand = np.round(total_it * np.minimum(1.0, 0.15 + 0.05 * np.arange(horizon)), 0)
    quarters = pd.DataFrame({
        "quarter": labels,
        "hashprice_usd_per_ph_day": hashprice_path(horizon, rng),
        "budget_musd": budget,
        "power_index": np.round(1.0 + 0.005 * np.arange(horizon), 4),
        "lease_index": np.round(0.98 ** (np.arange(horizon) / 4), 4),
        "ai_demand_mw": demand,
        "max_hall_starts": np.full(horizon, max(2, n_sites // 3)),
    })
    first = names[0]
    commitments = pd.DataFrame({
        "site": [first, names[-1]],
        "option": ["dlc_ai", None],
        "quarter": [None, labels[min(4, horizon - 1)]],
        "halls": [None, None],
        "action": ["exclude", "not_before"],
    })
    settings = pd.DataFrame({
        "key": ["start_quarter", "horizon_quarters", "discount_rate", "tax_rate",
                "terminal_value", "terminal_multiple", "mip_gap", "time_limit_s",
                # Untaxed, as when the benchmarks/README figures were measured (the default
                # became taxed later): the generated instances stay the same.
                "terminal_value_tax"],
        "value": [START, horizon, 0.11, 0.21, "multiple", 8.0, 0.001, 300, "untaxed"],
    }, dtype=object)
    return {"Settings": settings, "Sites": sites, "Options": options,
            "SiteOptions": site_options, "Quarters": quarters, "Commitments": commitments}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sites", type=int)
    parser.add_argument("quarters", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    from optimizer.inputs.template import write_workbook

    write_workbook(make_tables(args.sites, args.quarters, args.seed), args.output, force=True)


if __name__ == "__main__":
    main()
