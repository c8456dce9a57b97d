"""Assembling a robust run's answer: the `RobustPlan` from the method's first stage and the
results of every future (RP, EEV, WS, VSS, EVPI, the distribution, the frames of the report).

Every number is in $M. Each future's plans are pooled first (`_pool_known_plans`): the
sub-problems stop at a gap, so two solves of one problem can end at different plans.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from models.economics import build_economics
from models.portfolio import Portfolio
from models.quarters import add_quarters
from models.robust import FirstKey, cvar, quantile
from optimizer.plan import DECISION_COLUMNS, UPGRADE_COLUMNS, Plan
from optimizer.robust.futures import Future
from optimizer.robust.methods import MethodAnswer, MethodContext
from optimizer.robust.plan import (
    DISTRIBUTION_COLUMNS,
    SCENARIO_COLUMNS,
    SUMMARY_COLUMNS,
    RobustPlan,
)
from optimizer.robust.recourse import RecourseResult
from optimizer.robust.report import account_lines, summary_frame
from optimizer.robust.subproblems import frozen_first_stage, robust_objective, values_of
from optimizer.solve.frames import decision_rows, upgrade_rows
from optimizer.solve.highs import relative_gap
from optimizer.status import Status, has_plan


def assemble(portfolio: Portfolio, context: MethodContext, answer: MethodAnswer, method: str,
             deterministic: Plan, oos: pd.DataFrame | None, timings: dict[str, float]
             ) -> RobustPlan:
    """The RobustPlan of one run: each future's best known plans pooled (`_pool_known_plans`),
    RP, EEV and WS with their bounds, VSS and EVPI, the frames of the report, its Summary and
    account (`optimizer.robust.report`). `answer` is the method's (`optimizer.robust.methods`);
    the run's settings, budget and cut-short solves are the context's runner's."""
    cases, weights, k = context.cases, context.weights, context.commit_quarters
    risk_weight, cvar_level = context.risk_weight, context.cvar_level
    mip_gap, det_first = context.runner.mip_gap, context.det_first
    best_first, ef_bound = answer.first, answer.bound

    def objective(values: np.ndarray) -> float:
        return robust_objective(values, weights, risk_weight, cvar_level)

    best, eev, ws = _pool_known_plans(best_first, det_first, answer.results, context.eev,
                                      context.wait_and_see)
    rp_values, rp_bounds = values_of(best), values_of(best, "bound")
    eev_values, eev_bounds = values_of(eev), values_of(eev, "bound")
    ws_values, ws_bounds = values_of(ws), values_of(ws, "bound")
    rp = objective(rp_values)
    ws_value, ws_bound = objective(ws_values), objective(ws_bounds)
    eev_value, eev_bound = objective(eev_values), objective(eev_bounds)
    # Valid upper bounds on RP: the extensive form's, and wait-and-see's (each future's NPV
    # under any first stage is at most its own bound, and the objective is monotone).
    bound = float(np.nanmin([ef_bound, ws_bound]))
    bound = max(bound, rp)
    gap = relative_gap(rp, bound)
    status = "optimal" if gap <= mip_gap + 1e-9 else "feasible"
    vss = rp - eev_value
    vss_low = rp - eev_bound  # the deterministic first stage can do at most eev_bound
    evpi, evpi_high = ws_value - rp, ws_bound - rp
    significant = bool(vss_low > 0)
    scen = _scenarios_frame(cases, weights, best, eev, ws)
    dist = _distribution(weights, cvar_level, rp_values, rp_bounds, eev_values, eev_bounds)
    first_decisions, first_upgrades = _first_stage_frames(cases, weights, best_first)
    det_decisions, det_upgrades = _first_stage_frames(cases, weights, det_first)
    plan = RobustPlan(
        portfolio=portfolio, status=status, method=method, commit_quarters=k,
        risk_weight=risk_weight, cvar_level=cvar_level, objective_musd=rp, bound_musd=bound,
        gap=gap, expected_npv_musd=float(weights @ rp_values),
        cvar_npv_musd=cvar(rp_values, weights, cvar_level), eev_musd=eev_value,
        eev_bound_musd=eev_bound, wait_and_see_musd=ws_value, wait_and_see_bound_musd=ws_bound,
        vss_musd=vss, vss_low_musd=vss_low, vss_significant=significant, evpi_musd=evpi,
        evpi_high_musd=evpi_high, mip_gap_requested=mip_gap, first_stage=best_first,
        deterministic_first_stage=det_first, summary=pd.DataFrame(columns=SUMMARY_COLUMNS),
        first_stage_decisions=first_decisions, first_stage_upgrades=first_upgrades,
        deterministic_decisions=det_decisions, deterministic_upgrades=det_upgrades,
        scenarios=scen, stability=_stability(portfolio, cases, weights, best),
        distribution=dist, out_of_sample=oos, account=[], deterministic=deterministic,
        robust_results=list(best), deterministic_results=list(eev),
        wait_and_see_results=list(ws), timings=timings,
        warnings=list(portfolio.warnings), log=answer.log,
        budget=context.runner.budget, capped=context.runner.capped)
    plan.summary = summary_frame(plan)
    plan.account = account_lines(plan)
    return plan


