"""Compare two plans: what changed in the decisions, and why the NPV moved.

- `decision_changes(old, new)`: every hall of the old plan matched with one of the new, per site
  and option. Rule: halls starting in the same quarter in both are `kept`; the remaining halls
  of each side are paired in start order, and a pair is `moved earlier` or `moved later`; halls
  left over are `added` (new only) or `dropped` (old only). A switch of technology at a site
  therefore reads as `dropped` for one option and `added` for the other; `site_changes` sums
  each site and option up.
- `npv_bridge(...)`: the NPV change attributed to the input families of
  `optimizer.compare.inputs.FAMILIES`, moved one at a time from the old inputs to the new in
  that fixed order, each step re-solved (MIP start: the previous step's plan; the last step,
  which holds exactly the new inputs, starts from the new report's plan). The bars are
  `old NPV -> each family -> re-solve difference -> new NPV`; a family's bar is the NPV after
  its step less the NPV before it; the first step's "before" is a re-solve of the old inputs.
  The re-solve difference is what the steps do not explain: (new report NPV - re-solve of the
  new inputs) - (old report NPV - re-solve of the old inputs), i.e. solver tolerance and time
  limits. So the bars add up to the NPV change exactly (to floating point, far below a cent).
  A family whose step changes nothing gets a zero bar and no solve. A step whose inputs are
  invalid on their own (a commitment in a quarter the horizon does not have yet) or infeasible
  is merged with the next family and the bar is labelled with both names (`commitments +
  other`): the merged families cannot be separated in this order.
- `compare_reports(old, new, ...)` reads both reports (decisions, NPV, inputs) and runs both.

The comparison is order-dependent, as every one-at-a-time attribution is: the order is fixed
and documented so that two comparisons of the same reports agree.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pandas as pd

from models.errors import InfeasibleError, InputError, NoSolutionError
from models.portfolio import Portfolio
from models.quarters import parse_quarter, quarter_ordinal
from optimizer.compare.inputs import (
    FAMILIES,
    BridgeFamily,
    Tables,
    apply_family,
    input_changes,
    read_report_inputs,
    report_metrics,
    tables_equal,
)
from optimizer.inputs.validation import portfolio_from_tables
from optimizer.money import money
from optimizer.plan import DECISION_COLUMNS, Plan
from optimizer.progress import Reporter
from optimizer.reports.sheets import input_tables
from optimizer.reports.write import open_report, read_decisions
from optimizer.status import PLANNED, Status

CHANGE_COLUMNS = ["site", "option", "change", "old_start_quarter", "new_start_quarter", "halls",
                  "shift_quarters"]
SITE_CHANGE_COLUMNS = ["site", "option", "old_halls", "new_halls", "halls_change",
                       "old_first_start", "new_first_start", "summary"]
BRIDGE_COLUMNS = ["step", "families", "bar_musd", "npv_after_musd", "status", "gap",
                  "solve_seconds", "note"]
CHANGE_ORDER = ("kept", "moved earlier", "moved later", "added", "dropped")


@dataclass
class DecisionsOnly:
    """The one part of a Plan that `optimize(..., mip_start=...)` reads: its decisions."""

    decisions: pd.DataFrame


def as_mip_start(decisions: pd.DataFrame) -> Plan:
    """Decisions (DECISION_COLUMNS) in the shape `optimize(mip_start=...)` accepts."""
    return cast(Plan, DecisionsOnly(decisions.reindex(columns=DECISION_COLUMNS)))


# ---- decision diff ---------------------------------------------------------------------------
def _halls(decisions: pd.DataFrame) -> dict[tuple[str, str], list[str]]:
    """(site, option) -> one start quarter per hall, in start order."""
    out: dict[tuple[str, str], list[str]] = {}
    for row in decisions.itertuples(index=False):
        quarter = parse_quarter(row.start_quarter)
        if quarter is None:
            continue
        out.setdefault((str(row.site), str(row.option)), []).extend(
            [quarter] * round(float(row.halls)))
    return {k: sorted(v, key=quarter_ordinal) for k, v in out.items()}


def decision_changes(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Each hall of two plans' decisions, kept, moved, added or dropped (see the module
    docstring); identical changes grouped, with their number of halls. `shift_quarters` is new
    start minus old start (negative = earlier). Columns: `CHANGE_COLUMNS`."""
    a, b = _halls(old), _halls(new)
    rows: list[tuple[str, str, str, str | None, str | None]] = []
    for key in sorted(set(a) | set(b)):
        left, right = list(a.get(key, [])), list(b.get(key, []))
        for q in list(left):
            if q in right:
                left.remove(q)
                right.remove(q)
                rows.append((*key, "kept", q, q))
        for q_old, q_new in zip(left, right, strict=False):
            earlier = quarter_ordinal(q_new) < quarter_ordinal(q_old)
            rows.append((*key, "moved earlier" if earlier else "moved later", q_old, q_new))
        n = min(len(left), len(right))
        rows += [(*key, "dropped", q, None) for q in left[n:]]
        rows += [(*key, "added", None, q) for q in right[n:]]
    frame = pd.DataFrame(rows, columns=CHANGE_COLUMNS[:5])
    if not len(frame):
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    keys = CHANGE_COLUMNS[:5]
    grouped = (frame.fillna({"old_start_quarter": "", "new_start_quarter": ""})
               .groupby(keys, sort=False).size().rename("halls").reset_index())
    grouped = grouped.replace({"old_start_quarter": {"": None},
                               "new_start_quarter": {"": None}})
    grouped["shift_quarters"] = pd.Series([  # object: None (not NaN) where nothing moved
        quarter_ordinal(n) - quarter_ordinal(o) if o and n else None
        for o, n in zip(grouped["old_start_quarter"], grouped["new_start_quarter"], strict=True)],
        dtype=object, index=grouped.index)
    order = {c: i for i, c in enumerate(CHANGE_ORDER)}
    when = [n or o for o, n in zip(grouped["old_start_quarter"], grouped["new_start_quarter"],
                                   strict=True)]
    grouped = grouped.assign(_c=grouped["change"].map(order), _q=when)
    grouped = grouped.sort_values(["site", "option", "_c", "_q"]).drop(columns=["_c", "_q"])
    return grouped[CHANGE_COLUMNS].reset_index(drop=True)


