"""Domain errors, each mapped once to a CLI exit code (see `optimizer.cli`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class InputProblem:
    """One thing wrong with the input: where it is, what was found, what was expected."""

    sheet: str
    cell: str  # an Excel reference such as "D7", a row "row 7", or "" for the whole sheet
    column: str
    value: object
    expected: str

    def __str__(self) -> str:
        where = f"{self.sheet}!{self.cell}" if self.cell else self.sheet
        col = f" [{self.column}]" if self.column else ""
        val = "" if self.value is None else f" value {shown_value(self.value)}:"
        return f"{where}{col}:{val} {self.expected}"


def shown_value(value: object) -> str:
    """A cell's value as a reader knows it: text quoted, numbers as they are, and a date (an
    Excel date cell) as `2027-07-01 (a date)`, never Python's `datetime.datetime(...)`."""
    if isinstance(value, dt.datetime):
        text = value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
        return f"{text} (a date)"
    if isinstance(value, dt.date):
        return f"{value.isoformat()} (a date)"
    return repr(value)


class SitepivotError(Exception):
    """Base of every error sitepivot reports to a user without a traceback."""

    exit_code = 1


class InputError(SitepivotError):
    """The input has one or more problems; all of them are listed."""

    exit_code = 2

    def __init__(self, problems: Sequence[InputProblem | str], source: str = "") -> None:
        self.problems = list(problems)
        self.source = source
        head = f"{source}: " if source else ""
        n = len(self.problems)
        lines = [f"{head}{n} problem{'s' if n != 1 else ''} found in the input:"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class UsageError(SitepivotError):
    """The command was used wrongly (bad flag value, refusing to overwrite, ...)."""

    exit_code = 2


class InfeasibleError(SitepivotError):
    """No plan satisfies the constraints; `explanation` says what to change, in business words."""

    exit_code = 3

    def __init__(self, message: str, explanation: list[str] | None = None) -> None:
        self.explanation = explanation or []
        text = message
        if self.explanation:
            text += "\n" + "\n".join(f"  - {line}" for line in self.explanation)
        super().__init__(text)


class NoSolutionError(SitepivotError):
    """The solver found no feasible plan within the time limit."""

    exit_code = 4


class SolverError(SitepivotError):
    """The solver failed, or the self-audit of its answer failed."""

    exit_code = 5
