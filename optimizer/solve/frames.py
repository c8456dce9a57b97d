"""Turn decisions and their valuation into the Plan's DataFrames (no Pyomo here).

Capacity and constraint rows are the rules' data layer evaluated for the decisions
(`models.rules.Rules.usage`), the same way for a solver's plan, a greedy plan or a plan read
back from a report; the constraint families' labels come from the model's registry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from models.conversion import FAMILY
from models.decisions import Decisions
from models.economics import Economics, Valuation, evaluate, mining_only
from models.metrics import (
    Conversion,
    Coverage,
    conversion_metrics,
    coverage,
    irr,
    moic,
    payback,
    plan_metrics,
)
from models.quarters import add_quarters
from models.rules import Usage
from optimizer.plan import (
    ANNUAL_COLUMNS,
    CAPACITY_COLUMNS,
    CASH_FLOW_COLUMNS,
    CONSTRAINT_COLUMNS,
    DECISION_COLUMNS,
    METRIC_NAMES,
    MINING_INCOME,
    UPGRADE_COLUMNS,
)

BINDING_TOLERANCE = 1e-6
CONVERSION_CASH_COLUMNS = ["mining_only_net_musd", "incremental_net_musd",
                           "incremental_irr_flow_musd"]


def plan_frames(econ: Economics, decisions: Decisions, valuation: Valuation) -> dict[str, Any]:
    """The fields of a Plan computed from its decisions (decisions, upgrades, cash flows,
    capacity, ..., and the equity discount factors they were discounted by)."""
    portfolio = econ.portfolio
    labels = portfolio.quarter_labels
    site_names = portfolio.site_names
    usage = econ.rules.usage(decisions)
    conversion = conversion_of(econ, valuation)
    cash_flows = _cash_flows(valuation, labels, usage.budget_use, conversion)
    contracted = contracted_rent(econ, decisions.halls)
    lenders = lender_coverage(valuation, labels)
    return {
        "decisions": decision_rows(econ, decisions.halls),
        "upgrades": upgrade_rows(econ, decisions.modules, decisions.upgrades),
        "cash_flows": cash_flows,
        "equity_npv_musd": valuation.equity_npv,
        "deal_metrics": deal_metrics(valuation, labels, conversion,
                                     converted=bool(decisions.halls.sum() > econ.fixed_halls.sum()
                                                    or decisions.modules.any()
                                                    or decisions.upgrades.any()),
                                     finance=finance_rows(econ, decisions, valuation, lenders),
                                     words=(tax_words(econ), tv_words(econ))),
        "annual": annual_frame(cash_flows, contracted),
        "beyond_horizon_sites": [
            name for name, npv, tv in zip(site_names, valuation.site_npv,
                                          valuation.discount[-1] * valuation.terminal_value,
                                          strict=True) if tv > 0.5 * npv and tv > 0],
        "terminal_value_musd": float(valuation.discount[-1] * valuation.terminal_value.sum()),
        "equity_discount_factors": valuation.equity_discount.copy(),
        "site_npv_musd": pd.Series(valuation.site_npv, index=pd.Index(site_names, name="site"),
                                   name="npv_musd"),
        "mining_mw": pd.DataFrame(decisions.mining, index=pd.Index(site_names, name="site"),
                                  columns=labels),
        "capacity": _capacity(usage, site_names, labels),
        "constraints": constraint_rows(econ, usage),
        "sources_uses": sources_uses(econ, decisions, valuation, labels),
        "site_returns": site_returns(econ, decisions, valuation),
    }


SOURCES_USES_ROWS = ["hall_capex_musd", "cooling_capex_musd", "power_upgrade_capex_musd",
                     "equipment_capex_musd", "total_uses_musd", "tenant_funding_musd",
                     "debt_draws_musd", "equity_musd", "total_sources_musd",
                     "prepayments_received_musd", "cfads_musd"]


def sources_uses(econ: Economics, decisions: Decisions, v: Valuation, labels: list[str]
                 ) -> pd.DataFrame:
    """The SourcesUses sheet (docs/economics.md, "Board-ready finance"): one row per line, one
    column per calendar year and `total`, $M. Uses: hall capex gross (owner and tenant-funded,
    equipment apart), cooling modules, power upgrades, equipment; sources: tenant funding, debt
    draws, equity (owner capex - debt draws); memo: prepayments received, CFADS. Total sources
    = total uses in every column."""
    h = econ.halls
    units = decisions.halls
    equipment = units @ h.equipment_capex
    hall = units @ (h.capex - h.equipment_capex) + units @ h.tenant_capex
    cooling = decisions.modules @ econ.cooling.capex
    power = decisions.upgrades @ econ.power.capex
    tenant = units @ h.tenant_capex
    draws = v.debt_draw.sum(axis=0)
    owner = v.capex.sum(axis=0)
    lines = {"hall_capex_musd": hall, "cooling_capex_musd": cooling,
             "power_upgrade_capex_musd": power, "equipment_capex_musd": equipment,
             "total_uses_musd": hall + cooling + power + equipment,
             "tenant_funding_musd": tenant, "debt_draws_musd": draws,
             "equity_musd": owner - draws, "total_sources_musd": tenant + owner,
             "prepayments_received_musd": units @ np.maximum(h.prepayment, 0.0),
             "cfads_musd": v.cfads.sum(axis=0)}
    years = np.array([int(q[:4]) for q in labels])
    order = sorted(set(years.tolist()))
    frame = pd.DataFrame({str(y): [float(x[years == y].sum()) for x in lines.values()]
                          for y in order}, index=pd.Index(SOURCES_USES_ROWS, name="line"))
    frame["total"] = [float(x.sum()) for x in lines.values()]
    return frame.reset_index()


SITE_RETURN_COLUMNS = ["conversion_npv_musd", "conversion_irr", "conversion_moic",
                       "conversion_payback_quarter"]


def _site_life_flows(econ: Economics, decisions: Decisions, v: Valuation) -> np.ndarray:
    """(S, T + E) each site's flows in a plan: its net cash flows (starts, upgrades, mining,
    flex credits, idle power), then its starts' lease-life flows after T-1 (`Starts.tail`:
    contracted NOI) or, under multiple / gordon, its terminal value in T-1."""
    n_sites, horizon = v.net.shape
    tail = econ.halls.tail
    flows = np.zeros((n_sites, horizon + tail.shape[1]))
    flows[:, :horizon] = v.net
    if tail.shape[1]:
        np.add.at(flows[:, horizon:], econ.halls.site, decisions.halls[:, None] * tail)
    else:
        flows[:, horizon - 1] += v.terminal_value
    return flows


def site_returns(econ: Economics, decisions: Decisions, v: Valuation) -> pd.DataFrame:
    """Per site (docs/economics.md, "Per-site returns"): its flows in the plan less the same
    site in the portfolio never converted (`mining_only`): conversion NPV (site NPV less its
    mining-only NPV), IRR, MOIC and payback quarter (possibly after the horizon) of the
    difference. Blank where the portfolio cannot be kept mining (floor) or nothing changed."""
    names = econ.portfolio.site_names
    frame = pd.DataFrame(index=pd.Index(names, name="site"), columns=SITE_RETURN_COLUMNS,
                         dtype=object)
    base = mining_only(econ)
    if base is None:
        return frame
    b = evaluate(econ, base)
    d_flows = _site_life_flows(econ, decisions, v) - _site_life_flows(econ, base, b)
    start = econ.portfolio.settings.start_quarter
    for s, name in enumerate(names):
        flows = d_flows[s]
        if not np.abs(flows).max(initial=0.0) > 1e-9:
            continue
        rate, back, multiple = irr(flows).annual, payback(flows), moic(flows)
        frame.loc[name] = [float(v.site_npv[s] - b.site_npv[s]),
                           np.nan if rate is None else rate,
                           np.nan if multiple is None else multiple,
                           None if back is None else add_quarters(start, back)]
    return frame


def lender_coverage(v: Valuation, labels: list[str]) -> Coverage:
    """The plan's CFADS and debt service by calendar year, and its DSCRs."""
    return coverage(np.array([int(q[:4]) for q in labels]), v.cfads.sum(axis=0),
                    v.debt_service.sum(axis=0))


