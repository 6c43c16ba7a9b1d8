"""Offline pictures of a plan: PNG figures with matplotlib, no network, no map downloads.

Every function takes what a plan leaves behind — a :class:`~optimizer.plan.Plan`, the
dict of result tables (as in ``plan.tables`` or read back by :func:`load_tables`), or a
result folder written by ``dcplan solve --out`` — plus the instance (needed for
coordinates, names, periods and scenario probabilities; a Plan carries its own), and
returns a :class:`matplotlib.figure.Figure`. Pass ``path=`` to also save it as PNG.

Figures are built with the object API (``matplotlib.figure.Figure``), not ``pyplot``: no
GUI backend is touched, nothing is kept in a global figure list, and the functions work
the same in scripts, servers and notebooks (a returned figure displays in Jupyter).

Scenarios: site builds are first-stage (the same in every scenario); fleets, loads and
costs differ by scenario. By default every figure shows the **expected value**
(probability-weighted over scenarios); ``scenario="boom"`` shows one scenario instead.
:func:`system_mix` can also facet by scenario (``facet="scenario"``).

Functions: :func:`capacity_by_site`, :func:`system_mix`, :func:`cost_breakdown`,
:func:`power_vs_grid`, :func:`idle_compute`, :func:`site_map`, and :func:`all_figures` /
:func:`save_all` for the lot.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..results.extract import COLUMNS

if TYPE_CHECKING:
    from ..instance.schema import Instance
    from ..plan import Plan

Source = Union["Plan", dict, str, Path]

# Identifier columns are read back from CSV as text (ids such as 2026 or NO stay strings).
_TEXT = {"site", "option", "decision_period", "online_period", "system", "family", "vendor", "period", "scenario", "job",
         "region", "first_period", "last_period", "category", "kind", "policy", "scope", "pool", "unit"}
_BOOL = {"domestic", "placed", "met"}

FAMILY_COLOURS = {"cuda": "#76b900", "cann": "#c7000b"}  # Nvidia green, Huawei red
_OTHER_FAMILY = ["#1f77b4", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
# shades per family for systems of that family, darkest first
_SHADES = {"#76b900": ["#3d6b00", "#76b900", "#a8d860", "#d2eeaa"],
           "#c7000b": ["#7a0007", "#c7000b", "#f0575e", "#f8a5a9"]}
_SITE_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
                 "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94"]
_COST_COLOURS = {"site_capex": "#4c72b0", "system_capex": "#55a868", "energy": "#dd8452", "site_fom": "#8172b3",
                 "system_om": "#937860", "export_premium": "#c44e52", "unserved_penalty": "#da8bc3",
                 "unplaced_penalty": "#8c8c8c", "share_shortfall_penalty": "#ccb974", "energy_subsidy": "#64b5cd",
                 "site_capex_subsidy": "#a1c9f4", "routing": "#b07aa1", "placement": "#9c755f", "end_value": "#bab0ac"}
DPI = 110
_META = {"Software": None}  # no tool URL inside the PNGs


# --------------------------------------------------------------------------- inputs

def load_tables(folder: str | Path) -> dict[str, pd.DataFrame]:
    """Read a result folder's CSVs back into tables with the same column types as ``plan.tables``."""
    folder = Path(folder)
    out = {}
    for name, cols in COLUMNS.items():
        f = folder / f"{name}.csv"
        if not f.exists():
            out[name] = pd.DataFrame(columns=cols)
            continue
        df = pd.read_csv(f, dtype={c: str for c in cols if c in _TEXT}, keep_default_na=False, na_values=[""])
        for c in df.columns:
            if c in _BOOL:
                df[c] = df[c].map(lambda x: str(x).strip().lower() == "true" if not pd.isna(x) else False)
            elif c in _TEXT:
                df[c] = df[c].astype(object).where(df[c].notna(), None)
        out[name] = df
    return out


def load_summary(folder: str | Path) -> dict[str, Any]:
    f = Path(folder) / "summary.json"
    return json.loads(f.read_text()) if f.exists() else {}


def resolve(src: Source, inst: Instance | None = None) -> tuple[dict[str, pd.DataFrame], Instance]:
    """(tables, instance) from a Plan, a dict of tables or a result folder."""
    if isinstance(src, (str, Path)):
        tables = load_tables(src)
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
    return [p.id for p in inst.horizon.periods]


def probabilities(tables: dict[str, pd.DataFrame], inst: Instance) -> dict[str, float]:
    """Scenario id -> probability (a deterministic instance has one scenario, 'base', with 1)."""
    if inst.scenarios:
        return {w.id: float(w.probability) for w in inst.scenarios}
    seen = set()
    for df in tables.values():
        if "scenario" in df.columns:
            seen |= set(df["scenario"].dropna().astype(str))
    seen = seen or {"base"}
    return {w: 1.0 / len(seen) for w in sorted(seen)}


