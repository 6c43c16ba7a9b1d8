"""The instance-format reference, generated from the schema declarations.

``python -m optimizer.instance.reference > docs/instance-format.md`` regenerates the
document; a test checks it is current, so the reference never drifts from the code.
"""

from __future__ import annotations

import types
import typing

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from optimizer.instance import schema
from optimizer.instance.checks_power import APPLIES, NEEDS

RECORDS: list[type[BaseModel]] = [
    schema.Instance, schema.Horizon, schema.Period, schema.Network, schema.Jurisdiction, schema.Family,
    schema.Site, schema.ExistingCapacity, schema.ExistingUnits, schema.BuildOption, schema.PowerSource, schema.System,
    schema.Policies, schema.ExportRule, schema.EnergySubsidy, schema.CapexSubsidy, schema.ShareTarget,
    schema.EmissionRule, schema.TrainingJob, schema.Region, schema.Scenario, schema.PoliciesOverride, schema.Source,
]

INTRO = """# Instance format reference

An instance is one YAML or JSON file. Every field is listed below with its type, unit,
default and meaning; unknown fields are errors. This page is generated from the
declarations in `optimizer/instance/schema.py` (`python -m optimizer.instance.reference`).

**Per-period values** ("number or {period: number}") are either one number for every
period or a mapping that names every period, e.g. `grid_mw: {2026: 0, 2027: 300}`.
**Identifiers** are letters, digits, `_`, `.`, `-`; YAML numbers such as `2026` are read as
the identifier `"2026"`. Policies apply to their jurisdiction and every jurisdiction whose
`parent` chain leads to it; a system is *domestic* at a site when its `origin` is the site's
jurisdiction or one of its parents.

Cross-record rules checked on load: unique ids; every reference (jurisdiction, family,
system, site, region, job, period) exists; per-period mappings name every period;
`existing` sites have `existing` capacity and others have build options; `block_mw` ≤
`max_it_mw`; lead times fit in the horizon; scenario probabilities sum to 1; export rules
name exactly one of `system`/`family`, `cap` rules have `cap_units`, `premium` rules a premium;
`qualifying_sites` subsidies have a threshold; at most one energy subsidy applies to a site
in a period; soft share targets have a penalty; numeric period ids increase. Power sources:
a field that does not apply to the source's kind is an error (see the table below), a
`grid_flexible` source needs `curtailment_share`, a `battery` `duration_hours`, a `ppa`
`price_usd_per_mwh`; at most one `grid_flexible` source per site; `available_until` is not
before `available_from`. Emission rules have a price or a cap; soft caps (`hard: false`) have
an excess penalty, and only caps take one.

**Sources.** Comments do not survive `dcplan convert` (a workbook or CSV folder has no
place for them), so an instance lists where its figures come from in `sources`: one
`{id, text}` per source, `id` a short name its comments cite (the examples use the anchors
of `docs/sources.md`, e.g. `dd-1-2`), `text` the citation. It is carried through every
format (sheet `sources` of a workbook, `sources.csv` of a folder).
"""

