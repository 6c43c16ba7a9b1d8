"""Site power and energy subsidies re-checked (mirrors :mod:`optimizer.model.power`; subsidies: :mod:`optimizer.model.policy`).

:func:`check_power_and_subsidies` recomputes, per site, period and scenario, the IT load
of busy and idle units and its domestic part; checks the pool split of multi-pool sites
(``load_split``, ``pool_capacity_limit``), the grid connection held within the power
limit — firm grid, flexible MW in their term and on-site generation kept
(``grid_limit``) —, the ``site_power`` and ``pool_load`` figures (power drawn from the
grid: facility power less on-site generation); adds the energy cost of the energy bought
at the tariff (the facility power, or the ``grid_firm`` and ``grid_flexible`` energy of
the ``power`` table where the site has PPA or on-site energy); and checks the energy
subsidy in force: the domestic-systems split and saving (``domestic_load_split``,
``domestic_load_within_pool``; the saving on at most the tariff energy) or the
qualifying-site threshold (``qualification``) and saving (on the tariff energy), adding
the saving as a negative cost.
Subsidies are checked in the same pass as the site's power, since they use its loads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from optimizer.results.verify.costs import Ledger
from optimizer.results.verify.fleet import Fleet, Key
from optimizer.results.verify.flows import SPW, Flows
from optimizer.results.verify.generation import Generators
from optimizer.results.verify.sites import Builds
from optimizer.results.verify.violations import Collector, Row, Subject
from optimizer.results.verify.workloads import Use
from optimizer.results.verify.world import HOURS_PER_YEAR, World, flag, fmt, ident, missing, num


@dataclass
class _Reported:
    """What the plan reports about power: pool loads, site rows and energy-subsidy rows."""

    pool_load: dict[Key, float] = field(default_factory=dict)  # (site, pool, period, scenario) -> MW
    domestic: dict[Key, float] = field(default_factory=dict)  # domestic IT load in the pool, MW
    pool_capacity: dict[Key, float] = field(default_factory=dict)
    site_rows: dict[tuple[str | None, str | None, str | None], Row] = field(default_factory=dict)
    subsidy_rows: dict[tuple[str | None, str | None, str | None], Row] = field(default_factory=dict)


@dataclass
class SitePower:
    """One site in one period and scenario, as recomputed."""

    s: str
    p: str
    w: str
    pools: list[tuple[str, float, float]]
    loads: dict[str, float]  # pool -> IT load (MW)
    domestic: float  # IT load of domestic units (MW)
    facility: float  # MW
    price: float  # USD/MWh
    it_load: float = 0.0  # MW
    held: float = 0.0  # grid connection held (MW): facility power / usable grid share of each pool
    tariff: float = 0.0  # MW bought at the grid tariff
    given: bool = False  # a load the plan cannot change (one pool, given units, all idle)


def check_power_and_subsidies(W: World, tables: Mapping[str, pd.DataFrame], builds: Builds, fleet: Fleet, use: Use,
                              flows: Flows, gens: Generators, ledger: Ledger, out: Collector) -> dict[SPW, SitePower]:
    """Check site power and energy subsidies; adds energy costs and subsidy savings; returns the sites' power."""
    rep = _read(W, tables, out)
    sites: dict[SPW, SitePower] = {}
    it, dom = _it_loads(W, fleet, use)
    busy_at: dict[SPW, float] = defaultdict(float)
    for (s, _k, p, w), b in use.busy.items():
        busy_at[s, p, w] += abs(b)
    keys = set(it) | {(s, p, w) for (s, q, p, w) in rep.pool_load}
    for (s, p, w) in sorted(keys):
        pools = W.pools(s)
        L = it.get((s, p, w), 0.0)
        what = f"site '{s}' {p} scenario {w}"
        loads = _check_pool_loads(W, builds, rep, s, p, w, L, out)
        fac = sum(pue * loads[q] for q, pue, _ in pools)
        held = sum(pue / ugs * loads[q] for q, pue, ugs in pools)  # grid connection held: drawn + redundancy headroom
        grid = W.grid[s, p]
        limit = grid + W.power.flexible_mw[s, p] + gens.onsite_kept(W, s, p)
        at = Subject("site_power", what)
        # a load the plan cannot change (one pool, only given units, all idle) is data, not a plan decision
        given = len(pools) == 1 and busy_at.get((s, p, w), 0.0) <= 1e-9 and not W.changeable(s, p, w)
        if not given and not out.le(held, limit):
            flex, onsite = W.power.flexible_mw[s, p], limit - grid - W.power.flexible_mw[s, p]
            what = (f"power limit {fmt(limit)} MW (firm grid {fmt(grid)} + flexible {fmt(flex)} + on-site generation "
                    f"kept {fmt(onsite)})") if flex or onsite else f"grid {fmt(grid)} MW"
            out.bad(at, "grid_limit", f"grid connection held {fmt(held)} MW > {what}", held, limit)
        r = rep.site_rows.get((s, p, w))
        if r is None:
            if L > out.slack(L):
                out.bad(at, "row_present", f"no row for an IT load of {fmt(L)} MW", None, L)
        else:
            drawn = fac - flows.used((s, p, w), "onsite")
            out.compare(at, r, {"built_it_mw": builds.capacity(s, p), "nameplate_it_mw": fleet.nameplate_mw.get((s, p, w), 0.0),
                                "it_load_mw": L, "facility_mw": fac, "grid_mw": grid, "grid_drawn_mw": drawn,
                                "grid_capacity_held_mw": held,
                                **({"power_limit_mw": limit} if "power_limit_mw" in r else {})})
        price = W.scen[w].price[s, p]
        tariff = flows.tariff((s, p, w)) if W.power.has_split(s) else fac  # else all of it is bought at the tariff
        if price:
            ledger.annual("energy", p, w, price * HOURS_PER_YEAR * tariff)
        D = dom.get((s, p, w), 0.0)
        if len(pools) == 1:
            q = pools[0][0]
            if (s, q, p, w) in rep.domestic and not out.eq(rep.domestic[s, q, p, w], D):
                out.mismatch(Subject("pool_load", what), "domestic_it_load_mw", rep.domestic[s, q, p, w], D,
                             label="domestic IT load", unit=" MW")
        site = SitePower(s, p, w, pools, loads, D, fac, price, L, held, tariff, given)
        sites[s, p, w] = site
        _check_energy_subsidy(W, fleet, rep, site, ledger, out)
    return sites


