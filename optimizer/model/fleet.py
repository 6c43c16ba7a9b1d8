r"""Accelerator fleet: units bought, in service and retired; supply and export rules.

Sets: :math:`\mathcal{B}` = eligible purchases :math:`(s,k,p,w)` — the site can host
capacity in :math:`p`, the system is not banned (and not capped at zero) for the site's
jurisdiction in :math:`p` under scenario :math:`w`, and supply is not zero.
:math:`\mathcal{F}` = :math:`(s,k,p,w)` where a unit can be in service.

Variables: :math:`x_{skpw}\ge 0` units bought (``units_bought``; integer unless the system
is divisible), bounded by :math:`\bar u_{sk}` = max IT MW of the site / unit kW (rounded
down for indivisible systems). ``nameplate_limit`` exists where a purchase can be in
service; it also ties purchases to the build (no capacity, no units), in the LP too.

.. math::
    N_{skpw} = U^0_{skp} + \sum_{q \le p:\; t_q + L_k > t_p} x_{skqw}         \quad\text{(units in service)}

    \sum_k \frac{P_k}{1000} N_{skpw} \le \mathrm{cap}_{sp}                   \quad\text{(nameplate\_limit)}

    \sum_s x_{skpw} \le S_{kp}                                              \quad\text{(supply\_limit)}

    \sum_{(s,k)\in R} x_{skpw} \le \mathrm{cap}_R                            \quad\text{(export\_cap)}

Installed nameplate IT power must fit the built IT capacity (a hall is provisioned for
its racks at full load). Costs: unit price plus any export premium at purchase; O&M per
unit in service and year; with ``horizon.end_value: straight_line`` the unit price times
the share of life left at the horizon's end is credited then (``end_value``; premiums are
not credited).
"""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from optimizer.instance.derive import per_period

from .context import Context


def add(m: pyo.ConcreteModel, ctx: Context) -> None:
    """Add the purchase variables, units in service, the nameplate, supply and export-cap rows, and the system costs."""
    prep = ctx.prep
    inst = prep.inst
    systems = {k.id: k for k in inst.systems}
    div = {k.id: k.divisible for k in inst.systems}

    m.BUY = pyo.Set(dimen=4, initialize=prep.BUY, ordered=True)
    m.units_bought = pyo.Var(
        m.BUY,
        domain=lambda _m, s, k, p, w: pyo.NonNegativeReals if div[k] else pyo.NonNegativeIntegers,
        bounds=lambda _m, s, k, p, w: (0, prep.max_units[s, k]),
    )
    buy = set(prep.BUY)

    for (s, k, p, w) in prep.FLEET:
        ctx.in_service[s, k, p, w] = prep.existing_units.get((s, k, p), 0.0) + sum(
            m.units_bought[s, k, q, w] for q in prep.in_service_after[k, p] if (s, k, q, w) in buy
        )

    by_spw = defaultdict(list)
    for (s, k, p, w) in prep.FLEET:
        by_spw[s, p, w].append(k)
    # only where a purchase can be in service (existing units alone are checked on load)
    nameplate_idx = [
        key for key in by_spw
        if any((key[0], k, q, key[2]) in buy for k in by_spw[key] for q in prep.in_service_after[k, key[1]])
    ]
    m.nameplate_limit = pyo.Constraint(
        nameplate_idx,
        rule=lambda _m, s, p, w: sum(systems[k].it_kw_per_unit / 1000.0 * ctx.in_service[s, k, p, w] for k in by_spw[s, p, w])
        <= ctx.capacity_mw[s, p],
    )
    ctx.limits["nameplate_limit"] = m.nameplate_limit

    _add_supply_and_export_limits(m, ctx, buy)

    for (s, k, p, w) in prep.BUY:
        scen = prep.scenario(w)
        ctx.lump("system_capex", p, w, scen.unit_price[k, p] * m.units_bought[s, k, p, w])
        left = prep.remaining_share(p, systems[k].lifetime_years)
        if left > 0:
            ctx.at_end("end_value", w, -left * scen.unit_price[k, p] * m.units_bought[s, k, p, w])
        prem = scen.premium.get((s, k, p), 0.0)
        if prem:
            ctx.lump("export_premium", p, w, prem * m.units_bought[s, k, p, w])
    for (s, k, p, w) in prep.FLEET:
        om = systems[k].om_usd_per_unit_year
        if om:
            ctx.annual("system_om", p, w, om * ctx.in_service[s, k, p, w])


def _add_supply_and_export_limits(m: pyo.ConcreteModel, ctx: Context, buy: set[tuple[str, str, str, str]]) -> None:
    """``supply_limit`` (units of a system bought per period) and ``export_cap`` rows."""
    prep = ctx.prep
    inst = prep.inst
    by_kpw = defaultdict(list)
    for (s, k, p, w) in prep.BUY:
        by_kpw[k, p, w].append(s)
    supply_idx, supply_cap = [], {}
    for system in inst.systems:
        if system.supply_units is None:
            continue
        sup = per_period(system.supply_units, prep.periods)
        for p in prep.periods:
            for w in prep.scenario_ids:
                if by_kpw.get((system.id, p, w)):
                    supply_idx.append((system.id, p, w))
                    supply_cap[system.id, p, w] = sup[p]
    m.supply_limit = pyo.Constraint(
        supply_idx, rule=lambda _m, k, p, w: sum(m.units_bought[s, k, p, w] for s in by_kpw[k, p, w]) <= supply_cap[k, p, w]
    )

    cap_idx, cap_rows = [], {}
    for scenario in prep.scenarios:
        for i, c in enumerate(scenario.caps):
            members = [(s, k) for (s, k) in c.members if (s, k, c.period, scenario.id) in buy]
            if members:
                key = (c.label, c.period, scenario.id, i)
                cap_idx.append(key)
                cap_rows[key] = (members, c.cap_units)
    m.export_cap = pyo.Constraint(
        cap_idx,
        rule=lambda _m, lab, p, w, i: sum(m.units_bought[s, k, p, w] for (s, k) in cap_rows[lab, p, w, i][0])
        <= cap_rows[lab, p, w, i][1],
    )
    ctx.export_cap_rows = cap_rows
    ctx.limits["supply_limit"] = m.supply_limit
    ctx.limits["export_cap"] = m.export_cap
