"""Firmness and alternatives in words: a start (`start_words`), how an alternative differs from
the plan (`describe_difference`) and the console's account (`firmness_text`, `window_words`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from optimizer.money import money
from optimizer.plan import Plan


def start_words(kind: str, site: str, option: str, quarter: str, units: float) -> str:
    """`3 dlc hall(s) at Corsicana in 2027Q1`, `2 cooling module(s) at ...`."""
    n = round(units)
    what = {"hall": f"{option} hall{'s' if n != 1 else ''}",
            "cooling": f"cooling module{'s' if n != 1 else ''}",
            "power": "power upgrade"}[kind]
    return f"{'' if kind == 'power' else f'{n} '}{what} at {site} in {quarter}"


ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
            "ninth", "tenth")


def _ordinal(n: int) -> str:
    return ORDINALS[n - 1] if 1 <= n <= len(ORDINALS) else f"{n}th"


def _by_site(decisions: pd.DataFrame) -> dict[str, tuple[str, int]]:
    """site -> (first start quarter, halls) of a Decisions frame."""
    if not len(decisions):
        return {}
    g = decisions.groupby("site")
    return {s: (str(q), int(h)) for s, q, h in zip(g.size().index, g["start_quarter"].min(),
                                                   g["halls"].sum(), strict=True)}


def describe_difference(plan: pd.DataFrame, other: pd.DataFrame, sites: Sequence[str]) -> str:
    """What `other` does differently from `plan`, in business words, site by site: "starts
    Childress in 2029Q3 instead of Corsicana's fourth hall", "starts Pecos in 2030Q1 instead
    of 2032Q2", "builds 2 halls at Odessa instead of 3", "leaves Pecos mining"."""
    a, b = _by_site(plan), _by_site(other)
    gains: list[str] = []
    losses: list[tuple[str, int, int]] = []  # site, halls in the plan, halls in the other
    moves: list[str] = []
    for s in sites:
        if s in b and s not in a:
            gains.append(f"starts {s} in {b[s][0]} ({b[s][1]} hall{'s' if b[s][1] != 1 else ''})")
        elif s in a and s not in b:
            moves.append(f"leaves {s} mining (the plan starts it in {a[s][0]})")
        elif s in a and s in b:
            (qa, ha), (qb, hb) = a[s], b[s]
            if qa != qb:
                moves.append(f"starts {s} in {qb} instead of {qa}")
            if hb > ha:
                gains.append(f"builds {hb} halls at {s} instead of {ha}")
            elif hb < ha:
                losses.append((s, ha, hb))
    if len(gains) == 1 and len(losses) == 1 and losses[0][1] - losses[0][2] == 1:
        site, ha, _ = losses[0]
        gains = [f"{gains[0]} instead of {site}'s {_ordinal(ha)} hall"]
        losses = []
    words = gains + moves + [f"builds {hb} hall{'s' if hb != 1 else ''} at {s} instead of {ha}"
                             for s, ha, hb in losses]
    if not words:
        words = ["the same sites, first starts and halls; other options or later starts"]
    text = "; ".join(words)
    return text[0].upper() + text[1:]


def firmness_text(plan: Plan) -> str:
    """For the terminal: the headline "Commit now (firm): ...; open: ...; later starts can move
    within: ...", then each commit-now start's cost, and the alternatives."""
    from optimizer.replan.replan import cost_phrase

    out: list[str] = []
    f, w = plan.firmness, plan.timing_windows
    if f is not None and w is not None:
        def words(rows: pd.DataFrame) -> str:
            return ", ".join(start_words(r.kind, r.site, r.option, r.start_quarter, r.units)
                             + (" (committed)" if r.firmness == "committed"
                                else f" ({r.committed_units:g} committed)"
                                if 0 < r.committed_units < r.units else "")
                             for r in rows.itertuples(index=False)) or "none"

        firm = f[f["firmness"].isin(["firm", "committed"])]
        open_ = f[f["firmness"] == "open"]
        k = plan.portfolio.settings.commit_quarters
        out.append(f"Commit now (firm): {words(firm)}; open: {words(open_)}; later starts can "
                   f"move within: {window_words(plan, k)}")
        if len(f):
            out.append(f"  (commit window: the first {k} quarters; tolerance "
                       f"{money(float(f['tolerance_musd'].iloc[0]))} of NPV)")
        for r in f.itertuples(index=False):
            if r.firmness == "committed":
                continue
            cost = cost_phrase(_num(r.npv_cost_at_least_musd), _num(r.npv_cost_at_most_musd),
                               _num(r.npv_cost_musd))
            out.append(f"  {start_words(r.kind, r.site, r.option, r.start_quarter, r.units)}: "
                       f"{r.firmness}{'' if r.proven else ' (not proven)'}; not making it "
                       f"{cost}")
    a = plan.alternatives
    if a is not None and len(a):
        out += ["", "Alternatives within the tolerance:"]
        for r in a.itertuples(index=False):
            if pd.isna(r.npv_musd):
                out.append(f"  {r.alternative}: {r.description}")
            else:
                out.append(f"  {r.alternative}: NPV {money(r.npv_musd)} ({money(r.vs_plan_musd)} "
                           f"vs this plan, gap to the best {r.gap_to_best:.2%}): "
                           f"{r.description}")
    return "\n".join(out)


HEADLINE_WINDOWS = 6  # the headline names at most this many sites' windows, widest first


def window_words(plan: Plan, commit_quarters: int) -> str:
    """`Childress 2029Q3-2033Q4, Pecos 2031Q1-2031Q2 (2030Q1-2036Q4 not ruled out)`: the
    windows of the sites whose first start in the plan is after the commit window and can
    move (or is not proven fixed), widest first."""
    w = plan.timing_windows
    if w is None:
        return "not computed"
    t_of = plan.portfolio.t_of
    later = w.loc[np.array([t_of(q) >= commit_quarters for q in w["plan_first_start"]],
                           dtype=bool)].copy()
    later["span"] = [t_of(b) - t_of(a) for a, b in zip(later["earliest_no_sooner_than"],
                                                        later["latest_no_later_than"],
                                                        strict=True)]
    later = later[later["span"] > 0].sort_values(["span", "window_quarters", "site"],
                                                 ascending=[False, False, True])
    parts = []
    for r in later.itertuples(index=False):
        found = (f"{r.earliest_first_start}-{r.latest_first_start}" if r.window_quarters > 0
                 else f"{r.earliest_first_start}")
        parts.append(f"{r.site} {found}" + ("" if r.proven else
                                             f" ({r.earliest_no_sooner_than}-"
                                             f"{r.latest_no_later_than} not ruled out)"))
    if len(parts) > HEADLINE_WINDOWS:
        more = f"{len(parts) - HEADLINE_WINDOWS} more (Firmness sheet)"
        parts = [*parts[:HEADLINE_WINDOWS], more]
    return ", ".join(parts) or "none"


def _num(value: object) -> float | None:
    if value is None or pd.isna(value):
        return None
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None
