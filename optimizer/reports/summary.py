"""Plain-language accounts of a `Plan`: the headline metrics, a short narrative, terminal text.

The same `headline_metrics` rows feed the report's Summary sheet and the terminal, so the two
never disagree. Money is in $M, power in MW; quarters are labels such as `2027Q1`.

Rule for the solve outcome: a plan is called "optimal" only when `plan.status == "optimal"`;
a feasible plan stopped by a limit is described by why it stopped and how far from the best
possible it may be (its relative gap), never as optimal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

import pandas as pd

from models.portfolio import Settings
from optimizer.money import finite, money
from optimizer.plan import MINING_INCOME, Plan
from optimizer.status import Status


@dataclass(frozen=True)
class Metric:
    """One row of the Summary sheet: a stable machine name, its value, unit and a note."""

    metric: str
    value: object
    unit: str = ""
    note: str = ""


# What each solve method did, in words for the Summary sheet (optimizer.solve.optimize.METHODS).
METHOD_NOTES = {
    "monolithic": "the whole model solved by HiGHS",
    "neighbourhood": "HiGHS on the whole model until its bound stalled, then a few sites "
                     "re-optimised at a time, then HiGHS again from the best plan",
    "decomposition": "decomposition by site (site schedules priced against the budget and caps)",
}


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def percent(fraction: object) -> str:
    """A fraction as a short percentage: 0.001 -> `0.1%`, 0.0063 -> `0.63%`; `n/a` unless a
    finite number."""
    if not finite(fraction):
        return "n/a"
    return f"{fraction * 100:.2f}".rstrip("0").rstrip(".") + "%"


def end_quarter(plan: Plan) -> str:
    """The last quarter of the horizon."""
    return plan.portfolio.quarter_labels[-1]


def _end_capacity(plan: Plan) -> pd.DataFrame:
    cap = plan.capacity
    return cap[cap["quarter"] == end_quarter(plan)] if len(cap) else cap


def ai_it_mw_online_end(plan: Plan) -> float:
    """AI IT MW online, summed over sites, in the last quarter."""
    end = _end_capacity(plan)
    return float(end["ai_it_mw_online"].sum()) if len(end) else 0.0


def mining_mw_end(plan: Plan) -> float:
    """Miner MW running, summed over sites, in the last quarter."""
    end = _end_capacity(plan)
    return float(end["mining_mw"].sum()) if len(end) else 0.0


def capex_total_musd(plan: Plan) -> float:
    """Undiscounted capex of every hall and upgrade started in the plan ($M)."""
    return float(plan.cash_flows["capex_musd"].sum()) if len(plan.cash_flows) else 0.0


def effort_note(plan: Plan) -> str:
    """The effort row's note: the budget in HiGHS work units (at the plan's work units per
    effort second) and what was spent."""
    per_second = plan.work_units_per_effort_s
    if not (finite(plan.effort_s) and finite(per_second)):
        return "the solve's deterministic work budget"
    spent = (f"; spent {plan.effort_spent_s:,.1f} effort s" if finite(plan.effort_spent_s)
             else "")
    return (f"the solve's deterministic work budget: {plan.effort_s * per_second:,.0f} "
            f"HiGHS work units ({per_second:,.0f} an effort second, which takes about a "
            f"second on an idle machine like the one it was calibrated on){spent}")


def solve_outcome(plan: Plan) -> str:
    """How the solve ended, in words: optimal within its tolerance, or why it stopped and the gap.

    The tolerance named is the gap the solve was asked for (`Plan.mip_gap_requested`).
    """
    gap = plan.gap
    if plan.status == Status.OPTIMAL:
        tol = plan.mip_gap_requested
        text = f"optimal within {percent(tol)}" if tol > 0 else "optimal"
        if finite(gap) and gap > 0:
            text += f" (gap {percent(gap)})"
        return text
    if plan.status == Status.FEASIBLE:
        why = plan.termination.replace("_", " ")
        head = f"{why} reached" if why.endswith("limit") else f"solver stopped ({why})"
        if finite(gap):
            return f"{head}: best plan found is within {percent(gap)} of the best possible"
        return f"{head}: best plan found; its distance from the best possible is unknown"
    return f"no plan ({plan.status}, {plan.termination.replace('_', ' ')})"


MOVING = 0.10  # the bound "still moving": it closed at least this share of the gap in the
# last half of the solve (a share measured from HiGHS's own reports, `Plan.solver_trace`)


def next_step(plan: Plan, time_limit: float | None = None) -> str:
    """After a plan stopped by a limit, what would likely help, from what the solve measured
    ("" for an optimal plan). Over the last half of the solve time, from `Plan.solver_trace`:
    if the bound or the best plan closed at least MOVING of the gap, more time; if neither
    moved, more time is unlikely to help: accept the gap (--mip-gap) or try the other method.
    `time_limit`: the run's whole limit, doubled in the advice (default: the solver's).
    """
    if plan.status != "feasible" or not finite(plan.gap):
        return ""
    trace = [t for t in plan.solver_trace if math.isfinite(t[1]) and math.isfinite(t[2])]
    limit = plan.time_limit_s if finite(plan.time_limit_s) else plan.timings.get("solve")
    suggest = time_limit if time_limit is not None else limit
    head = (f"Next step: the plan is within {percent(plan.gap)} of the best possible "
            f"(asked: {percent(plan.mip_gap_requested)}).")
    accept = (f"To accept this plan as good enough, rerun with --mip-gap "
              f"{_round_up(plan.gap)}." if plan.gap < 0.5 else "")
    if not trace or not finite(limit):
        return f"{head} {accept}"
    end_s, end_bound, end_npv = trace[-1]
    half = max(end_s, float(limit or 0.0)) / 2
    earlier = [t for t in trace if t[0] <= half] or trace[:1]
    _, bound_then, npv_then = earlier[-1]
    gap_then = max(bound_then - npv_then, 1e-9)
    closed = ((bound_then - end_bound) + (end_npv - npv_then)) / gap_then
    if closed >= MOVING:
        return (f"{head} Over the last half of the solve it closed {closed:.0%} of the gap "
                f"(bound {money(bound_then - end_bound)} lower, plan {money(end_npv - npv_then)}"
                f" better): more time would likely help, e.g. --time-limit "
                f"{2 * suggest:g}. {accept}")  # type: ignore[operator]
    other = _other_method(plan)
    return (f"{head} Over the last half of the solve it closed only {closed:.0%} of the gap: "
            f"more time is unlikely to help much. {accept}"
            + (f" Or try {other}." if other else ""))


def _other_method(plan: Plan) -> str:
    """The method worth trying after a stalled solve: the one the solver recommends for the
    portfolio's size (`Plan.recommended_method`: decomposition from 100 sites; below, HiGHS
    with the neighbourhood search), or "" when the plan came from that one already."""
    return "" if plan.method == plan.recommended_method else f"--method {plan.recommended_method}"


def _round_up(gap: float) -> str:
    """A gap rounded up to two significant figures, as an option value: 0.01173 -> `0.012`."""
    digits = max(0, 1 - math.floor(math.log10(gap))) if gap > 0 else 3
    value = math.ceil(gap * 10 ** digits - 1e-9) / 10 ** digits  # 0.019000000001 is 0.019
    return f"{value:.{digits}f}"


def headline_metrics(plan: Plan) -> list[Metric]:
    """Every Summary row, in order. Names are a contract (other tools read them)."""
    pf, s = plan.portfolio, plan.portfolio.settings
    total_halls = int(pf.sites["halls"].sum()) if len(pf.sites) else 0
    solve_s = plan.timings.get("solve")
    return [
        Metric("npv_musd", plan.npv_musd, "$M", npv_note(s)),
        *deal_metrics(plan),
        Metric("status", plan.status, "", solve_outcome(plan)),
        Metric("termination", plan.termination, "", "why the solver stopped"),
        Metric("mip_gap", plan.gap, "fraction", "relative gap between the plan and the best bound"),
        Metric("best_bound_musd", plan.bound_musd, "$M",
               "no plan can exceed this NPV" if s.objective == "project_npv" else
               "no plan can exceed this equity NPV (the objective is equity_npv)"),
        Metric("greedy_npv_musd", plan.greedy_npv_musd, "$M",
               "NPV of converting sites by a simple ranking"),
        Metric("uplift_vs_greedy_musd", plan.uplift_vs_greedy_musd, "$M",
               "what optimising adds over the ranking"),
        Metric("halls_converted", plan.halls_converted, "halls", f"of {total_halls} available"),
        Metric("ai_it_mw_online_end", ai_it_mw_online_end(plan), "MW IT",
               f"in {end_quarter(plan)}"),
        Metric("mining_mw_end", mining_mw_end(plan), "MW", f"still mining in {end_quarter(plan)}"),
        Metric("capex_total_musd", capex_total_musd(plan), "$M", "halls and upgrades, "
               "undiscounted"),
        Metric("terminal_value_musd", plan.terminal_value_musd, "$M",
               f"discounted, included in NPV ({s.terminal_value})"),
        Metric("start_quarter", s.start_quarter, "quarter", ""),
        Metric("horizon_quarters", s.horizon_quarters, "quarters", f"to {end_quarter(plan)}"),
        Metric("discount_rate", s.discount_rate, "fraction",
               f"per year, cash flows at the {s.discounting} of each quarter"),
        Metric("solve_seconds", solve_s, "s", "solver time"),
        Metric("effort_seconds", plan.effort_s, "effort s", effort_note(plan)),
        Metric("reproducible", "yes" if plan.reproducible else "no", "",
               "the same workbook and settings give this same plan on any machine load"
               if plan.reproducible else
               "NOT reproducible: the wall-clock safety cap stopped a solve before its effort "
               "was spent (a very busy machine); rerun when it is less busy"),
        Metric("total_seconds", sum(plan.timings.values()) if plan.timings else None, "s",
               ", ".join(f"{k} {v:.2f}" for k, v in plan.timings.items())),
        Metric("method", plan.method, "", METHOD_NOTES.get(plan.method, "")),
        Metric("warnings", len(plan.warnings), "", "listed on the Log sheet"),
        Metric("input_file", pf.source, "", ""),
        Metric("input_sha256", pf.sha256, "", "fingerprint of the input file"),
        Metric("sitepivot_version", _version("sitepivot"), "", ""),
        Metric("pyomo_version", _version("pyomo"), "", ""),
        Metric("highspy_version", _version("highspy"), "", ""),
        Metric("created_utc", datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"), "", ""),
    ]


def npv_note(s: Settings) -> str:
    """The first Summary row's note: project flows, pre-tax or after tax at X%, terminal value
    in (taxed or untaxed) or none (docs/economics.md, "Board-ready finance")."""
    taxed = f"after tax at {s.tax_rate:.0%}" if s.tax_rate > 0 else "pre-tax (tax_rate 0)"
    if s.terminal_value == "none":
        tv = "no terminal value"
    else:
        tv = (f"terminal value in ({s.terminal_value}, "
              f"{'taxed' if s.terminal_value_tax == 'taxed' and s.tax_rate > 0 else 'untaxed'})")
    return f"net present value of the plan: project cash flows {taxed}, {tv}"


def deal_metrics(plan: Plan) -> list[Metric]:
    """The deal metrics (`optimizer.plan.METRIC_NAMES`), a blank value's reason in its note."""
    if plan.deal_metrics is None:
        return []
    return [Metric(r.metric, None if isinstance(r.value, float) and math.isnan(r.value)
                   else r.value, r.unit, r.note)
            for r in plan.deal_metrics.itertuples(index=False)]


