r"""Site builds: which option is built where, when, and how large.

Sets: :math:`C` = eligible build choices :math:`(s,o,d)` (site, option, decision period)
whose capacity comes online in period :math:`\omega(s,o,d)` within the horizon.

Variables: :math:`b_{sod}\in\{0,1\}` (``build``, the first phase: opening the site with
option :math:`o`), :math:`n_{sod}\in\mathbb{Z}_{\ge 0}` (``blocks``), first stage (shared by
all scenarios). Options with :math:`H_{so}` = ``max_phases`` > 1 also have later phases
:math:`(s,o,d)\in X` in every decision period after the option's earliest first phase, usable
from :math:`\omega'(s,o,d)` (the phase lead time): :math:`e_{sod}\in\{0,1\}` (``expand``) and
:math:`m_{sod}\in\mathbb{Z}_{\ge 0}` (``expand_blocks``).

.. math::
    \sum_{(o,d)} b_{sod} \le 1 \quad \forall s                          \quad\text{(one\_build\_per\_site)}

    b_{sod} \le n_{sod} \le \bar n_{so}\, b_{sod}                        \quad\text{(build\_needs\_blocks, blocks\_need\_build)}

    e_{sod} \le m_{sod} \le \bar n_{so}\, e_{sod}                        \quad\text{(phase\_needs\_blocks, phase\_blocks\_need\_phase)}

    e_{sod'} \le \sum_{d<d':\ \omega(s,o,d)\le\omega'(s,o,d')} b_{sod}   \quad\text{(phase\_after\_opening)}

    \sum_{d} e_{sod} \le (H_{so}-1) \sum_d b_{sod}                       \quad\text{(max\_phases)}

    \sum_d n_{sod} + \sum_d m_{sod} \le \bar n_{so} \sum_d b_{sod}       \quad\text{(phased\_max\_blocks)}

    \mathrm{cap}_{sp} = E_s + \sum_{(o,d):\,\omega(s,o,d)\le p} B_{so}\, n_{sod} + \sum_{(o,d)\in X:\,\omega'(s,o,d)\le p} B_{so}\, m_{sod}

    \mathrm{online}_{sp} = 1 \text{ if } E_s>0 \text{ else } \sum_{(o,d):\,\omega(s,o,d)\le p} b_{sod}

Phases are identified by their decision period, so no two solutions differ only by the
numbering of phases; a later phase can never be usable before the opening phase.

Costs: capex :math:`(F_{so} + F'_{so}) b_{sod} + K_{so} B_{so} n_{sod}` at :math:`d` for an
opening and :math:`F'_{so} e_{sod} + K_{so} B_{so} m_{sod}` for a later phase
(:math:`F'` = ``phase_fixed_capex_usd``), minus the capex
subsidy :math:`\sigma'_{sodw} B_{so} n_{sod}` with :math:`\sigma'_{sodw}=\min(\sigma_{sdw}, K_{so})`
(scenario-specific when a scenario overrides capex subsidies; a subsidy never pays more than
the per-MW capex it subsidises); fixed O&M :math:`f_{so} B_{so} n_{sod}` per year
from the online period on; existing capacity's O&M :math:`f^E_s E_s` per year (a constant).
With ``horizon.end_value: straight_line`` the capex actually paid (net of the capex subsidy,
so never negative) times the share of the option's life left at the horizon's end is
credited then (category ``end_value``): the credit never exceeds what was paid, so no build
without use lowers the cost.
"""  # noqa: E501

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from optimizer.instance.derive import BuildChoice, Prepared
from optimizer.instance.schema import BuildOption

from .context import Context


def add(m: pyo.ConcreteModel, ctx: Context) -> None:
    """Add the build variables and rows, the capacity and online expressions, and the site costs."""
    prep = ctx.prep
    inst = prep.inst
    opt = {(s.id, o.id): o for s in inst.sites for o in s.build_options}
    ch = {(c.site, c.option, c.decision): c for c in prep.choices}
    ex = {(c.site, c.option, c.decision): c for c in prep.expansions}

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
    _add_phases(m, prep, opt, ch, ex)

    for s in inst.sites:
        existing = s.existing.it_mw if s.existing else 0.0
        for p in prep.periods:
            online = prep.online_choices[s.id, p]
            later = prep.online_expansions.get((s.id, p), [])
            ctx.capacity_mw[s.id, p] = existing + sum(
                opt[c.site, c.option].block_mw * m.blocks[c.site, c.option, c.decision] for c in online
            ) + sum(opt[c.site, c.option].block_mw * m.expand_blocks[c.site, c.option, c.decision] for c in later)
            ctx.is_online[s.id, p] = 1 if s.existing else sum(m.build[c.site, c.option, c.decision] for c in online)
            for pool in prep.pools[s.id]:
                if pool.id == "existing":
                    ctx.pool_capacity_mw[s.id, pool.id, p] = pool.existing_mw
                else:
                    ctx.pool_capacity_mw[s.id, pool.id, p] = sum(
                        opt[c.site, c.option].block_mw * m.blocks[c.site, c.option, c.decision]
                        for c in online
                        if c.option == pool.id
                    ) + sum(opt[c.site, c.option].block_mw * m.expand_blocks[c.site, c.option, c.decision]
                            for c in later if c.option == pool.id)

    for w in prep.scenarios:
        for (sid, o, d), c in ch.items():
            op = opt[sid, o]
            _phase_costs(ctx, w.id, c, op, m.build[sid, o, d], m.blocks[sid, o, d], op.fixed_capex_usd + op.phase_fixed_capex_usd)
        for (sid, o, d), c in ex.items():
            op = opt[sid, o]
            _phase_costs(ctx, w.id, c, op, m.expand[sid, o, d], m.expand_blocks[sid, o, d], op.phase_fixed_capex_usd)
        for s in inst.sites:
            if s.existing and s.existing.fom_usd_per_mw_year:
                for p in prep.periods:
                    ctx.annual("site_fom", p, w.id, s.existing.fom_usd_per_mw_year * s.existing.it_mw)


