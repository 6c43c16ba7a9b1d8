r"""Site power: IT load of busy and idle units, PUE, redundancy and the grid limit.

A site's capacity comes in *pools* :math:`q` — its existing halls and each build
option — each with its own PUE :math:`\mathrm{PUE}_q` and usable grid share
:math:`\rho_q` (redundancy). Busy units draw full power; installed idle units draw the
share :math:`\iota_k` of it, so idle capacity costs energy.

.. math::
    L_{spw} = \sum_k \frac{P_k}{1000}\Big(\iota_k N_{skpw} + (1-\iota_k)\,u_{skpw}\Big)     \quad\text{(IT load, MW)}

    \sum_q \ell_{sqpw} = L_{spw},\qquad \ell_{sqpw} \le \mathrm{cap}_{sqp}             \quad\text{(load\_split, pool\_capacity\_limit)}

    \sum_q \frac{\mathrm{PUE}_q}{\rho_q}\,\ell_{sqpw} \le G_{sp} + F_{sp} + \sum_{g\ \mathrm{onsite}} \alpha_g A_{sgp}   \quad\text{(grid\_limit)}

    \mathrm{fac}_{spw} = \sum_q \mathrm{PUE}_q\,\ell_{sqpw}                            \quad\text{(facility power, MW)}

:math:`G_{sp}` is the firm grid connection (``grid_mw``), :math:`F_{sp}` the flexible
(curtailable) connection's MW in its term, :math:`A_{sgp}` the on-site generation kept
(:mod:`optimizer.model.generation`) at its availability :math:`\alpha_g` (as during events, so a
flexible connection that is not used never tightens the plan): outside curtailment events the site may use all of them;
during events only the firm ones (:mod:`optimizer.model.supply`).
With one pool the split variables :math:`\ell` are not created (:math:`\ell = L`).
``grid_limit`` is omitted where the draw is constant (existing idle units only; a draw
above the grid is reported as infeasible before solving).
The energy of :math:`\mathrm{fac}_{spw}` and its cost by source are in :mod:`optimizer.model.supply`.
"""  # noqa: E501

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pyomo.environ as pyo

from .context import Context


def add(m: pyo.ConcreteModel, ctx: Context) -> None:
    """Add the IT load and facility power expressions, the pool split and grid rows, and the energy cost."""
    prep = ctx.prep
    systems = {k.id: k for k in prep.inst.systems}

    at = defaultdict(list)
    for (s, k, p, w) in prep.FLEET:
        at[s, p, w].append(k)
    for (s, p, w), ks in at.items():
        ctx.it_load_mw[s, p, w] = sum(
            systems[k].it_kw_per_unit / 1000.0
            * (systems[k].idle_power_share * ctx.in_service[s, k, p, w]
               + (1 - systems[k].idle_power_share) * ctx.busy_units[s, k, p, w])
            for k in ks
        )

    multi = [key for key in at if len(prep.pools[key[0]]) > 1]
    pool_idx = [(s, q.id, p, w) for (s, p, w) in multi for q in prep.pools[s]]
    m.POOL_LOAD = pyo.Set(dimen=4, initialize=pool_idx, ordered=True)
    m.pool_load = pyo.Var(m.POOL_LOAD, within=pyo.NonNegativeReals)
    m.load_split = pyo.Constraint(
        multi, rule=lambda _m, s, p, w: sum(m.pool_load[s, q.id, p, w] for q in prep.pools[s]) == ctx.it_load_mw[s, p, w]
    )
    m.pool_capacity_limit = pyo.Constraint(
        m.POOL_LOAD, rule=lambda _m, s, q, p, w: m.pool_load[s, q, p, w] <= ctx.pool_capacity_mw[s, q, p]
    )
    ctx.limits["pool_capacity_limit"] = m.pool_capacity_limit
    for (s, p, w) in at:
        for q in prep.pools[s]:
            ctx.pool_load_mw[s, q.id, p, w] = m.pool_load[s, q.id, p, w] if len(prep.pools[s]) > 1 else ctx.it_load_mw[s, p, w]
        ctx.facility_mw[s, p, w] = sum(q.pue * ctx.pool_load_mw[s, q.id, p, w] for q in prep.pools[s])

    def grid_rule(_m: pyo.ConcreteModel, s: str, p: str, w: str) -> Any:
        draw = sum(q.pue / q.usable_grid_share * ctx.pool_load_mw[s, q.id, p, w] for q in prep.pools[s])
        if pyo.is_constant(draw):  # only existing idle units: nothing to decide
            return pyo.Constraint.Skip
        onsite = sum(src.availability * ctx.generator_mw[s, g, p] for (s2, g), src in prep.supply.generators.items()
                     if s2 == s and src.kind == "onsite" and (s, g, p) in ctx.generator_mw)
        return draw <= prep.grid_mw[s, p] + prep.supply.flexible_mw[s, p] + onsite

    m.grid_limit = pyo.Constraint(list(at), rule=grid_rule)
    ctx.limits["grid_limit"] = m.grid_limit
