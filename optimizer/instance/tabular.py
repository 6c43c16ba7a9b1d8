"""Tables: an instance as an Excel workbook (one sheet per table) or a folder of CSV files.

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
  default and description, taken from the schema (ignored when reading).

Lists of identifiers are comma-separated cells (``US, EEA``; ``[]`` is an empty list). A
blank cell means "not given" (the schema default applies). Sheets whose name starts with
``#`` or ``_`` and columns whose header starts with ``#`` are notes and are ignored.

Reading keeps a map from every record path to the sheet, row and column it came from, so
validation problems name them: ``sites.csv: row 4, column grid_mw = -5: must be >= 0``.
"""

from __future__ import annotations

import csv
import datetime as _dt
import difflib
import io
import math
import os
import re
import shutil
import tempfile
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from . import schema
from .errors import InstanceError, Problem
from .schema import ALL_PERIODS, Instance

# ----------------------------------------------------------------------------- naming hints
SINGULAR: dict[str, str] = {
    "periods": "period", "jurisdictions": "jurisdiction", "families": "family", "sites": "site",
    "systems": "system", "training_jobs": "job", "regions": "region", "scenarios": "scenario",
    "build_options": "option", "existing_units": "unit", "export_rules": "rule",
    "energy_subsidies": "subsidy", "capex_subsidies": "subsidy", "share_targets": "target",
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
EMPTY_LIST = "[]"
EMPTY_TEXT = '""'


# ----------------------------------------------------------------------------- layout
@dataclass
class Column:
    """A column of a record sheet (or a row of the settings sheet)."""

    header: str
    path: tuple[str, ...]  # inside the record (settings: inside the instance)
    info: FieldInfo | None
    owner: str  # declaring model
    kind: str  # id | text | literal | number | bool | list | all_periods | marker | key
    choices: tuple = ()
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
    name: str
    kind: str  # settings | records | map | variants
    model: type[BaseModel] | None = None
    loc: tuple[str, ...] = ()  # records: path of the list (from the instance or the parent record)
    parent: "Sheet | None" = None  # records under a record, or the record a map sheet belongs to
    key: str | None = None  # column naming the parent record
    id_name: str = ""
    columns: list[Column] = field(default_factory=list)
    keys: tuple[str, ...] = ()  # map: key columns after the record column
    values: list[MapValue] = field(default_factory=list)
    primary: bool = True  # written even when empty
    marker: tuple[str, str] | None = None  # (marker column header, sub-field) for lists in an optional record
    description: str = ""

    def headers(self) -> list[str]:
        if self.kind == SETTINGS:
            return ["field", "value", "unit", "description"]
        if self.kind == VARIANTS:
            return ["variant", "path", "value"]
        if self.kind == "map":
            return [self.key, *self.keys, *(v.header for v in self.values)]
        return ([self.key] if self.key else []) + [c.header for c in self.columns]


def _unwrap(ann: Any) -> tuple[Any, bool]:
    """Strip Annotated and Optional; returns (type, optional)."""
    optional = False
    while True:
        origin = typing.get_origin(ann)
        if origin is typing.Annotated:
            ann = typing.get_args(ann)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(ann))
            if len(args) != 1:
                return ann, optional
            ann = args[0]
        else:
            return ann, optional


def _validators(info: FieldInfo) -> list:
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
    return schema._per_period in _validators(info) and typing.get_origin(_unwrap(info.annotation)[0]) is dict


def _dict_value_is_per_period(ann: Any) -> bool:
    args = typing.get_args(ann)
    if len(args) != 2:
        return False
    val = args[1]
    if typing.get_origin(val) is typing.Annotated:
        return any(getattr(m, "func", None) is schema._per_period for m in typing.get_args(val)[1:])
    return False


def _scalar_kind(info: FieldInfo) -> tuple[str, tuple]:
    t, _ = _unwrap(info.annotation)
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
            t, _ = _unwrap(info.annotation)
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
            t, optional = _unwrap(info.annotation)
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
                    st, _ = _unwrap(sinfo.annotation)
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

    def _map_value(self, sheet: Sheet, maps: dict, name: str, info: FieldInfo, keys: tuple[str, ...], has_main: bool) -> None:
        if keys not in maps:
            m = Sheet(f"{sheet.id_name}_" + "_".join(keys[:-1] + (keys[-1] + "s",)), "map", sheet.model, (), sheet, sheet.id_name,
                      keys=keys, primary=keys == ("period",) and sheet.parent is None,
                      description=f"Per-{' and per-'.join(keys)} values of {sheet.name} (long form).")
            maps[keys] = m
            self.sheets.append(m)
        maps[keys].values.append(MapValue(name, name, info, sheet.model.__name__ if sheet.model else "", len(keys), has_main))

    # ---------------------------------------------------------------- lookups
    def sheet(self, name: str) -> Sheet | None:
        return next((s for s in self.sheets if s.name == name), None)

    def names(self) -> list[str]:
        return [s.name for s in self.sheets]


