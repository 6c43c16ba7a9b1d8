"""The power sources of every site re-derived for the verifier, from the instance alone.

:class:`Sources` resolves, per site, what the schema says about its power beside the firm
grid connection: the flexible (curtailable) connection and its MW per period (none when
it asks for more curtailment than the site's budget ``max_curtailment_share``), the
on-site generators and batteries with the period each decision makes them usable (lead
time, ``available_from``), the PPAs and the periods of their term, the largest power a
site can have in a period (firm grid, flexible MW in their term, on-site generation that
can be usable by then), and the share of a generator's MW that is firm during a
curtailment event (1 for on-site generation, ``min(1, duration / event length)`` for a
battery). Written independently of the model's own derivation, so that a mistake there
shows up as a disagreement.
"""

from __future__ import annotations

from optimizer.instance.schema import Instance, PowerSource

EPS = 1e-9
EVENT_HOURS = 2.0
"""Length of one curtailment event when the flexible connection gives none (h)."""


class Sources:
    """Every site's power sources, resolved per period."""

    def __init__(self, inst: Instance, periods: list[str], t_start: dict[str, float],
                 grid: dict[tuple[str, str], float]) -> None:
        self.periods = periods
        self.idx = {p: i for i, p in enumerate(periods)}
        self.t_start = t_start
        self.of: dict[tuple[str, str], PowerSource] = {}  # (site, source) -> the record, every kind
        self.flexible: dict[str, PowerSource] = {}  # site -> its usable flexible connection
        self.refused: dict[str, str] = {}  # site -> why its flexible connection is not usable
        self.flexible_mw: dict[tuple[str, str], float] = {}
        self.generators: dict[tuple[str, str], PowerSource] = {}  # onsite and battery
        self.ppas: dict[tuple[str, str], PowerSource] = {}
        self.term: dict[tuple[str, str], set[str]] = {}  # PPA and flexible: periods it delivers
        self.power_max: dict[tuple[str, str], float] = {}
        for site in inst.sites:
            for src in site.power_sources:
                key = (site.id, src.id)
                self.of[key] = src
                if src.kind in ("onsite", "battery"):
                    self.generators[key] = src
                    continue
                self.term[key] = self._term(src)
                if src.kind == "ppa":
                    self.ppas[key] = src
                    continue
                share, budget = src.curtailment_share or 0.0, site.max_curtailment_share
                if budget is not None and share > budget + EPS:
                    self.refused[site.id] = (f"flexible connection '{src.id}' asks for curtailment in {share:.6g} of hours, "
                                             f"more than the site's budget {budget:.6g}")
                else:
                    self.flexible[site.id] = src
            flex = self.flexible.get(site.id)
            for p in periods:
                self.flexible_mw[site.id, p] = flex.mw if flex is not None and p in self.term[site.id, flex.id] else 0.0
                onsite = sum(g.mw for (s, gid), g in self.generators.items()
                             if s == site.id and g.kind == "onsite" and self.usable_by(s, gid, p))
                self.power_max[site.id, p] = grid[site.id, p] + self.flexible_mw[site.id, p] + onsite

    def _term(self, src: PowerSource) -> set[str]:
        first = self.idx[src.available_from] if src.available_from else 0
        last = self.idx[src.available_until] if src.available_until else len(self.periods) - 1
        return set(self.periods[first:last + 1])

    def online_of(self, s: str, g: str, d: str) -> str | None:
        """Period a generator decided in ``d`` is usable from (None: not allowed in d, or not within the horizon)."""
        src = self.generators[s, g]
        if src.available_from and self.idx[d] < self.idx[src.available_from]:
            return None
        ready = self.t_start[d] + (src.lead_time_months or 0.0) / 12.0
        return next((p for p in self.periods if self.t_start[p] >= ready - EPS), None)

    def usable_by(self, s: str, g: str, p: str) -> bool:
        """Some decision can make generator g of site s usable in period p."""
        for d in self.periods[: self.idx[p] + 1]:
            on = self.online_of(s, g, d)
            if on is not None and self.idx[on] <= self.idx[p]:
                return True
        return False

    def curtailment_share(self, s: str) -> float:
        """Share of hours the site's usable flexible connection may be curtailed (0 without one)."""
        src = self.flexible.get(s)
        return (src.curtailment_share or 0.0) if src is not None else 0.0

    def firm_share(self, s: str, g: str) -> float:
        """Share of generator g's MW that is firm during a curtailment event of site s."""
        src = self.generators[s, g]
        if src.kind != "battery":
            return src.availability  # a unit out for maintenance cannot firm the site either
        flex = self.flexible.get(s)
        hours = (flex.event_hours or EVENT_HOURS) if flex is not None else EVENT_HOURS
        return min(1.0, (src.duration_hours or 0.0) / hours)

    def has_sources(self, s: str) -> bool:
        """The site has a power source beside its firm grid connection."""
        return any(k[0] == s for k in self.of)

    def has_split(self, s: str) -> bool:
        """The site has PPA or on-site energy (its facility power is not all bought at the tariff)."""
        return any(k[0] == s and (src.kind == "ppa" or src.kind == "onsite") for k, src in self.of.items())
