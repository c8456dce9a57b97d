"""Firmness of the robust plan's first stage against every first stage of tiny instances.

For each instance and tolerance, `test_robust.first_stage_groups` enumerates every plan with the
independent evaluator of `tests.reference`, groups them by first stage and values each group
in every future (its recourse enumerated too) by the robust objective. The first stages within
the tolerance are those whose objective is at least the robust plan's less tolerance x |its
objective| (the robust plan stands for the best, as a plan does in `optimizer.replan.firmness`;
with the extensive form at gap 0 it is the best, which is checked). Then
(`optimizer.robust.firmness`):
- the cost range [at least, at most] of not making a start holds its enumerated cost: the
  robust objective less the best objective of the first stages without it;
- a first-stage start labelled `firm` is in every first stage within the tolerance;
- one labelled `open` and proven is missing from at least one of them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from support import tiny_tables, write_xlsx
from test_enumeration import INSTANCES
from test_robust import divergent_futures, first_stage_groups, gamble

from models.portfolio import Portfolio
from optimizer.checkpoint import open_store
from optimizer.cli import main
from optimizer.robust.firmness import FIRMNESS_SHARE, phase_split
from optimizer.robust.futures import Future, robust_futures
from optimizer.robust.plan import RobustPlan
from optimizer.robust.report import robust_text
from optimizer.robust.robust import robust

MARGIN = 1e-5  # $M: no enumerated first stage may lie this close to the floor
LEVEL = 0.2


def three_draws() -> tuple[Portfolio, list[Future]]:
    portfolio = INSTANCES["budget_two_options"]()
    return portfolio, robust_futures(portfolio, draws=3, seed=4)


# name: (instance, K, risk weight)
INSTANCES_ROBUST: dict[str, tuple[Callable[[], tuple[Portfolio, list[Future]]], int, float]] = {
    "divergent": (divergent_futures, 3, 0.0),
    "divergent_cvar": (divergent_futures, 3, 0.5),
    "three_draws": (three_draws, 2, 0.0),
    "gamble": (gamble, 1, 0.0),
}
CASES = [(name, method, tol) for name in INSTANCES_ROBUST
         for method in ("extensive", "decomposition") for tol in (0.01, 0.05)]


def _with_tolerance(portfolio: Portfolio, tolerance: float) -> Portfolio:
    settings = dataclasses.replace(portfolio.settings, firmness_tolerance=tolerance)
    return dataclasses.replace(portfolio, settings=settings)


def _assessed(name: str, method: str, tolerance: float
              ) -> tuple[RobustPlan, list[dict[tuple, float]], dict[tuple, float]]:
    make, k, w = INSTANCES_ROBUST[name]
    portfolio, futures = make()
    plan = robust(_with_tolerance(portfolio, tolerance), futures=futures, commit_quarters=k,
                  time_limit=60, mip_gap=0.0, method=method, risk_weight=w, cvar_level=LEVEL,
                  progress=False)
    groups = first_stage_groups(futures, k, w, LEVEL)
    best = max(score for score, _ in groups.values())
    if method == "extensive":
        assert plan.objective_musd == pytest.approx(best, rel=1e-6)
    rp = plan.objective_musd
    floor = rp - tolerance * abs(rp)
    scores = [score for score, _ in groups.values() if math.isfinite(score)]
    assert all(abs(score - floor) > MARGIN for score in scores), "a first stage on the floor"
    within = [dict(first) for first, (score, _) in groups.items() if score >= floor]
    # What not making each first-stage start costs, exactly: RP less the best first stage
    # without it (infinite when none holds in every future).
    cost = {key: rp - max([score for first, (score, _) in groups.items()
                           if dict(first).get(key, 0) < units - 0.5] or [-math.inf])
            for key, units in plan.first_stage.items()}
    return plan, within, cost


@pytest.mark.parametrize(("name", "method", "tolerance"), CASES)
def test_firm_starts_are_in_every_first_stage_within_the_tolerance(
        name: str, method: str, tolerance: float) -> None:
    plan, within, cost = _assessed(name, method, tolerance)
    assert plan.firmness is not None
    assert set(plan.firmness) == set(plan.first_stage)
    for key, row in plan.firmness.items():
        assert row["npv_cost_at_least_musd"] <= cost[key] + 1e-6, (name, key)
        if row["npv_cost_at_most_musd"] is not None:
            assert cost[key] <= row["npv_cost_at_most_musd"] + 1e-6, (name, key)
        without = [f for f in within if f.get(key, 0) < plan.first_stage[key] - 0.5]
        if row["firmness"] == "firm":
            assert not without, f"{name}: firm {key} is missing from a first stage within"
        else:
            assert row["firmness"] == "open"
            if method == "extensive":  # an exact re-solve proves its answer
                assert row["proven"], f"{name}: {row['note']}"
            if row["proven"]:
                assert without, f"{name}: open {key} is in every first stage within"
        assert row["tolerance_musd"] == pytest.approx(tolerance * abs(plan.objective_musd))
    # The FirstStage frames carry the same labels, row by row.
    t_of = plan.portfolio.t_of
    for r in plan.first_stage_decisions.itertuples(index=False):
        assert r.firmness == plan.firmness[("hall", r.site, r.option, t_of(r.start_quarter))][
            "firmness"]
    for r in plan.first_stage_upgrades.itertuples(index=False):
        assert r.firmness == plan.firmness[(r.kind, r.site, "", t_of(r.start_quarter))][
            "firmness"]


def test_labels_are_not_vacuous() -> None:
    """Both labels occur, each proven, and the decomposition proves some too."""
    seen: set[tuple[str, str, bool]] = set()
    for name, method, tolerance in CASES:
        plan, _, _ = _assessed(name, method, tolerance)
        assert plan.firmness is not None
        seen |= {(method, r["firmness"], bool(r["proven"])) for r in plan.firmness.values()}
    assert ("extensive", "firm", True) in seen and ("extensive", "open", True) in seen
    assert {("decomposition", "firm", True), ("decomposition", "open", True)} & seen


def test_the_console_names_firm_and_open_starts() -> None:
    plan, _, _ = _assessed("divergent", "extensive", 0.01)
    text = robust_text(plan)
    assert "Commit now (firm across the futures): " in text and "; open: " in text
    assert "not making it costs" in text and "firmness of the first stage: " in text
    rows = plan.summary.set_index("metric")
    assert "firmness_tolerance_musd" in rows.index


def test_phase_split_is_fixed_up_front() -> None:
    """Without a budget every re-solve has the per-solve limit; with one, equal shares of
    SOLVE_SHARE of it less the overhead, the last dropped when too short."""
    assert phase_split(5, None, 30.0, 4, 1.0) == (5, 30.0)
    kept, limit = phase_split(4, 40.0, 30.0, 1, 0.5)
    assert kept == 4 and limit == pytest.approx((0.9 * 40.0 - 4 * 0.5) / 4)
    kept, limit = phase_split(10, 5.0, 30.0, 2, 0.5)
    assert 0 < kept < 10 and limit >= 0.5
    assert phase_split(3, 0.1, 30.0, 1, 1.0) == (0, 0.0)


def test_firmness_re_solves_are_kept_and_not_run_again_on_resume(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that kept every solve (as an interrupted one keeps those it finished): resumed,
    it re-solves no firmness re-solve (extensive: kept whole; decomposition: its sub-problems)
    and gives the same labels."""
    import importlib

    methods = importlib.import_module("optimizer.robust.methods")
    recourse = importlib.import_module("optimizer.robust.recourse")
    portfolio, futures = three_draws()
    calls = {"extensive": 0, "recourse": 0}
    for method in ("extensive", "decomposition"):
        path = tmp_path / f"{method}.sqlite"
        store = open_store(path, ("robust", method), resume=False)
        whole = robust(portfolio, futures=futures, commit_quarters=2, time_limit=60,
                       mip_gap=0.0, method=method, progress=False, store=store)
        store.close()
        calls.update(extensive=0, recourse=0)
        real_outcome, real_recourse = methods.extensive_outcome, recourse.solve_recourse

        def outcome(*args: object, _real: Callable = real_outcome, **kwargs: object) -> object:
            calls["extensive"] += 1
            return _real(*args, **kwargs)

        def solve(task: object, _real: Callable = real_recourse) -> object:
            calls["recourse"] += 1
            return _real(task)

        monkeypatch.setattr(methods, "extensive_outcome", outcome)
        monkeypatch.setattr(recourse, "solve_recourse", solve)
        store = open_store(path, ("robust", method), resume=True)
        resumed = robust(portfolio, futures=futures, commit_quarters=2, time_limit=60,
                         mip_gap=0.0, method=method, progress=False, store=store)
        store.close()
        monkeypatch.undo()
        assert calls == {"extensive": 0, "recourse": 0}, method
        assert whole.firmness and resumed.firmness == whole.firmness