def _metric(plan: Plan, name: str) -> object:
    for m in deal_metrics(plan):
        if m.metric == name:
            return m.value
    return None


def returns_line(plan: Plan) -> str:
    """`Project IRR 18.2% a year, equity IRR 24.0% a year; equity NPV $1,234.5M; pays back in
    2029Q3 (2030Q2 discounted).` A blank IRR is its own clause with its reason (`no project
    IRR: several IRRs (101.4%, 10193.0%), the cash flows change sign 2 times, ...`); when the
    reasons name the portfolio's mining income, one sentence says so and points to the
    conversion's own return (the next line)."""
    if plan.deal_metrics is None:
        return ""
    notes = dict(zip(plan.deal_metrics["metric"], plan.deal_metrics["note"], strict=True))
    clauses, pointed = [], False
    for name, label in (("project_irr", "project"), ("equity_irr", "equity")):
        value = _metric(plan, name)
        note = str(notes[name])
        pointed = pointed or MINING_INCOME in note
        if isinstance(value, float) and finite(value):
            clauses.append(f"{label} IRR {percent(value)} a year")
            continue
        reason = note.split(MINING_INCOME)[0].removeprefix("no IRR: ").replace("): ", "), ")
        clauses.append(f"no {label} IRR: {reason}")
    text = "; ".join(clauses)
    text = text[:1].upper() + text[1:] + "."
    if pointed:
        text += (" These flows include the whole portfolio's mining income, hence the "
                 "conversion's own return below.")
    text += f" Equity NPV {money(plan.equity_npv_musd)}"
    back, disc = _metric(plan, "payback_quarter"), _metric(plan, "discounted_payback_quarter")
    if back:
        text += f"; pays back in {back}" + (f" ({disc} discounted)" if disc else "")
    else:
        text += f"; no payback ({notes['payback_quarter']})"
    return text + "."


