"""Figure: systems in service by jurisdiction (or by scenario), stacked by system, coloured by family."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from optimizer.analysis.figures.data import Source, check_scenario, expected, periods_of, probabilities, resolve, scope
from optimizer.analysis.figures.style import (
    empty,
    new_figure,
    pflops_unit,
    save,
    style_axes,
    system_colours,
    title_with_notes,
)
from optimizer.results.format import number

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from optimizer.instance.schema import Instance

# metric -> (fleet column, what it measures)
_METRICS = {
    "units": ("units_in_service", "units in service"),
    "training_pflops": ("training_pflops", "effective training compute"),
    "inference_pflops": ("inference_pflops", "inference compute"),
    "mw": ("nameplate_mw", "nameplate IT power (MW)"),
}


class _Panels(NamedTuple):
    """What to draw: values ``d`` of ``col`` by panel key ``pkey`` and x category ``xkey``."""

    d: pd.DataFrame
    panels: list[str]
    xcats: list[str]
    xkey: str
    pkey: str
    subtitle: str


def system_mix(src: Source, inst: Instance | None = None, *, metric: str = "training_pflops", periods: str | list[str] = "all",
               facet: str = "jurisdiction", scenario: str | None = None, path: str | Path | None = None) -> Figure:
    """Systems in service by jurisdiction of the site, stacked by system and coloured by family.

    ``metric``: ``training_pflops`` (effective: nominal × family efficiency), ``inference_pflops``,
    ``units`` or ``mw`` (nameplate). ``periods``: ``"all"``, ``"last"`` or a list.
    ``facet="jurisdiction"``: one panel per jurisdiction, periods on the x axis;
    ``facet="scenario"``: one panel per scenario, jurisdictions on the x axis (last period
    unless ``periods`` names one).
    """
    tables, inst = resolve(src, inst)
    probs = probabilities(tables, inst)
    check_scenario(scenario, probs)
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {', '.join(_METRICS)}")
    if facet not in ("jurisdiction", "scenario"):
        raise ValueError("facet must be 'jurisdiction' or 'scenario'")
    col, what = _METRICS[metric]
    fl = tables["fleet"]
    title = "System mix by jurisdiction"
    if len(fl) == 0 or fl[col].abs().sum() == 0:
        return save(empty(new_figure(9, 4), title), path)
    jur = {s.id: s.jurisdiction for s in inst.sites}
    fl = fl.assign(jurisdiction=fl["site"].map(jur))
    pan = _panels(fl, inst, col, what, _periods(inst, periods), facet, probs, scenario)
    vmax = pan.d.groupby([pan.pkey, pan.xkey])[col].sum().max() if len(pan.d) else 1.0
    if metric in ("training_pflops", "inference_pflops"):
        div, unit = pflops_unit(vmax)
        ylabel = f"{what} ({unit})"
    else:
        div, ylabel = 1.0, what
    n = max(1, len(pan.panels))
    ncol = n if n <= 3 else (2 if n == 4 else 3)
    nrow = math.ceil(n / ncol)
    fig = new_figure(max(7.5, 3.6 * ncol + 0.8), 3.1 * nrow + 1.3)
    # scenarios are compared on one scale; jurisdictions differ in size by orders of magnitude
    axes = fig.subplots(nrow, ncol, squeeze=False, sharey=(facet == "scenario"))
    scolour = system_colours(inst)
    sys_order = [k.id for k in inst.systems if k.id in set(fl["system"])]
    used: set[str] = set()
    for i, p in enumerate(pan.panels):
        ax = axes[i // ncol][i % ncol]
        used |= _draw_panel(ax, pan, p, col, div, sys_order, scolour)
        ax.set_title(p if facet == "jurisdiction" else f"{p} (p = {probs.get(p, 0):.2f})", fontsize=10)
        if i % ncol == 0:
            ax.set_ylabel(ylabel, fontsize=9)
        if facet == "scenario":
            ax.set_ylim(0, vmax / div * 1.12)
    for j in range(len(pan.panels), nrow * ncol):
        axes[j // ncol][j % ncol].set_axis_off()
    fams = {k.id: k.family for k in inst.systems}
    handles = [Patch(color=scolour[k]) for k in sys_order if k in used]
    labels = [f"{k} ({fams[k]})" for k in sys_order if k in used]
    fig.legend(handles, labels, loc="outside lower center", frameon=False, fontsize=8.5, title="system (family), bottom to top",
               title_fontsize=9, ncol=min(len(handles), 4))
    title_with_notes(fig, title, pan.subtitle)
    return save(fig, path)


def _periods(inst: Instance, periods: str | list[str]) -> list[str]:
    all_p = periods_of(inst)
    if periods == "all":
        return all_p
    if periods == "last":
        return all_p[-1:]
    return [str(p) for p in periods]


def _panels(fl: pd.DataFrame, inst: Instance, col: str, what: str, ps: list[str], facet: str,
            probs: dict[str, float], scenario: str | None) -> _Panels:
    """The values to draw, per scenario (facet ``scenario``) or per jurisdiction."""
    jur_order = [j.id for j in inst.jurisdictions if j.id in set(fl["jurisdiction"])]
    if facet == "scenario":
        p_sel = ps[-1]
        d = fl[fl["period"] == p_sel].groupby(["scenario", "jurisdiction", "system"], as_index=False)[[col]].sum()
        return _Panels(d, list(probs), jur_order, "jurisdiction", "scenario", f"{what} in {p_sel}, by scenario")
    d = expected(fl[fl["period"].isin(ps)], ["jurisdiction", "period", "system"], [col], probs, scenario)
    panels = [j for j in jur_order if d[d["jurisdiction"] == j][col].abs().sum() > 0]
    sc = scope(scenario, probs)
    return _Panels(d, panels, ps, "period", "jurisdiction", what + ("; " + sc if sc else ""))


def _draw_panel(ax: Axes, pan: _Panels, key: str, col: str, div: float, sys_order: list[str],
                scolour: dict[str, str]) -> set[str]:
    """Stacked bars of one panel, totals on top; returns the systems drawn."""
    style_axes(ax)
    dd = pan.d[pan.d[pan.pkey] == key]
    xcats = pan.xcats
    x = np.arange(len(xcats))
    bottom = np.zeros(len(xcats))
    used = set()
    for k in sys_order:
        vals = dd[dd["system"] == k].set_index(pan.xkey)[col].reindex(xcats).fillna(0.0).to_numpy(dtype=float) / div
        if vals.sum() <= 0:
            continue
        used.add(k)
        ax.bar(x, vals, bottom=bottom, width=0.66, color=scolour[k], edgecolor="white", linewidth=0.5)
        bottom += vals
    ax.set_xticks(x)
    ax.set_xticklabels(xcats, rotation=0 if len(xcats) <= 5 else 45, ha="center" if len(xcats) <= 5 else "right",
                       fontsize=8.5)
    ax.set_xlim(-0.6, len(xcats) - 0.4)
    top = bottom.max()
    ax.set_ylim(0, top * 1.12 if top > 0 else 1)
    for xi, tot in zip(x, bottom, strict=True):
        if tot > 0:
            ax.text(float(xi), tot, number(tot, 3), ha="center", va="bottom", fontsize=7.5, color="#333333")
    return used
