"""The sample portfolio `inputs/sample_portfolio.xlsx`: valid, realistic, and reproducible."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import openpyxl
import pytest

from models.portfolio import Portfolio
from optimizer.inputs.workbook import load_portfolio

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "inputs" / "sample_portfolio.xlsx"
BUILDER = ROOT / "inputs" / "build_sample.py"
DAYS = 365.25 / 4


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_sample", BUILDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_sample", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sample() -> Portfolio:
    return load_portfolio(SAMPLE)


def _cells(path: Path) -> dict[str, list[tuple[object, ...]]]:
    book = openpyxl.load_workbook(path)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


SIGNED = ["msft_childress", "coreweave_denton", "fluidstack_lake_mariner"]


def test_sample_validates_with_only_the_begun_halls_warned(sample: Portfolio) -> None:
    """The only warnings: the three signed contracts' halls begun before 2027 (capex sunk)."""
    assert len(sample.warnings) == 3
    assert all("accepted as a hall begun in an earlier plan" in w for w in sample.warnings)
    assert len(sample.sites) == 10
    assert sample.horizon == 40
    assert sample.quarter_labels[0] == "2027Q1" and sample.quarter_labels[-1] == "2036Q4"
    assert sample.option_names == ["air_hpc", "dlc_ai", "immersion", *SIGNED]
    assert {"Childress", "Corsicana", "Lake Mariner", "Odessa", "Mackenzie"} <= set(
        sample.site_names)
    s = sample.settings
    assert (s.discount_rate, s.terminal_value, s.terminal_multiple) == (0.11, "contracted", 9.0)
    assert (s.debt_ltc, s.debt_rate, s.debt_tenor_years, s.min_dscr) == (0.7, 0.07, 5.0, 1.25)
    assert (s.equity_rate, s.objective, s.budget_basis) == (0.15, "project_npv", "equity")
    assert (s.tax_rate, s.terminal_value_tax, s.time_limit_s, s.mip_gap) == (
        0.21, "taxed", 60.0, 0.001)
    assert s.budget_carryover


def test_build_sample_reproduces_the_committed_workbook(tmp_path: Path) -> None:
    rebuilt = tmp_path / "sample.xlsx"
    _builder().build(rebuilt)
    committed, fresh = _cells(SAMPLE), _cells(rebuilt)
    assert list(fresh) == list(committed)
    for sheet, rows in committed.items():
        assert fresh[sheet] == rows, f"sheet {sheet} differs: run python inputs/build_sample.py"


def test_build_sample_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "sample.xlsx"
    target.write_bytes(b"keep me")
    assert _builder().main(["-o", str(target)]) == 2
    assert target.read_bytes() == b"keep me"
    assert _builder().main(["-o", str(target), "--force"]) == 0
    assert load_portfolio(target).horizon == 40


def test_sources_sheet_cites_every_figure() -> None:
    book = openpyxl.load_workbook(SAMPLE)
    assert book.sheetnames[-1] == "Sources"
    rows = list(book["Sources"].iter_rows(values_only=True))
    assert rows[0] == ("item", "value", "unit", "source", "note")
    body = rows[1:]
    assert len(body) >= 50
    assert all(r[0] and r[1] is not None and r[3] for r in body)
    items = {r[0] for r in body}
    assert {"Corsicana hall_it_mw", "Odessa commitment", "terminal multiple", "halvings",
            "Lake Mariner power_upgrade_mw"} <= items
    cited = " ".join(r[3] for r in body)
    for owner in ("IREN", "Riot", "Core Scientific", "TeraWulf", "Cipher", "Bitfarms",
                  "Bernstein", "CoinShares"):
        assert owner in cited