def conversion_line(plan: Plan) -> str:
    """The conversion's own return in one sentence: `The conversion itself (this plan less the
    portfolio kept mining) earns 18.2% a year (equity 24.0%), adds $1,234.5M of NPV and pays
    back in 2030Q2.`, a blank IRR or payback with its reason; "" without deal metrics."""
    if plan.deal_metrics is None or "conversion_irr" not in set(plan.deal_metrics["metric"]):
        return ""
    notes = dict(zip(plan.deal_metrics["metric"], plan.deal_metrics["note"], strict=True))
    rate, equity = _metric(plan, "conversion_irr"), _metric(plan, "conversion_equity_irr")
    back, npv = _metric(plan, "conversion_payback_quarter"), _metric(plan, "conversion_npv_musd")
    if not finite(npv) or notes["conversion_irr"].startswith("nothing converted"):
        return f"No conversion metrics: {notes['conversion_irr']}."
    text = "The conversion itself (this plan less the portfolio kept mining) earns "
    text += (f"{percent(rate)} a year" if finite(rate)
             else f"no single IRR ({notes['conversion_irr']})")
    if finite(equity):
        text += f" (equity {percent(equity)})"
    elif finite(rate):
        text += f" (no equity IRR: {notes['conversion_equity_irr']})"
    text += f", adds {money(npv)} of NPV and "
    text += (f"pays back in {back}" if back
             else f"does not pay back ({notes['conversion_payback_quarter']})")
    return text + "."


