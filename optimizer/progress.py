"""Live progress of the long commands (`plan`, `compare`, `sweep`, `robust`), written to stderr.

Three modes, one rule each:
- `bar`: on a terminal, a tqdm bar per phase: elapsed seconds against the phase's budget (or
  tasks done against their count) and, while HiGHS runs, its best NPV, proven bound and gap,
  refreshed twice a second. The line fits the terminal's width (FALLBACK_COLUMNS when the
  terminal tells none) and never cuts a number: the bar goes first, then the longer forms of
  the figures, then the end of the phase's name, at a word. A finished phase's line is
  replaced by what it came to: `solve: done in 45.2 s: best NPV ...`;
- `lines`: without a terminal (a pipe, a log file, CI), one plain line when a phase begins, then a
  line every `every` seconds (default 5) and one when it ends: no carriage returns, no bar
  characters, nothing cut;
- `quiet` (`--quiet`): nothing; the commands' results, warnings and errors still print.

A phase is named and has a stated budget in seconds (None: no budget, elapsed only), or a count
of tasks (`Counter`: scenarios, solves). The solver figures reach a phase through
`Console.solver(seconds, bound, objective)`, the hook `optimizer.solve.highs.HighsRunner.solve`
calls from HiGHS's callbacks; only a background thread of this module writes to the stream, so
HiGHS's threads never wait for the terminal.

From Python, `optimize(..., progress=True)`, `explain_plan(..., progress=True)`, `robust` and
`run_sweep` show the same progress (`reporter` turns the argument into a Console).
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal, Protocol, TextIO, cast

from optimizer.money import money

DisplayMode = Literal["auto", "bar", "lines", "quiet"]


class Reporter(Protocol):
    """What a long computation tells of its progress (a `Console` is one): each phase by name
    with its budget in seconds, the solver's figures as they improve, and the end of a phase."""

    def begin(self, name: str, budget: float | None = None) -> None: ...

    def solver(self, seconds: float, bound: float, objective: float) -> None: ...

    def end(self, how: str = "done in") -> None: ...


REFRESH_SECONDS = 0.5  # bar refresh period
LINE_SECONDS = 5.0  # without a terminal, a line this often
FALLBACK_COLUMNS = 80  # the width of a terminal that tells none (or 0)
BAR_MIN_COLUMNS = 10  # a bar narrower than this is left out


def solver_figures(objective: float, bound: float) -> str:
    """`best NPV $6,746.1M, bound $6,921.9M, gap 2.61%` (what HiGHS has so far)."""
    return solver_figure_forms(objective, bound)[0]


def solver_figure_forms(objective: float, bound: float) -> list[str]:
    """The solver's figures from the longest form to the shortest, for a line that must fit:
    `best NPV $6,746.1M, bound $6,921.9M, gap 2.61%`, `NPV $6,746.1M, gap 2.61%`, `gap 2.61%`.
    Each number is whole in each form; the gap is relative to |NPV| (as `highs.relative_gap`)."""
    if not math.isfinite(objective):
        if math.isfinite(bound):
            return [f"no plan yet, bound {money(bound)}", "no plan yet"]
        return ["no plan yet"]
    best = f"best NPV {money(objective)}"
    if not math.isfinite(bound):
        return [best, f"NPV {money(objective)}"]
    gap = f"gap {max(0.0, bound - objective) / max(abs(objective), 1e-9):.2%}"
    return [f"{best}, bound {money(bound)}, {gap}", f"NPV {money(objective)}, {gap}", gap]