def contracted_rent(econ: Economics, halls: np.ndarray) -> np.ndarray:
    """(T,) rent due of the plan's signed halls within their first lease term, $M."""
    signed = econ.signed_units(halls)
    if not signed.any() or econ.first_term_end is None:
        return np.zeros(econ.horizon)
    rows = np.flatnonzero(signed)
    first = np.arange(econ.horizon)[None, :] < econ.first_term_end[rows][:, None]
    return signed[rows] @ np.where(first, econ.halls.revenue[rows], 0.0)


def tax_words(econ: Economics) -> str:
    """'after tax at 21%' or 'pre-tax (tax_rate 0)': how the flows are taxed."""
    rate = econ.tax_rate
    return f"after tax at {rate:.0%}" if rate > 0 else "pre-tax (tax_rate 0)"


def tv_words(econ: Economics) -> str:
    """'terminal value in (multiple, taxed)', or 'no terminal value' under none."""
    st = econ.portfolio.settings
    if st.terminal_value == "none":
        return "no terminal value (terminal_value none)"
    taxed = "taxed" if st.terminal_value_tax == "taxed" and st.tax_rate > 0 else "untaxed"
    return f"terminal value in ({st.terminal_value}, {taxed})"


def finance_rows(econ: Economics, decisions: Decisions, v: Valuation, lenders: Coverage
                 ) -> list[tuple[str, object, str, str]]:
    """The Summary's lender and contract rows (docs/economics.md, "Board-ready finance"):
    min_dscr (its year in the note), refinancing_musd (the balloon in T-1),
    contracted_backlog_musd and contracted_npv_share."""
    has_debt = bool(np.abs(v.debt_draw).sum() > 0 or np.abs(v.principal).sum() > 0)
    if lenders.min_dscr is None:
        dscr_note = "no debt service in the plan"
    else:
        dscr_note = (f"in {lenders.min_year}: the smallest yearly CFADS / debt service "
                     "(interest + scheduled principal; the balloon is refinanced)")
    balloon = float(v.balloon[:, -1].sum())
    signed = econ.signed_units(decisions.halls)
    backlog = (float(signed @ econ.backlog) if econ.backlog is not None and signed.any()
               else 0.0)
    life = decisions.halls @ econ.halls.life_value
    share = float(signed @ econ.halls.life_value / life) if signed.any() and life != 0 else None
    return [
        ("min_dscr", lenders.min_dscr, "x", dscr_note),
        ("refinancing_musd", balloon if has_debt else None, "$M",
         "the balloon: debt still owed after the scheduled payments of the last quarter, "
         "repaid (refinanced) then" if has_debt else "no debt (debt_ltc 0)"),
        ("contracted_backlog_musd", backlog, "$M",
         "rent due of the signed halls to the end of their first lease term, undiscounted, "
         "after the horizon included, no renewal" if signed.any() else
         "no signed lease (Commitments lease_signed)"),
        ("contracted_npv_share", share, "fraction",
         "the signed starts' lease-life NPV / every start's lease-life NPV" if share is not None
         else "no signed lease in the plan" if not signed.any()
         else "the starts' lease-life NPV is zero"),
    ]


