"""Export rules resolved per (site, system, period): bans, purchase caps and premiums."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from .schema import Policies, Site, System


def _in_force(rule_periods: list[str] | None, p: str) -> bool:
    """Whether a rule with these periods (none: all) holds in period ``p``."""
    return rule_periods is None or p in rule_periods


@dataclass(frozen=True)
class CapRule:
    """An export cap: at most ``cap_units`` bought in ``period`` over its (site, system) members."""

    label: str
    period: str
    cap_units: float
    members: tuple[tuple[str, str], ...]  # (site, system) pairs it covers



def export_rules(pol: Policies, periods: list[str], sites: dict[str, Site], systems: dict[str, System],
                  ancestors: dict[str, tuple[str, ...]], unit_price: dict[tuple[str, str], float]) -> tuple[
        dict[tuple[str, str, str], tuple[str, str]], dict[tuple[str, str, str], float], list[CapRule]]:
    """Banned (site, system, period) with the banning rule, premiums per unit, and purchase caps from the export rules."""
    banned: dict[tuple[str, str, str], tuple[str, str]] = {}
    premium: dict[tuple[str, str, str], float] = {}
    caps: list[CapRule] = []
    for i, rule in enumerate(pol.export_rules):
        covered = [k for k in systems.values() if k.id == rule.system or k.family == rule.family]
        rsites = [s for s in sites.values() if rule.jurisdiction in ancestors[s.jurisdiction]]
        label = rule.id or f"export_rules[{i}]"
        for p in periods:
            if not _in_force(rule.periods, p):
                continue
            if rule.action == "ban":
                for key in ((s.id, k.id, p) for s in rsites for k in covered):
                    banned.setdefault(key, (label, rule.jurisdiction))
            elif rule.action == "premium":
                for s in rsites:
                    for k in covered:
                        extra = (rule.premium_share or 0.0) * unit_price[k.id, p] + (rule.premium_usd_per_unit or 0.0)
                        premium[s.id, k.id, p] = premium.get((s.id, k.id, p), 0.0) + extra
            else:  # cap: the instance checks guarantee cap_units
                caps.append(CapRule(label, p, float(cast(float, rule.cap_units)),
                                    tuple((s.id, k.id) for s in rsites for k in covered)))
    return banned, premium, caps
