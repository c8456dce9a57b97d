"""Live progress of the long commands (`plan`, `compare`, `sweep`), written to stderr.

Three modes, one rule each:
- `bar`: on a terminal, a tqdm bar per phase: elapsed seconds against the phase's budget and, while
  HiGHS runs, its best NPV, proven bound and gap, refreshed twice a second;
- `lines`: without a terminal (a pipe, a log file, CI), one plain line when a phase begins, then a
  line every `every` seconds (default 5) and one when it ends: no carriage returns;
- `quiet` (`--quiet`): nothing; the commands' results, warnings and errors still print.

A phase is named and has a stated budget in seconds (None: no budget, elapsed only). The solver
figures reach a phase through `Console.solver(seconds, bound, objective)`, the hook
`optimizer.solve.highs.HighsRunner.solve` calls from HiGHS's callbacks; only a background thread
of this module writes to the stream, so HiGHS's threads never wait for the terminal.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, Protocol, TextIO

Mode = Literal["auto", "bar", "lines", "quiet"]


class Reporter(Protocol):
    """What a long computation tells of its progress (a `Console` is one): each phase by name
    with its budget in seconds, and the solver's figures as they improve."""

    def begin(self, name: str, budget: float | None = None) -> None: ...

    def solver(self, seconds: float, bound: float, objective: float) -> None: ...

REFRESH_SECONDS = 0.5  # bar refresh period
LINE_SECONDS = 5.0  # without a terminal, a line this often


