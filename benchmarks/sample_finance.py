"""The board-ready figures of a plan, one line per workbook (the README's sample before/after).

    python benchmarks/sample_finance.py inputs/sample_portfolio.xlsx [--time-limit 60]

Prints NPV, equity NPV, conversion IRR, the share of NPV beyond the horizon, min DSCR (with its
year), the quarters in which the capital budget binds, the conversion equity IRR and MOIC, and
the largest budget use against its budget.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import optimizer


def figures(path: Path, time_limit: float) -> dict[str, object]:
    portfolio = optimizer.load_portfolio(str(path))
    plan = optimizer.optimize(portfolio, time_limit=time_limit)
    metrics = plan.deal_metrics.set_index("metric")
    value = metrics["value"]
    cons = plan.constraints
    budget = cons[cons["family"] == "budget"]
    binding = budget[budget["binding"]]["quarter"].tolist()
    use = plan.cash_flows["budget_use_musd"].to_numpy(float)
    limit = portfolio.quarters["budget_musd"].to_numpy(float)
    return {
        "workbook": str(path), "status": str(plan.status), "gap": plan.gap,
        "npv_musd": plan.npv_musd, "equity_npv_musd": plan.equity_npv_musd,
        "conversion_irr": value.get("conversion_irr"),
        "conversion_equity_irr": value.get("conversion_equity_irr"),
        "conversion_moic": value.get("conversion_moic"),
        "npv_beyond_horizon_share": value.get("npv_beyond_horizon_share"),
        "min_dscr": value.get("min_dscr"), "min_dscr_note": metrics["note"].get("min_dscr"),
        "refinancing_musd": value.get("refinancing_musd"),
        "contracted_backlog_musd": value.get("contracted_backlog_musd"),
        "budget_binding_quarters": len(binding), "budget_binding": ", ".join(binding),
        "max_budget_use_musd": float(np.nanmax(use)) if len(use) else 0.0,
        "max_budget_use_share": float(np.nanmax(np.where(np.isfinite(limit) & (limit > 0),
                                                         use / np.where(limit > 0, limit, 1),
                                                         np.nan))),
        "halls_converted": plan.halls_converted,
        "per_start_irr_max": float(plan.decisions["irr"].max()) if len(plan.decisions) else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workbooks", nargs="+", type=Path)
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args(argv)
    for path in args.workbooks:
        for key, val in figures(path, args.time_limit).items():
            shown = f"{val:,.4f}" if isinstance(val, float) else val
            print(f"{key:28s} {shown}")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
