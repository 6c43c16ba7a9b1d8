"""Figure: installed systems (nameplate MW) split into training, inference and idle, and idle systems per site and period.

MW-weighted, as every idle share dcplan shows (:mod:`optimizer.results.outcomes`): a unit weighs its
nameplate IT power; built IT MW is drawn as a line, so the gap above the busy part is the idle capacity."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from optimizer.analysis.figures.data import (
    Source,
    check_scenario,
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
    save,
    style_axes,
    title_with_notes,
)
from optimizer.results.outcomes import IDLE_SYSTEMS, idle_by, idle_capacity_pct, idle_systems_pct

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.image import AxesImage

    from optimizer.instance.schema import Instance


def idle_compute(src: Source, inst: Instance | None = None, *, scenario: str | None = None,
                 path: str | Path | None = None) -> Figure:
    """Nameplate MW of the installed systems split into training, inference and idle, with built IT MW (left),
    and idle systems % by site and period (right).

    MW-weighted (:mod:`optimizer.results.outcomes`): idle systems = nameplate MW of installed
    units doing no work / nameplate MW installed; the gap between built IT MW and the busy part
    is the idle capacity.
    """
    tables, inst = resolve(src, inst)
    probs = probabilities(tables, inst)
    check_scenario(scenario, probs)
    periods = periods_of(inst)
    title = "Installed systems: busy and idle (nameplate MW)"
    if len(tables["compute_use"]) == 0:
        return save(empty(new_figure(11, 4.6), title), path)
    cols = ["built_mw", "installed_mw", "training_mw", "inference_mw", "idle_mw", "busy_mw"]
    by = idle_by(tables, inst, ["site", "period", "scenario"])
    tot = expected(by, ["period"], cols, probs, scenario)
    tot = tot.set_index("period").reindex(periods).fillna(0.0)
    by_site = expected(by, ["site", "period"], ["installed_mw", "idle_mw"], probs, scenario)
    sites = [s.id for s in inst.sites if s.id in set(by_site["site"])]
    fig = new_figure(11.5, max(4.4, 1.6 + 0.34 * (len(sites) + 1)))
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1.1, 1])
    _bars(ax, tot, periods)
    im = _heat_map(ax2, tot, by_site, sites, periods)
    cb = fig.colorbar(im, ax=ax2, fraction=0.05, pad=0.02)
    cb.set_label(f"{IDLE_SYSTEMS} %", fontsize=8.5)
    cb.ax.tick_params(labelsize=8)
    title_with_notes(fig, title, scope(scenario, probs))
    return save(fig, path)


def _bars(ax: Axes, tot: pd.DataFrame, periods: list[str]) -> None:
    """Nameplate MW installed per period stacked by use, built IT MW as a line, idle systems % on top."""
    style_axes(ax)
    x = np.arange(len(periods))
    bottom = np.zeros(len(periods))
    parts = [("training_mw", "#4c72b0", "busy: training"), ("inference_mw", "#55a868", "busy: inference"),
             ("idle_mw", "#c8c8c8", "idle systems")]
    handles: list[object] = []
    for colname, colour, lab in parts:
        vals = tot[colname].to_numpy(dtype=float)
        handles.append(ax.bar(x, vals, bottom=bottom, width=0.62, color=colour, label=lab))
        bottom += vals
    built = tot["built_mw"].to_numpy(dtype=float)
    handles.append(ax.hlines(np.where(built > 0, built, np.nan), x - 0.42, x + 0.42, color="#333333", linewidth=2.0,
                             label="built IT MW (idle capacity: the gap above the busy part)"))
    for xi, inst_v, idle_v, built_v in zip(x, tot["installed_mw"], tot["idle_mw"], built, strict=True):
        if inst_v > 0:  # above the bar, or above the built line when it is close
            y = built_v if abs(built_v - inst_v) < 0.06 * max(float(np.max(built)), inst_v) else inst_v
            ax.annotate(f"{idle_systems_pct(idle_v, inst_v):.0f}% idle", (xi, max(y, inst_v)), xytext=(0, 3),
                        textcoords="offset points", ha="center", va="bottom", fontsize=8)
    period_axis(ax, periods)
    ax.set_ylim(0, max(bottom.max(), float(np.max(built)) if len(built) else 0.0, 1e-9) * 1.22)
    ax.set_ylabel("nameplate IT power (MW)")
    caps = [f"{p} {idle_capacity_pct(b, z):.0f}%" for p, b, z in zip(periods, tot["built_mw"], tot["busy_mw"], strict=True)
            if b > 0]
    ax.set_title("installed systems by use; idle capacity " + ", ".join(caps), fontsize=9)
    ax.legend(handles=handles[::-1], frameon=False, fontsize=8, loc="upper left")


def _heat_map(ax2: Axes, tot: pd.DataFrame, by_site: pd.DataFrame, sites: list[str], periods: list[str]) -> AxesImage:
    """Idle systems % (MW-weighted): rows = sites and all sites, columns = periods; returns the image."""
    rows = sites + ["all sites"]
    grid = np.full((len(rows), len(periods)), np.nan)
    for i, s in enumerate(sites):
        dd = by_site[by_site["site"] == s].set_index("period")[["idle_mw", "installed_mw"]].reindex(periods).fillna(0.0)
        grid[i] = [idle_systems_pct(a, n) if n > 1e-9 else np.nan for a, n in zip(dd["idle_mw"], dd["installed_mw"])]
    grid[-1] = [idle_systems_pct(i, n) if n > 1e-9 else np.nan for i, n in zip(tot["idle_mw"], tot["installed_mw"])]
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
    ax2.set_title(f"{IDLE_SYSTEMS}: idle / installed nameplate MW (–: none installed)", fontsize=9.5)
    return im