def _phase_costs(ctx: Context, w: str, c: BuildChoice, op: BuildOption, event: Any, blocks: Any, fixed_usd: float) -> None:
    """Capex, capex subsidy, end value and fixed O&M of one phase (an opening or a later phase)."""
    prep = ctx.prep
    sc = prep.scenario(w)
    d = c.decision
    ctx.lump("site_capex", d, w, fixed_usd * event + op.capex_usd_per_mw * op.block_mw * blocks)
    sub = min(sc.capex_subsidy.get((c.site, d), 0.0), op.capex_usd_per_mw)  # never more than the capex per MW
    if sub:
        ctx.lump("site_capex_subsidy", d, w, -sub * op.block_mw * blocks)
    left = prep.remaining_share(d, op.lifetime_years)
    if left > 0:  # credit what was paid: capex net of the subsidy (>= 0)
        ctx.at_end("end_value", w, -left * (fixed_usd * event + (op.capex_usd_per_mw - sub) * op.block_mw * blocks))
    if op.fom_usd_per_mw_year:
        first = prep.periods.index(c.online)
        for p in prep.periods[first:]:
            ctx.annual("site_fom", p, w, op.fom_usd_per_mw_year * op.block_mw * blocks)


def _add_phases(m: pyo.ConcreteModel, prep: Prepared, opt: dict[tuple[str, str], BuildOption],
                ch: dict[tuple[str, str, str], BuildChoice], ex: dict[tuple[str, str, str], BuildChoice]) -> None:
    """Later phases: their variables, their link to the opening phase, the phase count and the total size."""
    periods = prep.periods
    m.EXPAND = pyo.Set(dimen=3, initialize=list(ex), ordered=True)
    m.expand = pyo.Var(m.EXPAND, within=pyo.Binary)
    m.expand_blocks = pyo.Var(m.EXPAND, within=pyo.NonNegativeIntegers,
                              bounds=lambda _m, s, o, d: (0, ex[s, o, d].max_blocks))
    m.phase_blocks_need_phase = pyo.Constraint(
        m.EXPAND, rule=lambda _m, s, o, d: m.expand_blocks[s, o, d] <= ex[s, o, d].max_blocks * m.expand[s, o, d])
    m.phase_needs_blocks = pyo.Constraint(m.EXPAND, rule=lambda _m, s, o, d: m.expand[s, o, d] <= m.expand_blocks[s, o, d])

    def after_opening(_m: pyo.ConcreteModel, s: str, o: str, d: str) -> Any:
        later = ex[s, o, d]
        opens = [m.build[k] for k, c in ch.items() if k[:2] == (s, o) and periods.index(c.decision) < periods.index(d)
                 and periods.index(c.online) <= periods.index(later.online)]
        return m.expand[s, o, d] <= sum(opens) if opens else m.expand[s, o, d] == 0

    m.phase_after_opening = pyo.Constraint(m.EXPAND, rule=after_opening)
    phased = sorted({k[:2] for k in ex})

    def opened(s: str, o: str) -> Any:
        return sum(m.build[k] for k in ch if k[:2] == (s, o))

    m.max_phases = pyo.Constraint(phased, rule=lambda _m, s, o: sum(m.expand[k] for k in ex if k[:2] == (s, o))
                                  <= (opt[s, o].max_phases - 1) * opened(s, o))
    m.phased_max_blocks = pyo.Constraint(
        phased, rule=lambda _m, s, o: sum(m.blocks[k] for k in ch if k[:2] == (s, o))
        + sum(m.expand_blocks[k] for k in ex if k[:2] == (s, o))
        <= next(c.max_blocks for k, c in ch.items() if k[:2] == (s, o)) * opened(s, o))
