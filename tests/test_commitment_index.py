"""The Commitments checks are linear (`optimizer.inputs.commitments`): the excludes and
not_befores are indexed once, and a start still meets each one that binds it, in row order."""

from __future__ import annotations

from test_validation import errors_of, with_commitments


def test_a_start_lists_what_contradicts_it_in_row_order() -> None:
    """The Commitments checks index the excludes and not_befores by (site, option): a start
    still meets every one of its site that names no option or its option, in row order, and
    none of another site, another option, or a not_before it is not before."""
    message = errors_of(with_commitments(
        ("Alpha", "dlc", "2028Q1", None, "not_before"),  # row 2: later than the start
        ("Alpha", None, None, None, "exclude"),  # row 3: every option at Alpha
        ("Alpha", "air", "2028Q4", None, "not_before"),  # row 4: another option
        ("Bravo", None, None, None, "exclude"),  # row 5: another site
        ("Alpha", "dlc", "2027Q2", 1, "start"),  # row 6
        ("Alpha", None, "2027Q1", None, "not_before"),  # row 7: not later than the start
        ("Alpha", "dlc", None, None, "exclude")))  # row 8: the same option
    lines = [line for line in message.splitlines() if "Commitments!" in line]
    assert [line.split("start of dlc at Alpha in 2027Q2: ")[1] for line in lines] == [
        "before the not_before 2028Q1 at Commitments!C2",
        "contradicted by the exclude at Commitments!E3",
        "contradicted by the exclude at Commitments!E8"]
