"""A plan's decisions as arrays over the candidates of one `models.economics.Economics`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Decisions:
    """Units started per candidate and MW mined: what every method returns and every reader
    (valuation, report frames, sweeps) takes.

    - ``halls`` (C,): halls started as each hall candidate of ``econ.halls`` (whole numbers);
    - ``modules`` (K,): cooling modules started as each candidate of ``econ.cooling``;
    - ``upgrades`` (U,): 0 or 1 per power-upgrade candidate of ``econ.power``;
    - ``mining`` (S, T): MW of miners running at each site in each quarter.
    """

    halls: np.ndarray
    modules: np.ndarray
    upgrades: np.ndarray
    mining: np.ndarray

    def with_mining(self, mining: np.ndarray) -> Decisions:
        """The same builds with another mining dispatch."""
        return Decisions(self.halls, self.modules, self.upgrades, mining)
