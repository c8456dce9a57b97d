"""Explanations as sure as their proof: a why-not cost from a time-limited re-solve is a range,
the same on the console and in the WhyNot sheet; a point only when the re-solve is proven."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

import optimizer.replan.replan as replan
from optimizer.replan.replan import WHY_NOT_COLUMNS, cost_phrase, explanation_text


def test_a_proven_re_solve_is_a_point() -> None:
    assert cost_phrase(19.4, 19.5, 19.5) == "costs $19.5M"


def test_a_time_limited_re_solve_is_a_range() -> None:
    assert cost_phrase(12.0, 79.3, None) == "costs at least $12.0M, at most $79.3M"


def test_a_bound_that_allows_no_loss_says_so() -> None:
    assert cost_phrase(-3.0, 79.3, None) == \
        "costs at most $79.3M; it is not proven to cost anything"
    assert cost_phrase(None, 79.3, None) == \
        "costs at most $79.3M; it is not proven to cost anything"


def test_a_better_forced_plan_is_called_better() -> None:
    assert cost_phrase(-9.0, -3.1, None) == "gives a plan $3.1M better than this one"
    # what prints as $0.0M is said as nothing, never "a plan $0.0M better"
    assert cost_phrase(None, None, -0.01) == "costs nothing: another plan is as good"
    assert cost_phrase(-1.0, 0.02, None) == "costs nothing: another plan is as good"


def _row(**values: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(WHY_NOT_COLUMNS)
    row.update(site="Denton", reason="outcompeted for budget", explanation="best single hall")
    row.update(values)
    return row


def _forced() -> SimpleNamespace:
    """What `optimize` returns for a forced re-solve stopped by its effort (15 s)."""
    return SimpleNamespace(status="feasible", objective_npv_musd=6_711.4, bound_musd=6_880.0,
                           gap=0.0251, effort_s=15.0,
                           timings={"economics": 0.1, "build": 0.4})


def _plan() -> SimpleNamespace:
    return SimpleNamespace(
        objective_npv_musd=6_790.7, bound_musd=6_870.0, mip_gap_requested=0.001,
        decisions=pd.DataFrame(columns=["site", "option", "start_quarter", "halls"]),
        why_not=None, timing_value=None, baseline_metrics=None, baseline_changes=None)


def test_console_and_sheet_state_the_same_range(monkeypatch: pytest.MonkeyPatch) -> None:
    """The re-solve stopped with a 2.51% gap: the sheet row and the console line both give
    'at least (plan NPV - lower of the two bounds), at most (plan NPV - forced NPV)'."""
    import optimizer.solve.optimize as solve_module

    monkeypatch.setattr(solve_module, "optimize", lambda *a, **k: _forced())
    monkeypatch.setattr(replan, "as_mip_start", lambda frame: frame)
    econ = SimpleNamespace(halls=SimpleNamespace(option=[0], tau=[1]))
    portfolio = SimpleNamespace(
        option_names=["dlc"], settings=SimpleNamespace(start_quarter="2027Q1"),
        commitments=pd.DataFrame(columns=["site", "option", "quarter", "halls", "action"]))
    portfolio.replace = lambda **_: portfolio
    plan = _plan()
    plan.portfolio = portfolio
    row = _row()
    replan._force(plan, econ, row, 0, 15.0)  # type: ignore[arg-type]
    at_least, at_most = 6_790.7 - 6_870.0, 6_790.7 - 6_711.4
    assert row["npv_lost_musd"] is None  # no point: not proven
    assert row["npv_lost_at_least_musd"] == pytest.approx(at_least)
    assert row["npv_lost_at_most_musd"] == pytest.approx(at_most)
    phrase = "costs at most $79.3M; it is not proven to cost anything"
    assert f"forcing it {phrase} (forced re-solve stopped at its effort of 15 s, gap 2.51%)" in \
        str(row["explanation"])
    plan.why_not = pd.DataFrame([row], columns=WHY_NOT_COLUMNS)
    text = explanation_text(plan)  # type: ignore[arg-type]
    assert f"Denton: outcompeted for budget, forcing its best hall {phrase}" in text
    assert "costs $79.3M" not in text  # never the firmer point


def test_a_positive_lower_bound_gives_at_least_and_at_most() -> None:
    row = _row(npv_lost_at_least_musd=12.04, npv_lost_at_most_musd=79.3)
    plan = _plan()
    plan.why_not = pd.DataFrame([row], columns=WHY_NOT_COLUMNS)
    assert "forcing its best hall costs at least $12.0M, at most $79.3M" in \
        explanation_text(plan)  # type: ignore[arg-type]


def test_compare_bars_from_stopped_re_solves_are_ranges() -> None:
    """Old inputs re-solved with a 2.45% gap, the horizon step optimal, lease unchanged: the
    horizon bar lies between its NPV less the old bound and its bound less the old NPV."""
    from optimizer.compare.compare import BRIDGE_COLUMNS, Bridge, Comparison, comparison_text

    steps = pd.DataFrame([
        ["(old inputs re-solved)", "", None, 6743.5, "feasible", 0.0245, 60.0, ""],
        ["horizon", "horizon", 235.1, 6978.6, "optimal", 0.0005, 60.0, ""],
        ["lease", "lease", 0.0, 6978.6, "unchanged", None, 0.0, ""]], columns=BRIDGE_COLUMNS)
    bridge = Bridge(6741.4, 6857.0, 6743.5, 6978.6, steps)
    low = 6978.6 - 6743.5 * 1.0245
    high = 6978.6 * 1.0005 - 6743.5
    assert bridge.bar_ranges() == [pytest.approx((low, high)), None]
    bars = bridge.bars().set_index("bar")
    assert bars.loc["horizon", "at_least_musd"] == pytest.approx(low)
    assert pd.isna(bars.loc["lease", "at_least_musd"])
    changes = pd.DataFrame(columns=["site", "option", "change", "halls", "old_start_quarter"])
    text = comparison_text(Comparison(
        old=SimpleNamespace(path="old.xlsx"), new=SimpleNamespace(path="new.xlsx"),  # type: ignore[arg-type]
        changes=changes, sites=pd.DataFrame(), inputs=pd.DataFrame(), bridge=bridge,
        time_limit=60, mip_gap=None))
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("horizon"))
    assert f"(at least {low:,.2f}, at most {high:,.2f}: a re-solve stopped at its time " \
           "limit)" in line
    lease = next(ln for ln in text.splitlines() if ln.strip().startswith("lease"))
    assert "at least" not in lease
    steps.loc[0, "status"] = "optimal"
    assert Bridge(6741.4, 6857.0, 6743.5, 6978.6, steps).bar_ranges() == [None, None]


def test_value_of_timing_of_a_time_limited_plan_is_a_range() -> None:
    from benchmarks.generate import make_tables
    from optimizer.inputs.validation import portfolio_from_tables
    from optimizer.replan.replan import timing_value
    from optimizer.solve.optimize import optimize

    plan = optimize(portfolio_from_tables(make_tables(8, 40, seed=1)), time_limit=1.0,
                    mip_gap=1e-6, threads=1)
    assert plan.status == "feasible"
    frame = timing_value(plan).set_index("strategy")
    best = frame.loc["best possible (the solver's proven bound)"]
    assert best["npv_musd"] == pytest.approx(plan.bound_musd)
    early = float(frame.loc["every profitable hall as early as possible", "npv_musd"])
    from optimizer.reports.summary import money

    assert (f"choosing the timing is worth at least {money(plan.npv_musd - early)}, at most "
            f"{money(plan.bound_musd - early)} over as early as possible") in best["note"]
    plan.timing_value = timing_value(plan)
    assert f"({best['note']})" in explanation_text(plan)
