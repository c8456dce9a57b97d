"""The Firmness sheet's tables, assembled from the re-solves' results (`Resolved`): each
commit-now start's firmness (`label_start`, `firmness_frame`) and each site's timing window
(`windows_frame`), read against the plan's figures (`Context`). The rules are in
`optimizer.replan.firmness`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd

from models.economics import Economics
from models.firmness import first_start_quarter
from models.portfolio import Portfolio
from models.robust import FirstKey
from optimizer.money import money
from optimizer.plan import DECISION_COLUMNS, Plan
from optimizer.replan.resolve import Resolved, Shared
from optimizer.status import Status

FIRMNESS_COLUMNS = ["kind", "site", "option", "start_quarter", "units", "committed_units",
                    "firmness", "proven",
                    "npv_cost_musd", "npv_cost_at_least_musd", "npv_cost_at_most_musd",
                    "tolerance_musd", "note"]
WINDOW_COLUMNS = ["site", "plan_first_start", "earliest_first_start", "earliest_no_sooner_than",
                  "latest_first_start", "latest_no_later_than", "window_quarters", "proven",
                  "note"]
ALTERNATIVE_COLUMNS = ["alternative", "npv_musd", "vs_plan_musd", "gap_to_best",
                       "hall_quarters_different", "description"]
ALTERNATIVE_DECISION_COLUMNS = ["alternative", *DECISION_COLUMNS]


class PlanLike(Protocol):
    """What the tolerance and the commitments are read from: a Plan or a RobustPlan."""

    @property
    def portfolio(self) -> Portfolio: ...

    @property
    def gap(self) -> float: ...


@dataclass
class Context:
    """The plan's figures every table reads."""

    plan: Plan
    econ: Economics
    shared: Shared
    npv: float  # the plan's objective NPV, $M
    tol: float  # $M
    commit_quarters: int
    first_start: dict[int, int] = field(default_factory=dict)  # site -> plan's first start t


def committed_halls(plan: PlanLike, key: FirstKey) -> float:
    """Halls the workbook's Commitments require at a hall start's (site, option or any
    option, quarter); 0 for upgrades and uncommitted starts."""
    kind, site, option, tau = key
    c = plan.portfolio.commitments
    if kind != "hall" or not len(c):
        return 0.0
    rows = c[(c["action"] == "start") & (c["site"] == site)]
    return float(sum(h for q, o, h in zip(rows["quarter"], rows["option"], rows["halls"],
                                          strict=True)
                     if plan.portfolio.t_of(q) == tau and (not isinstance(o, str) or o == option)))


def firmness_frame(ctx: Context, first: dict[FirstKey, float],
                   results: dict[tuple[str, object], Resolved]) -> pd.DataFrame:
    """The commit-now table (`FIRMNESS_COLUMNS`): one row per start of the commit window
    (`first`: units by key), in quarter order, labelled from its forbid re-solve."""
    labels = ctx.plan.portfolio.quarter_labels
    rows = []
    for key in sorted(first, key=lambda k: (k[3], k[1], k[0], k[2])):
        kind, site, option, tau = key
        keep = committed_halls(ctx.plan, key)
        row: dict[str, object] = {
            "kind": kind, "site": site, "option": option or None, "start_quarter": labels[tau],
            "units": first[key], "committed_units": keep}
        row.update(label_start(first[key], keep, results.get(("forbid", key)), ctx.npv,
                               ctx.plan.bound_musd, ctx.tol))
        rows.append(row)
    return pd.DataFrame(rows, columns=FIRMNESS_COLUMNS)