def decision_rows(econ: Economics, halls: np.ndarray) -> pd.DataFrame:
    """The Decisions sheet's rows of `halls` (halls started per candidate, by `econ.halls`
    column): one row per start, with its capex, NPV, IRR and payback, in start order."""
    portfolio = econ.portfolio
    start = portfolio.settings.start_quarter
    signed = econ.signed_units(halls)
    rows = []
    for c in np.flatnonzero(halls > 0):
        s, o, n = int(econ.halls.site[c]), int(econ.halls.option[c]), float(halls[c])
        rows.append({
            "site": portfolio.site_names[s], "option": portfolio.option_names[o],
            "start_quarter": add_quarters(start, int(econ.halls.tau[c])), "halls": int(n),
            "it_mw": n * float(econ.rules.halls.it_mw[c]),
            "online_quarter": add_quarters(start, int(econ.halls.online[c])),
            "capex_musd": n * float(econ.halls.capex[c].sum()),
            "npv_musd": n * float(econ.halls.life_value[c]),
            **_start_metrics(econ, int(c), start),
            "lease_signed": bool(signed[c] > 0)})
    frame = pd.DataFrame(rows, columns=DECISION_COLUMNS)
    return frame.sort_values(["start_quarter", "site", "option"], ignore_index=True)


def _start_metrics(econ: Economics, c: int, start: str) -> dict[str, Any]:
    """IRR (annual), MOIC and payback quarter of one start's lease-life flows
    (`Starts.life_flows`: its rent due and prepayment less opex, AI power, owner capex and the
    tax on its NOI less depreciation, then under `contracted` the NOI of the lease term running
    at T-1 quarter by quarter, else its terminal value in T-1; the mining it displaces is not
    charged to it). The payback may fall after the horizon. A hall begun before the plan has
    its capex before the start quarter sunk, outside its flows: its return is left blank (the
    flows would read the rest of its contract, not the investment)."""
    if econ.halls.tau[c] < 0:
        return {"irr": np.nan, "payback_quarter": None, "moic": np.nan}
    flows = econ.halls.life_flows(c, econ.tax_rate)
    rate = irr(flows).annual
    back = payback(flows)
    multiple = moic(flows)
    return {"irr": np.nan if rate is None else rate,
            "payback_quarter": None if back is None else add_quarters(start, back),
            "moic": np.nan if multiple is None else multiple}


