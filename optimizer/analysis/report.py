"""One self-contained HTML report of a plan: headline, tables and every figure.

The file has inline CSS, tables as HTML and figures embedded as base64 PNG; it has no
scripts and no external links, so it opens from disk, offline, and can be mailed as is.

    from optimizer.analysis.report import write_report
    write_report(plan, path="out/report.html")                       # a Plan carries its instance
    write_report("out/china", inst, "out/china/report.html")         # a result folder + its instance

The command line equivalent is ``dcplan report OUT_DIR --instance FILE``.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer.analysis.figures import (
    Source,
    all_figures,
    expected,
    figure_png,
    periods_of,
    power_limit_mw,
    probabilities,
    resolve,
)
from optimizer.options import Risk
from optimizer.results import outcomes as oc
from optimizer.results.format import energy, money, money_short, number, pct, per_mwh, tonnes, years
from optimizer.results.outcomes import (
    EXPECTED_COST,
    IDLE_CAPACITY,
    IDLE_CAPACITY_MEANS,
    IDLE_DEFINITION,
    IDLE_SYSTEMS,
    IDLE_SYSTEMS_MEANS,
    cvar_name,
    energy_subsidies,
    expected_outcomes,
    idle_by,
    idle_capacity_pct,
    idle_systems_pct,
    objective_name,
    risk_averse,
    tables_outcomes,
)
from optimizer.results.read import read_plan

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from optimizer.instance.schema import Instance

Tables = dict[str, pd.DataFrame]

_CSS = """
body{font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#222;margin:0;background:#fafafa}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:1.7em;margin:0 0 4px}
h2{font-size:1.3em;margin:36px 0 8px;padding-bottom:4px;border-bottom:2px solid #e3e3e3}
h3{font-size:1.05em;margin:20px 0 6px}
p.lead{color:#555;margin:4px 0 16px;max-width:900px}
p.note{color:#666;font-size:.9em;max-width:900px}
nav{font-size:.92em;margin:12px 0 8px}
nav a{margin-right:14px;color:#2b5d9b;text-decoration:none}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:14px 0}
.card{border:1px solid #e0e0e0;border-radius:6px;padding:10px 14px;min-width:150px;background:#fcfcfc}
.card .k{font-size:.78em;color:#666;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:1.25em;font-weight:600;margin-top:2px}
.status-optimal{color:#1a7f37}.status-feasible{color:#9a6700}.status-bad{color:#c62828}
ul.msg{background:#fff8e1;border-left:4px solid #f0b400;padding:8px 12px 8px 30px;margin:10px 0}
table.t{border-collapse:collapse;font-size:.86em;margin:6px 0 14px}
table.t th,table.t td{border-bottom:1px solid #e6e6e6;padding:4px 9px;text-align:right;white-space:nowrap}
table.t th{background:#f3f5f7;font-weight:600}
table.t td.l,table.t th.l{text-align:left}
table.t tr:hover td{background:#f7fafc}
td.bad{color:#c62828;font-weight:600}td.good{color:#1a7f37}
figure{margin:10px 0 22px}
figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.88em;color:#555;margin-top:4px;max-width:950px}
details{margin:6px 0 12px}summary{cursor:pointer;color:#2b5d9b}
footer{margin-top:40px;font-size:.8em;color:#888}
"""

_CAPTIONS = {
    "map": "Sites (area ∝ IT MW online in the last period; colour = family with the most installed power), demand "
           "regions (triangles, size ∝ demand) and inference routes (width ∝ PFLOPS served). Plain longitude/latitude "
           "axes, no basemap.",
    "capacity": "IT capacity online per site and period (built and existing), with the nameplate power of the systems "
                "installed and the IT load they draw.",
    "system_mix": "Systems in service per jurisdiction of the hosting site, in effective training PFLOPS "
                  "(nominal × family training efficiency).",
    "system_mix_by_scenario": "The same in the last period, one panel per scenario (site builds are shared, "
                              "systems are bought per scenario).",
    "costs": "Discounted cost per period and category; subsidies stack below zero, dots mark each period's net cost.",
    "power": "Power drawn from the grid per site and period (facility power less on-site generation), the headroom the "
             "redundancy rule keeps unused, the power limit (firm + flexible grid + on-site generation; solid) and the "
             "firm grid connection where it differs (dashed); the percentage is the share of the limit held.",
    "power_timeline": "Per site with IT load: each period split by the energy share of each kind of source, the first "
                      "period with IT load (▶), the first with firm grid (◆), and the years of power before it (right).",
    "idle": "Nameplate MW of the installed systems by use, with built IT MW (the gap above the busy part is the idle "
            "capacity), and idle systems (idle / installed nameplate MW) per site and period.",
}


# --------------------------------------------------------------------------- formatting

def _cell(x: Any) -> str:
    """A table cell: numbers with :func:`~optimizer.results.format.number`, flags as yes/no,
    missing values as a dash, text escaped."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "–"
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return number(int(x))
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return "0" if abs(v) < 1e-9 else number(v)
    return html.escape(str(x))


def _table(df: pd.DataFrame, *, fmt: dict[str, Any] | None = None, left: tuple[str, ...] = (), index: bool = False,
           classes: dict[str, Any] | None = None) -> str:
    """A plain HTML table; ``fmt`` maps column -> function(value) -> str; text columns left-aligned."""
    if df is None or len(df) == 0:
        return '<p class="note">none</p>'
    fmt = fmt or {}
    classes = classes or {}
    d = df.reset_index() if index else df
    cols = list(d.columns)
    is_text = {c: (c in left) or d[c].dtype == object and not all(isinstance(v, (int, float, np.number, bool, np.bool_))
                                                                for v in d[c].dropna() if v != "") for c in cols}
    out = ['<table class="t"><thead><tr>']
    for c in cols:
        out.append(f'<th class="{"l" if is_text[c] else ""}">{html.escape(str(c))}</th>')
    out.append("</tr></thead><tbody>")
    for row in d.itertuples(index=False):
        out.append("<tr>")
        for c, v in zip(cols, row, strict=True):
            txt = fmt[c](v) if c in fmt else _cell(v)
            cls = ["l"] if is_text[c] else []
            if c in classes:
                extra = classes[c](v)
                if extra:
                    cls.append(extra)
            out.append(f'<td class="{" ".join(cls)}">{txt}</td>')
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _img(fig: Figure, alt: str) -> str:
    data = base64.b64encode(figure_png(fig)).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _figure(figs: dict[str, Figure], name: str) -> str:
    if name not in figs:
        return ""
    cap = _CAPTIONS.get(name, "")
    return f"<figure>{_img(figs[name], name)}<figcaption>{html.escape(cap)}</figcaption></figure>"


# --------------------------------------------------------------------------- sections

def _headline(summary: dict[str, Any], inst: Instance, probs: dict[str, float]) -> str:
    cur = inst.horizon.currency
    status = str(summary.get("status", "unknown"))
    cls = "status-optimal" if status == "optimal" else ("status-feasible" if status == "feasible" else "status-bad")
    gap = summary.get("mip_gap")
    secs = summary.get("seconds") or {}
    total_s = sum(v for v in secs.values() if isinstance(v, (int, float)))
    size = summary.get("model_size") or {}
    cards = [
        ("status", f'<span class="{cls}">{html.escape(status)}</span>'),
        *_cost_cards(summary, cur),
        ("best bound", money(summary.get("best_bound"), cur)),
        ("MIP gap", "–" if gap is None else pct(100 * gap, 3)),
        ("scenarios", ", ".join(f"{html.escape(w)} ({p:.2f})" for w, p in probs.items()) if len(probs) > 1
         else "1 (deterministic)"),
        ("time", f"{total_s:.1f} s" if secs else "–"),
    ]
    if size:
        cards.append(("model", (f"{size.get('variables', 0):,} vars ({size.get('integer_variables', 0):,} int), "
                                f"{size.get('constraints', 0):,} cons")))
    risk = summary.get("risk")
    if risk:
        cards.append(("risk setting", f"cvar:{risk.get('alpha')}:{risk.get('weight')}"))
    out = ['<div class="cards">']
    out += [f'<div class="card"><div class="k">{html.escape(k)}</div><div class="v">{v}</div></div>' for k, v in cards]
    out.append("</div>")
    msgs = [*(summary.get("messages") or []), *(f"warning: {w}" for w in summary.get("warnings") or [])]
    if msgs:
        out.append('<ul class="msg">' + "".join(f"<li>{html.escape(str(m))}</li>" for m in msgs) + "</ul>")
    return "".join(out)


def _cost_cards(summary: dict[str, Any], cur: str) -> list[tuple[str, str]]:
    """The objective under its own name (``summary.json`` ``objective_name``); under a risk setting also the
    expected discounted cost and the CVaR, each under its own name (:mod:`optimizer.results.outcomes`)."""
    risk = summary.get("risk") or None
    setting = Risk(float(risk["alpha"]), float(risk["weight"])) if risk else None
    name = str(summary.get("objective_name") or objective_name(setting))
    cards = [(name, money(summary.get("objective"), cur))]
    if risk_averse(setting) and setting is not None:
        expected = summary.get("expected_cost_usd", summary.get("expected_cost"))  # older folders: expected_cost
        cards += [(EXPECTED_COST, money(expected, cur)), (cvar_name(setting.alpha), money(summary.get("cvar_usd"), cur))]
    return cards


def _builds(t: Tables, inst: Instance) -> str:
    b = t["builds"]
    if len(b) == 0:
        return '<p class="note">No site is built or converted; only existing capacity is used.</p>'
    sites = {s.id: s for s in inst.sites}
    cur = inst.horizon.currency
    d = pd.DataFrame({
        "site": b["site"], "kind": b["site"].map(lambda s: sites[s].kind if s in sites else "?"),
        "jurisdiction": b["site"].map(lambda s: sites[s].jurisdiction if s in sites else "?"),
        "option": b["option"], "decided": b["decision_period"], "online": b["online_period"],
        "blocks": b["blocks"], "IT MW": b["it_mw"], "capex": b["capex_usd"],
    })
    tot = pd.DataFrame([{"site": "total", "kind": "", "jurisdiction": "", "option": "", "decided": "", "online": "",
                         "blocks": "", "IT MW": b["it_mw"].sum(), "capex": b["capex_usd"].sum()}])
    d = pd.concat([d, tot], ignore_index=True)
    out = [_table(d, fmt={"capex": lambda x: money_short(x, cur), "blocks": lambda x: _cell(x) if x != "" else ""},
                  left=("site", "kind", "jurisdiction", "option", "decided", "online"))]
    existing = [s for s in inst.sites if s.existing is not None]
    if existing:
        out.append('<p class="note">Existing capacity: ' + ", ".join(
            f"{html.escape(s.id)} {s.existing.it_mw:g} MW" for s in existing if s.existing is not None) + ".</p>")
    return "".join(out)


def _pivot(df: pd.DataFrame, index: list[str], value: str, periods: list[str]) -> pd.DataFrame:
    if len(df) == 0:
        return df
    piv = df.pivot_table(index=index, columns="period", values=value, aggfunc="sum", fill_value=0.0)
    piv = piv.reindex(columns=[p for p in periods if p in piv.columns])
    piv.columns = [str(c) for c in piv.columns]
    return piv.reset_index()


def _fleet(t: Tables, inst: Instance, probs: dict[str, float]) -> str:
    periods = periods_of(inst)
    fl = t["fleet"]
    if len(fl) == 0:
        return '<p class="note">No systems in service.</p>'
    multi = len(probs) > 1
    left = ("site", "system", "family", "unit counts")
    fam = {k.id: k.family for k in inst.systems}
    counts = {k.id: "continuous" if k.divisible else "whole" for k in inst.systems}

    def label(piv: pd.DataFrame) -> pd.DataFrame:
        piv.insert(2, "family", piv["system"].map(fam))
        piv.insert(3, "unit counts", piv["system"].map(counts))
        return piv

    out = []
    e = expected(fl, ["site", "system", "period"], ["units_in_service", "units_bought"], probs)
    lab = " (expected over scenarios)" if multi else ""
    piv = label(_pivot(e, ["site", "system"], "units_in_service", periods))
    out.append(f"<h3>Units in service{lab}</h3>" + _table(piv, left=left))
    pb = _pivot(e, ["site", "system"], "units_bought", periods)
    pb = label(pb[pb[[c for c in pb.columns if c not in ("site", "system")]].sum(axis=1) > 1e-9])
    out.append(f"<h3>Units bought{lab}</h3>" + _table(pb, left=left))
    if "continuous" in set(piv["unit counts"]):
        out.append('<p class="note">Unit counts "continuous": the system is divisible, its counts are not whole '
                   "units.</p>")
    # compute by family and period
    e2 = expected(fl, ["family", "period"], ["training_pflops", "inference_pflops", "nameplate_mw"], probs)
    rows = []
    for f, g in e2.groupby("family"):
        g = g.set_index("period")[["training_pflops", "inference_pflops", "nameplate_mw"]].reindex(periods).fillna(0.0)
        rows.append({"family": f, "measure": "effective training PFLOPS", **{p: g.loc[p, "training_pflops"] for p in periods}})
        rows.append({"family": f, "measure": "inference PFLOPS", **{p: g.loc[p, "inference_pflops"] for p in periods}})
        rows.append({"family": f, "measure": "nameplate MW", **{p: g.loc[p, "nameplate_mw"] for p in periods}})
    out.append(f"<h3>Compute by family{lab}</h3>" + _table(pd.DataFrame(rows), left=("family", "measure")))
    if multi:
        for w in probs:
            d = label(_pivot(fl[fl["scenario"] == w], ["site", "system"], "units_in_service", periods))
            out.append(f"<details><summary>Units in service — scenario {html.escape(w)}</summary>"
                       f"{_table(d, left=left)}</details>")
    return "".join(out)


def _placement(t: Tables, inst: Instance, probs: dict[str, float]) -> str:
    tr = t["training"]
    if len(tr) == 0:
        return '<p class="note">No training jobs.</p>'
    d = tr.rename(columns={"first_period": "from", "last_period": "to", "peak_pflops": "peak PFLOPS"})
    if len(probs) <= 1:
        d = d.drop(columns=["scenario"])
    return _table(d, left=("job", "scenario", "site", "family", "from", "to"),
                  fmt={"placed": lambda v: "yes" if v else "NOT PLACED", "site": lambda v: _cell(v) if v else "–",
                       "family": lambda v: _cell(v) if v else "–"},
                  classes={"placed": lambda v: None if v else "bad"})


def _routing(t: Tables, inst: Instance, probs: dict[str, float]) -> str:
    periods = periods_of(inst)
    dm = t["demand"]
    if len(dm) == 0:
        return '<p class="note">No inference demand.</p>'
    multi = len(probs) > 1
    lab = " (expected over scenarios)" if multi else ""
    e = expected(dm, ["region", "period"], ["demand_pflops", "served_pflops", "unserved_pflops"], probs)
    rows: list[dict[str, Any]] = []
    for g in [r.id for r in inst.regions if r.id in set(e["region"])]:
        row: dict[str, Any] = {"region": g}
        for p in periods:
            x = e[(e["region"] == g) & (e["period"] == p)]
            dem = float(x["demand_pflops"].sum())
            row[p] = "–" if dem <= 0 else pct(100 * float(x["served_pflops"].sum()) / dem)
        row["unserved PFLOPS (sum over periods)"] = float(e[e["region"] == g]["unserved_pflops"].sum())
        rows.append(row)
    tot = e.groupby("period")[["demand_pflops", "served_pflops"]].sum()
    dem_by, served_by = tot["demand_pflops"].to_dict(), tot["served_pflops"].to_dict()
    row = {"region": "all"}
    for p in periods:
        dem = float(dem_by.get(p, 0.0))
        row[p] = pct(100 * float(served_by[p]) / dem) if dem > 0 else "–"
    row["unserved PFLOPS (sum over periods)"] = float(e["unserved_pflops"].sum())
    rows.append(row)
    short = {p: (lambda v: "bad" if isinstance(v, str) and v not in ("–", "100.0 %") else None) for p in periods}
    out = [f"<h3>Share of inference demand served{lab}</h3>", _table(pd.DataFrame(rows), left=("region",), classes=short)]
    inf = t["inference"]
    if len(inf):
        last = periods[-1]
        r = expected(inf, ["region", "site", "period"], ["pflops"], probs)
        lat = inf.groupby(["region", "site"])["latency_ms"].first()
        piv = _pivot(r, ["region", "site"], "pflops", periods)
        piv["latency ms"] = [lat.get((a, b), np.nan) for a, b in zip(piv["region"], piv["site"], strict=True)]
        if last in piv.columns:
            piv = piv.sort_values(["region", last], ascending=[True, False])
        else:
            piv = piv.sort_values(["region"], ascending=True)
        out.append(f"<h3>Inference routes: PFLOPS served from each site{lab}</h3>")
        out.append(_table(piv, left=("region", "site"), fmt={"latency ms": lambda v: f"{v:.1f}"}))
    return "".join(out)


def _power(t: Tables, inst: Instance, probs: dict[str, float]) -> str:
    periods = periods_of(inst)
    sp = t["site_power"]
    if len(sp) == 0:
        return ""
    e = expected(sp, ["site", "period"], ["grid_drawn_mw", "grid_capacity_held_mw"], probs)
    limit = power_limit_mw(t)
    built = sp.groupby("site")["built_it_mw"].max()
    rows = []
    for s in [x.id for x in inst.sites if built.get(x.id, 0.0) > 1e-6]:
        row: dict[str, Any] = {"site": s}
        for p in periods:
            x = e[(e["site"] == s) & (e["period"] == p)]
            held, drawn = float(x["grid_capacity_held_mw"].sum()), float(x["grid_drawn_mw"].sum())
            g = limit.get((s, p), 0.0)
            row[p] = "–" if g <= 0 else f"{pct(100 * held / g, 0)} of {g:,.0f} MW ({number(drawn)} MW drawn)"
        rows.append(row)
    return (f"<h3>Power limit held: power drawn from the grid plus the redundancy headroom, as a share of the power "
            f"limit (firm + flexible grid + on-site generation){' (expected)' if len(probs) > 1 else ''}</h3>"
            + _table(pd.DataFrame(rows), left=("site",) + tuple(periods)))


def _time_to_power(t: Tables, inst: Instance, probs: dict[str, float]) -> str:
    """Time to power per site (and scenario), energy by source per site, energy prices and emissions per year."""
    ttp, kinds = oc.time_to_power(t), oc.source_kinds(t)
    if not ttp:
        return ""
    cur, multi = inst.horizon.currency, len(probs) > 1
    d = pd.DataFrame([{"site": r["site"], **({"scenario": r["scenario"]} if multi else {}),
                       "first period with IT load": r["first_period"],
                       "sources then": oc.sources_text(r["site"], r["sources"], kinds),
                       "firm grid from": r["firm_grid_period"] or "none in the horizon",
                       "years before firm grid": years(r["years_before_firm_grid"])} for r in ttp])
    out = ["<h3>Time to power: first period with IT load and the sources delivering energy then</h3>",
           _table(d, left=tuple(d.columns))]
    mix, price = oc.energy_mix(t, inst), oc.energy_prices(t, inst)
    rows = []
    for s, by in [*mix["by_site"].items(), ("all sites", mix["all_sites"])]:
        tot = sum(by.values())
        rows.append({"site": s, **{k: energy(x) + (f" ({pct(100 * x / tot, 0)})" if tot > 0 else "") for k, x in by.items()
                                   if mix["all_sites"].get(k, 0.0) > 1e-9},
                     "total": energy(tot), oc.ENERGY_PRICE: per_mwh(price["by_site"].get(s, price["all_sites"]), cur)})
    out += [f"<h3>Energy by source, all periods{' (expected over scenarios)' if multi else ''}</h3>",
            _table(pd.DataFrame(rows).fillna("–"), left=("site",)),
            f'<p class="note">{html.escape(oc.ENERGY_PRICE)}: {html.escape(oc.ENERGY_PRICE_MEANS)}. '
            f"{html.escape(oc.ALL_IN_PRICE)} (all sites): {html.escape(per_mwh(oc.all_in_price(t, inst), cur))} — "
            f"{html.escape(oc.ALL_IN_PRICE_MEANS)}.</p>"]
    em = oc.emissions_per_year(t, inst)
    if len(em):
        caps = {r: g["cap_t_per_year"].iloc[0] for r, g in em.groupby("rule", sort=False)}
        erows = [{"rule": r, "jurisdiction": g["jurisdiction"].iloc[0], "cap per year": "–" if caps[r] is None else
                  tonnes(caps[r]), **{str(p): tonnes(x) for p, x in zip(g["period"], g["co2_t_per_year"], strict=True)}}
                 for r, g in em.groupby("rule", sort=False)]
        out += ["<h3>Emissions per year, tCO2</h3>", _table(pd.DataFrame(erows), left=("rule", "jurisdiction"))]
    return "".join(out)


def _costs(t: Tables, inst: Instance, probs: dict[str, float]) -> str:
    periods = periods_of(inst)
    c = t["costs"]
    if len(c) == 0:
        return '<p class="note">No costs.</p>'
    cur = inst.horizon.currency
    e = expected(c, ["category", "period"], ["discounted_usd", "undiscounted_usd"], probs)
    piv = e.pivot_table(index="category", columns="period", values="discounted_usd", aggfunc="sum", fill_value=0.0)
    piv = piv.reindex(columns=[p for p in periods if p in piv.columns])
    piv["total"] = piv.sum(axis=1)
    piv = piv.sort_values("total", ascending=False)
    piv.loc["total"] = piv.sum()
    piv.columns = [str(x) for x in piv.columns]
    d = piv.reset_index()
    undisc = e.groupby("category")["undiscounted_usd"].sum()
    d["undiscounted total"] = [undisc.get(cat, undisc.sum()) if cat != "total" else undisc.sum() for cat in d["category"]]
    fmt = {col: (lambda v: money_short(v, cur)) for col in d.columns if col != "category"}
    out = [f"<h3>{'Expected d' if len(probs) > 1 else 'D'}iscounted cost by category and period</h3>",
           _table(d, fmt=fmt, left=("category",))]
    if len(probs) > 1:
        by = c.groupby("scenario")["discounted_usd"].sum()
        sc = pd.DataFrame({"scenario": list(probs), "probability": [probs[w] for w in probs],
                           "discounted cost": [by.get(w, 0.0) for w in probs]})
        out.append("<h3>Discounted cost by scenario</h3>" + _table(sc, fmt={"discounted cost": lambda v: money_short(v, cur),
                                                                           "probability": lambda v: f"{v:.2f}"},
                                                                  left=("scenario",)))
    return "".join(out)


def _policy(t: Tables, inst: Instance, probs: dict[str, float]) -> str:
    """Each rule per scope (and scenario) as a row, periods as columns."""
    pol = t["policy"]
    if len(pol) == 0:
        return '<p class="note">No policy rules bind this plan (no subsidies, share targets or export caps).</p>'
    periods = periods_of(inst)
    cur = inst.horizon.currency
    multi = len(probs) > 1
    divisible = {k.id for k in inst.systems if k.divisible}

    def nan(v: Any) -> bool:
        return v is None or (isinstance(v, float) and np.isnan(v))

    def met(v: Any) -> bool:
        return str(v).lower() == "true"

    def cell(kind: str, r: Any) -> str:
        if kind == "energy_subsidy":
            if not met(r.met):
                return "no compute there" if nan(r.value) else f"not received (domestic {pct(100 * float(r.value), 0)})"
            return f"{money_short(float(r.usd_per_year), cur)}/yr (domestic {pct(100 * float(r.value), 0)})"
        if kind == "share_target":
            share = "no compute" if nan(r.value) else pct(100 * float(r.value))
            return f"{share} vs ≥ {pct(100 * float(r.limit), 0)}" + ("" if met(r.met) else " MISSED")
        if kind == "export_cap":
            used, cap = float(r.value), float(r.limit)
            cont = " (continuous)" if divisible & set(str(r.scope).split(",")) else ""
            return (f"{number(used)} of {number(cap)}{cont}" + (" (binding)" if used >= cap - 1e-6 else "")
                    + ("" if met(r.met) else " EXCEEDED"))
        return html.escape(f"{r.value} / {r.limit}")

    titles = {"energy_subsidy": "Energy subsidies: bill saving per year where received (domestic share of the site's compute)",
              "share_target": "Domestic-share targets: domestic share of installed compute vs the target",
              "export_cap": "Export caps: units bought vs the cap"}
    out = []
    for kind, g in pol.groupby("kind", sort=False):
        keys = ["policy", "scope"] + (["scenario"] if multi else [])
        rows = []
        for key, h in g.groupby(keys, sort=False):
            key = key if isinstance(key, tuple) else (key,)
            row: dict[str, Any] = dict(zip(keys, key, strict=True))
            for r in h.itertuples():
                row[str(r.period)] = cell(str(kind), r)
            rows.append(row)
        d = pd.DataFrame(rows)
        cols = keys + [p for p in periods if p in d.columns]
        d = d.reindex(columns=cols)
        out.append(f"<h3>{html.escape(titles.get(str(kind), str(kind)))}</h3>")
        out.append(_table(d.fillna("–"), left=tuple(cols),
                          classes={p: (lambda v: "bad" if isinstance(v, str) and ("MISSED" in v or "EXCEEDED" in v) else
                                       ("good" if isinstance(v, str) and "/yr" in v else None)) for p in periods}))
        if kind == "energy_subsidy":
            out.append(_subsidy_total(t, inst, probs))
    return "".join(out)


def _subsidy_total(t: Tables, inst: Instance, probs: dict[str, float]) -> str:
    """The saving per period and its discounted total, which is the ``energy_subsidy`` credit of the costs table."""
    sub = energy_subsidies(t, inst)
    if len(sub) == 0:
        return ""
    cur = inst.horizon.currency
    row: dict[str, Any] = {"": "saving per year" + (" (expected)" if len(probs) > 1 else "")}
    disc: dict[str, Any] = {"": "saving, discounted (= − energy_subsidy in Costs)"}
    for p, per_year, discounted in zip(sub["period"], sub["usd_per_year"], sub["discounted_usd"], strict=True):
        row[str(p)] = f"{money_short(float(per_year), cur)}/yr"
        disc[str(p)] = money_short(float(discounted), cur)
    row["total"], disc["total"] = "", money_short(float(sub["discounted_usd"].sum()), cur)
    return "<h3>Energy subsidies received, per period and discounted total</h3>" + _table(
        pd.DataFrame([row, disc]), left=("",))


def _idle(t: Tables, inst: Instance, probs: dict[str, float]) -> str:
    """Idle capacity and idle systems per period and over all periods (MW-weighted, as the printed plan)."""
    if len(t["compute_use"]) == 0:
        return ""
    periods = periods_of(inst)
    by = idle_by(t, inst, ["period", "scenario"])
    e = expected(by, ["period"], ["built_mw", "busy_mw", "idle_mw", "installed_mw"], probs)
    e = e.set_index("period").reindex(periods).fillna(0.0).astype(float)
    mw = {c: e[c].to_dict() for c in ("built_mw", "busy_mw", "idle_mw", "installed_mw")}
    total = expected_outcomes(tables_outcomes(t, inst).assign(probability=lambda d: oc.probability_weights(d["scenario"], probs)))
    cap: dict[str, Any] = {"": f"{IDLE_CAPACITY}: {IDLE_CAPACITY_MEANS}"}
    sys_: dict[str, Any] = {"": f"{IDLE_SYSTEMS}: {IDLE_SYSTEMS_MEANS}"}
    for p in periods:
        built, busy, idle, installed = (float(mw[c][p]) for c in ("built_mw", "busy_mw", "idle_mw", "installed_mw"))
        cap[p] = "–" if built <= 0 else pct(idle_capacity_pct(built, busy))
        sys_[p] = "–" if installed <= 0 else pct(idle_systems_pct(idle, installed))
    cap["all periods (MW-years)"] = pct(total.get("idle_capacity_pct"))
    sys_["all periods (MW-years)"] = pct(total.get("idle_systems_pct"))
    lab = " (expected over scenarios)" if len(probs) > 1 else ""
    return (f"<h3>Idle capacity and idle systems, MW-weighted{lab}</h3>"
            + _table(pd.DataFrame([cap, sys_]), left=("",) + tuple(periods) + ("all periods (MW-years)",))
            + f'<p class="note">{html.escape(IDLE_DEFINITION)}.</p>')


# --------------------------------------------------------------------------- assembly

def _sections(t: Tables, inst: Instance, probs: dict[str, float], figs: dict[str, Figure]) -> list[tuple[str, str, str]]:
    """(id, heading, HTML) of every section after the headline."""
    return [
        ("builds", "Sites built or converted", _builds(t, inst) + _figure(figs, "capacity")),
        ("fleet", "Fleet", _fleet(t, inst, probs) + _figure(figs, "system_mix") + _figure(figs, "system_mix_by_scenario")),
        ("placement", "Training placement", _placement(t, inst, probs)),
        ("routing", "Inference routing", _routing(t, inst, probs)),
        ("power", "Power and idle compute",
         _time_to_power(t, inst, probs) + _figure(figs, "power_timeline") + _power(t, inst, probs) + _figure(figs, "power")
         + _idle(t, inst, probs) + _figure(figs, "idle")),
        ("costs", "Costs", _costs(t, inst, probs) + _figure(figs, "costs")),
        ("policy", "Policy", _policy(t, inst, probs)),
    ]


def report_html(src: Source, inst: Instance | None = None, *, summary: dict[str, Any] | None = None,
                title: str | None = None, figures: bool = True) -> str:
    """The report as one HTML string (see :func:`write_report`)."""
    if isinstance(src, (str, Path)):
        src, stored = read_plan(src)
        summary = stored if summary is None else summary
    elif summary is None:
        summary = src.summary() if hasattr(src, "summary") and callable(src.summary) else {}
    tables, inst = resolve(src, inst)
    probs = probabilities(tables, inst)
    has = len(tables["costs"]) > 0 or len(tables["fleet"]) > 0 or summary.get("status") in ("optimal", "feasible")
    name = html.escape(title or f"dcplan report — {inst.name}")
    figs = all_figures(tables, inst) if (figures and has) else {}
    try:
        sections = [("headline", "Headline", _headline(summary, inst, probs) + _figure(figs, "map"))]
        if has:
            sections += _sections(tables, inst, probs, figs)
        else:
            sections.append(("none", "No plan", '<p class="note">The solve found no plan; the messages above say why.</p>'))
    finally:
        figs.clear()
    from optimizer._version import __version__

    desc = f'<p class="lead">{html.escape(inst.description)}</p>' if inst.description else ""
    nav = "<nav>" + "".join(f'<a href="#{sid}">{html.escape(h)}</a>' for sid, h, _ in sections) + "</nav>"
    body = "".join(f'<section id="{sid}"><h2>{html.escape(h)}</h2>{content}</section>' for sid, h, content in sections)
    periods = ", ".join(periods_of(inst))
    units = ('<p class="note">Money is discounted to the start of the horizon; '
             f'periods {html.escape(periods)}; currency {html.escape(inst.horizon.currency)}. '
             "Training PFLOPS are effective (nominal × family efficiency) unless marked nominal.</p>")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{name}</title><style>{_CSS}</style></head><body><main>"
            f"<h1>{name}</h1>{desc}{units}{nav}{body}"
            f"<footer>Written by dcplan {html.escape(__version__)}. Self-contained: no scripts, no external links.</footer>"
            "</main></body></html>\n")


def write_report(src: Source, inst: Instance | None = None, path: str | Path = "report.html", *,
                 summary: dict[str, Any] | None = None, title: str | None = None) -> Path:
    """Write the report of a Plan, a dict of tables or a result folder as one self-contained HTML file.

    ``inst`` is needed unless ``src`` is a Plan. ``summary`` (status, objective, gap, messages)
    comes from the Plan or the folder's ``summary.json`` unless given.
    """
    text = report_html(src, inst, summary=summary, title=title)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out
