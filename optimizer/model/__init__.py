"""Build stage: the MIP as a Pyomo model, one module per constraint family.

:func:`build_model` is the one place that says which modules make the model and in
which order. Each module's docstring holds its mathematics, mirrored section by section
in ``docs/formulation.md``.
"""

from __future__ import annotations

import pyomo.environ as pyo

from ..instance.derive import Prepared
from . import fleet, objective, policy, power, sites, workloads
from .context import Context, CostTerm

MODULES = (sites, fleet, workloads, power, policy, objective)
"""Model modules in build order (later modules use expressions of earlier ones)."""


def build_model(prep: Prepared) -> tuple[pyo.ConcreteModel, Context]:
    """Build the MIP for prepared data; returns the model and its build context."""
    m = pyo.ConcreteModel(name=prep.inst.name)
    ctx = Context(prep)
    for module in MODULES:
        module.add(m, ctx)
    return m, ctx


__all__ = ["build_model", "Context", "CostTerm", "MODULES"]
