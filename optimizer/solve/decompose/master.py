"""The decomposition's master problems over site schedules (columns): the restricted master LP
(`Master`: coupling rows, one convexity row per site, artificial slacks), whose duals price the
sites, and the MIP choosing one column per site (`column_mip`). Units: $M, MW, quarters."""

from __future__ import annotations

import numpy as np

from optimizer.solve.decompose.formulation import Coupling, Formulation, SiteColumn
from optimizer.solve.highs import DEFAULT_THREADS, INF, HighsModel
from optimizer.solve.options import EffortClock

ARTIFICIAL_PENALTY = 1e6  # $M per unit of coupling-row violation in the master (phase 1)


# --------------------------------------------------------------------------- master
class Master:
    """The restricted master LP in highspy; columns are appended, the basis warm-starts."""

    def __init__(self, coupling: Coupling, n_sites: int) -> None:
        self.r = len(coupling)
        self.n_sites = n_sites
        h = HighsModel()
        h.add_rows(np.concatenate([np.full(self.r, -INF), np.ones(n_sites)]),
                   np.concatenate([coupling.rhs, np.ones(n_sites)]))
        for i in range(self.r):  # artificial slack of each coupling row
            h.add_column(-ARTIFICIAL_PENALTY, 0.0, INF, np.array([i]), np.array([-1.0]))
        self.highs = h
        self.n_artificial = self.r
        self.columns: list[SiteColumn] = []

    def add(self, col: SiteColumn) -> None:
        nz = np.flatnonzero(np.abs(col.activity) > 1e-12)
        idx = np.concatenate([nz, [self.r + col.site]]).astype(np.int32)
        vals = np.concatenate([col.activity[nz], [1.0]])
        self.highs.add_column(col.value, 0.0, INF, idx, vals)
        self.columns.append(col)

    def solve(self) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, float]:
        """(objective, pi (R), mu (S), lambda per column, artificial total)."""
        run = self.highs.run(duals=True)
        # The artificial slacks keep the coupling rows feasible; a site without any column
        # leaves its convexity row unmet, and these are then HiGHS's last iterate, until the
        # site's pricing gives it a column or finds it has none.
        assert run.values is not None and run.duals is not None  # always given with duals
        duals, values = run.duals, run.values
        pi = np.clip(duals[:self.r], 0.0, None)
        return (run.objective, pi, duals[self.r:], values[self.n_artificial:],
                float(values[:self.n_artificial].sum()))

    def set_weight_bounds(self, j: int, lower: float, upper: float) -> None:
        """Bounds of pool column j's weight lambda_j (the dive fixes and forbids columns)."""
        self.highs.set_column_bounds(np.array([self.n_artificial + j]), np.array([lower]),
                                     np.array([upper]))



# --------------------------------------------------------------------------- column MIP
def column_mip(prob: Formulation, pool: list[SiteColumn], incumbent: list[int] | None,
                time_limit: float, gap: float, threads: int, seed: int,
                clock: EffortClock | None = None) -> tuple[list[int] | None, float, float]:
    """Best choice of one pool column per site meeting the coupling rows (mining re-chosen
    within each column's power room). Returns (chosen pool positions, objective, bound)."""
    coupling = prob.coupling
    floors = coupling.floor_quarters
    r_keep = len(coupling) - len(floors)  # budget, start and demand rows
    n_sites, nf = prob.n_sites, len(floors)
    # Rows: kept coupling rows, floor rows (S-sum of mining >= floor), link rows
    # (mining[s, t] <= sum lambda mine_cap), convexity rows.
    mv = prob.mining_value
    starts, index, value, cost = [0], [], [], []
    positive = np.where(prob.floor_mask[None, :], 0.0, np.clip(mv, 0.0, None))
    for col in pool:
        a = col.activity[:r_keep]
        nz = np.flatnonzero(np.abs(a) > 1e-12)
        link = r_keep + nf + col.site * nf + np.arange(nf)
        index += [nz, link, [r_keep + nf + n_sites * nf + col.site]]
        value += [a[nz], -col.mine_cap[floors], [1.0]]
        starts.append(starts[-1] + len(nz) + nf + 1)
        cost.append(col.build_value + float(positive[col.site] @ col.mine_cap))
    for s in range(n_sites):  # mining variables of floor quarters
        for i, t in enumerate(floors):
            index += [[r_keep + i, r_keep + nf + s * nf + i]]
            value += [[1.0, 1.0]]
            starts.append(starts[-1] + 2)
            cost.append(float(mv[s, t]))
    n_lambda = len(pool)
    n_cols = n_lambda + n_sites * nf
    row_lower = np.concatenate([np.full(r_keep, -INF), -coupling.rhs[r_keep:],
                                np.full(n_sites * nf, -INF), np.ones(n_sites)])
    row_upper = np.concatenate([coupling.rhs[:r_keep], np.full(nf, INF),
                                np.zeros(n_sites * nf), np.ones(n_sites)])
    mining_cap = np.array([p.mining_cap for p in prob.pricers])
    upper = np.concatenate([np.ones(n_lambda), np.repeat(mining_cap, nf)])
    integer = np.concatenate([np.ones(n_lambda, dtype=bool), np.zeros(n_sites * nf, dtype=bool)])
    matrix = (np.array(starts, dtype=np.int32),
              np.concatenate([np.asarray(i, dtype=np.int32) for i in index]),
              np.concatenate([np.asarray(v, dtype=float) for v in value]))
    h = HighsModel(threads=threads or DEFAULT_THREADS, seed=seed, mip_rel_gap=float(gap),
                   clock=clock)
    h.load(np.array(cost), np.zeros(n_cols), upper, integer, row_lower, row_upper, matrix)
    if incumbent is not None:
        h.set_start(np.ones(len(incumbent)), np.array(incumbent))
    run = h.run(max(0.1, float(time_limit)))
    if run.values is None:
        return None, -INF, run.bound
    lam = run.values[:n_lambda]
    chosen = [-1] * n_sites
    for j in np.flatnonzero(lam > 0.5):
        chosen[pool[j].site] = int(j)
    return chosen, run.objective, run.bound


