"""Quarterly re-planning aids: roll-forward against a baseline, "why not?", value of timing.

Everything here runs after `optimize` and adds plain DataFrames to the Plan (`Plan.why_not`,
`Plan.timing_value`, `Plan.baseline_changes`, `Plan.baseline_metrics`) for the report.

Roll-forward (`sitepivot plan NEW.xlsx --baseline OLD_REPORT.xlsx`): the baseline's starts
before the new start quarter are locked as commitments (`report.commitments_from_report`),
the baseline's decisions are the MIP start, and the new plan is compared with the baseline
hall by hall (`compare.decision_changes`: kept, moved earlier / later, added, dropped; a locked
start says so in `note`), with both NPVs. The two NPVs are each discounted to their own start
quarter and cover their own horizon: the change mixes what moved with time passing (a
`sitepivot compare` bridge separates them).

Why not? For each site that converts nothing, in this order:
- `no halls`: the site has no halls to convert (Sites halls = 0);
- `not eligible`: no hall may start there within the horizon (options not allowed or excluded,
  earliest_start / not_before too late for the lead time);
- `blocked by power` / `blocked by cooling` / `blocked by power and cooling`: no candidate start
  fits even alone, with the site's power upgrade and every cooling module it may add;
- `unprofitable`: the best single hall (over options and start quarters, alone) is worth less
  than zero: its NPV less the after-tax mining margin its grid power displaces (only quarters of
  positive margin count: miners idle otherwise) less the upgrades it needs, bought just in time;
- `outcompeted`: the best hall is profitable alone but the plan uses the portfolio limits
  (budget, AI demand, hall starts) better elsewhere. The plan is re-solved with a `start`
  commitment of that hall. What forcing it costs is stated as sure as the re-solve proves it:
  `npv_lost_at_most_musd` = this plan's NPV less the forced plan's (the forced optimum is at
  least that plan), `npv_lost_at_least_musd` = this NPV less the forced solve's bound (or this
  plan's bound, if lower: forcing a hall never raises the optimum), and `npv_lost_musd`, the
  point, only when the forced re-solve is proven optimal (`cost_phrase` words it, the same on
  the console and in the WhyNot sheet). At most `WHY_NOT_MAX_SOLVES` sites are re-solved
  (largest best-hall NPV first), each with at most `WHY_NOT_SECONDS` seconds and, given a
  `budget`, all of them within it (`time_budgets` splits a `plan` run's time limit); the others
  say so. A forced plan that is infeasible gives `blocked by budget or portfolio limits`.

Value of timing: this plan's NPV beside the NPV of (every NPV here, in WhyNot's costs too, is
the one the plan maximises: the equity NPV under objective = equity_npv, as its bound is)
- `every profitable hall as early as possible`: commitments first, then every candidate hall
  whose NPV net of the mining it displaces is positive, earliest start quarter first (ties: most
  NPV per dollar of capex), placed while every constraint holds (the greedy machinery of
  `optimizer.solve.greedy`, upgrades bought just in time), mining dispatched optimally;
- `never convert (mining only)`: no halls but those committed, mining dispatched optimally;
- `simple ranking`: the greedy plan of `optimizer.solve.greedy` (when computed).
The difference between this plan and "as early as possible" is what choosing the timing is worth:
a point when the plan is proven optimal; otherwise a row `best possible (the solver's proven
bound)` says it is at least that difference and at most the bound's (`timing_worth`).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from models.decisions import Decisions
from models.economics import Economics, build_economics, displaced_mining_value, objective_npv
from models.errors import InfeasibleError, NoSolutionError
from models.portfolio import Portfolio
from models.quarters import add_quarters, quarter_ordinal
from optimizer.compare.compare import CHANGE_COLUMNS, as_mip_start, change_counts, decision_changes
from optimizer.compare.inputs import report_metrics
from optimizer.money import money
from optimizer.plan import DECISION_COLUMNS, Plan
from optimizer.progress import Reporter, reporter, reporting
from optimizer.reports.write import open_report, read_decisions
from optimizer.solve.greedy import GreedyState, commitments_placed, fill, finish, start_scores
from optimizer.status import Status

WHY_NOT_MAX_SOLVES = 3  # forced re-solves per plan, at most
WHY_NOT_SECONDS = 15.0  # time limit of each forced re-solve (never above the plan's own)
WHY_NOT_SHARE = 0.25  # of a `plan` run's time limit, the most the why-not re-solves take
MIN_RESOLVE_SECONDS = 1.0  # a forced re-solve with less time than this is not started
WHY_NOT_COLUMNS = ["site", "reason", "best_option", "best_start_quarter", "best_hall_npv_musd",
                   "forced_npv_musd", "npv_lost_musd", "npv_lost_at_least_musd",
                   "npv_lost_at_most_musd", "explanation"]
TIMING_COLUMNS = ["strategy", "npv_musd", "vs_this_plan_musd", "halls_converted", "note"]
BASELINE_CHANGE_COLUMNS = [*CHANGE_COLUMNS, "note"]
PORTFOLIO_LIMITS = ("budget", "AI demand", "hall starts", "mining floor")



def time_budgets(time_limit: float, why_not_solves: int = WHY_NOT_MAX_SOLVES
                 ) -> tuple[float, float]:
    """(solver seconds, why-not seconds) of a `plan` run whose whole time limit is `time_limit`:
    the why-not re-solves get WHY_NOT_SECONDS each and at most WHY_NOT_SHARE of the limit in
    all (none when `why_not_solves` is 0), the solver the rest. Reading, building and writing
    come on top (a few seconds, measured in the README)."""
    why = min(why_not_solves * WHY_NOT_SECONDS, WHY_NOT_SHARE * time_limit) \
        if why_not_solves > 0 else 0.0
    return time_limit - why, why


# ---- roll-forward ----------------------------------------------------------------------------
def baseline_start(baseline_path: Path) -> Plan:
    """The baseline report's decisions as a MIP start for `optimize`."""
    return as_mip_start(read_decisions(baseline_path).reset_index(drop=True))


