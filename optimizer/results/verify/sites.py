"""Builds re-checked (mirrors :mod:`optimizer.model.sites`): one per site, valid option, phases and timing, whole blocks.

:func:`check_builds` reads the ``builds`` table, one row per build phase: an option of
the site, one opening phase (phase 1) per built site (``one_build_per_site``), a decision
period not before the option's earliest one, the online period from the lead time (the
phase lead time for later phases; within the horizon); later phases of the opening's
option only, decided strictly after the opening and online no earlier
(``phase_after_opening``), at most ``max_phases`` per option (``max_phases``), numbered in
decision order (``phase_order``); whole blocks, at least one per phase and at most
``max_it_mw`` over all phases (``phased_max_blocks``); ``it_mw`` and ``capex_usd`` as the
option gives them (fixed capex with the opening phase only, the per-phase fixed capex with
every phase). It returns the
valid builds as :class:`Builds`, which answers the capacity questions later checks ask
(built IT capacity, pool capacity, is the site online). Costs of builds are recomputed
in :mod:`optimizer.results.verify.costs`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd

from optimizer.results.verify.violations import Collector, Subject
from optimizer.results.verify.world import World, fmt, ident, missing, num


class Build(NamedTuple):
    """One valid build phase of the plan: ``blocks`` blocks of ``option`` at ``site``, with its decision and online
    periods; ``phase`` 1 opens the site, later phases add blocks."""

    site: str
    option: str
    decision: str
    online: str
    blocks: float
    phase: int = 1


def phase_capex(W: World, s: str, o: str, phase: int, blocks: float) -> float:
    """Capex of one phase (USD): the option's fixed capex (opening phase only), the fixed capex per phase, per-MW capex."""
    opt = W.options[s, o]
    return (opt.fixed_capex_usd if phase == 1 else 0.0) + opt.phase_fixed_capex_usd + opt.capex_usd_per_mw * opt.block_mw * blocks


@dataclass
class Builds:
    """The plan's valid builds, and the capacity they give."""

    world: World
    items: list[Build]

    def capacity(self, s: str, p: str) -> float:
        """Built IT capacity (MW) of site s online in p, existing halls included."""
        W = self.world
        site = W.sites[s]
        ex = site.existing.it_mw if site.existing else 0.0
        return ex + sum(b.blocks * W.options[s, b.option].block_mw for b in self.items
                        if b.site == s and W.idx[b.online] <= W.idx[p])

    def pool_capacity(self, s: str, q: str, p: str) -> float:
        """IT capacity (MW) of pool q of site s online in p."""
        W = self.world
        if q == "existing":
            site = W.sites[s]
            return site.existing.it_mw if site.existing else 0.0
        return sum(b.blocks * W.options[s, b.option].block_mw for b in self.items
                   if b.site == s and b.option == q and W.idx[b.online] <= W.idx[p])

    def online(self, s: str, p: str) -> bool:
        """Site s has capacity online in p (existing halls, or a build online by then)."""
        W = self.world
        if W.sites[s].existing is not None:
            return True
        return any(b.site == s and W.idx[b.online] <= W.idx[p] for b in self.items)


def check_builds(W: World, tables: Mapping[str, pd.DataFrame], out: Collector) -> Builds:
    """Check the ``builds`` table; returns the builds that name a valid site, option and period."""
    builds: list[Build] = []
    by_site: dict[str, list[tuple[int, str, str, Mapping[str, object]]]] = defaultdict(list)
    for r in out.rows(tables, "builds"):
        s, o, d = ident(r.get("site")), ident(r.get("option")), ident(r.get("decision_period"))
        if not out.known("builds", "site", s, W.sites) or s is None:
            continue
        if o is None or (s, o) not in W.options:
            out.add("builds", f"site '{s}' option {o!r}", "build_option", f"builds: site '{s}' has no build option {o!r}", o)
            continue
        if not out.known("builds", f"decision period of site '{s}' option '{o}':", d, W.idx) or d is None:
            continue
        phase = _phase(r)
        at = Subject("builds", f"site '{s}' option '{o}' " + (f"phase {phase} " if phase != 1 else "") + f"decided {d}")
        if phase < 1:
            out.bad(at, "phase", f"phase {r.get('phase')!r} is not a phase number (1, 2, ...)", ident(r.get("phase")), None)
            continue
        by_site[s].append((phase, o, d, r))
        online = _check_timing(W, r, s, o, d, phase, at, out)
        if online is None:
            continue
        blocks = _check_size(W, r, s, o, phase, at, out)
        builds.append(Build(s, o, d, online, blocks, phase))
    for s, rows in by_site.items():
        _check_phases(W, s, rows, [b for b in builds if b.site == s], out)
    return Builds(W, builds)


def _phase(r: Mapping[str, object]) -> int:
    """The phase number of a builds row (a plan without the column: 1; not a whole number: 0)."""
    if "phase" not in r or missing(r.get("phase")):
        return 1
    try:
        x = float(r.get("phase"))  # type: ignore[arg-type]  # a cell; text that is not a number is refused below
    except (TypeError, ValueError):
        return 0
    return int(x) if x.is_integer() else 0


