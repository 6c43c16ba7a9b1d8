"""dcplan: plan AI compute where the power is.

A mixed-integer program (Pyomo + HiGHS) that decides which sites to build or convert and
when, which accelerator systems to install where, and where each training job and
inference load runs — at least expected cost, within power limits, export controls,
subsidies, domestic-share targets, latency and data residency.

Public API::

    inst = load_instance("instances/quickstart.yaml")
    plan = solve(inst, time_limit=120)
    plan.status, plan.objective, plan.tables["builds"]
    verify_plan(inst, plan.tables)      # independent re-check, no Pyomo
    write_plan(plan, "out/quickstart")
"""

from .instance.errors import InstanceError, Problem
from .instance.load import instance_from_dict, load_instance
from .instance.schema import Instance
from .plan import Plan, solve
from .results.verify import VerificationReport, verify_plan
from .results.write import write_plan
from .solve import SolveOptions

__all__ = [
    "Instance",
    "InstanceError",
    "Plan",
    "Problem",
    "SolveOptions",
    "VerificationReport",
    "instance_from_dict",
    "load_instance",
    "solve",
    "verify_plan",
    "write_plan",
]
__version__ = "0.1.0"
