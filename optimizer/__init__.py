"""dcplan: plan AI compute where the power is.

A mixed-integer program (Pyomo + HiGHS) that decides which sites to build or convert and
when, which accelerator systems to install where, and where each training job and
inference load runs — at least expected cost, within power limits, export controls,
subsidies, domestic-share targets, latency and data residency.

Public API::

    inst = load_instance("instances/quickstart.yaml")
    plan = solve(inst, SolveOptions(time_limit=120))
    plan.status, plan.objective, plan.tables["builds"]
    verify_plan(inst, plan.tables)      # independent re-check, no Pyomo
    write_plan(plan, "out/quickstart")
    tables, summary = read_plan("out/quickstart")

The names are imported on first use, so ``import optimizer`` (and ``dcplan --help``)
does not load Pyomo, HiGHS or pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from optimizer._version import __version__

_EXPORTS = {
    "Decisions": "optimizer.instance.decisions",
    "Instance": "optimizer.instance.schema",
    "InstanceError": "optimizer.instance.errors",
    "Plan": "optimizer.plan",
    "Problem": "optimizer.instance.errors",
    "Risk": "optimizer.options",
    "SolveOptions": "optimizer.options",
    "Status": "optimizer.options",
    "VerificationReport": "optimizer.results.verify",
    "apply_overrides": "optimizer.instance.overrides",
    "apply_variants": "optimizer.instance.overrides",
    "instance_from_dict": "optimizer.instance.load",
    "load_instance": "optimizer.instance.load",
    "read_plan": "optimizer.results.read",
    "solve": "optimizer.plan",
    "verify_plan": "optimizer.results.verify",
    "write_plan": "optimizer.results.write",
}

__all__ = [
    "Decisions",
    "Instance",
    "InstanceError",
    "Plan",
    "Problem",
    "Risk",
    "SolveOptions",
    "Status",
    "VerificationReport",
    "__version__",
    "apply_overrides",
    "apply_variants",
    "instance_from_dict",
    "load_instance",
    "read_plan",
    "solve",
    "verify_plan",
    "write_plan",
]

if TYPE_CHECKING:  # for type checkers and editors; at run time the names load lazily
    from optimizer.instance.decisions import Decisions
    from optimizer.instance.errors import InstanceError, Problem
    from optimizer.instance.load import instance_from_dict, load_instance
    from optimizer.instance.overrides import apply_overrides, apply_variants
    from optimizer.instance.schema import Instance
    from optimizer.options import Risk, SolveOptions, Status
    from optimizer.plan import Plan, solve
    from optimizer.results.read import read_plan
    from optimizer.results.verify import VerificationReport, verify_plan
    from optimizer.results.write import write_plan


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'optimizer' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