def site_changes(old: pd.DataFrame, new: pd.DataFrame,
                 changes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per site and option: halls before and after, first starts, and the changes in words
    (`kept 2, moved later 1, added 1`). Columns: `SITE_CHANGE_COLUMNS`."""
    changes = decision_changes(old, new) if changes is None else changes
    a, b = _halls(old), _halls(new)
    rows = []
    for key in sorted(set(a) | set(b)):
        mine = changes[(changes["site"] == key[0]) & (changes["option"] == key[1])]
        counts = mine.groupby("change")["halls"].sum()
        words = ", ".join(f"{c} {int(counts[c])}" for c in CHANGE_ORDER if c in counts.index)
        rows.append({"site": key[0], "option": key[1], "old_halls": len(a.get(key, [])),
                     "new_halls": len(b.get(key, [])),
                     "halls_change": len(b.get(key, [])) - len(a.get(key, [])),
                     "old_first_start": a[key][0] if a.get(key) else None,
                     "new_first_start": b[key][0] if b.get(key) else None,
                     "summary": words})
    return pd.DataFrame(rows, columns=SITE_CHANGE_COLUMNS)


def change_counts(changes: pd.DataFrame) -> dict[str, int]:
    """Halls by kind of change (every kind present, 0 when none)."""
    counts = changes.groupby("change")["halls"].sum() if len(changes) else pd.Series(dtype=int)
    return {c: int(counts.get(c, 0)) for c in CHANGE_ORDER}


# ---- NPV bridge ------------------------------------------------------------------------------
@dataclass
class Bridge:
    """The NPV bridge: bars in $M that add up to `new_npv - old_npv` exactly."""

    old_npv: float  # the old report's NPV
    new_npv: float  # the new report's NPV
    old_resolved: float  # the old inputs re-solved (where the family steps start)
    new_resolved: float  # the new inputs re-solved (where the family steps end)
    steps: pd.DataFrame  # BRIDGE_COLUMNS: first the re-solve of the old inputs (no bar), then
    # one row per family step (merged steps as one row)
    plans: list[Plan] = field(default_factory=list)  # the plan of each solved step

    def precision_note(self) -> str:
        """"" when every re-solve is optimal; else how far the bars may be off, in words."""
        solved = self.steps[self.steps["status"].isin(PLANNED)]
        stopped = solved[solved["status"] == Status.FEASIBLE]
        if not len(stopped):
            return ""
        gap = float(pd.to_numeric(stopped["gap"], errors="coerce").max())
        worst = float((pd.to_numeric(solved["gap"], errors="coerce")
                       * solved["npv_after_musd"].astype(float).abs()).max())
        return (f"{len(stopped)} of {len(solved)} re-solves stopped at the time limit (gap up "
                f"to {gap:.2%}): a bar may be off by up to about {money(worst, 0)} of solver gap; "
                "raise --time-limit for a sharper bridge. The bars still add up exactly.")

    @property
    def residual(self) -> float:
        """What the steps do not explain (solver tolerance of the re-solves)."""
        return (self.new_npv - self.old_npv) - (self.new_resolved - self.old_resolved)

    def bar_ranges(self) -> list[tuple[float, float] | None]:
        """For each family step (rows 1.. of `steps`): None when the bar is a proven point (both
        of its re-solves optimal, or nothing changed), else (at least, at most) in $M. A bar is
        what the family moves the best NPV by: OPT_after - OPT_before, where each optimum lies
        between its re-solve's plan and that plan's proven bound (npv + gap x |npv|), so the
        bar lies between npv_after - bound_before and bound_after - npv_before."""
        out: list[tuple[float, float] | None] = []
        before = self.steps.iloc[0]
        for _, row in self.steps.iloc[1:].iterrows():
            if row["status"] not in ("optimal", "feasible"):
                out.append(None)  # unchanged: no solve, a zero bar exactly
                continue
            if "feasible" in (row["status"], before["status"]):
                out.append((float(row["npv_after_musd"]) - _bound(before),
                            _bound(row) - float(before["npv_after_musd"])))
            else:
                out.append(None)
            before = row
        return out

    def bars(self) -> pd.DataFrame:
        """Every bar of the waterfall in order: `kind` start / step / residual / end; a step
        from a time-limited re-solve has its range (`bar_ranges`), blank otherwise."""
        rows = [{"bar": "old plan NPV", "kind": "start", "value_musd": self.old_npv}]
        steps = self.steps.iloc[1:]
        for s, v, r in zip(steps["step"], steps["bar_musd"], self.bar_ranges(), strict=True):
            rows.append({"bar": s, "kind": "step", "value_musd": float(v),
                         "at_least_musd": r[0] if r else None,
                         "at_most_musd": r[1] if r else None})
        rows.append({"bar": "re-solve difference", "kind": "residual",
                     "value_musd": self.residual})
        rows.append({"bar": "new plan NPV", "kind": "end", "value_musd": self.new_npv})
        return pd.DataFrame(rows, columns=["bar", "kind", "value_musd", "at_least_musd",
                                           "at_most_musd"])


def _bound(step: pd.Series) -> float:
    """A step's proven bound on the best NPV, from its plan and gap ($M)."""
    npv, gap = float(step["npv_after_musd"]), float(step["gap"] or 0.0)
    return npv + gap * abs(npv)




def _solve(portfolio: Portfolio, start: Plan, time_limit: float | None, mip_gap: float | None,
           threads: int | None, progress: Reporter | None = None) -> Plan:
    from optimizer.solve.optimize import optimize

    return optimize(portfolio, time_limit=time_limit, mip_gap=mip_gap, threads=threads,
                    mip_start=start, with_greedy=False,
                    on_progress=progress.solver if progress is not None else None)


def _with_begun(decisions: pd.DataFrame, portfolio: Portfolio) -> Plan:
    """A MIP start: `decisions` plus the halls `portfolio` says were begun before its start
    quarter (fixed in the model; a start without them would be rejected by HiGHS)."""
    c = portfolio.commitments
    first = quarter_ordinal(portfolio.settings.start_quarter)
    have = {(r.site, r.option, r.start_quarter) for r in decisions.itertuples(index=False)}
    begun = [{"site": r.site, "option": r.option, "start_quarter": r.quarter,
              "halls": int(r.halls)} for r in c.itertuples(index=False)
             if r.action == "start" and isinstance(r.quarter, str)
             and quarter_ordinal(r.quarter) < first
             and (r.site, r.option, r.quarter) not in have]
    if not begun:
        return as_mip_start(decisions)
    return as_mip_start(pd.concat([decisions.reindex(columns=DECISION_COLUMNS),
                                   pd.DataFrame(begun).reindex(columns=DECISION_COLUMNS)],
                                  ignore_index=True))


def npv_bridge(old: Portfolio, new: Portfolio, old_npv: float, new_npv: float,
               old_decisions: pd.DataFrame, new_decisions: pd.DataFrame, *,
               time_limit: float | None = None, mip_gap: float | None = None,
               threads: int | None = None, families: tuple[BridgeFamily, ...] = FAMILIES,
               progress: Reporter | None = None) -> Bridge:
    """Attribute `new_npv - old_npv` to the input families (see the module docstring).

    `old_decisions` / `new_decisions` are the reports' plans, used as MIP starts of the first
    and last solves. Solves take `time_limit` / `mip_gap` (None: each portfolio's Settings).
    Raises what `optimize` raises when the old or the new inputs cannot be solved.
    """
    def say(step: str) -> None:  # each re-solve is a phase of the run, with its time limit
        if progress is not None:
            progress.begin(step, time_limit)
    new_tables = input_tables(new)
    solved: Tables = input_tables(old)
    say("re-solving the old inputs")
    clock = time.perf_counter()
    plan = _solve(old, as_mip_start(old_decisions), time_limit, mip_gap, threads, progress)
    old_resolved = plan.npv_musd
    plans = [plan]
    rows: list[dict[str, object]] = [{
        "step": "(old inputs re-solved)", "families": "", "bar_musd": None,
        "npv_after_musd": old_resolved, "status": plan.status, "gap": plan.gap,
        "solve_seconds": time.perf_counter() - clock,
        "note": "where the steps start; not a bar"}]
    trial = solved
    pending: list[str] = []
    notes: list[str] = []
    for k, fam in enumerate(families):
        last = k == len(families) - 1
        trial = apply_family(trial, new_tables, fam)
        pending.append(fam.name)
        if tables_equal(trial, solved):
            for name in pending:
                rows.append({"step": name, "families": name, "bar_musd": 0.0,
                             "npv_after_musd": plan.npv_musd, "status": "unchanged",
                             "gap": None, "solve_seconds": 0.0,
                             "note": "no input of this family changed"})
            pending, notes = [], []
            continue
        try:
            portfolio = portfolio_from_tables(trial, source=f"bridge step {fam.name}")
            start = _with_begun(new_decisions if tables_equal(trial, new_tables)
                                else plan.decisions, portfolio)
            say(f"step {' + '.join(pending)}")
            clock = time.perf_counter()
            step_plan = _solve(portfolio, start, time_limit, mip_gap, threads, progress)
        except (InputError, InfeasibleError, NoSolutionError) as err:
            if last:
                raise
            why = {InputError: "invalid", InfeasibleError: "infeasible",
                   NoSolutionError: "without a plan in the time limit"}[type(err)]
            notes.append(f"the inputs after '{fam.name}' alone are {why} "
                         f"({str(err).splitlines()[-1].strip()[:160]}), so it is merged "
                         "with the next family")
            continue
        rows.append({"step": " + ".join(pending), "families": ", ".join(pending),
                     "bar_musd": step_plan.npv_musd - plan.npv_musd,
                     "npv_after_musd": step_plan.npv_musd, "status": step_plan.status,
                     "gap": step_plan.gap, "solve_seconds": time.perf_counter() - clock,
                     "note": "; ".join(notes)})
        plan, solved, pending, notes = step_plan, trial, [], []
        plans.append(plan)
    return Bridge(old_npv=old_npv, new_npv=new_npv, old_resolved=old_resolved,
                  new_resolved=plan.npv_musd, steps=pd.DataFrame(rows, columns=BRIDGE_COLUMNS),
                  plans=plans)


# ---- two reports -----------------------------------------------------------------------------
@dataclass
class ReportInputs:
    """What a comparison reads from one report."""

    path: Path
    portfolio: Portfolio
    decisions: pd.DataFrame
    metrics: dict[str, object]

    @property
    def npv(self) -> float:
        # report_metrics refuses a report whose npv_musd is not a finite number.
        return float(self.metrics["npv_musd"])  # type: ignore[arg-type]  # checked on read


def read_report(path: Path | str) -> ReportInputs:
    """Decisions, Summary metrics and inputs of a report; InputError naming the cell."""
    path = Path(path)
    wb = open_report(path)
    portfolio = read_report_inputs(path, wb)
    metrics = report_metrics(wb, str(path))
    decisions = read_decisions(path).reset_index(drop=True)
    return ReportInputs(path, portfolio, decisions, metrics)


@dataclass
class Comparison:
    """Everything the compare workbook shows."""

    old: ReportInputs
    new: ReportInputs
    changes: pd.DataFrame  # CHANGE_COLUMNS
    sites: pd.DataFrame  # SITE_CHANGE_COLUMNS
    inputs: pd.DataFrame  # compare_inputs.CHANGE_COLUMNS
    bridge: Bridge
    time_limit: float | None
    mip_gap: float | None


def compare_reports(old_path: Path | str, new_path: Path | str, *,
                    time_limit: float | None = None, mip_gap: float | None = None,
                    threads: int | None = None, progress: Reporter | None = None
                    ) -> Comparison:
    """Read two reports and compare them: decision changes, input changes, NPV bridge."""
    old, new = read_report(old_path), read_report(new_path)
    changes = decision_changes(old.decisions, new.decisions)
    bridge = npv_bridge(old.portfolio, new.portfolio, old.npv, new.npv, old.decisions,
                        new.decisions, time_limit=time_limit, mip_gap=mip_gap, threads=threads,
                        progress=progress)
    return Comparison(old=old, new=new, changes=changes,
                      sites=site_changes(old.decisions, new.decisions, changes),
                      inputs=input_changes(input_tables(old.portfolio),
                                           input_tables(new.portfolio)),
                      bridge=bridge, time_limit=time_limit, mip_gap=mip_gap)


def comparison_text(c: Comparison) -> str:
    """The comparison for the terminal: the NPVs, each bar, the halls changed."""
    b = c.bridge
    lines = [f"old plan NPV  {money(b.old_npv)}  ({c.old.path})",
             f"new plan NPV  {money(b.new_npv)}  ({c.new.path})",
             f"change        {money(b.new_npv - b.old_npv)}", "", "NPV bridge ($M):"]
    bars = b.bars()
    width = max(len(str(x)) for x in bars["bar"])
    lines += [f"  {r.bar:<{width}}  {r.value_musd:>12,.2f}" + (
        f"  (at least {r.at_least_musd:,.2f}, at most {r.at_most_musd:,.2f}: a re-solve "
        "stopped at its time limit)" if pd.notna(r.at_least_musd) else "")
        for r in bars.itertuples(index=False)]
    if b.precision_note():
        lines += ["", b.precision_note()]
    counts = change_counts(c.changes)
    lines += ["", "Halls: " + ", ".join(f"{k} {v}" for k, v in counts.items())]
    moved = c.changes[c.changes["change"] != "kept"]
    if len(moved):
        lines += ["", changes_text(moved)]
    return "\n".join(lines)


def changes_text(changes: pd.DataFrame) -> str:
    """The decision changes as a terminal table; a blank cell (an added hall's old quarter, a
    dropped one's new quarter, their shift) is shown as `-`, never `None` or `NaN`."""
    shown = changes.astype(object)
    return shown.where(shown.notna(), "-").to_string(index=False)
