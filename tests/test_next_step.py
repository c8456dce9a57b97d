"""A next step after a time-limited plan, from what the solve measured (`next_step`)."""

from __future__ import annotations

from types import SimpleNamespace

from optimizer.reports.summary import next_step


def _plan(trace: list[tuple[float, float, float]], *, status: str = "feasible",
          method: str = "neighbourhood", recommended: str = "neighbourhood"
          ) -> SimpleNamespace:
    _, bound, npv = trace[-1]
    return SimpleNamespace(status=status, gap=(bound - npv) / npv, mip_gap_requested=0.001,
                           solver_trace=trace, time_limit_s=45.0, timings={"solve": 45.0},
                           method=method, recommended_method=recommended)


def test_an_optimal_plan_needs_no_next_step() -> None:
    assert next_step(_plan([(1.0, 100.0, 100.0)], status="optimal")) == ""


def test_a_bound_still_moving_asks_for_more_time() -> None:
    """Gap 20 at 20 s, 10 at 45 s: half of it closed in the last half: more time."""
    text = next_step(_plan([(5.0, 130.0, 100.0), (20.0, 120.0, 100.0), (45.0, 115.0, 105.0)]),
                     time_limit=60.0)
    assert text.startswith("Next step: the plan is within 9.52% of the best possible (asked: "
                           "0.1%). Over the last half of the solve it closed 50% of the gap")
    assert "more time would likely help, e.g. --time-limit 120." in text
    assert "rerun with --mip-gap 0.096." in text


def test_a_stalled_bound_says_more_time_is_unlikely_to_help() -> None:
    trace = [(5.0, 102.0, 100.0), (30.0, 101.9, 100.0), (45.0, 101.9, 100.0)]
    text = next_step(_plan(trace))
    assert "closed only 5% of the gap: more time is unlikely to help much" in text
    assert "--mip-gap 0.019" in text and "--method" not in text  # neighbourhood already ran
    assert "Or try --method neighbourhood." in next_step(_plan(trace, method="monolithic"))
    # 100 sites or more: the solver recommends the decomposition (`Plan.recommended_method`).
    assert "Or try --method decomposition." in next_step(_plan(trace, method="monolithic",
                                                               recommended="decomposition"))
    assert "--method" not in next_step(_plan(trace, method="decomposition",
                                             recommended="decomposition"))
