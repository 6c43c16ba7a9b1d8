r"""Energy by source, PPAs, curtailment events and emissions.

A site's facility power :math:`\mathrm{fac}_{spw}` (:mod:`optimizer.model.power`) is met by
energy bought at the grid tariff :math:`t_{spw}` (``tariff_mw``), PPA energy
:math:`e_{sfpw}` (``ppa_mw``) and on-site generation :math:`\gamma_{sgpw}`
(``generated_mw``), all in average MW over the period. Sites without PPAs or on-site
generation have :math:`t = \mathrm{fac}` and none of these variables.

.. math::
    t_{spw} + \sum_f e_{sfpw} + \sum_g \gamma_{sgpw} = \mathrm{fac}_{spw}        \quad\text{(energy\_balance)}

    t_{spw} + \sum_f e_{sfpw} \le G_{sp} + F_{sp}                                \quad\text{(grid\_energy\_limit)}

    \gamma_{sgpw} \le \alpha_g A_{sgp}                                            \quad\text{(generation\_limit)}

    e_{sfpw} \le c_{sf},\qquad \pi_{sfpw} \ge e_{sfpw},\quad \pi_{sfpw} \ge \tau_f\, c_{sf}   \quad\text{(ppa\_contract\_limit, ppa\_paid\_for\_use, ppa\_take\_or\_pay)}

:math:`c_{sf}` is the contracted MW: the PPA's ``mw`` when signed, else a first-stage
variable in :math:`[0, \bar c_f]` (``ppa_contract_mw``); PPA energy flows only in the PPA's
term. :math:`\pi` (``ppa_paid_mw``) is the energy paid for: at least the take-or-pay share
:math:`\tau_f` of the contract (created only when :math:`\tau_f>0`, else :math:`\pi=e`).
``grid_energy_limit`` exists only at sites with on-site generation (elsewhere
``grid_limit`` implies it).

**Curtailment events.** Where a flexible connection delivers (:math:`F_{sp}>0`), the site
must fall to its firm power during events: busy units that pause (:math:`v_{skpw}`,
:mod:`optimizer.model.workloads`) drop from full to idle power,

.. math::
    \sum_q \frac{\mathrm{PUE}_q}{\rho_q}\ell_{sqpw} - \kappa_s \sum_k \frac{(1-\iota_k)P_k}{1000} v_{skpw}
      \le G_{sp} + \sum_{g} \beta_{sg} A_{sgp}                                    \quad\text{(curtailment\_firm\_supply)}

with :math:`\kappa_s=\min_q \mathrm{PUE}_q/\rho_q` (the smallest relief a paused unit can
give, so the row is conservative on multi-pool sites) and :math:`\beta_{sg}` the availability
:math:`\alpha_g` for on-site generation (a unit out for maintenance cannot firm the site),
:math:`\min(1, \text{duration}/\text{event length})` for a battery.

**Emissions** per rule :math:`r`, period and scenario, in tonnes per year over the sites of
its jurisdiction: :math:`E_{rpw} = 8760\sum_s\big(\epsilon^G_s t_{spw} + \sum_f \epsilon_f e_{sfpw}
+ \sum_g \epsilon_g\gamma_{sgpw}\big)`; a cap :math:`E_{rpw} \le \bar E_r + o_{rpw}`
(``emission_cap``; the excess :math:`o\ge0`, ``emission_excess``, exists only for soft caps).

Costs per year: tariff energy :math:`c_{spw} 8760\, t_{spw}` (``energy``), PPA energy
:math:`\lambda_f 8760\, \pi_{sfpw}` (``ppa_energy``), generation
:math:`(\phi_g H_g + \nu_g) 8760\,\gamma_{sgpw}` (fuel price × heat rate + variable O&M,
``generator_energy``), carbon price :math:`\chi_r E_{rpw}` (``carbon_price``) and excess
penalty (``emission_excess_penalty``).

What period resolution approximates: loads are flat within a period (average MW = peak
MW); curtailment takes the full share :math:`h_s` of hours every year the flexible MW are
used (the worst the agreement allows); the energy not drawn during events is still billed
(events are short: 0.5 % of hours is 44 h); flexible energy is billed at the site's tariff.
"""  # noqa: E501

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pyomo.environ as pyo

