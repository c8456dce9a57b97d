"""Dantzig-Wolfe decomposition of the conversion MILP by site (column generation).

Why: the sites of a portfolio are coupled only by a few portfolio rows per quarter (capital
budget, hall-start cap, AI demand cap, mining floor). Each site alone is a small MILP that HiGHS
solves in milliseconds; the coupled monolithic MILP has a weak LP relaxation and proves its gap
slowly. Here the coupling rows go to a *master* LP over complete site schedules (columns), and
each site's own rules stay in a *pricing* MILP built once per site in HiGHS.

- Column = one site schedule: halls per candidate start (`econ.halls` rows of the site), cooling
  modules, the power upgrade and mining MW per quarter, with its NPV (`value`, $M) and its use of
  each coupling row (capex per budget row, hall starts, IT MW online, mining MW).
- Pricing (one per site, built once): exactly that site's rows of the model (`formulation`:
  the rules layer's rows written as coefficients, `Rules.linear_rows`, never a second
  formulation): halls per site, power, cooling, module limit, upgrade at most once,
  eligibility (only the site's candidates exist), start commitments and fixed past starts.
  Each iteration only changes its objective to the reduced costs  value - pi . (coupling use)
  under the master duals pi.
- Master LP: max sum value_j lambda_j  s.t. coupling rows (<=, mining floor written as
  -mining <= -floor so every dual is >= 0), sum_j in s lambda_j = 1 per site, lambda >= 0;
  each coupling row has an artificial slack at a large penalty so the master is always feasible.
- Bound: for ANY pi >= 0 the Lagrangian  L(pi) = pi . b + sum_s max_{x in X_s} (c - pi A_s) x
  is an upper bound on the optimal NPV (each site's max taken as its pricing MILP's proven dual
  bound). Every round prices every site, so every round yields a valid bound; the best is kept.
  Duals are smoothed (Wentges): prices pi = a pi_best + (1 - a) pi_master.
- Primal plans, best kept: the greedy plan; the pricing schedules of a round taken together;
  a repair of the master LP (`Repair`: whole columns kept, the other sites re-solved one by
  one with the coupling rows as hard limits on what is left); the restricted master as a MIP
  over the generated columns (mining re-dispatched given the builds); a dive with column
  generation (fix the largest fractional column, re-price, repeat); then, with time left, a
  neighbourhood search on the monolithic model (`Monolithic.search`: the search of the
  "neighbourhood" method, `optimizer.solve.neighbourhood`; a few sites' builds freed, the rest
  fixed to the incumbent, the sites fractional in the master LP first) and the monolithic model
  itself from the best plan, whose proven bound also counts: the reported bound is
  min(Lagrangian, monolithic).
- Measured (benchmarks/README.md): with hundreds of sites the Lagrangian bound is within a few
  hundredths of a percent of the optimum and the MIP over columns finds a plan proving the
  target fast; with a handful of sites the lumpy halls leave the master LP several percent
  above the optimum, and only the monolithic branch-and-bound can prove a tight gap.

Modules: `formulation` (site MILPs, coupling rows, columns), `master` (the master LP and the MIP
over columns), `primal` (repair, plan assembly, the monolithic polish), `driver` (the phases).

Units: $M, MW, quarters. Every coefficient of the pricers and the coupling rows is the rules'
row layer (`models.rows` via `Rules.linear_rows`), the rows the monolithic model is tested
against.
The plan comes back as `models.decisions.Decisions` (units per candidate of `econ.halls`,
`econ.cooling`, `econ.power`, mining MW (S, T)), so it is valued by
`models.economics.evaluate` and audited like the monolithic one.
"""

from optimizer.solve.decompose.driver import DecomposedResult, solve_decomposed
from optimizer.solve.decompose.formulation import Formulation

__all__ = ["DecomposedResult", "Formulation", "solve_decomposed"]
