"""The table computations the figures (and the HTML report) share, on result tables only.

A figure's input — a :class:`~optimizer.plan.Plan`, a dict of result tables or a result
folder — becomes ``(tables, instance)`` with :func:`resolve`. The instance supplies what the
tables do not hold: coordinates, names, the period order, scenario probabilities and the
per-unit figures of systems. Nothing here builds or reads a model, and nothing derives
model data from the instance (the grid connection, for one, comes from ``site_power``).

Scenarios: site builds are first-stage (the same in every scenario); fleets, loads and
costs differ by scenario. :func:`expected` weights them by probability, or picks one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Union

import pandas as pd

from optimizer.results.columns import COLUMNS
from optimizer.results.outcomes import probability_weights
from optimizer.results.read import read_plan

if TYPE_CHECKING:
    from optimizer.instance.schema import Instance
    from optimizer.plan import Plan

Source = Union["Plan", dict[str, pd.DataFrame], str, Path]


def resolve(src: Source, inst: Instance | None = None) -> tuple[dict[str, pd.DataFrame], Instance]:
    """(tables, instance) from a Plan, a dict of tables or a result folder (csv, xlsx or parquet)."""
    if isinstance(src, (str, Path)):
        tables = read_plan(src)[0]
    elif isinstance(src, dict):
        tables = src
    elif hasattr(src, "tables") and hasattr(src, "instance"):
        tables = src.tables
        inst = inst or src.instance
    else:
        raise TypeError(f"expected a Plan, a dict of tables or a result folder, not {type(src).__name__}")
    if inst is None:
        raise ValueError("the instance is needed (for coordinates, periods and scenarios); pass inst=")
    return {k: tables.get(k, pd.DataFrame(columns=c)) for k, c in COLUMNS.items()}, inst


def periods_of(inst: Instance) -> list[str]:
    """Period ids in horizon order."""
    return [p.id for p in inst.horizon.periods]


def probabilities(tables: dict[str, pd.DataFrame], inst: Instance) -> dict[str, float]:
    """Scenario id -> probability (a deterministic instance has one scenario, 'base', with 1)."""
    if inst.scenarios:
        return {w.id: float(w.probability) for w in inst.scenarios}
    seen: set[str] = set()
    for df in tables.values():
        if "scenario" in df.columns:
            seen |= set(df["scenario"].dropna().astype(str))
    seen = seen or {"base"}
    return {w: 1.0 / len(seen) for w in sorted(seen)}


def check_scenario(scenario: str | None, probs: dict[str, float]) -> None:
    """ValueError unless ``scenario`` is None or one of the plan's scenarios."""
    if scenario is not None and scenario not in probs:
        raise ValueError(f"unknown scenario '{scenario}'; the plan has: {', '.join(probs)}")


def scope(scenario: str | None, probs: dict[str, float]) -> str:
    """What a figure shows, for its title: one scenario, the expectation, or '' (deterministic)."""
    if scenario is not None:
        return f"scenario {scenario}"
    return "expected over scenarios" if len(probs) > 1 else ""


def expected(df: pd.DataFrame, keys: list[str], values: list[str], probs: dict[str, float],
             scenario: str | None = None) -> pd.DataFrame:
    """Sum of ``values`` by ``keys``: probability-weighted over scenarios, or in one scenario."""
    if len(df) == 0:
        return pd.DataFrame(columns=keys + values)
    if scenario is not None:
        d = df[df["scenario"] == scenario]
        return d.groupby(keys, as_index=False)[values].sum()
    w = probability_weights(df["scenario"], probs)
    d = df[keys].copy()
    for v in values:
        d[v] = pd.to_numeric(df[v], errors="coerce").fillna(0.0) * w
    return d.groupby(keys, as_index=False)[values].sum()


def grid_mw(tables: dict[str, pd.DataFrame]) -> dict[tuple[str, str], float]:
    """Grid connection (MW) per (site, period) from ``site_power``; the same in every scenario.

    The table has a row where a site has capacity or load, so a (site, period) without one
    (a site not yet built) is absent: callers treat it as no connection to show."""
    sp = tables["site_power"]
    if len(sp) == 0:
        return {}
    g = sp.groupby(["site", "period"], as_index=False)["grid_mw"].max()
    return {(str(s), str(p)): float(x) for s, p, x in zip(g["site"], g["period"], g["grid_mw"], strict=True)}


def power_limit_mw(tables: dict[str, pd.DataFrame]) -> dict[tuple[str, str], float]:
    """Power limit (MW) per (site, period) from ``site_power.power_limit_mw``: the firm grid, the flexible grid
    MW in their term and the on-site generation kept (the same in every scenario). A result folder written
    before the column existed gives the grid connection (:func:`grid_mw`)."""
    sp = tables["site_power"]
    if len(sp) == 0:
        return {}
    if "power_limit_mw" not in sp.columns or pd.to_numeric(sp["power_limit_mw"], errors="coerce").isna().all():
        return grid_mw(tables)
    lim = pd.to_numeric(sp["power_limit_mw"], errors="coerce").fillna(pd.to_numeric(sp["grid_mw"], errors="coerce"))
    g = sp.assign(power_limit_mw=lim).groupby(["site", "period"], as_index=False)["power_limit_mw"].max()
    return {(str(s), str(p)): float(x) for s, p, x in zip(g["site"], g["period"], g["power_limit_mw"], strict=True)}
