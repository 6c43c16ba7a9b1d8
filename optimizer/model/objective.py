r"""Objective: expected discounted cost over scenarios.

.. math::
    \min \sum_w \pi_w \sum_{(c,p)} \phi_{p}\, \mathrm{cost}_{c,p,w}

Every module registers its costs as named terms (category, period, scenario); lump sums
are discounted with :math:`\phi_p=(1+r)^{-t_p}` at the start of the period, costs per
year with the discounted years of the period
:math:`\phi_p (1-(1+r)^{-Y_p}) / (1-(1+r)^{-1})` (:math:`Y_p` when :math:`r=0`).
First-stage costs (site builds) are registered in every scenario, so their expectation
equals their value. The cost table of a plan is these same terms, evaluated.
"""

from __future__ import annotations

import pyomo.environ as pyo

from .context import Context


def add(m: pyo.ConcreteModel, ctx: Context) -> None:
    prob = {w.id: w.probability for w in ctx.prep.scenarios}
    m.total_cost = pyo.Objective(
        expr=sum(prob[t.scenario] * t.factor * t.expr for t in ctx.costs), sense=pyo.minimize
    )