def conversion_of(econ: Economics, valuation: Valuation) -> Conversion | None:
    """The plan's conversion metrics against the portfolio never converted
    (`models.economics.mining_only`); None if that plan cannot meet the mining floor."""
    base = mining_only(econ)
    if base is None:
        return None
    b = evaluate(econ, base)
    return conversion_metrics(valuation.net.sum(axis=0), valuation.equity_cash_flow.sum(axis=0),
                              float(valuation.terminal_value.sum()), b.net.sum(axis=0),
                              b.equity_cash_flow.sum(axis=0), float(b.terminal_value.sum()),
                              valuation.npv, b.npv)


# Appended to a plan-level metric whose flows hold the mining income (its conversion metric's
# name is the key of DEFAULT_NOTES: what the plan-level metric measures).
_SEE_CONVERSION = MINING_INCOME + ": the conversion's own {what} is {name}"
DEFAULT_NOTES = {
    "conversion_irr": "project net cash flows, terminal value in the last quarter",
    "conversion_equity_irr": "equity cash flows, terminal value in the last quarter",
    "conversion_payback_quarter": "cumulative project net cash flow back to >= 0 (TV excluded)",
}


def deal_metrics(v: Valuation, labels: list[str], conversion: Conversion | None = None,
                 converted: bool = True,
                 finance: list[tuple[str, object, str, str]] | None = None,
                 words: tuple[str, str] = ("", "")) -> pd.DataFrame:
    """The Summary's deal metrics (`METRIC_NAMES`, in that order), one row each: metric,
    value, unit, note. A blank value (NaN, or None for a quarter) has its reason in the note; a
    contract metric blank while the plan's flows hold mining income points to its conversion
    metric. `converted`: whether the plan starts anything (else the conversion metrics are
    blank). `finance`: the lender and contract rows (`finance_rows`). `words`: how the flows
    are taxed and whether the terminal value is in (`tax_words`, `tv_words`), appended to the
    notes of the return rows."""
    npv = v.npv
    m = plan_metrics(v.net.sum(axis=0), v.equity_cash_flow.sum(axis=0),
                     float(v.terminal_value.sum()), v.discount, v.equity_npv, npv)

    def quarter(t: int | None) -> str | None:
        return None if t is None else labels[t]

    c = conversion if converted and bool(np.abs(v.mining_margin).sum() > 0) else None

    def see(note: str, blank: bool, what: str, name: str, has: object) -> str:
        """A plan-level metric whose conversion metric has a value: the plan's flows hold the
        whole portfolio's mining income (and halls begun before the plan, their capex sunk),
        which leaves the metric blank or far from the conversion's return (an IRR of several
        hundred %), so the note says where the conversion's own figure is. Blank: after the
        reason; with a value: after what the metric measures (`DEFAULT_NOTES`)."""
        if has is None:
            return note
        return (note if blank else DEFAULT_NOTES[name]) \
            + _SEE_CONVERSION.format(what=what, name=name)

    rows = [
        ("project_irr", m.project_irr.annual, "per year",
         see(m.project_irr.note, m.project_irr.annual is None, "return", "conversion_irr",
             c and c.irr.annual)
         or "project net cash flows, terminal value in the last quarter"),
        ("equity_irr", m.equity_irr.annual, "per year",
         see(m.equity_irr.note, m.equity_irr.annual is None, "equity return",
             "conversion_equity_irr", c and c.equity_irr.annual)
         or "equity cash flows, terminal value in the last quarter"),
        ("equity_npv_musd", m.equity_npv_musd, "$M",
         "equity cash flows at equity_discount_rate, terminal value included"),
        ("moic", m.moic, "x", "" if m.moic is not None else "no negative equity cash flow"),
        ("payback_quarter", quarter(m.payback_quarter), "quarter",
         see(m.payback_note, m.payback_quarter is None, "payback",
             "conversion_payback_quarter", c and c.payback_quarter)
         or "cumulative project net cash flow back to >= 0 (TV excluded)"),
        ("discounted_payback_quarter", quarter(m.discounted_payback_quarter), "quarter",
         m.discounted_payback_note or "the same on discounted cash flows"),
        ("npv_beyond_horizon_share", m.npv_beyond_horizon_share, "fraction",
         "discounted terminal value / NPV"),
        *_conversion_rows(conversion, converted, quarter),
        *(finance or []),
    ]
    taxed, tv = words
    if taxed:
        flows = {"project_irr": f"project, {taxed}, {tv}", "equity_irr": f"equity, {taxed}, {tv}",
                 "equity_npv_musd": f"equity, {taxed}, {tv}", "moic": f"equity, {taxed}, {tv}",
                 "payback_quarter": f"project, {taxed}, terminal value out",
                 "discounted_payback_quarter": f"project, {taxed}, terminal value out",
                 "conversion_npv_musd": f"project, {taxed}, {tv}",
                 "conversion_irr": f"project, {taxed}, {tv}",
                 "conversion_equity_irr": f"equity, {taxed}, {tv}",
                 "conversion_moic": f"equity, {taxed}, {tv}",
                 "conversion_payback_quarter": f"project, {taxed}, terminal value out",
                 "min_dscr": f"CFADS {taxed}", "npv_beyond_horizon_share": tv}
        # A value's note says its flows; a blank's note keeps its reason alone.
        rows = [(n, x, u, f"{note} [{flows[n]}]" if n in flows and x is not None else note)
                for n, x, u, note in rows]
    order = {name: k for k, name in enumerate(METRIC_NAMES)}
    rows.sort(key=lambda r: order.get(r[0], len(order)))
    frame = pd.DataFrame(rows, columns=["metric", "value", "unit", "note"])
    frame["value"] = [np.nan if x is None and u != "quarter" else
                      (float(x) if isinstance(x, (int, float, np.floating)) else x)
                      for x, u in zip(frame["value"], frame["unit"], strict=True)]
    return frame


