"""Discounting, terminal value, debt and depreciation schedules (docs/economics.md): the
finance arithmetic the per-start cash-flow rows (`models.cash_flows`) are made of.

Units: money in $M (per unit drawn or spent where a schedule is of 1), time in quarters
t = 0..T-1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.portfolio import Portfolio


@dataclass(frozen=True)
class Deal:
    """The run-wide deal terms (Settings), and the debt schedule of a unit draw.

    A draw of 1 in quarter s is its own loan: a level quarterly annuity over n = 4N quarters
    at r = i/4 from s+1; after the payments of T-1, what is left is repaid in T-1 (the balloon).
    `interest[s, t]`, `principal[s, t]` and `balance[s, t]` (outstanding at the end of t) hold
    that schedule, so a (C, T) draw matrix D has interest D @ interest, and so on.
    """

    ltc: float
    tax_rate: float
    discount: np.ndarray  # (T,)
    equity_discount: np.ndarray  # (T,)
    interest: np.ndarray  # (T, T)
    principal: np.ndarray  # (T, T)
    balance: np.ndarray  # (T, T)
    balloon: np.ndarray  # (T, T) the part of principal repaid in T-1 beyond the schedule

    @classmethod
    def of(cls, portfolio: Portfolio, discount: np.ndarray, equity_discount: np.ndarray
           ) -> Deal:
        st = portfolio.settings
        horizon = portfolio.horizon
        ltc = float(st.debt_ltc or 0.0)
        interest = np.zeros((horizon, horizon))
        principal = np.zeros((horizon, horizon))
        balance = np.zeros((horizon, horizon))
        balloon = np.zeros((horizon, horizon))
        if ltc > 0:
            rate = float(st.debt_rate or 0.0) / 4.0
            payments = round(4 * float(st.debt_tenor_years or 0.0))
            interest, principal, balance = debt_schedule(rate, payments, horizon)
            balloon = balloon_schedule(rate, payments, horizon)
        return cls(ltc=ltc, tax_rate=st.tax_rate, discount=discount,
                   equity_discount=equity_discount, interest=interest, principal=principal,
                   balance=balance, balloon=balloon)


def debt_schedule(rate: float, payments: int, horizon: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T, T) interest, principal and end-of-quarter balance in quarter t of 1 drawn in s.

    Level annuity A = r / (1 - (1+r)^-n) (1/n at r = 0), paid in s+1 .. s+n; interest r times
    the balance, the rest principal; the balance left after the payment of T-1 is repaid then.
    """
    k = np.arange(horizon + 1, dtype=float)  # payments made
    if rate > 0:
        growth = (1.0 + rate) ** k
        annuity = rate / (1.0 - (1.0 + rate) ** (-payments))
        left = growth - annuity * (growth - 1.0) / rate  # balance after k payments
    else:
        left = 1.0 - k / payments
    left = np.where(k >= payments, 0.0, np.maximum(left, 0.0))
    lag = np.arange(horizon)[None, :] - np.arange(horizon)[:, None]  # t - s
    paid = (lag >= 1) & (lag <= payments)
    before = left[np.clip(lag - 1, 0, horizon)]
    after = left[np.clip(lag, 0, horizon)]
    interest = np.where(paid, rate * before, 0.0)
    principal = np.where(paid, before - after, 0.0)
    balance = np.where(lag >= 0, after, 0.0)
    # The balloon: what is still owed after the payments of T-1 is repaid in T-1.
    principal[:, -1] += balance[:, -1]
    balance[:, -1] = 0.0
    return interest, principal, balance


def balloon_schedule(rate: float, payments: int, horizon: int) -> np.ndarray:
    """(T, T): the balloon of 1 drawn in s, in quarter T-1 only: what `debt_schedule` repays
    in T-1 beyond that quarter's scheduled payment (the balance left after it)."""
    out = np.zeros((horizon, horizon))
    # On a horizon one quarter longer, the balance at the end of T-1 is what is still owed
    # after T-1's scheduled payment (no balloon there yet).
    _interest, _principal, longer = debt_schedule(rate, payments, horizon + 1)
    out[:, -1] = longer[:horizon, horizon - 1]
    return out


def discount_factors(rate: float, horizon: int, timing: str) -> np.ndarray:
    """DF_t = (1+r)^(-(t+1)/4) for end-of-quarter, (1+r)^(-(t+0.5)/4) for mid-quarter."""
    offset = 1.0 if timing == "end" else 0.5
    return (1.0 + rate) ** (-(np.arange(horizon) + offset) / 4.0)


def equity_discount_factors(portfolio: Portfolio) -> np.ndarray:
    """DF^e_t, t = 0..T-1: the equity cash flows' discount factors, at the equity rate
    (equity_discount_rate; blank = discount_rate) with the plan's end- or mid-quarter timing."""
    st = portfolio.settings
    return discount_factors(st.equity_rate, st.horizon_quarters, st.discounting)


def terminal_factor(portfolio: Portfolio) -> float:
    """Multiplier of the last quarter's AI NOI giving the (undiscounted) terminal value; with
    terminal_value_tax = taxed (the default) the NOI is after tax, NOI x (1 - tax_rate)."""
    s = portfolio.settings
    after_tax = 1.0 - s.tax_rate if s.terminal_value_tax == "taxed" else 1.0
    if s.terminal_value == "multiple":
        return float(s.terminal_multiple or 0.0) * 4.0 * after_tax
    if s.terminal_value == "gordon":
        g = float(s.terminal_growth or 0.0)
        return 4.0 * (1.0 + g) / (s.discount_rate - g) * after_tax
    return 0.0


def straight_line(amount: np.ndarray, online: np.ndarray, quarters: float, horizon: int
                  ) -> np.ndarray:
    """(C, T) depreciation: amount / n in each quarter overlapping [online, online + n)."""
    t = np.arange(horizon)[None, :]
    start = online[:, None].astype(float)
    overlap = np.clip(np.minimum(t + 1, start + quarters) - np.maximum(t, start), 0.0, 1.0)
    return amount[:, None] / quarters * overlap


def spread_evenly(amount: np.ndarray, tau: np.ndarray, lead: np.ndarray, horizon: int
                  ) -> np.ndarray:
    """(C, T) capex: amount / lead in each quarter tau .. tau+lead-1 (quarters >= 0 only)."""
    t = np.arange(horizon)[None, :]
    building = (t >= tau[:, None]) & (t < (tau + lead)[:, None])
    return np.where(building, (amount / lead)[:, None], 0.0)
