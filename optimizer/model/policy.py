r"""Policies: energy subsidies (domestic systems, qualifying sites) and domestic-share targets.

Compute for shares is installed compute :math:`F_k N_{skpw}` with :math:`F_k` the
weight of one unit under the rule's measure: nominal training PFLOPS (inference PFLOPS
if the system has no training throughput; the default), inference PFLOPS, or accelerator
chips; :math:`\delta_{sk}=1` if the system's origin encloses the site's jurisdiction.

Subsidies discount the energy billed at the grid tariff, :math:`t_{spw}` (``tariff_mw``,
:mod:`optimizer.model.supply`; the facility power where the site has no PPA or on-site
generation): not PPA energy, not fuel.

**Domestic-systems subsidy** (share :math:`\alpha`): the energy of domestic units is
discounted; where the site also has PPA or on-site energy, at most the tariff energy
(``domestic_subsidised_mw`` :math:`\le` the domestic facility power and :math:`\le t_{spw}`:
``domestic_subsidy_within_use``, ``domestic_subsidy_within_tariff``). Domestic IT load :math:`L^D_{spw}` (the IT-load formula over domestic systems)
is split over pools like the total load (``domestic_load_split``: :math:`\sum_q \ell^D_{sqpw} = L^D_{spw}`;
``domestic_load_within_pool``: :math:`\ell^D_{sqpw}\le\ell_{sqpw}`; both created only for multi-pool sites); saving per year :math:`\alpha c_{spw}\,8760\sum_q \mathrm{PUE}_q \ell^D_{sqpw}`.

**Qualifying-site subsidy** (share :math:`\alpha`, threshold :math:`\theta`): binary
:math:`q_{spw}` (``qualified``); subsidised facility power :math:`h_{spw}` (``subsidised_mw``):

.. math::
    \sum_k (\delta_{sk}-\theta) F_k N_{skpw} \ge -M_s (1-q_{spw})                  \quad\text{(qualification)}

    h_{spw} \le t_{spw},\qquad h_{spw} \le (G_{sp}+F_{sp})\, q_{spw}              \quad\text{(subsidy\_within\_use, subsidy\_needs\_qualification)}

with :math:`M_s=\theta\cdot 1000\,\overline{IT}_s\max_{k\text{ foreign}} F_k/P_k`: the
nameplate limit bounds the site's foreign compute by its largest IT capacity times the
best foreign PFLOPS per kW, so the condition is exact (no feasible plan is cut off). The
row is omitted when no foreign system can be at the site (M = 0). Saving per year
:math:`\alpha c_{spw}\,8760\,h_{spw}`.

**Domestic-share target** :math:`\tau` in jurisdiction :math:`J`:

.. math::
    \sum_{s\in J}\sum_k (\delta_{sk}-\tau) F_k N_{skpw} + v_{tpw} \ge 0               \quad\text{(domestic\_share)}

with shortfall :math:`v\ge0` (``share_shortfall``) only for soft targets, at a penalty
per unit of the measure and year (PFLOPS-year, or chip-year).
"""  # noqa: E501

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pyomo.environ as pyo

from optimizer.instance.derive import HOURS_PER_YEAR, Prepared, TargetRule, share_weight
from optimizer.instance.schema import System
from optimizer.model.context import Context

SPW = tuple[str, str, str]
"""(site, period, scenario)."""
ShareRows = dict[SPW, tuple[TargetRule, list[tuple[str, str]]]]
"""(target label, period, scenario) -> (the target rule, its (site, system) terms)."""


def add(m: pyo.ConcreteModel, ctx: Context) -> None:
    """Add the energy subsidies and the domestic-share targets, in this order."""
    prep = ctx.prep
    systems = {k.id: k for k in prep.inst.systems}
    at = _systems_at(prep)
    dom_idx, qual_idx = _subsidised_sites(prep, at)
    _add_domestic_systems_subsidy(m, ctx, systems, at, dom_idx)
    _add_qualifying_site_subsidy(m, ctx, systems, at, qual_idx)
    _add_share_targets(m, ctx, systems, at)


def _systems_at(prep: Prepared) -> defaultdict[SPW, list[str]]:
    """Systems that can be in service at each (site, period, scenario), in fleet order."""
    at: defaultdict[SPW, list[str]] = defaultdict(list)
    for (s, k, p, w) in prep.FLEET:
        at[s, p, w].append(k)
    return at


def _subsidised_sites(prep: Prepared, at: dict[SPW, list[str]]) -> tuple[list[SPW], list[SPW]]:
    """(site, period, scenario) keys under a domestic-systems and under a qualifying-site subsidy."""
    dom_idx: list[SPW] = []
    qual_idx: list[SPW] = []
    for (s, p, w), ks in at.items():
        sub = prep.scenario(w).energy_subsidy.get((s, p))
        if sub is None or sub.share <= 0:
            continue
        if sub.mode == "domestic_systems" and any(prep.domestic[s, k] for k in ks):
            dom_idx.append((s, p, w))
        elif sub.mode == "qualifying_sites":
            qual_idx.append((s, p, w))
    return dom_idx, qual_idx


