"""Commands ``dcplan convert``, ``dcplan schema`` and ``dcplan new``.

* ``convert IN OUT`` — an instance between YAML/JSON, an Excel workbook (``.xlsx``) and a
  folder of CSV files (see ``docs/spreadsheets.md``); the output format follows OUT's
  suffix (a name without suffix is a CSV folder) or ``--to``.
* ``schema`` — the instance JSON Schema, generated from the declarations in
  :mod:`optimizer.instance.schema` (published as ``docs/instance.schema.json``).
* ``new FILE`` — a commented starter instance that validates and solves.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .cli import EXIT_INPUT, EXIT_OK, EXIT_OUTPUT, add_override_options, load_with_overrides

FORMATS = ("yaml", "json", "xlsx", "csv")


def register(sub) -> None:
    c = sub.add_parser("convert", help="convert an instance between YAML/JSON, an Excel workbook and a CSV folder",
                       description="Convert an instance. Formats follow the suffix: .yaml/.yml, .json, .xlsx; "
                       "a name without suffix (or an existing folder) is a folder of CSV files.")
    c.add_argument("file", help="input instance (.yaml, .yml, .json, .xlsx or a folder of CSV files)")
    c.add_argument("out", help="output (.yaml, .yml, .json, .xlsx or a folder name for CSV)")
    c.add_argument("--to", choices=FORMATS, help="output format (default: from OUT's suffix)")
    c.add_argument("--force", action="store_true", help="replace OUT if it exists")
    add_override_options(c)
    c.set_defaults(handler=_convert)

    s = sub.add_parser("schema", help="print the instance JSON Schema")
    s.add_argument("--out", metavar="FILE", help="write the schema to FILE instead of printing it")
    s.set_defaults(handler=_schema)

    n = sub.add_parser("new", help="write a commented starter instance")
    n.add_argument("file", help="file to create (.yaml; .json, .xlsx or a folder name convert the starter)")
    n.add_argument("--force", action="store_true", help="replace FILE if it exists")
    n.set_defaults(handler=_new)


# ----------------------------------------------------------------------------- convert
def _convert(args) -> int:
    from .instance.tabular import output_format, write_instance

    out = Path(args.out)
    try:
        fmt = args.to or output_format(out)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT
    if out.exists() and not args.force:
        print(f"{out} already exists; use --force to replace it", file=sys.stderr)
        return EXIT_OUTPUT
    if out.exists() and out.is_dir() != (fmt == "csv"):
        print(f"{out} is {'a folder' if out.is_dir() else 'a file'}; cannot replace it with {fmt} output", file=sys.stderr)
        return EXIT_OUTPUT
    inst = load_with_overrides(args)
    header = f"# {inst.name}: converted from {args.file} by `dcplan convert` (comments of the source are not kept).\n"
    try:
        write_instance(inst, out, fmt, header=header)
    except OSError as exc:
        print(f"cannot write {out}: {exc}", file=sys.stderr)
        return EXIT_OUTPUT
    what = {"csv": "a folder of CSV files", "xlsx": "an Excel workbook"}.get(fmt, fmt.upper())
    print(f"wrote '{inst.name}' as {what} to {out}")
    return EXIT_OK


# ----------------------------------------------------------------------------- schema
def instance_json_schema() -> dict[str, Any]:
    """``Instance.model_json_schema()``, with identifiers also accepting integers.

    YAML reads ``2026`` as an integer and the loader accepts it as the identifier '2026'
    (``schema._to_id``); the schema says so, so editors do not flag ``id: 2026``. The
    identifier pattern, which pydantic leaves out of the generated schema, is put back.
    """
    from pydantic.json_schema import GenerateJsonSchema

    from .instance import schema
    from .instance.schema import Instance

    def pattern_of(cs: Any) -> str | None:
        if isinstance(cs, dict):
            if cs.get("type") == "str" and cs.get("pattern"):
                return cs["pattern"]
            for key in ("schema", "steps"):
                sub = cs.get(key)
                for s in sub if isinstance(sub, list) else [sub]:
                    found = pattern_of(s)
                    if found:
                        return found
        return None

    class InputSchema(GenerateJsonSchema):
        def function_before_schema(self, cs):  # type: ignore[override]
            js = super().function_before_schema(cs)
            if cs.get("function", {}).get("function") is schema._to_id:
                return {"anyOf": [js, {"type": "integer", "minimum": 0}]}
            return js

        def chain_schema(self, cs):  # type: ignore[override]
            js = super().chain_schema(cs)
            pattern = next((p for p in map(pattern_of, cs["steps"][1:]) if p), None)
            if pattern:
                for branch in js.get("anyOf", [js]):
                    if branch.get("type") == "string":
                        branch["pattern"] = pattern
            return js

    out = Instance.model_json_schema(schema_generator=InputSchema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **out}


def schema_text() -> str:
    return json.dumps(instance_json_schema(), indent=2, ensure_ascii=False) + "\n"


def _schema(args) -> int:
    text = schema_text()
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"cannot write {args.out}: {exc}", file=sys.stderr)
            return EXIT_OUTPUT
        print(f"wrote the instance JSON Schema to {args.out}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


# ----------------------------------------------------------------------------- new
def _new(args) -> int:
    from .instance.load import instance_from_dict, parse_text
    from .instance.tabular import output_format, write_instance

    out = Path(args.file)
    if out.exists() and not args.force:
        print(f"{out} already exists; use --force to replace it", file=sys.stderr)
        return EXIT_OUTPUT
    try:
        fmt = output_format(out)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT
    try:
        if fmt == "yaml":
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(f".{out.name}.tmp")
            tmp.write_text(STARTER, encoding="utf-8")
            tmp.replace(out)
        else:
            inst = instance_from_dict(parse_text(STARTER, "starter"), "starter")
            if out.exists() and out.is_dir() != (fmt == "csv"):
                print(f"{out} is {'a folder' if out.is_dir() else 'a file'}; cannot replace it", file=sys.stderr)
                return EXIT_OUTPUT
            write_instance(inst, out, fmt, header="# starter instance written by `dcplan new`\n")
    except OSError as exc:
        print(f"cannot write {out}: {exc}", file=sys.stderr)
        return EXIT_OUTPUT
    print(f"wrote a starter instance to {out}; try: dcplan validate {out} && dcplan solve {out}")
    return EXIT_OK


STARTER = """\
# A starter dcplan instance: edit the figures, then run
#   dcplan validate THIS_FILE        # lists every problem at once
#   dcplan solve THIS_FILE --out results
# Every field is described in docs/instance-format.md; `dcplan convert THIS_FILE plan.xlsx`
# turns it into an Excel workbook (docs/spreadsheets.md).
#
# The story: an operator with a bitcoin-mining campus in Texas (grid and power contract in
# place) can convert it to AI capacity in about a year, or build new near cheap hydro power in
# Washington once the grid connection arrives in 2028. It must run one large training job and
# serve interactive inference for Dallas. Figures are rounded from
# /work/shared/reference/domain_data.md ("dd X.Y" = section X.Y of that sheet).

