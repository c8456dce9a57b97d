"""`HighsModel`: a model given as arrays (the decomposition's pricing MILPs, master LP and MIP
over columns), maximised, quiet, in a HiGHS instance of its own."""

from __future__ import annotations

import highspy
import numpy as np

from optimizer.solve.highs.meter import Meter
from optimizer.solve.highs.run import INF, RunResult, run_result
from optimizer.solve.options import EffortClock


class HighsModel:
    """A HiGHS model given as arrays, maximised, with HiGHS's output off.

    `threads` (at least 1) and `seed` are HiGHS's options; `options` any others
    (`mip_rel_gap=1e-6`, `presolve="off"`, ...). Bounds of +-INF are free.
    """

    def __init__(self, *, threads: int = 1, seed: int = 0, clock: EffortClock | None = None,
                 **options: float | int | str | bool) -> None:
        self.clock = clock  # charged each run's effort (None: not counted)
        self._highs = highspy.Highs()
        self._highs.setOptionValue("output_flag", False)
        self._highs.setOptionValue("threads", max(1, int(threads)))
        self._highs.setOptionValue("random_seed", int(seed))
        for name, value in options.items():
            self._highs.setOptionValue(name, value)
        self._highs.changeObjectiveSense(highspy.ObjSense.kMaximize)

    def set_option(self, name: str, value: float | int | str | bool) -> None:
        self._highs.setOptionValue(name, value)

    def load(self, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray, integer: np.ndarray,
             row_lower: np.ndarray, row_upper: np.ndarray,
             matrix: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        """Replace the model: max cost . x, lower <= x <= upper (x integer where `integer`),
        row_lower <= A x <= row_upper with A given column-wise (CSC: starts, rows, values)."""
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = len(cost), len(row_lower)
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lower, upper
        lp.row_lower_, lp.row_upper_ = row_lower, row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = matrix
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = len(cost), len(row_lower)
        lp.sense_ = highspy.ObjSense.kMaximize
        if integer.any():
            lp.integrality_ = [highspy.HighsVarType.kInteger if i
                               else highspy.HighsVarType.kContinuous for i in integer]
        self._highs.passModel(lp)

    def add_rows(self, lower: np.ndarray, upper: np.ndarray) -> None:
        """Append empty rows lower <= . <= upper (columns added later fill them)."""
        self._highs.addRows(len(lower), lower, upper, 0, np.zeros(len(lower), dtype=np.int32),
                            np.zeros(0, dtype=np.int32), np.zeros(0))

    def add_column(self, cost: float, lower: float, upper: float, rows: np.ndarray,
                   values: np.ndarray) -> None:
        """Append one column with its nonzeros `values` in `rows`."""
        self._highs.addCol(float(cost), float(lower), float(upper), len(rows),
                           np.asarray(rows, dtype=np.int32), np.asarray(values, dtype=float))

    def set_costs(self, cost: np.ndarray) -> None:
        """New objective coefficients of every column."""
        n = len(cost)
        self._highs.changeColsCost(n, np.arange(n, dtype=np.int32),
                                   np.asarray(cost, dtype=float))

    def set_column_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        cols = np.asarray(cols, dtype=np.int32)
        self._highs.changeColsBounds(len(cols), cols,
                                     np.broadcast_to(np.asarray(lower, float), cols.shape),
                                     np.broadcast_to(np.asarray(upper, float), cols.shape))

    def set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int32)
        change = self._highs.changeRowsBounds  # type: ignore[attr-defined]  # not in the stubs
        change(len(rows), rows, np.asarray(lower, float), np.asarray(upper, float))

    def set_start(self, values: np.ndarray, cols: np.ndarray | None = None) -> None:
        """A MIP start for the next run: `values` of columns `cols` (None: all, in order)."""
        cols = np.arange(len(values), dtype=np.int32) if cols is None \
            else np.asarray(cols, dtype=np.int32)
        self._highs.setSolution(len(cols), cols, np.asarray(values, dtype=np.float64))

    def clear_solution(self) -> None:
        """Forget the last solution, basis and MIP start (the model stays)."""
        self._highs.clearSolver()

    def run(self, time_limit: float | None = None, *, duals: bool = False) -> RunResult:
        """Solve within `time_limit` effort seconds if given (`Meter`; a MIP stops on its
        work, the wall clock is its safety cap); `duals`: also return the row duals."""
        if time_limit is None:
            self._highs.setOptionValue("time_limit", INF)
            status = self._highs.run()
            if self.clock is not None:
                self.clock.add(Meter(self._highs, 0.0).spent())
            return run_result(self._highs, status, duals)
        with Meter(self._highs, time_limit, self.clock) as meter:
            status = self._highs.run()
        return run_result(self._highs, status, duals, meter.termination())
