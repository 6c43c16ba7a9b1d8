"""Extract stage: tidy long tables from a solved model, one extractor per table.

Every table has a declared column list (:data:`COLUMNS`) with units in the names, so an
empty plan still yields tables with the right columns.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pandas as pd
import pyomo.environ as pyo

from optimizer.instance.derive import HOURS_PER_YEAR, share_weight
from optimizer.model import Context
from optimizer.results.columns import COLUMNS
from optimizer.results.extract_power import TOL, emission_rows, generator_builds, power_rows, time_to_power
from optimizer.results.extract_power import r as _r
from optimizer.results.extract_power import v as v


def extract_tables(m: pyo.ConcreteModel, ctx: Context) -> dict[str, pd.DataFrame]:
    """Every result table of a solved model, by name, with the declared columns."""
    power = power_rows(m, ctx)
    tabs = {
        "builds": _builds(m, ctx),
        "generator_builds": generator_builds(m, ctx),
        "power": power,
        "time_to_power": time_to_power(ctx, power),
        "emissions": emission_rows(m, ctx, power),
        "fleet": _fleet(m, ctx),
        "compute_use": _compute_use(m, ctx),
        "training": _training(m, ctx),
        "inference": _inference(m, ctx),
        "demand": _demand(m, ctx),
        "site_power": _site_power(m, ctx),
        "pool_load": _pool_load(m, ctx),
        "costs": _costs(m, ctx),
        "policy": _policy(m, ctx),
    }
    return {k: pd.DataFrame(rows, columns=COLUMNS[k]) for k, rows in tabs.items()}


def empty_tables() -> dict[str, pd.DataFrame]:
    """Every result table with its declared columns and no rows (a plan without a solution)."""
    return {k: pd.DataFrame(columns=cols) for k, cols in COLUMNS.items()}


def _builds(m: pyo.ConcreteModel, ctx: Context) -> list[list[Any]]:
    prep = ctx.prep
    opt = {(s.id, o.id): o for s in prep.inst.sites for o in s.build_options}
    rows: list[list[Any]] = []
    for c in prep.choices:
        key = (c.site, c.option, c.decision)
        if v(m.build[key]) > 0.5:
            o = opt[c.site, c.option]
            blocks = round(v(m.blocks[key]))
            mw = blocks * o.block_mw
            rows.append([c.site, c.option, 1, c.decision, c.online, blocks, mw,
                         o.fixed_capex_usd + o.phase_fixed_capex_usd + o.capex_usd_per_mw * mw])
    phase = {(r[0], r[1]): 1 for r in rows}
    for c in prep.expansions:  # in decision order per (site, option)
        key = (c.site, c.option, c.decision)
        if v(m.expand[key]) > 0.5:
            o = opt[c.site, c.option]
            blocks = round(v(m.expand_blocks[key]))
            mw = blocks * o.block_mw
            phase[c.site, c.option] = phase.get((c.site, c.option), 1) + 1
            rows.append([c.site, c.option, phase[c.site, c.option], c.decision, c.online, blocks, mw,
                         o.phase_fixed_capex_usd + o.capex_usd_per_mw * mw])
    order = {p: i for i, p in enumerate(prep.periods)}
    rows.sort(key=lambda r: (r[0], r[1], order[r[3]]))
    return rows


def _bought(m: pyo.ConcreteModel, ctx: Context, key: tuple[str, str, str, str]) -> float:
    return v(m.units_bought[key]) if key in m.units_bought else 0.0


def _fleet(m: pyo.ConcreteModel, ctx: Context) -> list[list[Any]]:
    prep = ctx.prep
    systems = {k.id: k for k in prep.inst.systems}
    eff = {f.id: f.training_efficiency for f in prep.inst.families}
    fleet = set(prep.FLEET)
    keys = list(prep.FLEET)
    # periods where units leave service with none left also get a row
    for (s, k, p, w) in prep.FLEET:
        i = prep.periods.index(p)
        if i + 1 < len(prep.periods):
            nxt = (s, k, prep.periods[i + 1], w)
            if nxt not in fleet:
                keys.append(nxt)
                fleet.add(nxt)
    rows: list[list[Any]] = []
    for (s, k, p, w) in keys:
        sk = systems[k]
        n = v(ctx.in_service.get((s, k, p, w), 0.0))
        i = prep.periods.index(p)
        retired = 0.0
        if i > 0:
            prev = prep.periods[i - 1]
            gone = set(prep.in_service_after[k, prev]) - set(prep.in_service_after[k, p])
            retired = sum(_bought(m, ctx, (s, k, q, w)) for q in gone)
            retired += max(0.0, prep.existing_units.get((s, k, prev), 0.0) - prep.existing_units.get((s, k, p), 0.0))
        if n < TOL and retired < TOL and _bought(m, ctx, (s, k, p, w)) < TOL:
            continue
        rows.append([
            s, k, sk.family, sk.vendor, prep.domestic[s, k], sk.divisible, p, w,
            _r(n), _r(_bought(m, ctx, (s, k, p, w))), _r(retired),
            _r(n * sk.it_kw_per_unit / 1000.0), _r(n * sk.training_pflops_per_unit * eff[sk.family]),
            _r(n * sk.inference_pflops_per_unit),
        ])
    rows.sort(key=lambda r: (r[7], r[0], r[1], prep.periods.index(r[6])))
    return rows


def _compute_use(m: pyo.ConcreteModel, ctx: Context) -> list[list[Any]]:
    prep = ctx.prep
    systems = {k.id: k for k in prep.inst.systems}
    eff = {f.id: f.training_efficiency for f in prep.inst.families}
    rows: list[list[Any]] = []
    for key in prep.FLEET:
        s, k, p, w = key
        n = v(ctx.in_service[key])
        if n < TOL:
            continue
        tr = v(m.train_use[key]) if key in m.train_use else 0.0
        inf = v(m.infer_use[key]) if key in m.infer_use else 0.0
        sk = systems[k]
        busy = ((tr / (sk.training_pflops_per_unit * eff[sk.family]) if tr else 0.0)
                + (inf / sk.inference_pflops_per_unit if inf else 0.0))
        paused = v(ctx.paused_units[key]) if key in ctx.paused_units else 0.0
        rows.append([s, k, p, w, _r(n), _r(busy), _r(n - busy), _r(tr), _r(inf), _r(100.0 * (n - busy) / n), _r(paused)])
    return rows


def _training(m: pyo.ConcreteModel, ctx: Context) -> list[list[Any]]:
    prep = ctx.prep
    by_job = defaultdict(list)
    for key in prep.ASSIGN:
        by_job[key[0], key[3]].append(key)
    rows: list[list[Any]] = []
    for w in prep.scenarios:
        for j, comp in w.job_compute.items():
            ps = sorted(comp, key=prep.periods.index)
            chosen = [key for key in by_job.get((j, w.id), []) if v(m.assign[key]) > 0.5]
            if chosen:
                _, s, f, _ = chosen[0]
                rows.append([j, w.id, True, s, f, ps[0], ps[-1], max(comp.values())])
            else:
                rows.append([j, w.id, False, None, None, ps[0], ps[-1], max(comp.values())])
    return rows


def _inference(m: pyo.ConcreteModel, ctx: Context) -> list[list[Any]]:
    """Routes split over the site's systems in proportion to each system's inference use."""
    prep = ctx.prep
    use = defaultdict(list)
    for key in prep.INFER_USE:
        x = v(m.infer_use[key])
        if x > TOL:
            s, k, p, w = key
            use[s, p, w].append((k, x))
    rows: list[list[Any]] = []
    for key in prep.ROUTE:
        g, s, p, w = key
        r = v(m.route[key])
        if r <= TOL:
            continue
        total = sum(x for _, x in use[s, p, w])
        for k, x in use[s, p, w]:
            rows.append([g, s, k, p, w, _r(r * x / total), prep.latency_ms[g, s]])
    return rows


def _demand(m: pyo.ConcreteModel, ctx: Context) -> list[list[Any]]:
    prep = ctx.prep
    served: defaultdict[tuple[str, str, str], float] = defaultdict(float)  # (g, p, w)
    for key in prep.ROUTE:
        served[key[0], key[2], key[3]] += v(m.route[key])
    rows: list[list[Any]] = []
    for w in prep.scenarios:
        for g in prep.inst.regions:
            for p in prep.periods:
                d = w.demand[g.id, p]
                if d <= 0:
                    continue
                sv = served[g.id, p, w.id]
                if abs(d - sv) <= TOL * max(1.0, d):  # a shortfall within the solver's tolerance is none
                    sv = d
                rows.append([g.id, p, w.id, d, _r(sv), _r(max(0.0, d - sv))])
    return rows


def _site_power(m: pyo.ConcreteModel, ctx: Context) -> list[list[Any]]:
    prep = ctx.prep
    systems = {k.id: k for k in prep.inst.systems}
    name_mw: defaultdict[tuple[str, str, str], float] = defaultdict(float)  # (s, p, w)
    for key in prep.FLEET:
        name_mw[key[0], key[2], key[3]] += v(ctx.in_service[key]) * systems[key[1]].it_kw_per_unit / 1000.0
    rows: list[list[Any]] = []
    for w in prep.scenario_ids:
        for s in prep.inst.sites:
            for p in prep.periods:
                built = v(ctx.capacity_mw[s.id, p])
                if built < TOL and (s.id, p, w) not in ctx.it_load_mw:
                    continue
                load = v(ctx.it_load_mw.get((s.id, p, w), 0.0))
                fac = v(ctx.facility_mw.get((s.id, p, w), 0.0))
                held = sum(q.pue / q.usable_grid_share * v(ctx.pool_load_mw.get((s.id, q.id, p, w), 0.0))
                           for q in prep.pools[s.id])
                grid = prep.grid_mw[s.id, p]
                onsite = [(g, src) for (s2, g), src in prep.supply.generators.items() if s2 == s.id and src.kind == "onsite"]
                gen = sum(v(m.generated_mw[s.id, g, p, w]) for g, _src in onsite
                          if hasattr(m, "generated_mw") and (s.id, g, p, w) in m.generated_mw)
                limit = grid + prep.supply.flexible_mw[s.id, p] + sum(
                    src.availability * v(ctx.generator_mw[s.id, g, p]) for g, src in onsite if (s.id, g, p) in ctx.generator_mw)
                rows.append([s.id, p, w, _r(built), _r(name_mw[s.id, p, w]), _r(load), _r(fac), grid, _r(fac - gen), _r(held),
                             _r(limit), _r(100.0 * held / limit) if limit > 0 else 0.0])
    return rows


def _domestic_pool_loads(m: pyo.ConcreteModel, ctx: Context) -> dict[tuple[str, str, str, str], float]:
    """Domestic IT load per (site, pool, period, scenario), MW."""
    prep = ctx.prep
    systems = {k.id: k for k in prep.inst.systems}
    dom_load: defaultdict[tuple[str, str, str], float] = defaultdict(float)  # (s, p, w)
    for key in prep.FLEET:
        s, k, p, w = key
        if prep.domestic[s, k]:
            sk = systems[k]
            dom_load[s, p, w] += sk.it_kw_per_unit / 1000.0 * (
                sk.idle_power_share * v(ctx.in_service[key]) + (1 - sk.idle_power_share) * v(ctx.busy_units[key])
            )
    out = defaultdict(float)
    for (s, p, w) in ctx.it_load_mw:
        pools = prep.pools[s]
        for q in pools:
            key = (s, q.id, p, w)
            if len(pools) == 1:
                out[key] = dom_load[s, p, w]
            else:
                out[key] = v(m.domestic_pool_load[key]) if key in m.domestic_pool_load else 0.0
    return out


def _pool_load(m: pyo.ConcreteModel, ctx: Context) -> list[list[Any]]:
    prep = ctx.prep
    dom = _domestic_pool_loads(m, ctx)
    rows: list[list[Any]] = []
    for (s, p, w) in ctx.it_load_mw:
        for q in prep.pools[s]:
            rows.append([s, q.id, p, w, _r(v(ctx.pool_capacity_mw[s, q.id, p])), _r(v(ctx.pool_load_mw[s, q.id, p, w])),
                         _r(dom[s, q.id, p, w]), q.pue, q.usable_grid_share])
    return rows


def _costs(m: pyo.ConcreteModel, ctx: Context) -> list[list[Any]]:
    prob = {w.id: w.probability for w in ctx.prep.scenarios}
    agg: defaultdict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])  # [undiscounted, discounted]
    for t in ctx.costs:
        x = v(t.expr)
        a = agg[t.category, t.period, t.scenario]
        a[0] += x * t.undiscounted
        a[1] += x * t.factor
    rows: list[list[Any]] = [[c, p, w, prob[w], _r(u), _r(d)]
                             for (c, p, w), (u, d) in agg.items() if abs(u) > TOL or abs(d) > TOL]
    order = {p: i for i, p in enumerate(ctx.prep.periods)}
    rows.sort(key=lambda r: (r[2], order[r[1]], r[0]))
    return rows


def _policy(m: pyo.ConcreteModel, ctx: Context) -> list[list[Any]]:
    prep = ctx.prep
    systems = {k.id: k for k in prep.inst.systems}
    at = defaultdict(list)
    for (s, k, p, w) in prep.FLEET:
        at[s, p, w].append(k)

    def dom_share(sites: list[str], p: str, w: str, measure: str) -> float | None:
        tot = dom = 0.0
        for s in sites:
            for k in at.get((s, p, w), []):
                c = share_weight(systems[k], measure) * v(ctx.in_service[s, k, p, w])
                tot += c
                dom += c if prep.domestic[s, k] else 0.0
        return (dom / tot) if tot > TOL else None

    dom_pool = _domestic_pool_loads(m, ctx)
    rows: list[list[Any]] = []
    for (s, p, w) in ctx.it_load_mw:
        sub = prep.scenario(w).energy_subsidy.get((s, p))
        if sub is None:
            continue
        price = prep.scenario(w).price_mwh[s, p]
        share = dom_share([s], p, w, sub.measure)
        if share is None:
            continue  # nothing installed at the site: the subsidy does not arise
        if sub.mode == "qualifying_sites":
            key = (s, p, w)
            q = key in m.qualified and v(m.qualified[key]) > 0.5
            saving = sub.share * price * HOURS_PER_YEAR * (v(m.subsidised_mw[key]) if key in m.subsidised_mw else 0.0)
            rows.append(["energy_subsidy", sub.label, s, p, w, share, sub.threshold, "domestic share", q, _r(saving)])
        else:
            dom_fac = sum(q.pue * dom_pool[s, q.id, p, w] for q in prep.pools[s])
            if (s, p, w) in m.domestic_subsidised_mw:  # capped by the tariff energy (PPA or on-site energy)
                dom_fac = v(m.domestic_subsidised_mw[s, p, w])
            saving = sub.share * price * HOURS_PER_YEAR * dom_fac
            rows.append(["energy_subsidy", sub.label, s, p, w, share, None, "domestic share", dom_fac > TOL, _r(saving)])
    for key, (t, terms) in ctx.share_rows.items():
        lab, p, w = key
        share = dom_share(sorted({s for s, _ in terms}), p, w, t.measure)
        short = v(m.share_shortfall[key]) if key in m.share_shortfall else 0.0
        met = share is None or share >= t.min_share - 1e-6
        rows.append(["share_target", lab, t.jurisdiction, p, w, share, t.min_share, "domestic share", met,
                     _r(-t.penalty * short) if short > TOL else 0.0])
    for (lab, p, w, _), (members, cap) in ctx.export_cap_rows.items():
        used = sum(_bought(m, ctx, (s, k, p, w)) for s, k in members)
        rows.append(["export_cap", lab, ",".join(sorted({systems[k].id for _, k in members})), p, w, _r(used), cap,
                     "units bought", used <= cap + 1e-6, 0.0])
    return rows


