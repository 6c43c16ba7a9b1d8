"""Offline pictures of a plan: PNG figures with matplotlib, no network, no map downloads.

Every figure function takes what a plan leaves behind — a :class:`~optimizer.plan.Plan`, the
dict of result tables (``plan.tables``, or :func:`optimizer.results.read.read_plan` of a
result folder), or a result folder written by ``dcplan solve --out`` — plus the instance
(for coordinates, names, periods and scenario probabilities; a Plan carries its own), and
returns a :class:`matplotlib.figure.Figure`. Pass ``path=`` to also save it as PNG. Figures
read result tables only; they never build a model.

By default every figure shows the **expected value** over scenarios (probability-weighted);
``scenario="boom"`` shows one scenario instead. :func:`system_mix` can also facet by
scenario (``facet="scenario"``).

Modules: :mod:`.style` (colours, sizes, helpers), :mod:`.data` (shared table computations)
and one module per figure: :mod:`.capacity`, :mod:`.mix`, :mod:`.costs`, :mod:`.power`,
:mod:`.power_timeline`, :mod:`.idle`, :mod:`.map`. This package exposes the figure functions, :data:`PLOTS`,
:func:`all_figures`, :func:`save_all` and :func:`figure_png`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from matplotlib.figure import Figure

from optimizer.analysis.figures.capacity import capacity_by_site
from optimizer.analysis.figures.costs import cost_breakdown
from optimizer.analysis.figures.data import (
    Source,
    expected,
    grid_mw,
    periods_of,
    power_limit_mw,
    probabilities,
    resolve,
)
from optimizer.analysis.figures.idle import idle_compute
from optimizer.analysis.figures.map import site_map
from optimizer.analysis.figures.mix import system_mix
from optimizer.analysis.figures.power import power_vs_grid
from optimizer.analysis.figures.power_timeline import power_timeline
from optimizer.analysis.figures.style import DPI, family_colours, figure_png, save, site_colours, system_colours

if TYPE_CHECKING:
    from optimizer.instance.schema import Instance

__all__ = [
    "DPI", "PLOTS", "Source", "all_figures", "capacity_by_site", "cost_breakdown", "expected",
    "family_colours", "figure_png", "grid_mw", "idle_compute", "periods_of", "power_limit_mw", "power_timeline",
    "power_vs_grid", "probabilities", "resolve",
    "save_all", "site_colours", "site_map", "system_colours", "system_mix",
]

# short name -> figure function, in the order figures are written and shown
PLOTS: dict[str, Callable[..., Figure]] = {
    "map": site_map,
    "capacity": capacity_by_site,
    "system_mix": system_mix,
    "costs": cost_breakdown,
    "power": power_vs_grid,
    "power_timeline": power_timeline,
    "idle": idle_compute,
}


def all_figures(src: Source, inst: Instance | None = None, *, scenario: str | None = None) -> dict[str, Figure]:
    """Every figure (expected values unless ``scenario``), keyed by short name; multi-scenario
    plans also get ``system_mix_by_scenario``."""
    tables, inst = resolve(src, inst)
    out = {name: fn(tables, inst, scenario=scenario) for name, fn in PLOTS.items()}
    if scenario is None and len(probabilities(tables, inst)) > 1 and len(tables["fleet"]):
        out["system_mix_by_scenario"] = system_mix(tables, inst, facet="scenario")
    return out


def save_all(src: Source, inst: Instance | None = None, out_dir: str | Path = ".", *,
             scenario: str | None = None) -> list[Path]:
    """Write every figure as ``<out_dir>/<name>.png``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fig in all_figures(src, inst, scenario=scenario).items():
        paths.append(out / f"{name}.png")
        save(fig, paths[-1])
    return paths
