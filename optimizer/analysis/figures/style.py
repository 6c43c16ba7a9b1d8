"""The look shared by every figure: colours, DPI, figure and axes helpers, titles, legends, unit pickers.

Figures are built with the object API (:class:`matplotlib.figure.Figure`), never ``pyplot``:
no GUI backend is touched and nothing is kept in a global figure list. PNGs carry no tool
URL in their metadata (:data:`_META`), so the same figure gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from optimizer.instance.schema import Instance

FAMILY_COLOURS = {"cuda": "#76b900", "cann": "#c7000b"}  # Nvidia green, Huawei red
OTHER_COLOURS = ["#1f77b4", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
# shades per family for systems of that family, darkest first
_SHADES = {"#76b900": ["#3d6b00", "#76b900", "#a8d860", "#d2eeaa"],
           "#c7000b": ["#7a0007", "#c7000b", "#f0575e", "#f8a5a9"]}
SITE_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
                "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94"]
COST_COLOURS = {"site_capex": "#4c72b0", "system_capex": "#55a868", "energy": "#dd8452", "site_fom": "#8172b3",
                "system_om": "#937860", "export_premium": "#c44e52", "unserved_penalty": "#da8bc3",
                "unplaced_penalty": "#8c8c8c", "share_shortfall_penalty": "#ccb974", "energy_subsidy": "#64b5cd",
                "site_capex_subsidy": "#a1c9f4", "routing": "#b07aa1", "placement": "#9c755f", "end_value": "#bab0ac"}
SOURCE_COLOURS = {"grid_firm": "#4c72b0", "grid_flexible": "#a1c9f4", "ppa": "#55a868", "onsite": "#dd8452",
                  "battery": "#8172b3"}  # power.kind
# a white box behind a value written on a bar, so grid lines do not cross it
LABEL_BOX = {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85}
DPI = 110
_META = {"Software": None}  # no tool URL inside the PNGs


# --------------------------------------------------------------------------- figures and axes

def new_figure(w: float, h: float) -> Figure:
    """A blank figure of ``w`` × ``h`` inches with the constrained layout."""
    return Figure(figsize=(w, h), dpi=DPI, layout="constrained")


def style_axes(ax: Axes) -> None:
    """No top or right spine; a light horizontal grid behind the data."""
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


def empty(fig: Figure, title: str, why: str = "nothing to show: the plan has no solution") -> Figure:
    """The figure with its title and a grey note saying why it shows nothing."""
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, why, ha="center", va="center", fontsize=11, color="#666666", transform=ax.transAxes)
    fig.suptitle(title, fontweight="bold")
    return fig


def title_with_notes(fig: Figure, title: str, *notes: str) -> None:
    """Title, with notes (scenario scope, units) on a second line so it stays clear of the legend."""
    kept = tuple(n for n in notes if n)
    fig.suptitle(title + ("\n(" + "; ".join(kept) + ")" if kept else ""), fontweight="bold", fontsize=11.5)


def period_axis(ax: Axes, periods: list[str]) -> None:
    """Periods as the x categories 0 … n-1."""
    ax.set_xticks(range(len(periods)))
    ax.set_xticklabels(periods)
    ax.set_xlim(-0.6, len(periods) - 0.4)


def legend_right(fig: Figure, handles: Sequence[Any], labels: Sequence[str], *, title: str,
                 title_fontsize: float = 9, **kw: Any) -> None:
    """The figure legend outside the axes, top right, without a frame."""
    fig.legend(handles, labels, loc="outside right upper", frameon=False, fontsize=8.5, title=title,
               title_fontsize=title_fontsize, **kw)


# --------------------------------------------------------------------------- output

def save(fig: Figure, path: str | Path | None) -> Figure:
    """Save as PNG at ``path`` (parent folders created) unless it is None; returns the figure."""
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=DPI, metadata=_META)
    return fig


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata=_META)
    return buf.getvalue()


# --------------------------------------------------------------------------- colours and units

def family_colours(inst: Instance) -> dict[str, str]:
    """Family id -> colour: Nvidia green for cuda, Huawei red for cann, then a fixed cycle."""
    out, i = {}, 0
    for f in inst.families:
        if f.id in FAMILY_COLOURS:
            out[f.id] = FAMILY_COLOURS[f.id]
        else:
            out[f.id] = OTHER_COLOURS[i % len(OTHER_COLOURS)]
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
            shades = [mcolors.to_hex(_rgb(np.clip(rgb * (0.55 + 0.9 * i / max(1, len(ids) - 1)) if i < len(ids) / 2 else
                                                  rgb + (1 - rgb) * (0.6 * (i + 1) / len(ids)), 0, 1)))
                      for i in range(len(ids))]
        for kid, c in zip(ids, shades, strict=False):  # a family's shades may outnumber its systems
            out[kid] = c
    return out


def _rgb(a: np.ndarray) -> tuple[float, float, float]:
    return float(a[0]), float(a[1]), float(a[2])


def site_colours(inst: Instance) -> dict[str, str]:
    """Site id -> colour, in the instance's site order."""
    return {s.id: SITE_COLOURS[i % len(SITE_COLOURS)] for i, s in enumerate(inst.sites)}


def pflops_unit(largest: float) -> tuple[float, str]:
    """Divisor and unit for compute whose largest value is ``largest`` PFLOPS: EFLOPS from 20,000."""
    return (1000.0, "EFLOPS") if largest >= 20_000 else (1.0, "PFLOPS")
