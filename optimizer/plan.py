"""The pipeline: load → prepare → build → solve → extract, and the :class:`Plan` it returns."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .diagnose import diagnose
from .instance.load import load_instance
from .instance.schema import Instance
from .results.extract import empty_tables, extract_tables
from .solve import FEASIBLE, INFEASIBLE, OPTIMAL, SolveOptions, explain_infeasible, solve_model, timed_build


@dataclass
class Plan:
    """A solved (or failed) plan: status, objective and tidy result tables."""

    instance: Instance
    status: str
    solver_status: str
    objective: float | None
    best_bound: float | None
    mip_gap: float | None
    tables: dict[str, pd.DataFrame]
    seconds: dict[str, float]
    options: SolveOptions
    messages: list[str] = field(default_factory=list)
    model_size: dict[str, int] = field(default_factory=dict)

    @property
    def has_solution(self) -> bool:
        return self.status in (OPTIMAL, FEASIBLE)

    def summary(self) -> dict[str, Any]:
        """The plan's headline figures, as written to ``summary.json``."""
        return {
            "instance": self.instance.name,
            "status": self.status,
            "solver_status": self.solver_status,
            "objective": self.objective,
            "best_bound": self.best_bound,
            "mip_gap": self.mip_gap,
            "currency": self.instance.horizon.currency,
            "seconds": {k: round(x, 4) for k, x in self.seconds.items()},
            "model_size": self.model_size,
            "options": {
                "time_limit": self.options.time_limit,
                "mip_gap": self.options.mip_gap,
                "threads": self.options.threads,
                "seed": self.options.seed,
            },
            "messages": self.messages,
        }


def solve(
    instance: Instance | str | Path,
    *,
    time_limit: float | None = None,
    mip_gap: float = 1e-4,
    threads: int | None = None,
    seed: int = 0,
    write_model: str | Path | None = None,
    verbose: bool = False,
    diagnose_time_limit: float | None = 60.0,
) -> Plan:
    """Solve an instance (or an instance file) and return its :class:`Plan`.

    An infeasible instance is diagnosed with the elastic model (:mod:`optimizer.diagnose`)
    and the rules that had to give are listed in ``plan.messages``.
    """
    seconds: dict[str, float] = {}
    if not isinstance(instance, Instance):
        t0 = time.perf_counter()
        instance = load_instance(instance)
        seconds["load"] = time.perf_counter() - t0
    options = SolveOptions(time_limit, mip_gap, threads, seed, write_model, verbose)
    prep, m, ctx, t = timed_build(instance)
    seconds.update(t)
    size = _size(m)
    if prep.impossible:
        return Plan(instance, INFEASIBLE, "not solved: hard rules cannot be met", None, None, None, empty_tables(),
                    seconds, options, ["no plan can meet the hard rules:", *prep.impossible], size)
    out = solve_model(m, ctx, options)
    seconds.update(out.seconds)
    messages = list(out.messages)
    if out.has_solution:
        t0 = time.perf_counter()
        tables = extract_tables(m, ctx)
        seconds["extract"] = time.perf_counter() - t0
    else:
        tables = empty_tables()
        seconds["extract"] = 0.0
    if out.status == INFEASIBLE:
        messages += explain_infeasible(prep)
        t0 = time.perf_counter()
        diag = diagnose(instance, time_limit=diagnose_time_limit)
        seconds["diagnose"] = time.perf_counter() - t0
        if not diag.feasible:
            messages += ["what had to give when the hard rules were relaxed:", *diag.findings]
    elif not out.has_solution:
        messages.append(f"no plan found within the limits (HiGHS: {out.solver_status}); raise --time-limit")
    elif out.status == FEASIBLE:
        messages.append(f"search stopped early (HiGHS: {out.solver_status}); the plan is within {100 * (out.mip_gap or 0):.2f} % of the best bound")
    return Plan(instance, out.status, out.solver_status, out.objective, out.best_bound, out.mip_gap, tables,
                seconds, options, messages, size)


def _size(m) -> dict[str, int]:
    import pyomo.environ as pyo

    n_var = n_int = 0
    for var in m.component_data_objects(pyo.Var, active=True):
        n_var += 1
        n_int += 0 if var.is_continuous() else 1
    n_con = sum(1 for _ in m.component_data_objects(pyo.Constraint, active=True))
    return {"variables": n_var, "integer_variables": n_int, "constraints": n_con}
