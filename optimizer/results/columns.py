"""The declared columns of every result table: name, unit, kind and a one-line description.

This is the single declaration of what a plan's tables hold. :data:`TABLES` maps each table
to its columns in order; :data:`COLUMNS` (table -> column names) is derived from it and is
what the extract stage builds its frames with, so an empty plan still has the right columns.
The reader (:mod:`optimizer.results.read`) uses each column's ``kind`` to parse a result
folder back with the same types.

Units: ``MW`` of power, ``PFLOPS`` of compute, ``units`` of systems, ``ms`` of latency, ``%``
for percentages (0–100), ``share`` for fractions (0–1), ``USD`` and ``USD/year`` for money
(in the instance's ``horizon.currency``, a label; the ``_usd`` column names stay), ``""`` for
ids and flags. Discounted money is discounted to the start of the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["text", "number", "bool"]


@dataclass(frozen=True)
class Column:
    """One column of a result table."""

    name: str
    unit: str
    description: str
    kind: Kind = "number"


def _id(name: str, description: str) -> Column:
    return Column(name, "", description, "text")


def _flag(name: str, description: str) -> Column:
    return Column(name, "", description, "bool")


_SITE = _id("site", "Site id.")
_SYSTEM = _id("system", "System id.")
_PERIOD = _id("period", "Period id.")
_SCENARIO = _id("scenario", "Scenario id ('base' for a deterministic instance).")
_REGION = _id("region", "Demand region id.")
_UNITS_IN_SERVICE = Column("units_in_service", "units",
                           "Units in service in the period: existing units plus those bought and not yet retired.")

TABLES: dict[str, tuple[Column, ...]] = {
    "builds": (
        _SITE,
        _id("option", "Build option chosen at the site."),
        Column("phase", "", "Build event at the site: 1 opens it (the only one when max_phases is 1), 2, 3, ... "
                            "add blocks later, numbered in decision order."),
        _id("decision_period", "Period the build is decided and its capex is paid."),
        _id("online_period", "First period the built capacity is online (decision period plus lead time; the phase "
                             "lead time for later phases)."),
        Column("blocks", "blocks", "Number of build blocks."),
        Column("it_mw", "MW", "IT capacity built: blocks × block size."),
        Column("capex_usd", "USD", "Capex of the build, undiscounted: fixed capex (the opening phase only), the fixed "
                                   "capex per phase, plus capex per MW × IT MW."),
    ),
    "generator_builds": (
        _SITE,
        _id("source", "Power source id (on-site generation or battery)."),
        _id("kind", "Kind of source: onsite or battery."),
        _id("decision_period", "Period the build is decided and its capex is paid."),
        _id("online_period", "First period the built MW are usable (decision period plus lead time)."),
        Column("mw", "MW", "MW built."),
        Column("capex_usd", "USD", "Capex of the build, undiscounted: capex per MW × MW."),
    ),
    "power": (
        _SITE,
        _id("source", "Power source: 'grid_firm' (the firm connection, grid_mw) or the id of a power source."),
        _id("kind", "Kind of source: grid_firm, grid_flexible, onsite, battery or ppa."),
        _PERIOD,
        _SCENARIO,
        Column("mw_available", "MW", "MW the source offers in the period: the firm or flexible grid MW, the on-site "
                                     "MW kept in service, the PPA's contracted MW in its term."),
        Column("mw_used", "MW", "Average MW delivered to the site (0 for batteries, which only firm the site during "
                                "curtailment events). Grid energy is counted firm first: grid_flexible is the part "
                                "above the firm connection."),
        Column("energy_mwh", "MWh", "Energy delivered in the period: mw_used × 8,760 h × the years of the period."),
        Column("energy_cost_usd", "USD", "Cost of that energy in the period, undiscounted, before subsidies: tariff × "
                                         "MWh (grid), price × MWh paid including take-or-pay (ppa), (fuel price × "
                                         "heat rate + variable O&M) × MWh (onsite). Capex and fixed O&M are in costs."),
        Column("co2_t", "tCO2", "Emissions of that energy in the period."),
        Column("curtailment_hours", "h/year", "grid_flexible: hours per year the site may be curtailed "
                                              "(curtailment_share × 8,760) when it uses flexible MW, else 0."),
    ),
    "time_to_power": (
        _SITE,
        _SCENARIO,
        _id("first_period", "First period with IT load at the site (empty: never in the horizon)."),
        _id("sources", "Power sources delivering energy in that period, comma-separated (grid_firm first)."),
        _id("firm_grid_period", "First period with a firm grid connection (empty: none within the horizon)."),
        Column("years_before_firm_grid", "years", "Years from first_period to firm_grid_period: what flexible power, "
                                                  "on-site generation or PPAs gained (0 if the site starts on firm "
                                                  "grid; empty if either period is empty)."),
    ),
    "emissions": (
        _id("rule", "Emission rule id."),
        _id("jurisdiction", "Jurisdiction the rule covers."),
        _PERIOD,
        _SCENARIO,
        Column("co2_t_per_year", "tCO2/year", "Tonnes emitted per year by the sites it covers."),
        Column("cap_t_per_year", "tCO2/year", "The cap (empty: price only)."),
        Column("price_usd_per_t", "USD/tCO2", "The carbon price."),
        Column("excess_t_per_year", "tCO2/year", "Tonnes above a soft cap (0 for hard caps)."),
    ),
    "fleet": (
        _SITE,
        _SYSTEM,
        _id("family", "Software family of the system (e.g. cuda, cann)."),
        _id("vendor", "Vendor of the system."),
        _flag("domestic", "Whether the system counts as domestic at the site (its origin is the site's jurisdiction "
                          "or one containing it)."),
        _flag("divisible", "Whether the system is divisible (systems[].divisible): its unit counts are continuous, "
                           "not whole units."),
        _PERIOD,
        _SCENARIO,
        _UNITS_IN_SERVICE,
        Column("units_bought", "units", "Units bought in the period (in service from that period)."),
        Column("units_retired", "units", "Units that left service since the previous period (end of life, or "
                                         "existing units past retire_after)."),
        Column("nameplate_mw", "MW", "Nameplate IT power of the units in service: units × kW per unit / 1000."),
        Column("training_pflops", "PFLOPS", "Effective training compute of the units in service: nominal training "
                                            "PFLOPS × the family's training efficiency."),
        Column("inference_pflops", "PFLOPS", "Inference compute of the units in service."),
    ),
    "compute_use": (
        _SITE,
        _SYSTEM,
        _PERIOD,
        _SCENARIO,
        _UNITS_IN_SERVICE,
        Column("busy_units", "units", "Units doing work: training PFLOPS used / effective training PFLOPS per unit plus "
                                      "inference PFLOPS used / inference PFLOPS per unit."),
        Column("idle_units", "units", "Units in service that do no work: units in service − busy units."),
        Column("training_pflops_used", "PFLOPS", "Effective training compute used by the training jobs placed here."),
        Column("inference_pflops_used", "PFLOPS", "Inference compute used to serve the demand routed here."),
        Column("idle_pct", "%", "Idle units as a percentage of the units in service (one system per row, so also the "
                                "idle share of its nameplate MW; aggregates: optimizer.results.outcomes)."),
        Column("paused_units", "units", "Busy training units that pause during curtailment events of the site's flexible "
                                        "grid connection (they lose curtailment_share of their compute; 0 elsewhere)."),
    ),
    "training": (
        _id("job", "Training job id."),
        _SCENARIO,
        _flag("placed", "Whether the job is placed at a site in this scenario."),
        _id("site", "Site the job runs at (empty if not placed)."),
        _id("family", "Software family the job runs on (empty if not placed)."),
        _id("first_period", "First period the job runs."),
        _id("last_period", "Last period the job runs."),
        Column("peak_pflops", "PFLOPS", "Largest effective training compute the job needs in any period it runs."),
    ),
    "inference": (
        _REGION,
        _SITE,
        _SYSTEM,
        _PERIOD,
        _SCENARIO,
        Column("pflops", "PFLOPS", "Inference demand of the region served from the site, split over the site's "
                                   "systems in proportion to each system's inference use."),
        Column("latency_ms", "ms", "Round-trip latency of the route from the region to the site."),
    ),
    "demand": (
        _REGION,
        _PERIOD,
        _SCENARIO,
        Column("demand_pflops", "PFLOPS", "Inference demand of the region in the period."),
        Column("served_pflops", "PFLOPS", "Demand served, summed over the routes to every site."),
        Column("unserved_pflops", "PFLOPS", "Demand not served: demand − served, at least 0."),
    ),
    "site_power": (
        _SITE,
        _PERIOD,
        _SCENARIO,
        Column("built_it_mw", "MW", "IT capacity online at the site: existing plus built (the same in every scenario)."),
        Column("nameplate_it_mw", "MW", "Nameplate IT power of the systems in service at the site."),
        Column("it_load_mw", "MW", "IT power drawn: busy units at full power, idle units at their idle power share."),
        Column("facility_mw", "MW", "Facility power drawn: IT load × the PUE of each power pool."),
        Column("grid_mw", "MW", "Grid connection of the site in the period (0 before grid_available_from)."),
        Column("grid_drawn_mw", "MW", "Power drawn from the grid: the facility power (IT load × PUE of each pool) "
                                      "less on-site generation."),
        Column("grid_capacity_held_mw", "MW", "Power capacity held for the site: facility power / usable grid share of "
                                              "each pool, i.e. the power drawn plus the headroom the redundancy rule keeps "
                                              "unused, whatever source supplies it; this is what the grid limit bounds "
                                              "(by power_limit_mw: firm and flexible grid plus on-site generation kept)."),
        Column("power_limit_mw", "MW", "What the grid limit allows outside curtailment events: the firm grid, the "
                                       "flexible grid MW in their term and the on-site generation kept times its availability."),
        Column("grid_held_pct", "%", "grid_capacity_held_mw as a percentage of power_limit_mw (0 without power); "
                                     "equal to the share of the grid connection when the site has no other source."),
    ),
    "pool_load": (
        _SITE,
        _id("pool", "Power pool of the site: 'existing' or the id of a build option."),
        _PERIOD,
        _SCENARIO,
        Column("capacity_mw", "MW", "IT capacity of the pool online in the period."),
        Column("it_load_mw", "MW", "IT load placed in the pool."),
        Column("domestic_it_load_mw", "MW", "IT load of domestic systems placed in the pool."),
        Column("pue", "ratio", "Power usage effectiveness of the pool: facility power / IT power."),
        Column("usable_grid_share", "share", "Share of the grid connection the pool may draw (redundancy: 1 none, "
                                             "0.5 for 2N)."),
    ),
    "costs": (
        _id("category", "Cost category: site_capex, system_capex, energy, energy_subsidy, end_value, ... "
                        "(docs/formulation.md, section 4)."),
        _PERIOD,
        _SCENARIO,
        Column("probability", "share", "Probability of the scenario."),
        Column("undiscounted_usd", "USD", "Cost in the period, not discounted: a lump sum once, an annual cost × the "
                                          "years of the period; credits are negative."),
        Column("discounted_usd", "USD", "The same cost discounted to the start of the horizon; credits are negative."),
    ),
    "policy": (
        _id("kind", "Rule kind: energy_subsidy, share_target or export_cap."),
        _id("policy", "Label of the rule (its id)."),
        _id("scope", "What the rule covers: a site (energy_subsidy), a jurisdiction (share_target) or the "
                     "comma-separated systems capped (export_cap)."),
        _PERIOD,
        _SCENARIO,
        Column("value", "see unit", "Domestic share of installed compute, 0–1 (energy_subsidy, share_target; empty "
                                    "if no compute), or units bought (export_cap)."),
        Column("limit", "see unit", "Domestic share threshold (qualifying-site subsidy; empty for domestic_systems), "
                                    "minimum domestic share (share_target) or the cap in units (export_cap)."),
        _id("unit", "Unit of value and limit: 'domestic share' (a fraction 0–1) or 'units bought'."),
        _flag("met", "Whether the subsidy is received, the share target met or the export cap respected."),
        Column("usd_per_year", "USD/year", "Energy bill saving of a subsidy (positive) or the shortfall penalty of a "
                                           "soft share target (negative); 0 for export caps."),
    ),
}

COLUMNS: dict[str, list[str]] = {table: [c.name for c in cols] for table, cols in TABLES.items()}


def column(table: str, name: str) -> Column:
    """The declaration of one column; KeyError if the table or column is not declared."""
    for c in TABLES[table]:
        if c.name == name:
            return c
    raise KeyError(f"table '{table}' has no column '{name}'")