def _conversion_rows(c: Conversion | None, converted: bool,
                     quarter: Callable[[int | None], str | None]
                     ) -> list[tuple[str, object, str, str]]:
    """The rows of `CONVERSION_METRIC_NAMES`: the plan less the portfolio never converted."""
    if c is None or not converted:
        why = ("nothing converted: the plan is the portfolio kept mining" if c is not None else
               "no mining-only plan: the portfolio cannot meet the mining floor unconverted")
        return [("conversion_irr", None, "per year", why),
                ("conversion_equity_irr", None, "per year", why),
                ("conversion_moic", None, "x", why),
                ("conversion_payback_quarter", None, "quarter", why),
                ("conversion_npv_musd", None if c is None else c.npv_musd, "$M",
                 why if c is None else "NPV less the NPV of the portfolio never converted")]
    return [
        ("conversion_irr", c.irr.annual, "per year", c.irr.note or
         "project net less the portfolio never converted (mining only), incremental terminal "
         "value in the last quarter"),
        ("conversion_equity_irr", c.equity_irr.annual, "per year", c.equity_irr.note or
         "equity cash flows less those of the portfolio never converted (no debt)"),
        ("conversion_moic", c.moic, "x", "incremental equity flows, incremental terminal value "
         "in the last quarter: positive sum / - negative sum" if c.moic is not None else
         "no negative incremental equity cash flow: no equity invested"),
        ("conversion_payback_quarter", quarter(c.payback_quarter), "quarter",
         c.payback_note or "cumulative incremental project net back to >= 0 (TV excluded)"),
        ("conversion_npv_musd", c.npv_musd, "$M",
         "NPV less the NPV of the portfolio never converted (mining only)"),
    ]


