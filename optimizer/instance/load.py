"""Load stage: read a YAML or JSON instance file into a validated :class:`Instance`.

Reading is data only: YAML is parsed with ``yaml.safe_load`` (no object construction)
and files above :data:`MAX_FILE_BYTES` are refused. All problems — syntax, schema and
cross-record rules — are collected and raised together as one :class:`InstanceError`.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from .checks import check_instance
from .errors import InstanceError, Problem, _unwrap, path_text
from .schema import Instance

MAX_FILE_BYTES = 50 * 1024 * 1024
"""Largest instance file accepted (50 MB): larger files are refused with a clear error."""


def load_instance(path: str | Path) -> Instance:
    """Read, validate and cross-check an instance file (``.yaml``, ``.yml`` or ``.json``), an Excel
    workbook (``.xlsx``) or a folder of CSV tables (see :mod:`optimizer.instance.tabular`)."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise InstanceError([Problem(name, "", "file not found")])
    if path.is_dir() or path.suffix.lower() in (".xlsx", ".xlsm", ".csv"):
        from .tabular import load_tabular  # an Excel workbook or a folder of CSV tables

        return load_tabular(path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InstanceError(
            [Problem(name, "", f"file is {size / 1e6:.0f} MB; instances are limited to {MAX_FILE_BYTES // 2**20} MB")]
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InstanceError([Problem(name, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    data = parse_text(text, name, suffix=path.suffix.lower())
    return instance_from_dict(data, name)


def parse_text(text: str, name: str, suffix: str = ".yaml") -> Any:
    """Parse YAML or JSON text; syntax errors name line and column."""
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InstanceError(
                [Problem(name, f"line {exc.lineno}, column {exc.colno}", f"malformed JSON: {exc.msg}")]
            ) from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InstanceError([Problem(name, where, f"malformed YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise InstanceError([Problem(name, "", f"malformed YAML: {exc}")]) from None


def instance_from_dict(data: Any, name: str = "<instance>") -> Instance:
    """Validate already-parsed data (a dict) into an :class:`Instance`."""
    if data is None:
        raise InstanceError([Problem(name, "", "the instance is empty")])
    if not isinstance(data, dict):
        raise InstanceError(
            [Problem(name, "", f"the top level must be a mapping of fields, not a {type(data).__name__}")]
        )
    try:
        inst = Instance.model_validate(data)
    except ValidationError as exc:
        raise InstanceError(schema_problems(exc, data, name)) from None
    problems = check_instance(inst, data, name)
    if problems:
        raise InstanceError(problems)
    return inst


# ----------------------------------------------------------------------------- messages
def schema_problems(exc: ValidationError, data: Any, name: str) -> list[Problem]:
    """Turn pydantic's errors into :class:`Problem` records in the user's terms."""
    out: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        typ = err["type"]
        where = path_text(data, loc, Instance)
        ctx = err.get("ctx") or {}
        has_value = typ not in ("missing",)
        value = err.get("input")
        if typ == "missing":
            rule = "required field is missing"
        elif typ == "extra_forbidden":
            rule = "unknown field" + _suggest(loc)
            has_value = False
        elif typ in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
            op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[typ]
            bound = next(iter(ctx.values()), "?")
            rule = f"must be {op} {bound}"
        elif typ == "finite_number":
            rule = "must be a finite number"
        elif typ in ("float_type", "float_parsing", "int_type", "int_parsing"):
            rule = "must be a number"
        elif typ in ("string_type",):
            rule = "must be text"
            if isinstance(value, bool):
                rule += " (YAML reads NO, yes, on and off as true/false: put the value in quotes)"
        elif typ in ("bool_type", "bool_parsing"):
            rule = "must be true or false"
        elif typ == "list_type":
            rule = "must be a list"
        elif typ in ("dict_type", "model_type", "model_attributes_type"):
            rule = "must be a mapping of fields"
        elif typ == "literal_error":
            rule = f"must be one of {ctx.get('expected', '')}"
        elif typ == "string_pattern_mismatch":
            rule = "must be an identifier (letters, digits, '_', '.', '-')"
        elif typ == "too_short":
            rule = "must not be empty" if ctx.get("min_length", 1) <= 1 else f"needs at least {ctx.get('min_length')} entries"
        elif typ == "string_too_long":
            rule = f"must be at most {ctx.get('max_length')} characters"
        elif typ == "value_error":
            rule = str(err["msg"]).removeprefix("Value error, ")
        else:
            rule = err["msg"]
        out.append(Problem(name, where, rule, value, has_value))
    return out


def _suggest(loc: tuple) -> str:
    """'; did you mean X?' for a misspelled field name."""
    parent = _model_at(loc[:-1])
    if parent is None or not isinstance(loc[-1], str):
        return ""
    fields = list(parent.model_fields)
    near = difflib.get_close_matches(loc[-1], fields, n=1, cutoff=0.6)
    if near:
        return f"; did you mean '{near[0]}'?"
    return f"; valid fields: {', '.join(fields)}"


def _model_at(loc: tuple) -> type[BaseModel] | None:
    typ: Any = Instance
    for part in loc:
        typ = _unwrap(typ)
        origin = get_origin(typ)
        if origin in (list, dict):
            typ = get_args(typ)[-1]
        elif isinstance(typ, type) and issubclass(typ, BaseModel) and part in typ.model_fields:
            typ = typ.model_fields[part].annotation
        else:
            return None
    typ = _unwrap(typ)
    return typ if isinstance(typ, type) and issubclass(typ, BaseModel) else None
