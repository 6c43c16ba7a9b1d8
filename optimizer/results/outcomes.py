"""What a solved plan means per scenario: cost, idle capacity, unserved demand, CVaR.

Read from the plan's result tables only, so the printed plan, the report and the
uncertainty analysis share one definition of each number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from optimizer.instance.derive import BASE_SCENARIO
from optimizer.instance.schema import Instance

if TYPE_CHECKING:
    from optimizer.plan import Plan


OUTCOME_COLUMNS = [
    "scenario", "probability", "cost_usd",
    "unit_years", "idle_unit_years", "idle_unit_pct",
    "built_mw_years", "busy_mw_years", "idle_capacity_pct",
    "demand_pflops_years", "unserved_pflops_years", "unserved_pct", "jobs_unplaced",
]
"""Columns of :func:`scenario_outcomes`. ``*_years`` are sums over periods weighted by the
period's length (unit-years, MW-years, PFLOPS-years)."""


def scenario_probabilities(inst: Instance) -> dict[str, float]:
    """Scenario id -> probability; an instance without scenarios has one, ``base``, with 1."""
    return {w.id: w.probability for w in inst.scenarios} if inst.scenarios else {BASE_SCENARIO: 1.0}


def _pct(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole > 1e-12 else 0.0


def scenario_outcomes(plan: Plan) -> pd.DataFrame:
    """Cost, idle compute and unserved demand of a solved plan, one row per scenario.

    - ``cost_usd``: the scenario's discounted cost (first-stage builds included);
    - ``idle_unit_pct``: installed unit-years that did no work (idle units / units in
      service, as in ``compute_use``);
    - ``idle_capacity_pct``: built IT MW-years not doing work: 1 - busy units' nameplate MW /
      built IT MW (existing halls included). Empty halls count as idle here, idle systems too
      — the "built but unused" compute of an overbuild;
    - ``unserved_pct``: inference demand not served, of all demand (PFLOPS-years);
    - ``jobs_unplaced``: training jobs of the scenario left unplaced.

    A plan without a solution gives an empty table with these columns.
    """
    inst = plan.instance
    probs = scenario_probabilities(inst)
    if not plan.has_solution:
        return pd.DataFrame(columns=OUTCOME_COLUMNS)
    t = plan.tables
    years = {p.id: p.years for p in inst.horizon.periods}
    kw = {k.id: k.it_kw_per_unit for k in inst.systems}

    def by_scenario(df: pd.DataFrame, value: pd.Series) -> dict[str, float]:
        if len(df) == 0:
            return {}
        return value.groupby(df["scenario"]).sum().to_dict()

    cu = t["compute_use"]
    y_cu = cu["period"].map(years).astype(float) if len(cu) else pd.Series(dtype=float)
    units = by_scenario(cu, cu["units_in_service"] * y_cu) if len(cu) else {}
    idle = by_scenario(cu, cu["idle_units"] * y_cu) if len(cu) else {}
    busy_mw = by_scenario(cu, cu["busy_units"] * cu["system"].map(kw) / 1000.0 * y_cu) if len(cu) else {}
    sp = t["site_power"]
    built = by_scenario(sp, sp["built_it_mw"] * sp["period"].map(years).astype(float)) if len(sp) else {}
    dm = t["demand"]
    y_dm = dm["period"].map(years).astype(float) if len(dm) else pd.Series(dtype=float)
    demand = by_scenario(dm, dm["demand_pflops"] * y_dm) if len(dm) else {}
    unserved = by_scenario(dm, dm["unserved_pflops"] * y_dm) if len(dm) else {}
    cost = t["costs"].groupby("scenario")["discounted_usd"].sum().to_dict() if len(t["costs"]) else {}
    tr = t["training"]
    unplaced = (~tr["placed"].astype(bool)).groupby(tr["scenario"]).sum().to_dict() if len(tr) else {}
    rows = []
    for w, p in probs.items():
        u, i = units.get(w, 0.0), idle.get(w, 0.0)
        b, bz = built.get(w, 0.0), busy_mw.get(w, 0.0)
        d, z = demand.get(w, 0.0), unserved.get(w, 0.0)
        rows.append([w, p, float(cost.get(w, 0.0)), u, i, _pct(i, u), b, bz, _pct(max(0.0, b - bz), b),
                     d, z, _pct(z, d), int(unplaced.get(w, 0))])
    return pd.DataFrame(rows, columns=OUTCOME_COLUMNS)


def expected_outcomes(outcomes: pd.DataFrame) -> dict[str, float]:
    """Probability-weighted means of a :func:`scenario_outcomes` table.

    Shares are recomputed from the expected quantities (expected idle MW-years / expected
    built MW-years), not averaged.
    """
    if len(outcomes) == 0:
        return {}
    p = outcomes["probability"]
    e = {c: float((outcomes[c] * p).sum()) for c in OUTCOME_COLUMNS[2:] if not c.endswith("_pct")}
    e["idle_unit_pct"] = _pct(e["idle_unit_years"], e["unit_years"])
    e["idle_capacity_pct"] = _pct(max(0.0, e["built_mw_years"] - e["busy_mw_years"]), e["built_mw_years"])
    e["unserved_pct"] = _pct(e["unserved_pflops_years"], e["demand_pflops_years"])
    return e


def cvar(costs: list[float], probs: list[float], alpha: float) -> float:
    """CVaR_alpha of a discrete cost distribution: the expected cost of its worst 1 - alpha
    probability mass (Rockafellar–Uryasev; an atom on the boundary counts in part)."""
    tail = 1.0 - alpha
    left, acc = tail, 0.0
    for c, p in sorted(zip(costs, probs), key=lambda x: -x[0]):
        take = min(p, left)
        acc += take * c
        left -= take
        if left <= 1e-15:
            break
    return acc / tail
