"""The sample report on paper: rendered to PDF by LibreOffice, as a reader would print it.

Skipped without LibreOffice (`soffice`) or poppler (`pdfinfo`, `pdftotext`); CI installs both
(.ci/run). The solve is short (a few seconds): the page layout, not the plan, is under test.
Each page's footer names its sheet ("Summary, page 1 of 21"), which is how pages are counted
per sheet here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import optimizer
from optimizer.replan.firmness import assess

SAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "sample_portfolio.xlsx"
MAX_PAGES = 25
MAX_SUMMARY_PAGES = 2

pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("soffice", "pdfinfo", "pdftotext")),
    reason="LibreOffice (soffice) or poppler (pdfinfo, pdftotext) not installed")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[optimizer.Plan, list[str]]:
    """The sample plan (a 5 s solve and its explanations) and its report's text, page by
    page, as LibreOffice prints it."""
    folder = tmp_path_factory.mktemp("render")
    portfolio = optimizer.load_portfolio(SAMPLE)
    plan = optimizer.optimize(portfolio, time_limit=5)
    optimizer.explain_plan(plan, budget=2)
    # as `sitepivot plan` does: the Firmness and Alternatives sheets print too
    assess(plan, alternatives=2, budget=15)
    report = folder / "plan.xlsx"
    optimizer.write_report(plan, report)
    done = subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir",
                           str(folder), str(report)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "HOME": str(folder)})
    pdf = folder / "plan.pdf"
    assert done.returncode == 0 and pdf.exists(), done.stderr
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    pages = int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))  # type: ignore[union-attr]
    texts = [subprocess.run(["pdftotext", "-layout", "-f", str(p), "-l", str(p), str(pdf), "-"],
                            capture_output=True, text=True, check=True).stdout
             for p in range(1, pages + 1)]
    return plan, texts


def _pages_of(texts: list[str], sheet: str) -> list[str]:
    return [t for t in texts if re.search(rf"\b{re.escape(sheet)}, page \d+ of \d+", t)]


def test_the_report_prints_on_few_pages(rendered):
    _, texts = rendered
    assert len(texts) <= MAX_PAGES
    assert 1 <= len(_pages_of(texts, "Summary")) <= MAX_SUMMARY_PAGES
    assert _pages_of(texts, "Summary")[0] is texts[0]
    assert not _pages_of(texts, "ChartData")  # hidden: the charts' series do not print
    assert len(_pages_of(texts, "Log")) == 1  # the solver log is not printed in full
    assert len(_pages_of(texts, "Schedule")) == 1  # 40 quarters one page wide
    assert len(_pages_of(texts, "CashFlows")) == 1  # every line one page wide (it took 18)
    assert _pages_of(texts, "Firmness") and _pages_of(texts, "Alternatives")
    assert len(_pages_of(texts, "Capacity")) <= 3  # portrait: narrow, 400 rows (4 landscape)
    for sheet in ("Input_Settings", "Input_Options", "Input_Quarters"):
        assert len(_pages_of(texts, sheet)) == 1


def test_page_one_holds_the_headline_and_the_account(rendered):
    plan, texts = rendered
    first = texts[0]
    assert f"{plan.npv_musd:,.1f}" in first  # the headline NPV, as the Summary shows it
    assert "NPV ($M)" in first and "npv_musd" in first  # the label beside the metric key
    assert "What the plan says" in first and "Solve: " in first  # the whole account


def test_inputs_print_as_entered(rendered):
    _, texts = rendered
    (options,) = _pages_of(texts, "Input_Options")
    assert re.search(r"\b10\.5\b", options)  # DLC capex, not rounded to 11
    assert re.search(r"\b1\.05\b", options)  # immersion's cooling ratio, not rounded to 1.1
    assert "TRUE" in options  # a boolean, not 1


def test_columns_do_not_collide(rendered):
    _, texts = rendered
    for text in _pages_of(texts, "Decisions"):
        assert not re.search(r"%\d{4}Q\d", text), text  # "37.25%2031Q1"
        assert "IRR" in text and "irr" in text  # the label over the column name
