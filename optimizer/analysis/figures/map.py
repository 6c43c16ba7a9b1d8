"""Figure: sites, demand regions and inference routes on plain lon/lat axes (no basemap, no network).

Labels are placed greedily in display space so they avoid each other, the markers and the
routes (:func:`_place_labels`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from optimizer.analysis.figures.data import Source, check_scenario, expected, periods_of, probabilities, resolve, scope
from optimizer.analysis.figures.style import family_colours, new_figure, pflops_unit, save

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from optimizer.instance.schema import Instance

Box = tuple[float, float, float, float]
Segment = tuple[float, float, float, float, float]  # x0, y0, x1, y1, width in points
Place = tuple[float, float, Literal["left", "center", "right"], Literal["bottom", "center", "top"]]


def site_map(src: Source, inst: Instance | None = None, *, period: str | None = None, scenario: str | None = None,
             graticule: bool = True, path: str | Path | None = None) -> Figure:
    """Sites, demand regions and inference routes on plain lon/lat axes (no basemap, no network).

    Site marker area ∝ IT MW online in ``period`` (default: the last period); colour = the
    family with the most installed nameplate MW there (grey: built but empty; hollow: a
    candidate not built). Regions are triangles sized by demand; lines are inference routes,
    width ∝ PFLOPS served. Expected over scenarios unless ``scenario`` is given. The axes are
    plain longitude/latitude with a light graticule; x is stretched by 1/cos(mid latitude) so
    distances look right. No coastlines: none ship offline with matplotlib.
    """
    tables, inst = resolve(src, inst)
    probs = probabilities(tables, inst)
    check_scenario(scenario, probs)
    periods = periods_of(inst)
    p = str(period) if period is not None else periods[-1]
    if p not in periods:
        raise ValueError(f"unknown period '{p}'; periods: {', '.join(periods)}")
    fig, ax = _frame(inst, graticule)
    sp = tables["site_power"]
    built = sp[sp["period"] == p].groupby("site")["built_it_mw"].max() if len(sp) else pd.Series(dtype=float)
    fl = tables["fleet"]
    fam_mw = expected(fl[fl["period"] == p], ["site", "family"], ["nameplate_mw"], probs, scenario) if len(fl) else \
        pd.DataFrame(columns=["site", "family", "nameplate_mw"])
    dominant: dict[str, str] = {}
    for s, g in fam_mw.groupby("site"):
        g = g[g["nameplate_mw"] > 1e-9]
        if len(g):
            dominant[str(s)] = str(g.sort_values("nameplate_mw").iloc[-1]["family"])
    fcol = family_colours(inst)
    inf = tables["inference"]
    routes = expected(inf[inf["period"] == p], ["region", "site"], ["pflops"], probs, scenario) if len(inf) else \
        pd.DataFrame(columns=["region", "site", "pflops"])
    routes = routes[routes["pflops"] > 1e-6]
    rmax = routes["pflops"].max() if len(routes) else 1.0
    segs = _draw_routes(ax, inst, routes, rmax)
    mw_max = max(float(built.max()) if len(built) else 0.0, 1.0)
    items = _draw_sites(ax, inst, built, dominant, fcol, mw_max)
    dem: dict[str, float] = {}
    if inst.regions and len(tables["demand"]):
        dm = tables["demand"]
        dm = expected(dm[dm["period"] == p], ["region"], ["demand_pflops"], probs, scenario)
        dem = {str(g): float(x) for g, x in zip(dm["region"], dm["demand_pflops"], strict=True)}
    items += _draw_regions(ax, inst, dem)
    items.sort(key=lambda it: it.get("low", False))  # candidates not built are labelled last
    _legend(fig, inst, built, dominant, fcol, len(routes) > 0, rmax, mw_max)
    sc = scope(scenario, probs)
    ax.set_title(f"Sites, demand and inference routes in {p}" + (f" ({sc})" if sc else ""), fontweight="bold", fontsize=11)
    _place_labels(fig, ax, items, segs)
    return save(fig, path)


class _Extent(NamedTuple):
    lon0: float
    lon1: float
    lat0: float
    lat1: float
    aspect: float  # x stretch: 1 / cos(mid latitude)


def _extent(inst: Instance) -> _Extent:
    """The lon/lat range around every site and region, padded."""
    lons = [s.lon for s in inst.sites] + [g.lon for g in inst.regions]
    lats = [s.lat for s in inst.sites] + [g.lat for g in inst.regions]
    span_lon = max(max(lons) - min(lons), 3.0)
    span_lat = max(max(lats) - min(lats), 2.0)
    pad_lon, pad_lat = 0.10 * span_lon + 1.0, 0.12 * span_lat + 1.0
    lat0, lat1 = max(-89.0, min(lats) - pad_lat), min(89.0, max(lats) + pad_lat)
    aspect = 1.0 / max(0.25, math.cos(math.radians(0.5 * (lat0 + lat1))))
    return _Extent(min(lons) - pad_lon, max(lons) + pad_lon, lat0, lat1, aspect)


def _frame(inst: Instance, graticule: bool) -> tuple[Figure, Axes]:
    """Figure and lon/lat axes sized to the extent, with a light graticule."""
    e = _extent(inst)
    data_w, data_h = (e.lon1 - e.lon0), (e.lat1 - e.lat0) * e.aspect
    axes_w = 6.6
    axes_h = min(5.6, max(3.4, axes_w * data_h / data_w))
    fig = new_figure(axes_w + 3.2, axes_h + 1.3)
    ax = fig.add_subplot()
    ax.set_facecolor("#f4f7fa")
    # fill the axes: the lon/lat range widens to the axes' shape instead of leaving margins
    ax.update_datalim([(e.lon0, e.lat0), (e.lon1, e.lat1)])
    ax.margins(0)
    ax.set_aspect(e.aspect, adjustable="datalim")
    if graticule:
        step = next(s for s in (1, 2, 5, 10, 15, 30, 60) if max(e.lon1 - e.lon0, e.lat1 - e.lat0) / s <= 10)
        lines = [[(float(lo), -90.0), (float(lo), 90.0)] for lo in np.arange(-180, 181, step)]
        lines += [[(-180.0, float(la)), (180.0, float(la))] for la in np.arange(-90, 91, step)]
        ax.add_collection(LineCollection(lines, colors="#dde3ea", linewidths=0.6, zorder=0), autolim=False)
    ax.set_xlabel("longitude (°)")
    ax.set_ylabel("latitude (°)")
    ax.tick_params(labelsize=8.5)
    for sp_ in ax.spines.values():
        sp_.set_color("#bbbbbb")
    return fig, ax


def _draw_routes(ax: Axes, inst: Instance, routes: pd.DataFrame, rmax: float) -> list[Segment]:
    """Inference routes as lines, width ∝ PFLOPS served; returns the segments for label placement."""
    sites = {s.id: s for s in inst.sites}
    regions = {g.id: g for g in inst.regions}
    segs = []
    for region, site, pflops in zip(routes["region"], routes["site"], routes["pflops"], strict=True):
        g, s = regions.get(str(region)), sites.get(str(site))
        if g is None or s is None:
            continue
        w = 0.8 + 5.5 * float(pflops) / rmax
        ax.plot([g.lon, s.lon], [g.lat, s.lat], color="#4c72b0", alpha=0.5, linewidth=w, solid_capstyle="round", zorder=2)
        segs.append((g.lon, g.lat, s.lon, s.lat, w))
    return segs


def _draw_sites(ax: Axes, inst: Instance, built: pd.Series, dominant: dict[str, str], fcol: dict[str, str],
                mw_max: float) -> list[dict[str, Any]]:
    """Site markers (area ∝ IT MW online, hollow if not built); returns their labels."""
    items: list[dict[str, Any]] = []
    for s in sorted(inst.sites, key=lambda s: -float(built.get(s.id, 0.0))):
        mw = float(built.get(s.id, 0.0))
        if mw > 1e-6:
            colour = fcol.get(dominant.get(s.id, ""), "#9e9e9e")
            size = 50 + 1000 * mw / mw_max
            ax.scatter(s.lon, s.lat, s=size, color=colour, alpha=0.8, edgecolor="white", linewidth=1.0, zorder=4)
            items.append({"x": s.lon, "y": s.lat, "text": f"{s.id} {mw:,.0f} MW", "r": math.sqrt(size) / 2,
                          "style": {"color": "#111111", "fontsize": 8}})
        else:
            ax.scatter(s.lon, s.lat, s=40, facecolor="none", edgecolor="#888888", linewidth=1.0, zorder=4)
            items.append({"x": s.lon, "y": s.lat, "text": s.id, "r": 3.2, "style": {"color": "#888888", "fontsize": 7.5},
                          "low": True})
    return items


def _draw_regions(ax: Axes, inst: Instance, dem: dict[str, float]) -> list[dict[str, Any]]:
    """Demand regions as triangles sized by demand; returns their labels."""
    dmax = max(list(dem.values()) + [1e-9])
    items = []
    for g in inst.regions:
        size = 30 + 200 * dem.get(g.id, 0.0) / dmax
        ax.scatter(g.lon, g.lat, s=size, marker="^", color="#333333", alpha=0.85, zorder=5, edgecolor="white", linewidth=0.8)
        items.append({"x": g.lon, "y": g.lat, "text": g.id, "r": math.sqrt(size) / 2,
                      "style": {"color": "#333333", "fontsize": 8, "fontstyle": "italic"}})
    return items


def _legend(fig: Figure, inst: Instance, built: pd.Series, dominant: dict[str, str], fcol: dict[str, str], has_routes: bool,
            rmax: float, mw_max: float) -> None:
    handles = [Line2D([], [], marker="o", linestyle="", markersize=9, color=fcol[f], alpha=0.8)
               for f in fcol if f in dominant.values()]
    hl = [f"site, mostly {f}" for f in fcol if f in dominant.values()]
    if any(float(built.get(s.id, 0.0)) > 1e-6 and s.id not in dominant for s in inst.sites):
        handles.append(Line2D([], [], marker="o", linestyle="", markersize=9, color="#9e9e9e"))
        hl.append("site built, no systems")
    if any(float(built.get(s.id, 0.0)) <= 1e-6 for s in inst.sites):
        handles.append(Line2D([], [], marker="o", linestyle="", markersize=6, markerfacecolor="none", color="#888888"))
        hl.append("candidate site,\nnot built")
    if inst.regions:
        handles.append(Line2D([], [], marker="^", linestyle="", markersize=8, color="#333333"))
        hl.append("demand region\n(size ∝ demand)")
    if has_routes:
        div, unit = pflops_unit(rmax)
        handles.append(Line2D([], [], color="#4c72b0", alpha=0.5, linewidth=6))
        hl.append(f"inference route,\nwidth ∝ PFLOPS served\n(widest {rmax / div:,.1f} {unit})")
    fig.legend(handles, hl, loc="outside right upper", frameon=False, fontsize=8.5, labelspacing=1.2,
               title=f"marker area ∝ IT MW online\n(largest {mw_max:,.0f} MW)", title_fontsize=8.5)


# --------------------------------------------------------------------------- label placement

def _overlap(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _candidates(r: float) -> list[Place]:
    """Label offsets (points) and alignments around a marker of radius ``r``, nearest first."""
    g = r + 3.0
    cands: list[Place] = []
    for extra in (0.0, 10.0, 22.0, 36.0, 52.0):
        d = g + extra
        cands += [(d, 0, "left", "center"), (-d, 0, "right", "center"), (0, d, "center", "bottom"),
                  (0, -d, "center", "top"), (0.75 * d, 0.75 * d, "left", "bottom"), (0.75 * d, -0.75 * d, "left", "top"),
                  (-0.75 * d, 0.75 * d, "right", "bottom"), (-0.75 * d, -0.75 * d, "right", "top")]
    return cands


def _obstacles(fig: Figure, ax: Axes, items: list[dict[str, Any]], routes: list[Segment]) -> tuple[list[Box], list[Box]]:
    """Marker boxes and small boxes along the routes, in display space."""
    px = fig.dpi / 72.0
    to_disp = ax.transData.transform
    marks = []
    for it in items:
        cx, cy = to_disp((it["x"], it["y"]))
        r = it["r"] * px
        marks.append((cx - r, cy - r, cx + r, cy + r))
    segs = []
    for x0, y0, x1, y1, w in routes:
        (a, b), (c, d) = to_disp((x0, y0)), to_disp((x1, y1))
        n = max(2, int(math.hypot(c - a, d - b) / 8))
        hw = max(1.5, w * px / 2)
        for t in np.linspace(0.08, 0.92, n):
            qx, qy = a + t * (c - a), b + t * (d - b)
            segs.append((qx - hw, qy - hw, qx + hw, qy + hw))
    return marks, segs


def _place_labels(fig: Figure, ax: Axes, items: list[dict[str, Any]], routes: list[Segment]) -> None:
    """Greedy label placement in display space: try positions around each marker, keep the first
    that overlaps no other label, marker or route, else the least bad one (with a leader line).

    ``items``: dicts with x, y (data), text, r (marker radius, points) and text style, in priority
    order. ``routes``: (x0, y0, x1, y1, width points) line segments to avoid.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas: Any = FigureCanvasAgg(fig)  # the Agg backend has no type hints
    canvas.draw()  # settles the constrained layout and the data limits
    fig.set_layout_engine("none")  # labels added now must not move the axes
    renderer = canvas.get_renderer()
    axbox = ax.get_window_extent(renderer)
    marks, segs = _obstacles(fig, ax, items, routes)
    placed: list[Box] = []
    for i, it in enumerate(items):
        ann = ax.annotate(it["text"], (it["x"], it["y"]), xytext=(0, 0), textcoords="offset points", zorder=7,
                          annotation_clip=False, **it["style"])
        ann.set_in_layout(False)
        best: tuple[Place, Box] | None = None
        best_score = float("inf")
        for j, (dx, dy, ha, va) in enumerate(_candidates(it["r"])):
            ann.xyann = (dx, dy)
            ann.set_horizontalalignment(ha)
            ann.set_verticalalignment(va)
            bb = ann.get_window_extent(renderer)
            box = (bb.x0 - 1, bb.y0 - 1, bb.x1 + 1, bb.y1 + 1)
            score = 0.0
            score += 50 * sum(_overlap(box, q) for q in placed)
            score += 8 * sum(_overlap(box, q) for k2, q in enumerate(marks) if k2 != i)
            score += 1 * sum(_overlap(box, q) for q in segs)
            out = (max(0, axbox.x0 - box[0]) + max(0, box[2] - axbox.x1)) * (box[3] - box[1]) + \
                (max(0, axbox.y0 - box[1]) + max(0, box[3] - axbox.y1)) * (box[2] - box[0])
            score += 30 * out + 0.02 * j  # prefer nearer, earlier candidates
            if score < best_score:
                best, best_score = ((dx, dy, ha, va), box), score
            if score < 1.0:
                break
        assert best is not None
        (dx, dy, ha, va), box = best
        ann.xyann = (dx, dy)
        ann.set_horizontalalignment(ha)
        ann.set_verticalalignment(va)
        if math.hypot(dx, dy) > it["r"] + 10:
            ann.arrow_patch = None
            ann.remove()
            ann = ax.annotate(it["text"], (it["x"], it["y"]), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                              zorder=7, annotation_clip=False,
                              arrowprops={"arrowstyle": "-", "color": "#999999", "linewidth": 0.6, "shrinkA": 1,
                                          "shrinkB": it["r"] * 0.8},
                              **{k: v for k, v in it["style"].items() if k not in ("ha", "va")})
            ann.set_in_layout(False)
        placed.append(box)
