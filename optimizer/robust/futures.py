"""The futures of a robust plan: seeded Monte Carlo draws or the Scenarios sheet, weighted.

Each `Future` is a Portfolio variant (`optimizer.sweeps.scenarios.apply_changes`) with its
weight; the weights of one robust plan sum to 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.errors import InputError, InputProblem, UsageError
from models.portfolio import Portfolio
from optimizer.sweeps.scenarios import apply_changes, monte_carlo_scenarios, sheet_scenarios


@dataclass(frozen=True)
class Future:
    """One scenario of the robust plan: its name, what it changes, weight and portfolio."""

    name: str
    changes: str
    weight: float
    portfolio: Portfolio



def robust_futures(portfolio: Portfolio, *, draws: int | None = None, seed: int | None = None,
                   from_sheet: bool = False) -> list[Future]:
    """The scenarios of a robust plan: `draws` Monte Carlo futures (equal weights, seeded by
    `seed` or Settings random_seed; the sweep's generator), or the Scenarios sheet's named
    scenarios (the unchanged base is not one of them unless the sheet names it) with their
    optional ``weight``. Weights are normalised to sum to 1."""
    if (draws is None) == (not from_sheet):
        raise UsageError("choose the futures: --monte-carlo N or --scenarios")
    if draws is not None:
        rng_seed = portfolio.settings.random_seed if seed is None else int(seed)
        scenarios = monte_carlo_scenarios(portfolio, draws, rng_seed)[1:]
        weights = [1.0] * len(scenarios)
    else:
        scenarios = sheet_scenarios(portfolio)[1:]
        weights = sheet_weights(portfolio, [s.name for s in scenarios])
    total = float(sum(weights))
    return [Future(s.name, s.describe(), w / total, apply_changes(portfolio, s.changes))
            for s, w in zip(scenarios, weights, strict=True)]


def sheet_weights(portfolio: Portfolio, names: Sequence[str]) -> list[float]:
    """Each named scenario's weight from the Scenarios sheet's optional ``weight`` column:
    given on one row of the scenario or the same on each; blank on every scenario means equal
    weights. InputError listing every problem (cells named) otherwise."""
    frame = portfolio.scenarios
    if "weight" not in frame.columns or frame["weight"].isna().all():
        return [1.0] * len(names)
    rows = frame.attrs.get("rows")
    letters = frame.attrs.get("letters") or {}
    sheet = frame.attrs.get("sheet", "Scenarios")

    def cell(i: int) -> str:
        row = rows[i] if rows is not None and i < len(rows) else i + 2
        return f"{letters.get('weight', 'G')}{row}"

    given: dict[str, dict[float, int]] = {}
    for i, (name, w) in enumerate(zip(frame["scenario"].astype(str), frame["weight"],
                                      strict=True)):
        if w is not None and not pd.isna(w):
            given.setdefault(name, {}).setdefault(float(w), i)
    problems: list[InputProblem] = []
    out: list[float] = []
    for name in names:
        values = given.get(name, {})
        if len(values) > 1:
            for w, i in list(values.items())[1:]:
                problems.append(InputProblem(sheet, cell(i), "weight", w,
                                             f"the same weight on every row of scenario "
                                             f"{name!r} (or on one row only)"))
        elif not values:
            first = int(np.flatnonzero(frame["scenario"].astype(str).to_numpy() == name)[0])
            problems.append(InputProblem(sheet, cell(first), "weight", None,
                                         "a weight >= 0: give every scenario a weight, or none"))
        else:
            out.append(next(iter(values)))
    if not problems and sum(out) <= 0:
        problems.append(InputProblem(sheet, cell(0), "weight", 0.0, "at least one weight > 0"))
    if problems:
        raise InputError(problems, portfolio.source)
    return out