def _read(W: World, tables: Mapping[str, pd.DataFrame], out: Collector) -> _Reported:
    rep = _Reported()
    for r in out.rows(tables, "pool_load"):
        s, q, p, w = ident(r.get("site")), ident(r.get("pool")), ident(r.get("period")), ident(r.get("scenario"))
        if (not (out.known("pool_load", "site", s, W.sites) and out.known("pool_load", "period", p, W.idx)
                 and out.known("pool_load", "scenario", w, W.scen)) or s is None or p is None or w is None):
            continue
        if q is None or q not in {x[0] for x in W.pools(s)}:
            out.add("pool_load", f"site '{s}' pool {q!r}", "known_id", f"pool_load: site '{s}' has no pool {q!r}", q)
            continue
        rep.pool_load[s, q, p, w] = num(r.get("it_load_mw"))
        rep.domestic[s, q, p, w] = num(r.get("domestic_it_load_mw"))
        rep.pool_capacity[s, q, p, w] = num(r.get("capacity_mw"))
        pue, ugs = next((x[1], x[2]) for x in W.pools(s) if x[0] == q)
        out.compare(Subject("pool_load", f"site '{s}' {p} scenario {w} pool '{q}'"), r,
                    {c: x for c, x in (("pue", pue), ("usable_grid_share", ugs)) if not missing(r.get(c))})
    for r in out.rows(tables, "site_power"):
        rep.site_rows[ident(r.get("site")), ident(r.get("period")), ident(r.get("scenario"))] = r
    for r in out.rows(tables, "policy"):
        if r.get("kind") == "energy_subsidy":
            rep.subsidy_rows[ident(r.get("scope")), ident(r.get("period")), ident(r.get("scenario"))] = r
    return rep


def _it_loads(W: World, fleet: Fleet, use: Use) -> tuple[dict[SPW, float], dict[SPW, float]]:
    """IT load (MW) of busy and idle units per site, period and scenario; and of domestic units."""
    it: dict[SPW, float] = defaultdict(float)
    dom: dict[SPW, float] = defaultdict(float)
    for key, n in fleet.in_service.items():
        s, k, p, w = key
        sk = W.systems[k]
        load = sk.it_kw_per_unit / 1000.0 * (sk.idle_power_share * n + (1 - sk.idle_power_share) * use.busy.get(key, 0.0))
        it[s, p, w] += load
        if W.domestic[s, k]:
            dom[s, p, w] += load
    for key in use.busy:
        if key not in fleet.in_service:
            s, k, p, w = key
            sk = W.systems[k]
            it[s, p, w] += sk.it_kw_per_unit / 1000.0 * (1 - sk.idle_power_share) * use.busy[key]
    return it, dom


