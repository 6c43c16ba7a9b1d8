"""Build stage: the MIP as a Pyomo model, one module per constraint family.

:func:`build_model` is the one place that says which modules make the model and in
which order. Each module's docstring holds its mathematics, mirrored section by section
in ``docs/formulation.md``.
"""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.instance.derive import Prepared
from optimizer.options import Risk

from . import decisions, fleet, generation, objective, policy, power, sites, supply, workloads
from .context import Context, CostTerm

MODULES = (sites, fleet, workloads, generation, power, supply, policy, decisions, objective)
"""Model modules in build order (later modules use expressions of earlier ones)."""


def build_model(prep: Prepared, risk: Risk | None = None) -> tuple[pyo.ConcreteModel, Context]:
    """Build the MIP for prepared data; returns the model and its build context.

    ``risk`` switches the objective to (1 - w) expected cost + w CVaR_alpha(cost).
    """
    m = pyo.ConcreteModel(name=prep.inst.name)
    ctx = Context(prep, risk=risk)
    for module in MODULES:
        module.add(m, ctx)
    return m, ctx


__all__ = ["build_model", "Context", "CostTerm", "MODULES", "Risk"]