def _money(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{'-' if value < 0 else ''}${abs(value):,.1f}M"


def solver_figures(objective: float, bound: float) -> str:
    """`best NPV $6,746.1M, bound $6,921.9M, gap 2.61%` (what HiGHS has so far)."""
    if not math.isfinite(objective):
        return "no plan yet" + (f", bound {_money(bound)}" if math.isfinite(bound) else "")
    text = f"best NPV {_money(objective)}"
    if math.isfinite(bound):
        gap = max(0.0, bound - objective) / max(abs(objective), 1e-9)  # as highs.relative_gap
        text += f", bound {_money(bound)}, gap {gap:.2%}"
    return text


def _own_stderr() -> TextIO:
    """A stream of our own on the process's stderr. Pyomo captures file descriptors 1 and 2
    into the solver log while HiGHS runs; a duplicate of descriptor 2 taken now still reaches
    the terminal. Falls back to `sys.stderr` when it has no descriptor (tests)."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return sys.stderr
    return open(os.dup(fd), "w", buffering=1, encoding=sys.stderr.encoding or "utf-8",
                errors="replace")


def _columns(stream: TextIO) -> int:
    """The terminal's width behind `stream`, 0 when it tells none."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 0


class Console:
    """Progress on `stream` (default stderr) in one of the modes above; `auto` picks `bar` on a
    terminal and `lines` otherwise."""

    def __init__(self, mode: Mode = "auto", stream: TextIO | None = None,
                 every: float = LINE_SECONDS) -> None:
        self.stream = stream if stream is not None else _own_stderr()
        if mode == "auto":
            isatty = getattr(self.stream, "isatty", None)
            mode = "bar" if callable(isatty) and isatty() else "lines"
        self.mode: Mode = mode
        self.every = float(every)
        self._lock = threading.Lock()
        self._name = ""
        self._budget: float | None = None
        self._began = 0.0
        self._figures = ""
        self._bar: Any = None
        self._last_line = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def quiet(self) -> bool:
        return self.mode == "quiet"

    def say(self, message: str) -> None:
        """One line of progress (not a result): shown unless quiet."""
        if self.quiet:
            return
        with self._lock:
            if self._bar is not None:
                self._bar.write(message, file=self.stream)
            else:
                print(message, file=self.stream, flush=True)

    def begin(self, name: str, budget: float | None = None) -> None:
        """End the running phase (if any) and begin phase `name` with `budget` seconds."""
        self.end()
        if self.quiet:
            return
        with self._lock:
            self._name, self._budget, self._figures = name, budget, ""
            self._began = self._last_line = time.perf_counter()
            if self.mode == "bar":
                from tqdm import tqdm

                total = budget if budget is not None and budget > 0 else None
                width = _columns(self.stream)  # a terminal that tells no width gets 100
                self._bar = tqdm(total=total, desc=name, file=self.stream, leave=True,
                                 dynamic_ncols=width >= 40, ncols=None if width >= 40 else 100,
                                 bar_format="{desc}: {bar}| {n:.0f}/{total:.0f} s{postfix}"
                                 if total else "{desc}: {n:.0f} s{postfix}")
            else:
                limit = f" (budget {budget:.3g} s)" if budget is not None else ""
                print(f"{name}{limit}", file=self.stream, flush=True)
        self._stop.clear()
        self._thread = threading.Thread(target=self._tick, daemon=True)
        self._thread.start()

    def end(self, how: str = "done in") -> None:
        """End the running phase: its last figures and the time it took (`how`: "done in", or
        "stopped after" when it ended by an error or Ctrl-C)."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        with self._lock:
            elapsed = time.perf_counter() - self._began
            if self._bar is not None:
                self._bar.n = min(elapsed, self._bar.total) if self._bar.total else elapsed
                self._bar.set_postfix_str(self._figures, refresh=False)
                self._bar.close()
                self._bar = None
            else:
                tail = f": {self._figures}" if self._figures else ""
                print(f"{self._name}: {how} {elapsed:.1f} s{tail}", file=self.stream,
                      flush=True)

    @contextmanager
    def phase(self, name: str, budget: float | None = None) -> Iterator[Console]:
        """`with console.phase("solve", 45): ...` = begin, then end however the block exits."""
        self.begin(name, budget)
        try:
            yield self
        except BaseException:
            self.end("stopped after")
            raise
        self.end()

    def solver(self, seconds: float, bound: float, objective: float) -> None:
        """HiGHS's figures so far (the `on_progress` hook of `HighsRunner.solve`); shown at the
        next refresh. Seconds are HiGHS's own and ignored: the phase's clock is the wall."""
        del seconds
        self._figures = solver_figures(objective, bound)

    def _tick(self) -> None:
        period = REFRESH_SECONDS if self.mode == "bar" else min(REFRESH_SECONDS, self.every)
        while not self._stop.wait(period):
            with self._lock:
                now = time.perf_counter()
                elapsed = now - self._began
                if self._bar is not None:
                    total = self._bar.total
                    self._bar.n = min(elapsed, total) if total else elapsed
                    self._bar.set_postfix_str(self._figures, refresh=False)
                    self._bar.refresh()
                elif now - self._last_line >= self.every:
                    self._last_line = now
                    limit = f" of {self._budget:.3g} s" if self._budget is not None else ""
                    tail = f", {self._figures}" if self._figures else ""
                    print(f"{self._name}: {elapsed:.0f} s{limit}{tail}", file=self.stream,
                          flush=True)


def counter_bar(total: int, *, unit: str, desc: str, enabled: bool = True) -> Any:
    """A tqdm counter (scenarios, solves) for stderr, by the same rule as `Console`: redrawn in
    place on a terminal; without one, a plain line at most every LINE_SECONDS (no carriage
    returns); nothing when not `enabled` (--quiet)."""
    from tqdm import tqdm

    if not enabled or sys.stderr.isatty():
        return tqdm(total=total, unit=unit, desc=desc, disable=not enabled, dynamic_ncols=True)
    return tqdm(total=total, unit=unit, desc=desc, file=_Lines(sys.stderr),
                mininterval=LINE_SECONDS, ncols=80, ascii=True)


class _Lines:
    """A stream for tqdm that turns its carriage-return redraws into whole lines."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        line = text.replace("\r", "").strip()
        if line:
            print(line, file=self.stream, flush=True)

    def flush(self) -> None:
        self.stream.flush()
