"""The ``power`` table read for the verifier: energy by source per site, period and scenario.

:func:`read_flows` reads one record per (site, source, period, scenario), checks that it
names a known site, period and scenario and a source of the site (``grid_firm``, the firm
connection, or the id of one of its power sources) with its kind, and that no figure is
negative; :class:`Flows` answers what later checks ask: the energy bought at the tariff
(``grid_firm`` + ``grid_flexible``), the energy of PPAs and on-site generation, and the
MW each source offers. What the figures must satisfy is checked in
:mod:`~optimizer.results.verify.generation` (on-site generation and batteries) and
:mod:`~optimizer.results.verify.energy` (the rest).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from optimizer.results.verify.violations import Collector, Row, Subject
from optimizer.results.verify.world import World, fmt, ident, num

FIRM = "grid_firm"
TARIFF_KINDS = ("grid_firm", "grid_flexible")
SPW = tuple[str, str, str]
"""(site, period, scenario)"""


@dataclass(frozen=True)
class Flow:
    """One record of the ``power`` table: a source of a site in a period and scenario."""

    site: str
    source: str
    kind: str
    period: str
    scenario: str
    available: float
    used: float
    row: Row

    def subject(self) -> Subject:
        """How messages name the record."""
        return Subject("power", f"site '{self.site}' source '{self.source}' {self.period} scenario {self.scenario}")


@dataclass
class Flows:
    """The ``power`` records by (site, period, scenario), then by source."""

    at: dict[SPW, dict[str, Flow]] = field(default_factory=lambda: defaultdict(dict))

    def used(self, key: SPW, *kinds: str) -> float:
        """MW delivered at ``key`` by the sources of these kinds."""
        return sum(f.used for f in self.at.get(key, {}).values() if f.kind in kinds)

    def tariff(self, key: SPW) -> float:
        """MW bought at the grid tariff (firm and flexible connection)."""
        return self.used(key, *TARIFF_KINDS)

    def all(self) -> list[Flow]:
        """Every record, in (site, period, scenario, source) order of reading."""
        return [f for rows in self.at.values() for f in rows.values()]


def read_flows(W: World, tables: Mapping[str, pd.DataFrame], out: Collector) -> Flows:
    """The ``power`` records that name a known site, source, period and scenario (the rest are violations)."""
    flows = Flows()
    for r in out.rows(tables, "power"):
        ids = out.keys("power", r, ("site", "period", "scenario"), W.ids)
        if ids is None:
            continue
        s, p, w = ids
        g, kind = ident(r.get("source")), ident(r.get("kind"))
        src = W.power.of.get((s, g)) if g is not None else None
        if g != FIRM and src is None:
            out.add("power", f"site '{s}' source {g!r}", "known_id", f"power: site '{s}' has no power source {g!r}", g)
            continue
        assert g is not None
        want = FIRM if src is None else src.kind
        f = Flow(s, g, want, p, w, num(r.get("mw_available")), num(r.get("mw_used")), r)
        at = f.subject()
        if kind != want:
            out.bad(at, "kind", f"kind reported {kind!r}, the source is {want!r}", kind, want)
        if g in flows.at[s, p, w]:
            out.bad(at, "one_row", "more than one row")
            continue
        for col, x in (("mw_available", f.available), ("mw_used", f.used)):
            if x < -out.slack(x):
                out.bad(at, "nonnegative", f"negative {col} {fmt(x)} MW", x, 0.0)
        flows.at[s, p, w][g] = f
    return flows
