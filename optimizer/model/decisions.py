r"""Imposed decisions: forced choices and fixed first-stage builds.

For a forced site :math:`\sum_{o,d} b_{sod} \ge 1`; a forced option
:math:`\sum_d b_{sod} \ge 1`; a forced system, family or site×system
:math:`\sum x_{skpw} \ge 1` over its purchases, in every scenario (``forced_choice``).
Fixed builds fix :math:`b`, :math:`n` and the later phases :math:`e`, :math:`m` to the given plan
(all other build choices to 0).
Fixed power fixes the MW of on-site generation and batteries built (:math:`x`) and kept
(:math:`A`) and the MW signed of PPA offers (:math:`c`); those not listed are 0.
Forbidden choices are not constraints: their variables are never created
(:func:`optimizer.instance.derive.prepare`).
"""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from .context import Context


def add(m: pyo.ConcreteModel, ctx: Context) -> None:
    """Add a ``forced_choice`` row per forced choice; a choice with no eligible decision is recorded as impossible."""
    prep = ctx.prep
    dec = prep.decisions
    systems = {k.id: k for k in prep.inst.systems}
    rows = {}
    for kind, ident in dec.force:
        if kind == "site" and ident in prep.pools and ctx.always_online(ident):
            continue  # an existing site is there already
        if kind in ("site", "option"):
            rows[kind, ident, "-"] = [m.build[c] for c in m.BUILD
                                      if (kind == "site" and c[0] == ident) or (kind == "option" and f"{c[0]}:{c[1]}" == ident)]
        else:
            for w in prep.scenario_ids:
                terms = [m.units_bought[b] for b in m.BUY if b[3] == w and (
                    (kind == "system" and b[1] == ident) or (kind == "family" and systems[b[1]].family == ident)
                    or (kind == "site_system" and f"{b[0]}:{b[1]}" == ident))]
                rows[kind, ident, w] = terms
    for (kind, ident, w), terms in rows.items():
        if not terms:
            prep.impossible.append(f"forced {kind} '{ident}' cannot be chosen: no eligible decision exists"
                                   + (f" in scenario '{w}'" if w != "-" else "") + " (bans, lead times or other forbids)")
    m.forced_choice = pyo.Constraint([key for key, t in rows.items() if t], rule=lambda _m, k, i, w: sum(rows[k, i, w]) >= 1)

    if dec.fixed_builds is not None:
        fixed = {(f.site, f.option, f.decision_period): f.blocks for f in dec.fixed_builds if f.phase == 1}
        later = {(f.site, f.option, f.decision_period): f.blocks for f in dec.fixed_builds if f.phase > 1}
        for key in fixed:
            if key not in m.BUILD:
                prep.impossible.append(f"fixed build {key[0]}:{key[1]} decided in {key[2]} is not an eligible build choice")
        for key in later:
            if key not in m.EXPAND:
                prep.impossible.append(f"fixed later phase {key[0]}:{key[1]} decided in {key[2]} is not an eligible phase")
        for c in m.BUILD:
            n = fixed.get(c, 0)
            m.build[c].fix(1 if n > 0 else 0)
            m.blocks[c].fix(n)
        for c in m.EXPAND:
            n = later.get(c, 0)
            m.expand[c].fix(1 if n > 0 else 0)
            m.expand_blocks[c].fix(n)
    if dec.fixed_power is not None:
        _fix_power(m, ctx)


def _fix_power(m: pyo.ConcreteModel, ctx: Context) -> None:
    """Fix generator MW built and kept and PPA MW signed to the given plan (0 where not listed)."""
    fp = ctx.prep.decisions.fixed_power
    assert fp is not None
    fixed: list[tuple[Any, dict[tuple[str, ...], float]]] = [
        (m.generator_built_mw, {(s, g, d): mw for s, g, d, mw in fp.built_mw}),
        (m.generator_kept_mw, {(s, g, p): mw for s, g, p, mw in fp.kept_mw}),
        (m.ppa_contract_mw, {(s, g): mw for s, g, mw in fp.contract_mw})]
    for comp, values in fixed:
        for key in values:
            if key not in comp and values[key] > 1e-9:
                ctx.prep.impossible.append(f"fixed {comp.name} {':'.join(key)} = {values[key]:g} MW is not an eligible choice")
        for key in comp:
            lo, hi = comp[key].bounds
            comp[key].fix(min(max(values.get(key, 0.0), lo if lo is not None else 0.0), hi if hi is not None else float("inf")))
