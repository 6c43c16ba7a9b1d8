"""Figure: per built site and period, power drawn, redundancy headroom, the power limit and the firm grid."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from optimizer.analysis.figures.data import (
    Source,
    check_scenario,
    expected,
    grid_mw,
    periods_of,
    power_limit_mw,
    probabilities,
    resolve,
    scope,
)
from optimizer.analysis.figures.style import empty, legend_right, new_figure, save, style_axes, title_with_notes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from optimizer.instance.schema import Instance

_USED, _HELD, _LIMIT, _FIRM = "#dd8452", "#f3c9a8", "#333333", "#2b5d9b"
LIMIT_LABEL = "power limit\n(firm + flexible grid\n+ on-site generation)"
FIRM_LABEL = "firm grid connection"


def power_vs_grid(src: Source, inst: Instance | None = None, *, scenario: str | None = None,
                  path: str | Path | None = None) -> Figure:
    """Per site and period: power drawn, grid held back for redundancy, the power limit and the firm grid.

    The bar is ``site_power.grid_drawn_mw`` (facility power less on-site generation) topped by the
    hatched headroom the redundancy rule (N+1, 2N) keeps unused, up to ``grid_capacity_held_mw``;
    the solid line is ``site_power.power_limit_mw`` (firm grid + flexible grid MW in their term +
    on-site generation kept), which the grid limit bounds ``grid_capacity_held_mw`` by, and the
    percentage is ``grid_held_pct`` (held / power limit). Where the limit differs from the firm
    connection (``grid_mw``), that is a second, dashed line. Sites never built are left out;
    periods before a site is built (no ``site_power`` row) show no line.
    """
    tables, inst = resolve(src, inst)
    probs = probabilities(tables, inst)
    check_scenario(scenario, probs)
    periods = periods_of(inst)
    sp = tables["site_power"]
    title = "Power drawn vs power limit by site"
    if len(sp) == 0:
        return save(empty(new_figure(9, 4), title), path)
    d = expected(sp, ["site", "period"], ["grid_drawn_mw", "grid_capacity_held_mw"], probs, scenario)
    built = sp.groupby("site")["built_it_mw"].max()
    grid, limit = grid_mw(tables), power_limit_mw(tables)
    sites = [s.id for s in inst.sites if built.get(s.id, 0.0) > 1e-6 or d[d["site"] == s.id]["grid_drawn_mw"].sum() > 1e-6]
    if not sites:
        return save(empty(new_figure(9, 4), title, "no site is built"), path)
    n = len(sites)
    ncol = n if n <= 4 else (3 if n in (5, 6, 9) else 4)
    nrow = math.ceil(n / ncol)
    fig = new_figure(max(8.0, 2.55 * ncol + 2.5), 2.45 * nrow + 0.7)
    axes = fig.subplots(nrow, ncol, squeeze=False)
    firm_differs = False
    for i, s in enumerate(sites):
        ax = axes[i // ncol][i % ncol]
        dd = d[d["site"] == s].set_index("period")[["grid_drawn_mw", "grid_capacity_held_mw"]].reindex(periods).fillna(0.0)
        g = np.array([grid.get((s, p), 0.0) for p in periods], dtype=float)
        lim = np.array([limit.get((s, p), grid.get((s, p), 0.0)) for p in periods], dtype=float)
        _draw_site(ax, s, periods, dd["grid_drawn_mw"].to_numpy(dtype=float),
                   dd["grid_capacity_held_mw"].to_numpy(dtype=float), lim, g)
        firm_differs = firm_differs or bool(np.any((np.abs(lim - g) > 1e-6) & (g > 0)))
        if i % ncol == 0:
            ax.set_ylabel("MW", fontsize=9)
    for j in range(n, nrow * ncol):
        axes[j // ncol][j % ncol].set_axis_off()
    handles = [Patch(color=_USED), Patch(facecolor=_HELD, hatch="///", edgecolor="#e0a070"),
               Line2D([], [], color=_LIMIT, linewidth=2)]
    labels = ["power drawn from the grid\n(IT load × PUE − on-site)", "grid held back for\nredundancy (N+1, 2N)",
              LIMIT_LABEL]
    if firm_differs:
        handles.append(Line2D([], [], color=_FIRM, linewidth=1.6, linestyle="--"))
        labels.append(FIRM_LABEL)
    legend_right(fig, handles, labels, title="% above a bar: share\nof the power limit\nheld (drawn + headroom)",
                 title_fontsize=8.5)
    title_with_notes(fig, title, scope(scenario, probs))
    return save(fig, path)


def _draw_site(ax: Axes, site: str, periods: list[str], fac: np.ndarray, held: np.ndarray, g: np.ndarray,
               firm: np.ndarray) -> None:
    """One site's panel: power drawn, headroom held back (hatched), the power limit ``g`` (solid), the firm grid
    (dashed, where it differs from the limit) and the share of the limit held."""
    style_axes(ax)
    x = np.arange(len(periods))
    res = np.clip(held - fac, 0, None)
    ax.bar(x, fac, width=0.62, color=_USED)
    ax.bar(x, res, bottom=fac, width=0.62, color=_HELD, hatch="///", edgecolor="#e0a070", linewidth=0)
    ax.hlines(np.where(g > 0, g, np.nan), x - 0.42, x + 0.42, color=_LIMIT, linewidth=2.0)
    apart = (np.abs(firm - g) > 1e-6) & (firm > 0)
    ax.hlines(np.where(apart, firm, np.nan), x - 0.42, x + 0.42, color=_FIRM, linewidth=1.6, linestyles="--")
    top = max(float(np.max(g)), float(np.max(firm)), float(np.max(fac + res)), 1.0)
    ax.set_ylim(0, top * 1.16)
    for xi, gi, di in zip(x, g, fac + res, strict=True):
        if gi > 0 and di > 1e-6:
            # above the bar, or above the grid line when the bar nearly reaches it
            y = gi if di > gi - 0.1 * top else di
            ax.annotate(f"{100 * di / gi:.0f}%", (xi, y), xytext=(0, 3), textcoords="offset points", ha="center",
                        va="bottom", fontsize=7, color="#444444")
    ax.set_title(site, fontsize=9.5)
    # the x range of grid lines in every period, whether or not the table has one before the site is built
    margin = 0.05 * (len(periods) - 1 + 0.84)
    ax.set_xlim(-0.42 - margin, len(periods) - 1 + 0.42 + margin)
    ax.set_xticks(x)
    ax.set_xticklabels(periods, fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