def beyond_horizon_line(plan: Plan) -> str:
    """The terminal value's share of NPV in words, flagged above one half with the sites that
    earn most of their value beyond the horizon."""
    share = _metric(plan, "npv_beyond_horizon_share")
    if not isinstance(share, float) or not finite(share) or plan.terminal_value_musd == 0:
        return ""
    kind = plan.portfolio.settings.terminal_value
    text = (f"{percent(share)} of the NPV is value beyond the horizon ({kind} terminal value, "
            f"{money(plan.terminal_value_musd)})")
    if share > 0.5:
        text = "Flag: " + text + ", more than half"
        if plan.beyond_horizon_sites:
            text += ("; the halls at " + ", ".join(plan.beyond_horizon_sites)
                     + " earn most of their value there")
    return text + "."


def _halls(n: int) -> str:
    return f"{n} hall{'s' if n != 1 else ''}"


def _when(group: pd.DataFrame) -> str:
    """`from 2027Q2 (online 2028Q2)`, or for several steps
    `in 3 steps from 2027Q2 to 2028Q1 (online 2028Q2 to 2029Q1)`."""
    first, last = group["start_quarter"].min(), group["start_quarter"].max()
    on_first, on_last = group["online_quarter"].min(), group["online_quarter"].max()
    if len(group) == 1:
        return f"from {first} (online {on_first})"
    return f"in {len(group)} steps from {first} to {last} (online {on_first} to {on_last})"


def _groups(frame: pd.DataFrame, keys: list[str]) -> list[Group]:
    """Rows grouped by `keys`, groups ordered by their first start quarter, then keys."""
    groups = [(k if isinstance(k, tuple) else (k,), g.sort_values("start_quarter"))
              for k, g in frame.groupby(keys, sort=True)]
    return sorted(groups, key=lambda kg: (kg[1]["start_quarter"].min(), kg[0]))


