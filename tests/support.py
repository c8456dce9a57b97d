"""Shared test fixtures: a tiny valid portfolio as raw tables, and writing tables to .xlsx.

Other test modules import these; keep the signatures stable:
- ``tiny_tables() -> dict[str, pd.DataFrame]``: sheet name -> frame of raw values (Settings as
  key/value rows), a valid 2-site, 2-option, 8-quarter portfolio (2027Q1..2028Q4).
- ``write_xlsx(tables, path)``: each table to a sheet, header in row 1, blanks for None/NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

START = "2027Q1"
QUARTERS = ["2027Q1", "2027Q2", "2027Q3", "2027Q4", "2028Q1", "2028Q2", "2028Q3", "2028Q4"]


def tiny_tables() -> dict[str, pd.DataFrame]:
    """A valid portfolio: sites Alpha (cooling upgrade, earliest 2027Q2) and Bravo (power
    upgrade), options dlc (lead 4) and air (lead 2, owner pays power), 8 quarters with a
    hashprice halving in 2028Q2 and a $300M budget per quarter (blank, i.e. none, in 2028Q4);
    tax 21% and an 8x multiple terminal value, untaxed (terminal_value_tax untaxed, so the
    tests written before the taxed default keep their figures).
    """
    settings = pd.DataFrame({
        "key": ["start_quarter", "horizon_quarters", "discount_rate", "tax_rate",
                "terminal_value", "terminal_multiple", "terminal_value_tax"],
        "value": [START, 8, 0.10, 0.21, "multiple", 8, "untaxed"],
    }, dtype=object)
    sites = pd.DataFrame({
        "site": ["Alpha", "Bravo"],
        "region": ["ERCOT, TX", "SPP, OK"],
        "grid_mw": [300.0, 150.0],
        "mining_mw": [200.0, 150.0],
        "efficiency_j_per_th": [20.0, 24.0],
        "power_cost_usd_per_mwh": [40.0, 45.0],
        "uptime": [0.95, None],
        "halls": [4, 2],
        "hall_it_mw": [50.0, 25.0],
        "cooling_mw": [100.0, None],
        "earliest_start": ["2027Q2", None],
        "cooling_module_mw": [50.0, None],
        "cooling_module_capex_musd": [40.0, None],
        "cooling_lead_quarters": [2, None],
        "max_cooling_modules": [2, None],
        "power_upgrade_mw": [None, 100.0],
        "power_upgrade_capex_musd": [None, 60.0],
        "power_upgrade_lead_quarters": [None, 4],
    }, dtype=object)
    options = pd.DataFrame({
        "option": ["dlc", "air"],
        "capex_musd_per_it_mw": [10.0, 6.0],
        "lead_quarters": [4, 2],
        "pue": [1.3, 1.5],
        "cooling_mw_per_it_mw": [1.1, 0.2],
        "lease_usd_per_kw_month": [150.0, 110.0],
        "lease_escalator": [0.03, None],
        "ramp_quarters": [2, None],
        "opex_usd_per_kw_month": [15.0, 12.0],
        "power_passthrough": [True, False],
    }, dtype=object)
    site_options = pd.DataFrame({
        "site": ["Alpha"],
        "option": ["air"],
        "allowed": [True],
        "capex_multiplier": [0.9],
        "lease_multiplier": [None],
    }, dtype=object)
    quarters = pd.DataFrame({
        "quarter": QUARTERS,
        "hashprice_usd_per_ph_day": [50.0, 48.0, 46.0, 45.0, 44.0, 24.0, 25.0, 26.0],
        "budget_musd": [300.0] * 7 + [None],
    }, dtype=object)
    return {"Settings": settings, "Sites": sites, "Options": options,
            "SiteOptions": site_options, "Quarters": quarters}


def _cell(value: object) -> object:
    """A frame value as openpyxl should write it (blank for None/NaN, plain Python types)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def write_xlsx(tables: Mapping[str, pd.DataFrame], path: str | Path) -> Path:
    """Write each table to a sheet of a new workbook at ``path`` (header in row 1)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, frame in tables.items():
        sheet = book.create_sheet(str(name))
        sheet.append([str(c) for c in frame.columns])
        for row in frame.itertuples(index=False):
            sheet.append([_cell(v) for v in row])
    path = Path(path)
    book.save(path)
    return path