def _domestic_load(ctx: Context, systems: dict[str, System], at: dict[SPW, list[str]], dom_idx: list[SPW]) -> dict[SPW, Any]:
    """IT load in MW of the domestic units at each subsidised (site, period, scenario)."""
    prep = ctx.prep
    dom_load = {}
    for (s, p, w) in dom_idx:
        dom_load[s, p, w] = sum(
            systems[k].it_kw_per_unit / 1000.0
            * (systems[k].idle_power_share * ctx.in_service[s, k, p, w]
               + (1 - systems[k].idle_power_share) * ctx.busy_units[s, k, p, w])
            for k in at[s, p, w] if prep.domestic[s, k]
        )
    return dom_load


def _add_domestic_systems_subsidy(m: pyo.ConcreteModel, ctx: Context, systems: dict[str, System],
                                  at: dict[SPW, list[str]], dom_idx: list[SPW]) -> None:
    """Domestic-systems subsidy: domestic load split over pools, its energy discounted."""
    prep = ctx.prep
    dom_load = _domestic_load(ctx, systems, at, dom_idx)
    dom_multi = [key for key in dom_idx if len(prep.pools[key[0]]) > 1]
    m.DOM_POOL = pyo.Set(dimen=4, initialize=[(s, q.id, p, w) for (s, p, w) in dom_multi for q in prep.pools[s]], ordered=True)
    m.domestic_pool_load = pyo.Var(m.DOM_POOL, within=pyo.NonNegativeReals)
    m.domestic_load_split = pyo.Constraint(
        dom_multi, rule=lambda _m, s, p, w: sum(m.domestic_pool_load[s, q.id, p, w] for q in prep.pools[s]) == dom_load[s, p, w]
    )
    m.domestic_load_within_pool = pyo.Constraint(
        m.DOM_POOL, rule=lambda _m, s, q, p, w: m.domestic_pool_load[s, q, p, w] <= ctx.pool_load_mw[s, q, p, w]
    )
    dom_fac = {}
    for (s, p, w) in dom_idx:
        if len(prep.pools[s]) > 1:
            dom_fac[s, p, w] = sum(q.pue * m.domestic_pool_load[s, q.id, p, w] for q in prep.pools[s])
        else:
            dom_fac[s, p, w] = prep.pools[s][0].pue * dom_load[s, p, w]
    capped = [key for key in dom_idx if ctx.tariff_mw[key] is not ctx.facility_mw[key]]
    m.DOM_CAPPED = pyo.Set(dimen=3, initialize=capped, ordered=True)
    m.domestic_subsidised_mw = pyo.Var(m.DOM_CAPPED, within=pyo.NonNegativeReals)
    m.domestic_subsidy_within_use = pyo.Constraint(
        m.DOM_CAPPED, rule=lambda _m, s, p, w: m.domestic_subsidised_mw[s, p, w] <= dom_fac[s, p, w])
    m.domestic_subsidy_within_tariff = pyo.Constraint(
        m.DOM_CAPPED, rule=lambda _m, s, p, w: m.domestic_subsidised_mw[s, p, w] <= ctx.tariff_mw[s, p, w])
    for key in dom_idx:
        s, p, w = key
        sub = prep.scenario(w).energy_subsidy[s, p]
        mw = m.domestic_subsidised_mw[key] if key in m.DOM_CAPPED else dom_fac[key]
        ctx.annual("energy_subsidy", p, w, -sub.share * prep.scenario(w).price_mwh[s, p] * HOURS_PER_YEAR * mw)


def _qualification_big_m(prep: Prepared, systems: dict[str, System], at: dict[SPW, list[str]], key: SPW, theta: float) -> float:
    """Big M of the qualification row: theta times the site's largest foreign compute."""
    # nameplate_limit: sum_k P_k N_k / 1000 <= max IT MW, so foreign compute is at most
    # 1000 * max IT MW * the best foreign PFLOPS per kW (existing units included)
    s, p, w = key
    measure = prep.scenario(w).energy_subsidy[s, p].measure
    density = [share_weight(systems[k], measure) / systems[k].it_kw_per_unit for k in at[s, p, w] if not prep.domestic[s, k]]
    return theta * 1000.0 * prep.max_it_mw[s] * max(density, default=0.0)


