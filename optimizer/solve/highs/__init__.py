"""The one package that talks to HiGHS: only its modules import highspy or read Pyomo's solver
internals (`_solver_model`, `_pyomo_var_to_solver_var_map`).

Two doors:
- `HighsRunner` (`runner`): a Pyomo model in a persistent HiGHS instance (Pyomo's `highs`
  interface). `solve` is the audited solve every method ends with; the column methods
  (`columns`, `column_bounds`, `set_column_bounds`, `objective_coefficients`, `column_values`,
  `load_column_values`, `set_start_columns`, `run_columns`) let a search change the model in
  place and re-solve it quietly, in HiGHS's column order, without a rebuild.
- `HighsModel` (`model`): a model given as arrays (the decomposition's pricing MILPs, master LP
  and MIP over columns), maximised, quiet.

Both stop a run on its effort (`meter.Meter`, HiGHS's callbacks counted) and name why it stopped
from the one map of HiGHS's statuses (`run.TERMINATION`). Why it stopped and what solution
exists are kept apart, in sitepivot's own words: a time-limited run that has a plan is
`feasible` with a gap, never `optimal`.

Import from here (`from optimizer.solve.highs import HighsRunner`): the modules are this
package's inside.
"""

from optimizer.solve.highs.meter import ITERATIONS_PER_CHECK, Meter, StopRule, work_scale
from optimizer.solve.highs.model import HighsModel
from optimizer.solve.highs.run import (
    DEFAULT_THREADS,
    INF,
    TERMINATION,
    RunResult,
    reset_thread_scheduler,
    termination_of,
    threads_of,
)
from optimizer.solve.highs.runner import (
    NO_AUTO_UPDATES,
    HighsRunner,
    HighsTwin,
    ProgressHook,
    SearchHelper,
    SolveOutcome,
    relative_gap,
)

__all__ = [
    "DEFAULT_THREADS",
    "INF",
    "ITERATIONS_PER_CHECK",
    "NO_AUTO_UPDATES",
    "TERMINATION",
    "HighsModel",
    "HighsRunner",
    "HighsTwin",
    "Meter",
    "ProgressHook",
    "RunResult",
    "SearchHelper",
    "SolveOutcome",
    "StopRule",
    "relative_gap",
    "reset_thread_scheduler",
    "termination_of",
    "threads_of",
    "work_scale",
]