def _check_phases(W: World, s: str, rows: list[tuple[int, str, str, Mapping[str, object]]], valid: list[Build],
                  out: Collector) -> None:
    """One opening phase per site; later phases of its option after it, at most max_phases, numbered in decision
    order, within max_it_mw in total."""
    openings = [(o, d) for (ph, o, d, _r) in rows if ph == 1]
    if len(openings) > 1:
        out.add("builds", f"site '{s}'", "one_build_per_site",
                f"builds: site '{s}' is built more than once ("
                + " and ".join(f"'{o}' {d}" for o, d in openings) + "); at most one build per site")
    elif not openings:
        out.add("builds", f"site '{s}'", "phase_after_opening",
                f"builds: site '{s}' has later phases but no opening phase (phase 1)")
    opening = {o: min(W.idx[d] for (oo, d) in openings if oo == o) for o, _d in openings}
    first_online = {b.option: W.idx[b.online] for b in valid if b.phase == 1}
    for o in sorted({o for (_ph, o, _d, _r) in rows}):
        mine = sorted([(W.idx[d], ph, d) for (ph, oo, d, _r) in rows if oo == o])
        opt = W.options[s, o]
        if len(mine) > opt.max_phases:
            out.add("builds", f"site '{s}' option '{o}'", "max_phases",
                    f"builds: site '{s}' option '{o}' has {len(mine)} phases > max_phases {opt.max_phases}",
                    float(len(mine)), float(opt.max_phases))
        later = [i for (i, ph, _d) in mine if ph != 1]
        if len(set(later)) < len(later):
            out.add("builds", f"site '{s}' option '{o}'", "one_phase_per_period",
                    f"builds: site '{s}' option '{o}' has two later phases decided in the same period")
        numbers = [ph for (_i, ph, _d) in mine]
        if numbers != list(range(1, len(mine) + 1)) and o in opening:
            out.add("builds", f"site '{s}' option '{o}'", "phase_order",
                    f"builds: site '{s}' option '{o}' phases {numbers} in decision order; expected 1 to {len(mine)}",
                    str(numbers), str(list(range(1, len(mine) + 1))))
        for (i, ph, d) in mine:
            if ph == 1:
                continue
            at = Subject("builds", f"site '{s}' option '{o}' phase {ph} decided {d}")
            if o not in opening:
                if openings:  # (no opening at all is said once for the site)
                    out.bad(at, "phase_after_opening", f"a later phase, but option '{o}' has no opening phase at the site")
            elif i <= opening[o]:
                out.bad(at, "phase_after_opening", f"decided in {d}, not after the opening phase "
                        f"(decided {W.periods[opening[o]]})", d, W.periods[opening[o]])
            b = next((b for b in valid if b.option == o and b.phase == ph and b.decision == d), None)
            if b is not None and o in first_online and W.idx[b.online] < first_online[o]:
                out.bad(at, "phase_after_opening", f"online in {b.online}, before the opening phase "
                        f"(online {W.periods[first_online[o]]})", b.online, W.periods[first_online[o]])
        total = sum(b.blocks for b in valid if b.option == o)
        if total > W.max_blocks(s, o) + 1e-6:
            out.add("builds", f"site '{s}' option '{o}'", "phased_max_blocks",
                    f"builds: site '{s}' option '{o}': {fmt(total)} blocks over its phases x {fmt(opt.block_mw)} MW "
                    f"> max_it_mw {fmt(opt.max_it_mw)}", total, float(W.max_blocks(s, o)))


def _check_timing(W: World, r: Mapping[str, object], s: str, o: str, d: str, phase: int, at: Subject,
                  out: Collector) -> str | None:
    """Earliest period and online period (a later phase: its phase lead time); returns the online period
    (None: not within the horizon)."""
    opt = W.options[s, o]
    if phase == 1 and opt.earliest_period and W.idx[d] < W.idx[opt.earliest_period]:
        out.bad(at, "earliest_period", f"before the option's earliest period {opt.earliest_period}", d, opt.earliest_period)
    lead = opt.phase_lead_time_months if phase > 1 and opt.phase_lead_time_months is not None else opt.lead_time_months
    online = W.online_of(s, o, d, phase)
    if online is None:
        out.bad(at, "lead_time", f"with a lead time of {fmt(lead)} months it is not online within the horizon", d, None)
        return None
    rep_online = ident(r.get("online_period"))
    if rep_online != online:
        out.bad(at, "online_period", f"online period reported {rep_online}, "
                f"but lead time {fmt(lead)} months gives {online}", rep_online, online)
    return online


def _check_size(W: World, r: Mapping[str, object], s: str, o: str, phase: int, at: Subject, out: Collector) -> float:
    """Whole blocks, at least one, within max_it_mw; it_mw and capex_usd; returns the blocks."""
    opt = W.options[s, o]
    blocks = num(r.get("blocks"))
    if not out.is_int(blocks):
        out.bad(at, "whole_blocks", f"{fmt(blocks)} blocks is not a whole number", blocks, None)
    if blocks < 1 - 1e-6:
        out.bad(at, "build_needs_blocks", f"{fmt(blocks)} blocks; a build needs at least one block", blocks, 1.0)
    if blocks > W.max_blocks(s, o) + 1e-6:
        out.bad(at, "blocks_need_build", f"{fmt(blocks)} blocks x {fmt(opt.block_mw)} MW > max_it_mw {fmt(opt.max_it_mw)}",
                blocks, float(W.max_blocks(s, o)))
    mw = blocks * opt.block_mw
    it_mw = num(r.get("it_mw"))
    if not out.eq(it_mw, mw):
        out.bad(at, "it_mw", f"it_mw {fmt(it_mw)} != blocks x block_mw = {fmt(mw)}", it_mw, mw)
    capex = phase_capex(W, s, o, phase, blocks)
    if "capex_usd" in r and not out.eq(num(r.get("capex_usd")), capex):
        rep = num(r.get("capex_usd"))
        what = "fixed + phase fixed + per-MW capex" if phase == 1 else "phase fixed + per-MW capex"
        out.bad(at, "capex_usd", f"capex_usd {fmt(rep)} != {what} = {fmt(capex)}", rep, capex)
    return blocks