def label_start(units: float, keep: float, r: Resolved | None, value: float, bound: float,
                tol: float) -> dict[str, object]:
    """The Firmness columns of one commit-now start of `units` (`keep` of them committed)
    from its forbid re-solve `r` (None: not run), against the plan's `value` and proven
    `bound` and the tolerance `tol` (all $M, in the objective's units: the NPV of a plan,
    the robust objective of a robust plan). Not making it costs at least value less the
    re-solve's bound (or `bound`, if lower), at most value less the re-solve's plan:
    `firm` when the least exceeds tol, `open` (proven) when the most is within it, else
    `open`, not proven. Infeasible without it: `firm`. A start committed in full:
    `committed`."""
    from optimizer.replan.replan import cost_phrase

    row: dict[str, object] = {"tolerance_musd": tol, "proven": False, "npv_cost_musd": None,
                              "npv_cost_at_least_musd": None, "npv_cost_at_most_musd": None}
    if keep >= units:
        row.update(firmness="committed", proven=True,
                   note="a start the workbook's Commitments require: decided already")
        return row
    beyond = (f"{units - keep:g} of its {units:g} halls beyond the {keep:g} "
              "committed; " if keep > 0 else "")
    if r is None:
        row.update(firmness="open", note="not measured: the phase's time budget ran out "
                   "before this re-solve (raise the time limit)")
        return row
    if r.status == Status.INFEASIBLE:
        row.update(firmness="firm", proven=True, npv_cost_at_least_musd=math.inf,
                   note=f"{beyond}no plan satisfies the constraints without it")
        return row
    at_most = value - r.npv if r.planned else math.inf
    bounds = [b for b in (r.bound, bound) if math.isfinite(b)]
    at_least = max(0.0, value - min(bounds)) if bounds else 0.0
    point = at_most if r.status == Status.OPTIMAL else None
    row.update(npv_cost_at_least_musd=at_least,
               npv_cost_at_most_musd=at_most if math.isfinite(at_most) else None,
               npv_cost_musd=point)
    phrase = cost_phrase(at_least, at_most if math.isfinite(at_most) else None, point)
    tolerance = f"the tolerance {money(tol)}"
    if at_least > tol:
        row.update(firmness="firm", proven=True,
                   note=f"{beyond}not making it {phrase}: more than {tolerance}; every plan "
                   "within the tolerance makes it")
    elif at_most <= tol:
        row.update(firmness="open", proven=True,
                   note=f"{beyond}not making it {phrase}: a plan within {tolerance} does "
                   "without it")
    else:
        how = (r.error or f"no plan found ({r.termination})") if not r.planned else \
            f"re-solve stopped ({r.termination})"
        row.update(firmness="open", proven=False,
                   note=f"{beyond}not proven: not making it {phrase}, around {tolerance}; {how}")
    return row


def _window_end(ctx: Context, r: Resolved | None, s: int, latest: bool) -> tuple[int, int, str]:
    """(quarter found, quarter the bound allows, note) of one end of site s's window; the
    plan's own first start when the re-solve found nothing better."""
    horizon = ctx.econ.horizon
    plan_t = ctx.first_start[s]
    extreme = horizon - 1 if latest else 0
    if r is None:
        return plan_t, extreme, "not measured (the phase's time budget)"
    if not r.planned:
        note = r.error or f"re-solve found no plan ({r.termination})"
        bound_t = extreme
    else:
        note = ""
    found = plan_t
    if r.planned:
        t = first_start_quarter(horizon, -r.objective if latest else r.objective)
        found = max(t, plan_t) if latest else min(t, plan_t)
    if math.isfinite(r.bound):
        if latest:  # -sum b <= bound: sum b >= ceil(-bound)
            bound_t = first_start_quarter(horizon, math.ceil(-r.bound - 1e-6))
        else:  # sum b <= floor(bound)
            bound_t = first_start_quarter(horizon, math.floor(r.bound + 1e-6))
    elif r.planned:
        bound_t = extreme
    bound_t = max(bound_t, found) if latest else min(bound_t, found)
    if bound_t != found and not note:
        labels = ctx.plan.portfolio.quarter_labels
        note = (f"not proven: the re-solve stopped ({r.termination}) with {labels[found]} "
                f"found and {labels[bound_t]} not ruled out by its bound, "
                f"{abs(found - bound_t)} quarter(s) apart")
    return found, bound_t, note


def windows_frame(ctx: Context, sites: Sequence[int],
                  results: dict[tuple[str, object], Resolved]) -> pd.DataFrame:
    """The timing windows (`WINDOW_COLUMNS`): one row per site of `sites`, from its earliest
    and latest re-solves."""
    pf = ctx.plan.portfolio
    labels, names = pf.quarter_labels, pf.site_names
    rows = []
    for s in sites:
        early, early_bound, early_note = _window_end(ctx, results.get(("earliest", s)), s,
                                                     latest=False)
        late, late_bound, late_note = _window_end(ctx, results.get(("latest", s)), s,
                                                  latest=True)
        notes = [f"earliest: {early_note}" if early_note else "",
                 f"latest: {late_note}" if late_note else ""]
        rows.append({"site": names[s], "plan_first_start": labels[ctx.first_start[s]],
                     "earliest_first_start": labels[early],
                     "earliest_no_sooner_than": labels[early_bound],
                     "latest_first_start": labels[late],
                     "latest_no_later_than": labels[late_bound],
                     "window_quarters": late - early,
                     "proven": early == early_bound and late == late_bound,
                     "note": "; ".join(n for n in notes if n)})
    return pd.DataFrame(rows, columns=WINDOW_COLUMNS)
