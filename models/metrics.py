"""Investment metrics of a plan's cash flows (docs/economics.md, "Deal structure", Metrics): IRR,
MOIC, payback and the share of NPV earned beyond the horizon. Math only, no I/O.

IRR. The quarterly IRR q solves sum_t CF_t (1+q)^-t = 0, a polynomial in x = 1/(1+q). Its
positive real roots are found with `numpy.roots` (the method numpy-financial's `irr` uses), each
polished by Newton steps and kept only if the NPV there is zero to working precision; Descartes'
rule of signs (the number of positive roots is at most the number of sign changes of the cash
flows) says when none or one can exist. Unlike numpy-financial and pyxirr, which return one
root (or nan) without saying whether it was the only one, this tells the three cases apart:
no IRR (cash flows of one sign, or no real root), one IRR, or several (then none is reported,
with the rates in the note). The annual IRR is (1+q)^4 - 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Irr:
    """An annual IRR, or None with the reason in `note`."""

    annual: float | None
    note: str = ""


def sign_changes(cash_flows: np.ndarray) -> int:
    """Number of sign changes of the sequence, zeros skipped (Descartes' bound)."""
    signs = np.sign(cash_flows[np.abs(cash_flows) > 0])
    return int((signs[1:] != signs[:-1]).sum())


def _npv_poly(coeffs: np.ndarray, x: float) -> tuple[float, float, float]:
    """Value, derivative and magnitude scale of sum_t c_t x^t at x (Horner)."""
    value = slope = scale = 0.0
    for c in coeffs[::-1]:
        slope = slope * x + value
        value = value * x + c
        scale = scale * abs(x) + abs(c)
    return value, slope, scale


def irr(cash_flows: np.ndarray) -> Irr:
    """Annual IRR of quarterly cash flows CF_0..CF_{T-1} (see the module docstring)."""
    cf = np.asarray(cash_flows, dtype=float)
    nonzero = np.flatnonzero(np.abs(cf) > 0)
    if len(nonzero) == 0:
        return Irr(None, "no IRR: every cash flow is zero")
    changes = sign_changes(cf)
    if changes == 0:
        if cf[nonzero[0]] > 0:
            return Irr(None, "no IRR: every cash flow is positive (nothing is invested)")
        return Irr(None, "no IRR: every cash flow is negative (nothing is returned)")
    coeffs = cf[nonzero[0]: nonzero[-1] + 1]  # leading zeros only shift t; trailing cut degree
    candidates = np.roots(coeffs[::-1])
    roots: list[float] = []
    for z in candidates:
        if abs(z.imag) > 1e-6 * max(1.0, abs(z)) or z.real <= 0:
            continue
        x = float(z.real)
        for _ in range(50):  # Newton polishing
            value, slope, _scale = _npv_poly(coeffs, x)
            if slope == 0:
                break
            step = value / slope
            x_new = x - step
            if x_new <= 0:
                break
            x = x_new
            if abs(step) <= 1e-15 * max(1.0, x):
                break
        value, _slope, scale = _npv_poly(coeffs, x)
        if x > 0 and abs(value) <= 1e-9 * scale and not any(
                abs(x - r) <= 1e-7 * max(1.0, x) for r in roots):
            roots.append(x)
    rates = sorted((1.0 / x) ** 4 - 1.0 for x in roots)  # annual, from q = 1/x - 1
    if not rates:
        return Irr(None, "no IRR: no discount rate makes the NPV zero")
    if len(rates) > 1:
        shown = ", ".join(f"{r:.1%}" for r in rates)
        return Irr(None, f"several IRRs ({shown}): the cash flows change sign {changes} times, "
                   "so no single IRR describes them")
    return Irr(rates[0])


def payback(cash_flows: np.ndarray) -> int | None:
    """First quarter whose cumulative cash flow is >= 0 after having been negative; None if
    the cumulative never turns negative or never recovers."""
    cumulative = np.cumsum(np.asarray(cash_flows, dtype=float))
    negative = np.flatnonzero(cumulative < 0)
    if len(negative) == 0:
        return None
    later = np.flatnonzero(cumulative[negative[0]:] >= 0)
    return int(negative[0] + later[0]) if len(later) else None


def payback_note(cash_flows: np.ndarray) -> str:
    """Why `payback` is blank ('' if it is not)."""
    cumulative = np.cumsum(np.asarray(cash_flows, dtype=float))
    if not (cumulative < 0).any():
        return "never negative: nothing to pay back"
    if payback(cash_flows) is None:
        return "not paid back within the horizon"
    return ""


def moic(cash_flows: np.ndarray) -> float | None:
    """Sum of the positive cash flows over minus the sum of the negative ones (None if no
    cash flow is negative)."""
    cf = np.asarray(cash_flows, dtype=float)
    invested = -cf[cf < 0].sum()
    return float(cf[cf > 0].sum() / invested) if invested > 0 else None


@dataclass(frozen=True)
class Metrics:
    """The Summary's deal metrics of one plan. Quarters are indices 0..T-1 (None = blank)."""

    project_irr: Irr
    equity_irr: Irr
    equity_npv_musd: float
    moic: float | None
    payback_quarter: int | None
    payback_note: str
    discounted_payback_quarter: int | None
    discounted_payback_note: str
    npv_beyond_horizon_share: float | None


@dataclass(frozen=True)
class Coverage:
    """Debt service coverage by calendar year (docs/economics.md, "Debt service coverage")."""

    years: list[int]
    cfads: np.ndarray  # (Y,) $M
    debt_service: np.ndarray  # (Y,) $M
    dscr: np.ndarray  # (Y,) CFADS / debt service, NaN without debt service
    min_dscr: float | None  # smallest dscr over years with debt service
    min_year: int | None  # its year


def coverage(years: np.ndarray, cfads: np.ndarray, debt_service: np.ndarray) -> Coverage:
    """Annual sums of quarterly CFADS and debt service (quarters labelled by `years`), their
    ratio where the debt service is positive, and its minimum with the year."""
    order = sorted(set(int(y) for y in years))
    year = np.asarray(years, dtype=int)
    cf = np.array([float(np.sum(cfads[year == y])) for y in order])
    ds = np.array([float(np.sum(debt_service[year == y])) for y in order])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ds > 1e-12, cf / np.where(ds > 1e-12, ds, 1.0), np.nan)
    has = np.flatnonzero(np.isfinite(ratio))
    if not len(has):
        return Coverage(order, cf, ds, ratio, None, None)
    k = int(has[np.argmin(ratio[has])])
    return Coverage(order, cf, ds, ratio, float(ratio[k]), order[k])


