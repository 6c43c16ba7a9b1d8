"""Declarations of every field of a dcplan instance file.

Each field is declared exactly once here, with its type, unit (in the name and in
``json_schema_extra``), default and a one-line description. Unknown fields are
rejected (``extra="forbid"``). Cross-record rules (references, sums, orderings) are
checked in :mod:`optimizer.instance.checks`; this module only knows single records.

Per-period values (``PerPeriod``) are given either as one number that holds in every
period or as a mapping ``{period_id: number}`` that must name every period of the
horizon (or, where stated, only some of them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic.config import JsonDict


def _to_id(value: object) -> object:
    """YAML reads ``2026`` as an integer; identifiers are strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    return value


def _keys_to_id(value: object) -> object:
    if isinstance(value, dict):
        return {_to_id(k): v for k, v in value.items()}
    return value


Id = Annotated[
    str,
    BeforeValidator(_to_id),
    Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"),
]
"""Identifier of a record: letters, digits, '_', '.', '-'; starts with a letter or digit."""

MAX_NUMBER = 1e13
"""Largest magnitude accepted for any number (10 trillion): larger values are typos and
would wreck the solver's numerics."""

NonNeg = Annotated[float, Field(ge=0, le=MAX_NUMBER, allow_inf_nan=False)]
Pos = Annotated[float, Field(gt=0, le=MAX_NUMBER, allow_inf_nan=False)]


def _zero_or_at_least(lo: float) -> Callable[[float], float]:
    def check(x: float) -> float:
        if 0 < x < lo:
            raise ValueError(f"must be 0 or at least {lo:g}")
        return x

    return check


Throughput = Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False), AfterValidator(_zero_or_at_least(1e-6))]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
ALL_PERIODS = "*"
"""Key of a per-period mapping that stands for every period (a scalar is read as ``{"*": x}``)."""


def _per_period(value: object) -> object:
    if isinstance(value, str):
        try:
            value = float(value)  # YAML reads 3e6 (no dot) as text
        except ValueError:
            raise ValueError("must be a number or a mapping {period: number}") from None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {ALL_PERIODS: value}
    if not isinstance(value, dict):
        raise ValueError("must be a number or a mapping {period: number}")
    return _keys_to_id(value)


PerPeriodNonNeg = Annotated[
    dict[str, NonNeg],
    BeforeValidator(_per_period),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
            ]
        }
    ),
]
"""A number for every period, or ``{period_id: number}`` naming every period."""
IdMap = Annotated[dict[Id, NonNeg], BeforeValidator(_keys_to_id)]


def unit(u: str) -> JsonDict:
    """``json_schema_extra`` recording a field's unit (shown in the reference and the JSON Schema)."""
    return {"unit": u}