name: starter
description: Convert a Texas mining campus or build in Washington; one training job, one inference region.

# --------------------------------------------------------------------------- horizon
# Planning periods, earliest first; costs are discounted at discount_rate per year.
horizon:
  periods: [{id: 2026, years: 1}, {id: 2027, years: 1}, {id: 2028, years: 1}]
  discount_rate: 0.08          # ASSUMPTION: 8 %/yr cost of capital
  currency: USD
  # Credit what is still in service after 2028 (straight-line over its lifetime), so late
  # purchases are not penalised by the end of the horizon.
  end_value: straight_line

# --------------------------------------------------------------------------- network
# Latency of a route = base_latency_ms + rtt_ms_per_1000_km x great-circle km x route_factor / 1000.
network:
  rtt_ms_per_1000_km: 10       # ~10 ms round trip per 1,000 km of fibre (dd 4.5)
  route_factor: 1.3            # real routes are 1.2-1.4x great-circle (dd 4.5)
  base_latency_ms: 5           # regional ingress 5-30 ms (dd 4.5, low end)

# --------------------------------------------------------------------------- who rules where
# Jurisdictions (policies and data residency refer to them; `parent` nests them) and the
# software families systems belong to (training_efficiency scales nominal training PFLOPS).
jurisdictions:
  - {id: US, name: United States}
families:
  - {id: cuda, training_efficiency: 1.0, description: Nvidia CUDA stack (the reference)}