def _pool_known_plans(best_first: dict[FirstKey, float], det_first: dict[FirstKey, float],
                      best: list[RecourseResult], eev: list[RecourseResult],
                      ws: list[RecourseResult]
                      ) -> tuple[list[RecourseResult], list[RecourseResult], list[RecourseResult]]:
    """Each future's best known plan for each problem, from every solve of that future.

    The sub-problems stop at a gap, so two solves of one problem can end at different plans:
    - any plan of a future is a plan of its wait-and-see problem, so WS_i is at least the robust
      and the deterministic first stage's NPV there (else EVPI could come out negative);
    - when the robust first stage is the deterministic one, RP_i and EEV_i are one problem:
      both take the better plan and the smaller bound (else VSS would not be exactly 0).
    Bounds stay each problem's own: a restricted problem's bound does not bound WS_i."""
    def better(a: RecourseResult, b: RecourseResult, bound: float) -> RecourseResult:
        top = b if has_plan(b.status) and not (has_plan(a.status) and a.npv >= b.npv) else a
        if top is a and bound == a.bound:
            return a
        return dataclasses.replace(top, scenario=a.scenario, label=a.label, bound=bound,
                                   status=a.status if has_plan(a.status) else Status.FEASIBLE,
                                   gap=relative_gap(top.npv, bound))

    if frozen_first_stage(best_first) == frozen_first_stage(det_first):
        pooled = []
        for r, d in zip(best, eev, strict=True):
            bound = float(np.fmin(r.bound, d.bound))
            pooled.append(better(r, d, bound))
        best, eev = pooled, [dataclasses.replace(p, label=d.label)
                             for p, d in zip(pooled, eev, strict=True)]
    ws = [better(better(w, r, w.bound), d, w.bound)
          for w, r, d in zip(ws, best, eev, strict=True)]
    return best, eev, ws


def _scenarios_frame(cases: Sequence[Future], weights: np.ndarray, best: list[RecourseResult],
                     eev: list[RecourseResult], ws: list[RecourseResult]) -> pd.DataFrame:
    rows = []
    for i, case in enumerate(cases):
        r, d, w = best[i], eev[i], ws[i]
        rows.append({
            "scenario": case.name, "weight": float(weights[i]), "changes": case.changes,
            "npv_robust_musd": r.npv, "npv_deterministic_musd": d.npv,
            "npv_wait_and_see_musd": w.npv, "robust_minus_deterministic_musd": r.npv - d.npv,
            "status_robust": r.status, "gap_robust": r.gap, "status_deterministic": d.status,
            "gap_deterministic": d.gap, "status_wait_and_see": w.status,
            "gap_wait_and_see": w.gap,
            "first_stage_halls": int(sum(v for key, v in r.first_stage if key[0] == "hall")),
            "message": "; ".join(m for m in (r.message, d.message) if m)[:500]})
    frame = pd.DataFrame(rows, columns=SCENARIO_COLUMNS)
    return frame.replace([np.inf, -np.inf], np.nan)  # infeasible: blank, with its status


def _distribution(weights: np.ndarray, level: float, rp: np.ndarray, rp_bound: np.ndarray,
                  det: np.ndarray, det_bound: np.ndarray) -> pd.DataFrame:
    """Mean, P10, P50, P90 and CVaR of NPV under each first stage, each with the same measure
    of the per-future upper bounds (every measure is monotone, so it bounds the value) and the
    difference as its gap. A first stage infeasible in some future has an infinite tail."""
    rows = []
    for label, values, bounds in (("robust", rp, rp_bound), ("deterministic", det, det_bound)):
        measures = {"mean": lambda v: float(weights @ v),
                    "p10": lambda v: quantile(v, weights, 0.1),
                    "p50": lambda v: quantile(v, weights, 0.5),
                    "p90": lambda v: quantile(v, weights, 0.9),
                    f"cvar_{level:g}": lambda v: cvar(v, weights, level)}
        for name, f in measures.items():
            with np.errstate(invalid="ignore"):
                value, bound = f(values), f(bounds)
            rows.append({"first_stage": label, "measure": name, "value_musd": value,
                         "bound_musd": bound, "gap_musd": bound - value
                         if math.isfinite(value) and math.isfinite(bound) else math.nan})
    return pd.DataFrame(rows, columns=DISTRIBUTION_COLUMNS)


