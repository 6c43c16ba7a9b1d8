"""Figure: IT capacity online by site and period, with installed nameplate and IT load."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from optimizer.analysis.figures.data import Source, check_scenario, expected, periods_of, probabilities, resolve, scope
from optimizer.analysis.figures.style import (
    LABEL_BOX,
    empty,
    legend_right,
    new_figure,
    period_axis,
    save,
    site_colours,
    style_axes,
    title_with_notes,
)

if TYPE_CHECKING:
    from optimizer.instance.schema import Instance


def capacity_by_site(src: Source, inst: Instance | None = None, *, scenario: str | None = None,
                     path: str | Path | None = None) -> Figure:
    """IT capacity online by site and period (stacked bars), with installed nameplate and IT load as lines."""
    tables, inst = resolve(src, inst)
    probs = probabilities(tables, inst)
    check_scenario(scenario, probs)
    periods = periods_of(inst)
    title = "IT capacity online by site"
    fig = new_figure(9.5, 4.8)
    sp = tables["site_power"]
    if len(sp) == 0:
        return save(empty(fig, title), path)
    # capacity is first-stage: the same in every scenario
    cap = sp.groupby(["site", "period"])["built_it_mw"].max().unstack("period").reindex(columns=periods).fillna(0.0)
    order = [s.id for s in inst.sites if s.id in cap.index and cap.loc[s.id].max() > 1e-6]
    cap = cap.loc[order]
    load = expected(sp, ["period"], ["it_load_mw", "nameplate_it_mw"], probs, scenario)
    load = load.set_index("period").reindex(periods).fillna(0.0)
    ax = fig.add_subplot()
    style_axes(ax)
    colours = site_colours(inst)
    x = np.arange(len(periods))
    bottom = np.zeros(len(periods))
    handles: list[Any] = []
    labels: list[str] = []
    kinds = {s.id: s.kind for s in inst.sites}
    for s in order:
        vals = cap.loc[s].to_numpy(dtype=float)
        hatch = "///" if kinds.get(s) == "greenfield" else None  # greenfield hatched, converted/existing solid
        h = ax.bar(x, vals, bottom=bottom, width=0.62, color=colours[s], edgecolor="white", linewidth=0.6, hatch=hatch)
        bottom += vals
        handles.append(h)
        labels.append(f"{s} ({kinds.get(s, '?')})")
    for xi, tot in zip(x, bottom, strict=True):
        if tot > 0:
            ax.annotate(f"{tot:,.0f}", (xi, tot), xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                        fontsize=8.5, color="#333333", zorder=6, bbox=LABEL_BOX)
    h1, = ax.plot(x, load["nameplate_it_mw"].to_numpy(), color="#222222", linestyle="--", marker="o", markersize=4,
                  linewidth=1.3, zorder=4)
    h2, = ax.plot(x, load["it_load_mw"].to_numpy(), color="#222222", marker="s", markersize=4, linewidth=1.6, zorder=4)
    period_axis(ax, periods)
    ax.set_ylabel("IT capacity (MW)")
    ax.set_ylim(0, max(bottom.max(), load.to_numpy().max(), 1) * 1.15)
    legend_right(fig, handles[::-1] + [h1, h2], labels[::-1] + ["systems installed (nameplate MW)", "IT load (MW)"],
                 title="site (kind)")
    title_with_notes(fig, title, scope(scenario, probs))
    return save(fig, path)
