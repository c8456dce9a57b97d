"""Live progress (`optimizer.progress`) and the time limit kept by `sitepivot plan`.

- a bar on a terminal, plain lines without one, nothing with --quiet;
- the CLI shows progress on stderr and keeps stdout as it was (the headline first);
- `plan` on a time-limited case ends within its --time-limit plus 15%, all phases included;
- `time_budgets` splits the limit between the solver and the why-not re-solves.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import tiny_tables, write_xlsx

from benchmarks.generate import make_tables
from optimizer.cli import main
from optimizer.progress import Console, solver_figures
from optimizer.replan.replan import WHY_NOT_SECONDS, WHY_NOT_SHARE, time_budgets


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_lines_without_a_terminal_begin_tick_and_end_with_the_figures() -> None:
    stream = io.StringIO()
    console = Console("auto", stream=stream, every=0.2)
    assert console.mode == "lines"
    with console.phase("solve", 3):
        console.solver(0.1, 120.0, 100.0)
        time.sleep(0.75)
    text = stream.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert lines[0] == "solve (budget 3 s)"
    assert any(line.startswith("solve: 0 s of 3 s, best NPV $100.0M") for line in lines[1:-1])
    assert lines[-1].startswith("solve: done in 0.")
    assert lines[-1].endswith("best NPV $100.0M, bound $120.0M, gap 20.00%")


def test_a_terminal_gets_a_bar_redrawn_in_place() -> None:
    stream = Terminal()
    console = Console("auto", stream=stream)
    assert console.mode == "bar"
    with console.phase("solve", 10):
        console.solver(0.1, 120.0, 100.0)
        time.sleep(0.7)
    text = stream.getvalue()
    assert "\r" in text and "solve:" in text and "/10 s" in text
    assert "best NPV $100.0M, bound $120.0M, gap 20.00%" in text


def test_quiet_shows_nothing() -> None:
    stream = Terminal()
    console = Console("quiet", stream=stream, every=0.1)
    console.say("reading")
    with console.phase("solve", 1):
        console.solver(0.1, 120.0, 100.0)
        time.sleep(0.3)
    assert stream.getvalue() == ""


def test_solver_figures_before_and_after_a_plan() -> None:
    assert solver_figures(float("nan"), float("inf")) == "no plan yet"
    assert solver_figures(float("-inf"), 50.0) == "no plan yet, bound $50.0M"
    assert solver_figures(-10.0, float("inf")) == "best NPV -$10.0M"


def test_time_budgets_give_the_why_not_re_solves_a_share_of_the_limit() -> None:
    assert time_budgets(60.0, 3) == (60.0 - WHY_NOT_SHARE * 60.0, WHY_NOT_SHARE * 60.0)
    assert time_budgets(600.0, 3) == (600.0 - 3 * WHY_NOT_SECONDS, 3 * WHY_NOT_SECONDS)
    assert time_budgets(60.0, 0) == (60.0, 0.0)


def _plan(tmp_path: Path, *args: str, tables: dict | None = None) -> tuple[object, float]:
    book = tmp_path / "book.xlsx"
    write_xlsx(tables if tables is not None else tiny_tables(), book)
    began = time.perf_counter()
    result = CliRunner().invoke(main, ["plan", str(book), "-o", str(tmp_path / "r.xlsx"),
                                       *args])
    return result, time.perf_counter() - began


def test_cli_plan_shows_progress_on_stderr_and_the_headline_first(tmp_path: Path) -> None:
    result, _ = _plan(tmp_path)
    assert result.exit_code == 0, result.output
    err = result.stderr
    assert err.splitlines()[0].startswith("reading ")
    assert "solve (budget " in err and "solve: done in " in err and "\r" not in err
    assert "done in " in err.splitlines()[-1]
    out = result.stdout
    assert out.index("npv_musd") < out.index("Value of timing:") < out.index("report written")
    assert "solve (budget" not in out  # progress never mixes into the results


def test_cli_plan_quiet_shows_no_progress(tmp_path: Path) -> None:
    result, _ = _plan(tmp_path, "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "npv_musd" in result.stdout and "report written" in result.stdout


@pytest.mark.parametrize("limit", [10.0])
def test_cli_plan_ends_on_its_effort_well_within_the_safety_cap(tmp_path: Path,
                                                              limit: float) -> None:
    """A case the solver cannot finish in its effort: it stops on the effort (a deterministic
    amount of work, about the limit's seconds on an idle machine), never on the clock, and the
    whole run ends well within the wall-clock safety cap. Until issue 20 this checked the wall
    time against the limit itself: a promise a reproducible plan cannot keep on a busy machine."""
    from optimizer.solve.options import time_cap

    result, wall = _plan(tmp_path, "--time-limit", str(limit), "--threads", "1",
                         tables=make_tables(8, 40, seed=1))
    assert result.exit_code == 0, result.output
    assert "effort limit reached" in result.stdout  # the effort did bind
    assert "why not" in result.stderr or "Sites converting nothing" not in result.stdout
    assert wall <= time_cap(limit), result.stderr


def test_cash_flows_plus_the_terminal_value_are_the_npv() -> None:
    from optimizer.inputs.validation import portfolio_from_tables
    from optimizer.solve.optimize import optimize

    plan = optimize(portfolio_from_tables(tiny_tables()), mip_gap=0.0)
    assert plan.terminal_value_musd != 0
    flows = plan.cash_flows_with_terminal_value()
    assert len(flows) == len(plan.cash_flows) + 1
    assert flows["quarter"].iloc[-1] == "terminal value"
    assert float(flows["discounted_musd"].sum()) == pytest.approx(plan.npv_musd, rel=1e-9)
    assert float(flows["cumulative_discounted_musd"].iloc[-1]) == pytest.approx(
        plan.npv_musd, rel=1e-9)
    assert float(plan.cash_flows["discounted_musd"].sum()) + plan.terminal_value_musd \
        == pytest.approx(plan.npv_musd, rel=1e-9)


def test_sweep_without_a_terminal_prints_whole_lines(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """tqdm's redraws become plain lines (no carriage returns) when stderr is no terminal."""
    from optimizer.sweeps.sweep import _progress_bar

    bar = _progress_bar(3, enabled=True)
    for _ in range(3):
        bar.update(1)
    bar.close()
    err = capsys.readouterr().err
    assert "\r" not in err and "sweep" in err and "3/3" in err
    quiet = _progress_bar(3, enabled=False)
    quiet.update(3)
    quiet.close()
    assert capsys.readouterr().err == ""


def test_a_phase_ended_by_an_error_says_it_stopped() -> None:
    stream = io.StringIO()
    console = Console("lines", stream=stream)
    with pytest.raises(KeyboardInterrupt), console.phase("solve", 3):
        raise KeyboardInterrupt
    assert stream.getvalue().splitlines()[-1].startswith("solve: stopped after 0.")


def test_cli_sweep_shows_plain_lines_and_quiet_none(tmp_path: Path) -> None:
    book = write_xlsx(tiny_tables(), tmp_path / "tiny.xlsx")
    args = ["sweep", str(book), "--grid", "hashprice=0.9,1.1", "--workers", "1", "--mip-gap",
            "0", "--force"]
    run = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "a.xlsx")])
    assert run.exit_code == 0, run.output
    assert "sweep" in run.stderr and "3/3" in run.stderr and "\r" not in run.stderr
    lines = run.stderr.splitlines()  # the README's plain lines: begin, (every 5 s), end
    assert lines[0] == "sweep (3 scenarios)" and "|" not in run.stderr
    done = [line for line in lines if line.startswith("sweep: done in ")]
    assert len(done) == 1 and ", 3/3 scenarios: " in done[0]
    assert lines[-1].startswith("solves done in ")  # then the whole run's time
    run = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "b.xlsx"), "--quiet"])
    assert run.exit_code == 0, run.output
    assert run.stderr == "" and "grid sweep: 3 scenarios" in run.stdout


