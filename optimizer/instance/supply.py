"""Derived data of the power sources of each site, in plain Python (no Pyomo).

:func:`prepare_supply` resolves every site's power beside its firm grid connection: the
flexible (curtailable) grid MW per period and the curtailment share that comes with them,
the on-site generation and battery build choices (decision period → period usable, from
the lead time), the PPAs in force per period, and the largest power a site can have in a
period (which decides whether it can host IT load then). A flexible connection that asks
for more curtailment than the site's budget (``max_curtailment_share``) is not usable; the
reason is kept for the explanations of infeasible plans.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .schema import EmissionRule, Instance, PowerSource, Site

EPS = 1e-9
DEFAULT_EVENT_HOURS = 2.0
"""Length of a curtailment event when the instance gives none: the middle of the 1.7-2.5 h
mean events of Norris et al., "Rethinking Load Growth" (Duke University, 2025)."""


@dataclass(frozen=True)
class GeneratorChoice:
    """Building on-site generation or a battery ``source`` at ``site`` in ``decision``, usable from ``online``."""

    site: str
    source: str
    decision: str
    online: str


@dataclass
class Supply:
    """Every site's power beside the firm grid connection, resolved per period."""

    flexible: dict[str, PowerSource] = field(default_factory=dict)  # site -> its usable flexible source
    flexible_mw: dict[tuple[str, str], float] = field(default_factory=dict)  # (site, period), 0 outside its term
    flexible_refused: dict[str, str] = field(default_factory=dict)  # site -> why its flexible source is unusable
    generators: dict[tuple[str, str], PowerSource] = field(default_factory=dict)  # (site, source): onsite and battery
    generator_choices: list[GeneratorChoice] = field(default_factory=list)
    ppas: dict[tuple[str, str], PowerSource] = field(default_factory=dict)  # (site, source)
    ppa_periods: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (site, source) -> periods in its term
    power_max_mw: dict[tuple[str, str], float] = field(default_factory=dict)  # (site, period): firm + flexible + generation

    def generator_online(self, s: str, g: str, p: str, periods: list[str]) -> list[GeneratorChoice]:
        """The build choices of generator ``g`` at ``s`` usable in period ``p``."""
        i = periods.index(p)
        return [c for c in self.generator_choices if c.site == s and c.source == g and periods.index(c.online) <= i]

    def event_hours(self, s: str) -> float:
        """Length of one curtailment event of site ``s``'s flexible connection."""
        src = self.flexible.get(s)
        return (src.event_hours or DEFAULT_EVENT_HOURS) if src is not None else DEFAULT_EVENT_HOURS

    def firming_share(self, s: str, g: str) -> float:
        """Share of generator ``g``'s MW that counts as firm during a curtailment event of site ``s``:
        its availability for on-site generation (a unit out for maintenance cannot firm the site),
        ``min(1, duration / event length)`` for a battery."""
        src = self.generators[s, g]
        if src.kind != "battery":
            return src.availability
        return min(1.0, (src.duration_hours or 0.0) / self.event_hours(s))


def _term(src: PowerSource, periods: list[str]) -> list[str]:
    """Periods from ``available_from`` to ``available_until`` (both included)."""
    first = periods.index(src.available_from) if src.available_from else 0
    last = periods.index(src.available_until) if src.available_until else len(periods) - 1
    return periods[first:last + 1]


def _flexible(site: Site, src: PowerSource, periods: list[str], out: Supply) -> None:
    share = src.curtailment_share or 0.0
    budget = site.max_curtailment_share
    term = _term(src, periods)
    if budget is not None and share > budget + EPS:
        out.flexible_refused[site.id] = (
            f"its flexible connection '{src.id}' may be curtailed {100 * share:g} % of hours, more than the site's "
            f"curtailment budget of {100 * budget:g} %")
        for p in periods:
            out.flexible_mw[site.id, p] = 0.0
        return
    out.flexible[site.id] = src
    for p in periods:
        out.flexible_mw[site.id, p] = src.mw if p in term else 0.0


def prepare_supply(inst: Instance, periods: list[str], t_start: dict[str, float],
                   firm_mw: dict[tuple[str, str], float]) -> Supply:
    """Resolve the power sources of every site (``firm_mw``: the firm grid MW per (site, period))."""
    out = Supply()
    for site in inst.sites:
        for p in periods:
            out.flexible_mw[site.id, p] = 0.0
        for src in site.power_sources:
            if src.kind == "grid_flexible":
                _flexible(site, src, periods, out)
            elif src.kind == "ppa":
                out.ppas[site.id, src.id] = src
                out.ppa_periods[site.id, src.id] = _term(src, periods)
            else:
                out.generators[site.id, src.id] = src
                first = periods.index(src.available_from) if src.available_from else 0
                for d in periods[first:]:
                    ready = t_start[d] + (src.lead_time_months or 0.0) / 12.0
                    online = next((p for p in periods if t_start[p] >= ready - EPS), None)
                    if online is not None:
                        out.generator_choices.append(GeneratorChoice(site.id, src.id, d, online))
        for p in periods:
            gen = sum(src.mw for (s, g), src in out.generators.items()
                      if s == site.id and src.kind == "onsite" and out.generator_online(s, g, p, periods))
            out.power_max_mw[site.id, p] = firm_mw[site.id, p] + out.flexible_mw[site.id, p] + gen
    return out


@dataclass(frozen=True)
class EmissionLimit:
    """An emission rule in force in one period: its price, its cap, and the sites it covers."""

    label: str
    jurisdiction: str
    period: str
    price_usd_per_t: float
    cap_t_per_year: float | None
    hard: bool
    penalty_usd_per_t: float
    sites: tuple[str, ...]


def emission_limits(rules: list[EmissionRule], periods: list[str], sites: list[Site],
                    ancestors: dict[str, tuple[str, ...]]) -> list[EmissionLimit]:
    """The emission rules (``policies.emission_rules``) resolved per period, with the sites they cover."""
    out = []
    for r in rules:
        covered = tuple(s.id for s in sites if r.jurisdiction in ancestors[s.jurisdiction])
        for p in periods:
            if r.periods is None or p in r.periods:
                out.append(EmissionLimit(r.id, r.jurisdiction, p, r.price_usd_per_t, r.cap_t_per_year, r.hard,
                                         r.excess_penalty_usd_per_t or 0.0, covered))
    return out
