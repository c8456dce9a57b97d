"""One definition of the value of a hall net of the mining it displaces
(`models.economics.hall_net_values`), read by the greedy ranking and by Why-not: for a hall
that needs no upgrade both say the same number, and a site whose grid exceeds its miners is
charged only the miners that no longer fit (docs/economics.md, "Board-ready finance")."""

from __future__ import annotations

import numpy as np
import pytest
from reference import make_portfolio, option, site

from models.economics import build_economics, hall_net_values
from optimizer.replan.replan import single_hall_values
from optimizer.solve.greedy import start_scores


def test_greedy_and_why_not_value_a_hall_alike() -> None:
    # 50 MW of grid, 30 MW of miners: a 12.5 MW hall displaces none of them.
    p = make_portfolio(sites=[site("A", grid_mw=50.0, mining_mw=30.0, halls=1),
                              site("B", grid_mw=30.0, mining_mw=30.0, halls=1)],
                       options=[option("dlc")], horizon=6)
    econ = build_economics(p)
    net = hall_net_values(econ)
    for s in (0, 1):
        table = single_hall_values(econ, s)
        fits = table[table["power_ok"] & table["cooling_ok"]]
        assert len(fits)
        for row in fits.itertuples():
            assert row.net_musd == pytest.approx(net[row.candidate], rel=1e-12)
    at_a = np.flatnonzero(econ.halls.site == 0)
    assert np.array_equal(net[at_a], econ.halls.value[at_a])  # nothing displaced at A
    at_b = np.flatnonzero((econ.halls.site == 1) & (econ.halls.tau == 0))
    assert (net[at_b] < econ.halls.value[at_b]).all()  # 12.5 MW of miners displaced at B
    score = start_scores(econ)
    capex = np.maximum(econ.hall_capex[econ.halls.site, econ.halls.option], 1e-9)
    assert np.allclose(score, np.where(net > 0, net / capex, -1.0))
