"""The Excel report: read it back and find the plan's numbers; safety; atomic writes; read-back."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from plan_fixture import make_plan, make_portfolio

from models.errors import InputError, UsageError
from optimizer.plan import DECISION_COLUMNS, UPGRADE_COLUMNS
from optimizer.reports.charts import axis_scales
from optimizer.reports.summary import plan_narrative, plan_text
from optimizer.reports.write import (
    check_target,
    commitments_from_report,
    read_decisions,
    write_report,
)

EVIL = '=HYPERLINK("http://x","y")'


@pytest.fixture
def report(tmp_path: Path) -> tuple[Path, object]:
    plan = make_plan()
    path = tmp_path / "plan.xlsx"
    write_report(plan, path)
    return path, plan


def _records(ws, header_row: int = 1) -> list[dict[str, object]]:
    rows = list(ws.iter_rows(min_row=header_row, values_only=True))
    header = rows[0]
    return [dict(zip(header, r, strict=True)) for r in rows[1:]]


def _metrics(path: Path) -> dict[str, object]:
    ws = load_workbook(path)["Summary"]
    return {r[0]: r[1] for r in ws.iter_rows(min_row=2, max_col=2, values_only=True)
            if r[0] is not None}


def test_summary_holds_the_headline_numbers(report):
    path, plan = report
    m = _metrics(path)
    assert m["npv_musd"] == pytest.approx(889.8702503, abs=1e-6)
    assert m["npv_musd"] == plan.npv_musd
    assert m["status"] == "optimal" and m["termination"] == "optimal"
    assert m["mip_gap"] == pytest.approx(0.0004)
    assert m["best_bound_musd"] == pytest.approx(plan.npv_musd * 1.0004)
    assert m["uplift_vs_greedy_musd"] == pytest.approx(42.5)
    assert m["halls_converted"] == 4
    assert m["ai_it_mw_online_end"] == 200
    assert m["capex_total_musd"] == pytest.approx(1425 + 350 + 80)
    assert m["solve_seconds"] == 1.25
    assert m["input_sha256"] == "ab" * 32
    for key in ("sitepivot_version", "pyomo_version", "highspy_version", "created_utc",
                "method", "input_file", "greedy_npv_musd"):
        assert key in m
    ws = load_workbook(path)["Summary"]
    assert [c.value for c in ws[1][:5]] == ["metric", "value", "label", "unit", "note"]
    assert ws["B2"].number_format == "#,##0.0" and ws["C2"].value == "NPV ($M)"
    texts = [c.value for c in ws["G"] if isinstance(c.value, str)]  # the account, beside
    assert ("Convert 3 halls at Childress to dlc_ai from 2027Q2 (online 2028Q2), "
            "$1,425M capex.") in texts
    assert "Solve: optimal within 0.1% (gap 0.04%)." in texts
    method_row = next(row for row in ws.iter_rows(values_only=True) if row[0] == "method")
    assert (method_row[1], method_row[4]) == ("monolithic", "the whole model solved by HiGHS")


def test_decisions_and_upgrades_rows_as_in_the_plan(report):
    path, plan = report
    wb = load_workbook(path)
    ws = wb["Decisions"]
    assert [c.value for c in ws[1]] == DECISION_COLUMNS
    rows = _records(ws)
    assert len(rows) == 2
    expected = plan.decisions.sort_values("start_quarter").to_dict("records")
    for got, want in zip(rows, expected, strict=True):
        for col in DECISION_COLUMNS:
            if isinstance(want[col], str):
                assert got[col] == want[col]
            else:
                assert got[col] == pytest.approx(want[col])
    assert ws["C2"].value == "2027Q2" and ws["C2"].number_format == "@"
    assert ws["G2"].number_format == "#,##0.0"
    assert "tDecisions" in ws.tables and ws.tables["tDecisions"].ref == "A1:L3"
    assert ws.freeze_panes == "A2"
    up = wb["Upgrades"]
    assert [c.value for c in up[1]] == UPGRADE_COLUMNS
    assert _records(up)[0] == {"site": "Childress", "kind": "cooling", "start_quarter": "2027Q1",
                               "units": 2, "mw": 100, "online_quarter": "2027Q3",
                               "capex_musd": 80}
    back = read_decisions(path)
    assert list(back.columns) == DECISION_COLUMNS
    assert list(back.index) == [2, 3]
    assert back.loc[2, "site"] == "Childress" and back.loc[3, "halls"] == 1


def test_cash_flow_rows_terminal_value_and_totals(report):
    path, plan = report
    ws = load_workbook(path)["CashFlows"]
    rows = _records(ws)
    by_q = {r["quarter"]: r for r in rows}
    cf = plan.cash_flows.set_index("quarter")
    for q in plan.portfolio.quarter_labels:
        assert by_q[q]["net_musd"] == pytest.approx(cf.loc[q, "net_musd"])
        assert by_q[q]["discount_factor"] == pytest.approx(cf.loc[q, "discount_factor"])
    tv = by_q["terminal value (multiple)"]
    assert tv["discounted_musd"] == pytest.approx(plan.terminal_value_musd)
    assert tv["cumulative_discounted_musd"] == pytest.approx(plan.npv_musd)
    total = by_q["total"]
    assert total["discounted_musd"] == pytest.approx(plan.npv_musd)
    assert total["capex_musd"] == pytest.approx(1855.0)
    assert total["mining_margin_musd"] == pytest.approx(cf["mining_margin_musd"].sum())
    assert total["discount_factor"] is None


def test_every_sheet_present_with_tables(report):
    path, _ = report
    wb = load_workbook(path)
    for name in ("Summary", "Decisions", "Upgrades", "Schedule", "CashFlows", "Sites",
                 "Capacity", "Constraints", "ChartData", "Input_Settings", "Input_Sites",
                 "Input_Options", "Input_SiteOptions", "Input_Quarters", "Input_Commitments",
                 "Log"):
        assert name in wb.sheetnames
        assert wb[name].tables, f"{name} has no Excel table"
    sched = wb["Schedule"]
    assert [sched.cell(2, j).value for j in range(1, 10)] == [
        "Childress", "M", "B3", "B3", "B3", "B3", "H3", "H3", "H3"]
    assert sched["G2"].fill.fgColor.rgb.endswith("A9D08E")  # hosting green
    assert sched["C2"].fill.fgColor.rgb.endswith("F4B183")  # building orange
    sites = {r["site"]: r for r in _records(wb["Sites"]) if r["site"] in ("Childress", "Odessa")}
    assert sites["Childress"]["halls_converted"] == 3
    assert sites["Childress"]["halls_available"] == 6
    assert sites["Childress"]["cooling_headroom_end_mw"] == pytest.approx(35)
    assert sites["Odessa"]["power_headroom_end_mw"] == pytest.approx(0)
    assert sites["Childress"]["npv_musd"] == pytest.approx(653.100345)
    notes = [c.value for c in wb["Sites"]["A"] if isinstance(c.value, str)]
    assert "Site NPVs include each site's terminal value; they sum to the plan's NPV." in notes
    cons = _records(wb["Constraints"])
    names = [r["constraint"] for r in cons if r["family"]]
    assert names == ["capital budget in 2027Q2", "power at Odessa in 2027Q3"]
    assert len(_records(wb["Capacity"])) == 16
    log = [r["message"] for r in _records(wb["Log"])]
    assert log[0].startswith("Odessa: a start commitment") and "Running HiGHS 1.11.0" in log
    settings = {r["key"]: r["value"] for r in _records(wb["Input_Settings"])}
    assert settings["discount_rate"] == 0.1 and settings["mip_gap"] == 0.001


def _sheet_xml(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n).decode() for n in z.namelist() if n.endswith(".xml")}


def test_user_text_is_never_a_formula(tmp_path):
    plan = make_plan(site_names=(EVIL, "+Odessa"), region="@SUM(1+1)")
    path = tmp_path / "evil.xlsx"
    write_report(plan, path)
    for name, xml in _sheet_xml(path).items():
        if name.startswith("xl/worksheets/"):
            assert "<f>" not in xml and "<f " not in xml, name
    wb = load_workbook(path)
    for sheet, cell in (("Decisions", "A2"), ("Schedule", "A2"), ("Input_Sites", "A2")):
        c = wb[sheet][cell]
        assert c.value == EVIL and c.data_type == "s" and c.quotePrefix, (sheet, cell)
    assert wb["Input_Sites"]["B2"].value == "@SUM(1+1)"
    assert wb["Input_Sites"]["B2"].quotePrefix
    assert wb["Input_Sites"]["A3"].value == "+Odessa"


def test_control_characters_removed(tmp_path):
    plan = make_plan(region="ERCOT\x07, TX\x00",
                     solver_log="step\x1b[0m one\tdone\r\nline two\n" + "x" * 40_000)
    path = tmp_path / "ctl.xlsx"
    write_report(plan, path)
    wb = load_workbook(path)
    assert wb["Input_Sites"]["B2"].value == "ERCOT, TX"
    log = [r["message"] for r in _records(wb["Log"])]
    assert "step[0m one done" in log and "line two" in log
    assert len(log[-1]) == 32_767 and log[-1].endswith("x…")  # Excel's limit per cell


def test_nan_and_missing_numbers_are_empty(tmp_path):
    plan = make_plan()
    plan.greedy_npv_musd = None
    plan.bound_musd = math.inf
    plan.cash_flows.loc[0, "tax_musd"] = np.nan
    path = tmp_path / "nan.xlsx"
    write_report(plan, path)
    m = _metrics(path)
    assert m["greedy_npv_musd"] is None and m["best_bound_musd"] is None
    assert m["uplift_vs_greedy_musd"] is None
    wb = load_workbook(path)
    assert wb["CashFlows"]["H2"].value is None
    chart_data = _records(wb["ChartData"])
    assert chart_data[6]["quarter"] == "2028Q3" and chart_data[6]["budget_musd"] is None


def _chart_refs(path: Path) -> list[list[str]]:
    charts = sorted(n for n in _sheet_xml(path) if n.startswith("xl/charts/chart"))
    xml = _sheet_xml(path)
    return [[f.replace("'", "") for f in re.findall(r"<c:f>([^<]+)</c:f>", xml[n])
             or re.findall(r"<f>([^<]+)</f>", xml[n])] for n in charts]


def test_charts_exist_and_plot_the_right_ranges(report):
    path, _ = report
    ws = load_workbook(path)["Summary"]
    assert len(ws._charts) == 4
    refs = _chart_refs(path)
    assert len(refs) == 4
    cash, area, capex, equity = refs
    # equity cash flow (column U) and debt outstanding (column T) by quarter
    assert "CashFlows!$U$2:$U$9" in equity and "CashFlows!$T$2:$T$9" in equity
    # net cash flow (column I) and cumulative discounted (column L), quarter rows 2..9 only
    assert "CashFlows!$I$2:$I$9" in cash and "CashFlows!$L$2:$L$9" in cash
    assert "ChartData!$H$2:$H$9" in cash  # the axis labels, one a year
    # grid MW of mining and of the AI halls: both grid MW, so the stack is the power used
    assert "ChartData!$B$2:$B$9" in area and "ChartData!$G$2:$G$9" in area
    assert "ChartData!$C$2:$C$9" not in area  # IT MW is not stacked on grid MW
    # budget use (what the budget limits) against the budget; not capex, which under the
    # equity basis would stand above budgets the plan keeps
    assert "ChartData!$F$2:$F$9" in capex and "ChartData!$E$2:$E$9" in capex
    assert "ChartData!$D$2:$D$9" not in capex
    wb = load_workbook(path)
    assert wb["ChartData"]["A1"].value == "quarter" and wb["ChartData"]["E1"].value == \
        "budget_musd" and wb["ChartData"]["F1"].value == "budget_use_musd"
    assert wb["ChartData"]["B2"].value == 650 and wb["ChartData"]["C9"].value == 200
    assert wb["ChartData"]["G1"].value == "ai_grid_mw" and wb["ChartData"].sheet_state == "hidden"
    assert [wb["ChartData"].cell(r, 8).value for r in (2, 3, 6)] == ["2027", None, "2028"]


def test_secondary_axis_zero_is_level_with_primary():
    (p_lo, p_hi, p_step), (s_lo, s_hi, s_step) = axis_scales([(-403, 94), (-1342, 46)])
    assert p_lo <= -403 and p_hi >= 94 and s_lo <= -1342 and s_hi >= 46
    assert -p_lo / p_step == -s_lo / s_step  # same number of gridlines below zero
    assert p_hi / p_step == s_hi / s_step
    assert (p_lo, p_hi, p_step) == (-700, 100, 100)


def test_atomic_write_leaves_only_the_report(tmp_path):
    path = tmp_path / "plan.xlsx"
    write_report(make_plan(), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.xlsx"]


def test_locked_target_is_a_usage_error_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "plan.xlsx"
    path.write_bytes(b"previous")

    def locked(src, dst):
        raise PermissionError(13, "The process cannot access the file", str(dst))

    monkeypatch.setattr(os, "replace", locked)
    with pytest.raises(UsageError, match="locked or read-only"):
        write_report(make_plan(), path, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.xlsx"]
    assert path.read_bytes() == b"previous"


def test_refuses_to_overwrite_without_force(tmp_path):
    path = tmp_path / "plan.xlsx"
    write_report(make_plan(), path)
    first = path.stat().st_mtime_ns
    with pytest.raises(UsageError, match="already exists; use --force"):
        write_report(make_plan(), path)
    assert path.stat().st_mtime_ns == first
    write_report(make_plan(), path, force=True)
    assert _metrics(path)["npv_musd"] == pytest.approx(889.8702503, abs=1e-6)


def test_refuses_to_write_onto_the_input(tmp_path, monkeypatch):
    source = tmp_path / "portfolio.xlsx"
    source.write_bytes(b"the user's workbook")
    plan = make_plan(source=str(source))
    with pytest.raises(UsageError, match="onto the input"):
        write_report(plan, source, force=True)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="onto the input"):
        check_target(Path("./sub/../portfolio.xlsx"), [source], force=True)
    link = tmp_path / "link.xlsx"
    link.symlink_to(source)
    with pytest.raises(UsageError, match="onto the input"):
        check_target(link, [Path("portfolio.xlsx")], force=True)
    assert source.read_bytes() == b"the user's workbook"


def test_missing_folder_and_wrong_suffix(tmp_path):
    with pytest.raises(UsageError, match=r"folder .*nowhere does not exist"):
        write_report(make_plan(), tmp_path / "nowhere" / "plan.xlsx")
    with pytest.raises(UsageError, match=r"must end in \.xlsx"):
        check_target(tmp_path / "plan.csv", [], force=False)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(UsageError, match="not writable"):
            check_target(folder / "plan.xlsx", [], force=False)
    finally:
        folder.chmod(0o755)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_converts_to_pdf_with_libreoffice(report, tmp_path):
    path, _ = report
    out = tmp_path / "pdf"
    done = subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(out),
                           str(path)], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    pdf = out / "plan.pdf"
    assert pdf.exists() and pdf.read_bytes()[:4] == b"%PDF" and pdf.stat().st_size > 10_000


def test_commitments_from_report_locks_earlier_starts(report):
    path, _ = report
    later = _starting(make_portfolio(), "2027Q3")
    locked = commitments_from_report(later, path)
    c = locked.commitments
    assert len(c) == 1  # Odessa's 2027Q3 start is not before the new start: left free
    assert c.iloc[0].to_dict() == {"site": "Childress", "option": "dlc_ai", "quarter": "2027Q2",
                                   "halls": 3.0, "action": "start"}
    assert len(locked.warnings) == 1 and "Decisions!A2" in locked.warnings[0]
    assert len(later.commitments) == 0  # the original is untouched
    same = commitments_from_report(make_portfolio(), path)  # start 2027Q1: nothing locked
    assert len(same.commitments) == 0


def test_commitments_from_report_names_the_cell_of_a_vanished_site(report):
    path, _ = report
    renamed = _starting(make_portfolio(site_names=("Childress North", "Odessa")), "2028Q1")
    with pytest.raises(InputError) as err:
        commitments_from_report(renamed, path)
    text = str(err.value)
    assert "Decisions!A2 [site]: value 'Childress'" in text
    assert "Decisions!A3" not in text  # Odessa still exists


def test_empty_plan_writes_and_reads_back(tmp_path):
    plan = make_plan()
    plan.decisions = plan.decisions.iloc[0:0]
    plan.upgrades = plan.upgrades.iloc[0:0]
    path = tmp_path / "empty.xlsx"
    write_report(plan, path)
    assert load_workbook(path)["Decisions"].tables["tDecisions"].ref == "A1:L2"
    back = read_decisions(path)
    assert list(back.columns) == DECISION_COLUMNS and len(back) == 0
    assert commitments_from_report(make_portfolio(), path).commitments.empty


def test_read_decisions_of_a_non_report_is_an_input_error(tmp_path):
    bogus = tmp_path / "notes.xlsx"
    bogus.write_text("not a workbook")
    with pytest.raises(InputError, match="Decisions"):
        read_decisions(bogus)


def test_narrative_never_calls_a_time_limited_plan_optimal():
    plan = make_plan(status="feasible", termination="time_limit", gap=0.0063)
    lines = plan_narrative(plan)
    assert ("Solve: time limit reached: best plan found is within 0.63% of the best "
            "possible.") in lines
    assert not any("optimal" in line for line in lines)
    assert lines[0] == ("Convert 3 halls at Childress to dlc_ai from 2027Q2 (online 2028Q2), "
                        "$1,425M capex.")
    assert lines[2] == ("Add 2 cooling modules (100 MW) at Childress from 2027Q1 (online "
                        "2027Q3), $80M capex.")
    assert lines[3].startswith("By 2028Q4: 4 of 8 halls converted, 200 MW of AI IT online")
    assert "Binding limits: power at Odessa in 2027Q3." in lines


def test_plan_text_shows_metrics_and_tables():
    text = plan_text(make_plan())
    assert "npv_musd               $889.9M" in text
    assert "optimal within 0.1%" in text
    assert re.search(r"Childress\s+dlc_ai\s+2027Q2\s+3\s+150.0\s+2028Q2\s+1,425.0", text)
    assert re.search(r"Childress\s+cooling\s+2027Q1\s+2", text)
    assert pd.notna(text)


def test_sites_sheet_adds_terminal_value_when_site_npvs_exclude_it(tmp_path):
    plan = make_plan()
    plan.site_npv_musd = plan.site_npv_musd - plan.terminal_value_musd / 2
    path = tmp_path / "tv.xlsx"
    write_report(plan, path)
    rows = {r["site"]: r for r in _records(load_workbook(path)["Sites"])}
    assert rows["terminal value (not by site)"]["npv_musd"] == pytest.approx(
        plan.terminal_value_musd)


def test_narrative_summarises_phased_starts():
    plan = make_plan()
    extra = plan.decisions.iloc[[0]].assign(start_quarter="2027Q4", online_quarter="2028Q4",
                                            halls=2, capex_musd=950.0)
    plan.decisions = pd.concat([plan.decisions, extra], ignore_index=True)
    lines = plan_narrative(plan)
    assert lines[0] == ("Convert 5 halls at Childress to dlc_ai in 2 steps from 2027Q2 to 2027Q4 "
                        "(online 2028Q2 to 2028Q4), $2,375M capex.")
    assert lines[1].startswith("Convert 1 hall at Odessa to air_hpc from 2027Q3")


def _starting(portfolio, quarter: str):
    return portfolio.replace(settings=type(portfolio.settings)(
        **{**vars(portfolio.settings), "start_quarter": quarter}))


def test_locked_start_the_new_workbook_forbids_is_named(report):
    path, _ = report
    pf = _starting(make_portfolio(), "2027Q3")
    so = pf.site_options.copy()
    so.loc[("Childress", "dlc_ai"), "allowed"] = False
    with pytest.raises(InputError, match=r"Decisions!B2 \[option\].*does not allow dlc_ai"):
        commitments_from_report(pf.replace(site_options=so), path)
    excl = pd.DataFrame([{"site": "Childress", "option": None, "quarter": None,
                          "halls": np.nan, "action": "exclude"}])
    with pytest.raises(InputError, match=r"Decisions!B2 .*contradicted by an exclude"):
        commitments_from_report(pf.replace(commitments=excl), path)


def test_locked_starts_count_against_the_site_halls_and_are_not_doubled(report):
    path, _ = report
    pf = _starting(make_portfolio(), "2027Q3")
    same = pd.DataFrame([{"site": "Childress", "option": "dlc_ai", "quarter": "2027Q2",
                          "halls": 3.0, "action": "start"}])
    kept = commitments_from_report(pf.replace(commitments=same), path)
    assert len(kept.commitments) == 1 and not kept.warnings  # already in the workbook
    more = pd.DataFrame([{"site": "Childress", "option": "air_hpc", "quarter": "2027Q4",
                          "halls": 4.0, "action": "start"}])
    with pytest.raises(InputError, match=r"Decisions!D2 \[halls\].*total 7 halls, more than "
                                         r"its 6"):
        commitments_from_report(pf.replace(commitments=more), path)


# ---- with the real solver: the Plan that `optimize` returns fits the report --------------------
@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    from support import tiny_tables, write_xlsx

    from optimizer.inputs.workbook import load_portfolio
    from optimizer.solve.optimize import optimize

    folder = tmp_path_factory.mktemp("solved")
    workbook = write_xlsx(tiny_tables(), folder / "tiny.xlsx")
    plan = optimize(load_portfolio(workbook), time_limit=30)
    path = folder / "tiny-plan.xlsx"
    write_report(plan, path)
    return workbook, plan, path


def test_solved_plan_report_reads_back(solved):
    _, plan, path = solved
    m = _metrics(path)
    assert m["npv_musd"] == pytest.approx(plan.npv_musd, rel=1e-12)
    assert m["status"] == plan.status
    assert m["input_sha256"] == plan.portfolio.sha256 and len(m["input_sha256"]) == 64
    assert m["halls_converted"] == plan.halls_converted
    rows = {r["quarter"]: r for r in _records(load_workbook(path)["CashFlows"])}
    assert rows["total"]["discounted_musd"] == pytest.approx(plan.npv_musd, rel=1e-9)
    back = read_decisions(path)
    assert len(back) == len(plan.decisions)
    assert sorted(back["halls"]) == sorted(plan.decisions["halls"])


def test_cli_refuses_the_input_as_report_before_solving(solved):
    from click.testing import CliRunner

    from optimizer.cli import main

    workbook, _, path = solved
    before = workbook.read_bytes()
    result = CliRunner().invoke(main, ["plan", str(workbook), "-o", str(workbook), "--force"])
    assert result.exit_code == 2 and "onto the input" in result.output
    assert workbook.read_bytes() == before
    result = CliRunner().invoke(main, ["plan", str(workbook), "-o", str(path)])
    assert result.exit_code == 2 and "already exists; use --force" in result.output


def test_solve_outcome_wording():
    from optimizer.reports.summary import solve_outcome

    assert solve_outcome(make_plan(gap=0.0)) == "optimal within 0.1%"
    override = make_plan(gap=0.04)
    override.mip_gap_requested = 0.05  # a --mip-gap override, recorded on the Plan
    assert solve_outcome(override) == "optimal within 5% (gap 4%)"
    assert solve_outcome(make_plan(status="feasible", termination="time_limit",
                                   gap=math.inf)) == ("time limit reached: best plan found; its "
                                                      "distance from the best possible is "
                                                      "unknown")
    assert solve_outcome(make_plan(status="feasible", termination="interrupted",
                                   gap=0.02)) == ("solver stopped (interrupted): best plan found "
                                                  "is within 2% of the best possible")


def test_narrative_stays_short_for_a_large_plan():
    plan = make_plan()
    plan.decisions = pd.DataFrame([
        {"site": f"S{i}", "option": "dlc_ai", "start_quarter": "2027Q2", "halls": 1,
         "it_mw": 50.0, "online_quarter": "2028Q2", "capex_musd": 100.0 * i, "npv_musd": 1.0}
        for i in range(10)], columns=DECISION_COLUMNS)
    lines = plan_narrative(plan)
    converts = [line for line in lines if line.startswith("Convert")]
    assert len(converts) == 8 and not any(" S0 " in c or " S1 " in c for c in converts)
    assert ("Also 2 smaller conversions at 2 sites, $100M capex in all (see Decisions)."
            in lines)


def test_constraints_say_why_each_binds(tmp_path):
    """A limit the model flags binding with 45 of 100 MW spare (no room for one more hall) is
    listed as such, not as 'within 1%'; one at its limit says so; the note counts both."""
    plan = make_plan()
    lumpy = {"constraint": "Cooling at Odessa in 2027Q4", "family": "cooling", "site": "Odessa",
             "quarter": "2027Q4", "used": 55.0, "limit": 100.0, "slack": 45.0, "binding": True}
    plan.constraints = pd.concat([plan.constraints, pd.DataFrame([lumpy])], ignore_index=True)
    path = tmp_path / "plan.xlsx"
    write_report(plan, path)
    ws = load_workbook(path)["Constraints"]
    why = {r["constraint"]: r["binds_because"] for r in _records(ws) if r["family"]}
    assert why == {"capital budget in 2027Q2": "at its limit (slack within 1% of it)",
                   "power at Odessa in 2027Q3": "at its limit (slack within 1% of it)",
                   "Cooling at Odessa in 2027Q4": "no room for one more hall (slack below the "
                                                  "smallest use)"}
    notes = [c.value for c in ws["A"] if isinstance(c.value, str) and "constraints bind" in c.value]
    assert notes and notes[0].startswith("3 of 5 constraints bind: 2 at their limit")


def test_headers_show_labels_with_units_and_keep_the_names(report):
    """Header cells hold the column names (what scripts read); their number format shows the
    label and unit, with the name below it on Decisions and Upgrades."""
    from optimizer.reports.labels import label_for

    assert label_for("npv_musd") == "NPV ($M)" and label_for("cooling_used_mw") == \
        "Cooling used (MW)"
    assert label_for("equity_irr") == "Equity IRR (% a year)"
    assert label_for("lease_usd_per_kw_month") == "Lease ($/kW-month)"
    assert label_for("tenant_capex_share", percent=False) == "Tenant capex (0-1)"
    assert label_for("some_new_total_musd") == "Some new total ($M)"  # a column added later
    path, _ = report
    wb = load_workbook(path)
    dec = wb["Decisions"]
    npv = dec.cell(1, DECISION_COLUMNS.index("npv_musd") + 1)
    assert npv.value == "npv_musd" and npv.number_format == ';;;"NPV ($M)\n"@'
    cash = wb["CashFlows"]
    assert cash["B1"].value == "mining_margin_musd"
    assert cash["B1"].number_format == ';;;"Mining margin ($M)"'


def test_inputs_keep_what_was_entered(tmp_path):
    plan = make_plan()
    options = plan.portfolio.options.copy()
    options.iloc[0, options.columns.get_loc("capex_musd_per_it_mw")] = 10.5
    plan.portfolio = plan.portfolio.replace(options=options)
    path = tmp_path / "plan.xlsx"
    write_report(plan, path)
    ws = load_workbook(path)["Input_Options"]
    col = [c.value for c in ws[1]].index("capex_musd_per_it_mw") + 1
    assert ws.cell(2, col).value == 10.5 and ws.cell(2, col).number_format == "General"
    flags = [c for row in load_workbook(path)["Input_SiteOptions"].iter_rows(min_row=2)
             for c in row if isinstance(c.value, bool)]
    assert flags and all(c.number_format == '"TRUE";"TRUE";"FALSE"' for c in flags)
