"""Independent verifier: re-check a plan's tables against its instance, without the model.

:func:`verify_plan` takes only the validated :class:`~optimizer.instance.schema.Instance`
and the plan's result tables (as produced by :mod:`optimizer.results.extract`, or read
back from the CSV files written by :mod:`optimizer.results.write`). It re-derives every
datum the model uses — period start times and discount factors, scenario overrides,
policies in force, latency, eligibility of purchases and routes — directly from the
instance, re-checks every constraint family of the model, recomputes every cost category
and the expected discounted cost, and compares them with what the plan reports.

Independence is deliberate: this package imports neither Pyomo nor
``optimizer.instance.derive`` nor ``optimizer.model`` (only the instance schema, pandas
and the standard library). A mistake in the derivation or in the model therefore shows
up as a disagreement here instead of being repeated.

Decisions are read from the tables (build phases; units bought; training and inference
PFLOPS and paused units per system; job placements; routes; pool loads and domestic pool
loads of multi-pool sites; the ``qualified`` flag of qualifying-site subsidies; generator
MW built and kept; MW used per power source and the MW of unsigned PPAs; the excess of
soft emission caps). Everything else — units in service, busy units, IT load, facility
and grid draw, power limits, unserved demand, subsidies, emissions and costs — is
recomputed and compared with the reported figure.

The package mirrors :mod:`optimizer.model`, one module per constraint family:

- :mod:`~optimizer.results.verify.world`: the instance re-derived (:class:`World`, :class:`Scenario`),
  with the power sources of each site re-derived in :mod:`~optimizer.results.verify.supply`;
- :mod:`~optimizer.results.verify.sites`: builds (one opening phase per site, option and
  decision period valid, online period from the lead time or phase lead time, later phases
  after the opening, at most max_phases, whole blocks within max_it_mw over all phases);
- :mod:`~optimizer.results.verify.fleet`: purchases only where eligible — capacity online,
  grid, export bans and zero caps, supply — whole units unless divisible, units in service
  from existing units and purchases within their lifetime, supply and export caps,
  nameplate within built capacity;
- :mod:`~optimizer.results.verify.workloads`: compute use (busy units within units in
  service; paused units within busy training units, only where a flexible connection
  delivers); training (active jobs placed once, at an allowed site and family,
  must_place, family PFLOPS less what pauses lose cover the jobs placed, running units
  cover the jobs that need firm power); inference (routes allowed by
  residency and latency, at online sites, equal to the systems' inference PFLOPS) and
  demand (served + unserved = demand, must_serve);
- :mod:`~optimizer.results.verify.flows`: the ``power`` table read (records of known sources);
- :mod:`~optimizer.results.verify.generation`: on-site generation and batteries (builds
  within the permit cap, online from the lead time, MW kept within MW built, retired MW
  never back, generation within availability, batteries deliver no energy);
- :mod:`~optimizer.results.verify.power`: IT load of busy and idle units, pool split and
  pool capacity, grid connection held within the power limit (firm, flexible, on-site
  generation kept); energy subsidies (domestic-systems split and saving, qualifying-site
  threshold and saving, on the tariff energy only);
- :mod:`~optimizer.results.verify.energy`: energy by source (records present, sources
  deliver the facility power, firm and flexible MW, firm first, grid energy limit, PPA
  term and contract) and curtailment events (firm supply less the relief of paused units);
- :mod:`~optimizer.results.verify.emissions`: tonnes per emission rule from the power
  table, hard and soft caps; the ``time_to_power`` table;
- :mod:`~optimizer.results.verify.policy`: hard share targets, soft-target shortfall;
- :mod:`~optimizer.results.verify.costs`: site_capex, site_capex_subsidy, site_fom,
  system_capex, export_premium, system_om (and the costs the checks above add: energy,
  energy_subsidy, routing, unserved_penalty, placement, unplaced_penalty,
  share_shortfall_penalty, generator_capex, generator_fom, generator_energy, ppa_energy,
  carbon_price, emission_excess_penalty) and, with ``horizon.end_value: straight_line``, end_value:
  capex net of the capex subsidy (which pays at most the per-MW capex) and unit prices
  times the share of life left at the horizon's end, credited at its end; the cost table and the
  objective compared with the plan's.

Shares are counted under each rule's measure (training PFLOPS, inference PFLOPS or
accelerator chips). :func:`verify_plan` is the one place that says which checks run and
in which order (later checks use what earlier ones recompute).

``objective`` is the *expected* discounted cost: for a risk-averse (CVaR) plan pass
``plan.expected_cost``, not the solver's objective.

Tolerances: a constraint ``a <= b`` holds when ``a <= b + tol * max(1, |a|, |b|)``;
integrality allows ``max(tol, 1e-6)`` per unit. The objective may differ from the
reported one by at most ``max(tol, 1e-6) * max(1, |objective|)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from optimizer.instance.schema import Instance
from optimizer.results.verify.costs import COST_COLUMNS, Ledger, compare_costs, cost_table, site_and_fleet_costs
from optimizer.results.verify.emissions import check_emissions, check_time_to_power
from optimizer.results.verify.energy import check_sources
from optimizer.results.verify.fleet import check_fleet
from optimizer.results.verify.flows import read_flows
from optimizer.results.verify.generation import check_generators
from optimizer.results.verify.policy import check_share_targets
from optimizer.results.verify.power import check_power_and_subsidies
from optimizer.results.verify.sites import check_builds
from optimizer.results.verify.violations import Collector, Violation
from optimizer.results.verify.workloads import check_compute_use, check_demand, check_inference, check_training
from optimizer.results.verify.world import World

TABLES = ("builds", "fleet", "compute_use", "training", "inference", "demand", "site_power", "pool_load", "costs", "policy",
          "generator_builds", "power", "emissions", "time_to_power")


@dataclass
class VerificationReport:
    """Outcome of :func:`verify_plan`.

    ``violations`` name the table, record and rule broken with the reported and
    recomputed figures (``messages``: their texts); ``objective`` is the recomputed
    expected discounted cost and ``costs`` the recomputed cost table (same columns as the
    plan's ``costs`` table); ``objective_reported`` is the objective the check was given.
    """

    ok: bool = True
    violations: list[Violation] = field(default_factory=list)
    objective: float = 0.0
    costs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COST_COLUMNS))
    objective_reported: float | None = None

    @property
    def messages(self) -> list[str]:
        """The violations as text, in the order found."""
        return [str(v) for v in self.violations]

    def __str__(self) -> str:
        head = "plan verified" if self.ok else f"plan has {len(self.violations)} violation(s)"
        rep = f"{self.objective_reported:.10g}" if self.objective_reported is not None else "n/a"
        lines = [f"{head}: recomputed objective {self.objective:.10g} (reported {rep})"]
        lines += [f"  - {v}" for v in self.violations]
        return "\n".join(lines)


def verify_plan(inst: Instance, tables: Mapping[str, pd.DataFrame], objective: float | None = None,
                tol: float = 1e-6) -> VerificationReport:
    """Re-check every constraint of a plan and recompute its expected discounted cost.

    ``inst`` is the validated instance, ``tables`` the plan's result tables (DataFrames
    keyed by table name, as in ``Plan.tables``), ``objective`` the reported objective to
    compare with (optional) and ``tol`` the relative feasibility tolerance.
    """
    world = World(inst)
    out = Collector(tol)
    ledger = Ledger(world)
    builds = check_builds(world, tables, out)
    fleet = check_fleet(world, tables, builds, out)
    use = check_compute_use(world, tables, fleet, out)
    check_training(world, tables, builds, use, ledger, out)
    routes = check_inference(world, tables, builds, use, ledger, out)
    check_demand(world, tables, routes, ledger, out)
    flows = read_flows(world, tables, out)
    gens = check_generators(world, tables, flows, ledger, out)
    sites = check_power_and_subsidies(world, tables, builds, fleet, use, flows, gens, ledger, out)
    check_sources(world, flows, gens, sites, use, ledger, out)
    check_emissions(world, tables, flows, ledger, out)
    check_time_to_power(world, tables, flows, sites, out)
    check_share_targets(world, fleet, ledger, out)
    site_and_fleet_costs(world, builds, fleet, ledger)
    costs, expected = cost_table(world, ledger)
    reported = None if objective is None else float(objective)
    compare_costs(world, tables, costs, expected, reported, out)
    return VerificationReport(not out.violations, out.violations, expected, costs, reported)


__all__ = ["TABLES", "VerificationReport", "Violation", "verify_plan"]
