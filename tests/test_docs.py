"""The docs come from the one description of the contract, and say what CI runs."""

from __future__ import annotations

from pathlib import Path

from optimizer.inputs.schema import markdown

ROOT = Path(__file__).resolve().parent.parent


def test_readme_contract_tables_match_the_schema() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert markdown() in readme, "README contract tables are stale: paste schema.markdown()"


def test_ci_runs_the_readme_test_command() -> None:
    command = 'pip install -e ".[test]" && python -m pytest'
    assert command in (ROOT / "README.md").read_text(encoding="utf-8")
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
