"""Shared state of one model build: prepared data, linear expressions, cost terms.

Modules add variables and constraints to the Pyomo model and register their shared
expressions (capacity online, units in service, IT load) and their cost terms here, so
that later modules and the objective use them by attribute, never by string lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..instance.derive import Prepared


LINK_MIN_FIXED_SHARE = 0.05
"""Fixed build cost / full build-out cost of a site from which the disaggregated link rows
are created (:meth:`Context.links_pay`). On synth-L, dropping them at sites below 5 % lowers
the LP bound by 0.007 % and with the objective scaling takes the root LP from over 240 s to 14 s."""


@dataclass(frozen=True)
class CostTerm:
    """A cost in one period and scenario.

    ``expr`` is USD per year (``kind='annual'``) or USD once (``kind='lump'``); the
    discounted value is ``expr * factor`` and the undiscounted ``expr * undiscounted``.
    """

    category: str
    period: str
    scenario: str
    expr: Any
    factor: float
    undiscounted: float


@dataclass(frozen=True)
class Risk:
    """Risk-averse objective: (1 - weight) * expected cost + weight * CVaR_alpha(cost)."""

    alpha: float
    weight: float

    def __post_init__(self) -> None:
        if not (0 <= self.alpha < 1 and 0 <= self.weight <= 1):
            raise ValueError("risk needs 0 <= alpha < 1 and 0 <= weight <= 1")

    @staticmethod
    def parse(text: str) -> "Risk":
        """From ``cvar:ALPHA:WEIGHT``, e.g. ``cvar:0.9:0.5``."""
        parts = text.split(":")
        if len(parts) != 3 or parts[0] != "cvar":
            raise ValueError(f"'{text}': expected cvar:ALPHA:WEIGHT, e.g. cvar:0.9:0.5")
        return Risk(float(parts[1]), float(parts[2]))


@dataclass
class Context:
    prep: Prepared
    risk: Risk | None = None
    is_online: dict[tuple[str, str], Any] = field(default_factory=dict)  # (s, p) -> 0/1 expression
    capacity_mw: dict[tuple[str, str], Any] = field(default_factory=dict)  # (s, p)
    pool_capacity_mw: dict[tuple[str, str, str], Any] = field(default_factory=dict)  # (s, pool, p)
    in_service: dict[tuple[str, str, str, str], Any] = field(default_factory=dict)  # (s, k, p, w)
    busy_units: dict[tuple[str, str, str, str], Any] = field(default_factory=dict)  # (s, k, p, w)
    it_load_mw: dict[tuple[str, str, str], Any] = field(default_factory=dict)  # (s, p, w)
    pool_load_mw: dict[tuple[str, str, str, str], Any] = field(default_factory=dict)  # (s, pool, p, w)
    facility_mw: dict[tuple[str, str, str], Any] = field(default_factory=dict)  # (s, p, w)
    costs: list[CostTerm] = field(default_factory=list)

    def lump(self, category: str, p: str, w: str, expr: Any) -> None:
        """Register a one-off cost paid at the start of period ``p``."""
        self.costs.append(CostTerm(category, p, w, expr, self.prep.capex_factor[p], 1.0))

    def annual(self, category: str, p: str, w: str, expr: Any) -> None:
        """Register a cost per year incurred throughout period ``p``."""
        self.costs.append(CostTerm(category, p, w, expr, self.prep.opex_factor[p], self.prep.years[p]))

    def at_end(self, category: str, w: str, expr: Any) -> None:
        """Register a value at the end of the horizon (reported under the last period)."""
        self.costs.append(CostTerm(category, self.prep.periods[-1], w, expr, self.prep.end_factor, 1.0))

    def always_online(self, s: str) -> bool:
        return any(pl.id == "existing" for pl in self.prep.pools[s])

    def links_pay(self, s: str) -> bool:
        """Whether the per-route and per-job ``..._needs_online`` rows are worth creating at
        site ``s`` (see ``docs/formulation.md``, "Which link rows exist").

        They are valid but redundant for integer plans (a route or a job needs units, units
        need built capacity); in the LP relaxation they only force the build binaries up,
        so they can raise the bound by at most the site's fixed build cost. They are kept
        where that fixed cost is at least :data:`LINK_MIN_FIXED_SHARE` of the site's full
        build-out cost (facility-location-like sites), and left out elsewhere.
        """
        if self.always_online(s):
            return False
        return self.prep.fixed_cost_share.get(s, 0.0) >= LINK_MIN_FIXED_SHARE