def _check_pool_loads(W: World, builds: Builds, rep: _Reported, s: str, p: str, w: str, L: float,
                      out: Collector) -> dict[str, float]:
    """The IT load split over the site's pools (one pool: all of it); returns the load per pool."""
    pools = W.pools(s)
    what = f"site '{s}' {p} scenario {w}"
    loads = {}
    if len(pools) == 1:
        q = pools[0][0]
        loads[q] = L
        if (s, q, p, w) in rep.pool_load and not out.eq(rep.pool_load[s, q, p, w], L):
            out.mismatch(Subject("pool_load", f"{what} pool '{q}'"), "it_load_mw", rep.pool_load[s, q, p, w], L,
                         label="IT load", unit=" MW")
        elif (s, q, p, w) not in rep.pool_load and L > out.slack(L):
            out.bad(Subject("pool_load", what), "row_present", f"no row for an IT load of {fmt(L)} MW", None, L)
    else:
        for q, _, _ in pools:
            x = rep.pool_load.get((s, q, p, w), 0.0)
            loads[q] = x
            at = Subject("pool_load", f"{what} pool '{q}'")
            if x < -out.slack(x):
                out.bad(at, "nonnegative", f"negative load {fmt(x)} MW", x, 0.0)
            cap = builds.pool_capacity(s, q, p)
            if not out.le(x, cap):
                out.bad(at, "pool_capacity_limit", f"load {fmt(x)} MW > pool capacity {fmt(cap)} MW", x, cap)
        tot = sum(loads.values())
        if not out.eq(tot, L):
            out.bad(Subject("pool_load", what), "load_split",
                    f"pool loads total {fmt(tot)} MW, but the IT load of the units is {fmt(L)} MW", tot, L)
    for q, _, _ in pools:
        cap = builds.pool_capacity(s, q, p)
        if (s, q, p, w) in rep.pool_capacity and not out.eq(rep.pool_capacity[s, q, p, w], cap):
            out.mismatch(Subject("pool_load", f"{what} pool '{q}'"), "capacity_mw", rep.pool_capacity[s, q, p, w], cap,
                         label="capacity", unit=" MW")
    return loads


def _check_energy_subsidy(W: World, fleet: Fleet, rep: _Reported, site: SitePower, ledger: Ledger,
                          out: Collector) -> None:
    """The energy subsidy in force at the site: its condition and its saving (a negative cost)."""
    s, p, w = site.s, site.p, site.w
    sub = W.scen[w].esub.get((s, p))
    if sub is None or sub[1] <= 0:
        return
    label, share, mode, theta, measure = sub
    prow = rep.subsidy_rows.get((s, p, w))
    record = f"'{label}' site '{s}' {p} scenario {w}"
    at = Subject("policy", record, head="energy_subsidy")
    if mode == "domestic_systems":
        dom_fac = _domestic_facility(rep, site, Subject("pool_load", record, head="energy_subsidy"), out)
        saving = share * site.price * HOURS_PER_YEAR * min(dom_fac, site.tariff)  # at most the tariff energy
    else:
        qualified = prow is not None and flag(prow.get("met"))
        lhs, tot_c = fleet.domestic_excess(W, [s], p, w, theta, measure)
        if qualified and lhs < -out.slack(tot_c):
            got = (lhs / tot_c + theta) if tot_c else 0.0
            out.bad(at, "qualification", f"counted as qualified, but the domestic share of installed compute "
                    f"{fmt(got)} < threshold {fmt(theta)}", got, theta)
        saving = share * site.price * HOURS_PER_YEAR * site.tariff if qualified else 0.0  # the tariff energy
    per_mw = share * site.price * HOURS_PER_YEAR  # compare in MW of facility power, not in dollars
    rep_saving = num(prow.get("usd_per_year")) if prow is not None else None
    if rep_saving is not None and not (out.eq(rep_saving / per_mw, saving / per_mw) if per_mw else out.eq(rep_saving, 0.0)):
        out.bad(at, "usd_per_year", f"saving reported {fmt(rep_saving)} USD/year, recomputed {fmt(saving)}", rep_saving, saving)
    if saving:
        ledger.annual("energy_subsidy", p, w, -saving)


def _domestic_facility(rep: _Reported, site: SitePower, at: Subject, out: Collector) -> float:
    """Facility power (MW) of domestic units: their IT load split over the pools as the plan says."""
    if len(site.pools) == 1:
        return site.pools[0][1] * site.domestic
    s, p, w = site.s, site.p, site.w
    dl = {q: rep.domestic.get((s, q, p, w), 0.0) for q, _, _ in site.pools}
    for q, x in dl.items():
        if x < -out.slack(x):
            out.bad(at, "nonnegative", f"negative domestic load {fmt(x)} MW in pool '{q}'", x, 0.0)
        if not out.le(x, site.loads[q]):
            out.bad(at, "domestic_load_within_pool", f"domestic load {fmt(x)} MW in pool '{q}' > the pool's load "
                    f"{fmt(site.loads[q])} MW", x, site.loads[q])
    if not out.eq(sum(dl.values()), site.domestic):
        out.bad(at, "domestic_load_split", f"domestic pool loads total {fmt(sum(dl.values()))} MW, "
                f"but domestic units draw {fmt(site.domestic)} MW", sum(dl.values()), site.domestic)
    return sum(pue * dl[q] for q, pue, _ in site.pools)
