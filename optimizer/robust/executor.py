"""Running scenario sub-problems: in this process, on a local process pool, or on Dask.

The same executors as the sweeps (`optimizer.sweeps.sweep`): fresh "spawn" pool processes (no
fork of a process that ran HiGHS), or an existing Dask scheduler. Results come back in task
order whatever the executor; each solve uses one HiGHS thread and a fixed seed, so they do
not depend on it (unless a time limit binds). A tqdm bar with ETA counts the solves.
"""

from __future__ import annotations

import multiprocessing
import signal
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Any

from optimizer.robust.recourse import RecourseResult, RecourseTask, solve_recourse


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the parent, which stops all


def run_tasks(tasks: Sequence[RecourseTask], *, workers: int = 1,
              dask_address: str | None = None, bar: Any = None) -> list[RecourseResult]:
    """Solve every task; results in task order. `bar` (tqdm) is advanced per finished task."""
    results: list[RecourseResult | None] = [None] * len(tasks)

    def record(i: int, result: RecourseResult) -> None:
        results[i] = result
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(f"{result.label}: {result.status}", refresh=False)

    if dask_address is not None:
        _run_dask(dask_address, tasks, record)
    elif workers <= 1 or len(tasks) <= 1:
        for i, task in enumerate(tasks):
            record(i, solve_recourse(task))
    else:
        _run_pool(min(workers, len(tasks)), tasks, record)
    return [r for r in results if r is not None]


def _lost(task: RecourseTask, err: BaseException) -> RecourseResult:
    """The result of a task that died outside `solve_recourse` (a lost worker...)."""
    nan = float("nan")
    return RecourseResult(task.label, task.scenario, "error", "error", nan, nan, nan, nan,
                          message=f"{type(err).__name__}: {err}"[:2000])


def _run_pool(workers: int, tasks: Sequence[RecourseTask], record: Any) -> None:
    context = multiprocessing.get_context("spawn")
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                   initializer=_ignore_sigint)
    futures: dict[Future[RecourseResult], int] = {}
    try:
        futures = {executor.submit(solve_recourse, t): i for i, t in enumerate(tasks)}
        for future in as_completed(futures):
            i = futures[future]
            try:
                record(i, future.result())
            except Exception as err:
                record(i, _lost(tasks[i], err))
    except BaseException:
        for future in futures:
            future.cancel()
        for process in list(getattr(executor, "_processes", {}).values()):
            process.terminate()  # running solves would finish first; stop them now
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=True)


def _run_dask(address: str, tasks: Sequence[RecourseTask], record: Any) -> None:
    from optimizer.sweeps.sweep import dask_client

    client, dask_completed = dask_client(address)
    futures: list[Any] = []
    try:
        run = uuid.uuid4().hex[:12]
        futures = [client.submit(solve_recourse, t, pure=False, key=f"sitepivot-robust-{run}-{i}")
                   for i, t in enumerate(tasks)]
        index = {f.key: i for i, f in enumerate(futures)}
        for future in dask_completed(futures, loop=client.loop):
            i = index[future.key]
            try:
                record(i, future.result())
            except Exception as err:
                record(i, _lost(tasks[i], err))
    except BaseException:
        if futures:
            client.cancel(futures)
        raise
    finally:
        client.close()
