"""The `sitepivot` command line.

Exit codes (mapped once, here, from the domain errors of `models.errors`):
0 a plan (optimal, or feasible with its gap stated); 2 bad input or usage; 3 infeasible (with
the explanation); 4 no feasible plan within the time limit; 5 solver failure.
"""

from __future__ import annotations

import math
import signal
import sys
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn

import click

from models.errors import SitepivotError


def _ignore_more_interrupts() -> None:
    """Once Ctrl-C is being handled, a second interrupt (or one still pending, e.g. HiGHS's
    own stop already raised it) must not end the process by the signal instead of exit 130."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _reports_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a domain error into its message on stderr and its exit code; never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SitepivotError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(err.exit_code)
        except KeyboardInterrupt:
            _ignore_more_interrupts()
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper


def _solver_options(each: str, threads: bool = True, limit_of: str | None = None
                    ) -> Callable[[Callable[..., Any]], Any]:
    """--time-limit, --mip-gap (and --threads): the solver options every solving command takes;
    `each` names what they apply to ("" for one solve, " of each re-solve", ...), `limit_of`
    what the time limit covers when that differs."""
    options = [
        click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None,
                     help=f"Time limit{each if limit_of is None else limit_of} in seconds "
                     "(default: Settings time_limit_s)."),
        click.option("--mip-gap", type=click.FloatRange(min=0, max=1, max_open=True),
                     default=None, help=f"Relative MIP gap{each} (default: Settings mip_gap)."),
    ]
    if threads:
        options.append(click.option(
            "--threads", type=click.IntRange(min=0), default=None,
            help="Solver threads, 0 = HiGHS chooses (default: Settings threads)."))

    def apply(func: Callable[..., Any]) -> Any:
        for option in reversed(options):
            func = option(func)
        return func

    return apply


def _quiet_option(func: Callable[..., Any]) -> Any:
    """--quiet: no progress on stderr (results, warnings and errors still print)."""
    return click.option("-q", "--quiet", is_flag=True,
                        help="Show no progress (for scripts).")(func)


def _run_options(what: str) -> Callable[[Callable[..., Any]], Any]:
    """--total-time and --resume: the whole-run budget and resuming an interrupted run of
    `what` (sweep or robust), whose finished solves are kept next to its output."""
    options = [
        click.option("--total-time", type=click.FloatRange(min=0, min_open=True), default=None,
                     metavar="S", help="Time budget of the whole run in seconds, split up front "
                     "into equal per-solve budgets (each at most --time-limit); reading the "
                     "workbook and writing the report come on top."),
        click.option("--resume", is_flag=True, help=f"Continue an interrupted {what} from the "
                     "solves it finished (kept in OUTPUT.partial.sqlite until the workbook is "
                     "written): same workbook as an uninterrupted run."),
    ]

    def apply(func: Callable[..., Any]) -> Any:
        for option in reversed(options):
            func = option(func)
        return func

    return apply


def _resume_command() -> str:
    """The command line that resumes the current command: its arguments and the options the
    user gave (as given, not their defaults), with --resume."""
    import shlex

    from click.core import ParameterSource

    ctx = click.get_current_context()
    words = ["sitepivot", ctx.info_name or ""]
    for param in ctx.command.params:
        name = param.name or ""
        value = ctx.params.get(name)
        if isinstance(param, click.Argument):
            words.append(str(value))
            continue
        if (name == "resume" or ctx.get_parameter_source(name) == ParameterSource.DEFAULT
                or not isinstance(param, click.Option)):
            continue
        flag = max(param.opts, key=len)
        if param.is_flag:
            if value:
                words.append(flag)
        else:
            for item in (value or ()) if param.multiple else [value]:
                words += [flag, str(item)]
    return shlex.join([*words, "--resume"])


def _open_run_store(target: Path, identity: Any, *, resume: bool, force: bool) -> Any:
    """The store of finished solves next to `target` (`optimizer.checkpoint`): kept from an
    interrupted run with --resume; discarded with --force (without --resume)."""
    from optimizer.checkpoint import open_store, store_path

    path = store_path(target)
    if force and not resume:
        path.unlink(missing_ok=True)
    if resume and not path.exists():
        click.echo(f"warning: nothing to resume ({path} does not exist): starting from the "
                   "beginning", err=True)
    return open_store(path, identity, resume=resume, description=_resume_command())


def _interrupted(store: Any, kept: str) -> NoReturn:
    """Ctrl-C: no workbook; say what is `kept` (e.g. "3 of 9 scenarios") and the command
    that resumes; exit 130."""
    _ignore_more_interrupts()
    click.echo(f"interrupted: no workbook written; {kept} finished, kept in {store.path}.\n"
               f"To resume: {_resume_command()}", err=True)
    store.close()
    sys.exit(130)


def _split_by(total_time: float | None, workers: int | None, dask_address: str | None
              ) -> tuple[int | None, str | None]:
    """What else a run's results depend on with --total-time: the slots its budget is split
    over (--workers, or the Dask scheduler's workers); nothing without it (the executor then
    changes nothing, so a resume may use another)."""
    return (workers, dask_address) if total_time is not None else (None, None)


def _took(began: float, total_time: float | None, quiet: bool) -> None:
    """Say how long the solves took, against the whole run's budget when there is one
    (progress: not with --quiet)."""
    if quiet:
        return
    budget = f" of the {total_time:g} s total time" if total_time is not None else ""
    click.echo(f"solves done in {time.perf_counter() - began:.1f} s{budget} (reading and "
               "writing aside)", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sitepivot")
def main() -> None:
    """Plan which mining sites to convert to AI/HPC hosting, and when, for the highest NPV."""


@main.command()
@click.argument("workbook", type=click.Path(dir_okay=True, path_type=Path))
@_reports_errors
def validate(workbook: Path) -> None:
    """Check WORKBOOK (.xlsx or a folder of CSV files) and summarise it, or list every problem."""
    from optimizer.inputs.describe import describe_portfolio
    from optimizer.inputs.workbook import load_portfolio

    portfolio = load_portfolio(workbook)
    for warning in portfolio.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(describe_portfolio(portfolio))


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@_reports_errors
def template(path: Path, force: bool) -> None:
    """Write an empty workbook with every sheet and column, documented, to PATH."""
    from optimizer.inputs.template import write_template

    write_template(path, force=force)
    click.echo(f"template written to {path}")


@main.command()
@click.argument("workbook", type=click.Path(dir_okay=True, path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Report path (default reports/<workbook-stem>-plan.xlsx).")
@_solver_options(" of the solver",
                 limit_of=" of the whole run (the solver and the why-not re-solves)")
@click.option("--method", type=click.Choice(["auto", "monolithic", "neighbourhood",
                                             "decomposition"]),
              default="auto", show_default=True,
              help="Solve method: the whole MILP; the whole MILP and, if its bound stalls, a "
              "search over neighbourhoods of sites; or decomposition by site (auto: "
              "neighbourhood below 100 sites, decomposition from 100).")
@click.option("--commitments-from", "commitments_from", type=click.Path(path_type=Path),
              default=None, help="Lock the starts of a previous report that fall before this "
              "plan's start quarter as commitments.")
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Roll forward from a previous report: lock its starts before this plan's "
              "start quarter, start the solver from its plan, and report each change against "
              "it (Changes sheet).")
@click.option("--why-not-solves", type=click.IntRange(min=0), default=None,
              help="Most re-solves that force a hall at a site left mining, to price it "
              "(default 3, each at most 15 s, all within a quarter of the time limit; "
              "0 = none: the solver gets all of it).")
@click.option("--from-alternative", "from_alternative", type=click.IntRange(min=1),
              default=None, metavar="N", help="With --commitments-from: lock the starts of "
              "that report's alternative N (its Alternatives sheet) instead of its Decisions.")
@click.option("--alternatives", type=click.IntRange(min=0), default=2, show_default=True,
              metavar="N", help="Near-optimal alternatives to find: plans within the "
              "tolerance (Settings firmness_tolerance) that differ most from this plan "
              "(Alternatives sheet; 0 = none).")
@click.option("--no-firmness", "no_firmness", is_flag=True,
              help="Skip the firmness of the commit-now starts and the timing windows.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Local worker processes for the firmness re-solves.")
@click.option("--force", is_flag=True, help="Overwrite an existing report.")
@click.option("--no-report", is_flag=True, help="Print the plan only; write no report.")
@_quiet_option
@_reports_errors
def plan(workbook: Path, output: Path | None, time_limit: float | None, mip_gap: float | None,
         threads: int | None, method: str, commitments_from: Path | None,
         baseline: Path | None, why_not_solves: int | None, from_alternative: int | None,
         alternatives: int, no_firmness: bool, workers: int, force: bool,
         no_report: bool, quiet: bool) -> None:
    """Find the plan of highest NPV for WORKBOOK and write its Excel report.

    The time limit is the whole run's: the firmness and alternatives re-solves get a quarter of
    it (unless --no-firmness and --alternatives 0), the why-not re-solves at most a quarter of
    the rest (15 s each), the solver what is left; what the solver does not spend (a plan
    proven early) goes to the firmness phase (or, without it, to the why-not re-solves).
    Seconds are effort seconds: the same inputs give the same report on any machine load;
    building models, reading and writing come on top (a few seconds on the sample). Progress
    goes to stderr (--quiet: none)."""
    from optimizer.progress import Console

    console = Console("quiet" if quiet else "auto")
    began = time.perf_counter()
    console.say(f"reading {workbook}")
    from models.errors import UsageError
    from optimizer.inputs.workbook import load_portfolio
    from optimizer.replan.firmness import FIRMNESS_SHARE, assess
    from optimizer.replan.firmness_words import firmness_text
    from optimizer.replan.replan import (
        WHY_NOT_MAX_SOLVES,
        baseline_start,
        explain_plan,
        explanation_text,
        time_budgets,
    )
    from optimizer.reports.summary import next_step, plan_text
    from optimizer.reports.write import (
        check_target,
        commitments_from_report,
        make_folder,
        write_report,
    )
    from optimizer.solve.optimize import optimize

    if from_alternative is not None and commitments_from is None:
        raise UsageError("--from-alternative N needs --commitments-from REPORT")
    target = output or Path("reports") / f"{workbook.stem}-plan.xlsx"
    reports = [p for p in dict.fromkeys((commitments_from, baseline)) if p is not None]
    if not no_report:
        check_target(target, inputs=[workbook, *reports], force=force,
                     create_folder=output is None)
    portfolio = load_portfolio(workbook)
    for report in reports:  # --baseline locks the starts already begun, as --commitments-from
        portfolio = commitments_from_report(
            portfolio, report, from_alternative if report == commitments_from else None)
    for warning in portfolio.warnings:
        click.echo(f"warning: {warning}", err=True)
    start = baseline_start(baseline) if baseline is not None else None
    limit = portfolio.settings.time_limit_s if time_limit is None else time_limit
    solves = WHY_NOT_MAX_SOLVES if why_not_solves is None else why_not_solves
    firm = not no_firmness or alternatives > 0
    firm_s = FIRMNESS_SHARE * limit if firm else 0.0
    solve_s, why_not_s = time_budgets(limit - firm_s, solves)
    with console.phase("solve", solve_s):
        result = optimize(portfolio, time_limit=solve_s, mip_gap=mip_gap, threads=threads,
                          mip_start=start, method=method, on_progress=console.solver)
    for warning in result.warnings:
        if warning not in portfolio.warnings:  # the solver's (the input's are shown above)
            click.echo(f"warning: {warning}", err=True)
    click.echo(plan_text(result))
    # What the solver did not spend (a plan proven early) goes to the later phases. Effort is
    # counted, not the clock, so the carry-over is the same on every run.
    unused = solve_s - result.effort_spent_s if math.isfinite(result.effort_spent_s) else 0.0
    if firm:
        firm_s += max(0.0, unused)
    elif solves > 0:
        why_not_s += max(0.0, unused)
    with console.phase("value of timing and why not", why_not_s):
        explain_plan(result, baseline=baseline, why_not_solves=solves, budget=why_not_s,
                     progress=console)
    click.echo("\n" + explanation_text(result))
    if firm:
        try:  # each step of it is a phase of its own, with its share of firm_s
            assess(result, alternatives=alternatives, firmness=not no_firmness, budget=firm_s,
                   workers=workers, threads=threads, progress=console)
        finally:
            console.end()
        click.echo("\n" + firmness_text(result))
    advice = next_step(result, time_limit=limit)
    if advice:
        click.echo("\n" + advice)
    if not no_report:
        with console.phase("writing the report"):
            make_folder(target)
            write_report(result, target, force=force)
        click.echo(f"report written to {target}")
    console.say(f"done in {time.perf_counter() - began:.1f} s (time limit {limit:g} s: "
                f"solver {solve_s:.3g} s, why-not re-solves up to {why_not_s:.3g} s"
                + (f", firmness and alternatives up to {firm_s:.3g} s" if firm else "") + ")")



@main.command()
@click.argument("old_report", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new_report", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Compare workbook path (default reports/<new-report-stem>-compare.xlsx).")
@_solver_options(" of each re-solve")
@click.option("--force", is_flag=True, help="Overwrite an existing compare workbook.")
@_quiet_option
@_reports_errors
def compare(old_report: Path, new_report: Path, output: Path | None, time_limit: float | None,
            mip_gap: float | None, threads: int | None, force: bool, quiet: bool) -> None:
    """Compare two plan reports: decisions added, dropped and moved, and an NPV bridge that
    attributes the change to the input families, re-solving one family at a time."""
    from optimizer.progress import Console

    console = Console("quiet" if quiet else "auto")
    console.say(f"reading {old_report} and {new_report}")
    from optimizer.compare.compare import compare_reports, comparison_text
    from optimizer.compare.sheets import write_compare_report
    from optimizer.reports.write import check_target, make_folder

    target = output or Path("reports") / f"{new_report.stem}-compare.xlsx"
    check_target(target, inputs=[old_report, new_report], force=force,
                 create_folder=output is None)
    try:
        result = compare_reports(old_report, new_report, time_limit=time_limit,
                                 mip_gap=mip_gap, threads=threads, progress=console)
    except BaseException:
        console.end("stopped after")
        raise
    console.end()
    click.echo(comparison_text(result))
    make_folder(target)
    write_compare_report(result, target, force=force)
    click.echo(f"compare workbook written to {target}")


@main.command()
@click.argument("workbook", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--tornado", is_flag=True,
              help="Each driver low and high (default +-20%, lead time +-1 quarter).")
@click.option("--scenarios", "named", is_flag=True,
              help="The named scenarios of the workbook's Scenarios sheet.")
@click.option("--grid", "grid", default=None, metavar="SPEC",
              help="Every combination of drivers' levels, e.g. "
              "'hashprice=0.8,1,1.2;capex=0.9,1.1'.")
@click.option("--monte-carlo", "draws", type=click.IntRange(min=1), default=None, metavar="N",
              help="N seeded random futures (hashprice path, lease and capex).")
@click.option("--marginal", is_flag=True,
              help="NPV gained by +budget in each year, +1 hall and +MW grid at each site.")
@click.option("--range", "ranges", multiple=True, metavar="DRIVER=LOW,HIGH",
              help="Tornado levels of one driver (repeatable), e.g. hashprice=0.6,1.4.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Local worker processes (default: CPU cores).")
@click.option("--dask", "dask_address", default=None, metavar="ADDRESS",
              help="Run on an existing Dask scheduler, e.g. tcp://10.0.0.5:8786.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Sweep workbook path (default reports/<workbook-stem>-sweep.xlsx).")
@click.option("--force", is_flag=True, help="Overwrite an existing sweep workbook (and "
              "discard an interrupted run's finished solves unless --resume).")
@_solver_options(" of each solve", threads=False)
@_run_options("sweep")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Monte Carlo and solver seed (default: Settings random_seed).")
@_quiet_option
@_reports_errors
def sweep(workbook: Path, tornado: bool, named: bool, grid: str | None, draws: int | None,
          marginal: bool,
          ranges: tuple[str, ...], workers: int | None, dask_address: str | None,
          output: Path | None, force: bool, mip_gap: float | None, time_limit: float | None,
          total_time: float | None, resume: bool, seed: int | None, quiet: bool) -> None:
    """Sensitivity sweep of WORKBOOK: re-optimized NPV, today's plan's NPV and the regret in
    each scenario, written to an Excel workbook.

    --time-limit is each solve's limit; --total-time the whole run's budget, split up front
    into equal per-solve budgets. Each finished solve is kept next to the workbook until it is
    written: after Ctrl-C or a crash, the same command with --resume goes on from there."""
    from models.errors import UsageError
    from optimizer.inputs.workbook import load_portfolio
    from optimizer.reports.write import check_target, make_folder
    from optimizer.sweeps.sweep import parse_ranges, run_sweep, sweep_text, write_sweep_report

    chosen = [k for k, on in (("tornado", tornado), ("scenarios", named),
                              ("grid", grid is not None), ("monte_carlo", draws is not None),
                              ("marginal", marginal)) if on]
    if len(chosen) != 1:
        raise UsageError("choose one sweep: --tornado, --scenarios, --grid SPEC, "
                         "--monte-carlo N or --marginal")
    if workers is not None and dask_address is not None:
        raise UsageError("choose --workers N or --dask ADDRESS, not both")
    target = output or Path("reports") / f"{workbook.stem}-sweep.xlsx"
    check_target(target, inputs=[workbook], force=force, create_folder=output is None)
    portfolio = load_portfolio(workbook)
    for warning in portfolio.warnings:
        click.echo(f"warning: {warning}", err=True)
    parsed = parse_ranges(ranges) if ranges else None
    # What the rows depend on (not where they run): a resume must be of this very run.
    identity = ("sweep", portfolio, chosen[0], grid, draws, parsed, mip_gap, time_limit,
                total_time, seed, _split_by(total_time, workers, dask_address))
    store = _open_run_store(target, identity, resume=resume, force=force)
    began = time.perf_counter()
    try:
        results = run_sweep(portfolio, chosen[0], grid=grid, draws=draws, ranges=parsed,
                            workers=workers, dask_address=dask_address, mip_gap=mip_gap,
                            time_limit=time_limit, total_time=total_time, seed=seed,
                            progress=not quiet, store=store)
    except KeyboardInterrupt:
        _interrupted(store, f"{store.count()} solve(s)")
    if results.attrs.get("interrupted"):
        done = int((results["status"] != "interrupted").sum())
        _interrupted(store, f"{done} of {len(results)} scenarios")
    _took(began, total_time, quiet)
    if store.used:
        click.echo(f"resumed: {store.used} of {len(results)} scenarios read from {store.path}",
                   err=True)
    click.echo(sweep_text(results))
    make_folder(target)
    write_sweep_report(results, target, force=force)
    store.remove()
    click.echo(f"sweep workbook written to {target}")


@main.command()
@click.argument("workbook", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--monte-carlo", "draws", type=click.IntRange(min=1), default=None, metavar="N",
              help="N seeded random futures, equal weights (hashprice path, lease, capex).")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Monte Carlo and solver seed (default: Settings random_seed).")
@click.option("--scenarios", "named", is_flag=True,
              help="The named scenarios of the Scenarios sheet, weighted by its weight column.")
@click.option("--commit-quarters", type=click.IntRange(min=1), default=None, metavar="K",
              help="Starts in the first K quarters are committed now, the same in every "
              "future (default: Settings commit_quarters, else 4).")
@click.option("--risk-weight", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              metavar="W", help="Objective (1 - W) E[NPV] + W CVaR.")
@click.option("--cvar-level", type=click.FloatRange(0, 1, min_open=True), default=0.1,
              show_default=True, metavar="A",
              help="CVaR's tail share: the mean NPV of the worst A of futures.")
@click.option("--out-of-sample", "out_of_sample", type=click.IntRange(min=0), default=0,
              metavar="M", help="Evaluate both first stages on M fresh draws (seed + 1).")
@_solver_options(" of each solve (the deterministic plan, the extensive form, each scenario "
                 "sub-problem)", threads=False)
@_run_options("robust run")
@click.option("--method", type=click.Choice(["auto", "extensive", "decomposition", "ph"]),
              default="auto", show_default=True,
              help="The two-stage MILP in HiGHS; scenario sub-problems only; or progressive "
              "hedging (mpi-sppy) proposing first stages (auto: extensive up to about 30 "
              "scenarios of the sample's size, decomposition beyond).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Local worker processes for the scenario sub-problems (default 1).")
@click.option("--dask", "dask_address", default=None, metavar="ADDRESS",
              help="Run the scenario sub-problems on an existing Dask scheduler.")
@click.option("--no-firmness", "no_firmness", is_flag=True,
              help="Skip the firmness of the first-stage starts (a re-solve of the robust "
              "problem per start; with --total-time, a quarter of it).")
@click.option("--commitments-from", "commitments_from", type=click.Path(path_type=Path),
              default=None, help="Lock the starts of a previous report that fall before this "
              "plan's start quarter, in every future.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Robust workbook path (default reports/<workbook-stem>-robust.xlsx).")
@click.option("--force", is_flag=True, help="Overwrite an existing robust workbook (and "
              "discard an interrupted run's finished solves unless --resume).")
@_quiet_option
@_reports_errors
def robust(workbook: Path, draws: int | None, seed: int | None, named: bool,
           commit_quarters: int | None, risk_weight: float, cvar_level: float,
           out_of_sample: int, time_limit: float | None, mip_gap: float | None,
           total_time: float | None, resume: bool, method: str,
           workers: int | None, dask_address: str | None, no_firmness: bool,
           commitments_from: Path | None, output: Path | None, force: bool,
           quiet: bool) -> None:
    """A robust plan for WORKBOOK: the first quarters' starts shared by every future, later
    starts adapted to each; VSS, EVPI and the NPV distribution, written to an Excel workbook.

    --time-limit is each solve's limit; --total-time the whole run's budget, split up front
    into equal per-solve budgets (a quarter of it kept for the firmness of the first stage,
    unless --no-firmness). Each finished solve is kept next to the workbook until it is
    written: after Ctrl-C or a crash, the same command with --resume goes on from there."""
    from models.errors import UsageError
    from optimizer.inputs.workbook import load_portfolio
    from optimizer.reports.write import check_target, commitments_from_report, make_folder
    from optimizer.robust.report import robust_text, write_robust_report
    from optimizer.robust.robust import robust as robust_plan

    if (draws is None) == (not named):
        raise UsageError("choose the futures: --monte-carlo N or --scenarios")
    if workers is not None and dask_address is not None:
        raise UsageError("choose --workers N or --dask ADDRESS, not both")
    target = output or Path("reports") / f"{workbook.stem}-robust.xlsx"
    reports = [commitments_from] if commitments_from is not None else []
    check_target(target, inputs=[workbook, *reports], force=force,
                 create_folder=output is None)
    portfolio = load_portfolio(workbook)
    if commitments_from is not None:
        portfolio = commitments_from_report(portfolio, commitments_from)
    for warning in portfolio.warnings:
        click.echo(f"warning: {warning}", err=True)
    # What the plan depends on (not where its solves run): a resume must be of this run.
    identity = ("robust", portfolio, draws, named, seed, commit_quarters, risk_weight,
                cvar_level, out_of_sample, time_limit, mip_gap, total_time, method,
                _split_by(total_time, workers, dask_address), no_firmness)
    store = _open_run_store(target, identity, resume=resume, force=force)
    began = time.perf_counter()
    try:
        result = robust_plan(portfolio, draws=draws, from_sheet=named, seed=seed,
                             commit_quarters=commit_quarters, risk_weight=risk_weight,
                             cvar_level=cvar_level, out_of_sample=out_of_sample,
                             time_limit=time_limit, mip_gap=mip_gap, workers=workers or 1,
                             dask_address=dask_address, method=method, progress=not quiet,
                             total_time=total_time, store=store, firmness=not no_firmness)
    except KeyboardInterrupt:
        _interrupted(store, f"{store.count()} solve(s)")
    _took(began, total_time, quiet)
    if store.used:
        click.echo(f"resumed: {store.used} solve(s) read from {store.path}", err=True)
    click.echo(robust_text(result))
    make_folder(target)
    write_robust_report(result, target, force=force)
    store.remove()
    click.echo(f"robust workbook written to {target}")