def compare_with_baseline(plan: Plan, baseline_path: Path) -> None:
    """Fill `plan.baseline_changes` and `plan.baseline_metrics` from a baseline report."""
    baseline_path = Path(baseline_path)
    old = read_decisions(baseline_path).reset_index(drop=True)
    metrics = report_metrics(open_report(baseline_path), str(baseline_path))
    changes = decision_changes(old, plan.decisions)
    start = plan.portfolio.settings.start_quarter
    begun = [isinstance(q, str) and quarter_ordinal(q) < quarter_ordinal(start)
             for q in changes["old_start_quarter"]]
    changes["note"] = [f"begun before {start}: locked" if b else "" for b in begun]
    base_npv = float(metrics["npv_musd"])  # type: ignore[arg-type]  # report_metrics checked it
    counts = change_counts(changes)
    rows: list[tuple[str, object, str, str]] = [
        ("baseline_report", str(baseline_path), "", ""),
        ("baseline_start_quarter", metrics.get("start_quarter"), "quarter", ""),
        ("start_quarter", start, "quarter", ""),
        ("baseline_npv_musd", base_npv, "$M", "the baseline report's NPV, discounted to its "
         "own start quarter"),
        ("npv_musd", plan.npv_musd, "$M", "this plan's NPV"),
        ("npv_change_musd", plan.npv_musd - base_npv, "$M", "this plan less the baseline; "
         "mixes input changes with time passing (sitepivot compare separates them)"),
        *[(f"halls_{k.replace(' ', '_')}", v, "halls", "") for k, v in counts.items()],
        ("halls_locked", int(changes.loc[begun, "halls"].sum()) if any(begun) else 0, "halls",
         f"begun before {start}, locked as commitments"),
    ]
    plan.baseline_changes = changes[BASELINE_CHANGE_COLUMNS]
    plan.baseline_metrics = pd.DataFrame(rows, columns=["metric", "value", "unit", "note"])


# ---- why not? --------------------------------------------------------------------------------
def _latest(starts_site: np.ndarray, starts_online: np.ndarray, starts_tau: np.ndarray,
            site: int, by: int) -> int | None:
    """The latest-starting candidate of a site online by quarter `by`, or None."""
    ok = np.flatnonzero((starts_site == site) & (starts_online <= by))
    return int(ok[np.argmax(starts_tau[ok])]) if len(ok) else None