_LAYOUT: Layout | None = None


def layout() -> Layout:
    global _LAYOUT
    if _LAYOUT is None:
        _LAYOUT = Layout()
    return _LAYOUT


# ----------------------------------------------------------------------------- column documentation
def _unit(info: FieldInfo | None) -> str:
    extra = info.json_schema_extra if info is not None else None
    return extra.get("unit", "") if isinstance(extra, dict) else ""


def _default(info: FieldInfo | None) -> str:
    if info is None:
        return ""
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        val = info.default_factory()
        return "empty" if val in ([], {}) else "see record"
    if info.default is None:
        return "none"
    if isinstance(info.default, bool):
        return "true" if info.default else "false"
    return _num_text(info.default) if isinstance(info.default, (int, float)) else str(info.default)


def _type_text(kind: str, choices: tuple = ()) -> str:
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
                rows.append([s.name, c.header, _type_text(c.kind, c.choices), _unit(c.info), _default(c.info),
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
                    desc += f" A value for every period goes in sheet {s.parent.name}, column {v.header}."
                rows.append([s.name, v.header, "number", _unit(v.info), "", desc.strip()])
            continue
        for c in s.columns:
            desc = c.info.description if c.info else ""
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
            rows.append([s.name, c.header, _type_text(c.kind, c.choices), _unit(c.info), default, desc.strip()])
    return rows


COLUMN_HEADERS = ["sheet", "column", "type", "unit", "default", "description"]


# ----------------------------------------------------------------------------- cell values
def _num_text(x: float | int) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if math.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def _flow_yaml(value: Any) -> str:
    if isinstance(value, str):
        try:
            if yaml.safe_load(value) == value and value.strip() == value and value:
                return value
        except yaml.YAMLError:
            pass
        return yaml.safe_dump(value, default_style='"').strip().removesuffix("...").strip()
    return yaml.safe_dump(value, default_flow_style=True, width=10**9, sort_keys=False).strip().removesuffix("...").strip()


def _cell_out(value: Any, kind: str) -> Any:
    """Python value -> cell value (str, number, bool or None)."""
    if value is None:
        return None
    if kind == "any":
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else _flow_yaml(value)
    if kind in ("list", "marker"):
        return ", ".join(str(v) for v in value) if value else EMPTY_LIST
    if isinstance(value, str):
        return EMPTY_TEXT if value == "" and kind == "text" else value
    return value


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


def _as_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return _num_text(v)
    if isinstance(v, _dt.datetime) and v.time() == _dt.time():
        return v.date().isoformat()
    if isinstance(v, (_dt.date, _dt.datetime, _dt.time)):
        return v.isoformat()
    return str(v)


def _cell_in(v: Any, kind: str) -> Any:
    """Cell value -> the value handed to validation (which does the real checking)."""
    if kind == "text":
        if isinstance(v, str):
            return "" if v.strip() == EMPTY_TEXT else v
        return _as_text(v)
    if kind in ("id", "literal", "key"):
        return v.strip() if isinstance(v, str) else (v if isinstance(v, bool) else _as_text(v))
    if kind in ("list", "marker"):
        text = _as_text(v).strip()
        if text == EMPTY_LIST:
            return []
        return [p.strip() for p in text.split(",") if p.strip()]
    if kind == "any":
        if isinstance(v, str):
            return yaml.safe_load(v)
        return v
    if isinstance(v, str):
        v = v.strip()
        if kind in ("number", "all_periods") and _NUMBER.match(v):
            return int(v) if _INTEGER.match(v) else float(v)
        return v
    if isinstance(v, (_dt.date, _dt.datetime)):
        return _as_text(v)
    return v


_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


# ----------------------------------------------------------------------------- instance -> tables
Table = tuple[list[str], list[list[Any]]]


def _get_path(node: Any, path: Iterable[str]) -> Any:
    for p in path:
        if not isinstance(node, dict):
            return None
        node = node.get(p)
    return node


def _records(data: dict, sheet: Sheet) -> list[tuple[str | None, dict]]:
    """(parent id, record) for every record of a record sheet, in order."""
    if sheet.parent is None:
        return [(None, r) for r in _get_path(data, sheet.loc) or []]
    out = []
    for _, parent in _records(data, sheet.parent):
        for r in _get_path(parent, sheet.loc) or []:
            out.append((parent.get("id"), r))
    return out


def instance_tables(inst: Instance) -> dict[str, Table]:
    """The instance as tables {sheet: (headers, rows)}; empty secondary tables are left out."""
    data = inst.model_dump()
    lay = layout()
    out: dict[str, Table] = {}
    for s in lay.sheets:
        rows: list[list[Any]] = []
        if s.kind == SETTINGS:
            for c in s.columns:
                rows.append([c.header, _cell_out(_get_path(data, c.path), c.kind), _unit(c.info),
                             c.info.description if c.info else ""])
        elif s.kind == VARIANTS:
            for name, changes in (_get_path(data, s.loc) or {}).items():
                if not changes:
                    rows.append([name, None, None])
                for path, value in changes.items():
                    rows.append([name, path, _cell_out(value, "any")])
        elif s.kind == "records":
            for pid, rec in _records(data, s):
                row = [pid] if s.key else []
                for c in s.columns:
                    value = _get_path(rec, c.path)
                    if c.kind == "all_periods":
                        value = value.get(ALL_PERIODS) if isinstance(value, dict) else value
                    elif c.kind == "marker":
                        value = None if value is None else [k for k in c.choices if value.get(k) is not None]
                    row.append(_cell_out(value, c.kind))
                rows.append(row)
        elif s.kind == "map":
            for _, rec in _records(data, s.parent):
                merged: dict[tuple, list[Any]] = {}
                for i, v in enumerate(s.values):
                    for keys, value in _flatten(rec.get(v.field), v.depth):
                        if v.has_main and keys == (ALL_PERIODS,):
                            continue
                        row = merged.setdefault(keys, [rec.get("id"), *keys, *([None] * len(s.values))])
                        row[1 + len(keys) + i] = value
                rows.extend(merged.values())
        if rows or s.primary:
            out[s.name] = (s.headers(), rows)
    out[COLUMNS] = (COLUMN_HEADERS, column_rows())
    return out


def _flatten(value: Any, depth: int) -> list[tuple[tuple, Any]]:
    if not isinstance(value, dict):
        return []
    if depth == 1:
        return [((k,), v) for k, v in value.items()]
    return [((k, *ks), v) for k, sub in value.items() for ks, v in _flatten(sub, depth - 1)]


# ----------------------------------------------------------------------------- writing files
def _xlsx_number_ok(x: Any) -> bool:
    """openpyxl stores numbers with 16 significant digits; others are written as text."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return True
    if isinstance(x, int):
        return abs(x) < 10**15
    return math.isfinite(x) and float("%.16g" % x) == x


def write_workbook(tables: dict[str, Table], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    docs = {(r[0], r[1]): r for r in column_rows()}
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    for name, (headers, rows) in tables.items():
        ws = wb.create_sheet(name[:31])
        ws.append(headers)
        for cell in ws[1]:
            cell.font = bold
            doc = docs.get((name, cell.value))
            if doc and name not in (COLUMNS, SETTINGS):
                text = " ".join(x for x in (f"[{doc[3]}]" if doc[3] else "", doc[5]) if x)
                if text:
                    cell.comment = Comment(text, "dcplan", width=320, height=120)
        for r, row in enumerate(rows, start=2):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                if not _xlsx_number_ok(value):
                    value = repr(value) if isinstance(value, float) else str(value)
                cell = ws.cell(row=r, column=c, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # text that starts with '=' is not a formula
        ws.freeze_panes = "A2"
        for c, h in enumerate(headers, start=1):
            width = max([len(str(h))] + [len(_as_text(row[c - 1])) for row in rows[:200] if c - 1 < len(row)
                                          and row[c - 1] is not None])
            ws.column_dimensions[get_column_letter(c)].width = min(max(width + 2, 8), 60)
    wb.save(path)


def _csv_text(headers: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(headers)
    for row in rows:
        w.writerow(["" if v is None else (_num_text(v) if isinstance(v, (int, float)) else v) for v in row])
    return buf.getvalue()


def write_csv_folder(tables: dict[str, Table], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (headers, rows) in tables.items():
        (folder / f"{name}.csv").write_text(_csv_text(headers, rows), encoding="utf-8")


def _replace_atomically(tmp: Path, out: Path) -> None:
    if out.exists():
        old = out.with_name(f".{out.name}.old")
        if old.is_dir():
            shutil.rmtree(old)
        elif old.exists():
            old.unlink()
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    else:
        os.replace(tmp, out)


def write_tabular(inst: Instance, out: str | Path, fmt: str | None = None) -> Path:
    """Write the instance as a workbook (``.xlsx``) or a CSV folder, atomically (replaces ``out``)."""
    out = Path(out)
    fmt = fmt or ("xlsx" if out.suffix.lower() == ".xlsx" else "csv")
    tables = instance_tables(inst)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".xlsx", dir=out.parent)
        os.close(fd)
        tmp = Path(name)
        try:
            write_workbook(tables, tmp)
            _replace_atomically(tmp, out)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return out
    tmpdir = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        write_csv_folder(tables, tmpdir)
        _replace_atomically(tmpdir, out)
    except BaseException:
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    return out


# ----------------------------------------------------------------------------- reading files
@dataclass
class RawSheet:
    name: str
    label: str  # file name used in messages: 'dir/sites.csv' or 'book.xlsx, sheet sites'
    headers: list[str]
    rows: list[tuple[int, list[Any]]]  # (row number as shown in Excel, cells)
    container: tuple[str, str] = ("", "")  # ('book.xlsx', 'sheet sites') or ('dir', 'sites.csv')


def _raw(name: str, label: str, records: Iterable[Iterable[Any]], container: tuple[str, str]) -> RawSheet:
    it = iter(records)
    header_row = next(it, None)
    headers = [("" if h is None else _as_text(h).strip()) for h in (header_row or [])]
    rows = []
    for n, cells in enumerate(it, start=2):
        cells = list(cells)
        if all(_blank(c) for c in cells):
            continue
        rows.append((n, cells))
    return RawSheet(name, label, headers, rows, container)


def read_workbook(path: Path) -> list[RawSheet]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException ...
        raise InstanceError([Problem(str(path), "", f"not a readable Excel workbook ({type(exc).__name__}: {exc})")]) from None
    try:
        for ws in wb.worksheets:
            if hasattr(ws, "reset_dimensions"):
                ws.reset_dimensions()  # some writers store a wrong used range
        return [_raw(ws.title, f"{path}, sheet {ws.title}", ws.iter_rows(values_only=True), (str(path), f"sheet {ws.title}"))
                for ws in wb.worksheets]
    finally:
        wb.close()


def read_csv_folder(folder: Path) -> list[RawSheet]:
    out = []
    for f in sorted(folder.glob("*.csv")):
        try:
            text = f.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InstanceError([Problem(str(f), "", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
        try:
            records = list(csv.reader(io.StringIO(text, newline="")))
        except csv.Error as exc:
            raise InstanceError([Problem(str(f), "", f"malformed CSV: {exc}")]) from None
        out.append(_raw(f.stem, str(f), records, (str(folder), f.name)))
    return out


# ----------------------------------------------------------------------------- tables -> data
Origin = tuple[str, "int | None", "str | None", "str | None"]  # (file label, row, column, note)


class _Reader:
    """Builds the instance data from raw sheets, remembering where every value came from."""

    def __init__(self, sheets: list[RawSheet], name: str, label_for: "typing.Callable[[str], str]"):
        self.name = name
        self.label_for = label_for
        self.lay = layout()
        self.data: dict[str, Any] = {}
        self.origins: dict[tuple, Origin] = {}
        self.table_origin: dict[str, str] = {}  # sheet -> file label
        self.problems: list[Problem] = []
        self.raw: dict[str, RawSheet] = {}
        self.index: dict[str, dict[str, tuple[dict, tuple]]] = {}  # sheet -> id -> (record, loc)
        known = set(self.lay.names()) | {COLUMNS}
        for rs in sheets:
            if rs.name.startswith(("#", "_")) or rs.name == COLUMNS:
                continue
            if rs.name not in known:
                near = difflib.get_close_matches(rs.name, sorted(known), n=1, cutoff=0.6)
                hint = f"; did you mean '{near[0]}'?" if near else f"; tables are: {', '.join(self.lay.names())}"
                self.problems.append(Problem(rs.container[0], rs.container[1], "unknown table" + hint))
                continue
            self.raw[rs.name] = rs

    def label(self, sheet: str) -> str:
        if sheet in self.raw:
            return self.raw[sheet].label
        return self.table_origin.get(sheet, sheet)

    def add(self, label: str, where: str, rule: str, value: Any = None, has_value: bool = False) -> None:
        self.problems.append(Problem(label, where, rule, value, has_value))

    # ---------------------------------------------------------------- columns of one sheet
    def columns(self, rs: RawSheet, allowed: list[str], extra_ok: tuple[str, ...] = ()) -> dict[str, int]:
        pos: dict[str, int] = {}
        for i, h in enumerate(rs.headers):
            if h.startswith("#") or h in extra_ok:
                continue
            if h == "":
                if any(i < len(cells) and not _blank(cells[i]) for _, cells in rs.rows):
                    self.add(rs.label, f"row 1, column {_col_letter(i)}", "values in a column without a header")
                continue
            if h in pos:
                self.add(rs.label, f"row 1, column {h}", "the column appears twice")
                continue
            if h not in allowed:
                near = difflib.get_close_matches(h, allowed, n=1, cutoff=0.6)
                hint = f"; did you mean '{near[0]}'?" if near else f"; columns are: {', '.join(allowed)}"
                self.add(rs.label, f"row 1, column {h}", "unknown column" + hint)
                continue
            pos[h] = i
        for n, cells in rs.rows:
            extra = [j for j in range(len(rs.headers), len(cells)) if not _blank(cells[j])]
            if extra:
                self.add(rs.label, f"row {n}, column {_col_letter(extra[0])}", "value in a column without a header",
                         cells[extra[0]], True)
        return pos

    # ---------------------------------------------------------------- building
    def build(self) -> None:
        # single records (horizon, network, policies) exist even when none of their fields is given,
        # so a missing table is reported at the table rather than at the record
        for s in self.lay.sheets:
            paths = [c.path[:-1] for c in s.columns] if s.kind == SETTINGS else [s.loc[:-1]] if s.parent is None else []
            for p in paths:
                node = self.data
                for part in p:
                    node = node.setdefault(part, {})
        for s in self.lay.sheets:
            self.table_origin[s.name] = self.raw[s.name].label if s.name in self.raw else self.label_for(s.name)
        for s in self.lay.sheets:
            if s.kind == SETTINGS:
                self._settings(s)
            elif s.kind == "records":
                self._record_sheet(s)
            elif s.kind == "map":
                self._map_sheet(s)
            elif s.kind == VARIANTS:
                self._variants(s)

    def _settings(self, s: Sheet) -> None:
        cols = {c.header: c for c in s.columns}
        rs = self.raw.get(s.name)
        label = self.table_origin[s.name]
        for c in s.columns:
            self.origins[c.path] = (label, None, None, f"field {c.header}")
        if rs is None:
            return
        pos = self.columns(rs, ["field", "value"], extra_ok=("unit", "description"))
        if "field" not in pos or "value" not in pos:
            self.add(rs.label, "row 1", "the settings table needs the columns 'field' and 'value'")
            return
        seen: dict[str, int] = {}
        for n, cells in rs.rows:
            key = _cell(cells, pos["field"])
            if _blank(key):
                if not _blank(_cell(cells, pos["value"])):
                    self.add(rs.label, f"row {n}, column field", "required field is missing")
                continue
            key = _as_text(key).strip()
            c = cols.get(key)
            if c is None:
                near = difflib.get_close_matches(key, list(cols), n=1, cutoff=0.6)
                hint = f"; did you mean '{near[0]}'?" if near else f"; fields are: {', '.join(cols)}"
                self.add(rs.label, f"row {n}, column field", "unknown field" + hint, key, True)
                continue
            if key in seen:
                self.add(rs.label, f"row {n}, column field", f"'{key}' is already given in row {seen[key]}", has_value=False)
                continue
            seen[key] = n
            self.origins[c.path] = (rs.label, n, "value", None)
            value = _cell(cells, pos["value"])
            if not _blank(value):
                _set_path(self.data, c.path, _cell_in(value, c.kind))

    def _record_sheet(self, s: Sheet) -> None:
        rs = self.raw.get(s.name)
        label = self.table_origin[s.name]
        if s.parent is None:
            self.origins.setdefault(s.loc, (label, None, None, "table"))
        index = self.index.setdefault(s.name, {})
        if rs is None:
            return
        allowed = ([s.key] if s.key else []) + [c.header for c in s.columns]
        pos = self.columns(rs, allowed)
        if s.key and s.key not in pos:
            if rs.rows:
                self.add(rs.label, "row 1", f"the column '{s.key}' is missing (it names the {s.key} of each row)")
            return
        parents = self.index.get(s.parent.name, {}) if s.parent else {}
        for n, cells in rs.rows:
            if s.parent is None:
                holder_loc: tuple = ()
                lst = _ensure_list(self.data, s.loc)
            else:
                pid = _cell(cells, pos[s.key])
                if _blank(pid):
                    self.add(rs.label, f"row {n}, column {s.key}", "required field is missing")
                    continue
                pid = _cell_in(pid, "key")
                if pid not in parents:
                    self.add(rs.label, f"row {n}, column {s.key}", _unknown(s.key, parents, s.parent.name), pid, True)
                    continue
                prec, holder_loc = parents[pid]
                lst = _ensure_list(prec, s.loc)
            rec: dict[str, Any] = {}
            loc = holder_loc + s.loc + (len(lst),)
            lst.append(rec)
            self.origins[loc] = (rs.label, n, None, None)
            for c in s.columns:
                self.origins[loc + c.path] = (rs.label, n, c.header, None)
                if len(c.path) > 1:
                    self.origins.setdefault(loc + c.path[:-1], (rs.label, n, c.header, None))
                i = pos.get(c.header)
                value = _cell(cells, i) if i is not None else None
                if _blank(value):
                    continue
                value = _cell_in(value, c.kind)
                if c.kind == "all_periods":
                    rec[c.header] = {ALL_PERIODS: value}
                    self.origins[loc + (c.header, ALL_PERIODS)] = (rs.label, n, c.header, None)
                elif c.kind == "marker":
                    sub = rec.setdefault(c.header, {})
                    if isinstance(sub, dict):
                        for k in value:
                            if k not in c.choices:
                                self.add(rs.label, f"row {n}, column {c.header}",
                                         f"unknown list '{k}'; lists are: {', '.join(c.choices)}", has_value=False)
                            else:
                                sub.setdefault(k, [])
                else:
                    _set_path(rec, c.path, value)
            rid = rec.get("id")
            if isinstance(rid, str) and rid not in index:
                index[rid] = (rec, loc)

    def _map_sheet(self, s: Sheet) -> None:
        rs = self.raw.get(s.name)
        label = self.table_origin[s.name]
        parents = self.index.get(s.parent.name, {})
        # a mapping field without an all-periods column: a missing field points at this table
        for v in s.values:
            if not v.has_main:
                for rid, (_, loc) in parents.items():
                    self.origins.setdefault(loc + (v.field,), (label, None, v.header, f"{s.key} '{rid}'"))
        if rs is None:
            return
        pos = self.columns(rs, s.headers())
        missing = [k for k in (s.key, *s.keys) if k not in pos]
        if missing:
            if rs.rows:
                self.add(rs.label, "row 1", f"missing key column(s): {', '.join(missing)}")
            return
        seen: dict[tuple, int] = {}
        for n, cells in rs.rows:
            keys = []
            ok = True
            for k in (s.key, *s.keys):
                v = _cell(cells, pos[k])
                if _blank(v):
                    self.add(rs.label, f"row {n}, column {k}", "required field is missing")
                    ok = False
                keys.append(_cell_in(v, "key") if not _blank(v) else None)
            if not ok:
                continue
            rid, sub = keys[0], tuple(keys[1:])
            if rid not in parents:
                self.add(rs.label, f"row {n}, column {s.key}", _unknown(s.key, parents, s.parent.name), rid, True)
                continue
            rec, loc = parents[rid]
            for v in s.values:
                i = pos.get(v.header)
                value = _cell(cells, i) if i is not None else None
                if _blank(value):
                    continue
                if (v.field, rid, sub) in seen:
                    self.add(rs.label, f"row {n}, column {v.header}",
                             f"a value for {s.key} '{rid}', {', '.join(sub)} is already given in row {seen[(v.field, rid, sub)]}")
                    continue
                seen[(v.field, rid, sub)] = n
                target = rec.get(v.field)
                if not isinstance(target, dict):
                    target = rec[v.field] = {}
                    self.origins.setdefault(loc + (v.field,), (rs.label, n, v.header, None))
                for k in sub[:-1]:
                    target = target.setdefault(k, {})
                    if not isinstance(target, dict):
                        break
                else:
                    target[sub[-1]] = _cell_in(value, "number")
                for j in range(1, len(sub) + 1):
                    self.origins.setdefault(loc + (v.field, *sub[:j]), (rs.label, n, v.header, None))
                self.origins[loc + (v.field, *sub)] = (rs.label, n, v.header, None)

    def _variants(self, s: Sheet) -> None:
        rs = self.raw.get(s.name)
        if rs is None:
            return
        pos = self.columns(rs, s.headers())
        if "variant" not in pos:
            if rs.rows:
                self.add(rs.label, "row 1", "the column 'variant' is missing")
            return
        out = self.data.setdefault(s.loc[0], {})
        for n, cells in rs.rows:
            name = _cell(cells, pos["variant"])
            if _blank(name):
                self.add(rs.label, f"row {n}, column variant", "required field is missing")
                continue
            name = _cell_in(name, "key")
            changes = out.setdefault(name, {})
            self.origins[(s.loc[0], name)] = (rs.label, n, "variant", None)
            path = _cell(cells, pos["path"]) if "path" in pos else None
            if _blank(path):
                continue
            path = _as_text(path).strip()
            raw = _cell(cells, pos["value"]) if "value" in pos else None
            try:
                value = None if _blank(raw) else _cell_in(raw, "any")
            except yaml.YAMLError as exc:
                self.add(rs.label, f"row {n}, column value", f"not a valid YAML value: {exc}".splitlines()[0], raw, True)
                continue
            if path in changes:
                self.add(rs.label, f"row {n}, column path", f"'{path}' is already changed by variant '{name}'")
                continue
            changes[path] = value
            self.origins[(s.loc[0], name, path)] = (rs.label, n, "value", None)

    # ---------------------------------------------------------------- problems -> cells
    def locate(self, loc: tuple, fallback: Problem) -> Problem:
        for i in range(len(loc), 0, -1):
            o = self.origins.get(tuple(loc[:i]))
            if o is not None:
                label, row, col, note = o
                parts = [f"row {row}" if row else "", f"column {col}" if col else "", note or ""]
                where = ", ".join(p for p in parts if p)
                rule = fallback.rule
                if note == "table" and rule == "required field is missing":
                    rule = "the table is missing or has no rows"
                return Problem(label, where, rule, fallback.value, fallback.has_value)
        return Problem(self.name, fallback.where, fallback.rule, fallback.value, fallback.has_value)


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _cell(cells: list[Any], i: int | None) -> Any:
    return cells[i] if i is not None and i < len(cells) else None


def _unknown(what: str, known: dict, sheet: str) -> str:
    ids = list(known)
    shown = ", ".join(ids[:12]) + (", ..." if len(ids) > 12 else "")
    return f"unknown {what}; known ({sheet}): {shown}" if ids else f"unknown {what}; sheet {sheet} has no records"


def _set_path(node: dict, path: tuple[str, ...], value: Any) -> None:
    for p in path[:-1]:
        nxt = node.get(p)
        if not isinstance(nxt, dict):
            nxt = node[p] = {}
        node = nxt
    node[path[-1]] = value


def _ensure_list(node: dict, path: tuple[str, ...]) -> list:
    for p in path[:-1]:
        nxt = node.get(p)
        if not isinstance(nxt, dict):
            nxt = node[p] = {}
        node = nxt
    lst = node.get(path[-1])
    if not isinstance(lst, list):
        lst = node[path[-1]] = []
    return lst


_WHERE = re.compile(r"\s*'[^']*'|\.?([A-Za-z_][A-Za-z0-9_]*)|\[([^\]]*)\]")


def loc_from_where(where: str, data: Any) -> tuple:
    """Parse a record path such as ``sites[0] 'x'.grid_mw[2027]`` back into a location tuple."""
    loc: list = []
    node = data
    pos = 0
    while pos < len(where):
        m = _WHERE.match(where, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        if m.group(1) is not None:
            loc.append(m.group(1))
            node = node.get(m.group(1)) if isinstance(node, dict) else None
        elif m.group(2) is not None:
            key = m.group(2)
            if isinstance(node, list) and key.lstrip("-").isdigit():
                loc.append(int(key))
                i = int(key)
                node = node[i] if 0 <= i < len(node) else None
            else:
                loc.append(key)
                node = node.get(key) if isinstance(node, dict) else None
    return tuple(loc)


# ----------------------------------------------------------------------------- entry points
def read_tables(path: str | Path) -> tuple[dict, "_Reader"]:
    """Read a workbook or CSV folder into instance data (not yet validated)."""
    from .load import MAX_FILE_BYTES

    path = Path(path)
    name = str(path)
    if not path.exists():
        raise InstanceError([Problem(name, "", "file not found")])
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise InstanceError([Problem(name, "", "folder has no CSV tables (*.csv); see docs/spreadsheets.md")])
        size = sum(f.stat().st_size for f in files)
        sheets_reader = lambda: read_csv_folder(path)  # noqa: E731
        label_for = lambda sheet: str(path / f"{sheet}.csv")  # noqa: E731
    elif path.suffix.lower() in (".xlsx", ".xlsm"):
        size = path.stat().st_size
        sheets_reader = lambda: read_workbook(path)  # noqa: E731
        label_for = lambda sheet: f"{path}, sheet {sheet}"  # noqa: E731
    elif path.suffix.lower() == ".csv":
        raise InstanceError([Problem(name, "", f"a CSV instance is a folder of tables: pass the folder {path.parent}")])
    else:
        raise InstanceError([Problem(name, "", "not a workbook (.xlsx) or a folder of CSV files")])
    if size > MAX_FILE_BYTES:
        raise InstanceError(
            [Problem(name, "", f"tables are {size / 1e6:.0f} MB; instances are limited to {MAX_FILE_BYTES // 2**20} MB")])
    reader = _Reader(sheets_reader(), name, label_for)
    reader.build()
    return reader.data, reader


def load_tabular(path: str | Path) -> Instance:
    """Read, validate and cross-check a workbook or CSV folder; problems name sheet, row and column."""
    from .checks import check_instance
    from .load import schema_problems

    data, reader = read_tables(path)
    problems = list(reader.problems)
    try:
        inst = Instance.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        for err, p in zip(errors, schema_problems(exc, data, reader.name)):
            problems.append(reader.locate(tuple(err["loc"]), p))
        raise InstanceError(problems) from None
    for p in check_instance(inst, data, reader.name):
        problems.append(reader.locate(loc_from_where(p.where, data), p))
    if problems:
        raise InstanceError(problems)
    return inst


# ----------------------------------------------------------------------------- YAML / JSON text
def _collapse(value: Any) -> Any:
    """{'*': x} -> x (one number for every period), recursively (not inside variants)."""
    if isinstance(value, dict):
        if set(value) == {ALL_PERIODS}:
            return value[ALL_PERIODS]
        return {k: _collapse(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_collapse(v) for v in value]
    return value


def instance_data(inst: Instance) -> dict[str, Any]:
    """Compact plain data of an instance: defaults left out, all-period values as one number."""
    data = inst.model_dump(exclude_defaults=True)
    variants = data.pop("variants", None)
    data = _collapse(data)
    if variants:
        data["variants"] = variants
    return data


class _Dumper(yaml.SafeDumper):
    """Readable YAML: whole numbers without '.0', multi-line text as a block."""


def _float(dumper: yaml.SafeDumper, value: float) -> yaml.Node:
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return dumper.represent_int(int(value))
    return dumper.represent_float(value)


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value.rstrip("\n") or value.endswith("\n"):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_str(value)


_Dumper.add_representer(float, _float)
_Dumper.add_representer(str, _str)


def instance_text(inst: Instance, fmt: str = "yaml", header: str = "") -> str:
    import json

    data = instance_data(inst)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False)
    return (header + text) if header else text


def write_instance(inst: Instance, out: str | Path, fmt: str | None = None, header: str = "") -> Path:
    """Write an instance as YAML, JSON, an Excel workbook or a CSV folder (by ``fmt`` or the suffix)."""
    out = Path(out)
    fmt = fmt or output_format(out)
    if fmt in ("xlsx", "csv"):
        return write_tabular(inst, out, fmt)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(instance_text(inst, fmt, header))
        _replace_atomically(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


def output_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix == ".json":
        return "json"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix == "" or path.is_dir():
        return "csv"
    raise ValueError(f"unknown output format for '{path}': use .yaml, .yml, .json, .xlsx or a folder name (CSV)")
