"""Progressive hedging with mpi-sppy (Pyomo's stochastic-programming library), serially.

PH is used only to *propose* first stages; it proves nothing here. Each scenario is the
conversion model of `models.conversion.build_model`, its first-stage starts (and, with a risk
weight, the CVaR level ``eta``) declared as the root node's nonanticipative variables in one
order by business key (a start a scenario lacks is a variable fixed at 0 there). The
scenario objective is separable because ``eta`` is first-stage:

    minimise  -[(1 - W) NPV_i + W (eta - shortfall_i / A)],  shortfall_i >= eta - NPV_i.

After PH stops (converged or out of iterations) every distinct rounded first stage the
scenarios hold is a candidate; `optimizer.robust.methods` evaluates each in every future with
the recourse re-optimised through the HiGHS boundary and keeps the best, with wait-and-see's
bound. mpi-sppy drives its own HiGHS (``appsi_highs``) for the PH sub-problems: their answers
are only proposals and never reported.

mpi-sppy is optional: ``pip install 'sitepivot[robust]'``. It runs serially without mpi4py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyomo.environ as pyo

from models.conversion import build_model
from models.economics import Economics
from models.errors import UsageError
from models.robust import FirstKey, Floats, first_stage_variables
from optimizer.money import money

PH_ITERATIONS = 20  # PH's iteration limit; its candidates are evaluated either way
PH_RHO = 1.0  # the proximal weight per first-stage unit (halls, modules, upgrades)

Candidate = tuple[tuple[FirstKey, float], ...]


def ph_candidates(econs: Sequence[Economics], weights: Floats, commit_quarters: int,
                  risk_weight: float, cvar_level: float, *, time_limit: float,
                  mip_gap: float, iterations: int = PH_ITERATIONS, bar: Any = None
                  ) -> tuple[list[Candidate], str]:
    """Run PH and return the distinct first stages it ends with (most weight first) and a
    short log. `bar` (`optimizer.progress.Counter`) advances once per PH iteration."""
    try:
        import mpisppy.utils.sputils as sputils
        import scipy.optimize  # noqa: F401  (mpi-sppy's proximal term needs it, undeclared)
        from mpisppy.extensions.extension import Extension
        from mpisppy.opt.ph import PH
    except ImportError as err:
        raise UsageError("--method ph needs mpi-sppy and scipy: pip install 'sitepivot[robust]'") \
            from err

    keys = sorted(set().union(*(first_stage_variables(build_model(e), commit_quarters)
                                for e in econs)))
    names = [f"scenario_{i}" for i in range(len(econs))]
    total = float(sum(weights))

    def creator(name: str) -> pyo.ConcreteModel:
        i = int(name.rsplit("_", 1)[1])
        m = build_model(econs[i])
        m.npv.deactivate()
        firsts = first_stage_variables(m, commit_quarters)
        m.absent = pyo.Var(range(len(keys)), bounds=(0, 0))  # starts this future lacks
        nonants: list[Any] = [firsts.get(k, m.absent[j]) for j, k in enumerate(keys)]
        value = m.npv.expr
        if risk_weight > 0:
            m.eta = pyo.Var(domain=pyo.Reals)
            m.shortfall = pyo.Var(domain=pyo.NonNegativeReals)
            m.tail = pyo.Constraint(expr=m.shortfall >= m.eta - m.npv.expr)
            value = (1 - risk_weight) * m.npv.expr + risk_weight * (
                m.eta - m.shortfall / cvar_level)
            nonants.append(m.eta)
        m.ph_cost = pyo.Objective(expr=-value, sense=pyo.minimize)
        sputils.attach_root_node(m, 0, nonants)
        m._mpisppy_probability = float(weights[i]) / total
        return m

    class Progress(Extension):
        def enditer(self) -> None:
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(f"PH iteration {self.opt._PHIter}", refresh=False)

    solver_options = {"time_limit": float(time_limit), "mip_rel_gap": float(mip_gap),
                      "threads": 1}
    options = {"solver_name": "appsi_highs", "PHIterLimit": int(iterations),
               "defaultPHrho": PH_RHO, "convthresh": 1e-6, "verbose": False,
               "display_progress": False, "display_timing": False,
               "linearize_proximal_terms": True, "proximal_linearization_tolerance": 1e-1,
               "solver_options_layers": [sputils.solver_options_layer("default",
                                                                      solver_options)]}
    if bar is not None:
        bar.total += int(iterations)
    ph = PH(options, names, creator, extensions=Progress)
    before = bar.n if bar is not None else 0
    conv, objective, trivial = ph.ph_main()
    if bar is not None:  # PH may converge before its iteration limit
        bar.total -= int(iterations) - (bar.n - before)
    found: dict[Candidate, float] = {}
    for scenario in ph.local_scenarios.values():
        node = scenario._mpisppy_node_list[0]
        values = [round(pyo.value(v)) for v in node.nonant_vardata_list]
        first = tuple((k, float(v)) for k, v in zip(keys, values, strict=False) if v > 0)
        found[first] = found.get(first, 0.0) + scenario._mpisppy_probability
    log = (f"progressive hedging (mpi-sppy): {ph._PHIter} iteration(s), convergence metric "
           f"{conv:.3g}, {len(found)} distinct first stage(s) at the end; PH's own objective "
           f"{money(-objective, 3)} and trivial bound {money(-trivial, 3)} (not used: the plan is "
           "re-evaluated and bounded by sitepivot)")
    return sorted(found, key=lambda c: -found[c]), log