TIME_TO_POWER = """## Time to power: phases, power sources, curtailment, emissions

**Phases.** A build option with `max_phases` > 1 may be built in several phases: the first
opens the site, each later one adds blocks in a later decision period, after its own lead
time (`phase_lead_time_months`, default `lead_time_months`), all phases together within
`max_it_mw`. `phase_fixed_capex_usd` is paid for every phase, the first included;
`fixed_capex_usd` only once.

**Power sources.** Beside its firm grid connection (`grid_mw`) a site may list
`power_sources`: a flexible connection (`grid_flexible`: non-firm MW, curtailed in a share of
the year's hours; at most one per site), on-site generation (`onsite`: a gas turbine, engines,
fuel cells, built up to a permit cap and retired when no longer needed), batteries (`battery`:
firm power during curtailment events only) and PPAs (`ppa`: energy at a fixed price, signed
or an offer the plan may sign). Every source has `id`, `kind` and `mw`; the other fields apply
by kind (✓), and some are required (**required**); a field given for a kind it does not apply
to is an error, unless it holds the field's default (a workbook row carries every column):

{applies_table}

`mw` is the flexible connection's MW beyond the firm grid, the permit cap of on-site generation
and batteries (the plan builds up to it), and a PPA's contracted MW (the most it may sign if
`signed: false`). `available_from` is the first period a flexible connection or a PPA
delivers, and the first period on-site generation or a battery may be decided.

During curtailment events a site must fall to its firm power: the firm grid, the on-site
generation it keeps and the firm share of its batteries. Training units pause to get there
(they lose that share of their compute); jobs with `tolerates_curtailment: false` and all
inference run on firm power only. `max_curtailment_share` on a site is its curtailment
budget: a flexible connection that asks for more is not used. `grid_co2_t_per_mwh` and the
sources' `co2_t_per_mwh` give the emissions that `policies.emission_rules` price or cap
(per rule: the sites of its jurisdiction, tonnes per year; scenarios may replace the list).
`docs/formulation.md` states the mathematics.

A greenfield site waiting for its grid, with a flexible connection until then, a bridge gas
turbine and a PPA offer (figures illustrative):

```yaml
sites:
  - id: abilene
    jurisdiction: US
    lat: 32.45
    lon: -99.73
    kind: greenfield
    grid_mw: 300                    # firm connection ...
    grid_available_from: 2028       # ... once the grid arrives
    electricity_usd_per_mwh: 60
    max_curtailment_share: 0.01     # accept at most 1 % of hours curtailed
    grid_co2_t_per_mwh: 0.37
    build_options:
      - {{id: campus, capex_usd_per_mw: 11000000, lead_time_months: 12, pue: 1.15, max_it_mw: 300,
         block_mw: 25, max_phases: 2, phase_fixed_capex_usd: 5000000, phase_lead_time_months: 6}}
    power_sources:
      - id: ercot-flexible          # non-firm MW now, curtailable
        kind: grid_flexible
        mw: 150
        available_until: 2027       # until the firm connection arrives
        curtailment_share: 0.005    # 0.5 % of hours (~44 h a year)
        event_hours: 2
      - id: bridge-gas              # bridge turbine: retire it when the grid arrives
        kind: onsite
        mw: 100                     # permit cap
        lead_time_months: 6
        capex_usd_per_mw: 1500000
        fom_usd_per_mw_year: 20000
        fuel_usd_per_mmbtu: 3.5
        heat_rate_mmbtu_per_mwh: 9.0
        vom_usd_per_mwh: 5
        availability: 0.95
        co2_t_per_mwh: 0.42
      - id: wind-ppa
        kind: ppa
        mw: 80
        available_from: 2027
        price_usd_per_mwh: 45
        take_or_pay_share: 0.8
        signed: false               # an offer: the plan signs up to 80 MW, or none
policies:
  emission_rules:
    - {{id: us-carbon, jurisdiction: US, price_usd_per_t: 50}}
    - {{id: us-cap, jurisdiction: US, cap_t_per_year: 300000, hard: false, excess_penalty_usd_per_t: 200}}
training_jobs:
  - {{id: frontier-run, compute_pflops: {{2027: 9000, 2028: 9000}}, unplaced_cost_usd: 2000000000,
     tolerates_curtailment: false}}
```
"""


def _applies_table() -> str:
    """Which kind-specific fields of a power source apply to which kind (from the checks)."""
    kinds = list(APPLIES)
    fields = [f for f in schema.PowerSource.model_fields if any(f in APPLIES[k] for k in kinds)]
    rows = ["| field | " + " | ".join(f"`{k}`" for k in kinds) + " |", "|---|" + "---|" * len(kinds)]
    for f in fields:
        cells = ["**required**" if f in NEEDS.get(k, ()) else ("✓" if f in APPLIES[k] else "") for k in kinds]
        rows.append(f"| `{f}` | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _type_name(ann: object) -> str:
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if origin is typing.Annotated:
        if _is_per_period(args[1:]):
            return "number or {period: number}"
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        parts = [_type_name(a) for a in args if a is not type(None)]
        name = " or ".join(parts)
        return name + (" (optional)" if type(None) in args else "")
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"{{{_type_name(args[0])}: {_type_name(args[1])}}}"
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return f"[{ann.__name__}](#{ann.__name__.lower()})"
    names: dict[object, str] = {str: "text", float: "number", int: "integer", bool: "true/false"}
    return names.get(ann, str(ann))


def _is_per_period(metadata: typing.Iterable[object]) -> bool:
    return any(getattr(m, "func", None) is schema._per_period for m in metadata)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        val = field.default_factory()  # type: ignore[call-arg]  # the schema's factories take no data
        return "empty" if val in ([], {}) else "see record"
    return "none" if field.default is None else f"`{field.default}`"


def render() -> str:
    """The instance-format reference as Markdown: the introduction, then a field table per record."""
    out = [INTRO, TIME_TO_POWER.format(applies_table=_applies_table())]
    for rec in RECORDS:
        doc = " ".join((rec.__doc__ or "").strip().split("\n\n")[0].split()) if rec is not schema.Record else ""
        out.append(f"## {rec.__name__}\n")
        if doc and not doc.startswith("Base of every record"):
            out.append(doc + "\n")
        out.append("| field | type | unit | default | description |")
        out.append("|---|---|---|---|---|")
        for name, f in rec.model_fields.items():
            unit = (f.json_schema_extra or {}).get("unit", "") if isinstance(f.json_schema_extra, dict) else ""
            typ = "number or {period: number}" if _is_per_period(f.metadata) else _type_name(f.annotation)
            out.append(f"| `{name}` | {typ} | {unit} | {_default(f)} | {f.description or ''} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
