"""The docs come from the one description of the contract, and say what CI runs."""

from __future__ import annotations

import re
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


def _python_api_snippet() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Python API"):]
    return section[section.index("```python\n") + 10:section.index("```\n", 10)]


def test_readme_python_snippet_runs_twice(tmp_path: Path, monkeypatch: object) -> None:
    """The snippet as printed, from a fresh clone's root (reports/ exists), run twice in a row;
    only its time limit is shortened here, to keep the test quick."""
    import shutil

    snippet = _python_api_snippet()
    assert "time_budgets(45)" in snippet and "force=True" in snippet
    shutil.copytree(ROOT / "inputs", tmp_path / "inputs")
    (tmp_path / "reports").mkdir()
    monkeypatch.chdir(tmp_path)  # type: ignore[attr-defined]
    quick = (snippet.replace("time_budgets(45)", "time_budgets(4)")
             .replace("budget=10)", "budget=2)").replace("budget=5)", "budget=2)"))
    for _ in range(2):
        namespace: dict[str, object] = {}
        exec(compile(quick, "README.md", "exec"), namespace)
        plan = namespace["plan"]
        assert plan.why_not is not None and plan.timing_value is not None  # type: ignore[attr-defined]
    from openpyxl import load_workbook

    sheets = load_workbook(tmp_path / "reports" / "plan.xlsx", read_only=True).sheetnames
    assert {"WhyNot", "Timing", "Firmness", "Alternatives"} <= set(sheets)


# Paths that would send a reader outside the repository: the engineers' shared notes, the
# machine it was written on, any absolute path (Unix or Windows).
OUTSIDE = re.compile(r"shared/|/work/|(?:^|[\s`'\"(=])/(?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_.-]+"
                     r"|\b[A-Za-z]:\\")


def _texts() -> dict[str, str]:
    """README.md, every text file under inputs/ and the sample workbook's Sources cells."""
    from openpyxl import load_workbook

    texts = {"README.md": (ROOT / "README.md").read_text(encoding="utf-8")}
    for path in sorted((ROOT / "inputs").rglob("*")):
        if path.suffix in (".md", ".py", ".csv", ".txt"):
            texts[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    wb = load_workbook(ROOT / "inputs" / "sample_portfolio.xlsx", read_only=True)
    texts["inputs/sample_portfolio.xlsx"] = "\n".join(
        str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
        if isinstance(v, str))
    return texts


def test_no_path_outside_the_repository_in_readme_or_inputs() -> None:
    found = [f"{name}: {m.group().strip()}" for name, text in _texts().items()
             for m in OUTSIDE.finditer(text)]
    assert not found, found


def test_every_markdown_file_the_readme_names_is_in_the_repository() -> None:
    for name, text in _texts().items():
        for ref in set(re.findall(r"[\w./-]*\b[\w-]+\.md\b", text)):
            candidates = [ROOT / ref, ROOT / "inputs" / ref]
            assert any(c.exists() for c in candidates), f"{name} names {ref}, not in the repo"


def test_the_api_raises_domain_errors_for_bad_arguments(tmp_path: Path) -> None:
    """What the README promises: Python gets the CLI's domain errors, never a solver's
    ValueError or a traceback from deep inside."""
    import pytest
    from support import tiny_tables

    import optimizer
    from optimizer.inputs.validation import portfolio_from_tables

    portfolio = portfolio_from_tables(tiny_tables())
    for bad in ({"time_limit": -1.0}, {"time_limit": 0.0}, {"time_limit": float("nan")},
                {"mip_gap": -0.1}, {"mip_gap": 2.0}, {"threads": -1}, {"seed": -5},
                {"threads": 1.5}, {"method": "fastest"}):
        with pytest.raises(optimizer.UsageError):
            optimizer.optimize(portfolio, **bad)  # type: ignore[arg-type]
    with pytest.raises(optimizer.InputError):
        optimizer.load_portfolio(tmp_path / "missing.xlsx")
    plan = optimizer.optimize(portfolio, time_limit=30)
    with pytest.raises(optimizer.UsageError):
        optimizer.write_report(plan, tmp_path / "plan.txt")
    optimizer.write_report(plan, tmp_path / "plan.xlsx")
    with pytest.raises(optimizer.UsageError, match="already exists"):
        optimizer.write_report(plan, tmp_path / "plan.xlsx")
    optimizer.write_report(plan, tmp_path / "plan.xlsx", force=True)


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


def test_no_file_of_the_repository_names_the_engineers_notes() -> None:
    """The engineers' notes live outside the repository: no tracked text file names them or a
    path on the machine the code was written on (this file holds the patterns)."""
    import subprocess

    names = ("DESIGN.md", "FACTS.md", "STYLE.md", "shared/", "/work/")
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    found = []
    for name in tracked:
        path = ROOT / name
        if path.suffix not in (".py", ".md", ".toml", ".csv", ".txt", ".cfg", ".yml", "") \
                or name == "tests/test_docs.py" or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found += [f"{name}: {n}" for n in names if n in text]
    assert not found, found
