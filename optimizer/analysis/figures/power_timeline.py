"""Figure: time to power — per site with IT load and per period, the energy delivered by each kind of source.

One row per site, periods along x; each period's cell is split by the share of the energy
(``power.energy_mwh``) each kind of source delivers, and the row marks the first period with IT
load and the first period with a firm grid connection (``time_to_power``), with the years the
site gained before the firm grid (:func:`optimizer.results.outcomes.time_to_power`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from optimizer.analysis.figures.data import Source, check_scenario, expected, periods_of, probabilities, resolve, scope
from optimizer.analysis.figures.style import SOURCE_COLOURS, empty, legend_right, new_figure, save, title_with_notes
from optimizer.results.format import years
from optimizer.results.outcomes import SOURCE_KINDS, time_to_power

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from optimizer.instance.schema import Instance

_FIRST, _FIRM, _ROW = "#222222", "#2b5d9b", "#f2f2f2"
FIRST_LABEL = "first period with IT load"
FIRM_LABEL = "firm grid connection from"


def power_timeline(src: Source, inst: Instance | None = None, *, scenario: str | None = None,
                   path: str | Path | None = None) -> Figure:
    """Per site with IT load: energy by kind of source in each period (the cell split by energy share), the
    first period with IT load (▶) and the first with a firm grid connection (◆, dashed line).

    Expected energy over scenarios unless ``scenario``; without one, the first period marked is the
    earliest over the scenarios (the firm grid is the same in every scenario)."""
    tables, inst = resolve(src, inst)
    probs = probabilities(tables, inst)
    check_scenario(scenario, probs)
    periods = periods_of(inst)
    title = "Time to power by site"
    pw = tables["power"]
    if len(pw) == 0:
        return save(empty(new_figure(9, 3.2), title), path)
    e = expected(pw, ["site", "kind", "period"], ["energy_mwh"], probs, scenario)
    sites = [s.id for s in inst.sites if float(e[e["site"] == s.id]["energy_mwh"].sum()) > 1e-9]
    if not sites:
        return save(empty(new_figure(9, 3.2), title, "no site draws power"), path)
    marks = _marks(tables, periods, scenario)
    fig = new_figure(max(10.0, 1.0 * len(periods) + 5.0), max(3.2, 0.62 * len(sites) + 1.9))
    ax = fig.add_subplot()
    used = set(e[e["energy_mwh"].astype(float) > 1e-9]["kind"])
    kinds = [k for k in SOURCE_KINDS if k in used] + sorted(used - set(SOURCE_KINDS))
    for i, s in enumerate(sites):
        y = len(sites) - 1 - i
        _draw_row(ax, y, periods, e[e["site"] == s], kinds, marks.get(s))
    ax.set_yticks(range(len(sites)))
    ax.set_yticklabels(sites[::-1], fontsize=9)
    ax.set_xticks(range(len(periods)))
    ax.set_xticklabels(periods, fontsize=9)
    ax.set_xlim(-0.6, len(periods) - 0.4)
    ax.set_ylim(-0.6, len(sites) - 0.4)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    handles: list[Any] = [Patch(color=SOURCE_COLOURS.get(k, "#999999")) for k in kinds]
    labels = list(kinds)
    handles += [Line2D([], [], color=_FIRST, marker=">", linestyle="none", markersize=7),
                Line2D([], [], color=_FIRM, marker="D", linestyle="--", markersize=5)]
    labels += [FIRST_LABEL + ("\n(earliest over scenarios)" if scenario is None and len(probs) > 1 else ""), FIRM_LABEL]
    legend_right(fig, handles, labels, title="share of energy by\nkind of source")
    title_with_notes(fig, title, scope(scenario, probs))
    return save(fig, path)


def _marks(tables: dict[str, Any], periods: list[str], scenario: str | None) -> dict[str, tuple[str, str | None, Any]]:
    """Site -> (first period with IT load, firm grid period, years before it): the scenario's, else the earliest."""
    out: dict[str, tuple[str, str | None, Any]] = {}
    for r in time_to_power(tables):
        if scenario is not None and r["scenario"] != scenario or r["first_period"] not in periods:
            continue
        mark = (r["first_period"], r["firm_grid_period"], r["years_before_firm_grid"])
        old = out.get(r["site"])
        if old is None or periods.index(mark[0]) < periods.index(old[0]):
            out[r["site"]] = mark
    return out


def _draw_row(ax: Axes, y: float, periods: list[str], e: Any, kinds: list[str],
              mark: tuple[str, str | None, Any] | None) -> None:
    """One site's row: a light band, each period's cell split by the energy share of each kind, the marks."""
    ax.barh(y, len(periods), left=-0.5, height=0.8, color=_ROW, linewidth=0)
    for j, p in enumerate(periods):
        cell = e[e["period"] == p].groupby("kind")["energy_mwh"].sum()
        total = float(cell.sum())
        if total <= 1e-9:
            continue
        bottom = y - 0.35
        for k in kinds:
            h = 0.7 * float(cell.get(k, 0.0)) / total
            if h > 1e-9:
                ax.bar(j, h, bottom=bottom, width=0.9, color=SOURCE_COLOURS.get(k, "#999999"), linewidth=0)
                bottom += h
    if mark is None:
        return
    first, firm, gain = mark
    ax.plot([periods.index(first) - 0.5], [y], marker=">", color=_FIRST, markersize=9, linestyle="none", zorder=5)
    if firm is not None and firm in periods:
        xf = periods.index(firm) - 0.5
        ax.vlines(xf, y - 0.42, y + 0.42, colors=_FIRM, linestyles="--", linewidth=1.4, zorder=4)
        ax.plot([xf], [y + 0.42], marker="D", color=_FIRM, markersize=5, linestyle="none", zorder=5)
    if firm is None:
        note = "no firm grid\nin the horizon"
    else:
        note = f"{years(gain)} before\nfirm grid" if gain else "firm grid by\nfirst load"
    ax.annotate(note, (len(periods) - 0.45, y), xytext=(4, 0), textcoords="offset points", ha="left", va="center",
                fontsize=8, color="#444444", annotation_clip=False)