class Record(BaseModel):
    """Base of every record: immutable, unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# ----------------------------------------------------------------------------- horizon
class Period(Record):
    """A planning period: its identifier and length."""

    id: Id = Field(description="Period identifier, e.g. '2026'.")
    years: Pos = Field(1.0, description="Length of the period.", json_schema_extra=unit("years"))


class Horizon(Record):
    """The planning horizon: ordered periods, discounting, currency and end-of-horizon value."""

    periods: list[Period] = Field(
        min_length=1, description="Ordered planning periods, earliest first."
    )
    discount_rate: float = Field(
        0.0, ge=0, lt=1, allow_inf_nan=False,
        description="Annual discount rate applied to all costs.", json_schema_extra=unit("1/year"),
    )
    currency: str = Field("USD", description="Currency of every monetary figure (label only).")
    end_value: Literal["none", "straight_line"] = Field(
        "none",
        description="Value of assets still in service when the horizon ends: none, or credited "
        "straight-line (purchase price × remaining life / lifetime), discounted from the horizon's end.",
    )


class Network(Record):
    """The latency model: round-trip latency from route length, plus a fixed part."""

    rtt_ms_per_1000_km: NonNeg = Field(
        default=10.0, description="Round-trip latency per 1,000 km of route length.",
        json_schema_extra=unit("ms"),
    )
    route_factor: float = Field(
        default=1.0, ge=1, le=3, description="Route length / great-circle distance (fibre detours).",
    )
    base_latency_ms: NonNeg = Field(
        default=0.0, description="Fixed latency added to every route (equipment, ingress).",
        json_schema_extra=unit("ms"),
    )


class Jurisdiction(Record):
    """A jurisdiction policies refer to, optionally inside a parent jurisdiction."""

    id: Id = Field(description="Jurisdiction identifier, e.g. 'CN' or 'CN-west'.")
    name: str | None = Field(None, description="Readable name.")
    parent: Id | None = Field(
        None, description="Enclosing jurisdiction; policies of the parent apply here too.",
    )


class Family(Record):
    """A software family (ecosystem) and the share of nominal training throughput it delivers."""

    id: Id = Field(description="Software ecosystem, e.g. 'cuda' or 'cann'.")
    training_efficiency: float = Field(
        1.0, ge=0.01, le=1.5, allow_inf_nan=False,
        description="Share of nominal training PFLOPS this software stack delivers.",
    )
    description: str | None = Field(None, description="Free text.")


# ----------------------------------------------------------------------------- sites
class BuildOption(Record):
    """One way to build or convert AI capacity at a site: costs, lead time, PUE, redundancy and size."""

    id: Id = Field(description="Build option identifier, unique within its site.")
    capex_usd_per_mw: NonNeg = Field(
        description="Capital cost per MW of IT capacity.", json_schema_extra=unit("USD/MW"),
    )
    fixed_capex_usd: NonNeg = Field(
        0.0, description="Capital cost paid once if the option is built.", json_schema_extra=unit("USD"),
    )
    lead_time_months: NonNeg = Field(
        description="Months from the decision until the capacity can be used.",
        json_schema_extra=unit("months"),
    )
    pue: float = Field(
        ge=1, le=3, allow_inf_nan=False,
        description="Power usage effectiveness: facility power / IT power.",
    )
    usable_grid_share: float = Field(
        1.0, ge=0.1, le=1, allow_inf_nan=False,
        description="Redundancy: share of grid power usable (N: 1.0, N+1 on 4 feeds: 0.8, 2N: 0.5).",
    )
    max_it_mw: Pos = Field(description="Largest IT capacity this option can reach.", json_schema_extra=unit("MW"))
    block_mw: float = Field(
        ge=0.001, le=1e6, allow_inf_nan=False, description="Capacity comes in integer blocks of this size.",
        json_schema_extra=unit("MW"),
    )
    fom_usd_per_mw_year: NonNeg = Field(
        0.0, description="Fixed operation and maintenance per MW of built IT capacity and year.",
        json_schema_extra=unit("USD/MW/year"),
    )
    earliest_period: Id | None = Field(None, description="First period in which the option may be decided.")
    lifetime_years: Pos = Field(
        20.0, description="Economic life of the built capacity (for the end-of-horizon value).", json_schema_extra=unit("years"),
    )
    max_phases: int = Field(
        1, ge=1, le=20,
        description="Build events (phases) this option may have at the site: the first phase opens the site, "
        "later phases add blocks in later decision periods, up to max_it_mw in total (1: one build event).",
    )
    phase_fixed_capex_usd: NonNeg = Field(
        0.0, description="Capital cost paid for every phase, the first included (fixed_capex_usd is paid once, "
        "with the first phase).", json_schema_extra=unit("USD"),
    )
    phase_lead_time_months: NonNeg | None = Field(
        None, description="Months from the decision of a later phase until its capacity can be used "
        "(default: lead_time_months).", json_schema_extra=unit("months"),
    )


PowerSourceKind = Literal["grid_flexible", "onsite", "battery", "ppa"]
"""Kinds of power source a site may add to its firm grid connection (``grid_mw``)."""


class PowerSource(Record):
    """A power source of a site beside its firm grid connection: flexible grid, on-site generation,
    a battery for firming, or a PPA. Which fields apply depends on ``kind`` (the checks say so)."""

    id: Id = Field(description="Source identifier, unique within its site.")
    kind: PowerSourceKind = Field(
        description="grid_flexible: non-firm grid MW, curtailable; onsite: on-site generation (gas turbine, "
        "engines, fuel cells); battery: firming during curtailment only; ppa: contracted energy at a fixed price.",
    )
    mw: Pos = Field(
        description="grid_flexible: MW offered beyond the firm grid; onsite and battery: permit cap on the MW built; "
        "ppa: contracted MW (the most that may be signed when the PPA is optional).", json_schema_extra=unit("MW"),
    )
    available_from: Id | None = Field(
        None, description="grid_flexible and ppa: first period the source delivers (none: the first period); "
        "onsite and battery: first period it may be decided.",
    )
    available_until: Id | None = Field(
        None, description="grid_flexible and ppa: last period the source delivers (none: the last period; a PPA's term).",
    )
    curtailment_share: Share | None = Field(
        None, description="grid_flexible: share of the hours of a year in which the flexible MW may be curtailed "
        "(e.g. 0.005 = 0.5 %, about 44 h).",
    )
    event_hours: Pos | None = Field(
        None, description="grid_flexible: typical length of one curtailment event (default 2 h).", json_schema_extra=unit("h"),
    )
    lead_time_months: NonNeg | None = Field(
        None, description="onsite and battery: months from the decision until the source is usable (default 0).",
        json_schema_extra=unit("months"),
    )
    capex_usd_per_mw: NonNeg = Field(0.0, description="onsite, battery: capex per MW built.", json_schema_extra=unit("USD/MW"))
    fom_usd_per_mw_year: NonNeg = Field(
        0.0, description="onsite and battery: fixed O&M per MW kept in service and year (retired MW pay none).",
        json_schema_extra=unit("USD/MW/year"),
    )
    fuel_usd_per_mmbtu: NonNeg = Field(0.0, description="onsite: fuel price.", json_schema_extra=unit("USD/MMBtu"))
    heat_rate_mmbtu_per_mwh: NonNeg = Field(0.0, description="onsite: fuel per MWh made.", json_schema_extra=unit("MMBtu/MWh"))
    vom_usd_per_mwh: NonNeg = Field(0.0, description="onsite: variable O&M per MWh generated.", json_schema_extra=unit("USD/MWh"))
    availability: Share = Field(
        1.0, description="onsite: share of its MW that can generate on average (maintenance, derating).",
    )
    duration_hours: Pos | None = Field(
        None, description="battery: hours of storage at full power (firms the full MW through events this long).",
        json_schema_extra=unit("h"),
    )
    price_usd_per_mwh: NonNeg | None = Field(
        None, description="ppa: price of the contracted energy.", json_schema_extra=unit("USD/MWh"),
    )
    take_or_pay_share: Share = Field(
        0.0, description="ppa: share of the contracted energy paid for whether or not it is taken.",
    )
    signed: bool = Field(
        True, description="ppa: already signed (its MW are contracted); false: an offer the plan may sign for up to mw.",
    )
    co2_t_per_mwh: NonNeg = Field(
        0.0, description="onsite and ppa: emissions per MWh delivered (gas turbine ~0.4, reciprocating engines "
        "~0.45, renewable PPA 0).", json_schema_extra=unit("tCO2/MWh"),
    )


class ExistingCapacity(Record):
    """AI capacity already running at an existing site."""

    it_mw: Pos = Field(description="AI IT capacity already running.", json_schema_extra=unit("MW"))
    pue: float = Field(ge=1, le=3, allow_inf_nan=False, description="PUE of the existing halls.")
    usable_grid_share: float = Field(
        1.0, ge=0.1, le=1, allow_inf_nan=False, description="Redundancy of the existing halls.",
    )
    fom_usd_per_mw_year: NonNeg = Field(
        0.0, description="Fixed O&M of the existing capacity.", json_schema_extra=unit("USD/MW/year"),
    )


class ExistingUnits(Record):
    """Units of a system already installed at a site at the start of the horizon."""

    system: Id = Field(description="System already installed at the site.")
    units: NonNeg = Field(description="Number of units in service at the start of the horizon.")
    retire_after: Id | None = Field(None, description="Last period the units are in service (default: whole horizon).")


class Site(Record):
    """A candidate or existing data-center site: location, grid power, electricity price and build options."""

    id: Id = Field(description="Site identifier.")
    name: str | None = Field(None, description="Readable name.")
    jurisdiction: Id = Field(description="Jurisdiction the site is in.")
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False, description="Latitude.", json_schema_extra=unit("deg"))
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False, description="Longitude.", json_schema_extra=unit("deg"))
    kind: Literal["existing", "convertible", "greenfield"] = Field(
        description="existing: AI capacity running; convertible: grid and PPA in place (e.g. a mining farm); "
        "greenfield: grid connection only from grid_available_from.",
    )
    grid_mw: PerPeriodNonNeg = Field(
        description="Grid power available to the site per period.", json_schema_extra=unit("MW"),
    )
    grid_available_from: Id | None = Field(
        None, description="Greenfield sites: first period with a grid connection.",
    )
    electricity_usd_per_mwh: PerPeriodNonNeg = Field(
        description="Electricity price per period.", json_schema_extra=unit("USD/MWh"),
    )
    existing: ExistingCapacity | None = Field(None, description="Capacity already running (kind 'existing').")
    existing_units: list[ExistingUnits] = Field(
        default_factory=list, description="Systems already installed (existing sites).",
    )
    build_options: list[BuildOption] = Field(
        default_factory=list, description="Ways to build or convert AI capacity here; at most one is chosen.",
    )
    power_sources: list[PowerSource] = Field(
        default_factory=list, description="Power sources beside the firm grid connection (grid_mw): a flexible "
        "connection (at most one), on-site generation, batteries, PPAs.",
    )
    max_curtailment_share: Share | None = Field(
        None, description="Curtailment budget: the largest share of hours per year the site accepts being curtailed "
        "(none: whatever its flexible connection asks). A flexible connection asking more is not usable.",
    )
    grid_co2_t_per_mwh: NonNeg = Field(
        0.0, description="Emissions of the energy bought at the grid tariff.", json_schema_extra=unit("tCO2/MWh"),
    )


# ----------------------------------------------------------------------------- systems
class System(Record):
    """An accelerator system on offer: power, throughput, price, lifetime and supply."""

    id: Id = Field(description="System identifier, e.g. 'gb200-nvl72'.")
    name: str | None = Field(None, description="Readable name.")
    vendor: str = Field(description="Vendor, e.g. 'Nvidia', 'Huawei'.")
    origin: Id = Field(description="Jurisdiction of origin (decides what is 'domestic').")
    family: Id = Field(description="Software family, e.g. 'cuda'.")
    it_kw_per_unit: float = Field(
        ge=0.001, le=1e6, allow_inf_nan=False, description="IT power of one unit at full load.", json_schema_extra=unit("kW"),
    )
    idle_power_share: Share = Field(
        0.3, description="Power drawn by an idle installed unit, as a share of full load.",
    )
    training_pflops_per_unit: Throughput = Field(
        description="Nominal dense training throughput (scaled by the family's efficiency).",
        json_schema_extra=unit("PFLOPS"),
    )
    inference_pflops_per_unit: Throughput = Field(
        description="Inference throughput.", json_schema_extra=unit("PFLOPS"),
    )
    price_usd_per_unit: PerPeriodNonNeg = Field(description="Purchase price per period.", json_schema_extra=unit("USD"))
    om_usd_per_unit_year: NonNeg = Field(
        0.0, description="Operation and maintenance per unit in service and year.", json_schema_extra=unit("USD/year"),
    )
    lifetime_years: Pos = Field(description="Years a unit stays in service after purchase.", json_schema_extra=unit("years"))
    supply_units: PerPeriodNonNeg | None = Field(
        None, description="Units that can be bought per period across all sites (none: unlimited).",
    )
    divisible: bool = Field(False, description="Continuous unit counts (coarse plans).")
    accelerators_per_unit: int = Field(
        1, ge=1, le=100000, description="Accelerator chips in one unit (e.g. 72 in a GB200 NVL72), for shares counted in chips.",
    )


# ----------------------------------------------------------------------------- policies
ShareMeasure = Literal["training_pflops", "inference_pflops", "accelerators"]
"""How installed compute is counted for domestic shares: nominal training PFLOPS (inference
PFLOPS for systems without training throughput), inference PFLOPS (training if none), or
accelerator chips."""


class ExportRule(Record):
    """An export-control rule on a system or family into a jurisdiction: ban, cap or premium."""

    id: Id | None = Field(None, description="Optional rule identifier (used in reports).")
    system: Id | None = Field(None, description="System the rule covers (give system or family).")
    family: Id | None = Field(None, description="Family the rule covers (give system or family).")
    jurisdiction: Id = Field(description="Destination jurisdiction (and all inside it).")
    periods: list[Id] | None = Field(None, description="Periods the rule holds (none: all).")
    action: Literal["ban", "cap", "premium"] = Field(
        description="ban: no purchases; cap: at most cap_units bought per period; premium: extra cost per unit.",
    )
    cap_units: NonNeg | None = Field(None, description="cap: units that may be bought per period.")
    premium_share: NonNeg | None = Field(None, description="premium: extra share of the unit price (licence fee, revenue share).")
    premium_usd_per_unit: NonNeg | None = Field(None, description="premium: extra cost per unit.", json_schema_extra=unit("USD"))


class EnergySubsidy(Record):
    """A discount on the electricity bill in a jurisdiction, for domestic systems or qualifying sites."""

    id: Id = Field(description="Subsidy identifier.")
    jurisdiction: Id = Field(description="Jurisdiction (and all inside it) where the subsidy applies.")
    periods: list[Id] | None = Field(None, description="Periods the subsidy holds (none: all).")
    discount_share: Share = Field(description="Share of the electricity bill discounted.")
    applies_to: Literal["domestic_systems", "qualifying_sites"] = Field(
        description="domestic_systems: energy of domestic systems only; qualifying_sites: the whole "
        "site's energy once its domestic share of compute reaches the threshold.",
    )
    domestic_share_threshold: Share | None = Field(
        None, description="qualifying_sites: minimum domestic share of installed compute.",
    )
    share_measure: ShareMeasure = Field(
        "training_pflops", description="How installed compute is counted for the threshold.",
    )


class CapexSubsidy(Record):
    """A capital subsidy per MW of IT capacity built in a jurisdiction."""

    id: Id = Field(description="Subsidy identifier.")
    jurisdiction: Id = Field(description="Jurisdiction where the subsidy applies.")
    periods: list[Id] | None = Field(None, description="Decision periods the subsidy holds (none: all).")
    usd_per_mw: NonNeg = Field(description="Subsidy per MW of IT capacity built.", json_schema_extra=unit("USD/MW"))


class ShareTarget(Record):
    """A minimum domestic share of the compute installed in a jurisdiction, hard or penalised."""

    id: Id = Field(description="Target identifier.")
    jurisdiction: Id = Field(description="Jurisdiction whose installed compute the target covers.")
    periods: list[Id] | None = Field(None, description="Periods the target holds (none: all).")
    min_domestic_share: Share = Field(description="Minimum share of installed compute from domestic systems.")
    measure: ShareMeasure = Field(
        "training_pflops",
        description="How installed compute is counted: training_pflops, inference_pflops or accelerators (chips).",
    )
    hard: bool = Field(True, description="Hard target (no shortfall allowed).")
    shortfall_penalty_usd_per_pflops_year: NonNeg | None = Field(
        None, description="Soft targets: penalty per PFLOPS of domestic compute missing, per year.",
        json_schema_extra=unit("USD/PFLOPS/year"),
    )


class EmissionRule(Record):
    """A carbon price or an emissions cap on the sites of a jurisdiction (and all inside it)."""

    id: Id = Field(description="Rule identifier.")
    jurisdiction: Id = Field(description="Jurisdiction whose sites the rule covers.")
    periods: list[Id] | None = Field(None, description="Periods the rule holds (none: all).")
    price_usd_per_t: NonNeg = Field(0.0, description="Carbon price per tonne emitted.", json_schema_extra=unit("USD/tCO2"))
    cap_t_per_year: NonNeg | None = Field(
        None, description="Cap on the tonnes emitted per year by the covered sites (none: no cap).",
        json_schema_extra=unit("tCO2/year"),
    )
    hard: bool = Field(True, description="Hard cap (no excess allowed); false: excess at excess_penalty_usd_per_t.")
    excess_penalty_usd_per_t: NonNeg | None = Field(
        None, description="Soft caps: penalty per tonne above the cap.", json_schema_extra=unit("USD/tCO2"),
    )


class Policies(Record):
    """The policy lists of an instance: export rules, subsidies, domestic-share targets and emission rules."""

    export_rules: list[ExportRule] = Field(default_factory=list, description="Export-control rules.")
    energy_subsidies: list[EnergySubsidy] = Field(default_factory=list, description="Electricity-bill subsidies.")
    capex_subsidies: list[CapexSubsidy] = Field(default_factory=list, description="Capital subsidies per MW built.")
    share_targets: list[ShareTarget] = Field(default_factory=list, description="Domestic-share targets.")
    emission_rules: list[EmissionRule] = Field(default_factory=list, description="Carbon prices and emission caps.")


class PoliciesOverride(Record):
    """A scenario's replacements for the base policy lists (each list given replaces the base one)."""

    export_rules: list[ExportRule] | None = Field(None, description="Replaces the base export rules.")
    energy_subsidies: list[EnergySubsidy] | None = Field(None, description="Replaces the base energy subsidies.")
    capex_subsidies: list[CapexSubsidy] | None = Field(None, description="Replaces the base capex subsidies.")
    share_targets: list[ShareTarget] | None = Field(None, description="Replaces the base share targets.")
    emission_rules: list[EmissionRule] | None = Field(None, description="Replaces the base emission rules.")


