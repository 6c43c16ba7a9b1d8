r"""On-site generation and batteries: what is built, when it is usable, what is kept.

Sets: :math:`\Gamma` = build choices :math:`(s,g,d)` of on-site generation or battery
:math:`g` at site :math:`s` decided in :math:`d`, usable from :math:`\omega(s,g,d)` (its lead
time); :math:`\Gamma_{sp}` those usable by period :math:`p`.

Variables (first stage): :math:`x_{sgd}\ge0` MW built (``generator_built_mw``) and
:math:`A_{sgp}\ge0` MW kept in service (``generator_kept_mw``), for every period in which
some choice of :math:`g` is usable.

.. math::
    \sum_d x_{sgd} \le \bar X_{sg}                                          \quad\text{(permit\_cap)}

    A_{sgp} \le \sum_{(s,g,d)\in\Gamma_{sp}} x_{sgd}                        \quad\text{(kept\_within\_built)}

    A_{sgp} \le A_{sg,p-1} + \sum_{d:\ \omega(s,g,d)=p} x_{sgd}             \quad\text{(retired\_stays\_retired)}

:math:`\bar X_{sg}` is the permit cap (``mw``). A bridge is retired by keeping less than was
built: retired MW pay no fixed O&M and never come back. Kept on-site generation counts
toward the site's power (``grid_limit``) and, times its availability, as firm power during
curtailment; a battery
counts only as firm power during curtailment, at :math:`\beta_{sg}=\min(1, \text{duration}
/ \text{event length})` of its MW (:mod:`optimizer.model.supply`).

Costs: capex :math:`K_g x_{sgd}` at :math:`d` (``generator_capex``); fixed O&M
:math:`f_g A_{sgp}` per year (``generator_fom``). On-site generation and batteries have no
end-of-horizon value (a bridge is valued at 0 when the horizon ends).
"""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from .context import Context


def add(m: pyo.ConcreteModel, ctx: Context) -> None:
    """Add the generator build and kept-MW variables, their rows and costs; register ``ctx.generator_mw``."""
    prep = ctx.prep
    sup = prep.supply
    periods = prep.periods
    choices = [(c.site, c.source, c.decision) for c in sup.generator_choices]
    online = {(c.site, c.source, c.decision): c.online for c in sup.generator_choices}
    m.GEN_BUILD = pyo.Set(dimen=3, initialize=choices, ordered=True)
    m.generator_built_mw = pyo.Var(m.GEN_BUILD, within=pyo.NonNegativeReals,
                                   bounds=lambda _m, s, g, d: (0, sup.generators[s, g].mw))
    kept_idx = [(s, g, p) for (s, g) in sup.generators for p in periods if sup.generator_online(s, g, p, periods)]
    m.GEN_KEPT = pyo.Set(dimen=3, initialize=kept_idx, ordered=True)
    m.generator_kept_mw = pyo.Var(m.GEN_KEPT, within=pyo.NonNegativeReals,
                                  bounds=lambda _m, s, g, p: (0, sup.generators[s, g].mw))
    built = sorted({(s, g) for (s, g, _d) in choices})
    m.permit_cap = pyo.Constraint(
        built, rule=lambda _m, s, g: sum(m.generator_built_mw[k] for k in choices if k[:2] == (s, g))
        <= sup.generators[s, g].mw)
    ctx.limits["permit_cap"] = m.permit_cap

    def within_built(_m: pyo.ConcreteModel, s: str, g: str, p: str) -> Any:
        return m.generator_kept_mw[s, g, p] <= sum(
            m.generator_built_mw[s, g, c.decision] for c in sup.generator_online(s, g, p, periods))

    m.kept_within_built = pyo.Constraint(m.GEN_KEPT, rule=within_built)
    kept = set(kept_idx)

    def stays_retired(_m: pyo.ConcreteModel, s: str, g: str, p: str) -> Any:
        i = periods.index(p)
        if i == 0 or (s, g, periods[i - 1]) not in kept:
            return pyo.Constraint.Skip  # the first usable period: kept_within_built says it all
        new = [m.generator_built_mw[k] for k in choices if k[:2] == (s, g) and online[k] == p]
        return m.generator_kept_mw[s, g, p] <= m.generator_kept_mw[s, g, periods[i - 1]] + sum(new)

    m.retired_stays_retired = pyo.Constraint(m.GEN_KEPT, rule=stays_retired)
    for key in kept_idx:
        ctx.generator_mw[key] = m.generator_kept_mw[key]
    for w in prep.scenario_ids:
        for (s, g, d) in choices:
            capex = sup.generators[s, g].capex_usd_per_mw
            if capex:
                ctx.lump("generator_capex", d, w, capex * m.generator_built_mw[s, g, d])
        for (s, g, p) in kept_idx:
            fom = sup.generators[s, g].fom_usd_per_mw_year
            if fom:
                ctx.annual("generator_fom", p, w, fom * m.generator_kept_mw[s, g, p])
