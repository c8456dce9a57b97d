"""benchmarks/fingerprint.py's canonical forms and comparison (no solve): equal plans give equal
digests whatever their row order or float noise below 1e-6, and `compare` flags any field."""

from __future__ import annotations

import math

import pandas as pd

from benchmarks.fingerprint import compare, digest, plan_payload, rounded, same


def frames(order: list[int], noise: float = 0.0) -> tuple[pd.DataFrame, ...]:
    """A two-start plan (rows in `order`), one upgrade, mining of two sites over two quarters."""
    halls = pd.DataFrame({"site": ["A", "B"], "option": ["dlc", "air"],
                          "start_quarter": ["2027Q1", "2028Q2"], "halls": [2, 1]}).iloc[order]
    upgrades = pd.DataFrame({"site": ["A"], "kind": ["cooling"], "start_quarter": ["2027Q3"],
                             "units": [1.0]})
    mining = pd.DataFrame([[10.0 + noise, -0.0], [5.5, 0.0]], index=["A", "B"],
                          columns=["2027Q1", "2027Q2"])
    return halls, upgrades, mining


def test_digest_ignores_row_order_negative_zero_and_noise_below_1e_6() -> None:
    base = digest(plan_payload(*frames([0, 1])))
    assert digest(plan_payload(*frames([1, 0], noise=1e-9))) == base
    assert digest(plan_payload(*frames([0, 1], noise=1e-5))) != base
    assert rounded(-1e-9) == rounded(0.0) == "0.000000"


def test_compare_flags_a_one_ulp_npv_and_names_detail_fields() -> None:
    old = [{"case": "a", "npv": 1.5, "bound": math.nan, "decisions_sha256": "x",
            "detail": {"eev": 1.0, "ws": 2.0}},
           {"case": "b", "npv": 2.0, "decisions_sha256": "y"}]
    assert compare(old, old)[1]
    changed = [dict(old[0], npv=math.nextafter(1.5, 2.0), detail={"eev": 1.0, "ws": 3.0})]
    text, all_same = compare(changed, old)
    assert not all_same and "npv, detail: ws" in text and "in the other file only: b" in text
    assert same({"x": [math.nan]}, {"x": [math.nan]}) and not same(0.1, 0.1 + 1e-17 * 10)