def test_deal_terms_mirror_the_facts(sample: Portfolio) -> None:
    """Lease terms 10 / 12 / 15 years (TeraWulf and Cipher, Core Scientific, Hut 8 and Galaxy);
    tenant funding (80%) only on the CoreWeave contract, at its lower rent; the Microsoft GPU
    cloud contract at Childress (IREN: $29M of GPUs and $9.7M of revenue per MW IT a year, a 20%
    prepayment of a 5-year contract, GPUs lasting 4-6 years); each signed contract allowed at
    its own site only; debt inside 60-85% loan-to-cost with a tenor inside every lease term;
    ERCOT flexibility credits within $50-150/kW-year."""
    o, so, sites = sample.options, sample.site_options, sample.sites
    assert list(o["lease_term_years"]) == [10.0, 12.0, 15.0, 5.0, 12.0, 10.0]
    shared = o.index[o["tenant_capex_share"] > 0].tolist()
    assert shared == ["coreweave_denton"] and o.loc["coreweave_denton",
                                                    "tenant_capex_share"] == 0.8
    assert o.loc["coreweave_denton", "lease_usd_per_kw_month"] == o["lease_usd_per_kw_month"][
        o.index != "msft_childress"].min()
    for option in SIGNED:
        allowed = so.xs(option, level="option").query("allowed").index.tolist()
        assert len(allowed) == 1
    assert sample.settings.debt_tenor_years <= o["lease_term_years"].min()
    gpu = o.loc["msft_childress"]
    assert gpu["equipment_capex_musd_per_it_mw"] == 29.0
    assert 4 <= gpu["equipment_life_years"] <= 6
    assert gpu["lease_usd_per_kw_month"] * 12 * 1000 / 1e6 == pytest.approx(9.7, abs=0.01)
    assert gpu["prepaid_quarters"] == pytest.approx(0.2 * 5 * 4)
    assert not gpu["power_passthrough"]  # a cloud pays its own power
    assert list(so.xs("msft_childress", level="option").query("allowed").index) == [
        "Childress"]
    credits = sites["flex_credit_usd_per_kw_year"]
    ercot = sites["region"].str.startswith("ERCOT")
    assert credits[ercot].between(50, 150).all() and (credits[~ercot] == 0).all()
    assert 0.6 <= sample.settings.debt_ltc <= 0.85


def test_economics_sit_inside_the_public_ranges(sample: Portfolio) -> None:
    # The leased options; the GPU cloud sells compute, not space (see test_deal_terms...).
    so, sites = sample.site_options, sample.sites
    o = sample.options.drop(index="msft_childress")
    so = so[so.index.get_level_values("option") != "msft_childress"]
    assert o["pue"].between(1.25, 1.52).all()
    # Rent starts below its contract average (102-159) by the 3% escalator over the term.
    years = o["lease_term_years"].to_numpy()
    factor = np.array([np.mean(1.03 ** (np.arange(4 * y) / 4)) for y in years])
    average = o["lease_usd_per_kw_month"].to_numpy() * factor
    assert ((average > 102 - 1) & (average < 159 + 1)).all()
    # Opex 15% of the average rent (NOI margin ~85%), escalating as the rent does.
    assert (o["opex_usd_per_kw_month"] / average).between(0.14, 0.16).all()
    assert (o["lease_escalator"] == 0.03).all() and (o["opex_escalator"] == 0.03).all()
    assert o["lead_quarters"].between(3, 6).all() and o["ramp_quarters"].between(2, 4).all()
    allowed = so[so["allowed"]]
    options = allowed.index.get_level_values("option")
    capex = o.loc[options, "capex_musd_per_it_mw"].to_numpy() * allowed["capex_multiplier"]
    lease = o.loc[options, "lease_usd_per_kw_month"].to_numpy() * allowed["lease_multiplier"]
    assert capex.between(3.6, 15).all() and lease.between(85, 178).all()
    assert sites["hall_it_mw"].between(25, 160).all() and sites["halls"].between(2, 8).all()
    assert sites["efficiency_j_per_th"].between(15, 34).all()
    assert sites["power_cost_usd_per_mwh"].between(26, 42).all()
    # BC sites are air cooled: Mackenzie allows air_hpc only.
    assert list(so.loc["Mackenzie"].query("allowed").index) == ["air_hpc"]