def single_hall_values(econ: Economics, s: int) -> pd.DataFrame:
    """Every in-horizon candidate start of site `s`, alone: does it fit (power, cooling, with
    upgrades), and its NPV net of displaced mining and of the upgrades it needs ($M).

    "Fits" is the rules layer's rows of the site (`Rules.rows` of `Rules.for_site`), nothing
    mined: power with the latest upgrade online by the start if the grid alone is short,
    cooling with enough of the latest modules online by the hall's first quarter (no more
    than the site may have) if its own cooling is short."""
    pf, rules = econ.portfolio, econ.rules
    site = rules.for_site(s)
    module_mw = float(rules.modules.site_mw[s])
    hall_at = np.flatnonzero(rules.halls.site == s)
    upgrade_at = np.flatnonzero(rules.upgrades.site == s)
    module_at = np.flatnonzero(rules.modules.site == s)
    halls, rows = econ.halls, []

    def broken(plan: Decisions, family: str) -> float:
        """How far the plan's worst row of `family` is past its limit (<= 0: it holds)."""
        excess = site.rows(site.usage(plan), (family,))[family].excess().values()
        return max(excess, default=0.0)

    for c in np.flatnonzero((halls.site == s) & (halls.tau >= 0)):
        tau, q0 = int(halls.tau[c]), int(halls.online[c])
        plan = site.zero_plan()
        plan.halls[np.searchsorted(hall_at, c)] = 1.0
        value, avail = float(halls.value[c]), float(site.limits.grid_mw[0])
        power_ok = broken(plan, "site_power") <= 1e-9
        k = _latest(econ.power.site, econ.power.online, econ.power.tau, s, tau)
        if not power_ok and k is not None:
            plan.upgrades[np.searchsorted(upgrade_at, k)] = 1.0
            if broken(plan, "site_power") <= 1e-9:
                power_ok, avail = True, avail + float(rules.upgrades.mw[k])
                value += float(econ.power.value[k])
        short = broken(plan, "site_cooling")
        cooling_ok = short <= 1e-9
        k = _latest(econ.cooling.site, econ.cooling.online, econ.cooling.tau, s, q0)
        if not cooling_ok and module_mw > 0 and k is not None:
            n = math.ceil(short / module_mw - 1e-9)
            plan.modules[np.searchsorted(module_at, k)] = n
            if broken(plan, "cooling_module_limit") <= 1e-9:
                cooling_ok = True
                value += n * float(econ.cooling.value[k])
        displaced = float(displaced_mining_value(econ, np.array([c]), np.array([avail]))[0])
        rows.append({"candidate": int(c), "option": pf.option_names[int(halls.option[c])],
                     "tau": tau, "power_ok": power_ok, "cooling_ok": cooling_ok,
                     "net_musd": value - displaced, "hall_musd": float(halls.value[c]),
                     "displaced_musd": displaced,
                     "need_power_mw": float(rules.halls.grid_mw[c]),
                     "need_cooling_mw": float(rules.halls.cooling_mw[c])})
    return pd.DataFrame(rows)


def _blocked(site: pd.Series, cands: pd.DataFrame) -> tuple[str, str]:
    """Reason and explanation for a site where no candidate fits alone."""
    grid = f"{site['grid_mw']:,.0f} MW grid"
    if pd.notna(site["power_upgrade_mw"]):
        grid += f" (+{site['power_upgrade_mw']:,.0f} MW upgrade)"
    cooling = f"{site['cooling_mw']:,.0f} MW cooling"
    if pd.notna(site["cooling_module_mw"]) and site["max_cooling_modules"] > 0:
        cooling += (f" (+ up to {int(site['max_cooling_modules'])} modules of "
                    f"{site['cooling_module_mw']:,.0f} MW)")
    need_p, need_c = cands["need_power_mw"].min(), cands["need_cooling_mw"].min()
    if not cands["power_ok"].any():
        return "blocked by power", (f"a hall needs at least {need_p:,.0f} MW of grid power; "
                                    f"the site has {grid}, online in time")
    if not cands["cooling_ok"].any():
        return "blocked by cooling", (f"a hall needs at least {need_c:,.0f} MW of cooling; "
                                      f"the site has {cooling}, online in time")
    return "blocked by power and cooling", (f"no start quarter gives both the power "
                                            f"({grid}) and the cooling ({cooling}) a hall needs")


