"""Shared state of one model build: prepared data, linear expressions, cost terms.

Modules add variables and constraints to the Pyomo model and register their shared
expressions (capacity online, units in service, IT load) and their cost terms here, so
that later modules and the objective use them by attribute, never by string lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from optimizer.instance.derive import Prepared
from optimizer.options import Risk

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


@dataclass
class Context:
    """One model build's prepared data, the shared expressions the modules register, and the cost terms."""

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
    generator_mw: dict[tuple[str, str, str], Any] = field(default_factory=dict)  # (s, source, p): MW kept, first stage
    paused_units: dict[tuple[str, str, str, str], Any] = field(default_factory=dict)  # (s, k, p, w) during curtailment
    tariff_mw: dict[tuple[str, str, str], Any] = field(default_factory=dict)  # (s, p, w): energy bought at the tariff, MW
    costs: list[CostTerm] = field(default_factory=list)
    # rows that results and analysis read back (set by the module that builds them)
    share_rows: dict[tuple[str, str, str], tuple[Any, list[tuple[str, str]]]] = field(default_factory=dict)
    """(target label, p, w) -> (the target rule, its (site, system) terms); :mod:`optimizer.model.policy`."""
    export_cap_rows: dict[tuple[str, str, str, int], tuple[list[tuple[str, str]], float]] = field(default_factory=dict)
    """(cap label, p, w, i) -> ((site, system) members, cap in units); :mod:`optimizer.model.fleet`."""
    limits: dict[str, Any] = field(default_factory=dict)
    """Constraint families whose duals are marginal values, by family name (``grid_limit``,
    ``subsidy_needs_qualification``, ``supply_limit``, ``export_cap``, ``domestic_share``,
    ``nameplate_limit``, ``pool_capacity_limit``, ``permit_cap``, ``curtailment_firm_supply``,
    ``emission_cap``):
    the indexed Pyomo constraint, registered by the module that builds it."""

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
        """Whether site ``s`` has existing capacity, so is online in every period without a build."""
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
