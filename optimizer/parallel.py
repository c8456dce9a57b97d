"""Independent solves: in this process, on a local process pool, or on a Dask scheduler.

The one executor of the sweeps (`optimizer.sweeps.sweep`) and of the robust plans
(`optimizer.robust.recourse.run_tasks`). `run_all(task, shared, items, ...)` calls
``task(shared, item)`` for every item and hands each result to ``record(i, result)`` as it
finishes, in any order:

- ``workers`` 1 (or a single item): in this process, in order;
- ``workers`` N > 1: a pool of N fresh "spawn" processes (no fork of a process that ran HiGHS),
  which receive `shared` once, through the pool's initializer, and ignore Ctrl-C: the parent
  gets it and stops them all;
- ``dask_address``: an existing Dask scheduler; `shared` is sent to each worker once
  (``scatter(broadcast=True)``).

`task` must be a module-level function (it is pickled by name). A task that raises, or dies
outside itself (a lost worker), is recorded as ``failed(item, error)`` whatever the executor:
no item is ever dropped. Ctrl-C (KeyboardInterrupt) is not a failure: it stops the run.

Faults. With a `store` (`optimizer.checkpoint.ResultStore`), each result is kept as it is
recorded (unless ``keep(result)`` is False: failures are run again next time), under the key of
`shared` and its item's content; items whose result the store already holds are recorded from
it, first, and not run. On Dask, a worker lost mid-task costs only its tasks: the scheduler
runs them again on the workers left (up to its ``allowed-failures``, default 3), and a task
that raises outside itself is retried `DASK_RETRIES` times (``client.submit(retries=)``). On
the process pool, a process that dies breaks the pool: a new pool runs the unfinished items
(`POOL_RESTARTS` times at most).
"""

from __future__ import annotations

import multiprocessing
import signal
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from models.errors import UsageError
from optimizer.checkpoint import ResultStore, fingerprint, is_missing

Shared = TypeVar("Shared")
Item = TypeVar("Item")
Result = TypeVar("Result")

POOL_RESTARTS = 2  # new pools for the items a broken one left unfinished
DASK_RETRIES = 2  # re-runs of a Dask task that raised outside itself (e.g. while unpickling)
_SHARED: Any = None  # in each pool process: what every task needs (set by `_start_process`)


def run_all(task: Callable[[Shared, Item], Result], shared: Shared, items: Sequence[Item], *,
            record: Callable[[int, Result], None],
            failed: Callable[[Item, BaseException], Result], workers: int = 1,
            dask_address: str | None = None, store: ResultStore | None = None,
            keep: Callable[[Result], bool] | None = None) -> None:
    """Run ``task(shared, item)`` for each item (see the module docstring)."""
    if store is not None:
        items, record = _from_store(store, shared, items, record, keep)
        if not items:
            return
    if dask_address is not None:
        _run_dask(dask_address, task, shared, items, record, failed)
    elif workers <= 1 or len(items) <= 1:
        for i, item in enumerate(items):
            try:
                result = task(shared, item)
            except Exception as err:  # as a pool would: the item's failure, not the run's
                result = failed(item, err)
            record(i, result)
    else:
        _run_pool(min(workers, len(items)), task, shared, items, record, failed)


def _from_store(store: ResultStore, shared: Shared, items: Sequence[Item],
                record: Callable[[int, Result], None], keep: Callable[[Result], bool] | None
                ) -> tuple[list[Item], Callable[[int, Result], None]]:
    """Record the items whose result `store` holds; return the others and a `record` that
    keeps each new result (see the module docstring)."""
    common = fingerprint(shared)
    keys = [store.key(common, fingerprint(item)) for item in items]
    todo: list[int] = []
    for i, key in enumerate(keys):
        found = store.get(key)
        if is_missing(found):
            todo.append(i)
        else:
            record(i, found)

    def record_and_keep(j: int, result: Result) -> None:
        i = todo[j]
        if keep is None or keep(result):
            store.put(keys[i], type(result).__name__, result)
        record(i, result)

    return [items[i] for i in todo], record_and_keep