# --------------------------------------------------------------------------- sites
# kind: existing (AI capacity running), convertible (grid in place, e.g. a mining farm) or
# greenfield (grid only from grid_available_from). A site picks at most one build option;
# capacity comes in blocks of block_mw up to max_it_mw, usable lead_time_months after the
# decision. IT power x PUE must fit in grid_mw x usable_grid_share (0.8 = N+1, dd 4.4).
# Per-period values: one number for every period, or {2026: ..., 2027: ..., 2028: ...}.
sites:
  - id: rockdale-tx
    name: Rockdale TX mining campus (ERCOT)
    jurisdiction: US
    lat: 30.65
    lon: -97.00
    kind: convertible
    grid_mw: 120                 # ASSUMPTION: the part of the campus offered for AI
    electricity_usd_per_mwh: 66  # Texas industrial 6.60 c/kWh, EIA 2023 (dd 3.3)
    build_options:
      - id: ai-conversion
        capex_usd_per_mw: 9000000  # conversion ~70-90 % of the $11-12M/MW greenfield cost (dd 7, derived)
        lead_time_months: 12       # fastest mining-to-AI conversions ~1 year (dd 4.2)
        pue: 1.2                   # hybrid liquid/air retrofit (dd 4.3)
        usable_grid_share: 0.8     # N+1 (dd 4.4)
        max_it_mw: 80              # 80 MW x 1.2 / 0.8 = 120 MW of grid
        block_mw: 10
        lifetime_years: 20         # ASSUMPTION: economic life of the halls (for the end value)
  - id: quincy-wa
    name: Quincy WA greenfield (hydro)
    jurisdiction: US
    lat: 47.23
    lon: -119.85
    kind: greenfield
    grid_mw: 150                 # ASSUMPTION: interconnection size
    grid_available_from: 2028    # ASSUMPTION: US interconnection takes 24-48 months (dd 7)
    electricity_usd_per_mwh: 64  # Washington industrial 6.35 c/kWh, EIA 2023 (dd 3.3)
    build_options:
      - id: new-build
        capex_usd_per_mw: 11700000 # US AI data-centre average $11.7M/MW (Cushman & Wakefield 2025, dd 4.1)
        lead_time_months: 24       # greenfield 18-36 months (dd 4.2)
        pue: 1.15                  # liquid-cooled AI hall 1.10-1.15 (dd 4.3)
        usable_grid_share: 0.8
        max_it_mw: 100             # 100 MW x 1.15 / 0.8 = 144 MW <= 150
        block_mw: 20
        lifetime_years: 20

# --------------------------------------------------------------------------- systems
# Accelerator systems on offer: power, throughput and price per unit. Training PFLOPS are
# dense BF16; inference PFLOPS here are H100-equivalent decode throughput x 0.989 (ASSUMPTION:
# one unit convention for all systems, as in instances/global-hybrid.yaml).
systems:
  - id: gb200-nvl72
    name: Nvidia GB200 NVL72 rack
    vendor: Nvidia
    origin: US
    family: cuda
    it_kw_per_unit: 145              # ~145 kW all-in per rack (dd 1.2)
    training_pflops_per_unit: 180    # ~180 PFLOPS dense BF16 (dd 1.2)
    inference_pflops_per_unit: 192   # 72 GPUs x 2.7 H100-eq (dd 1.3) x 0.989
    price_usd_per_unit: 3000000      # ~$2.7-3.1M per rack (dd 1.2)
    lifetime_years: 5                # ASSUMPTION
    accelerators_per_unit: 72
  - id: hgx-h200
    name: Nvidia HGX H200 (8-GPU server)
    vendor: Nvidia
    origin: US
    family: cuda
    it_kw_per_unit: 10.2             # 10.2 kW max (dd 1.2)
    training_pflops_per_unit: 7.9    # 8 x 0.989 PFLOPS dense (dd 1.2)
    inference_pflops_per_unit: 11.1  # 8 x 1.4 H100-eq (MLPerf, dd 1.3) x 0.989
    price_usd_per_unit: 330000       # ~$300-350k (dd 1.2, derived)
    lifetime_years: 5
    divisible: true                  # small servers: continuous counts are fine for planning
    accelerators_per_unit: 8

# --------------------------------------------------------------------------- policies
# Export rules (ban / cap / premium per system or family and destination), electricity and
# capex subsidies, and domestic-share targets. None apply in this starter; an example:
#   policies:
#     export_rules:
#       - {id: gb200-ban-cn, system: gb200-nvl72, jurisdiction: CN, action: ban}
policies: {}

# --------------------------------------------------------------------------- workloads
# Training jobs are indivisible: each runs at one site, holding compute_pflops (effective,
# after the family's efficiency) in every period listed, or pays unplaced_cost_usd.
training_jobs:
  - id: frontier-run
    compute_pflops: {2027: 9000, 2028: 9000}   # ~50 NVL72 racks, ~7 MW of IT (ASSUMPTION)
    unplaced_cost_usd: 640000000  # ASSUMPTION: ~9,100 H100-eq x 8,760 h x 2 years x $4/h (rental $2-5/h, dd 5.3)

# Inference regions: demand in PFLOPS per period, served from sites within max_latency_ms;
# unserved demand pays the penalty per PFLOPS-year.
regions:
  - id: dallas
    name: Dallas interactive inference
    jurisdiction: US
    lat: 32.78
    lon: -96.80
    demand_pflops: {2026: 0, 2027: 3000, 2028: 6000}   # ASSUMPTION: a growing API business
    max_latency_ms: 20            # interactive inference tolerates 10-30 ms RTT (dd 4.5)
    unserved_penalty_usd_per_pflops_year: 35400   # $4 per H100-hour x 8,760 h / 0.989 (dd 5.3)

# --------------------------------------------------------------------------- scenarios
# Optional: demand and price scenarios with probabilities summing to 1; site builds are decided
# before the scenario is known. Without scenarios the plan is deterministic. Example:
#   scenarios:
#     - {id: base, probability: 0.7}
#     - {id: bust, probability: 0.3, demand_scale: 0.4}
"""