def annual_frame(cash_flows: pd.DataFrame, contracted: np.ndarray | None = None
                 ) -> pd.DataFrame:
    """One row per calendar year of the plan (docs/economics.md, "Board-ready finance"):
    revenue = mining revenue + flex credits + idle power + rent due; power and opex, mining
    and AI; EBITDA = revenue - power - opex; capex, project and equity cash flow, debt
    outstanding at the end of the year's last quarter; rent due split into contracted
    (`contracted`, (T,): signed halls in their first term) and planned; the year's CFADS and
    debt service and their ratio (blank without debt service)."""
    cf = cash_flows
    year = cf["quarter"].str[:4].astype(int)
    revenue = (cf["mining_revenue_musd"] + cf["flex_credit_musd"] + cf["idle_power_musd"]
               + cf["ai_revenue_musd"])
    power = cf["mining_power_musd"] + cf["ai_power_musd"]
    opex = cf["mining_opex_musd"] + cf["ai_opex_musd"]
    signed = np.zeros(len(cf)) if contracted is None else np.asarray(contracted, float)
    frame = pd.DataFrame({
        "year": year, "revenue_musd": revenue,
        "ebitda_musd": revenue - power - opex,
        "capex_musd": cf["capex_musd"], "project_cash_flow_musd": cf["net_musd"],
        "equity_cash_flow_musd": cf["equity_cash_flow_musd"],
        "debt_outstanding_musd": cf["debt_outstanding_musd"],
        "mining_revenue_musd": cf["mining_revenue_musd"], "power_musd": power,
        "opex_musd": opex, "ai_revenue_contracted_musd": signed,
        "ai_revenue_planned_musd": cf["ai_revenue_musd"] - signed,
        "cfads_musd": cf["cfads_musd"], "debt_service_musd": cf["debt_service_musd"]})
    sums = frame.groupby("year", sort=True).agg(
        {c: ("last" if c == "debt_outstanding_musd" else "sum") for c in frame.columns[1:]})
    ds = sums["debt_service_musd"].to_numpy(float)
    sums["dscr"] = np.where(ds > 1e-12, sums["cfads_musd"].to_numpy(float)
                            / np.where(ds > 1e-12, ds, 1.0), np.nan)
    return sums.reset_index()[ANNUAL_COLUMNS]


def upgrade_rows(econ: Economics, modules: np.ndarray, upgrades: np.ndarray) -> pd.DataFrame:
    """The Upgrades sheet's rows: cooling modules and power upgrades started, per candidate
    (`econ.cooling` and `econ.power` columns), with their capex."""
    portfolio = econ.portfolio
    start = portfolio.settings.start_quarter
    rows = []
    for kind, starts, units, rule in (("cooling", econ.cooling, modules, econ.rules.modules),
                                      ("power", econ.power, upgrades, econ.rules.upgrades)):
        for k in np.flatnonzero(units > 0):
            s, n = int(starts.site[k]), float(units[k])
            rows.append({
                "site": portfolio.site_names[s], "kind": kind,
                "start_quarter": add_quarters(start, int(starts.tau[k])), "units": int(n),
                "mw": n * float(rule.mw[k]),
                "online_quarter": add_quarters(start, int(starts.online[k])),
                "capex_musd": n * float(starts.capex[k].sum())})
    frame = pd.DataFrame(rows, columns=UPGRADE_COLUMNS)
    return frame.sort_values(["start_quarter", "site", "kind"], ignore_index=True)


