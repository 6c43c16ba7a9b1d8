r"""Objective: expected discounted cost over scenarios, optionally risk-averse.

.. math::
    C_w = \sum_{(c,p)} \phi_{p}\, \mathrm{cost}_{c,p,w}, \qquad \min \sum_w \pi_w C_w

Every module registers its costs as named terms (category, period, scenario); lump sums
are discounted with :math:`\phi_p=(1+r)^{-t_p}` at the start of the period, costs per
year with the discounted years of the period
:math:`\phi_p (1-(1+r)^{-Y_p}) / (1-(1+r)^{-1})` (:math:`Y_p` when :math:`r=0`).
First-stage costs (site builds) are registered in every scenario, so their expectation
equals their value (the capex subsidy may differ by scenario when a scenario overrides it).
The cost table of a plan is these same terms, evaluated.

With a risk setting :math:`(\alpha, \lambda)` the objective is
:math:`(1-\lambda)\sum_w \pi_w C_w + \lambda\big(\eta + \frac{1}{1-\alpha}\sum_w \pi_w z_w\big)`
with :math:`z_w \ge C_w - \eta` (``cvar_excess``), :math:`z_w \ge 0`, :math:`\eta` free
(``cvar_var``): the Rockafellar–Uryasev form of CVaR, the expected cost of the worst
:math:`1-\alpha` probability mass of scenarios.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pyomo.environ as pyo

from .context import Context


def add(m: pyo.ConcreteModel, ctx: Context) -> None:
    """Add the objective: expected discounted cost, or its mix with CVaR under a risk setting."""
    prob = {w.id: w.probability for w in ctx.prep.scenarios}
    per_scenario: defaultdict[str, Any] = defaultdict(float)  # scenario -> discounted cost expression
    for t in ctx.costs:
        per_scenario[t.scenario] = per_scenario[t.scenario] + t.factor * t.expr
    m.scenario_cost = per_scenario  # plain dict of expressions, for reports
    expected = sum(prob[w] * per_scenario[w] for w in prob)
    risk = ctx.risk
    if risk is None or risk.weight == 0:
        m.total_cost = pyo.Objective(expr=expected, sense=pyo.minimize)
        return
    m.cvar_var = pyo.Var(within=pyo.Reals)
    m.cvar_excess_cost = pyo.Var(list(prob), within=pyo.NonNegativeReals)
    m.cvar_excess = pyo.Constraint(list(prob), rule=lambda _m, w: m.cvar_excess_cost[w] >= per_scenario[w] - m.cvar_var)
    cvar = m.cvar_var + sum(prob[w] * m.cvar_excess_cost[w] for w in prob) / (1 - risk.alpha)
    m.expected_cost = pyo.Expression(expr=expected)
    m.cvar = pyo.Expression(expr=cvar)
    m.total_cost = pyo.Objective(expr=(1 - risk.weight) * expected + risk.weight * cvar, sense=pyo.minimize)