# ----------------------------------------------------------------------------- workloads
class TrainingJob(Record):
    """An indivisible training job: compute per period, where it may run, and the cost if unplaced."""

    id: Id = Field(description="Job identifier.")
    compute_pflops: Annotated[dict[Id, NonNeg], BeforeValidator(_keys_to_id)] = Field(
        min_length=1, description="Effective PFLOPS sustained in each period the job runs.",
        json_schema_extra=unit("PFLOPS"),
    )
    allowed_jurisdictions: list[Id] | None = Field(None, description="Where the job may run (none: anywhere).")
    allowed_families: list[Id] | None = Field(None, description="Software families the job may use (none: any).")
    unplaced_cost_usd: NonNeg = Field(0.0, description="Cost if the job is not placed.", json_schema_extra=unit("USD"))
    placement_cost_usd: IdMap = Field(
        default_factory=dict, description="One-off cost of running the job at given sites (data transfer, contracts; default 0).",
        json_schema_extra=unit("USD"),
    )
    must_place: bool = Field(False, description="The job must be placed (no unplaced option).")
    tolerates_curtailment: bool = Field(
        True, description="The job may pause while a flexible grid connection is curtailed (it loses that compute "
        "time and needs more capacity to finish); false: it runs on firm power only.",
    )


class Region(Record):
    """An inference demand region: demand per period, latency and residency limits, unserved penalty."""

    id: Id = Field(description="Demand region identifier.")
    name: str | None = Field(None, description="Readable name.")
    jurisdiction: Id = Field(description="Jurisdiction of the region.")
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False, description="Latitude.", json_schema_extra=unit("deg"))
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False, description="Longitude.", json_schema_extra=unit("deg"))
    demand_pflops: PerPeriodNonNeg = Field(description="Inference demand per period.", json_schema_extra=unit("PFLOPS"))
    max_latency_ms: NonNeg | None = Field(
        None, description="Largest round-trip latency allowed (none: no limit).", json_schema_extra=unit("ms"),
    )
    allowed_jurisdictions: list[Id] | None = Field(
        None, description="Data residency: where the demand may be served (none: anywhere).",
    )
    unserved_penalty_usd_per_pflops_year: NonNeg = Field(
        description="Penalty per PFLOPS of demand not served, per year.", json_schema_extra=unit("USD/PFLOPS/year"),
    )
    must_serve: bool = Field(False, description="All demand must be served.")
    latency_ms: IdMap = Field(
        default_factory=dict, description="Measured round-trip latency to given sites (overrides distance).",
    )
    route_cost_usd_per_pflops_year: IdMap = Field(
        default_factory=dict, description="Cost per PFLOPS-year served from given sites (default 0).",
    )