def plan_metrics(net: np.ndarray, equity_cf: np.ndarray, terminal: float,
                 discount: np.ndarray, equity_npv: float, npv: float) -> Metrics:
    """Metrics from a plan's quarterly project net and equity cash flows (T,) and its
    undiscounted terminal value at T-1 (docs/economics.md, Metrics): the IRRs and MOIC include
    the TV in T-1, the paybacks exclude it."""
    with_tv = np.array(net, dtype=float)
    with_tv[-1] += terminal
    equity_tv = np.array(equity_cf, dtype=float)
    equity_tv[-1] += terminal
    discounted = np.asarray(net) * discount
    return Metrics(
        project_irr=irr(with_tv), equity_irr=irr(equity_tv), equity_npv_musd=float(equity_npv),
        moic=moic(equity_tv), payback_quarter=payback(net), payback_note=payback_note(net),
        discounted_payback_quarter=payback(discounted),
        discounted_payback_note=payback_note(discounted),
        npv_beyond_horizon_share=(float(discount[-1] * terminal / npv) if npv != 0 else None))


@dataclass(frozen=True)
class Conversion:
    """The conversion ("incremental") metrics of one plan: its cash flows less those of the
    same portfolio never converted (`models.economics.mining_only`). Quarters are indices."""

    mining_only_net: np.ndarray  # (T,) project net of the mining-only plan, TV excluded
    incremental_net: np.ndarray  # (T,) plan net - mining_only_net, TV excluded
    incremental_equity: np.ndarray  # (T,) plan equity CF - mining-only equity CF, TV excluded
    incremental_terminal: float  # plan TV - mining-only TV, undiscounted at T-1
    irr: Irr  # of incremental_net with incremental_terminal added at T-1
    equity_irr: Irr  # of incremental_equity with incremental_terminal added at T-1
    payback_quarter: int | None  # of incremental_net (TV excluded)
    payback_note: str
    npv_musd: float  # plan NPV - mining-only NPV
    moic: float | None = None  # of incremental_equity with incremental_terminal added at T-1


def conversion_metrics(net: np.ndarray, equity_cf: np.ndarray, terminal: float,
                       base_net: np.ndarray, base_equity_cf: np.ndarray, base_terminal: float,
                       npv: float, base_npv: float) -> Conversion:
    """What the conversion programme earns over keeping the portfolio mining.

    Each line is the plan's minus the mining-only plan's, quarter by quarter ($M): incremental
    project net dCF_t = net_t - base_net_t, incremental equity dE_t = equity_t - base_equity_t
    (the mining-only plan carries no debt, so base_equity = base_net), incremental terminal
    value dTV = TV - base TV. conversion IRR = irr(dCF with dTV added at T-1), conversion
    equity IRR = irr(dE with dTV added at T-1), conversion payback = payback(dCF) (TV
    excluded), conversion NPV = NPV - base NPV (= sum_t DF_t dCF_t + DF_{T-1} dTV),
    conversion MOIC = moic(dE with dTV added at T-1)."""
    d_net = np.asarray(net, dtype=float) - np.asarray(base_net, dtype=float)
    d_equity = np.asarray(equity_cf, dtype=float) - np.asarray(base_equity_cf, dtype=float)
    d_tv = float(terminal) - float(base_terminal)
    with_tv, equity_tv = d_net.copy(), d_equity.copy()
    with_tv[-1] += d_tv
    equity_tv[-1] += d_tv
    return Conversion(
        mining_only_net=np.asarray(base_net, dtype=float), incremental_net=d_net,
        incremental_equity=d_equity, incremental_terminal=d_tv, irr=irr(with_tv),
        equity_irr=irr(equity_tv), payback_quarter=payback(d_net),
        payback_note=payback_note(d_net), npv_musd=float(npv) - float(base_npv),
        moic=moic(equity_tv))
