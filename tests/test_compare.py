"""`sitepivot compare`: a report's inputs read back, the decision diff, the input families and
the NPV bridge whose bars add up to the NPV change to the cent."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from support import tiny_tables, write_xlsx

from models.errors import InputError, UsageError
from optimizer.cli import main
from optimizer.compare.compare import (
    compare_reports,
    decision_changes,
    npv_bridge,
    site_changes,
)
from optimizer.compare.inputs import (
    FAMILIES,
    apply_family,
    input_changes,
    read_report_inputs,
    tables_equal,
)
from optimizer.compare.sheets import axis_floor, waterfall_series, write_compare_report
from optimizer.inputs.validation import portfolio_from_tables
from optimizer.reports.sheets import input_tables
from optimizer.reports.write import write_report
from optimizer.solve.optimize import optimize

CENT = 0.005e-6  # half a cent, in $M


def _hashprice_down(tables: dict[str, pd.DataFrame], factor: float = 0.7
                    ) -> dict[str, pd.DataFrame]:
    out = {k: v.copy() for k, v in tables.items()}
    q = out["Quarters"]
    q["hashprice_usd_per_ph_day"] = q["hashprice_usd_per_ph_day"].astype(float) * factor
    return out


def _plan_report(tables: dict[str, pd.DataFrame], folder: Path, name: str) -> Path:
    workbook = write_xlsx(tables, folder / f"{name}.xlsx")
    from optimizer.inputs.workbook import load_portfolio

    plan = optimize(load_portfolio(workbook), time_limit=30)
    path = folder / f"{name}-plan.xlsx"
    write_report(plan, path)
    return path


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("compare")
    old = _plan_report(tiny_tables(), folder, "old")
    new = _plan_report(_hashprice_down(tiny_tables()), folder, "new")
    return old, new


# ---- reading a report's inputs -----------------------------------------------------------------
def test_report_inputs_rebuild_the_portfolio(reports):
    old, _ = reports
    rebuilt = read_report_inputs(old)
    original = portfolio_from_tables(tiny_tables())
    assert tables_equal(input_tables(rebuilt), input_tables(original))
    assert rebuilt.source == str(old)
    assert len(rebuilt.sha256) == 64  # the original workbook's fingerprint, from the Summary


def test_report_input_errors_name_the_report_cell(reports, tmp_path):
    old, _ = reports
    wb = load_workbook(old)
    ws = wb["Input_Sites"]
    header = [c.value for c in ws[1]]
    col = header.index("grid_mw") + 1
    ws.cell(3, col).value = "lots"
    del wb["Input_Quarters"]
    bad = tmp_path / "bad.xlsx"
    wb.save(bad)
    with pytest.raises(InputError) as err:
        read_report_inputs(bad)
    text = str(err.value)
    assert "Input_Quarters" in text and "a report carries its inputs" in text
    wb = load_workbook(old)
    wb["Input_Sites"].cell(3, col).value = "lots"
    wb.save(bad)
    with pytest.raises(InputError) as err:
        read_report_inputs(bad)
    letter = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[col - 1]
    assert f"Input_Sites!{letter}3 [grid_mw]: value 'lots'" in str(err.value)


# ---- decision diff ---------------------------------------------------------------------------
def _decisions(rows: list[tuple[str, str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["site", "option", "start_quarter", "halls"])


def test_decision_changes_kept_moved_added_dropped():
    old = _decisions([("A", "dlc", "2027Q1", 2), ("A", "dlc", "2027Q3", 1),
                      ("B", "air", "2027Q2", 1), ("C", "dlc", "2028Q1", 1)])
    new = _decisions([("A", "dlc", "2027Q1", 1), ("A", "dlc", "2027Q3", 1),
                      ("A", "dlc", "2028Q2", 2), ("B", "air", "2027Q1", 1),
                      ("C", "air", "2028Q1", 1)])
    got = decision_changes(old, new)
    rows = [tuple(r) for r in got[["site", "option", "change", "old_start_quarter",
                                    "new_start_quarter", "halls", "shift_quarters"]]
            .itertuples(index=False, name=None)]
    assert rows == [
        ("A", "dlc", "kept", "2027Q1", "2027Q1", 1, 0),
        ("A", "dlc", "kept", "2027Q3", "2027Q3", 1, 0),
        ("A", "dlc", "moved later", "2027Q1", "2028Q2", 1, 5),
        ("A", "dlc", "added", None, "2028Q2", 1, None),
        ("B", "air", "moved earlier", "2027Q2", "2027Q1", 1, -1),
        ("C", "air", "added", None, "2028Q1", 1, None),
        ("C", "dlc", "dropped", "2028Q1", None, 1, None),
    ]
    sites = site_changes(old, new, got).set_index(["site", "option"])
    assert sites.loc[("A", "dlc"), "summary"] == "kept 2, moved later 1, added 1"
    assert sites.loc[("A", "dlc"), "halls_change"] == 1
    assert sites.loc[("C", "dlc"), "new_halls"] == 0


# ---- input families --------------------------------------------------------------------------
def _rolled_tables() -> dict[str, pd.DataFrame]:
    """The tiny portfolio a quarter later (2027Q2..2029Q1), with a new 2029Q1 row, a lower
    hashprice, a smaller budget, a dearer dlc option, a higher discount rate."""
    t = tiny_tables()
    q = t["Quarters"].iloc[1:].reset_index(drop=True)
    q = pd.concat([q, pd.DataFrame({"quarter": ["2029Q1"], "hashprice_usd_per_ph_day": [27.0],
                                    "budget_musd": [300.0]})], ignore_index=True)
    q["hashprice_usd_per_ph_day"] = q["hashprice_usd_per_ph_day"].astype(float) * 0.8
    q["budget_musd"] = 250.0
    t["Quarters"] = q
    s = t["Settings"]
    s.loc[s["key"] == "start_quarter", "value"] = "2027Q2"
    s.loc[s["key"] == "discount_rate", "value"] = 0.12
    t["Options"].loc[0, "capex_musd_per_it_mw"] = 11.0
    return t


def test_horizon_step_drops_and_adds_quarters_and_keeps_old_values_until_their_family():
    old = input_tables(portfolio_from_tables(tiny_tables()))
    new = input_tables(portfolio_from_tables(_rolled_tables()))
    step = apply_family(old, new, FAMILIES[0])
    q = step["Quarters"].set_index("quarter")
    assert list(q.index) == [*old["Quarters"]["quarter"][1:], "2029Q1"]
    assert q.loc["2027Q3", "hashprice_usd_per_ph_day"] == 46.0  # old value, not yet moved
    assert q.loc["2029Q1", "hashprice_usd_per_ph_day"] == pytest.approx(27.0 * 0.8)  # new row
    assert q.loc["2027Q3", "budget_musd"] == 300.0
    # Bravo's blank earliest_start held the start quarter: "from the first quarter" on both
    # sides, so it follows the horizon (no change left for `other`)
    sites = step["Sites"].set_index("site")["earliest_start"]
    assert (sites["Alpha"], sites["Bravo"]) == ("2027Q2", "2027Q2")
    step = apply_family(step, new, FAMILIES[1])  # hashprice
    assert step["Quarters"].set_index("quarter").loc["2027Q3", "hashprice_usd_per_ph_day"] \
        == pytest.approx(46.0 * 0.8)
    portfolio_from_tables(step)  # every step is a valid portfolio
    changes = input_changes(old, new)
    by_family = changes.groupby("family").size().to_dict()
    assert by_family == {"horizon": 3, "hashprice": 7, "capex": 1, "budget": 7, "other": 1}
    dr = changes[changes["column"] == "discount_rate"].iloc[0]
    assert (dr["old_value"], dr["new_value"], dr["family"]) == (0.1, 0.12, "other")


# ---- the bridge --------------------------------------------------------------------------------
def _bar_sum(bridge) -> float:
    bars = bridge.bars()
    return float(bars["value_musd"].iloc[1:-1].sum())


def test_hashprice_bridge_adds_up_to_the_cent(reports, tmp_path):
    old, new = reports
    result = compare_reports(old, new, time_limit=30)
    b = result.bridge
    assert b.new_npv - b.old_npv == pytest.approx(265.2270166 - 342.7095173, abs=1e-6)
    assert abs(_bar_sum(b) - (b.new_npv - b.old_npv)) < CENT
    bars = b.bars().set_index("bar")["value_musd"]
    assert bars["hashprice"] == pytest.approx(-77.4825007, abs=1e-6)
    assert all(bars[f.name] == 0.0 for f in FAMILIES if f.name != "hashprice")
    steps = b.steps.set_index("step")
    assert steps.loc["lease", "status"] == "unchanged"
    assert len(b.plans) == 2  # the old inputs and the hashprice step: no other solve

    target = tmp_path / "compare.xlsx"
    write_compare_report(result, target)
    wb = load_workbook(target)
    assert wb.sheetnames == ["Summary", "Bridge", "DecisionChanges", "SiteChanges",
                             "InputChanges"]
    ws = wb["Bridge"]
    assert set(ws.tables) == {"tBridge", "tBridgeChartSeries", "tBridgeSteps"}
    rows = list(ws.iter_rows(min_row=2, max_row=14, max_col=3, values_only=True))
    assert rows[0][0] == "old plan NPV" and rows[-1][0] == "new plan NPV"
    assert abs(sum(r[2] for r in rows[1:-1]) - (rows[-1][2] - rows[0][2])) < CENT
    chart = ws._charts[0]
    assert chart.grouping == "stacked" and chart.overlap == 100 and len(chart.series) == 6
    assert chart.series[0].graphicalProperties.noFill  # the invisible base
    inputs = list(wb["InputChanges"].iter_rows(min_row=2, values_only=True))
    assert len(inputs) == 8 and {r[0] for r in inputs} == {"hashprice"}
    with pytest.raises(UsageError, match="refusing to write the report onto the input"):
        write_compare_report(result, old, force=True)


def test_bridge_over_several_families_adds_up_and_merges_an_invalid_step(tmp_path):
    old_t = tiny_tables()
    new_t = _rolled_tables()
    # A new site with a start commitment: the commitments step alone names a site that only
    # arrives with `other`, so the two are merged.
    new_t["Sites"] = pd.concat([new_t["Sites"], new_t["Sites"].iloc[[1]].assign(
        site="Charlie")], ignore_index=True)
    new_t["Commitments"] = pd.DataFrame({"site": ["Charlie"], "option": ["air"],
                                         "quarter": ["2027Q4"], "halls": [1],
                                         "action": ["exclude"]}).assign(quarter=None,
                                                                         halls=None)
    old_p, new_p = portfolio_from_tables(old_t), portfolio_from_tables(new_t)
    old_plan, new_plan = optimize(old_p, time_limit=30), optimize(new_p, time_limit=30)
    b = npv_bridge(old_p, new_p, old_plan.npv_musd, new_plan.npv_musd, old_plan.decisions,
                   new_plan.decisions, time_limit=30)
    assert abs(_bar_sum(b) - (new_plan.npv_musd - old_plan.npv_musd)) < CENT
    steps = b.steps.set_index("step")
    assert "commitments + other" in steps.index
    assert "merged with the next family" in steps.loc["commitments + other", "note"]
    for name in ("horizon", "hashprice", "capex", "budget"):
        assert steps.loc[name, "status"] == "optimal" and steps.loc[name, "bar_musd"] != 0
    assert steps.loc["lease", "bar_musd"] == 0.0
    # each bar is the re-solved NPV after its step less the one before
    after = steps["npv_after_musd"].to_numpy(float)
    assert steps["bar_musd"].iloc[1:].to_numpy(float) == pytest.approx(after[1:] - after[:-1])
    assert b.residual == pytest.approx(0.0, abs=1e-6)  # optimal re-solves: nothing unexplained


def test_waterfall_series_cross_zero_and_hang_below_it():
    bars = pd.DataFrame({"bar": ["start", "up", "down", "cross", "end"],
                         "kind": ["start", "step", "step", "step", "end"],
                         "value_musd": [100.0, 50.0, -30.0, -170.0, -50.0]})
    s = waterfall_series(bars).set_index("bar")
    assert s.loc["start", "total"] == 100.0
    assert (s.loc["up", "base"], s.loc["up", "increase"]) == (100.0, 50.0)
    assert (s.loc["down", "base"], s.loc["down", "decrease"]) == (120.0, 30.0)
    # 120 -> -50 crosses zero: drawn from zero up to 120 and down to -50
    assert (s.loc["cross", "base"], s.loc["cross", "decrease"],
            s.loc["cross", "decrease_below_zero"]) == (0.0, 120.0, -50.0)
    assert s.loc["end", "total"] == -50.0
    # the value axis starts above zero only when the steps are small beside positive NPVs
    assert axis_floor([6741.4, 6976.5, 6651.2, 6857.0]) == 6400.0
    assert axis_floor([100.0, 150.0, -50.0]) == 0.0
    assert axis_floor([100.0, 300.0]) == 0.0


def test_cli_compare_writes_and_refuses_inputs(reports, tmp_path):
    old, new = reports
    runner = CliRunner()
    target = tmp_path / "cmp.xlsx"
    result = runner.invoke(main, ["compare", str(old), str(new), "-o", str(target),
                                  "--time-limit", "30"])
    assert result.exit_code == 0, result.output
    assert "hashprice" in result.output and "-77.48" in result.output
    assert target.exists()
    before = old.read_bytes()
    result = runner.invoke(main, ["compare", str(old), str(new), "-o", str(old), "--force"])
    assert result.exit_code == 2 and "onto the input" in result.output
    assert old.read_bytes() == before
    bad = tmp_path / "not-a-report.xlsx"
    write_xlsx(tiny_tables(), bad)
    result = runner.invoke(main, ["compare", str(bad), str(new), "-o",
                                  str(tmp_path / "x.xlsx")])
    assert result.exit_code == 2 and "Input_Sites: this sheet" in result.output


def test_precision_note_states_the_gap_of_time_limited_re_solves():
    from optimizer.compare.compare import BRIDGE_COLUMNS, Bridge

    steps = pd.DataFrame([
        ["(old inputs re-solved)", "", None, 6743.5, "feasible", 0.0245, 60.0, ""],
        ["horizon", "horizon", 235.1, 6978.6, "optimal", 0.0005, 60.0, ""],
        ["lease", "lease", 0.0, 6978.6, "unchanged", None, 0.0, ""]], columns=BRIDGE_COLUMNS)
    note = Bridge(6741.4, 6857.0, 6743.5, 6978.6, steps).precision_note()
    assert note.startswith("1 of 2 re-solves stopped at the time limit (gap up to 2.45%): a bar "
                           "may be off by up to about $165M")
    steps.loc[0, "status"] = "optimal"
    assert Bridge(6741.4, 6857.0, 6743.5, 6978.6, steps).precision_note() == ""


def test_bridge_has_a_lease_terms_and_a_financing_bar():
    """New inputs with 10-year leases let to 50% renewal, a tenant share, and 60% debt with the
    budget on equity: the lease-terms and financing families each get their own bar, and the
    bars still add up to the NPV change."""
    old_t = tiny_tables()
    new_t = {k: v.copy() for k, v in old_t.items()}
    new_t["Options"]["lease_term_years"] = [1.0, 1.0]
    new_t["Options"]["renewal_probability"] = [0.5, 0.5]
    new_t["Options"]["tenant_capex_share"] = [0.3, 0.3]
    settings = new_t["Settings"]
    for key, value in (("debt_ltc", 0.6), ("debt_rate", 0.08), ("debt_tenor_years", 5),
                       ("budget_basis", "equity")):
        settings.loc[len(settings)] = [key, value]
    new_t["Quarters"]["budget_musd"] = [150.0] * 7 + [None]
    old_p, new_p = portfolio_from_tables(old_t), portfolio_from_tables(new_t)
    old_plan, new_plan = optimize(old_p, time_limit=30), optimize(new_p, time_limit=30)
    b = npv_bridge(old_p, new_p, old_plan.npv_musd, new_plan.npv_musd, old_plan.decisions,
                   new_plan.decisions, time_limit=30)
    assert abs(_bar_sum(b) - (new_plan.npv_musd - old_plan.npv_musd)) < CENT
    steps = b.steps.set_index("step")
    assert steps.loc["lease terms", "bar_musd"] != 0.0
    assert steps.loc["financing", "bar_musd"] != 0.0
    changes = input_changes(input_tables(old_p), input_tables(new_p))
    assert set(changes[changes["column"] == "debt_ltc"]["family"]) == {"financing"}
    assert set(changes[changes["column"] == "tenant_capex_share"]["family"]) == {"lease terms"}
