"""Firmness, timing windows and alternatives against every plan of tiny instances.

For each instance of `test_enumeration` and a tolerance, `tests.reference.all_plans` (the plain
second implementation) lists every feasible plan with its NPV; the plans within the tolerance are
those whose NPV is at least the best less tolerance x |best|. Then (optimizer.replan.firmness):
- a commit-now start labelled `firm` is in every plan within the tolerance;
- one labelled `open` (proven) is missing from at least one of them;
- every site's timing window is the earliest and latest first-start quarter among the plans
  within the tolerance that start the site;
- every alternative is a plan within the tolerance (valued by the reference) and differs from
  the plan in its hall starts.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from reference import (
    CoolingStarts,
    Evaluation,
    HallStarts,
    PowerStart,
    all_plans,
    decisions_of,
    make_portfolio,
    option,
    quarter_t,
    site,
)
from support import QUARTERS, tiny_tables, write_xlsx
from test_enumeration import INSTANCES

from models.portfolio import Portfolio
from models.quarters import quarter_ordinal
from optimizer.cli import main
from optimizer.inputs.workbook import load_portfolio
from optimizer.plan import Plan
from optimizer.replan.firmness import (
    MIN_RESOLVE_SECONDS,
    RESOLVE_OVERHEAD,
    SOLVE_SHARE,
    assess,
    split_budget,
)
from optimizer.replan.firmness_words import describe_difference, firmness_text
from optimizer.reports.write import commitments_from_report, read_decisions
from optimizer.solve.optimize import optimize

TOLERANCES = (0.01, 0.05)
MARGIN = 1e-5  # $M: no enumerated plan may lie this close to the floor (the test's soundness)
Enumerated = list[tuple[HallStarts, CoolingStarts, PowerStart, Evaluation]]


def _within(portfolio: Portfolio, tolerance: float) -> tuple[Plan, Enumerated]:
    plans = all_plans(portfolio)
    best = max(ev.npv for *_, ev in plans)
    floor = best - tolerance * abs(best)
    assert all(abs(ev.npv - floor) > MARGIN for *_, ev in plans), "a plan sits on the floor"
    plan = optimize(portfolio, time_limit=60, mip_gap=0.0, with_greedy=False)
    assert plan.npv_musd == pytest.approx(best, rel=1e-6)
    assess(plan, alternatives=2, tolerance=tolerance, seconds=60)
    return plan, [p for p in plans if p[3].npv >= floor]


def _makes(plan_: tuple[HallStarts, CoolingStarts, PowerStart, Evaluation], kind: str, site: str,
           option: str | None, t: int, committed: float = 0.0) -> bool:
    """The plan makes the start: a hall start beyond the `committed` halls, or the upgrade."""
    starts, cooling, power, _ = plan_
    if kind == "hall":
        return starts.get((site, str(option), t), 0) > committed
    if kind == "cooling":
        return cooling.get((site, t), 0) >= 1
    return power.get(site) == t


def _first_start(starts: HallStarts, site: str) -> int | None:
    ts = [t for (s, _o, t), n in starts.items() if s == site and n > 0]
    return min(ts) if ts else None


def partly_committed() -> Portfolio:
    """A start commitment of 1 hall where the plan starts 2: the second is a decision (firm at
    1%, open at 5%); a second site B is cheaper to run miners at."""
    return make_portfolio(
        sites=[site("A", grid_mw=30.0, halls=2),
               site("B", grid_mw=30.0, halls=1, power_cost_usd_per_mwh=30.0)],
        options=[option("dlc", capex_musd_per_it_mw=1.5, lead_quarters=2,
                        lease_usd_per_kw_month=170.0)],
        commitments=[{"site": "A", "option": "dlc", "quarter": 0, "halls": 1,
                      "action": "start"}],
        horizon=8, hashprice=[60.0, 55.0, 50.0, 45.0, 42.0, 40.0, 38.0, 36.0],
        quarters={"budget_musd": [30, 15, 15, 15, 15, 15, 15, 15]})


CASES_INSTANCES = {**INSTANCES, "partly_committed": partly_committed}
CASES = [(name, tol) for name in CASES_INSTANCES for tol in TOLERANCES]


@pytest.mark.parametrize(("name", "tolerance"), CASES)
def test_firmness_windows_and_alternatives_match_enumeration(name: str, tolerance: float
                                                              ) -> None:
    portfolio = CASES_INSTANCES[name]()
    plan, within = _within(portfolio, tolerance)
    assert plan.firmness is not None and plan.timing_windows is not None
    assert plan.alternatives is not None and plan.alternative_decisions is not None

    for r in plan.firmness.itertuples(index=False):
        t = quarter_t(r.start_quarter)
        option = r.option if isinstance(r.option, str) else None
        missing = [p for p in within
                   if not _makes(p, r.kind, r.site, option, t, r.committed_units)]
        if r.firmness == "firm":
            assert not missing, f"{name}: firm {r} is missing from a plan within the tolerance"
        elif r.firmness == "open":
            assert r.proven, f"{name}: an exact re-solve proves its answer: {r.note}"
            assert missing, f"{name}: open {r} is in every plan within the tolerance"
        else:
            assert r.firmness == "committed"

    plan_sites = sorted(plan.decisions["site"].unique()) if len(plan.decisions) else []
    windows = plan.timing_windows.set_index("site")
    for name_s in plan_sites:
        firsts = [f for p in within if (f := _first_start(p[0], name_s)) is not None]
        if min(firsts) < 0:  # begun before the plan: no window
            assert name_s not in windows.index
            continue
        w = windows.loc[name_s]
        assert w["proven"], f"{name}: {w['note']}"
        assert quarter_t(w["earliest_first_start"]) == min(firsts), (name, name_s)
        assert quarter_t(w["latest_first_start"]) == max(firsts), (name, name_s)
        assert w["earliest_no_sooner_than"] == w["earliest_first_start"]
        assert w["latest_no_later_than"] == w["latest_first_start"]

    floor = min(p[3].npv for p in within)
    mine = decisions_of(plan)
    for alt, rows in plan.alternative_decisions.groupby("alternative"):
        other = Plan(**{**plan.__dict__, "decisions": rows.drop(columns="alternative")})
        starts = decisions_of(other)[0]
        assert starts != mine[0], f"{name}: alternative {alt} is the plan's hall starts"
        # Its upgrades are not in the frame: one of the enumerated plans within the tolerance
        # with exactly these hall starts has its NPV.
        npv = plan.alternatives.set_index("alternative").loc[alt, "npv_musd"]
        assert npv >= floor - MARGIN
        assert any(p[3].npv == pytest.approx(npv, rel=1e-6) for p in within
                   if p[0] == starts), f"{name}: alternative {alt} is not a plan within"
        assert plan.alternatives.set_index("alternative").loc[alt, "hall_quarters_different"] > 0


def test_labels_are_not_vacuous() -> None:
    """Across the instances both labels occur, some window is wider than a quarter and some
    alternative exists: the checks above bite."""
    labels: set[str] = set()
    wide = alternatives = 0
    committed = 0
    for name in ("upgrades_mid_gordon", "carryover_two_sites_tax_tv", "partly_committed"):
        plan, _ = _within(CASES_INSTANCES[name](), 0.01)
        assert plan.firmness is not None and plan.timing_windows is not None
        assert plan.alternative_decisions is not None
        labels |= set(plan.firmness["firmness"])
        wide += int((plan.timing_windows["window_quarters"] > 0).sum())
        alternatives += plan.alternative_decisions["alternative"].nunique()
        committed += int((plan.firmness["committed_units"] > 0).sum())
    assert {"firm", "open"} <= labels and committed > 0
    assert wide > 0 and alternatives > 0


def test_the_headline_names_firm_and_open_starts() -> None:
    plan, _ = _within(INSTANCES["upgrades_mid_gordon"](), 0.01)
    text = firmness_text(plan)
    head = text.splitlines()[0]
    assert head.startswith("Commit now (firm): ") and "; open: " in head
    assert "; later starts can move within: " in head
    assert "power upgrade at A" in head


def test_budget_split_up_front() -> None:
    """Equal shares of SOLVE_SHARE of the budget; too little drops alternatives, then tasks."""
    kept, alts, limit = split_budget(4, 2, 40.0, workers=2)
    assert (kept, alts) == (4, 2)
    assert limit == pytest.approx(SOLVE_SHARE * 40.0 / 4 - RESOLVE_OVERHEAD)
    kept, alts, limit = split_budget(10, 2, 6.0)
    assert alts == 0 and 0 < kept < 10 and limit >= MIN_RESOLVE_SECONDS
    assert SOLVE_SHARE * 6.0 / (kept + 1) - RESOLVE_OVERHEAD < MIN_RESOLVE_SECONDS
    assert split_budget(3, 1, None, seconds=7.0) == (3, 1, 7.0)


def test_description_in_business_words() -> None:
    def frame(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=["site", "start_quarter", "halls"])

    plan = frame([("Corsicana", "2027Q1", 3), ("Corsicana", "2028Q1", 1),
                  ("Pecos", "2030Q1", 1)])
    other = frame([("Corsicana", "2027Q1", 3), ("Childress", "2029Q3", 1),
                   ("Pecos", "2031Q2", 1)])
    text = describe_difference(plan, other, ["Corsicana", "Childress", "Pecos"])
    assert text == ("Starts Childress in 2029Q3 (1 hall) instead of Corsicana's fourth hall; "
                    "starts Pecos in 2031Q2 instead of 2030Q1")


def _tiny_workbook(path: Path, start: str = "2027Q1", tolerance: float = 0.2) -> Path:
    """support.tiny_tables with a wide firmness tolerance (so alternatives exist), beginning
    at `start` (its later quarters)."""
    tables = tiny_tables()
    settings = tables["Settings"].set_index("key")["value"]
    settings["start_quarter"] = start
    first = QUARTERS.index(start)
    settings["horizon_quarters"] = len(QUARTERS) - first
    settings["firmness_tolerance"] = tolerance
    tables["Settings"] = settings.reset_index()
    tables["Quarters"] = tables["Quarters"].iloc[first:].reset_index(drop=True)
    return write_xlsx(tables, path)


def test_plan_command_writes_firmness_and_alternatives_that_feed_commitments(
        tmp_path: Path) -> None:
    report = tmp_path / "q1-plan.xlsx"
    result = CliRunner().invoke(main, ["plan", str(_tiny_workbook(tmp_path / "q1.xlsx")),
                                       "-o", str(report), "--time-limit", "80", "-q"])
    assert result.exit_code == 0, result.output
    assert "Commit now (firm): " in result.output
    assert "Alternatives within the tolerance:" in result.output
    wb = load_workbook(report)
    assert {"Firmness", "Alternatives"} <= set(wb.sheetnames)
    band = [c for row in wb["Schedule"].iter_rows(min_row=2, max_row=3) for c in row
            if c.border.bottom is not None and c.border.bottom.style == "thick"]
    assert band, "the Schedule draws the timing window"

    start = "2027Q4"
    later = load_portfolio(_tiny_workbook(tmp_path / "q4.xlsx", start=start))
    locked_sets = []
    for alternative in (1, 2):
        rows = read_decisions(report, alternative)
        locked = commitments_from_report(later, report, alternative).commitments
        expected = {(r.site, r.option, r.start_quarter, float(r.halls))
                    for r in rows.itertuples(index=False)
                    if quarter_ordinal(r.start_quarter) < quarter_ordinal(start)}
        got = {(r.site, r.option, r.quarter, float(r.halls))
               for r in locked.itertuples(index=False)}
        assert got == expected
        locked_sets.append(got)
    decisions = commitments_from_report(later, report).commitments
    plan_set = {(r.site, r.option, r.quarter, float(r.halls))
                for r in decisions.itertuples(index=False)}
    assert any(s != plan_set for s in locked_sets), "an alternative locks other starts"

    bad = CliRunner().invoke(main, ["plan", str(tmp_path / "q4.xlsx"), "--no-report",
                                    "--commitments-from", str(report),
                                    "--from-alternative", "9"])
    assert bad.exit_code == 2
    assert "Alternatives" in bad.output and "alternative" in bad.output


def test_no_firmness_and_no_alternatives_skip_the_phase(tmp_path: Path) -> None:
    book = _tiny_workbook(tmp_path / "q1.xlsx")
    result = CliRunner().invoke(main, ["plan", str(book), "--no-report", "--time-limit", "20",
                                       "--no-firmness", "--alternatives", "0"])
    assert result.exit_code == 0, result.output
    assert "Commit now" not in result.stdout and "Alternatives within" not in result.stdout
    assert "firmness" not in result.stderr.splitlines()[-1]
    assert "solver 15 s" in result.stderr.splitlines()[-1]  # 20 s less the why-not's quarter
    lonely = CliRunner().invoke(main, ["plan", str(book), "--no-report",
                                       "--from-alternative", "1"])
    assert lonely.exit_code == 2 and "--commitments-from" in lonely.output


def test_headline_without_any_window() -> None:
    """A plan whose only site began converting before the plan has no window to move."""
    plan, _ = _within(INSTANCES["hall_begun_before_plan"](), 0.01)
    assert plan.timing_windows is not None and not len(plan.timing_windows)
    assert "later starts can move within: none" in firmness_text(plan).splitlines()[0]
