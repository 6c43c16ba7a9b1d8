"""Cross-record rules of the power sources of a site and of the emission rules.

Called by :mod:`optimizer.instance.checks`; every problem is reported, none stops the rest.
A power source record has fields for every kind (one sheet in a workbook); a field that
does not apply to the record's kind is an error, so a typo in ``kind`` cannot go unnoticed.
"""

from __future__ import annotations

from typing import Any, Protocol

from optimizer.instance.schema import EmissionRule, PowerSource

APPLIES: dict[str, set[str]] = {
    "grid_flexible": {"available_from", "available_until", "curtailment_share", "event_hours"},
    "onsite": {"available_from", "lead_time_months", "capex_usd_per_mw", "fom_usd_per_mw_year", "fuel_usd_per_mmbtu",
               "heat_rate_mmbtu_per_mwh", "vom_usd_per_mwh", "availability", "co2_t_per_mwh"},
    "battery": {"available_from", "lead_time_months", "capex_usd_per_mw", "fom_usd_per_mw_year", "duration_hours"},
    "ppa": {"available_from", "available_until", "price_usd_per_mwh", "take_or_pay_share", "signed", "co2_t_per_mwh"},
}
"""The kind-specific fields each kind of power source takes (``id``, ``kind`` and ``mw`` are common)."""
NEEDS: dict[str, tuple[str, ...]] = {
    "grid_flexible": ("curtailment_share",), "battery": ("duration_hours",), "ppa": ("price_usd_per_mwh",),
}
"""Fields a kind cannot do without."""


class Checker(Protocol):
    """What these checks need of :class:`optimizer.instance.checks._Checker`."""

    periods: list[str]
    period_set: set[str]
    jur: set[str]

    def add(self, where: str, rule: str, value: Any = None, has_value: bool = True) -> None: ...  # noqa: D102

    def ref(self, where: str, value: str | None, known: set[str], what: str) -> None: ...  # noqa: D102

    def refs(self, where: str, values: list[str] | None, known: set[str], what: str) -> None: ...  # noqa: D102

    def unique(self, kind: str, ids: list[str]) -> None: ...  # noqa: D102


def check_power_sources(c: Checker, w: str, sources: list[PowerSource]) -> None:
    """Kind-specific fields, references to periods, at most one flexible connection per site."""
    c.unique(f"{w}.power_sources", [x.id for x in sources])
    defaults = PowerSource.model_fields
    flexible = [x.id for x in sources if x.kind == "grid_flexible"]
    if len(flexible) > 1:
        c.add(f"{w}.power_sources", f"at most one grid_flexible source per site; found {len(flexible)}: "
              f"{', '.join(flexible)}", has_value=False)
    for i, x in enumerate(sources):
        wx = f"{w}.power_sources[{i}] '{x.id}'"
        given = x.model_fields_set - {"id", "kind", "mw"}
        for name in sorted(given - APPLIES[x.kind]):
            value = getattr(x, name)
            if value != defaults[name].default:
                c.add(f"{wx}.{name}", f"does not apply to a '{x.kind}' source (it takes: "
                      f"{', '.join(sorted(APPLIES[x.kind]))})", value)
        for name in NEEDS.get(x.kind, ()):
            if getattr(x, name) is None:
                c.add(f"{wx}.{name}", f"a '{x.kind}' source needs {name}", has_value=False)
        c.ref(f"{wx}.available_from", x.available_from, c.period_set, "period")
        c.ref(f"{wx}.available_until", x.available_until, c.period_set, "period")
        if (x.available_from in c.period_set and x.available_until in c.period_set
                and c.periods.index(x.available_until) < c.periods.index(x.available_from)):
            c.add(f"{wx}.available_until", f"ends before it starts ({x.available_from})", x.available_until)


def check_emission_rules(c: Checker, w: str, rules: list[EmissionRule]) -> None:
    """References, a price or a cap, and a penalty for soft caps."""
    c.unique(f"{w}.emission_rules", [x.id for x in rules])
    for i, x in enumerate(rules):
        wx = f"{w}.emission_rules[{i}] '{x.id}'"
        c.ref(f"{wx}.jurisdiction", x.jurisdiction, c.jur, "jurisdiction")
        c.refs(f"{wx}.periods", x.periods, c.period_set, "period")
        if x.cap_t_per_year is None and x.price_usd_per_t == 0:
            c.add(wx, "an emission rule needs a price (price_usd_per_t) or a cap (cap_t_per_year)", has_value=False)
        if x.cap_t_per_year is not None and not x.hard and x.excess_penalty_usd_per_t is None:
            c.add(f"{wx}.excess_penalty_usd_per_t", "a soft cap (hard: false) needs an excess penalty", has_value=False)
        if x.cap_t_per_year is None and x.excess_penalty_usd_per_t is not None:
            c.add(f"{wx}.excess_penalty_usd_per_t", "only caps take an excess penalty", x.excess_penalty_usd_per_t)