def _cash_flows(v: Valuation, labels: list[str], budget_use: np.ndarray,
                conversion: Conversion | None = None) -> pd.DataFrame:
    net = v.net.sum(axis=0)
    discounted = net * v.discount
    equity = v.equity_cash_flow.sum(axis=0)
    frame = pd.DataFrame({
        "quarter": labels,
        "mining_margin_musd": v.mining_margin.sum(axis=0),
        "ai_revenue_musd": v.ai_revenue.sum(axis=0),
        "ai_opex_musd": v.ai_opex.sum(axis=0),
        "ai_power_musd": v.ai_power.sum(axis=0),
        "capex_musd": v.capex.sum(axis=0),
        "depreciation_musd": v.depreciation.sum(axis=0),
        "tax_musd": v.tax.sum(axis=0),
        "net_musd": net,
        "discount_factor": v.discount,
        "discounted_musd": discounted,
        "cumulative_discounted_musd": np.cumsum(discounted),
        "tenant_funded_capex_musd": v.tenant_capex.sum(axis=0),
        "prepayment_musd": v.prepayment.sum(axis=0),
        "equipment_capex_musd": v.equipment_capex.sum(axis=0),
        "flex_credit_musd": v.flex_credit.sum(axis=0),
        "debt_draw_musd": v.debt_draw.sum(axis=0),
        "interest_musd": v.interest.sum(axis=0),
        "principal_musd": v.principal.sum(axis=0),
        "debt_outstanding_musd": v.debt_balance.sum(axis=0),
        "equity_cash_flow_musd": equity,
        "equity_discounted_musd": equity * v.equity_discount,
    })
    if conversion is None:
        frame[CONVERSION_CASH_COLUMNS] = np.nan
    else:
        irr_flow = conversion.incremental_net.copy()
        irr_flow[-1] += conversion.incremental_terminal
        frame["mining_only_net_musd"] = conversion.mining_only_net
        frame["incremental_net_musd"] = conversion.incremental_net
        frame["incremental_irr_flow_musd"] = irr_flow
    frame["budget_use_musd"] = budget_use
    cfads, service = v.cfads.sum(axis=0), v.debt_service.sum(axis=0)
    frame["mining_revenue_musd"] = v.mining_revenue.sum(axis=0)
    frame["mining_power_musd"] = v.mining_power.sum(axis=0)
    frame["mining_opex_musd"] = v.mining_opex.sum(axis=0)
    frame["idle_power_musd"] = v.idle_power.sum(axis=0)
    frame["cfads_musd"] = cfads
    frame["debt_service_musd"] = service
    frame["balloon_musd"] = v.balloon.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["dscr"] = np.where(service > 1e-12, cfads / np.where(service > 1e-12, service,
                                                                    1.0), np.nan)
    return frame[CASH_FLOW_COLUMNS]


def _capacity(usage: Usage, sites: list[str], labels: list[str]) -> pd.DataFrame:
    n_sites, horizon = usage.mining.shape
    frame = pd.DataFrame({
        "site": np.repeat(sites, horizon),
        "quarter": np.tile(labels, n_sites),
        "mining_mw": usage.mining.ravel(),
        "ai_it_mw_online": usage.ai_it_online.ravel(),
        "halls_building": (usage.halls_started - usage.halls_online).ravel().round(),
        "halls_hosting": usage.halls_online.ravel().round(),
        "power_used_mw": usage.power_used.ravel(),
        "power_available_mw": usage.power_available.ravel(),
        "cooling_used_mw": usage.cooling_used.ravel(),
        "cooling_available_mw": usage.cooling_available.ravel(),
    })
    frame[["halls_building", "halls_hosting"]] = frame[
        ["halls_building", "halls_hosting"]].astype(int)
    return frame[CAPACITY_COLUMNS]