class Scenario(Record):
    """A scenario: its probability and how it changes demand, prices and policies."""

    id: Id = Field(description="Scenario identifier.")
    probability: float = Field(gt=0, le=1, allow_inf_nan=False, description="Probability; all scenarios sum to 1.")
    description: str | None = Field(None, description="Free text.")
    demand_scale: NonNeg = Field(1.0, description="Multiplier on every region's inference demand.")
    region_demand_scale: IdMap = Field(default_factory=dict, description="Further multiplier per region.")
    region_demand_pflops: dict[Id, PerPeriodNonNeg] = Field(
        default_factory=dict, description="Replaces a region's demand (before scaling)."
    )
    training_scale: NonNeg = Field(1.0, description="Multiplier on every job's compute (0 cancels jobs).")
    job_scale: IdMap = Field(default_factory=dict, description="Further multiplier per job (0 cancels it).")
    electricity_price_scale: NonNeg = Field(1.0, description="Multiplier on every electricity price.")
    site_electricity_usd_per_mwh: dict[Id, PerPeriodNonNeg] = Field(
        default_factory=dict, description="Replaces a site's electricity price (before scaling)."
    )
    system_price_scale: IdMap = Field(default_factory=dict, description="Multiplier on a system's price.")
    policies: PoliciesOverride | None = Field(None, description="Replaces base policy lists.")


