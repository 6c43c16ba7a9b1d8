"""Figure: discounted cost by category, stacked by period, credits below zero and the net per period."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from optimizer.analysis.figures.data import Source, check_scenario, expected, periods_of, probabilities, resolve, scope
from optimizer.analysis.figures.style import (
    COST_COLOURS,
    LABEL_BOX,
    OTHER_COLOURS,
    empty,
    legend_right,
    new_figure,
    period_axis,
    save,
    style_axes,
    title_with_notes,
)
from optimizer.results.format import money_unit, number

if TYPE_CHECKING:
    from optimizer.instance.schema import Instance


def cost_breakdown(src: Source, inst: Instance | None = None, *, scenario: str | None = None,
                   path: str | Path | None = None) -> Figure:
    """Discounted cost by category, stacked by period (expected over scenarios by default).

    Subsidies and other credits (the value of equipment left at the end of the horizon) are
    negative and stack below zero; a black dot marks each period's net cost.
    """
    tables, inst = resolve(src, inst)
    probs = probabilities(tables, inst)
    check_scenario(scenario, probs)
    periods = periods_of(inst)
    c = tables["costs"]
    title = "Discounted cost by category"
    fig = new_figure(9.5, 4.8)
    if len(c) == 0:
        return save(empty(fig, title), path)
    d = expected(c, ["category", "period"], ["discounted_usd"], probs, scenario)
    piv = d.pivot_table(index="category", columns="period", values="discounted_usd", aggfunc="sum")
    piv = piv.reindex(columns=periods).fillna(0.0)
    order = piv.abs().sum(axis=1).sort_values(ascending=False).index.tolist()
    pos_tot = piv.clip(lower=0).sum().max()
    div, unit = money_unit(max(pos_tot, piv.clip(upper=0).abs().sum().max()), inst.horizon.currency)
    ax = fig.add_subplot()
    style_axes(ax)
    x = np.arange(len(periods))
    up = np.zeros(len(periods))
    down = np.zeros(len(periods))
    handles: list[Any] = []
    labels: list[str] = []
    extra = iter(OTHER_COLOURS)
    for cat in order:
        vals = piv.loc[cat].to_numpy(dtype=float) / div
        pos, neg = np.clip(vals, 0, None), np.clip(vals, None, 0)
        colour = COST_COLOURS.get(cat) or next(extra, "#999999")
        hatch = "//" if vals.sum() < 0 else None
        h = None
        if pos.any():
            h = ax.bar(x, pos, bottom=up, width=0.62, color=colour, edgecolor="white", linewidth=0.5)
            up += pos
        if neg.any():
            h = ax.bar(x, neg, bottom=down, width=0.62, color=colour, edgecolor="white", linewidth=0.5, hatch=hatch)
            down += neg
        if h is not None:
            handles.append(h)
            labels.append(f"{cat.replace('_', ' ')} ({number(piv.loc[cat].sum() / div, 3)})")
    net = up + down
    hn = ax.scatter(x, net, color="black", zorder=5, s=18)
    ax.hlines(net, x - 0.31, x + 0.31, color="black", linewidth=1.0, zorder=5)
    for xi, n in zip(x, net, strict=True):  # the net value beside its dot
        ax.annotate(number(n, 3), (xi + 0.31, n), xytext=(3, 0), textcoords="offset points", ha="left", va="center",
                    fontsize=8.5, bbox=LABEL_BOX, zorder=6)
    if down.min() < 0:
        ax.axhline(0, color="#444444", linewidth=0.8)
    period_axis(ax, periods)
    ax.set_ylabel(f"discounted cost ({unit})")
    ax.set_ylim(min(0, down.min() * 1.15), max(up.max(), 1e-9) * 1.12)
    handles.append(hn)
    labels.append(f"net per period (total {number(float(net.sum()), 3)})")
    legend_right(fig, handles, labels, title=f"category (total, {unit})")
    title_with_notes(fig, title, scope(scenario, probs))
    return save(fig, path)