# ---- progress that fits (issue 22) ---------------------------------------------------------
WHY_NOT = "why not Rockdale (its best hall forced, 1/3)"
WHOLE = {"1/3", "$8,411.6M", "$8,500.0M", "1.05%"}


def _screens(text: str) -> list[str]:
    """Each state of a terminal line: the text between carriage returns and newlines, without
    the spaces that clear a longer previous state."""
    return [part.rstrip() for chunk in text.split("\n") for part in chunk.split("\r")
            if part.strip()]


@pytest.mark.parametrize("width", [40, 60, 80, 100, 160])
def test_a_bar_fits_the_terminal_and_never_cuts_a_number(
        monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    import re

    import optimizer.progress as progress

    monkeypatch.setattr(progress, "_columns", lambda stream: width)
    monkeypatch.setattr(progress, "REFRESH_SECONDS", 0.05)
    stream = Terminal()
    console = Console("bar", stream=stream)
    with console.phase(WHY_NOT, 15):
        console.solver(0.1, 8500.0, 8411.6)
        time.sleep(0.3)
    screens = _screens(stream.getvalue())
    assert screens
    for screen in screens:
        assert len(screen) <= width, screen
        clock = re.sub(r"done in \d+\.\d s|\b\d+/15 s", "", screen)  # the phase's time
        numbers = [n.rstrip(".,") for n in re.findall(r"[$\d][\d,.$%/M]*", clock)]
        # every figure shown is one of the whole figures (a cut one, "gap 1." or "$8,4", is not)
        assert set(numbers) <= WHOLE, (screen, numbers)
    if width >= 100:
        assert "best NPV $8,411.6M, bound $8,500.0M, gap 1.05%" in stream.getvalue()


def test_a_finished_phase_closes_at_what_it_came_to_not_its_budget() -> None:
    stream = Terminal()
    console = Console("bar", stream=stream)
    with console.phase("value of timing and why not", 15):
        time.sleep(0.05)
    last = _screens(stream.getvalue())[-1]
    assert last.startswith("value of timing and why not: done in 0.") and "/15 s" not in last
    assert stream.getvalue().endswith("\n")


def test_an_unknown_terminal_size_falls_back_to_80_columns(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A pseudo-terminal of size 0x0 (a container, `script`): the counter still shows, within
    80 columns (tqdm alone printed nothing)."""
    import os

    import optimizer.progress as progress

    class SizelessTerminal(Terminal):
        def fileno(self) -> int:
            return 2

    monkeypatch.setattr(os, "get_terminal_size", lambda fd=0: os.terminal_size((0, 0)))
    monkeypatch.delenv("COLUMNS", raising=False)
    stream = SizelessTerminal()
    assert progress._columns(stream) == progress.FALLBACK_COLUMNS == 80
    counter = progress.Counter(Console("auto", stream=stream), 3, "scenario", "sweep")
    for _ in range(3):
        counter.update(1)
        counter.set_postfix_str("renewal_probability low: optimal")
    counter.close()
    screens = _screens(stream.getvalue())
    assert all(len(s) <= 80 for s in screens)
    assert screens[-1].startswith("sweep: done in 0.") and "3/3 scenarios" in screens[-1]


def test_a_count_without_a_terminal_is_plain_whole_lines() -> None:
    """What the README promises for every command: a line when a phase (or a stage) begins,
    every `every` seconds and at the end; no bar characters, nothing cut."""
    import optimizer.progress as progress

    stream = io.StringIO()
    name = "renewal_probability low and a long scenario name past eighty columns: optimal"
    counter = progress.Counter(Console("auto", stream=stream, every=0.2), 4, "solve", "robust")
    counter.set_description("wait-and-see and EEV")
    counter.update(2)
    counter.set_postfix_str(name)
    time.sleep(0.45)
    counter.update(2)
    counter.close()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue() and "|" not in stream.getvalue()
    assert lines[0] == "robust (4 solves)"
    assert lines[1] == "wait-and-see and EEV: 0/4 solves, 0 s"
    assert any(line == f"wait-and-see and EEV: 2/4 solves, 0 s, {name}" for line in lines)
    assert lines[-1].startswith("robust: done in 0.")
    assert lines[-1].endswith(f" s, 4/4 solves: {name}")


def test_fit_line_drops_the_bar_then_the_long_figures_then_cuts_the_name_at_a_word() -> None:
    from optimizer.progress import fit_line, solver_figure_forms

    forms = solver_figure_forms(8411.6, 8500.0)
    assert forms == ["best NPV $8,411.6M, bound $8,500.0M, gap 1.05%",
                     "NPV $8,411.6M, gap 1.05%", "gap 1.05%"]
    assert fit_line("solve", "3/45 s", forms, 200) == ("solve", forms[0], True)
    assert fit_line("solve", "3/45 s", forms, 65) == ("solve", forms[0], False)
    assert fit_line("solve", "3/45 s", forms, 51) == ("solve", forms[1], True)
    assert fit_line("solve", "3/45 s", forms, 40) == ("solve", forms[1], False)
    assert fit_line("solve", "3/45 s", forms, 36) == ("solve", forms[2], True)
    assert fit_line("solve", "3/45 s", forms, 30) == ("solve", forms[2], False)
    assert fit_line(WHY_NOT, "3/15 s", forms, 40) == ("why not Rockdale (its best...", "", False)
    # nothing fits: the line is whole, never cut inside a number
    assert fit_line("solve", "3/45 s", forms, 5) == ("solve", "", False)


# ---- the Python API's progress (issue 22) --------------------------------------------------
def test_the_api_shows_the_cli_progress_with_progress_true(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`optimize(..., progress=True)` and `explain_plan(..., progress=True)`: on stderr, without
    a terminal, the plain lines `sitepivot plan` writes; nothing without it."""
    import optimizer

    portfolio = optimizer.load_portfolio(write_xlsx(tiny_tables(), tmp_path / "tiny.xlsx"))
    plan = optimizer.optimize(portfolio, time_limit=30, mip_gap=0.0)
    assert capsys.readouterr().err == ""
    plan = optimizer.optimize(portfolio, time_limit=30, mip_gap=0.0, progress=True)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "solve (budget 30 s)"
    assert err[-1].startswith("solve: done in ") and "best NPV $" in err[-1]
    optimizer.explain_plan(plan, budget=10, progress=True)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "value of timing and why not (budget 10 s)"
    assert err[-1].startswith(("value of timing and why not: done in ", "why not "))
    stream = io.StringIO()
    optimizer.optimize(portfolio, time_limit=30, progress=Console("lines", stream=stream))
    assert stream.getvalue().splitlines()[0] == "solve (budget 30 s)"
    with pytest.raises(optimizer.UsageError, match="progress must be True, False"):
        optimizer.optimize(portfolio, progress="loud")