def _start_process(shared: Any) -> None:
    """Pool process start: keep what every task needs; leave Ctrl-C to the parent."""
    global _SHARED
    _SHARED = shared
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _in_process(task: Callable[[Any, Any], Any], item: Any) -> Any:
    return task(_SHARED, item)


def _run_pool(workers: int, task: Callable[[Shared, Item], Result], shared: Shared,
              items: Sequence[Item], record: Callable[[int, Result], None],
              failed: Callable[[Item, BaseException], Result]) -> None:
    """The items on a pool of `workers` processes. A process that dies (killed, out of
    memory) breaks the pool: a new pool then runs the items left unfinished, up to
    POOL_RESTARTS times, after which they are recorded as failed."""
    pending = list(range(len(items)))
    for attempt in range(POOL_RESTARTS + 1):
        pending = _pool_round(workers, task, shared, items, pending, record, failed,
                              last=attempt == POOL_RESTARTS)
        if not pending:
            return


def _pool_round(workers: int, task: Callable[[Shared, Item], Result], shared: Shared,
                items: Sequence[Item], indices: list[int],
                record: Callable[[int, Result], None],
                failed: Callable[[Item, BaseException], Result], last: bool) -> list[int]:
    """One pool over `indices`; returns those lost to a broken pool (none when `last`)."""
    context = multiprocessing.get_context("spawn")
    executor = ProcessPoolExecutor(max_workers=min(workers, len(indices)), mp_context=context,
                                   initializer=_start_process, initargs=(shared,))
    futures: dict[Future[Result], int] = {}
    lost: list[int] = []
    try:
        futures = {executor.submit(_in_process, task, items[i]): i for i in indices}
        for future in as_completed(futures):
            i = futures[future]
            if not last and isinstance(future.exception(), BrokenProcessPool):
                lost.append(i)  # its process died, or another's broke the pool: run it again
                continue
            _record(future, i, items, record, failed)
    except BaseException:
        for future in futures:
            future.cancel()
        # Running solves would finish first; stop the processes now (private, but the only way).
        for process in list(getattr(executor, "_processes", {}).values()):
            process.terminate()
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
    return sorted(lost)


def dask_client(address: str) -> tuple[Any, Any]:
    """A Dask client of the scheduler at `address` and `distributed.as_completed`; a missing
    Dask or an unreachable scheduler is a UsageError."""
    try:
        from distributed import Client, as_completed
    except ImportError as err:
        raise UsageError("--dask needs Dask: pip install 'sitepivot[dask]'") from err
    try:
        client = Client(address, timeout="20s", set_as_default=False)
    except (OSError, TimeoutError) as err:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {err}") from err
    return client, as_completed


def dask_slots(address: str) -> int:
    """How many solves the Dask scheduler at `address` runs at once now: its workers'
    threads (at least 1)."""
    client, _ = dask_client(address)
    try:
        workers = client.scheduler_info().get("workers", {})
        return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
    finally:
        client.close()


def _run_dask(address: str, task: Callable[[Shared, Item], Result], shared: Shared,
              items: Sequence[Item], record: Callable[[int, Result], None],
              failed: Callable[[Item, BaseException], Result]) -> None:
    client, dask_completed = dask_client(address)
    futures: list[Any] = []
    try:
        remote = None if shared is None else client.scatter(shared, broadcast=True)
        run = uuid.uuid4().hex[:12]  # keys unique to this run: a shared scheduler keeps others
        futures = [client.submit(task, remote, item, pure=False, key=f"sitepivot-{run}-{i}",
                                 retries=DASK_RETRIES)
                   for i, item in enumerate(items)]
        index = {future.key: i for i, future in enumerate(futures)}
        for future in dask_completed(futures, loop=client.loop):
            _record(future, index[future.key], items, record, failed)
    except BaseException:
        if futures:
            client.cancel(futures)
        raise
    finally:
        client.close()


def _record(future: Any, i: int, items: Sequence[Item], record: Callable[[int, Result], None],
            failed: Callable[[Item, BaseException], Result]) -> None:
    try:
        result = future.result()
    except Exception as err:  # the task died outside itself (a lost worker...)
        result = failed(items[i], err)
    record(i, result)
