"""The pipeline: load → prepare → build → solve → extract, and the :class:`Plan` it returns."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyomo.environ as pyo

from .diagnose import diagnose, explain_infeasible
from .instance.decisions import Decisions
from .instance.derive import Prepared, prepare
from .instance.load import load_instance
from .instance.schema import Instance
from .model import Context, build_model
from .options import Risk, SolveOptions, Status
from .results.extract import empty_tables, extract_tables
from .solver import FEASIBLE, INFEASIBLE, ProgressPoint, solve_model
from .solver.collector import no_collection


@dataclass
class Plan:
    """A solved (or failed) plan: status, objective and tidy result tables."""

    instance: Instance
    status: Status
    solver_status: str
    objective: float | None
    best_bound: float | None
    mip_gap: float | None
    tables: dict[str, pd.DataFrame]
    seconds: dict[str, float]
    options: SolveOptions
    messages: list[str] = field(default_factory=list)
    model_size: dict[str, int] = field(default_factory=dict)
    expected_cost: float | None = None
    risk: Risk | None = None
    model: Any = None  # the solved Pyomo model and its build context, with keep_model=True
    context: Any = None
    instance_file: str | None = None  # where the instance was read from, if from a file
    progress: list[ProgressPoint] = field(default_factory=list)
    """The search's history (:attr:`optimizer.solver.SolveOutcome.progress`): one
    ``{"seconds", "incumbent", "bound", "gap"}`` per new incumbent, per better bound (at most
    every second or 1 % of the time elapsed) and at the end of the run; empty when nothing
    was solved."""

    @property
    def has_solution(self) -> bool:
        """Whether the plan has a solution (optimal, or feasible within the limits)."""
        return Status(self.status).has_solution

    def summary(self) -> dict[str, Any]:
        """The plan's headline figures: the part of ``summary.json`` that needs no result table
        (``summary.json`` adds the power figures and the search's progress history:
        :func:`optimizer.results.write.plan_summary`).

        ``objective`` is the solver's objective, named by ``objective_name``: the expected
        discounted cost, or under a risk setting the risk objective (1 - weight) × expected
        cost + weight × CVaR. ``expected_cost_usd`` is the expected discounted cost and
        ``cvar_usd`` the CVaR_alpha of the discounted scenario costs (None without a risk
        setting); definitions in :mod:`optimizer.results.outcomes`. ``warnings`` say how to
        read the plan (e.g. continuous counts of an expensive divisible system)."""
        from optimizer.results.outcomes import objective_name, plan_cvar, plan_warnings

        return {
            "instance": self.instance.name,
            "instance_file": self.instance_file,
            "status": self.status,
            "solver_status": self.solver_status,
            "objective": self.objective,
            "objective_name": objective_name(self.risk),
            "best_bound": self.best_bound,
            "mip_gap": self.mip_gap,
            "expected_cost_usd": self.expected_cost,
            "cvar_usd": plan_cvar(self),
            "risk": None if self.risk is None else {"measure": "cvar", "alpha": self.risk.alpha, "weight": self.risk.weight},
            "currency": self.instance.horizon.currency,
            "seconds": {k: round(x, 4) for k, x in self.seconds.items()},
            "model_size": self.model_size,
            "options": self.options.as_dict(),
            "messages": self.messages,
            "warnings": plan_warnings(self),
        }


def solve(
    instance: Instance | str | Path,
    options: SolveOptions | None = None,
    *,
    decisions: Decisions | None = None,
    risk: Risk | None = None,
    keep_model: bool = False,
    progress: Callable[[ProgressPoint], None] | None = None,
) -> Plan:
    """Solve an instance (or an instance file) and return its :class:`Plan`.

    ``options`` are the solver settings (:class:`SolveOptions`; defaults when None). An
    infeasible instance is diagnosed with the elastic model (:mod:`optimizer.diagnose`,
    limited by ``options.diagnose_time_limit``) and the rules that had to give are listed
    in ``plan.messages``. ``decisions`` forces or forbids choices or fixes the site builds;
    ``risk`` makes the objective risk-averse (CVaR); ``keep_model`` keeps the solved Pyomo
    model and its build context on the plan (``plan.model``, ``plan.context``); ``progress`` is
    called with the search's latest point (incumbent, bound, gap, seconds) every few seconds
    while HiGHS runs (its whole history is ``plan.progress``).
    """
    seconds: dict[str, float] = {}
    if not isinstance(instance, Instance):
        t0 = time.perf_counter()
        instance = load_instance(instance)
        seconds["load"] = time.perf_counter() - t0
    options = options if options is not None else SolveOptions()
    if decisions is not None:
        decisions.check(instance)  # an unknown id is an input error (InstanceError), never ignored
    with no_collection():  # the model is ~1 M live objects: no collector passes over them (solver.collector)
        prep, m, ctx, t = timed_build(instance, decisions, risk)
    seconds.update(t)
    size = _size(m)
    if prep.impossible:
        return Plan(instance, INFEASIBLE, "not solved: hard rules cannot be met", None, None, None, empty_tables(),
                    seconds, options, ["no plan can meet the hard rules:", *prep.impossible], size, risk=risk)
    out = solve_model(m, ctx, options, progress)
    seconds.update(out.seconds)
    messages = list(out.messages)
    if out.has_solution:
        t0 = time.perf_counter()
        with no_collection():
            tables = extract_tables(m, ctx)
        seconds["extract"] = time.perf_counter() - t0
    else:
        tables = empty_tables()
        seconds["extract"] = 0.0
    expected = None
    if out.has_solution:
        expected = float(pyo.value(m.expected_cost)) if hasattr(m, "expected_cost") else out.objective
    if out.status == INFEASIBLE and decisions is None:
        messages += explain_infeasible(prep)
        t0 = time.perf_counter()
        diag = diagnose(instance, time_limit=options.diagnose_time_limit)
        seconds["diagnose"] = time.perf_counter() - t0
        if not diag.feasible:
            messages += ["what had to give when the hard rules were relaxed:", *diag.findings]
    elif not out.has_solution:
        messages.append(f"no plan found within the limits (HiGHS: {out.solver_status}); raise --time-limit")
    elif out.status == FEASIBLE:
        messages.append(f"search stopped early (HiGHS: {out.solver_status}); "
                        f"the plan is within {100 * (out.mip_gap or 0):.2f} % of the best bound")
    if out.status == INFEASIBLE and decisions is not None:
        messages.append("no plan satisfies the imposed decisions together with the instance's rules")
    status = out.status
    if options.verify and out.has_solution:
        t0 = time.perf_counter()
        status = _verified(instance, tables, expected, status, messages)
        seconds["verify"] = time.perf_counter() - t0
    return Plan(instance, status, out.solver_status, out.objective, out.best_bound, out.mip_gap, tables,
                seconds, options, messages, size, expected, risk,
                m if keep_model else None, ctx if keep_model else None, progress=out.progress)


def _size(m: Any) -> dict[str, int]:
    n_var = n_int = 0
    continuous: dict[int, bool] = {}  # by domain: variables of one component share theirs
    for var in m.component_data_objects(pyo.Var, active=True):
        n_var += 1
        d = var.domain
        c = continuous.get(id(d))
        if c is None:
            c = continuous[id(d)] = var.is_continuous()
        n_int += 0 if c else 1
    n_con = sum(1 for _ in m.component_data_objects(pyo.Constraint, active=True))
    return {"variables": n_var, "integer_variables": n_int, "constraints": n_con}


def timed_build(inst: Instance, decisions: Decisions | None = None, risk: Risk | None = None
                ) -> tuple[Prepared, pyo.ConcreteModel, Context, dict[str, float]]:
    """Prepare and build stages, timed: (prepared data, model, context, seconds per stage)."""
    t0 = time.perf_counter()
    prep = prepare(inst, decisions)
    t1 = time.perf_counter()
    m, ctx = build_model(prep, risk)
    t2 = time.perf_counter()
    return prep, m, ctx, {"prepare": t1 - t0, "build": t2 - t1}


def _verified(instance: Instance, tables: dict[str, pd.DataFrame], expected: float | None, status: Status,
              messages: list[str]) -> Status:
    """Re-check the plan with the independent verifier; a rejected plan is never a plan."""
    from optimizer.results.verify import verify_plan

    rep = verify_plan(instance, tables, expected)
    if rep.ok:
        messages.append("verifier: plan re-checked, all constraints hold")
        return status
    messages.append(f"verifier: {len(rep.violations)} violation(s): " + "; ".join(rep.messages[:5]))
    messages.append("the plan is REJECTED: its numbers do not describe its decisions (a solver or model error); "
                    "the tables are kept for inspection only")
    return Status.REJECTED