def test_hashprice_halves_in_2028q2_and_mining_turns_thin(sample: Portfolio) -> None:
    q = sample.quarters.set_index("quarter")
    hp = q["hashprice_usd_per_ph_day"]
    assert hp["2028Q2"] / hp["2028Q1"] == pytest.approx(0.5, abs=0.01)
    assert hp["2032Q2"] / hp["2032Q1"] == pytest.approx(0.5, abs=0.01)
    assert 33 <= hp["2027Q1"] <= 38

    def margin(site: str, quarter: str) -> float:
        """Mining margin, $ per MW-day (docs/economics.md: hashprice*1000/eff - 24*power*index)."""
        s = sample.sites.loc[site]
        return float(hp[quarter] * 1000 / s["efficiency_j_per_th"]
                     - 24 * s["power_cost_usd_per_mwh"] * q.loc[quarter, "power_index"])

    assert margin("Rockdale", "2027Q1") == pytest.approx(38_000 / 20.5 - 720, rel=1e-9)
    assert 0 < margin("Rockdale", "2028Q3") < 0.2 * margin("Rockdale", "2027Q1")
    assert margin("Muskogee", "2028Q3") < 0  # older fleet, dearer power: under water


def test_budget_is_equity_sized_and_demand_uncapped(sample: Portfolio) -> None:
    """$75M of equity a quarter to 2028, $100M after ($3.8B over ten years, carried over),
    against > $27.9B for every hall at the cheapest option; no AI demand cap (no source)."""
    q, sites, o = sample.quarters, sample.sites, sample.options
    assert q["budget_musd"].between(75, 100).all() and q["budget_musd"].sum() == 3_800
    it_mw = float((sites["halls"] * sites["hall_it_mw"]).sum())
    assert q["budget_musd"].sum() < 0.2 * it_mw * float(o["capex_musd_per_it_mw"].min())
    assert q["ai_demand_mw"].isna().all()


def test_the_plan_reads_as_a_cfo_expects(sample: Portfolio) -> None:
    """The issue's bar: the budget binds in at least four quarters; equity is invested (the
    conversion's equity IRR and MOIC have values); no start's IRR comes from a terminal-value
    lump (contracted NOI runs quarter by quarter after 2036); Summary's first row says how
    the flows are taxed; the signed contracts are in the backlog."""
    from optimizer.reports.summary import headline_metrics
    from optimizer.solve.optimize import optimize

    plan = optimize(sample, time_limit=60)
    budget = plan.constraints[plan.constraints["family"] == "budget"]
    assert int(budget["binding"].sum()) >= 4
    metrics = plan.deal_metrics.set_index("metric")["value"]
    assert np.isfinite(metrics["conversion_equity_irr"]) and metrics["conversion_moic"] > 1
    assert metrics["contracted_backlog_musd"] > 0 and 0 < metrics["contracted_npv_share"] < 1
    assert metrics["min_dscr"] >= sample.settings.min_dscr - 1e-9
    irr = plan.decisions["irr"].dropna()
    assert len(irr) and (irr < 1.0).all()  # on lease-life flows: no lump in T-1
    # The plan-level IRR holds the whole portfolio's mining and the halls begun before the plan
    # (capex sunk): far from the conversion's return, so its note points to the conversion's.
    notes = plan.deal_metrics.set_index("metric")["note"]
    assert "is conversion_irr" in notes["project_irr"]
    first = headline_metrics(plan)[0]
    assert first.metric == "npv_musd" and "after tax at 21%" in first.note
    signed = plan.decisions[plan.decisions["lease_signed"]]
    assert set(signed["option"]) == set(SIGNED)


def test_commitments_mirror_the_facts(sample: Portfolio) -> None:
    c = sample.commitments
    start = c[c["action"] == "start"].iloc[0]
    assert (start["site"], start["option"], start["quarter"], start["halls"]) == (
        "Corsicana", "dlc_ai", "2027Q1", 1)
    later = c[c["action"] == "not_before"].iloc[0]
    assert (later["site"], later["option"], later["quarter"]) == ("Odessa", None, "2027Q3")
    upgrades = sample.sites["power_upgrade_mw"].dropna()
    assert set(upgrades.index) == {"Denton", "Pecos", "Lake Mariner", "Panther Creek"}
    assert sample.sites.loc["Lake Mariner", ["grid_mw", "power_upgrade_mw"]].sum() == 500