from optimizer.instance.derive import HOURS_PER_YEAR
from optimizer.instance.supply import EmissionLimit

from .context import Context

SPW = tuple[str, str, str]


def add(m: pyo.ConcreteModel, ctx: Context) -> None:
    """Add the energy split by source, PPAs, curtailment events, emissions and the energy costs."""
    at = sorted(ctx.facility_mw, key=lambda k: (k[2], k[0], ctx.prep.periods.index(k[1])))
    ppa_mw, generated = _add_energy_split(m, ctx, at)
    _add_curtailment(m, ctx)
    _add_emissions(m, ctx, at, ppa_mw, generated)
    for (s, p, w) in at:
        price = ctx.prep.scenario(w).price_mwh[s, p]
        if price:
            ctx.annual("energy", p, w, price * HOURS_PER_YEAR * ctx.tariff_mw[s, p, w])


def _add_energy_split(m: pyo.ConcreteModel, ctx: Context, at: list[SPW]) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """Tariff, PPA and generated energy per site; returns the PPA and generated MW expressions by key."""
    prep = ctx.prep
    sup = prep.supply
    gens = defaultdict(list)
    for (s, g), src in sup.generators.items():
        if src.kind == "onsite":
            gens[s].append(g)
    ppas = defaultdict(list)
    for (s, f) in sup.ppas:
        ppas[s].append(f)
    split = [key for key in at if gens[key[0]] or ppas[key[0]]]
    m.TARIFF = pyo.Set(dimen=3, initialize=split, ordered=True)
    m.tariff_mw = pyo.Var(m.TARIFF, within=pyo.NonNegativeReals)
    gen_idx = [(s, g, p, w) for (s, p, w) in split for g in gens[s] if (s, g, p) in ctx.generator_mw]
    ppa_idx = [(s, f, p, w) for (s, p, w) in split for f in ppas[s] if p in sup.ppa_periods[s, f]]
    m.GENERATE = pyo.Set(dimen=4, initialize=gen_idx, ordered=True)
    m.generated_mw = pyo.Var(m.GENERATE, within=pyo.NonNegativeReals)
    m.PPA_USE = pyo.Set(dimen=4, initialize=ppa_idx, ordered=True)
    m.ppa_mw = pyo.Var(m.PPA_USE, within=pyo.NonNegativeReals)
    optional = sorted({(s, f) for (s, f, _p, _w) in ppa_idx if not sup.ppas[s, f].signed})
    m.PPA_OFFER = pyo.Set(dimen=2, initialize=optional, ordered=True)
    m.ppa_contract_mw = pyo.Var(m.PPA_OFFER, within=pyo.NonNegativeReals, bounds=lambda _m, s, f: (0, sup.ppas[s, f].mw))

    def contract(s: str, f: str) -> Any:
        return m.ppa_contract_mw[s, f] if (s, f) in optional else sup.ppas[s, f].mw

    split_set = set(split)
    for key in at:
        ctx.tariff_mw[key] = m.tariff_mw[key] if key in split_set else ctx.facility_mw[key]
    ppa_at: defaultdict[SPW, list[Any]] = defaultdict(list)
    for k in ppa_idx:
        ppa_at[k[0], k[2], k[3]].append(m.ppa_mw[k])
    gen_at: defaultdict[SPW, list[Any]] = defaultdict(list)
    for k in gen_idx:
        gen_at[k[0], k[2], k[3]].append(m.generated_mw[k])
    m.energy_balance = pyo.Constraint(
        split, rule=lambda _m, s, p, w: m.tariff_mw[s, p, w] + sum(ppa_at[s, p, w]) + sum(gen_at[s, p, w])
        == ctx.facility_mw[s, p, w])
    m.grid_energy_limit = pyo.Constraint(
        [key for key in split if gens[key[0]]],
        rule=lambda _m, s, p, w: m.tariff_mw[s, p, w] + sum(ppa_at[s, p, w]) <= prep.grid_mw[s, p] + sup.flexible_mw[s, p])
    m.generation_limit = pyo.Constraint(
        m.GENERATE, rule=lambda _m, s, g, p, w: m.generated_mw[s, g, p, w]
        <= sup.generators[s, g].availability * ctx.generator_mw[s, g, p])
    m.ppa_contract_limit = pyo.Constraint(m.PPA_USE, rule=lambda _m, s, f, p, w: m.ppa_mw[s, f, p, w] <= contract(s, f))
    top_idx = [k for k in ppa_idx if sup.ppas[k[0], k[1]].take_or_pay_share > 0]
    m.PPA_PAID = pyo.Set(dimen=4, initialize=top_idx, ordered=True)
    m.ppa_paid_mw = pyo.Var(m.PPA_PAID, within=pyo.NonNegativeReals)
    m.ppa_paid_for_use = pyo.Constraint(m.PPA_PAID, rule=lambda _m, s, f, p, w: m.ppa_paid_mw[s, f, p, w] >= m.ppa_mw[s, f, p, w])
    m.ppa_take_or_pay = pyo.Constraint(
        m.PPA_PAID, rule=lambda _m, s, f, p, w: m.ppa_paid_mw[s, f, p, w] >= sup.ppas[s, f].take_or_pay_share * contract(s, f))
    top_set = set(top_idx)
    for (s, f, p, w) in ppa_idx:
        paid = m.ppa_paid_mw[s, f, p, w] if (s, f, p, w) in top_set else m.ppa_mw[s, f, p, w]
        ctx.annual("ppa_energy", p, w, (sup.ppas[s, f].price_usd_per_mwh or 0.0) * HOURS_PER_YEAR * paid)
    for (s, g, p, w) in gen_idx:
        src = sup.generators[s, g]
        usd_per_mwh = src.fuel_usd_per_mmbtu * src.heat_rate_mmbtu_per_mwh + src.vom_usd_per_mwh
        if usd_per_mwh:
            ctx.annual("generator_energy", p, w, usd_per_mwh * HOURS_PER_YEAR * m.generated_mw[s, g, p, w])
    return ({k: m.ppa_mw[k] for k in ppa_idx}, {k: m.generated_mw[k] for k in gen_idx})