def _workbook(path: Path) -> Path:
    tables = tiny_tables()
    settings = tables["Settings"].set_index("key")["value"]
    settings["commit_quarters"] = 3
    tables["Settings"] = settings.reset_index()
    return write_xlsx(tables, path)


def test_cli_writes_the_firmness_columns_and_no_firmness_skips_them(tmp_path: Path) -> None:
    book = _workbook(tmp_path / "in.xlsx")
    out = tmp_path / "r.xlsx"
    args = ["robust", str(book), "--monte-carlo", "2", "--seed", "1", "--time-limit", "30",
            "-q", "-o", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "Commit now (firm across the futures): " in result.stdout
    header = [c.value for c in next(load_workbook(out)["FirstStage"].iter_rows(max_row=1))]
    assert "firmness" in header and "npv_cost_at_least_musd" in header
    skipped = CliRunner().invoke(main, [*args, "--no-firmness", "--force"])
    assert skipped.exit_code == 0, skipped.output
    assert "Commit now (firm" not in skipped.stdout
    header = [c.value for c in next(load_workbook(out)["FirstStage"].iter_rows(max_row=1))]
    assert "firmness" not in header


def test_total_time_keeps_the_firmness_share() -> None:
    portfolio, futures = divergent_futures()
    plan = robust(portfolio, futures=futures, commit_quarters=3, time_limit=60, mip_gap=0.0,
                  method="extensive", progress=False, total_time=40.0)
    assert f"within {FIRMNESS_SHARE * 40.0:.3g} s of the total time" in plan.firmness_phase
    assert plan.budget.total_s == 40.0