def expected(df: pd.DataFrame, keys: list[str], values: list[str], probs: dict[str, float],
             scenario: str | None = None) -> pd.DataFrame:
    """Sum of ``values`` by ``keys``: probability-weighted over scenarios, or in one scenario."""
    if len(df) == 0:
        return pd.DataFrame(columns=keys + values)
    if scenario is not None:
        d = df[df["scenario"] == scenario]
        return d.groupby(keys, as_index=False)[values].sum()
    w = df["scenario"].map(probs).fillna(0.0)
    d = df[keys].copy()
    for v in values:
        d[v] = pd.to_numeric(df[v], errors="coerce").fillna(0.0) * w
    return d.groupby(keys, as_index=False)[values].sum()


def _check_scenario(scenario: str | None, probs: dict[str, float]) -> None:
    if scenario is not None and scenario not in probs:
        raise ValueError(f"unknown scenario '{scenario}'; the plan has: {', '.join(probs)}")


def _scope(scenario: str | None, probs: dict[str, float]) -> str:
    if scenario is not None:
        return f"scenario {scenario}"
    return "expected over scenarios" if len(probs) > 1 else ""


def _title(fig: Figure, title: str, *notes: str) -> None:
    """Title, with notes (scenario scope, units) on a second line so it stays clear of the legend."""
    notes = tuple(n for n in notes if n)
    fig.suptitle(title + ("\n(" + "; ".join(notes) + ")" if notes else ""), fontweight="bold", fontsize=11.5)


# --------------------------------------------------------------------------- style helpers

def _figure(w: float, h: float) -> Figure:
    fig = Figure(figsize=(w, h), dpi=DPI, layout="constrained")
    return fig


def _style(ax) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


def _empty(fig: Figure, title: str, why: str = "nothing to show: the plan has no solution") -> Figure:
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, why, ha="center", va="center", fontsize=11, color="#666666", transform=ax.transAxes)
    fig.suptitle(title, fontweight="bold")
    return fig


def _save(fig: Figure, path: str | Path | None) -> Figure:
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=DPI, metadata=_META)
    return fig


def family_colours(inst: Instance) -> dict[str, str]:
    out, i = {}, 0
    for f in inst.families:
        if f.id in FAMILY_COLOURS:
            out[f.id] = FAMILY_COLOURS[f.id]
        else:
            out[f.id] = _OTHER_FAMILY[i % len(_OTHER_FAMILY)]
            i += 1
    return out


def system_colours(inst: Instance) -> dict[str, str]:
    """Systems coloured in shades of their family's colour."""
    import matplotlib.colors as mcolors

    fam = family_colours(inst)
    by_fam: dict[str, list[str]] = {}
    for k in inst.systems:
        by_fam.setdefault(k.family, []).append(k.id)
    out = {}
    for f, ids in by_fam.items():
        base = fam.get(f, "#777777")
        shades = _SHADES.get(base)
        if shades is None or len(ids) > len(shades):
            rgb = np.array(mcolors.to_rgb(base))
            shades = [mcolors.to_hex(np.clip(rgb * (0.55 + 0.9 * i / max(1, len(ids) - 1)) if i < len(ids) / 2 else
                                             rgb + (1 - rgb) * (0.6 * (i + 1) / len(ids)), 0, 1)) for i in range(len(ids))]
        for kid, c in zip(ids, shades):
            out[kid] = c
    return out


def site_colours(inst: Instance) -> dict[str, str]:
    return {s.id: _SITE_COLOURS[i % len(_SITE_COLOURS)] for i, s in enumerate(inst.sites)}


def _pflops_unit(vmax: float) -> tuple[float, str]:
    return (1000.0, "EFLOPS") if vmax >= 20_000 else (1.0, "PFLOPS")


def _money_unit(vmax: float, cur: str) -> tuple[float, str]:
    cur = "$" if cur.upper() == "USD" else cur + " "
    if vmax >= 2e9:
        return 1e9, f"{cur}bn"
    if vmax >= 2e6:
        return 1e6, f"{cur}M"
    return 1.0, cur.strip()


def _fmt(x: float) -> str:
    a = abs(x)
    if a >= 100:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def _period_axis(ax, periods: list[str]) -> None:
    ax.set_xticks(range(len(periods)))
    ax.set_xticklabels(periods)
    ax.set_xlim(-0.6, len(periods) - 0.4)


def _legend_right(fig_or_ax, handles, labels, title: str | None = None, ncol: int = 1) -> None:
    fig_or_ax.legend(handles, labels, title=title, loc="outside right upper" if isinstance(fig_or_ax, Figure) else "best",
                     frameon=False, fontsize=8.5, title_fontsize=9, ncol=ncol)


# --------------------------------------------------------------------------- 1. capacity