def fit_line(name: str, middle: str, figures: Sequence[str], width: int,
             bar: bool = True) -> tuple[str, str, bool]:
    """The parts of one progress line `name: [bar| ]middle[, figure]` that fit `width`
    columns: (name, figure, with the bar). Rule, in order: the first figure form (longest
    first) with a bar of at least BAR_MIN_COLUMNS, then without the bar, then the next form...;
    with no figure left, the name is cut at a word and ends with "...". Numbers are never cut:
    a line that cannot fit even so is returned whole (the terminal wraps it)."""
    for figure in [*figures, ""]:
        text = len(name) + 2 + len(middle) + (len(figure) + 2 if figure else 0)
        for with_bar in ((True, False) if bar else (False,)):
            if text + (BAR_MIN_COLUMNS + 2 if with_bar else 0) <= width:
                return name, figure, with_bar
    room = width - 2 - len(middle) - 3
    words = name.split(" ")
    while len(words) > 1 and len(" ".join(words)) > room:
        words.pop()
    return (" ".join(words) + "..." if len(words) < len(name.split(" ")) else name), "", False


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
    """The terminal's width behind `stream`; FALLBACK_COLUMNS when it tells none, or 0 (a
    pseudo-terminal without a size)."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = int(os.environ.get("COLUMNS", "0"))
        except ValueError:
            columns = 0
    return columns if columns > 0 else FALLBACK_COLUMNS


def _unicode(stream: TextIO) -> bool:
    """Whether `stream` takes the block characters of a smooth bar; an ASCII bar is drawn in
    `#` only (tqdm's ASCII steps are digits, which would read as figures)."""
    return "utf" in str(getattr(stream, "encoding", None) or "").lower()


def _escape(text: str) -> str:
    """`text` as literal text of a tqdm bar_format."""
    return text.replace("{", "{{").replace("}", "}}")


class Console:
    """Progress on `stream` (default stderr) in one of the modes above; `auto` picks `bar` on a
    terminal and `lines` otherwise."""

    def __init__(self, mode: DisplayMode = "auto", stream: TextIO | None = None,
                 every: float = LINE_SECONDS) -> None:
        self.stream = stream if stream is not None else _own_stderr()
        if mode == "auto":
            isatty = getattr(self.stream, "isatty", None)
            mode = "bar" if callable(isatty) and isatty() else "lines"
        self.mode: DisplayMode = mode
        self.every = float(every)
        self._lock = threading.Lock()
        self._name = ""
        self._budget: float | None = None
        self._count: Counter | None = None
        self._began = 0.0
        self._figures: list[str] = []
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

    def begin(self, name: str, budget: float | None = None, *,
              count: Counter | None = None) -> None:
        """End the running phase (if any) and begin phase `name` with `budget` seconds (or
        the tasks of `count`)."""
        self.end()
        if self.quiet:
            return
        with self._lock:
            self._name, self._budget, self._count, self._figures = name, budget, count, []
            self._began = self._last_line = time.perf_counter()
            if self.mode == "bar":
                from tqdm import tqdm

                bar_format, ncols, n = self._layout()
                self._bar = tqdm(total=1.0, initial=n, file=self.stream, leave=True,
                                 ncols=ncols, bar_format=bar_format, mininterval=0,
                                 ascii=None if _unicode(self.stream) else " #")
            else:
                print(f"{name}{self._opening()}", file=self.stream, flush=True)
        self._stop.clear()
        self._thread = threading.Thread(target=self._tick, daemon=True)
        self._thread.start()

    def rename(self, name: str, announce: bool = True) -> None:
        """The running phase goes on under `name` (a new stage of the same count): on a
        terminal the bar's name changes; without one a line says so (if `announce`)."""
        if self.quiet or self._thread is None:
            return
        with self._lock:
            self._name = name
            if self._bar is None and announce:
                print(f"{name}: {self._middle(time.perf_counter() - self._began)}",
                      file=self.stream, flush=True)
                self._last_line = time.perf_counter()

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
            done = f"{how} {elapsed:.1f} s"
            if self._count is not None:
                done += f", {self._count.done()}"
            if self._bar is not None:
                name, figure, _ = fit_line(self._name, done, self._figures,
                                           _columns(self.stream), bar=False)
                self._bar.bar_format = _escape(f"{name}: {done}" + (f": {figure}" if figure
                                                                      else ""))
                self._bar.ncols = None
                self._bar.close()
                self._bar = None
            else:
                tail = f": {self._figures[0]}" if self._figures else ""
                print(f"{self._name}: {done}{tail}", file=self.stream, flush=True)

    @contextmanager
    def phase(self, name: str, budget: float | None = None) -> Iterator[Console]:
        """`with console.phase("solve", 45): ...` = begin, then end however the block exits
        (`reporting`)."""
        with reporting(self, name, budget):
            yield self

    def solver(self, seconds: float, bound: float, objective: float) -> None:
        """HiGHS's figures so far (the `on_progress` hook of `HighsRunner.solve`); shown at the
        next refresh. Seconds are HiGHS's own and ignored: the phase's clock is the wall."""
        del seconds
        self._figures = solver_figure_forms(objective, bound)

    def note(self, text: str) -> None:
        """A figure of the running phase (the last scenario done...), shown at the next
        refresh; dropped whole on a terminal too narrow for it."""
        self._figures = [text] if text else []

    def _opening(self) -> str:
        if self._count is not None:
            return f" ({self._count.total} {self._count.units()})"
        return f" (budget {self._budget:.3g} s)" if self._budget is not None else ""

    def _middle(self, elapsed: float) -> str:
        """The live figures of time (and count): `12/45 s`, `3/10 scenarios, 12 s`, `12 s`."""
        if self._count is not None:
            return f"{self._count.done()}, {elapsed:.0f} s"
        if self._budget is not None:
            return (f"{elapsed:.0f}/{self._budget:.0f} s" if self.mode == "bar"
                    else f"{elapsed:.0f} s of {self._budget:.3g} s")
        return f"{elapsed:.0f} s"

    def _fraction(self, elapsed: float) -> float | None:
        if self._count is not None:
            return self._count.n / self._count.total if self._count.total > 0 else None
        if self._budget is not None and self._budget > 0:
            return min(1.0, elapsed / self._budget)
        return None

    def _layout(self) -> tuple[str, int, float]:
        """The bar's format, width and fraction done now: the line fitted to the terminal."""
        elapsed = time.perf_counter() - self._began
        middle = self._middle(elapsed)
        fraction = self._fraction(elapsed)
        width = _columns(self.stream)
        name, figure, with_bar = fit_line(self._name, middle, self._figures, width,
                                          bar=fraction is not None)
        tail = _escape(middle + (f", {figure}" if figure else ""))
        bar_format = (f"{_escape(name)}: {{bar}}| {tail}" if with_bar
                      else f"{_escape(name)}: {tail}")
        return bar_format, width, fraction if fraction is not None else 0.0

    def _draw(self) -> None:
        """Redraw the bar to fit the terminal (under the lock)."""
        self._bar.bar_format, self._bar.ncols, self._bar.n = self._layout()
        self._bar.refresh()

    def _tick(self) -> None:
        period = REFRESH_SECONDS if self.mode == "bar" else min(REFRESH_SECONDS, self.every)
        while not self._stop.wait(period):
            with self._lock:
                now = time.perf_counter()
                if self._bar is not None:
                    self._draw()
                elif now - self._last_line >= self.every:
                    self._last_line = now
                    tail = f", {self._figures[0]}" if self._figures else ""
                    print(f"{self._name}: {self._middle(now - self._began)}{tail}",
                          file=self.stream, flush=True)


class Counter:
    """Tasks done out of a count (scenarios, solves), shown as a Console phase (the calls of a
    tqdm bar that `sweep` and `robust` make: update, set_postfix_str, set_description, n,
    total, close). On a terminal a bar of tasks done; without one, plain lines."""

    def __init__(self, console: Console, total: int, unit: str, desc: str) -> None:
        self.console = console
        self.unit = unit
        self.desc = desc
        self.n = 0
        self.total = int(total)
        console.begin(desc, count=self)

    def units(self) -> str:
        return self.unit if self.total == 1 else f"{self.unit}s"

    def done(self) -> str:
        """`3/10 scenarios`."""
        return f"{self.n}/{self.total} {self.units()}"

    def update(self, n: int = 1) -> None:
        self.n += int(n)

    def set_postfix_str(self, text: str = "", refresh: bool = True) -> None:
        del refresh
        self.console.note(text)

    def set_description(self, desc: str) -> None:
        self.console.rename(desc)

    def close(self) -> None:
        """End the count: its last line is under the count's own name (`robust: done in
        ...`), whatever stage ran last."""
        self.console.rename(self.desc, announce=False)
        self.console.end()


def counter_bar(total: int, *, unit: str, desc: str, enabled: bool = True) -> Counter:
    """A count of tasks (scenarios, solves) on stderr, by the rule of `Console`: a bar on a
    terminal, plain lines without one, nothing when not `enabled` (--quiet)."""
    return Counter(Console("auto" if enabled else "quiet"), total, unit, desc)


@contextmanager
def reporting(shown: Reporter, name: str, budget: float | None = None) -> Iterator[Reporter]:
    """Phase `name` of any Reporter around a block: begun, then ended however the block exits
    ("stopped after" on an error or Ctrl-C)."""
    shown.begin(name, budget)
    try:
        yield shown
    except BaseException:
        shown.end("stopped after")
        raise
    shown.end()


def both(first: Callable[[float, float, float], None] | None,
         second: Callable[[float, float, float], None]
         ) -> Callable[[float, float, float], None]:
    """One solver hook `(seconds, bound, objective)` that tells `first` (if any), then
    `second`."""
    if first is None:
        return second

    def hook(seconds: float, bound: float, objective: float) -> None:
        first(seconds, bound, objective)
        second(seconds, bound, objective)

    return hook


def reporter(progress: bool | str | Reporter | None) -> Reporter | None:
    """The Reporter for an API's `progress=` argument: True (or "auto"): the same progress as
    the command line on stderr; "bar" or "lines": that mode; a Reporter (a Console): itself;
    False or None: none."""
    if progress is None or progress is False:
        return None
    if progress is True:
        return Console("auto")
    if isinstance(progress, str):
        if progress not in ("auto", "bar", "lines", "quiet"):
            from models.errors import UsageError

            raise UsageError(f"progress must be True, False, 'bar', 'lines' or a Console, "
                             f"not {progress!r}")
        return Console(cast(DisplayMode, progress))
    return progress