def constraint_rows(econ: Economics, usage: Usage) -> pd.DataFrame:
    """Every limit of the model with the plan's use of it, in business words: the rules
    layer's rows (`Rules.rows`) with their used, limit and sense; each row's family is its
    constraint family's label in the model's registry (`models.conversion`). Cooling rows are
    listed where the plan uses cooling, and the families the registry keeps out of the report
    (modules, the one upgrade, commitments) are left out."""
    labels = econ.portfolio.quarter_labels
    names = econ.portfolio.site_names
    layer = econ.rules.rows(usage)
    rows: list[dict[str, Any]] = []
    # Halls are lumpy: a limit binds when its slack cannot take one more unit of the smallest
    # thing that uses it (the cheapest hall-quarter of budget, the smallest hall's MW, ...).
    steps = _smallest_steps(econ)

    def add(component: str, i: int, constraint: str, site: str, quarter: str,
            step: float = 0.0) -> None:
        family = layer[component]
        used, limit, slack = (float(family.used[i]), float(family.limit[i]),
                              float(family.slack[i]))
        tight = slack <= BINDING_TOLERANCE * max(1.0, abs(limit)) or slack < step - 1e-9
        rows.append({"constraint": constraint, "family": FAMILY[component].label,
                     "site": site, "quarter": quarter, "used": used, "limit": limit,
                     "slack": slack, "binding": bool(tight)})

    cell = {key: i for i, key in enumerate(layer["site_power"].keys)}  # (s, t) -> row
    cooling = layer["site_cooling"]
    for s, site in enumerate(names):
        add("halls_per_site", s, f"Halls at {site}", site, "", step=1.0)
        for t, q in enumerate(labels):
            i = cell[s, t]
            add("site_power", i, f"Power at {site} in {q}", site, q)
            if cooling.used[i] > 0:
                add("site_cooling", i, f"Cooling at {site} in {q}", site, q,
                    step=float(steps["cooling"][s]))
    title = "Budget to date" if econ.rules.limits.budget_carryover else "Budget"
    for i, t in enumerate(layer["capital_budget"].keys):
        add("capital_budget", i, f"{title} in {labels[t]}", "", labels[t], step=steps["budget"])
    for component, what, step in (("ai_demand_cap", "AI IT MW online", steps["it_mw"]),
                                  ("hall_starts_cap", "Hall starts", 1.0),
                                  ("mining_floor", "Mining floor", 0.0)):
        for i, t in enumerate(layer[component].keys):
            add(component, i, f"{what} in {labels[t]}", "", labels[t], step)
    cov = econ.rules.coverage
    for i, y in enumerate(layer["debt_service_coverage"].keys):  # CFADS_y >= min_dscr x DS_y
        year = str(cov.years[y]) if cov is not None else ""
        add("debt_service_coverage", i, f"Debt service coverage in {year}", "", year)
    return pd.DataFrame(rows, columns=CONSTRAINT_COLUMNS)


def _smallest_steps(econ: Economics) -> dict[str, Any]:
    """The smallest indivisible use of each lumpy limit: the smallest budget use of one hall in
    one quarter (budget), the smallest hall's IT MW (AI demand), each site's smallest hall
    cooling."""
    halls = econ.rules.halls
    n_sites = econ.rules.n_sites
    if not len(halls):
        return {"budget": 0.0, "it_mw": 0.0, "cooling": np.zeros(n_sites)}
    by_site = np.full(n_sites, np.inf)
    np.minimum.at(by_site, halls.site, halls.cooling_mw)
    rate = halls.budget_rate.rate
    return {"budget": float(rate[rate > 0].min()) if (rate > 0).any() else 0.0,
            "it_mw": float(halls.it_mw.min()),
            "cooling": np.where(np.isfinite(by_site), by_site, 0.0)}