def _quarter(pf: Portfolio, cand: pd.Series) -> str:
    return add_quarters(pf.settings.start_quarter, int(cand["tau"]))


def _describe(pf: Portfolio, cand: pd.Series) -> str:
    """`best single hall: dlc from 2027Q1, NPV $67.1M less $9.4M of mining displaced =
    $57.7M`."""

    upgrades = abs(cand["net_musd"] + cand["displaced_musd"] - cand["hall_musd"]) > 1e-9
    return (f"best single hall: {cand['option']} from {_quarter(pf, cand)}, NPV "
            f"{money(cand['hall_musd'])} less {money(cand['displaced_musd'])} of mining "
            "displaced" + (" and its upgrades" if upgrades else "")
            + f" = {money(cand['net_musd'])}")


def _fits_beside_commitments(econ: Economics, cand: int) -> bool:
    """One hall of candidate `cand` can be added to the committed halls without breaking a
    limit (site power and cooling with just-in-time upgrades, budget, demand, starts, floor)."""
    return commitments_placed(econ).place(cand, 1)


def why_not(plan: Plan, *, max_solves: int = WHY_NOT_MAX_SOLVES,
            seconds: float = WHY_NOT_SECONDS, budget: float | None = None,
            progress: Reporter | None = None) -> pd.DataFrame:
    """One row per site converting nothing: why (see the module docstring). Columns:
    `WHY_NOT_COLUMNS`. `seconds`: the most each forced re-solve takes; `budget`: the most the
    re-solves take in all (None: no budget). Both are effort seconds (`optimizer.solve.options`):
    how many sites are re-solved and how long each runs never depends on the wall clock, so the
    rows are the same on any machine load."""
    pf = plan.portfolio
    econ = build_economics(pf)
    converted = set(plan.decisions["site"]) if len(plan.decisions) else set()
    c = plan.constraints
    limits = sorted(set(c.loc[c["binding"].fillna(False).astype(bool)
                              & c["family"].isin(PORTFOLIO_LIMITS), "family"]))
    rows: list[dict[str, object]] = []
    to_force: list[tuple[int, dict[str, object], int]] = []
    for s, name in enumerate(pf.site_names):
        if name in converted:
            continue
        site = pf.sites.iloc[s]
        row: dict[str, object] = dict.fromkeys(WHY_NOT_COLUMNS)
        row["site"] = name
        rows.append(row)
        if int(site["halls"]) == 0:
            row.update(reason="no halls", explanation="the site has no halls to convert "
                       "(Sites halls = 0)")
            continue
        cands = single_hall_values(econ, s)
        if not len(cands):
            row.update(reason="not eligible", explanation="no hall can start here and be "
                       "online within the horizon (options not allowed or excluded, or "
                       "earliest_start / not_before too late for the lead time)")
            continue
        fits = cands[cands["power_ok"] & cands["cooling_ok"]]
        if not len(fits):
            reason, text = _blocked(site, cands)
            row.update(reason=reason, explanation=text)
            continue
        ranked = fits.sort_values("net_musd", ascending=False, kind="stable")
        best = ranked.iloc[0]
        if best["net_musd"] < 0:
            row.update(best_option=best["option"], best_hall_npv_musd=float(best["net_musd"]),
                       best_start_quarter=_quarter(pf, best), reason="unprofitable",
                       explanation=_describe(pf, best))
            continue
        # The hall to force: the best profitable one that fits beside the commitments within
        # the portfolio limits (a forced start that cannot would only prove infeasibility).
        placeable = [r for _, r in ranked[ranked["net_musd"] >= 0].iterrows()
                     if _fits_beside_commitments(econ, int(r["candidate"]))]
        if not placeable:
            row.update(best_option=best["option"], best_hall_npv_musd=float(best["net_musd"]),
                       best_start_quarter=_quarter(pf, best),
                       reason="blocked by budget or portfolio limits",
                       explanation=_describe(pf, best) + "; no profitable start of a hall here "
                       "fits beside the commitments within the budget, AI demand and "
                       "hall-start limits")
            continue
        chosen = placeable[0]
        detail = _describe(pf, chosen)
        if chosen["candidate"] != best["candidate"]:
            detail = (f"its best hall alone ({best['option']} from {_quarter(pf, best)}, "
                      f"{money(best['net_musd'])}) does not fit beside the commitments; "
                      f"the best that does: " + detail)
        row.update(best_option=chosen["option"], best_start_quarter=_quarter(pf, chosen),
                   best_hall_npv_musd=float(chosen["net_musd"]))
        row.update(reason="outcompeted" + (f" for {' and '.join(limits)}" if limits else ""),
                   explanation=detail + "; " + (
                       f"the plan uses the {', '.join(limits)} limit(s) better elsewhere"
                       if limits else "no portfolio limit binds: within the solver's gap"))
        to_force.append((s, row, int(chosen["candidate"])))
    # Every row queued was given its best_hall_npv_musd as a float just above.
    to_force.sort(key=lambda item: -cast(float, item[1]["best_hall_npv_musd"]))
    limit = min(seconds, pf.settings.time_limit_s)
    n_solves = min(max_solves, len(to_force))
    if budget is not None:  # as many as fit the budget with at least MIN_RESOLVE_SECONDS each,
        # an equal share each
        n_solves = min(n_solves, max(0, int(budget // MIN_RESOLVE_SECONDS)))
        limit = min(limit, budget / max(1, n_solves))
    for i, (_s, row, cand) in enumerate(to_force):
        if i >= max_solves:
            row["explanation"] = f"{row['explanation']}; not re-solved (at most {max_solves} " \
                                 "forced re-solves per plan)"
            continue
        if i >= n_solves:
            row["explanation"] = (f"{row['explanation']}; not re-solved (the why-not "
                                  f"budget of {budget:g} s was spent)")
            continue
        if progress:
            progress.begin(f"why not {row['site']} (its best hall forced, {i + 1}/{n_solves})",
                           limit)
        _force(plan, econ, row, cand, limit, progress)
    return pd.DataFrame(rows, columns=WHY_NOT_COLUMNS)


# A cost smaller than this ($M) prints as $0.0M: it is said as "costs nothing".
NOTHING_MUSD = 0.05


def cost_phrase(at_least: float | None, at_most: float | None, point: float | None) -> str:
    """What forcing a hall costs, as sure as the re-solve proved it: `costs $19.5M` (proven
    optimal), `costs at least $12.0M, at most $79.3M` (stopped by its effort), `costs at
    most $79.3M; it is not proven to cost anything` (its bound allows no loss), or `gives a
    plan $3.1M better than this one` (the forced plan is better: this plan was not optimal), or
    `costs nothing: another plan is as good` (within half the last shown digit, $0.05M)."""
    from optimizer.money import money

    if point is not None and math.isfinite(point):
        if abs(point) < NOTHING_MUSD:
            return "costs nothing: another plan is as good"
        if point < 0:
            return f"gives a plan {money(-point)} better than this one"
        return f"costs {money(point)}"
    if at_most is None or not math.isfinite(at_most):
        return "costs an unknown amount"
    if at_most <= -NOTHING_MUSD:
        return f"gives a plan {money(-at_most)} better than this one"
    if at_most < NOTHING_MUSD:
        return "costs nothing: another plan is as good"
    if at_least is not None and math.isfinite(at_least) and at_least > 0:
        return f"costs at least {money(at_least)}, at most {money(at_most)}"
    return f"costs at most {money(at_most)}; it is not proven to cost anything"


def _force(plan: Plan, econ: Economics, row: dict[str, object], cand: int,
           seconds: float, progress: Reporter | None = None) -> None:
    """Re-solve with one hall of candidate `cand` committed, HiGHS for at most `seconds`
    (effort seconds); record what forcing it costs in `row`."""
    from optimizer.solve.optimize import optimize

    pf = plan.portfolio
    option = pf.option_names[int(econ.halls.option[cand])]
    quarter = add_quarters(pf.settings.start_quarter, int(econ.halls.tau[cand]))
    forced = {"site": row["site"], "option": option, "quarter": quarter, "halls": 1.0,
              "action": "start"}
    added = pd.DataFrame([forced]).reindex(columns=pf.commitments.columns)
    commitments = (pd.concat([pf.commitments, added], ignore_index=True)
                   if len(pf.commitments) else added)
    hall = pd.DataFrame([{"site": row["site"], "option": option, "start_quarter": quarter,
                          "halls": 1}]).reindex(columns=DECISION_COLUMNS)
    start = pd.concat([plan.decisions, hall], ignore_index=True) if len(plan.decisions) else hall
    try:
        result = optimize(pf.replace(commitments=commitments), time_limit=seconds,
                          mip_gap=plan.mip_gap_requested, mip_start=as_mip_start(start),
                          with_greedy=False,
                          on_progress=progress.solver if progress is not None else None)
    except InfeasibleError as err:
        row.update(reason="blocked by budget or portfolio limits",
                   explanation=f"{row['explanation']}; forcing that hall makes the plan "
                   f"infeasible: {err.explanation[0] if err.explanation else err}")
        return
    except NoSolutionError:
        row["explanation"] = (f"{row['explanation']}; the forced re-solve found no plan in "
                              f"{seconds:.3g} s of effort")
        return
    # In the objective's NPV (the equity NPV under objective = equity_npv), which the bounds
    # bound and the forced re-solve maximises.
    at_most = plan.objective_npv_musd - result.objective_npv_musd
    bounds = [b for b in (result.bound_musd, plan.bound_musd) if math.isfinite(b)]
    at_least = plan.objective_npv_musd - min(bounds) if bounds else None
    proven = result.status == Status.OPTIMAL
    row.update(forced_npv_musd=result.objective_npv_musd, npv_lost_musd=at_most if proven else None,
               npv_lost_at_least_musd=at_least, npv_lost_at_most_musd=at_most)
    if proven:
        row["explanation"] = (f"{row['explanation']}; forcing it costs {money(at_most)} of NPV "
                              "(forced re-solve optimal)")
    else:
        row["explanation"] = (f"{row['explanation']}; forcing it "
                              f"{cost_phrase(at_least, at_most, None)} (forced re-solve stopped "
                              f"at its effort of {result.effort_s:.3g} s, gap "
                              f"{result.gap:.2%})")


# ---- value of timing -------------------------------------------------------------------------
def _value(econ: Economics, state: GreedyState) -> tuple[float, int]:
    """The objective's NPV and the halls of a greedy state, mining dispatched; NaN if it
    breaks a limit."""
    plan = finish(econ, state)
    value = float("nan") if plan is None else objective_npv(econ, plan.valuation)
    return value, int(state.halls.sum())


def earliest_and_never(econ: Economics) -> tuple[tuple[float, int], tuple[float, int]]:
    """(NPV, halls) of "every profitable hall as early as possible" and of "never convert"."""
    never = _value(econ, commitments_placed(econ))
    score = start_scores(econ)
    order = sorted((int(c) for c in np.flatnonzero((score > 0) & (econ.halls.tau >= 0))),
                   key=lambda c: (int(econ.halls.tau[c]), -float(score[c])))
    return _value(econ, fill(commitments_placed(econ), order)), never


def timing_value(plan: Plan) -> pd.DataFrame:
    """This plan beside simple timings (see the module docstring). Columns: `TIMING_COLUMNS`."""
    econ = build_economics(plan.portfolio)
    (early, early_halls), (never, never_halls) = earliest_and_never(econ)
    committed = " (committed halls only)" if never_halls else ""
    rows: list[tuple[str, float, int | None, str]] = [
        ("this plan (timing optimised)", plan.objective_npv_musd, plan.halls_converted,
         "the optimiser chooses where, what and when")]
    if plan.greedy_objective_musd is not None:
        rows.append(("simple ranking", plan.greedy_objective_musd, plan.greedy_halls,
                     "halls ranked by NPV per dollar of capex, placed while limits hold"))
    rows += [("every profitable hall as early as possible", early, early_halls,
              "each hall worth more than the mining it displaces, started at the first quarter "
              "the limits allow" + ("" if math.isfinite(early) else "; breaks a limit")),
             ("never convert (mining only)", never, never_halls,
              "keep mining" + committed + ("" if math.isfinite(never) else
                                           "; the commitments break a limit")
              + ("; Summary's conversion_npv_musd measures against the portfolio never "
                 "converted without these committed halls (mining_only)" if never_halls
                 else "; the baseline of Summary's conversion_npv_musd"))]
    if plan.status != Status.OPTIMAL and math.isfinite(plan.bound_musd):
        rows.append(("best possible (the solver's proven bound)", plan.bound_musd, None,
                     timing_worth(plan, early)))
    frame = pd.DataFrame(rows, columns=["strategy", "npv_musd", "halls_converted", "note"])
    frame["vs_this_plan_musd"] = frame["npv_musd"] - plan.objective_npv_musd
    return frame[TIMING_COLUMNS]


def timing_worth(plan: Plan, early: float) -> str:
    """What choosing the timing is worth over "as early as possible", as sure as the solve
    proved it: a point for an optimal plan, else at least (this plan less early) and at most
    (the proven bound less early)."""
    from optimizer.money import money

    if not math.isfinite(early):
        return "no plan can be worth more than this"
    low = plan.objective_npv_musd - early
    if plan.status == Status.OPTIMAL or not math.isfinite(plan.bound_musd):
        return f"choosing the timing is worth {money(low)} over as early as possible"
    return (f"no plan can be worth more; this plan stopped before proving its gap, so choosing the "
            f"timing is worth at least {money(low)}, at most {money(plan.bound_musd - early)} "
            "over as early as possible")


# ---- all of it -------------------------------------------------------------------------------
def explain_plan(plan: Plan, *, baseline: Path | None = None,
                 why_not_solves: int = WHY_NOT_MAX_SOLVES,
                 why_not_seconds: float = WHY_NOT_SECONDS, budget: float | None = None,
                 progress: bool | str | Reporter | None = None) -> Plan:
    """Add why-not, value of timing and (with a baseline report) the changes to `plan`; the
    time taken is `plan.timings["explain"]`. `budget`: the most the why-not re-solves take in
    all (see `time_budgets`; None: each takes up to `why_not_seconds`). `progress`: True (or
    "bar"/"lines") shows what `sitepivot plan` shows on stderr, as one phase "value of timing
    and why not" and one per re-solve; a Reporter (a `Console`) gets one phase per re-solve;
    None/False nothing."""
    if isinstance(progress, bool | str):
        shown = reporter(progress)
        if shown is not None:
            with reporting(shown, "value of timing and why not", budget):
                return explain_plan(plan, baseline=baseline, why_not_solves=why_not_solves,
                                    why_not_seconds=why_not_seconds, budget=budget,
                                    progress=shown)
        progress = None
    clock = time.perf_counter()
    plan.timing_value = timing_value(plan)
    plan.why_not = why_not(plan, max_solves=why_not_solves, seconds=why_not_seconds,
                           budget=budget, progress=progress)
    if baseline is not None:
        compare_with_baseline(plan, baseline)
    plan.timings["explain"] = time.perf_counter() - clock
    return plan


def explanation_text(plan: Plan) -> str:
    """For the terminal: NPV against the baseline, value of timing, why sites stay mining."""
    from optimizer.money import money

    out: list[str] = []
    if plan.baseline_metrics is not None and plan.baseline_changes is not None:
        m = dict(zip(plan.baseline_metrics["metric"], plan.baseline_metrics["value"],
                     strict=True))
        counts = change_counts(plan.baseline_changes)
        out += [f"Against the baseline ({m['baseline_report']}): NPV "
                f"{money(m['baseline_npv_musd'])} -> {money(plan.npv_musd)} "
                f"({money(m['npv_change_musd'])}); halls "
                + ", ".join(f"{k} {v}" for k, v in counts.items()), ""]
    if plan.timing_value is not None:
        out.append("Value of timing:")
        out += [f"  {r.strategy:<44} {money(r.npv_musd):>12}  ({money(r.vs_this_plan_musd)})"
                for r in plan.timing_value.itertuples(index=False)]
        bound = plan.timing_value["strategy"].str.startswith("best possible")
        out += [f"  ({note})" for note in plan.timing_value.loc[bound, "note"]]
    if plan.why_not is not None and len(plan.why_not):
        out += ["", "Sites converting nothing:"]
        out += [f"  {r.site}: {r.reason}" + (
            ", forcing its best hall " + cost_phrase(_num(r.npv_lost_at_least_musd),
                                                     _num(r.npv_lost_at_most_musd),
                                                     _num(r.npv_lost_musd))
            if pd.notna(r.npv_lost_at_most_musd) else "")
            for r in plan.why_not.itertuples(index=False)]
    return "\n".join(out)


def _num(value: object) -> float | None:
    """A frame cell as a float, None when blank."""
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]
