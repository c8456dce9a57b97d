"""What a solve produced, in sitepivot's own words: the status (what plan exists) and the
termination (why the solver stopped). Both are StrEnums whose values are the words the report's
Summary sheet, the sweep and compare tables and other tools read ("optimal", "feasible", ...),
so a member compares equal to its word and is written as it.

HiGHS's own codes are mapped to these once, in the HiGHS boundary (`optimizer.solve.highs`).

Why here and not in `optimizer.solve`: a `Plan` (`optimizer.plan`) carries a Status and the
solvers build Plans, so both read this module and neither package imports the other's.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """What solution exists."""

    OPTIMAL = "optimal"  # a plan proven within the requested gap
    FEASIBLE = "feasible"  # a plan whose gap is larger: a limit stopped the search
    INFEASIBLE = "infeasible"  # proven: no plan satisfies every constraint
    NO_SOLUTION = "no_solution"  # no plan found before the solver stopped
    ERROR = "error"  # the solver failed, or its answer did not check out


class Termination(StrEnum):
    """Why the solver stopped."""

    OPTIMAL = "optimal"  # the requested gap is proven
    EFFORT_LIMIT = "effort_limit"  # the solve's effort is spent (deterministic: reproducible)
    TIME_LIMIT = "time_limit"  # the wall-clock safety cap stopped it: not reproducible
    ITERATION_LIMIT = "iteration_limit"  # also HiGHS's solution limit
    OBJECTIVE_LIMIT = "objective_limit"
    INTERRUPTED = "interrupted"  # a stop rule (`should_stop`) or Ctrl-C
    INFEASIBLE = "infeasible"
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    UNBOUNDED = "unbounded"
    INCONSISTENT_OBJECTIVE = "inconsistent_objective"  # the objective reported is not the plan's
    ERROR = "error"
    UNKNOWN = "unknown"


PLANNED = frozenset({Status.OPTIMAL, Status.FEASIBLE})  # the statuses that carry a plan


def has_plan(status: str) -> bool:
    """True when the status carries a plan: optimal or feasible (a member or its word)."""
    return status in PLANNED


def status_of(termination: Termination, has_solution: bool) -> Status:
    """The status of a solve from why it stopped and whether it holds a solution.

    A solution is optimal only when the termination is; any other solution is feasible. Without
    one: infeasible when infeasibility is proven (or infeasible-or-unbounded: the objective of
    these models is bounded), error when the solver failed or does not say, else no_solution
    (a limit or a stop came first).
    """
    if has_solution:
        return Status.OPTIMAL if termination == Termination.OPTIMAL else Status.FEASIBLE
    if termination in (Termination.INFEASIBLE, Termination.INFEASIBLE_OR_UNBOUNDED):
        return Status.INFEASIBLE
    if termination in (Termination.ERROR, Termination.UNKNOWN):
        return Status.ERROR
    return Status.NO_SOLUTION