def _first_stage_frames(cases: Sequence[Future], weights: np.ndarray,
                        first: dict[FirstKey, float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The first stage as Decisions and Upgrades rows, valued over the futures (a capex, lease
    or financing draw changes each start's figures): capex and NPV are the weighted means,
    `irr` the weighted mean of the futures in which the start has one, `payback_quarter` the
    weighted median quarter (the lower one at a tie; blank when it never pays back in half of
    the futures or more)."""
    halls: list[pd.DataFrame] = []
    upgrades: list[pd.DataFrame] = []
    for case, w in zip(cases, weights, strict=True):
        econ = build_economics(case.portfolio)
        keys = econ.candidate_index().by_key
        h, c, p = (np.zeros(len(econ.halls)), np.zeros(len(econ.cooling)),
                   np.zeros(len(econ.power)))
        for key, v in first.items():
            kind, index = keys[key]
            {"hall": h, "cooling": c, "power": p}[kind][index] = v
        d, u = decision_rows(econ, h), upgrade_rows(econ, c, p)
        d["weight"] = w
        u["capex_musd"] *= w
        halls.append(d)
        upgrades.append(u)
    hall_keys = ["site", "option", "start_quarter", "halls", "it_mw", "online_quarter"]
    dec = pd.concat(halls).groupby(hall_keys, sort=False).apply(
        _over_futures, include_groups=False).reset_index()
    upg = pd.concat(upgrades).groupby(["site", "kind", "start_quarter", "units", "mw",
                                       "online_quarter"], as_index=False, sort=False).sum()
    dec = dec[DECISION_COLUMNS].sort_values(["start_quarter", "site", "option"],
                                            ignore_index=True)
    upg = upg[UPGRADE_COLUMNS].sort_values(["start_quarter", "site", "kind"], ignore_index=True)
    return dec, upg


def _over_futures(rows: pd.DataFrame) -> pd.Series:
    """One start's Decisions figures over the futures (rows: one per future, with `weight`)."""
    w = rows["weight"].to_numpy(float)
    irr = rows["irr"].to_numpy(float) if "irr" in rows else np.array([np.nan])
    has_irr = np.isfinite(irr)
    out = {"capex_musd": float(w @ rows["capex_musd"].to_numpy(float)) / w.sum(),
           "npv_musd": float(w @ rows["npv_musd"].to_numpy(float)) / w.sum(),
           "irr": (float(w[has_irr] @ irr[has_irr]) / w[has_irr].sum()
                   if has_irr.any() else np.nan),
           "payback_quarter": None}
    if "moic" in rows:  # weighted over the futures where it exists, as the IRR
        multiple = rows["moic"].to_numpy(float)
        has = np.isfinite(multiple)
        out["moic"] = float(w[has] @ multiple[has]) / w[has].sum() if has.any() else np.nan
    if "lease_signed" in rows:  # a commitment: the same in every future
        out["lease_signed"] = bool(rows["lease_signed"].astype(bool).any())
    if "payback_quarter" in rows:
        quarters = rows["payback_quarter"].tolist()
        order = sorted(range(len(quarters)),
                       key=lambda i: (quarters[i] is None or pd.isna(quarters[i]),
                                      str(quarters[i])))
        cumulative = np.cumsum(w[order]) / w.sum()
        median = quarters[order[int(np.searchsorted(cumulative, 0.5 - 1e-12))]]
        out["payback_quarter"] = None if median is None or pd.isna(median) else median
    return pd.Series(out)


def _stability(portfolio: Portfolio, cases: Sequence[Future], weights: np.ndarray,
               results: list[RecourseResult]) -> pd.DataFrame:
    """Site x year: weighted share of futures in which the robust plan has started a hall at
    the site by the end of that year (halls begun before the plan count from the start)."""
    start = portfolio.settings.start_quarter
    years = sorted({q[:4] for q in portfolio.quarter_labels})
    before = {row.site for row in portfolio.commitments.itertuples(index=False)
              if row.action == "start" and row.quarter and portfolio.t_of(row.quarter) < 0}
    share = np.zeros((len(portfolio.site_names), len(years)))
    for w, r in zip(weights, results, strict=True):
        first: dict[str, str] = {}
        for (kind, site, _option, tau), v in r.starts:
            if kind == "hall" and v > 0.5:
                q = add_quarters(start, tau)
                first[site] = min(first.get(site, q), q)
        for i, site in enumerate(portfolio.site_names):
            for j, year in enumerate(years):
                if site in before or (site in first and first[site][:4] <= year):
                    share[i, j] += w
    frame = pd.DataFrame(share, columns=[f"by_{y}_share" for y in years])
    frame.insert(0, "site", portfolio.site_names)
    return frame