def _add_qualifying_site_subsidy(m: pyo.ConcreteModel, ctx: Context, systems: dict[str, System],
                                 at: dict[SPW, list[str]], qual_idx: list[SPW]) -> None:
    """Qualifying-site subsidy: exact binary qualification, subsidised facility power discounted."""
    prep = ctx.prep
    m.QUALIFY = pyo.Set(dimen=3, initialize=qual_idx, ordered=True)
    m.qualified = pyo.Var(m.QUALIFY, within=pyo.Binary)
    m.subsidised_mw = pyo.Var(m.QUALIFY, within=pyo.NonNegativeReals)

    def qual_rule(_m: pyo.ConcreteModel, s: str, p: str, w: str) -> Any:
        sub = prep.scenario(w).energy_subsidy[s, p]
        theta = sub.threshold
        lhs = sum((int(prep.domestic[s, k]) - theta) * share_weight(systems[k], sub.measure) * ctx.in_service[s, k, p, w]
                  for k in at[s, p, w])
        bm = _qualification_big_m(prep, systems, at, (s, p, w), theta)
        if bm <= 0:
            return pyo.Constraint.Skip
        return lhs >= -bm * (1 - m.qualified[s, p, w])

    m.qualification = pyo.Constraint(m.QUALIFY, rule=qual_rule)
    m.subsidy_within_use = pyo.Constraint(
        m.QUALIFY, rule=lambda _m, s, p, w: m.subsidised_mw[s, p, w] <= ctx.tariff_mw[s, p, w]
    )
    m.subsidy_needs_qualification = pyo.Constraint(
        m.QUALIFY, rule=lambda _m, s, p, w: m.subsidised_mw[s, p, w]
        <= (prep.grid_mw[s, p] + prep.supply.flexible_mw[s, p]) * m.qualified[s, p, w]
    )
    ctx.limits["subsidy_needs_qualification"] = m.subsidy_needs_qualification
    for (s, p, w) in qual_idx:
        sub = prep.scenario(w).energy_subsidy[s, p]
        ctx.annual("energy_subsidy", p, w,
                   -sub.share * prep.scenario(w).price_mwh[s, p] * HOURS_PER_YEAR * m.subsidised_mw[s, p, w])


def _share_rows(ctx: Context, systems: dict[str, System], at: dict[SPW, list[str]]) -> tuple[ShareRows, list[SPW]]:
    """Share-target rows the plan can change, and the soft ones; fixed shortfalls reported or charged."""
    prep = ctx.prep
    rows: ShareRows = {}
    soft: list[SPW] = []
    for sc in prep.scenarios:
        for t in sc.targets:
            terms = [(s, k) for s in t.sites for k in at.get((s, t.period, sc.id), [])]
            lhs = sum((int(prep.domestic[s, k]) - t.min_share) * share_weight(systems[k], t.measure)
                      * ctx.in_service[s, k, t.period, sc.id] for s, k in terms)
            key = (t.label, t.period, sc.id)
            if pyo.is_constant(lhs):  # nothing the plan can change (existing units only, or none)
                gap = -float(pyo.value(lhs))
                if gap > 1e-9 and t.hard:
                    prep.impossible.append(
                        f"scenario '{sc.id}': share target '{t.label}' ({100 * t.min_share:g} % domestic in {t.jurisdiction}, "
                        f"{t.period}) cannot be met: the installed compute there is fixed and falls short by {gap:g} PFLOPS")
                elif gap > 1e-9:
                    ctx.annual("share_shortfall_penalty", t.period, sc.id, t.penalty * gap)
                continue
            rows[key] = (t, terms)
            if not t.hard:
                soft.append(key)
    return rows, soft


def _add_share_targets(m: pyo.ConcreteModel, ctx: Context, systems: dict[str, System], at: dict[SPW, list[str]]) -> None:
    """Domestic-share targets: one row per target, period and scenario, soft ones with a shortfall."""
    prep = ctx.prep
    rows, soft = _share_rows(ctx, systems, at)
    m.SHARE_SOFT = pyo.Set(dimen=3, initialize=soft, ordered=True)
    m.share_shortfall = pyo.Var(m.SHARE_SOFT, within=pyo.NonNegativeReals)

    def share_rule(_m: pyo.ConcreteModel, lab: str, p: str, w: str) -> Any:
        t, terms = rows[lab, p, w]
        lhs = sum((int(prep.domestic[s, k]) - t.min_share) * share_weight(systems[k], t.measure) * ctx.in_service[s, k, p, w]
                  for s, k in terms)
        if not t.hard:
            lhs = lhs + m.share_shortfall[lab, p, w]
        return lhs >= 0

    m.domestic_share = pyo.Constraint(list(rows), rule=share_rule)
    ctx.share_rows = rows
    ctx.limits["domestic_share"] = m.domestic_share
    for (lab, p, w) in soft:
        t = rows[lab, p, w][0]
        ctx.annual("share_shortfall_penalty", p, w, t.penalty * m.share_shortfall[lab, p, w])
