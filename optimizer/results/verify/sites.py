"""Builds re-checked (mirrors :mod:`optimizer.model.sites`): one per site, valid option and timing, whole blocks.

:func:`check_builds` reads the ``builds`` table: at most one build per site, an option
of the site, a decision period not before the option's earliest one, the online period
from the lead time (within the horizon), whole blocks, at least one and at most
``max_it_mw``; ``it_mw`` and ``capex_usd`` as the option gives them. It returns the
valid builds as :class:`Builds`, which answers the capacity questions later checks ask
(built IT capacity, pool capacity, is the site online). Costs of builds are recomputed
in :mod:`optimizer.results.verify.costs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd

from optimizer.results.verify.violations import Collector, Subject
from optimizer.results.verify.world import World, fmt, ident, num


class Build(NamedTuple):
    """One valid build of the plan: ``blocks`` blocks of ``option`` at ``site``, with its decision and online periods."""

    site: str
    option: str
    decision: str
    online: str
    blocks: float


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
    seen: dict[str, str] = {}
    for r in out.rows(tables, "builds"):
        s, o, d = ident(r.get("site")), ident(r.get("option")), ident(r.get("decision_period"))
        if not out.known("builds", "site", s, W.sites) or s is None:
            continue
        if o is None or (s, o) not in W.options:
            out.add("builds", f"site '{s}' option {o!r}", "build_option", f"builds: site '{s}' has no build option {o!r}", o)
            continue
        if not out.known("builds", f"decision period of site '{s}' option '{o}':", d, W.idx) or d is None:
            continue
        at = Subject("builds", f"site '{s}' option '{o}' decided {d}")
        if s in seen:
            out.add("builds", f"site '{s}'", "one_build_per_site",
                    f"builds: site '{s}' is built more than once ({seen[s]} and '{o}' {d}); at most one build per site")
        seen[s] = f"'{o}' {d}"
        online = _check_timing(W, r, s, o, d, at, out)
        if online is None:
            continue
        blocks = _check_size(W, r, s, o, at, out)
        builds.append(Build(s, o, d, online, blocks))
    return Builds(W, builds)


def _check_timing(W: World, r: Mapping[str, object], s: str, o: str, d: str, at: Subject, out: Collector) -> str | None:
    """Earliest period and online period; returns the online period (None: not within the horizon)."""
    opt = W.options[s, o]
    if opt.earliest_period and W.idx[d] < W.idx[opt.earliest_period]:
        out.bad(at, "earliest_period", f"before the option's earliest period {opt.earliest_period}", d, opt.earliest_period)
    online = W.online_of(s, o, d)
    if online is None:
        out.bad(at, "lead_time", f"with a lead time of {fmt(opt.lead_time_months)} months it is not online within the horizon",
                d, None)
        return None
    rep_online = ident(r.get("online_period"))
    if rep_online != online:
        out.bad(at, "online_period", f"online period reported {rep_online}, "
                f"but lead time {fmt(opt.lead_time_months)} months gives {online}", rep_online, online)
    return online


def _check_size(W: World, r: Mapping[str, object], s: str, o: str, at: Subject, out: Collector) -> float:
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
    capex = opt.fixed_capex_usd + opt.capex_usd_per_mw * mw
    if "capex_usd" in r and not out.eq(num(r.get("capex_usd")), capex):
        rep = num(r.get("capex_usd"))
        out.bad(at, "capex_usd", f"capex_usd {fmt(rep)} != fixed + per-MW capex = {fmt(capex)}", rep, capex)
    return blocks
