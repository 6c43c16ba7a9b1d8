"""A greedy planning baseline — what a careful spreadsheet user would do — priced by dcplan's own cost rules.

::

    python -m benchmarks.greedy instances/quickstart.yaml out/synth-L.yaml [--time-limit 300] [--csv OUT.csv]

The greedy (one pass through the periods, earliest first; all rules respected):

1. **Cheapest power first, fill sites in order.** Sites are ranked by electricity price.
   Must-serve regions first, then the others by demand, take inference capacity from the
   cheapest site they may use (latency, residency); a site that is not built yet is built the
   first time demand is put on it, with the option (among those online in time) of lowest
   capex per MW, decided as late as still possible, and sized at the end to the largest
   nameplate it ever carries (whole blocks). Sites are planned on the most probable scenario.
2. **Systems:** at a site, idle installed units are used first; new units are the allowed
   system (not banned, within export caps and supply) of lowest price-plus-fee per PFLOPS
   — domestic systems first where a domestic-share target is in force — that fits the free
   nameplate and grid power (PUE and redundancy at full load).
3. **Training jobs** are placed whole, when they start, biggest first, at the cheapest-power
   site (and family) in their allowed jurisdictions that can carry them in every period of the
   job; units are bought for them there.
4. **Hard domestic-share targets** are repaired at the end of each period by buying domestic
   units where there is room.
5. With the sites fixed, steps 2–4 are repeated for every scenario (systems and placements are
   per scenario in dcplan too).

**Pricing with the same rules.** The greedy's decisions — builds (site, option, decision period,
blocks), units bought per site, system, period and scenario, and job placements — are fixed in
dcplan's own model (``prepare`` → ``build_model``; the variables are fixed, nothing in
``optimizer/`` changes) and HiGHS prices them: routing, idle/busy split, loads, subsidy
qualification and penalties are then chosen optimally for that fixed plan, which favours the
greedy (its cost is a lower bound on a spreadsheet's own routing). The plan is then re-checked
by ``optimizer.verify_plan``. The dcplan plan is solved from the same instance with the given
gap and time limit; the saving is ``(greedy − dcplan) / greedy``.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

EPS = 1e-9


@dataclass
class GreedyPlan:
    builds: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (site, option, decision) -> blocks
    bought: dict[tuple[str, str, str, str], float] = field(default_factory=dict)  # (s, k, p, w) -> units
    assign: set[tuple[str, str, str, str]] = field(default_factory=set)  # (j, s, f, w)
    unserved_pflops: dict[str, float] = field(default_factory=dict)  # scenario -> PFLOPS-periods unserved (own estimate)
    notes: list[str] = field(default_factory=list)


class _Sim:
    """One greedy pass over the periods for one scenario."""

    def __init__(self, prep, w, cap_mw, build_mode: bool, plan_builds: dict | None = None):
        self.prep = prep
        self.inst = prep.inst
        self.w = w
        self.periods = prep.periods
        self.systems = {k.id: k for k in self.inst.systems}
        self.eff = {f.id: f.training_efficiency for f in self.inst.families}
        self.cap_mw = cap_mw  # fn(s, p) -> usable MW (build mode: potential if not yet built)
        self.build_mode = build_mode
        self.built: dict[str, tuple] = dict(plan_builds or {})  # s -> (option, decision, online)
        self.buy_ok = {(s, k, p) for (s, k, p, ww) in prep.BUY if ww == w.id}
        self.bought: dict[tuple[str, str, str], float] = defaultdict(float)  # (s, k, p)
        self.assign: set[tuple[str, str, str]] = set()  # (j, s, f)
        self.reserved = defaultdict(float)  # (s, k, p) -> units busy with training
        self.peak_mw = defaultdict(float)  # s -> largest nameplate MW in service
        self.unserved = 0.0
        self.cap_used = defaultdict(float)  # (cap index) -> units
        self.supply_used = defaultdict(float)  # (k, p)
        from optimizer.instance.derive import per_period

        self.supply = {k.id: (per_period(k.supply_units, self.periods) if k.supply_units is not None else None)
                       for k in self.inst.systems}
        self.caps_of = defaultdict(list)  # (s, k, p) -> cap indices
        for i, c in enumerate(w.caps):
            for (s, k) in c.members:
                self.caps_of[s, k, c.period].append(i)
        self.target_sites = defaultdict(bool)  # (s, p) -> a domestic-share target holds here now or later
        for t in w.targets:
            for s in t.sites:
                for p in self.periods[: self.periods.index(t.period) + 1]:
                    self.target_sites[s, p] = True
        self.routes = defaultdict(list)
        for (g, s, p, ww) in prep.ROUTE:
            if ww == w.id:
                self.routes[g, p].append(s)
        self.options = defaultdict(list)
        for (j, s, f, ww) in prep.ASSIGN:
            if ww == w.id:
                self.options[j].append((s, f))

    # --------------------------------------------------------------- fleet accounting
    def in_service(self, s: str, k: str, p: str) -> float:
        n = self.prep.existing_units.get((s, k, p), 0.0)
        return n + sum(self.bought.get((s, k, q), 0.0) for q in self.prep.in_service_after[k, p])

    def nameplate(self, s: str, p: str) -> float:
        return sum(self.systems[k].it_kw_per_unit / 1000.0 * self.in_service(s, k, p) for k in self.systems)

    def free_mw(self, s: str, p: str) -> float:
        """Free nameplate at s in p and every later period (units bought now stay in service)."""
        later = self.periods[self.periods.index(p):]
        return min(self.cap_mw(s, q, self) - self.nameplate(s, q) for q in later)

    def idle_units(self, s: str, k: str, p: str, busy_inf: dict) -> float:
        return max(0.0, self.in_service(s, k, p) - self.reserved[s, k, p] - busy_inf[s, k])

    def room_to_buy(self, s: str, k: str, p: str) -> float:
        """Units of k that may still be bought at s in p (export caps, supply, unit bound)."""
        if (s, k, p) not in self.buy_ok:
            return 0.0
        room = self.prep.max_units[s, k] - self.bought[s, k, p]
        for i in self.caps_of.get((s, k, p), []):
            room = min(room, self.w.caps[i].cap_units - self.cap_used[i])
        sup = self.supply[k]
        if sup is not None:
            room = min(room, sup[p] - self.supply_used[k, p])
        return max(0.0, room)

    def buy(self, s: str, k: str, p: str, n: float) -> None:
        if n <= EPS:
            return
        self.bought[s, k, p] += n
        if self.build_mode and s not in self.built:
            existing = sum(pl.existing_mw for pl in self.prep.pools[s])
            if any(self.nameplate(s, q) > existing + EPS for q in self.periods[self.periods.index(p):]):
                self._build(s, p)
        for i in self.caps_of.get((s, k, p), []):
            self.cap_used[i] += n
        self.supply_used[k, p] += n
        for q in self.periods[self.periods.index(p):]:
            self.peak_mw[s] = max(self.peak_mw[s], self.nameplate(s, q))

    def _build(self, s: str, p: str) -> None:
        c = best_choice(self.prep, s, p)
        if c is not None:
            self.built[s] = (c.option, c.decision, c.online)

    def unit_cost_per_pflops(self, s: str, k: str, p: str, training_family: str | None) -> float:
        sk = self.systems[k]
        pf = sk.training_pflops_per_unit * self.eff[sk.family] if training_family else sk.inference_pflops_per_unit
        if pf <= 0 or (training_family and sk.family != training_family):
            return math.inf
        price = self.w.unit_price[k, p] + self.w.premium.get((s, k, p), 0.0)
        return price / pf

    def ranked_systems(self, s: str, p: str, training_family: str | None) -> list[str]:
        ks = [k for k in self.systems if (s, k, p) in self.buy_ok
              and math.isfinite(self.unit_cost_per_pflops(s, k, p, training_family))]
        domestic_first = self.target_sites[s, p]
        return sorted(ks, key=lambda k: (not (domestic_first and self.prep.domestic[s, k]),
                                         self.unit_cost_per_pflops(s, k, p, training_family)))

    def buyable_pflops(self, s: str, p: str, family: str | None) -> float:
        """PFLOPS that new units could add at s in p (best system that fits)."""
        free = self.free_mw(s, p)
        best = 0.0
        for k in self.ranked_systems(s, p, family):
            sk = self.systems[k]
            units = min(self.room_to_buy(s, k, p), free * 1000.0 / sk.it_kw_per_unit)
            if not sk.divisible:
                units = math.floor(units + EPS)
            pf = sk.training_pflops_per_unit * self.eff[sk.family] if family else sk.inference_pflops_per_unit
            best = max(best, units * pf)
        return best

    def acquire(self, s: str, p: str, need_pf: float, family: str | None, busy_inf: dict) -> float:
        """Cover up to need_pf at s in p: idle units first, then new units. Returns PFLOPS covered."""
        got = 0.0
        # idle installed units
        for k in self.systems:
            sk = self.systems[k]
            if family is not None and sk.family != family:
                continue
            pf = sk.training_pflops_per_unit * self.eff[sk.family] if family else sk.inference_pflops_per_unit
            if pf <= 0:
                continue
            idle = self.idle_units(s, k, p, busy_inf)
            use = min(idle, (need_pf - got) / pf)
            if use > EPS:
                self._occupy(s, k, p, use, family, busy_inf)
                got += use * pf
            if got >= need_pf - EPS:
                return got
        # new units of the preferred systems
        for k in self.ranked_systems(s, p, family):
            sk = self.systems[k]
            pf = sk.training_pflops_per_unit * self.eff[sk.family] if family else sk.inference_pflops_per_unit
            units = (need_pf - got) / pf
            fit = min(self.room_to_buy(s, k, p), self.free_mw(s, p) * 1000.0 / sk.it_kw_per_unit)
            if not sk.divisible:
                units = math.ceil(units - EPS)
                fit = math.floor(fit + EPS)
                if units > fit:  # a whole unit more than needed may not fit: take what fits
                    units = fit
            units = min(units, fit)
            if units <= EPS:
                continue
            self.buy(s, k, p, units)
            self._occupy(s, k, p, units, family, busy_inf)
            got += units * pf
            if got >= need_pf - EPS:
                break
        return min(got, need_pf) if got > need_pf else got

    def _occupy(self, s, k, p, units, family, busy_inf):
        if family is None:
            busy_inf[s, k] += units
        else:
            self.reserved[s, k, p] += units

    # --------------------------------------------------------------- one period
    def run(self) -> None:
        w = self.w
        jobs = {j.id: j for j in self.inst.training_jobs}
        start = {j: min(c, key=self.periods.index) for j, c in w.job_compute.items()}
        for p in self.periods:
            busy_inf = defaultdict(float)
            # training jobs starting now: biggest first, whole, at the cheapest-power feasible site
            starting = sorted([j for j in w.job_compute if start[j] == p], key=lambda j: -max(w.job_compute[j].values()))
            starting.sort(key=lambda j: not jobs[j].must_place)
            for j in starting:
                self._place_job(j, busy_inf)
            # inference: must-serve first, then by demand; cheapest power first
            regions = [g for g in self.inst.regions if w.demand[g.id, p] > EPS]
            regions.sort(key=lambda g: (not g.must_serve, -w.demand[g.id, p]))
            for g in regions:
                need = w.demand[g.id, p]
                for s in sorted(self.routes.get((g.id, p), []), key=lambda s: w.price_mwh[s, p]):
                    if need <= EPS:
                        break
                    if self.cap_mw(s, p, self) <= EPS and not self._idle_any(s, p, busy_inf):
                        continue
                    need -= self.acquire(s, p, need, None, busy_inf)
                self.unserved += max(0.0, need)
            self._repair_share_targets(p)

    def _idle_any(self, s, p, busy_inf) -> bool:
        return any(self.idle_units(s, k, p, busy_inf) > EPS for k in self.systems)

    def _family_pf(self, s, f, p) -> float:
        return sum(self.in_service(s, k, p) * self.systems[k].training_pflops_per_unit * self.eff[f]
                   for k in self.systems if self.systems[k].family == f)

    def _place_job(self, j: str, busy_inf) -> None:
        w = self.w
        comp = w.job_compute[j]
        cands = sorted(self.options.get(j, []), key=lambda sf: w.price_mwh[sf[0], min(comp, key=self.periods.index)])
        for s, f in cands:
            if self._job_fits(s, f, comp):
                first = min(comp, key=self.periods.index)
                for p, c in sorted(comp.items(), key=lambda t: self.periods.index(t[0])):
                    self.acquire(s, p, c, f, busy_inf if p == first else defaultdict(float))
                self.assign.add((j, s, f))
                return

    def _job_fits(self, s, f, comp) -> bool:
        for p, c in comp.items():
            if self.cap_mw(s, p, self) <= EPS and self._family_pf(s, f, p) <= EPS:
                return False
            idle = sum(max(0.0, self.in_service(s, k, p) - self.reserved[s, k, p])
                       * self.systems[k].training_pflops_per_unit * self.eff[f]
                       for k in self.systems if self.systems[k].family == f)
            if idle + self.buyable_pflops(s, p, f) < c - 1e-6:
                return False
        return True

    def _repair_share_targets(self, p: str) -> None:
        for t in self.w.targets:
            if t.period != p or not t.hard:
                continue
            def gap(t=t) -> float:  # bind this iteration's target
                return sum((int(self.prep.domestic[s, k]) - t.min_share) * share_weight(self.systems[k], t)
                           * self.in_service(s, k, p)
                           for s in t.sites for k in self.systems)
            for s in sorted(t.sites, key=lambda s: self.w.price_mwh[s, p]):
                if gap() >= -EPS:
                    break
                for k in self.ranked_systems(s, p, None):
                    if not self.prep.domestic[s, k]:
                        continue
                    sk = self.systems[k]
                    per_unit = (1 - t.min_share) * share_weight(sk, t)
                    units = -gap() / per_unit
                    fit = min(self.room_to_buy(s, k, p), self.free_mw(s, p) * 1000.0 / sk.it_kw_per_unit)
                    if not sk.divisible:
                        units, fit = math.ceil(units - EPS), math.floor(fit + EPS)
                    units = min(units, fit)
                    if units > EPS:
                        self.buy(s, k, p, units)
                    if gap() >= -EPS:
                        break


def share_weight(system, target) -> float:
    """What one unit counts for in a domestic-share target (the model's own rule when available)."""
    measure = getattr(target, "measure", "training_pflops")
    try:
        from optimizer.instance.derive import share_weight as rule
    except ImportError:  # older versions count training PFLOPS, else inference
        return system.training_pflops_per_unit or system.inference_pflops_per_unit
    return rule(system, measure)


def best_choice(prep, s: str, p: str):
    """Build choice at s online by p: lowest capex per MW, decided as late as possible."""
    opt = {(x.id, o.id): o for x in prep.inst.sites for o in x.build_options}
    idx = {q: i for i, q in enumerate(prep.periods)}
    ok = [c for c in prep.choices if c.site == s and idx[c.online] <= idx[p]]
    if not ok:
        return None
    return min(ok, key=lambda c: (opt[s, c.option].capex_usd_per_mw
                                  + opt[s, c.option].fixed_capex_usd / max(opt[s, c.option].max_it_mw, 1),
                                  -idx[c.decision]))


def usable_mw(prep, s: str, p: str, built_mw: float) -> float:
    """Nameplate the site can carry at full load: built capacity, and grid / (PUE / share) of its worst pool."""
    pools = prep.pools[s]
    if not pools:
        return 0.0
    worst = max(q.pue / q.usable_grid_share for q in pools)
    return max(0.0, min(built_mw, prep.grid_mw[s, p] / worst))


def greedy_plan(prep) -> GreedyPlan:
    """The greedy's decisions for every scenario (sites planned on the most probable scenario)."""
    inst = prep.inst
    opt = {(x.id, o.id): o for x in inst.sites for o in x.build_options}
    idx = {q: i for i, q in enumerate(prep.periods)}
    existing = {x.id: (x.existing.it_mw if x.existing else 0.0) for x in inst.sites}

    # pass 1: site builds, planned on the most probable scenario with every site's potential capacity
    def potential(s, p, sim):
        if s in sim.built:
            o, d, online = sim.built[s]
            add = (opt[s, o].block_mw * math.floor(opt[s, o].max_it_mw / opt[s, o].block_mw + EPS)
                   if idx[online] <= idx[p] else 0.0)
            return usable_mw(prep, s, p, existing[s] + add)
        c = best_choice(prep, s, p)
        add = (opt[s, c.option].block_mw * math.floor(opt[s, c.option].max_it_mw / opt[s, c.option].block_mw + EPS)) if c else 0.0
        return usable_mw(prep, s, p, existing[s] + add)

    main = max(prep.scenarios, key=lambda w: w.probability)
    sim = _Sim(prep, main, potential, build_mode=True)
    sim.run()
    plan = GreedyPlan()
    built = {}
    for s, (o, d, online) in sim.built.items():
        need = max(0.0, sim.peak_mw[s] - existing[s])
        blocks = min(math.ceil(need / opt[s, o].block_mw - 1e-9), math.floor(opt[s, o].max_it_mw / opt[s, o].block_mw + EPS))
        if blocks >= 1:
            plan.builds[s, o, d] = blocks
            built[s] = (o, d, online, blocks * opt[s, o].block_mw)

    # pass 2: with the sites fixed, systems and placements per scenario
    def fixed(s, p, _sim):
        add = built[s][3] if s in built and idx[built[s][2]] <= idx[p] else 0.0
        return usable_mw(prep, s, p, existing[s] + add)

    for w in prep.scenarios:
        sc = _Sim(prep, w, fixed, build_mode=False)
        sc.run()
        for (s, k, p), n in sc.bought.items():
            if n > EPS:
                plan.bought[s, k, p, w.id] = n
        plan.assign |= {(j, s, f, w.id) for (j, s, f) in sc.assign}
        plan.unserved_pflops[w.id] = sc.unserved
    return plan


def price_plan(inst, plan: GreedyPlan, *, time_limit: float | None = 300.0, mip_gap: float = 1e-4):
    """Fix the greedy's builds, units and placements in dcplan's model and let HiGHS price the rest."""
    import optimizer
    from optimizer.instance.derive import prepare
    from optimizer.model import build_model
    from optimizer.options import SolveOptions
    from optimizer.results.extract import extract_tables
    from optimizer.solver import solve_model

    prep = prepare(inst)
    m, ctx = build_model(prep)
    for key in m.BUILD:
        blocks = plan.builds.get(key, 0)
        m.build[key].fix(1 if blocks else 0)
        m.blocks[key].fix(blocks)
    for key in m.BUY:
        m.units_bought[key].fix(plan.bought.get(key, 0.0))
    for key in m.ASSIGN:
        m.assign[key].fix(1 if key in plan.assign else 0)
    out = solve_model(m, ctx, SolveOptions(time_limit=time_limit, mip_gap=mip_gap))
    report = None
    if out.has_solution:
        tables = extract_tables(m, ctx)
        report = optimizer.verify_plan(inst, tables, out.objective)
    return out, report


# ----------------------------------------------------------------------------- comparison
COLUMNS = ["instance", "dcplan_status", "dcplan_cost", "dcplan_bound", "dcplan_gap", "dcplan_s", "greedy_status",
           "greedy_cost", "greedy_verified", "greedy_s", "saving_pct", "greedy_sites_built", "dcplan_sites_built"]


def compare(path: str | Path, *, time_limit: float | None = 300.0, mip_gap: float = 0.01) -> dict:
    import optimizer
    from optimizer.instance.derive import prepare

    inst = optimizer.load_instance(path)
    t0 = time.perf_counter()
    prep = prepare(inst)
    if prep.impossible:
        return {"instance": inst.name, "greedy_status": "impossible instance"}
    plan = greedy_plan(prep)
    g_out, rep = price_plan(inst, plan, time_limit=time_limit)
    g_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    d = optimizer.solve(inst, optimizer.SolveOptions(time_limit=time_limit, mip_gap=mip_gap))
    d_s = time.perf_counter() - t0
    saving = None
    if g_out.objective and d.objective is not None:
        saving = 100.0 * (g_out.objective - d.objective) / g_out.objective
    return {
        "instance": inst.name, "dcplan_status": d.status, "dcplan_cost": d.objective, "dcplan_bound": d.best_bound,
        "dcplan_gap": d.mip_gap, "dcplan_s": round(d_s, 2), "greedy_status": g_out.status, "greedy_cost": g_out.objective,
        "greedy_verified": "" if rep is None else ("ok" if rep.ok else f"{len(rep.violations)} violations: {rep.messages[:3]}"),
        "greedy_s": round(g_s, 2), "saving_pct": None if saving is None else round(saving, 2),
        "greedy_sites_built": len(plan.builds), "dcplan_sites_built": len(d.tables["builds"]) if d.has_solution else None,
    }


def _num(x, spec: str) -> str:
    return "" if x is None else format(x, spec)


def _line(r: dict) -> str:
    gap = "" if r.get("dcplan_gap") is None else f"{100 * r['dcplan_gap']:.2f}%"
    saving = "" if r.get("saving_pct") is None else f"{r['saving_pct']:.1f}%"
    greedy = r.get("greedy_status", "") if r.get("greedy_cost") is None else _num(r["greedy_cost"], ".6g")
    return (f"{r['instance']:<22} {_num(r.get('dcplan_cost'), '.6g'):>16} {gap:>7} {greedy:>16} {saving:>8}  "
            f"{r.get('greedy_verified', '')}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.greedy", description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+", help="instance files")
    ap.add_argument("--time-limit", type=float, default=300.0, help="seconds per solve (default 300)")
    ap.add_argument("--mip-gap", type=float, default=0.01, help="dcplan's relative gap (default 0.01)")
    ap.add_argument("--csv", metavar="OUT.csv")
    args = ap.parse_args(argv)
    rows = []
    print(f"{'instance':<22} {'dcplan':>16} {'gap':>7} {'greedy':>16} {'saving':>8}  greedy check")
    for f in args.files:
        r = compare(f, time_limit=args.time_limit, mip_gap=args.mip_gap)
        rows.append(r)
        print(_line(r), flush=True)
        if args.csv:
            Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
            with open(args.csv, "w", newline="") as fh:
                wr = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
                wr.writeheader()
                wr.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