class Source(Record):
    """Where figures of the instance come from: a short id and the citation."""

    id: Id = Field(description="Short id, e.g. 'dd-1-2': the anchor of the source in docs/sources.md.")
    text: str = Field(description="What the figures are and their original source (title, publisher, date).")


class Instance(Record):
    """A complete planning instance: horizon, sites, systems, policies, workloads and scenarios."""

    name: str = Field(description="Instance name.")
    description: str | None = Field(None, description="Free text.")
    horizon: Horizon = Field(description="Planning periods and discounting.")
    network: Network = Field(default_factory=Network, description="Latency model.")
    jurisdictions: list[Jurisdiction] = Field(min_length=1, description="Jurisdictions policies refer to.")
    families: list[Family] = Field(min_length=1, description="Software families.")
    sites: list[Site] = Field(min_length=1, description="Candidate and existing sites.")
    systems: list[System] = Field(min_length=1, description="Accelerator systems on offer.")
    policies: Policies = Field(default_factory=Policies, description="Export rules, subsidies, share targets.")
    training_jobs: list[TrainingJob] = Field(default_factory=list, description="Indivisible training jobs.")
    regions: list[Region] = Field(default_factory=list, description="Inference demand regions.")
    scenarios: list[Scenario] = Field(
        default_factory=list, description="Scenarios (none: one deterministic scenario 'base')."
    )
    variants: dict[Id, dict[str, Any]] = Field(
        default_factory=dict,
        description="Named what-if override sets {name: {PATH: value}}, applied with --variant NAME.",
    )
    sources: list[Source] = Field(
        default_factory=list,
        description="Sources of the instance's figures, cited in its comments by id; unlike comments, "
        "they survive dcplan convert (YAML, JSON, workbook, CSV folder).",
    )

    def replace(self, **changes: object) -> Instance:
        """A new instance with top-level fields replaced (re-validated)."""
        data = self.model_dump()
        data.update({k: (v.model_dump() if isinstance(v, BaseModel) else v) for k, v in changes.items()})
        return Instance.model_validate(data)
