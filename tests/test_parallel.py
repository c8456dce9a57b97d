"""The one executor (`optimizer.parallel.run_all`): every item recorded once, with its own
result or its failure, whatever runs it."""

from __future__ import annotations

import pytest

from models.errors import UsageError
from optimizer.parallel import run_all


def scaled(factor: int, item: int) -> int:
    """A task: the item times the shared factor; item 3 fails."""
    if item == 3:
        raise ValueError("item 3 cannot be scaled")
    return factor * item


def failure(item: int, err: BaseException) -> int:
    assert isinstance(err, ValueError) and "item 3" in str(err)
    return -item


@pytest.mark.parametrize("workers", [1, 2])
def test_every_item_is_recorded_with_its_result_or_its_failure(workers: int) -> None:
    recorded: dict[int, int] = {}

    def record(i: int, result: int) -> None:
        assert i not in recorded  # once each
        recorded[i] = result

    run_all(scaled, 10, [1, 2, 3, 4], record=record, failed=failure, workers=workers)
    assert recorded == {0: 10, 1: 20, 2: -3, 3: 40}


def test_the_sweep_refuses_zero_workers_instead_of_taking_every_core() -> None:
    from support import tiny_tables

    from optimizer.inputs.validation import portfolio_from_tables
    from optimizer.sweeps.sweep import run_sweep

    with pytest.raises(UsageError, match="at least 1, not 0"):
        run_sweep(portfolio_from_tables(tiny_tables()), "tornado", workers=0, progress=False)
