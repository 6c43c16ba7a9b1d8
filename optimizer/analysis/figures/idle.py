"""Figure: installed compute split into training, inference and idle, and the idle share per site and period."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from optimizer.analysis.figures.data import (
    Source,
    check_scenario,
    compute_split,
    expected,
    periods_of,
    probabilities,
    resolve,
    scope,
)
from optimizer.analysis.figures.style import (
    empty,
    new_figure,
    period_axis,
    pflops_unit,
    save,
    style_axes,
    title_with_notes,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.image import AxesImage

    from optimizer.instance.schema import Instance


def idle_compute(src: Source, inst: Instance | None = None, *, scenario: str | None = None,
                 path: str | Path | None = None) -> Figure:
    """Installed compute split into training, inference and idle (left) and idle % by site and period (right).

    Units of different systems are made comparable by their nominal training PFLOPS (inference
    PFLOPS for inference-only systems), the same measure domestic-share targets use.
    """
    tables, inst = resolve(src, inst)
    probs = probabilities(tables, inst)
    check_scenario(scenario, probs)
    periods = periods_of(inst)
    title = "Installed compute: busy and idle"
    if len(tables["compute_use"]) == 0:
        return save(empty(new_figure(11, 4.6), title), path)
    cu = compute_split(tables, inst)
    tot = expected(cu, ["period"], ["installed", "training", "inference", "idle"], probs, scenario)
    tot = tot.set_index("period").reindex(periods).fillna(0.0)
    by_site = expected(cu, ["site", "period"], ["installed", "idle"], probs, scenario)
    sites = [s.id for s in inst.sites if s.id in set(by_site["site"])]
    fig = new_figure(11.5, max(4.4, 1.6 + 0.34 * (len(sites) + 1)))
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1.1, 1])
    _bars(ax, tot, periods)
    im = _heat_map(ax2, tot, by_site, sites, periods)
    cb = fig.colorbar(im, ax=ax2, fraction=0.05, pad=0.02)
    cb.set_label("idle %", fontsize=8.5)
    cb.ax.tick_params(labelsize=8)
    title_with_notes(fig, title, scope(scenario, probs))
    return save(fig, path)


def _bars(ax: Axes, tot: pd.DataFrame, periods: list[str]) -> None:
    """Installed compute per period stacked by use, with the idle share on top."""
    style_axes(ax)
    div, unit = pflops_unit(tot["installed"].max())
    x = np.arange(len(periods))
    bottom = np.zeros(len(periods))
    parts = [("training", "#4c72b0", "training"), ("inference", "#55a868", "inference"), ("idle", "#c8c8c8", "idle")]
    handles = []
    for colname, colour, lab in parts:
        vals = tot[colname].to_numpy(dtype=float) / div
        handles.append(ax.bar(x, vals, bottom=bottom, width=0.62, color=colour, label=lab))
        bottom += vals
    for xi, inst_v, idle_v in zip(x, tot["installed"], tot["idle"], strict=True):
        if inst_v > 0:
            ax.annotate(f"{100 * idle_v / inst_v:.0f}% idle", (xi, inst_v / div), xytext=(0, 3), textcoords="offset points",
                        ha="center", va="bottom", fontsize=8)
    period_axis(ax, periods)
    ax.set_ylim(0, max(bottom.max(), 1e-9) * 1.14)
    ax.set_ylabel(f"nominal compute ({unit})")
    ax.set_title("installed compute by use", fontsize=10)
    ax.legend(handles=handles[::-1], frameon=False, fontsize=8.5, loc="upper left")


def _heat_map(ax2: Axes, tot: pd.DataFrame, by_site: pd.DataFrame, sites: list[str], periods: list[str]) -> AxesImage:
    """Idle share of installed compute: rows = sites and all sites, columns = periods; returns the image."""
    rows = sites + ["all sites"]
    grid = np.full((len(rows), len(periods)), np.nan)
    for i, s in enumerate(sites):
        dd = by_site[by_site["site"] == s].set_index("period").reindex(periods)
        ok = dd["installed"] > 1e-9
        grid[i] = np.where(ok, 100 * dd["idle"] / dd["installed"].where(ok, 1.0), np.nan)
    ok = tot["installed"] > 1e-9
    grid[-1] = np.where(ok, 100 * tot["idle"] / tot["installed"].where(ok, 1.0), np.nan)
    im = ax2.imshow(np.ma.masked_invalid(grid), cmap="Greys", vmin=0, vmax=100, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(periods)):
            val = grid[i, j]
            if np.isnan(val):
                ax2.text(j, i, "–", ha="center", va="center", fontsize=8, color="#aaaaaa")
            else:
                ax2.text(j, i, f"{val:.0f}%", ha="center", va="center", fontsize=8,
                         color="white" if val > 55 else "black", fontweight="bold" if i == len(rows) - 1 else None)
    ax2.set_xticks(range(len(periods)))
    ax2.set_xticklabels(periods)
    ax2.set_yticks(range(len(rows)))
    ax2.set_yticklabels(rows, fontsize=8.5)
    ax2.get_yticklabels()[-1].set_fontweight("bold")
    ax2.axhline(len(rows) - 1.5, color="black", linewidth=1.0)
    ax2.tick_params(length=0)
    for sp_ in ax2.spines.values():
        sp_.set_visible(False)
    ax2.set_title("idle share of installed compute (–: none installed)", fontsize=10)
    return im
