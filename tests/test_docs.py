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


def test_rule_tables_match_the_registry_of_constraint_families() -> None:
    from models.conversion import markdown as rule_table

    for doc in ("README.md", "docs/model.md"):
        text = (ROOT / doc).read_text(encoding="utf-8")
        assert rule_table() in text, f"{doc} rule table is stale: paste conversion.markdown()"


def test_docs_are_self_contained() -> None:
    """The economics and the model are documented inside the repository, linked from the
    README, and no document points outside it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for doc in ("docs/economics.md", "docs/model.md"):
        assert f"]({doc})" in readme
        assert "shared/" not in (ROOT / doc).read_text(encoding="utf-8")
    economics = (ROOT / "docs" / "economics.md").read_text(encoding="utf-8")
    for formula in ("DF_t = (1 + r)^(−(t+1)/4)", "occupancy_t = min(1, (t − q0 + 1) / R)",
                    "Tax_t = τ_x", "TV = 4 · AI NOI_{T−1} · (1 + g) / (r − g)"):
        assert formula in economics
