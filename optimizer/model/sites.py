r"""Site builds: which option is built where, when, and how large.

Sets: :math:`C` = eligible build choices :math:`(s,o,d)` (site, option, decision period)
whose capacity comes online in period :math:`\omega(s,o,d)` within the horizon.

Variables: :math:`b_{sod}\in\{0,1\}` (``build``), :math:`n_{sod}\in\mathbb{Z}_{\ge 0}`
(``blocks``), first stage (shared by all scenarios).

.. math::
    \sum_{(o,d)} b_{sod} \le 1 \quad \forall s                          \quad\text{(one\_build\_per\_site)}

    b_{sod} \le n_{sod} \le \bar n_{so}\, b_{sod}                        \quad\text{(build\_needs\_blocks, blocks\_need\_build)}

    \mathrm{cap}_{sp} = E_s + \sum_{(o,d):\,\omega(s,o,d)\le p} B_{so}\, n_{sod}

    \mathrm{online}_{sp} = 1 \text{ if } E_s>0 \text{ else } \sum_{(o,d):\,\omega(s,o,d)\le p} b_{sod}

Costs: capex :math:`F_{so} b_{sod} + K_{so} B_{so} n_{sod}` at :math:`d`, minus the capex
subsidy :math:`\sigma'_{sodw} B_{so} n_{sod}` with :math:`\sigma'_{sodw}=\min(\sigma_{sdw}, K_{so})`
(scenario-specific when a scenario overrides capex subsidies; a subsidy never pays more than
the per-MW capex it subsidises); fixed O&M :math:`f_{so} B_{so} n_{sod}` per year
from the online period on; existing capacity's O&M :math:`f^E_s E_s` per year (a constant).
With ``horizon.end_value: straight_line`` the capex actually paid (net of the capex subsidy,
so never negative) times the share of the option's life left at the horizon's end is
credited then (category ``end_value``): the credit never exceeds what was paid, so no build
without use lowers the cost.
"""

from __future__ import annotations

import pyomo.environ as pyo

from .context import Context


def add(m: pyo.ConcreteModel, ctx: Context) -> None:
    """Add the build variables and rows, the capacity and online expressions, and the site costs."""
    prep = ctx.prep
    inst = prep.inst
    opt = {(s.id, o.id): o for s in inst.sites for o in s.build_options}
    ch = {(c.site, c.option, c.decision): c for c in prep.choices}

    m.BUILD = pyo.Set(dimen=3, initialize=list(ch), ordered=True)
    m.build = pyo.Var(m.BUILD, within=pyo.Binary)
    m.blocks = pyo.Var(m.BUILD, within=pyo.NonNegativeIntegers, bounds=lambda _m, s, o, d: (0, ch[s, o, d].max_blocks))

    sites_with_choices = sorted({c.site for c in prep.choices})
    m.one_build_per_site = pyo.Constraint(
        sites_with_choices, rule=lambda _m, s: sum(m.build[c] for c in ch if c[0] == s) <= 1
    )
    m.blocks_need_build = pyo.Constraint(
        m.BUILD, rule=lambda _m, s, o, d: m.blocks[s, o, d] <= ch[s, o, d].max_blocks * m.build[s, o, d]
    )
    m.build_needs_blocks = pyo.Constraint(m.BUILD, rule=lambda _m, s, o, d: m.build[s, o, d] <= m.blocks[s, o, d])

    for s in inst.sites:
        existing = s.existing.it_mw if s.existing else 0.0
        for p in prep.periods:
            online = prep.online_choices[s.id, p]
            ctx.capacity_mw[s.id, p] = existing + sum(
                opt[c.site, c.option].block_mw * m.blocks[c.site, c.option, c.decision] for c in online
            )
            ctx.is_online[s.id, p] = 1 if s.existing else sum(m.build[c.site, c.option, c.decision] for c in online)
            for pool in prep.pools[s.id]:
                if pool.id == "existing":
                    ctx.pool_capacity_mw[s.id, pool.id, p] = pool.existing_mw
                else:
                    ctx.pool_capacity_mw[s.id, pool.id, p] = sum(
                        opt[c.site, c.option].block_mw * m.blocks[c.site, c.option, c.decision]
                        for c in online
                        if c.option == pool.id
                    )

    for w in prep.scenarios:
        for (sid, o, d) in ch:
            op = opt[sid, o]
            ctx.lump("site_capex", d, w.id,
                     op.fixed_capex_usd * m.build[sid, o, d] + op.capex_usd_per_mw * op.block_mw * m.blocks[sid, o, d])
            sub = min(w.capex_subsidy.get((sid, d), 0.0), op.capex_usd_per_mw)  # never more than the capex per MW
            if sub:
                ctx.lump("site_capex_subsidy", d, w.id, -sub * op.block_mw * m.blocks[sid, o, d])
            left = prep.remaining_share(d, op.lifetime_years)
            if left > 0:  # credit what was paid: capex net of the subsidy (>= 0)
                ctx.at_end("end_value", w.id, -left * (op.fixed_capex_usd * m.build[sid, o, d]
                                                      + (op.capex_usd_per_mw - sub) * op.block_mw * m.blocks[sid, o, d]))
            if op.fom_usd_per_mw_year:
                first = prep.periods.index(ch[sid, o, d].online)
                for p in prep.periods[first:]:
                    ctx.annual("site_fom", p, w.id, op.fom_usd_per_mw_year * op.block_mw * m.blocks[sid, o, d])
        for s in inst.sites:
            if s.existing and s.existing.fom_usd_per_mw_year:
                for p in prep.periods:
                    ctx.annual("site_fom", p, w.id, s.existing.fom_usd_per_mw_year * s.existing.it_mw)