def binding_limits(plan: Plan, most: int = 5) -> str:
    """The binding constraints in a phrase, grouped by family and site, most quarters first:
    `cooling at Mackenzie in 31 quarters (2029Q1 to 2036Q4); budget in 2027Q2`."""
    c = plan.constraints
    if not len(c):
        return ""
    c = c[c["binding"].fillna(False).astype(bool)]
    parts: list[tuple[int, str]] = []
    for (family, site), g in c.groupby([c["family"], c["site"].fillna("")], sort=True):
        what = f"{family} at {site}" if site else str(family)
        quarters = sorted(q for q in g["quarter"].dropna().unique())
        if len(quarters) > 1:
            what += f" in {len(quarters)} quarters ({quarters[0]} to {quarters[-1]})"
        elif quarters:
            what += f" in {quarters[0]}"
        parts.append((len(g), what))
    parts.sort(key=lambda p: -p[0])
    text = "; ".join(w for _, w in parts[:most])
    if len(parts) > most:
        text += f"; and {len(parts) - most} more (see Constraints)"
    return text


# The narrative stays short: beyond these, the smaller items are summed up in one line.
MOST_CONVERSION_LINES = 8
MOST_UPGRADE_LINES = 4

Group = tuple[tuple, pd.DataFrame]


def _largest(groups: list[Group], most: int) -> tuple[list[Group], list[Group]]:
    """The `most` groups of largest capex (kept in time order), and the rest."""
    if len(groups) <= most:
        return groups, []
    ranked = sorted(range(len(groups)), key=lambda i: -float(groups[i][1]["capex_musd"].sum()))
    keep = set(ranked[:most])
    return ([g for i, g in enumerate(groups) if i in keep],
            [g for i, g in enumerate(groups) if i not in keep])


def _rest_line(rest: list[Group], what: str, sheet: str) -> list[str]:
    if not rest:
        return []
    sites = len({key[0] for key, _ in rest})
    capex = sum(float(g["capex_musd"].sum()) for _, g in rest)
    return [f"Also {len(rest)} {what}{'s' if len(rest) != 1 else ''} at {sites} "
            f"site{'s' if sites != 1 else ''}, {money(capex, 0)} capex in all (see {sheet})."]


def plan_narrative(plan: Plan) -> list[str]:
    """A short plain-language account of the plan, one sentence a line.

    Conversions (one line per site and option; phased starts summarised), upgrades (one line
    per site and kind), the end state (halls, MW), the NPV and how the solve ended.
    """
    lines: list[str] = []
    if len(plan.decisions):
        groups = _largest(_groups(plan.decisions, ["site", "option"]), MOST_CONVERSION_LINES)
        for (site, option), g in groups[0]:
            lines.append(f"Convert {_halls(int(g['halls'].sum()))} at {site} to {option} "
                         f"{_when(g)}, {money(float(g['capex_musd'].sum()), 0)} capex.")
        lines += _rest_line(groups[1], "smaller conversion", "Decisions")
    else:
        lines.append("Convert no halls: under these inputs every site is worth more mining.")
    groups = _largest(_groups(plan.upgrades, ["site", "kind"]), MOST_UPGRADE_LINES)
    for (site, kind), g in groups[0]:
        units, mw = int(g["units"].sum()), float(g["mw"].sum())
        if kind == "cooling":
            what = f"Add {units} cooling module{'s' if units != 1 else ''} ({mw:,.0f} MW) at {site}"
        else:
            what = f"Upgrade grid power at {site} by {mw:,.0f} MW"
        lines.append(f"{what} {_when(g)}, {money(float(g['capex_musd'].sum()), 0)} capex.")
    lines += _rest_line(groups[1], "smaller upgrade", "Upgrades")
    total_halls = int(plan.portfolio.sites["halls"].sum()) if len(plan.portfolio.sites) else 0
    lines.append(f"By {end_quarter(plan)}: {plan.halls_converted} of {total_halls} halls "
                 f"converted, {ai_it_mw_online_end(plan):,.0f} MW of AI IT online, "
                 f"{mining_mw_end(plan):,.0f} MW still mining; total capex "
                 f"{money(capex_total_musd(plan))}.")
    s = plan.portfolio.settings
    npv = f"NPV {money(plan.npv_musd)} at a discount rate of {percent(s.discount_rate)}"
    if finite(plan.terminal_value_musd) and plan.terminal_value_musd != 0:
        npv += f", of which {money(plan.terminal_value_musd)} is terminal value"
    uplift = plan.uplift_vs_greedy_musd
    if finite(uplift):
        more = "more" if uplift >= 0 else "less"
        npv += f"; {money(abs(uplift))} {more} than converting by a simple ranking"
    lines.append(npv + ".")
    for extra in (returns_line(plan), conversion_line(plan), beyond_horizon_line(plan)):
        if extra:
            lines.append(extra)
    limits = binding_limits(plan)
    if limits:
        lines.append(f"Binding limits: {limits}.")
    lines.append(f"Solve: {solve_outcome(plan)}.")
    if plan.warnings:
        n = len(plan.warnings)
        lines.append(f"{n} warning{'s' if n != 1 else ''}: see the Log.")
    return lines


