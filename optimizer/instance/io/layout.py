"""The layout of the tabular format: which sheets and columns an instance has.

The layout is derived from the schema declarations (:mod:`optimizer.instance.schema`) by
walking the pydantic fields, so a new field shows up as a new column without changes here:

* ``settings`` — one row per single value of the instance (``name``, ``horizon.discount_rate``,
  ``network.route_factor`` ...), columns ``field, value`` (``unit`` and ``description`` are
  informational).
* one sheet per list of records (``periods``, ``jurisdictions``, ``families``, ``sites``,
  ``systems``, one sheet per policy rule type, ``training_jobs``, ``regions``, ``scenarios``),
  one row per record, one column per field. Records nested in a record (``build_options``,
  ``existing_units``) get their own sheet whose first column names the parent (``site``).
  Fields of an optional nested record are dotted columns (``existing.it_mw``).
* per-period and per-key values in long form: ``site_periods`` (site, period, grid_mw,
  electricity_usd_per_mwh), ``system_periods``, ``job_periods``, ``region_periods``,
  ``job_sites``, ``region_sites`` and the scenario override sheets. A per-period value that
  holds in every period is written in the record's own sheet (``sites.grid_mw``) instead.
* ``variants`` — (variant, path, value) rows; ``columns`` — every column with its type, unit,
  default and description, taken from the schema (:func:`column_rows`; ignored when reading).
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from optimizer.instance import schema
from optimizer.instance.errors import unwrap_type
from optimizer.instance.io.cells import num_text
from optimizer.instance.schema import Instance

# ----------------------------------------------------------------------------- naming hints
SINGULAR: dict[str, str] = {
    "periods": "period", "jurisdictions": "jurisdiction", "families": "family", "sites": "site",
    "systems": "system", "training_jobs": "job", "regions": "region", "scenarios": "scenario",
    "build_options": "option", "existing_units": "unit", "export_rules": "rule",
    "energy_subsidies": "subsidy", "capex_subsidies": "subsidy", "share_targets": "target",
    "power_sources": "source", "emission_rules": "rule",
}
"""Name of one record of a list; used for the column that names the parent record."""

MAP_KEYS: dict[tuple[str, str], tuple[str, ...]] = {
    ("TrainingJob", "compute_pflops"): ("period",),
    ("TrainingJob", "placement_cost_usd"): ("site",),
    ("Region", "latency_ms"): ("site",),
    ("Region", "route_cost_usd_per_pflops_year"): ("site",),
    ("Scenario", "region_demand_scale"): ("region",),
    ("Scenario", "region_demand_pflops"): ("region",),
    ("Scenario", "job_scale"): ("job",),
    ("Scenario", "site_electricity_usd_per_mwh"): ("site",),
    ("Scenario", "system_price_scale"): ("system",),
}
"""What the keys of a mapping field are (a per-period value adds a ``period`` key itself)."""

KEY_SHEETS = {"period": "periods", "site": "sites", "system": "systems", "region": "regions", "job": "training_jobs",
              "jurisdiction": "jurisdictions", "family": "families", "scenario": "scenarios"}

SETTINGS = "settings"
COLUMNS = "columns"
VARIANTS = "variants"


# ----------------------------------------------------------------------------- layout
@dataclass
class Column:
    """A column of a record sheet (or a row of the settings sheet)."""

    header: str
    path: tuple[str, ...]  # inside the record (settings: inside the instance)
    info: FieldInfo | None
    owner: str  # declaring model
    kind: str  # id | text | literal | number | bool | list | all_periods | marker | key
    choices: tuple[Any, ...] = ()
    note: str = ""


@dataclass
class MapValue:
    """A value column of a long-form sheet: one mapping field of the record."""

    header: str
    field: str
    info: FieldInfo
    owner: str
    depth: int  # key levels below the record
    has_main: bool  # its all-periods value lives in the record sheet


@dataclass
class Sheet:
    """A sheet (CSV file) of the layout: settings, records of one list, long-form values or variants."""

    name: str
    kind: str  # settings | records | map | variants
    model: type[BaseModel] | None = None
    loc: tuple[str, ...] = ()  # records: path of the list (from the instance or the parent record)
    parent: Sheet | None = None  # records under a record, or the record a map sheet belongs to
    key: str | None = None  # column naming the parent record
    id_name: str = ""
    columns: list[Column] = field(default_factory=list)
    keys: tuple[str, ...] = ()  # map: key columns after the record column
    values: list[MapValue] = field(default_factory=list)
    primary: bool = True  # written even when empty
    marker: tuple[str, str] | None = None  # (marker column header, sub-field) for lists in an optional record
    description: str = ""

    def headers(self) -> list[str]:
        """Column headers of the sheet as written."""
        if self.kind == SETTINGS:
            return ["field", "value", "unit", "description"]
        if self.kind == VARIANTS:
            return ["variant", "path", "value"]
        if self.kind == "map":
            return [self.key or "", *self.keys, *(v.header for v in self.values)]
        return ([self.key] if self.key else []) + [c.header for c in self.columns]


def _validators(info: FieldInfo) -> list[Any]:
    """Validator functions attached to a field itself (Annotated metadata, also inside Optional)."""
    out = [getattr(m, "func", None) for m in info.metadata]

    def walk(ann: Any) -> None:
        origin = typing.get_origin(ann)
        if origin is typing.Annotated:
            out.extend(getattr(m, "func", None) for m in typing.get_args(ann)[1:])
            walk(typing.get_args(ann)[0])
        elif origin in (typing.Union, types.UnionType):
            for a in typing.get_args(ann):
                walk(a)

    walk(info.annotation)
    return [f for f in out if f is not None]


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def _is_per_period(info: FieldInfo) -> bool:
    return schema._per_period in _validators(info) and typing.get_origin(unwrap_type(info.annotation)[0]) is dict


def _dict_value_is_per_period(ann: Any) -> bool:
    args = typing.get_args(ann)
    if len(args) != 2:
        return False
    val = args[1]
    if typing.get_origin(val) is typing.Annotated:
        return any(getattr(m, "func", None) is schema._per_period for m in typing.get_args(val)[1:])
    return False


def _scalar_kind(info: FieldInfo) -> tuple[str, tuple[Any, ...]]:
    t, _ = unwrap_type(info.annotation)
    if typing.get_origin(t) is typing.Literal:
        return "literal", typing.get_args(t)
    if t is bool:
        return "bool", ()
    if t in (int, float):
        return "number", ()
    if t is str:
        return ("id" if schema._to_id in _validators(info) else "text"), ()
    if typing.get_origin(t) is list:
        return "list", ()
    if t is typing.Any:
        return "any", ()
    raise TypeError(f"no table layout for a field of type {t!r}")


class Layout:
    """Every sheet of the tabular format, derived from :class:`Instance`."""

    def __init__(self) -> None:
        self.settings = Sheet(SETTINGS, SETTINGS, description="Single values of the instance (name, horizon, network).")
        self.sheets: list[Sheet] = [self.settings]
        self._walk_single(Instance, ())

    # ---------------------------------------------------------------- walking the schema
    def _walk_single(self, model: type[BaseModel], prefix: tuple[str, ...]) -> None:
        for name, info in model.model_fields.items():
            t, _ = unwrap_type(info.annotation)
            origin = typing.get_origin(t)
            if origin is list and _is_model(typing.get_args(t)[0]):
                sheet = Sheet(name, "records", typing.get_args(t)[0], prefix + (name,), id_name=SINGULAR.get(name, name),
                              description=info.description or "")
                self.sheets.append(sheet)
                self._walk_record(sheet)
            elif _is_model(t):
                self._walk_single(t, prefix + (name,))
            elif origin is dict:
                if prefix == () and name == "variants":
                    self.sheets.append(Sheet(VARIANTS, VARIANTS, loc=(name,), primary=False,
                                             description=info.description or ""))
                else:
                    raise TypeError(f"no table layout for mapping field {'.'.join(prefix + (name,))}")
            else:
                kind, choices = _scalar_kind(info)
                self.settings.columns.append(Column(".".join(prefix + (name,)), prefix + (name,), info, model.__name__,
                                                    kind, choices))

    def _walk_record(self, sheet: Sheet) -> None:
        model = sheet.model
        assert model is not None
        maps: dict[tuple[str, ...], Sheet] = {}
        for name, info in model.model_fields.items():
            t, optional = unwrap_type(info.annotation)
            origin = typing.get_origin(t)
            if _is_per_period(info):
                sheet.columns.append(Column(name, (name,), info, model.__name__, "all_periods"))
                self._map_value(sheet, maps, name, info, ("period",), has_main=True)
            elif origin is dict:
                keys = MAP_KEYS.get((model.__name__, name), ("key",))
                if _dict_value_is_per_period(t):
                    keys = keys + ("period",)
                self._map_value(sheet, maps, name, info, keys, has_main=False)
            elif origin is list and _is_model(typing.get_args(t)[0]):
                child = Sheet(name, "records", typing.get_args(t)[0], (name,), sheet, sheet.id_name,
                              SINGULAR.get(name, name), description=info.description or "")
                self.sheets.append(child)
                self._walk_record(child)
            elif _is_model(t):
                lists = []
                for sub, sinfo in t.model_fields.items():
                    st, _ = unwrap_type(sinfo.annotation)
                    if typing.get_origin(st) is list and _is_model(typing.get_args(st)[0]):
                        lists.append((sub, sinfo, typing.get_args(st)[0]))
                    else:
                        kind, choices = _scalar_kind(sinfo)
                        sheet.columns.append(Column(f"{name}.{sub}", (name, sub), sinfo, t.__name__, kind, choices))
                if lists:
                    sheet.columns.append(Column(name, (name,), info, model.__name__, "marker",
                                                tuple(sub for sub, _, _ in lists)))
                    for sub, sinfo, sub_model in lists:
                        child = Sheet(f"{sheet.id_name}_{sub}", "records", sub_model, (name, sub), sheet, sheet.id_name,
                                      SINGULAR.get(sub, sub), primary=False, marker=(name, sub),
                                      description=sinfo.description or "")
                        self.sheets.append(child)
                        self._walk_record(child)
            else:
                kind, choices = _scalar_kind(info)
                sheet.columns.append(Column(name, (name,), info, model.__name__, kind, choices))

    def _map_value(self, sheet: Sheet, maps: dict[tuple[str, ...], Sheet], name: str, info: FieldInfo,
                   keys: tuple[str, ...], has_main: bool) -> None:
        if keys not in maps:
            m = Sheet(f"{sheet.id_name}_" + "_".join(keys[:-1] + (keys[-1] + "s",)), "map", sheet.model, (), sheet, sheet.id_name,
                      keys=keys, primary=keys == ("period",) and sheet.parent is None,
                      description=f"Per-{' and per-'.join(keys)} values of {sheet.name} (long form).")
            maps[keys] = m
            self.sheets.append(m)
        maps[keys].values.append(MapValue(name, name, info, sheet.model.__name__ if sheet.model else "", len(keys), has_main))

    # ---------------------------------------------------------------- lookups
    def sheet(self, name: str) -> Sheet | None:
        """The sheet called ``name``, if any."""
        return next((s for s in self.sheets if s.name == name), None)

    def names(self) -> list[str]:
        """Names of every sheet, in layout order."""
        return [s.name for s in self.sheets]


_LAYOUT: Layout | None = None


def layout() -> Layout:
    """The layout of the tabular format (built once)."""
    global _LAYOUT
    if _LAYOUT is None:
        _LAYOUT = Layout()
    return _LAYOUT


# ----------------------------------------------------------------------------- column documentation
def unit_of(info: FieldInfo | None) -> str:
    """The unit a field declares (``json_schema_extra["unit"]``), or ''."""
    extra = info.json_schema_extra if info is not None else None
    return str(extra.get("unit", "")) if isinstance(extra, dict) else ""


def _default(info: FieldInfo | None) -> str:
    if info is None:
        return ""
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        val = info.default_factory()  # type: ignore[call-arg]  # the schema's factories take no data
        return "empty" if val in ([], {}) else "see record"
    if info.default is None:
        return "none"
    if isinstance(info.default, bool):
        return "true" if info.default else "false"
    return num_text(info.default) if isinstance(info.default, (int, float)) else str(info.default)


def _type_text(kind: str, choices: tuple[Any, ...] = ()) -> str:
    return {
        "id": "identifier", "text": "text", "number": "number", "bool": "true/false",
        "list": "identifiers, comma-separated ([] = empty list)", "all_periods": "number (every period)",
        "any": "YAML value",
    }.get(kind) or (f"one of: {', '.join(map(str, choices))}" if kind in ("literal", "marker") else kind)


def column_rows() -> list[list[Any]]:
    """Rows of the ``columns`` sheet: every column of every sheet with its meaning."""
    rows: list[list[Any]] = []
    for s in layout().sheets:
        if s.kind == SETTINGS:
            for c in s.columns:
                rows.append([s.name, c.header, _type_text(c.kind, c.choices), unit_of(c.info), _default(c.info),
                             c.info.description if c.info else ""])
            continue
        if s.kind == VARIANTS:
            rows += [[s.name, "variant", "identifier", "", "required", "Variant name (apply with --variant NAME)."],
                     [s.name, "path", "text", "", "", "Field path, e.g. regions[dallas].demand_pflops (blank: no change)."],
                     [s.name, "value", "YAML value", "", "", "New value: a number, text, list [a, b] or mapping {k: v}."]]
            continue
        if s.key:
            target = s.parent.name if s.parent else ""
            rows.append([s.name, s.key, "identifier", "", "required", f"The {s.key} the row belongs to (id in sheet {target})."])
        if s.kind == "map":
            for k in s.keys:
                extra = " or * for every period" if k == "period" else ""
                src = KEY_SHEETS.get(k)
                rows.append([s.name, k, "identifier", "", "required",
                             f"{k.capitalize()} id" + (f" (sheet {src})" if src else "") + extra + "."])
            for v in s.values:
                desc = v.info.description or ""
                if v.has_main:
                    desc += f" A value for every period goes in sheet {s.parent.name if s.parent else ''}, column {v.header}."
                rows.append([s.name, v.header, "number", unit_of(v.info), "", desc.strip()])
            continue
        for c in s.columns:
            desc = (c.info.description or "") if c.info else ""
            if c.kind == "all_periods":
                desc += " One number for every period; per-period values go in sheet " + \
                        f"{s.id_name}_periods (leave this blank then)."
            if c.kind == "marker":
                desc += f" Lists replaced (comma-separated: {', '.join(c.choices)}); their rows are in sheets " + \
                        ", ".join(f"{s.id_name}_{x}" for x in c.choices) + ". Blank: no override."
            default = _default(c.info)
            if default == "required" and c.kind == "all_periods":
                default = f"required (here or in {s.id_name}_periods)"
            elif default == "required" and len(c.path) > 1:
                default = f"required if any {c.path[0]}.* is given"
            rows.append([s.name, c.header, _type_text(c.kind, c.choices), unit_of(c.info), default, desc.strip()])
    return rows


COLUMN_HEADERS = ["sheet", "column", "type", "unit", "default", "description"]