def _add_curtailment(m: pyo.ConcreteModel, ctx: Context) -> None:
    """During curtailment events the site's draw, less the relief of paused units, fits its firm power."""
    prep = ctx.prep
    sup = prep.supply
    systems = {k.id: k for k in prep.inst.systems}
    paused = defaultdict(list)
    for (s, k, p, w) in ctx.paused_units:
        paused[s, p, w].append(k)
    idx = [key for key in ctx.facility_mw if sup.flexible_mw[key[0], key[1]] > 0]

    def rule(_m: pyo.ConcreteModel, s: str, p: str, w: str) -> Any:
        pools = prep.pools[s]
        draw = sum(q.pue / q.usable_grid_share * ctx.pool_load_mw[s, q.id, p, w] for q in pools)
        kappa = min(q.pue / q.usable_grid_share for q in pools)
        relief = sum(kappa * (1 - systems[k].idle_power_share) * systems[k].it_kw_per_unit / 1000.0
                     * ctx.paused_units[s, k, p, w] for k in paused[s, p, w])
        firm = sum(sup.firming_share(s, g) * ctx.generator_mw[s, g, p]
                   for (s2, g) in sup.generators if s2 == s and (s, g, p) in ctx.generator_mw)
        if pyo.is_constant(draw):
            return pyo.Constraint.Skip
        return draw - relief <= prep.grid_mw[s, p] + firm

    m.curtailment_firm_supply = pyo.Constraint(idx, rule=rule)
    ctx.limits["curtailment_firm_supply"] = m.curtailment_firm_supply