def _format_value(m: Metric) -> str:
    if m.value is None or (isinstance(m.value, float) and not math.isfinite(m.value)):
        return "n/a"
    if m.unit == "$M":
        return money(m.value)
    if m.unit in ("fraction", "per year"):
        return percent(m.value)
    if m.unit in ("MW", "MW IT"):
        return f"{m.value:,.0f} {m.unit}"
    if m.unit == "s":
        return f"{m.value:.2f} s"
    if m.unit == "x" and isinstance(m.value, int | float):
        return f"{m.value:.2f}x"
    return f"{m.value}"


_TEXT_METRICS = ("npv_musd", "status", "best_bound_musd", "uplift_vs_greedy_musd",
                 "halls_converted", "ai_it_mw_online_end", "capex_total_musd", "solve_seconds")
# The deal metrics, printed after those when the plan has them (blank ones with their reason).
_TEXT_DEAL_METRICS = ("equity_npv_musd", "project_irr", "equity_irr", "payback_quarter",
                      "conversion_irr", "conversion_equity_irr", "conversion_payback_quarter",
                      "conversion_npv_musd", "npv_beyond_horizon_share", "conversion_moic",
                      "min_dscr", "refinancing_musd", "contracted_backlog_musd",
                      "contracted_npv_share")


def _table(frame: pd.DataFrame) -> str:
    if "irr" in frame.columns:  # a rate: as a percentage, blank when the start has none
        frame = frame.assign(irr=[percent(x) if finite(x) else "" for x in frame["irr"]])
    if "payback_quarter" in frame.columns:
        frame = frame.assign(payback_quarter=frame["payback_quarter"].fillna(""))
    return frame.to_string(index=False, float_format=lambda x: f"{x:,.1f}")


def plan_text(plan: Plan) -> str:
    """The plan for the terminal: headline metrics, the decisions table and the upgrades."""
    by_name = {m.metric: m for m in headline_metrics(plan)}
    names = _TEXT_METRICS + tuple(n for n in _TEXT_DEAL_METRICS if n in by_name)
    width = max(len(n) for n in names)
    out = []
    for name in names:
        m = by_name[name]
        if name in _TEXT_DEAL_METRICS and m.value is None:
            out.append(f"{name:<{width}}  n/a  ({m.note})")
            continue
        value = _format_value(m)
        note = m.note if name in ("status", "halls_converted", "ai_it_mw_online_end") else ""
        if name == "status":
            value, note = solve_outcome(plan), ""
        out.append(f"{name:<{width}}  {value}" + (f"  ({note})" if note else ""))
    out += ["", "Decisions:"]
    out.append(_table(plan.decisions) if len(plan.decisions) else "  (no hall starts)")
    out += ["", "Upgrades:"]
    out.append(_table(plan.upgrades) if len(plan.upgrades) else "  (no upgrades)")
    if plan.warnings:
        out += ["", f"{len(plan.warnings)} warning(s) (see the report's Log sheet)."]
    return "\n".join(out)