def capacity_by_site(src: Source, inst: Instance | None = None, *, scenario: str | None = None,
                     path: str | Path | None = None) -> Figure:
    """IT capacity online by site and period (stacked bars), with installed nameplate and IT load as lines."""
    tables, inst = resolve(src, inst)
    probs = probabilities(tables, inst)
    _check_scenario(scenario, probs)
    periods = periods_of(inst)
    title = "IT capacity online by site"
    fig = _figure(9.5, 4.8)
    sp = tables["site_power"]
    if len(sp) == 0:
        return _save(_empty(fig, title), path)
    # capacity is first-stage: the same in every scenario
    cap = sp.groupby(["site", "period"])["built_it_mw"].max().unstack("period").reindex(columns=periods).fillna(0.0)
    order = [s.id for s in inst.sites if s.id in cap.index and cap.loc[s.id].max() > 1e-6]
    cap = cap.loc[order]
    load = expected(sp, ["period"], ["it_load_mw", "nameplate_it_mw"], probs, scenario).set_index("period").reindex(periods).fillna(0.0)
    ax = fig.add_subplot()
    _style(ax)
    colours = site_colours(inst)
    x = np.arange(len(periods))
    bottom = np.zeros(len(periods))
    handles, labels = [], []
    kinds = {s.id: s.kind for s in inst.sites}
    for s in order:
        vals = cap.loc[s].to_numpy(dtype=float)
        hatch = "///" if kinds.get(s) == "greenfield" else None  # greenfield hatched, converted/existing solid
        h = ax.bar(x, vals, bottom=bottom, width=0.62, color=colours[s], edgecolor="white", linewidth=0.6, hatch=hatch)
        bottom += vals
        handles.append(h)
        labels.append(f"{s} ({kinds.get(s, '?')})")
    for xi, tot in zip(x, bottom):
        if tot > 0:
            ax.annotate(f"{tot:,.0f}", (xi, tot), xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                        fontsize=8.5, color="#333333", zorder=6,
                        bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
    h1, = ax.plot(x, load["nameplate_it_mw"].to_numpy(), color="#222222", linestyle="--", marker="o", markersize=4,
                  linewidth=1.3, zorder=4)
    h2, = ax.plot(x, load["it_load_mw"].to_numpy(), color="#222222", marker="s", markersize=4, linewidth=1.6, zorder=4)
    _period_axis(ax, periods)
    ax.set_ylabel("IT capacity (MW)")
    ax.set_ylim(0, max(bottom.max(), load.to_numpy().max(), 1) * 1.15)
    handles = handles[::-1] + [h1, h2]
    labels = labels[::-1] + ["systems installed (nameplate MW)", "IT load (MW)"]
    fig.legend(handles, labels, loc="outside right upper", frameon=False, fontsize=8.5, title="site (kind)",
               title_fontsize=9)
    _title(fig, title, _scope(scenario, probs))
    return _save(fig, path)


# --------------------------------------------------------------------------- 2. system mix

_METRICS = {
    "units": ("units_in_service", "units in service", 1.0),
    "training_pflops": ("training_pflops", "effective training compute", None),
    "inference_pflops": ("inference_pflops", "inference compute", None),
    "mw": ("nameplate_mw", "nameplate IT power (MW)", 1.0),
}


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
    _check_scenario(scenario, probs)
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {', '.join(_METRICS)}")
    if facet not in ("jurisdiction", "scenario"):
        raise ValueError("facet must be 'jurisdiction' or 'scenario'")
    col, what, _ = _METRICS[metric]
    all_p = periods_of(inst)
    if periods == "all":
        ps = all_p
    elif periods == "last":
        ps = all_p[-1:]
    else:
        ps = [str(p) for p in periods]
    fl = tables["fleet"]
    title = "System mix by jurisdiction"
    if len(fl) == 0 or fl[col].abs().sum() == 0:
        return _save(_empty(fig := _figure(9, 4), title), path)
    jur = {s.id: s.jurisdiction for s in inst.sites}
    fl = fl.assign(jurisdiction=fl["site"].map(jur))
    fams = {k.id: k.family for k in inst.systems}
    scolour = system_colours(inst)
    sys_order = [k.id for k in inst.systems if k.id in set(fl["system"])]
    jur_order = [j.id for j in inst.jurisdictions if j.id in set(fl["jurisdiction"])]
    if facet == "scenario":
        p_sel = ps[-1]
        d = fl[fl["period"] == p_sel].groupby(["scenario", "jurisdiction", "system"], as_index=False)[col].sum()
        panels = list(probs)
        xcats = jur_order
        xkey, pkey = "jurisdiction", "scenario"
        sub = f"{what} in {p_sel}, by scenario"
    else:
        d = expected(fl[fl["period"].isin(ps)], ["jurisdiction", "period", "system"], [col], probs, scenario)
        panels = [j for j in jur_order if d[d["jurisdiction"] == j][col].abs().sum() > 0]
        xcats = ps
        xkey, pkey = "period", "jurisdiction"
        sub = what + ("; " + _scope(scenario, probs) if _scope(scenario, probs) else "")
    vmax = d.groupby([pkey, xkey])[col].sum().max() if len(d) else 1.0
    if metric in ("training_pflops", "inference_pflops"):
        div, unit = _pflops_unit(vmax)
        ylabel = f"{what} ({unit})"
    else:
        div, unit = 1.0, ""
        ylabel = what
    n = max(1, len(panels))
    ncol = n if n <= 3 else (2 if n == 4 else 3)
    nrow = math.ceil(n / ncol)
    fig = _figure(max(7.5, 3.6 * ncol + 0.8), 3.1 * nrow + 1.3)
    # scenarios are compared on one scale; jurisdictions differ in size by orders of magnitude
    axes = fig.subplots(nrow, ncol, squeeze=False, sharey=(facet == "scenario"))
    used = set()
    for i, pan in enumerate(panels):
        ax = axes[i // ncol][i % ncol]
        _style(ax)
        dd = d[d[pkey] == pan]
        x = np.arange(len(xcats))
        bottom = np.zeros(len(xcats))
        for k in sys_order:
            vals = dd[dd["system"] == k].set_index(xkey)[col].reindex(xcats).fillna(0.0).to_numpy(dtype=float) / div
            if vals.sum() <= 0:
                continue
            used.add(k)
            ax.bar(x, vals, bottom=bottom, width=0.66, color=scolour[k], edgecolor="white", linewidth=0.5)
            bottom += vals
        ax.set_xticks(x)
        ax.set_xticklabels(xcats, rotation=0 if len(xcats) <= 5 else 45, ha="center" if len(xcats) <= 5 else "right",
                           fontsize=8.5)
        ax.set_xlim(-0.6, len(xcats) - 0.4)
        ptitle = pan if facet == "jurisdiction" else f"{pan} (p = {probs.get(pan, 0):.2f})"
        ax.set_title(ptitle, fontsize=10)
        if i % ncol == 0:
            ax.set_ylabel(ylabel, fontsize=9)
        top = bottom.max()
        if facet != "scenario":
            ax.set_ylim(0, top * 1.12 if top > 0 else 1)
        else:
            ax.set_ylim(0, vmax / div * 1.12)
        for xi, tot in zip(x, bottom):
            if tot > 0:
                ax.text(xi, tot, _fmt(tot), ha="center", va="bottom", fontsize=7.5, color="#333333")
    for j in range(len(panels), nrow * ncol):
        axes[j // ncol][j % ncol].set_axis_off()
    handles = [Patch(color=scolour[k]) for k in sys_order if k in used]
    labels = [f"{k} ({fams[k]})" for k in sys_order if k in used]
    fig.legend(handles, labels, loc="outside lower center", frameon=False, fontsize=8.5, title="system (family), bottom to top",
               title_fontsize=9, ncol=min(len(handles), 4))
    _title(fig, title, sub)
    return _save(fig, path)


# --------------------------------------------------------------------------- 3. costs

def _cost_label(c: str) -> str:
    return c.replace("_", " ")


def cost_breakdown(src: Source, inst: Instance | None = None, *, scenario: str | None = None,
                   path: str | Path | None = None) -> Figure:
    """Discounted cost by category, stacked by period (expected over scenarios by default).

    Subsidies and other credits (the value of equipment left at the end of the horizon) are
    negative and stack below zero; a black dot marks each period's net cost.
    """
    tables, inst = resolve(src, inst)
    probs = probabilities(tables, inst)
    _check_scenario(scenario, probs)
    periods = periods_of(inst)
    c = tables["costs"]
    title = "Discounted cost by category"
    fig = _figure(9.5, 4.8)
    if len(c) == 0:
        return _save(_empty(fig, title), path)
    d = expected(c, ["category", "period"], ["discounted_usd"], probs, scenario)
    piv = d.pivot_table(index="category", columns="period", values="discounted_usd", aggfunc="sum").reindex(columns=periods).fillna(0.0)
    order = piv.abs().sum(axis=1).sort_values(ascending=False).index.tolist()
    pos_tot = piv.clip(lower=0).sum().max()
    div, unit = _money_unit(max(pos_tot, piv.clip(upper=0).abs().sum().max()), inst.horizon.currency)
    ax = fig.add_subplot()
    _style(ax)
    x = np.arange(len(periods))
    up = np.zeros(len(periods))
    down = np.zeros(len(periods))
    handles, labels = [], []
    extra = iter(_OTHER_FAMILY)
    for cat in order:
        vals = piv.loc[cat].to_numpy(dtype=float) / div
        pos, neg = np.clip(vals, 0, None), np.clip(vals, None, 0)
        colour = _COST_COLOURS.get(cat) or next(extra, "#999999")
        hatch = "//" if vals.sum() < 0 else None
        h = None
        if pos.any():
            h = ax.bar(x, pos, bottom=up, width=0.62, color=colour, edgecolor="white", linewidth=0.5)
            up += pos
        if neg.any():
            h = ax.bar(x, neg, bottom=down, width=0.62, color=colour, edgecolor="white", linewidth=0.5, hatch=hatch)
            down += neg
        if h is not None:
            total = piv.loc[cat].sum() / div
            handles.append(h)
            labels.append(f"{_cost_label(cat)} ({_fmt(total)})")
    net = up + down
    hn = ax.scatter(x, net, color="black", zorder=5, s=18)
    ax.hlines(net, x - 0.31, x + 0.31, color="black", linewidth=1.0, zorder=5)
    for xi, n in zip(x, net):  # the net value beside its dot
        ax.annotate(_fmt(n), (xi + 0.31, n), xytext=(3, 0), textcoords="offset points", ha="left", va="center", fontsize=8.5,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85}, zorder=6)
    if down.min() < 0:
        ax.axhline(0, color="#444444", linewidth=0.8)
    _period_axis(ax, periods)
    ax.set_ylabel(f"discounted cost ({unit})")
    ax.set_ylim(min(0, down.min() * 1.15), max(up.max(), 1e-9) * 1.12)
    total = float(net.sum())
    handles.append(hn)
    labels.append(f"net per period (total {_fmt(total)})")
    fig.legend(handles, labels, loc="outside right upper", frameon=False, fontsize=8.5,
               title=f"category (total, {unit})", title_fontsize=9)
    _title(fig, title, _scope(scenario, probs))
    return _save(fig, path)


# --------------------------------------------------------------------------- 4. power vs grid

def _grid_mw(inst: Instance) -> dict[tuple[str, str], float]:
    """Grid connection per (site, period), zero before ``grid_available_from``."""
    from ..instance.derive import prepare

    return dict(prepare(inst).grid_mw)


def power_vs_grid(src: Source, inst: Instance | None = None, *, scenario: str | None = None,
                  path: str | Path | None = None) -> Figure:
    """Per site and period: facility power drawn, grid held back for redundancy, and the grid connection.

    The grid constraint is ``facility power / usable grid share ≤ grid connection``; the hatched
    part is the headroom the redundancy rule (N+1, 2N) keeps unused. Sites never built are left out.
    """
    tables, inst = resolve(src, inst)
    probs = probabilities(tables, inst)
    _check_scenario(scenario, probs)
    periods = periods_of(inst)
    sp = tables["site_power"]
    title = "Power drawn vs grid connection by site"
    if len(sp) == 0:
        return _save(_empty(_figure(9, 4), title), path)
    d = expected(sp, ["site", "period"], ["facility_mw", "grid_draw_mw"], probs, scenario)
    built = sp.groupby("site")["built_it_mw"].max()
    grid = _grid_mw(inst)
    sites = [s.id for s in inst.sites if built.get(s.id, 0.0) > 1e-6 or d[d["site"] == s.id]["facility_mw"].sum() > 1e-6]
    if not sites:
        return _save(_empty(_figure(9, 4), title, "no site is built"), path)
    n = len(sites)
    ncol = n if n <= 4 else (3 if n in (5, 6, 9) else 4)
    nrow = math.ceil(n / ncol)
    fig = _figure(max(8.0, 2.55 * ncol + 2.5), 2.45 * nrow + 0.7)
    axes = fig.subplots(nrow, ncol, squeeze=False)
    x = np.arange(len(periods))
    c_used, c_res, c_grid = "#dd8452", "#f3c9a8", "#333333"
    for i, s in enumerate(sites):
        ax = axes[i // ncol][i % ncol]
        _style(ax)
        dd = d[d["site"] == s].set_index("period")[["facility_mw", "grid_draw_mw"]].reindex(periods).fillna(0.0)
        fac = dd["facility_mw"].to_numpy(dtype=float)
        res = np.clip(dd["grid_draw_mw"].to_numpy(dtype=float) - fac, 0, None)
        g = np.array([grid.get((s, p), 0.0) for p in periods], dtype=float)
        ax.bar(x, fac, width=0.62, color=c_used)
        ax.bar(x, res, bottom=fac, width=0.62, color=c_res, hatch="///", edgecolor="#e0a070", linewidth=0)
        ax.hlines(np.where(g > 0, g, np.nan), x - 0.42, x + 0.42, color=c_grid, linewidth=2.0)
        top = max(float(np.max(g)), float(np.max(fac + res)), 1.0)
        ax.set_ylim(0, top * 1.16)
        for xi, gi, di in zip(x, g, fac + res):
            if gi > 0 and di > 1e-6:
                # above the bar, or above the grid line when the bar nearly reaches it
                y = gi if di > gi - 0.1 * top else di
                ax.annotate(f"{100 * di / gi:.0f}%", (xi, y), xytext=(0, 3), textcoords="offset points", ha="center",
                            va="bottom", fontsize=7, color="#444444")
        ax.set_title(s, fontsize=9.5)
        ax.set_xticks(x)
        ax.set_xticklabels(periods, fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
        if i % ncol == 0:
            ax.set_ylabel("MW", fontsize=9)
    for j in range(n, nrow * ncol):
        axes[j // ncol][j % ncol].set_axis_off()
    handles = [Patch(color=c_used), Patch(facecolor=c_res, hatch="///", edgecolor="#e0a070"), Line2D([], [], color=c_grid, linewidth=2)]
    labels = ["facility power drawn\n(IT load × PUE)", "grid held back for\nredundancy (N+1, 2N)", "grid connection",]
    fig.legend(handles, labels, loc="outside right upper", frameon=False, fontsize=8.5,
               title="% above a bar:\nshare of the grid\nconnection taken", title_fontsize=8.5)
    _title(fig, title, _scope(scenario, probs))
    return _save(fig, path)


# --------------------------------------------------------------------------- 5. idle compute

def _share_pflops(inst: Instance) -> dict[str, float]:
    """Nominal compute per unit that domestic shares count: training PFLOPS, else inference."""
    return {k.id: (k.training_pflops_per_unit or k.inference_pflops_per_unit) for k in inst.systems}


def compute_split(tables: dict[str, pd.DataFrame], inst: Instance) -> pd.DataFrame:
    """``compute_use`` with installed, training, inference and idle compute in nominal PFLOPS."""
    cu = tables["compute_use"].copy()
    per = _share_pflops(inst)
    eff = {f.id: f.training_efficiency for f in inst.families}
    sysd = {k.id: k for k in inst.systems}
    scale = cu["system"].map(per).astype(float)
    tr_units = [r.training_pflops_used / (sysd[r.system].training_pflops_per_unit * eff[sysd[r.system].family])
                if r.training_pflops_used and sysd[r.system].training_pflops_per_unit else 0.0 for r in cu.itertuples()]
    cu["installed"] = cu["units_in_service"] * scale
    cu["training"] = np.array(tr_units, dtype=float) * scale
    cu["busy"] = cu["busy_units"] * scale
    cu["inference"] = (cu["busy"] - cu["training"]).clip(lower=0)
    cu["idle"] = cu["idle_units"].clip(lower=0) * scale
    return cu


def idle_compute(src: Source, inst: Instance | None = None, *, scenario: str | None = None,
                 path: str | Path | None = None) -> Figure:
    """Installed compute split into training, inference and idle (left) and idle % by site and period (right).

    Units of different systems are made comparable by their nominal training PFLOPS (inference
    PFLOPS for inference-only systems), the same measure domestic-share targets use.
    """
    tables, inst = resolve(src, inst)
    probs = probabilities(tables, inst)
    _check_scenario(scenario, probs)
    periods = periods_of(inst)
    title = "Installed compute: busy and idle"
    if len(tables["compute_use"]) == 0:
        return _save(_empty(_figure(11, 4.6), title), path)
    cu = compute_split(tables, inst)
    tot = expected(cu, ["period"], ["installed", "training", "inference", "idle"], probs, scenario).set_index("period").reindex(periods).fillna(0.0)
    by_site = expected(cu, ["site", "period"], ["installed", "idle"], probs, scenario)
    sites = [s.id for s in inst.sites if s.id in set(by_site["site"])]
    fig = _figure(11.5, max(4.4, 1.6 + 0.34 * (len(sites) + 1)))
    div, unit = _pflops_unit(tot["installed"].max())
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1.1, 1])
    _style(ax)
    x = np.arange(len(periods))
    bottom = np.zeros(len(periods))
    parts = [("training", "#4c72b0", "training"), ("inference", "#55a868", "inference"), ("idle", "#c8c8c8", "idle")]
    handles = []
    for colname, colour, lab in parts:
        vals = tot[colname].to_numpy(dtype=float) / div
        handles.append(ax.bar(x, vals, bottom=bottom, width=0.62, color=colour, label=lab))
        bottom += vals
    for xi, inst_v, idle_v in zip(x, tot["installed"], tot["idle"]):
        if inst_v > 0:
            ax.annotate(f"{100 * idle_v / inst_v:.0f}% idle", (xi, inst_v / div), xytext=(0, 3), textcoords="offset points",
                        ha="center", va="bottom", fontsize=8)
    _period_axis(ax, periods)
    ax.set_ylim(0, max(bottom.max(), 1e-9) * 1.14)
    ax.set_ylabel(f"nominal compute ({unit})")
    ax.set_title("installed compute by use", fontsize=10)
    ax.legend(handles=handles[::-1], frameon=False, fontsize=8.5, loc="upper left")
    # heat map: rows = sites (+ all), columns = periods
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
    cb = fig.colorbar(im, ax=ax2, fraction=0.05, pad=0.02)
    cb.set_label("idle %", fontsize=8.5)
    cb.ax.tick_params(labelsize=8)
    _title(fig, title, _scope(scenario, probs))
    return _save(fig, path)


# --------------------------------------------------------------------------- 6. map

def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _place_labels(fig: Figure, ax, items: list[dict], routes: list[tuple[float, float, float, float, float]]) -> None:
    """Greedy label placement in display space: try positions around each marker, keep the first
    that overlaps no other label, marker or route, else the least bad one (with a leader line).

    ``items``: dicts with x, y (data), text, r (marker radius, points) and text style, in priority
    order. ``routes``: (x0, y0, x1, y1, width points) line segments to avoid.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # settles the constrained layout and the data limits
    fig.set_layout_engine("none")  # labels added now must not move the axes
    renderer = canvas.get_renderer()
    px = fig.dpi / 72.0
    to_disp = ax.transData.transform
    axbox = ax.get_window_extent(renderer)
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
    placed: list[tuple[float, float, float, float]] = []
    for i, it in enumerate(items):
        g = it["r"] + 3.0
        cands = []
        for k, extra in enumerate((0.0, 10.0, 22.0, 36.0, 52.0)):
            d = g + extra
            cands += [(d, 0, "left", "center"), (-d, 0, "right", "center"), (0, d, "center", "bottom"),
                      (0, -d, "center", "top"), (0.75 * d, 0.75 * d, "left", "bottom"), (0.75 * d, -0.75 * d, "left", "top"),
                      (-0.75 * d, 0.75 * d, "right", "bottom"), (-0.75 * d, -0.75 * d, "right", "top")]
        ann = ax.annotate(it["text"], (it["x"], it["y"]), xytext=(0, 0), textcoords="offset points", zorder=7,
                          annotation_clip=False, **it["style"])
        ann.set_in_layout(False)
        best, best_score = None, float("inf")
        for j, (dx, dy, ha, va) in enumerate(cands):
            ann.xyann = (dx, dy)
            ann.set_ha(ha)
            ann.set_va(va)
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
                best, best_score = (dx, dy, ha, va, box), score
            if score < 1.0:
                break
        dx, dy, ha, va, box = best
        ann.xyann = (dx, dy)
        ann.set_ha(ha)
        ann.set_va(va)
        if math.hypot(dx, dy) > it["r"] + 10:
            ann.arrow_patch = None
            ann.remove()
            ann = ax.annotate(it["text"], (it["x"], it["y"]), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                              zorder=7, annotation_clip=False,
                              arrowprops={"arrowstyle": "-", "color": "#999999", "linewidth": 0.6, "shrinkA": 1, "shrinkB": it["r"] * 0.8},
                              **{k: v for k, v in it["style"].items() if k not in ("ha", "va")})
            ann.set_in_layout(False)
        placed.append(box)


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
    _check_scenario(scenario, probs)
    periods = periods_of(inst)
    p = str(period) if period is not None else periods[-1]
    if p not in periods:
        raise ValueError(f"unknown period '{p}'; periods: {', '.join(periods)}")
    sites = {s.id: s for s in inst.sites}
    regions = {g.id: g for g in inst.regions}
    lons = [s.lon for s in inst.sites] + [g.lon for g in inst.regions]
    lats = [s.lat for s in inst.sites] + [g.lat for g in inst.regions]
    span_lon = max(max(lons) - min(lons), 3.0)
    span_lat = max(max(lats) - min(lats), 2.0)
    pad_lon, pad_lat = 0.10 * span_lon + 1.0, 0.12 * span_lat + 1.0
    lon0, lon1 = min(lons) - pad_lon, max(lons) + pad_lon
    lat0, lat1 = max(-89.0, min(lats) - pad_lat), min(89.0, max(lats) + pad_lat)
    mid_lat = 0.5 * (lat0 + lat1)
    aspect = 1.0 / max(0.25, math.cos(math.radians(mid_lat)))
    data_w, data_h = (lon1 - lon0), (lat1 - lat0) * aspect
    axes_w = 6.6
    axes_h = min(5.6, max(3.4, axes_w * data_h / data_w))
    fig = _figure(axes_w + 3.2, axes_h + 1.3)
    ax = fig.add_subplot()
    ax.set_facecolor("#f4f7fa")
    # fill the axes: the lon/lat range widens to the axes' shape instead of leaving margins
    ax.update_datalim([(lon0, lat0), (lon1, lat1)])
    ax.margins(0)
    ax.set_aspect(aspect, adjustable="datalim")
    if graticule:
        step = next(s for s in (1, 2, 5, 10, 15, 30, 60) if max(lon1 - lon0, lat1 - lat0) / s <= 10)
        lines = [[(lo, -90), (lo, 90)] for lo in np.arange(-180, 181, step)]
        lines += [[(-180, la), (180, la)] for la in np.arange(-90, 91, step)]
        ax.add_collection(LineCollection(lines, colors="#dde3ea", linewidths=0.6, zorder=0), autolim=False)
    ax.set_xlabel("longitude (°)")
    ax.set_ylabel("latitude (°)")
    ax.tick_params(labelsize=8.5)
    for sp_ in ax.spines.values():
        sp_.set_color("#bbbbbb")

    sp = tables["site_power"]
    built = sp[sp["period"] == p].groupby("site")["built_it_mw"].max() if len(sp) else pd.Series(dtype=float)
    fl = tables["fleet"]
    fam_mw = expected(fl[fl["period"] == p], ["site", "family"], ["nameplate_mw"], probs, scenario) if len(fl) else \
        pd.DataFrame(columns=["site", "family", "nameplate_mw"])
    dominant = {}
    for s, g in fam_mw.groupby("site"):
        g = g[g["nameplate_mw"] > 1e-9]
        if len(g):
            dominant[s] = g.sort_values("nameplate_mw").iloc[-1]["family"]
    fcol = family_colours(inst)
    inf = tables["inference"]
    routes = expected(inf[inf["period"] == p], ["region", "site"], ["pflops"], probs, scenario) if len(inf) else \
        pd.DataFrame(columns=["region", "site", "pflops"])
    routes = routes[routes["pflops"] > 1e-6]
    rmax = routes["pflops"].max() if len(routes) else 1.0
    segs = []
    for r in routes.itertuples():
        g, s = regions.get(r.region), sites.get(r.site)
        if g is None or s is None:
            continue
        w = 0.8 + 5.5 * r.pflops / rmax
        ax.plot([g.lon, s.lon], [g.lat, s.lat], color="#4c72b0", alpha=0.5, linewidth=w, solid_capstyle="round", zorder=2)
        segs.append((g.lon, g.lat, s.lon, s.lat, w))
    mw_max = max(float(built.max()) if len(built) else 0.0, 1.0)

    def size_of(mw: float) -> float:
        return 50 + 1000 * mw / mw_max

    items = []
    for s in sorted(inst.sites, key=lambda s: -float(built.get(s.id, 0.0))):
        mw = float(built.get(s.id, 0.0))
        if mw > 1e-6:
            colour = fcol.get(dominant.get(s.id), "#9e9e9e")
            size = size_of(mw)
            ax.scatter(s.lon, s.lat, s=size, color=colour, alpha=0.8, edgecolor="white", linewidth=1.0, zorder=4)
            items.append({"x": s.lon, "y": s.lat, "text": f"{s.id} {mw:,.0f} MW", "r": math.sqrt(size) / 2,
                              "style": {"color": "#111111", "fontsize": 8}})
        else:
            ax.scatter(s.lon, s.lat, s=40, facecolor="none", edgecolor="#888888", linewidth=1.0, zorder=4)
            items.append({"x": s.lon, "y": s.lat, "text": s.id, "r": 3.2, "style": {"color": "#888888", "fontsize": 7.5}, "low": True})
    dem = {}
    if inst.regions and len(tables["demand"]):
        dm = tables["demand"]
        dm = expected(dm[dm["period"] == p], ["region"], ["demand_pflops"], probs, scenario)
        dem = dm.set_index("region")["demand_pflops"].to_dict()
    dmax = max(list(dem.values()) + [1e-9])
    for g in inst.regions:
        d = dem.get(g.id, 0.0)
        size = 30 + 200 * d / dmax
        ax.scatter(g.lon, g.lat, s=size, marker="^", color="#333333", alpha=0.85, zorder=5, edgecolor="white", linewidth=0.8)
        items.append({"x": g.lon, "y": g.lat, "text": g.id, "r": math.sqrt(size) / 2,
                          "style": {"color": "#333333", "fontsize": 8, "fontstyle": "italic"}})
    items.sort(key=lambda it: it.get("low", False))  # candidates not built are labelled last
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
    if len(routes):
        div, unit = _pflops_unit(rmax)
        handles.append(Line2D([], [], color="#4c72b0", alpha=0.5, linewidth=6))
        hl.append(f"inference route,\nwidth ∝ PFLOPS served\n(widest {rmax / div:,.1f} {unit})")
    fig.legend(handles, hl, loc="outside right upper", frameon=False, fontsize=8.5, labelspacing=1.2,
               title=f"marker area ∝ IT MW online\n(largest {mw_max:,.0f} MW)", title_fontsize=8.5)
    sc = _scope(scenario, probs)
    ax.set_title(f"Sites, demand and inference routes in {p}" + (f" ({sc})" if sc else ""), fontweight="bold", fontsize=11)
    _place_labels(fig, ax, items, segs)
    return _save(fig, path)


# --------------------------------------------------------------------------- all

PLOTS = {
    "map": site_map,
    "capacity": capacity_by_site,
    "system_mix": system_mix,
    "costs": cost_breakdown,
    "power": power_vs_grid,
    "idle": idle_compute,
}


def all_figures(src: Source, inst: Instance | None = None, *, scenario: str | None = None) -> dict[str, Figure]:
    """Every figure (expected values unless ``scenario``), keyed by short name."""
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
        fig.savefig(paths[-1], format="png", dpi=DPI, metadata=_META)
    return paths


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata=_META)
    return buf.getvalue()