def _add_emissions(m: pyo.ConcreteModel, ctx: Context, at: list[SPW],
                   ppa_mw: dict[Any, Any], generated: dict[Any, Any]) -> None:
    """Tonnes per year per emission rule; carbon price cost, cap rows (soft caps with an excess)."""
    prep = ctx.prep
    sup = prep.supply
    co2_grid = {s.id: s.grid_co2_t_per_mwh for s in prep.inst.sites}
    by_spw: defaultdict[SPW, Any] = defaultdict(float)
    if not any(sc.emissions for sc in prep.scenarios):
        at, ppa_mw, generated = [], {}, {}  # nothing to count: the (empty) components are still created
    for (s, p, w) in at:
        if co2_grid[s]:
            by_spw[s, p, w] += HOURS_PER_YEAR * co2_grid[s] * ctx.tariff_mw[s, p, w]
    for k, v in ppa_mw.items():
        if sup.ppas[k[0], k[1]].co2_t_per_mwh:
            by_spw[k[0], k[2], k[3]] += HOURS_PER_YEAR * sup.ppas[k[0], k[1]].co2_t_per_mwh * v
    for k, v in generated.items():
        if sup.generators[k[0], k[1]].co2_t_per_mwh:
            by_spw[k[0], k[2], k[3]] += HOURS_PER_YEAR * sup.generators[k[0], k[1]].co2_t_per_mwh * v
    caps: dict[tuple[str, str, str], tuple[Any, float, bool]] = {}
    for sc in prep.scenarios:
        for r in sc.emissions:
            tonnes = sum(by_spw.get((s, r.period, sc.id), 0) for s in r.sites)
            if pyo.is_constant(tonnes):  # nothing the plan can change (existing units' idle draw only, or none)
                _given_emissions(ctx, sc.id, r, float(pyo.value(tonnes)))
                continue
            if r.price_usd_per_t:
                ctx.annual("carbon_price", r.period, sc.id, r.price_usd_per_t * tonnes)
            if r.cap_t_per_year is not None:
                caps[r.label, r.period, sc.id] = (tonnes, r.cap_t_per_year, r.hard)
    soft = [k for k, (_t, _c, hard) in caps.items() if not hard]
    m.EMISSION_SOFT = pyo.Set(dimen=3, initialize=soft, ordered=True)
    m.emission_excess = pyo.Var(m.EMISSION_SOFT, within=pyo.NonNegativeReals)
    m.emission_cap = pyo.Constraint(
        list(caps), rule=lambda _m, r, p, w: caps[r, p, w][0] <= caps[r, p, w][1]
        + (m.emission_excess[r, p, w] if (r, p, w) in set(soft) else 0))
    ctx.limits["emission_cap"] = m.emission_cap
    penalty = {(e.label, e.period, sc.id): e.penalty_usd_per_t for sc in prep.scenarios for e in sc.emissions}
    for (label, p, w) in soft:
        ctx.annual("emission_excess_penalty", p, w, penalty[label, p, w] * m.emission_excess[label, p, w])


def _given_emissions(ctx: Context, w: str, r: EmissionLimit, tonnes: float) -> None:
    """Emissions the plan cannot change: their carbon price and soft-cap excess are charged as
    constants; a hard cap they break is reported as infeasible before solving."""
    if r.price_usd_per_t and tonnes:
        ctx.annual("carbon_price", r.period, w, r.price_usd_per_t * tonnes)
    if r.cap_t_per_year is None or tonnes <= r.cap_t_per_year + 1e-9:
        return
    if r.hard:
        ctx.prep.impossible.append(
            f"scenario '{w}': emission cap '{r.label}' ({r.cap_t_per_year:g} tCO2/year in {r.jurisdiction}, {r.period}) "
            f"cannot be met: the emissions there are fixed at {tonnes:g} tCO2/year")
    else:
        ctx.annual("emission_excess_penalty", r.period, w, r.penalty_usd_per_t * (tonnes - r.cap_t_per_year))
