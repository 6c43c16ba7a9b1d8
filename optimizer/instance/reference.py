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

RECORDS: list[type[BaseModel]] = [
    schema.Instance, schema.Horizon, schema.Period, schema.Network, schema.Jurisdiction, schema.Family,
    schema.Site, schema.ExistingCapacity, schema.ExistingUnits, schema.BuildOption, schema.System,
    schema.Policies, schema.ExportRule, schema.EnergySubsidy, schema.CapexSubsidy, schema.ShareTarget,
    schema.TrainingJob, schema.Region, schema.Scenario, schema.PoliciesOverride, schema.Source,
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
in a period; soft share targets have a penalty; numeric period ids increase.

**Sources.** Comments do not survive `dcplan convert` (a workbook or CSV folder has no
place for them), so an instance lists where its figures come from in `sources`: one
`{id, text}` per source, `id` a short name its comments cite (the examples use the anchors
of `docs/sources.md`, e.g. `dd-1-2`), `text` the citation. It is carried through every
format (sheet `sources` of a workbook, `sources.csv` of a folder).
"""


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
    out = [INTRO]
    for rec in RECORDS:
        doc = (rec.__doc__ or "").strip().splitlines()[0] if rec.__doc__ and rec is not schema.Record else ""
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
